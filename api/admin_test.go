package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/api"
)

func TestAdminActsWhileServing(t *testing.T) {
	h := newHarness(t, api.Options{})
	admin := h.token("root", whispersync.ScopeAdmin)
	alice := h.token("alice")
	bobSecret, bobToken, err := h.app.CreateToken(t.Context(), operator, h.user("bob"), "test", []string{whispersync.ScopeMemosRead}, 0)
	if err != nil {
		t.Fatal(err)
	}
	post := func(path, body, token string) response {
		return h.req(http.MethodPost, path, strings.NewReader(body), "Authorization", token, "Content-Type", "application/json")
	}

	if r := post("/v1/admin/users/alice/lock", "", alice); r.status != http.StatusForbidden {
		t.Errorf("lock without admin scope: got %d, want 403", r.status)
	}
	if r := post("/v1/admin/users/alice/lock", "", admin); r.status != http.StatusOK {
		t.Fatalf("lock: got %d %s, want 200", r.status, r.raw)
	}
	if r := h.get("/v1/memos", alice); r.status != http.StatusUnauthorized {
		t.Errorf("locked user's token: got %d, want 401", r.status)
	}
	if r := post("/v1/admin/users/alice/unlock", "", admin); r.status != http.StatusOK {
		t.Fatalf("unlock: got %d %s, want 200", r.status, r.raw)
	}
	h.forgive()
	if r := h.get("/v1/memos", alice); r.status != http.StatusOK {
		t.Errorf("unlocked user's token: got %d, want 200", r.status)
	}

	if r := post("/v1/admin/blocklist", `{"value":"token:`+bobToken.ID+`","reason":"leaked"}`, admin); r.status != http.StatusOK {
		t.Fatalf("block a token: got %d %s, want 200", r.status, r.raw)
	}
	if r := h.get("/v1/memos", bobSecret); r.status == http.StatusOK {
		t.Errorf("blocked token: got 200, want a refusal")
	}
	if r := h.get("/v1/admin/blocklist", admin); r.status != http.StatusOK || !strings.Contains(r.raw, bobToken.ID) {
		t.Errorf("list blocks: got %d %s, want the blocked token", r.status, r.raw)
	}
	if r := post("/v1/admin/blocklist/remove", `{"value":"token:`+bobToken.ID+`"}`, admin); r.status != http.StatusOK {
		t.Fatalf("unblock: got %d %s, want 200", r.status, r.raw)
	}
	if r := h.get("/v1/memos", bobSecret); r.status != http.StatusOK {
		t.Errorf("unblocked token: got %d, want 200", r.status)
	}

	if r := post("/v1/admin/users/bob/tokens/"+bobToken.ID+"/revoke", "", admin); r.status != http.StatusOK {
		t.Fatalf("revoke: got %d %s, want 200", r.status, r.raw)
	}
	if r := h.get("/v1/memos", bobSecret); r.status != http.StatusUnauthorized {
		t.Errorf("revoked token: got %d, want 401", r.status)
	}
	if r := h.get("/v1/admin/keys", admin); r.status != http.StatusOK || !strings.Contains(r.raw, "versions") {
		t.Errorf("key status: got %d %s, want 200 with the versions", r.status, r.raw)
	}
	if r := h.get("/v1/admin/findings", admin); r.status != http.StatusOK || !strings.Contains(r.raw, `"findings"`) {
		t.Errorf("findings: got %d %s, want 200 with a findings list", r.status, r.raw)
	}
	if r := h.get("/v1/admin/keys", alice); r.status != http.StatusForbidden {
		t.Errorf("key status without admin scope: got %d, want 403", r.status)
	}
	if r := post("/v1/admin/users/nobody/lock", "", admin); r.status != http.StatusNotFound {
		t.Errorf("lock a missing user: got %d, want 404", r.status)
	}
	if r := post("/v1/admin/blocklist", `{"value":"not an address"}`, admin); r.status != http.StatusBadRequest {
		t.Errorf("block an invalid value: got %d, want 400", r.status)
	}
}

func TestBlocklistRejectsHugePrefixes(t *testing.T) {
	h := newHarness(t, api.Options{})
	admin := h.token("root", whispersync.ScopeAdmin)
	for _, value := range []string{"0.0.0.0/0", "10.0.0.0/7", "::/0"} {
		r := h.req(http.MethodPost, "/v1/admin/blocklist", strings.NewReader(`{"value":"`+value+`"}`), "Authorization", admin, "Content-Type", "application/json")
		if r.status != http.StatusBadRequest {
			t.Errorf("block %s: got %d, want 400", value, r.status)
		}
	}
	r := h.req(http.MethodPost, "/v1/admin/blocklist", strings.NewReader(`{"value":"192.0.2.0/24"}`), "Authorization", admin, "Content-Type", "application/json")
	if r.status != http.StatusOK {
		t.Errorf("block 192.0.2.0/24: got %d %s, want 200", r.status, r.raw)
	}
}
