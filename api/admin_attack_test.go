package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/api"
)

// A user block given with another case of the name or with the user's id
// rejects that user's requests. A block naming no user is rejected instead
// of being listed while it blocks nothing.
func TestAdminBlockUserNames(t *testing.T) {
	h := newHarness(t, api.Options{})
	admin := h.token("root", whispersync.ScopeAdmin)
	alice := h.token("alice")
	post := func(path, body string) response {
		return h.req(http.MethodPost, path, strings.NewReader(body), "Authorization", admin, "Content-Type", "application/json")
	}
	for _, value := range []string{"user:alice", "user:ALICE", "user:" + h.user("alice").ID} {
		t.Run(value, func(t *testing.T) {
			if r := post("/v1/admin/blocklist", `{"value":"`+value+`"}`); r.status != http.StatusOK {
				t.Fatalf("block %s: got %d %s, want 200", value, r.status, r.raw)
			}
			if r := h.get("/v1/memos", alice); r.status != http.StatusForbidden {
				t.Errorf("alice's token after blocking %s: got %d, want 403", value, r.status)
			}
			if r := post("/v1/admin/blocklist/remove", `{"value":"`+value+`"}`); r.status != http.StatusOK {
				t.Fatalf("unblock %s: got %d %s, want 200", value, r.status, r.raw)
			}
			if r := h.get("/v1/memos", alice); r.status != http.StatusOK {
				t.Errorf("alice's token after unblocking %s: got %d %s, want 200", value, r.status, r.raw)
			}
		})
	}
	if r := post("/v1/admin/blocklist", `{"value":"user:nobody"}`); r.status != http.StatusNotFound {
		t.Errorf("block an unknown user: got %d %s, want 404", r.status, r.raw)
	}
	if r := h.get("/v1/admin/blocklist", admin); strings.Contains(r.raw, "user:") {
		t.Errorf("block list after every user block was removed: got %s, want no user entry", r.raw)
	}
}
