package api_test

import (
	"archive/zip"
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/api"
)

func TestPrivacyExportHoldsOwnDataOnly(t *testing.T) {
	h := newHarness(t, api.Options{})
	alice, bob := h.token("alice"), h.token("bob")
	h.upload(alice, "work/garage-day.txt")
	h.upload(bob, "memories/lake-sunset.txt")
	h.drain()

	r := h.req("GET", "/v1/privacy/export", nil, "Authorization", alice)
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/zip" {
		t.Fatalf("export: got %d %s, want 200 application/zip", r.status, r.header.Get("Content-Type"))
	}
	archive, err := zip.NewReader(strings.NewReader(r.raw), int64(len(r.raw)))
	if err != nil {
		t.Fatalf("export is not a zip archive: %v", err)
	}
	// Each member is read up to a bound far above the test data, so a
	// broken archive cannot exhaust memory.
	const maxMemberSize = 1 << 20
	var all bytes.Buffer
	for _, f := range archive.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		n, err := io.Copy(&all, io.LimitReader(rc, maxMemberSize+1))
		if err != nil {
			t.Fatalf("read %s: %v", f.Name, err)
		}
		if n > maxMemberSize {
			t.Fatalf("size of %s: got over %d bytes, want at most %d", f.Name, maxMemberSize, maxMemberSize)
		}
		if err := rc.Close(); err != nil {
			t.Fatalf("close %s: %v", f.Name, err)
		}
	}
	if !strings.Contains(all.String(), "tensioner") {
		t.Error("alice's export lacks her transcript")
	}
	if strings.Contains(all.String(), "skip stones") {
		t.Error("alice's export holds bob's memory")
	}
}

func TestPrivacyEraseNeedsConfirmation(t *testing.T) {
	h := newHarness(t, api.Options{})
	alice := h.token("alice")
	h.upload(alice, "work/garage-day.txt")
	h.drain()

	// A token that uploads and reads memos may not erase the account.
	r := h.req("POST", "/v1/privacy/erase", strings.NewReader(`{"confirm":"alice"}`), "Authorization", alice, "Content-Type", "application/json")
	if r.status != http.StatusForbidden {
		t.Fatalf("erase with a memos:write token: got %d %s, want 403", r.status, r.raw)
	}

	s := login(t, h, "alice")
	r = s.do(h, "POST", "/v1/privacy/erase", `{}`, "Content-Type", "application/json", "X-CSRF-Token", s.csrf)
	if r.status != http.StatusBadRequest || r.errorCode() != whispersync.EINVALID {
		t.Fatalf("erase without confirmation: got %d %s, want 400 invalid", r.status, r.raw)
	}
	r = s.do(h, "POST", "/v1/privacy/erase", `{"confirm":"alice"}`, "Content-Type", "application/json", "X-CSRF-Token", s.csrf)
	if r.status != http.StatusOK {
		t.Fatalf("confirmed erase: got %d %s, want 200 with a receipt", r.status, r.raw)
	}
	if r.body["signature"] == nil {
		t.Errorf("erase receipt has no signature: %s", r.raw)
	}
	if r := h.get("/v1/memos", alice); r.status != http.StatusUnauthorized {
		t.Errorf("erased user's token: got %d, want 401", r.status)
	}
}

func TestPrivacyAdminErasesByName(t *testing.T) {
	h := newHarness(t, api.Options{})
	admin := h.token("root", whispersync.ScopeAdmin)
	bob := h.token("bob")
	h.upload(bob, "memories/lake-sunset.txt")
	h.drain()

	if r := h.req("POST", "/v1/admin/users/bob/erase", strings.NewReader(`{"confirm":"bob"}`), "Authorization", bob, "Content-Type", "application/json"); r.status != http.StatusForbidden {
		t.Errorf("erase through the admin route without admin scope: got %d, want 403", r.status)
	}
	if r := h.req("POST", "/v1/admin/users/nobody/erase", strings.NewReader(`{"confirm":"nobody"}`), "Authorization", admin, "Content-Type", "application/json"); r.status != http.StatusNotFound {
		t.Errorf("erase a missing user: got %d, want 404", r.status)
	}
	r := h.req("POST", "/v1/admin/users/bob/erase", strings.NewReader(`{"confirm":"bob"}`), "Authorization", admin, "Content-Type", "application/json")
	if r.status != http.StatusOK {
		t.Fatalf("admin erase: got %d %s, want 200", r.status, r.raw)
	}
	if r := h.get("/v1/memos", bob); r.status != http.StatusUnauthorized {
		t.Errorf("erased user's token: got %d, want 401", r.status)
	}
}
