package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/api"
)

func TestUploadRejectsMalformedBodies(t *testing.T) {
	h := newHarness(t, api.Options{})
	alice := h.token("alice")
	cases := []struct {
		name, contentType, body string
		status                  int
		code                    string
	}{
		{"truncated multipart", "multipart/form-data; boundary=abc", "--abc\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nhello", http.StatusBadRequest, whispersync.EINVALID},
		{"multipart without a file part", "multipart/form-data; boundary=abc", "--abc\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nhello\r\n--abc--\r\n", http.StatusBadRequest, whispersync.EINVALID},
		{"multipart with two file parts", "multipart/form-data; boundary=abc", "--abc\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nCall Lena about the invoice.\r\n--abc\r\nContent-Disposition: form-data; name=\"file\"; filename=\"b.txt\"\r\n\r\nSend the budget to Marcus.\r\n--abc--\r\n", http.StatusBadRequest, whispersync.EINVALID},
		{"form-encoded body", "application/x-www-form-urlencoded", "hello=there", http.StatusUnsupportedMediaType, "unsupported_media_type"},
	}
	for _, c := range cases {
		r := h.req("POST", "/v1/memos", strings.NewReader(c.body), "Authorization", alice, "Content-Type", c.contentType)
		if r.status != c.status {
			t.Errorf("%s: status got %d, want %d (%s)", c.name, r.status, c.status, r.raw)
		}
		if r.errorCode() != c.code {
			t.Errorf("%s: code got %q, want %q", c.name, r.errorCode(), c.code)
		}
	}
}

// TestOversizedJSONBodies checks that a JSON body over its route's limit
// gets 413, not a message about invalid JSON, and that the edge's size
// message speaks of transcripts only on the upload route.
func TestOversizedJSONBodies(t *testing.T) {
	h := newHarness(t, api.Options{})
	admin := h.token("root", whispersync.ScopeAdmin)
	big := `{"user":"` + strings.Repeat("a", 64<<10) + `","password":"x"}`
	r := h.req(http.MethodPost, "/v1/login", strings.NewReader(big), "Content-Type", "application/json")
	if r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("login with a 64 KiB body: got %d %s, want 413", r.status, r.raw)
	}
	r = h.postJSON("/v1/admin/blocklist", `{"value":"192.0.2.7","reason":"`+strings.Repeat("a", 8<<10)+`"}`, admin)
	if r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("block with an 8 KiB body: got %d %s, want 413", r.status, r.raw)
	}
	r = h.postJSON("/v1/admin/blocklist", `{"value":"192.0.2.7"}`+strings.Repeat(" ", 20<<10), admin)
	if r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("block with 20 KiB of trailing spaces: got %d %s, want 413", r.status, r.raw)
	}
	r = h.postJSON("/v1/admin/users/root/tokens", `{"name":"laptop"}`+strings.Repeat(" ", 5000), admin)
	if r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("token creation with 5,000 trailing spaces: got %d %s, want 413", r.status, r.raw)
	}
	r = h.postJSON("/v1/admin/users/root/tokens", `null`, admin)
	if r.status != http.StatusBadRequest {
		t.Errorf("token creation with a null body: got %d %s, want 400", r.status, r.raw)
	}
	r = h.postJSON("/v1/admin/blocklist", `{"value":"192.0.2.7"} {"value":"192.0.2.8"}`, admin)
	if r.status != http.StatusBadRequest {
		t.Errorf("block with a second object after the first: got %d %s, want 400", r.status, r.raw)
	}
	huge := strings.Repeat("a", 2<<20)
	r = h.req(http.MethodPost, "/v1/login", strings.NewReader(huge), "Content-Type", "application/json")
	if r.status != http.StatusRequestEntityTooLarge || strings.Contains(string(r.raw), "transcript") {
		t.Errorf("login with a 2 MiB body: got %d %s, want 413 without a word on transcripts", r.status, r.raw)
	}
}
