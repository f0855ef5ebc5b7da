package api_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/api"
)

// logBuffer collects log output written from the server's goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (h *harness) postJSON(path, body, token string) response {
	h.t.Helper()
	return h.req(http.MethodPost, path, strings.NewReader(body), "Authorization", token, "Content-Type", "application/json")
}

func TestAdminTokenRoutesNeedAdminScope(t *testing.T) {
	h := newHarness(t, api.Options{})
	h.user("alice")
	alice := h.token("alice")
	routes := []struct{ method, path, body string }{
		{http.MethodPost, "/v1/admin/users/alice/tokens", `{"name":"laptop"}`},
		{http.MethodGet, "/v1/admin/users/alice/tokens", ""},
		{http.MethodPost, "/v1/admin/backups", ""},
	}
	for _, rt := range routes {
		r := h.req(rt.method, rt.path, strings.NewReader(rt.body), "Authorization", alice, "Content-Type", "application/json")
		if r.status != http.StatusForbidden {
			t.Errorf("%s %s with a memos token: got %d %s, want 403", rt.method, rt.path, r.status, r.raw)
		}
		if r.errorCode() != whispersync.EFORBIDDEN {
			t.Errorf("%s %s with a memos token: error code %q, want %q", rt.method, rt.path, r.errorCode(), whispersync.EFORBIDDEN)
		}

		r = h.req(rt.method, rt.path, strings.NewReader(rt.body), "Content-Type", "application/json")
		if r.status != http.StatusUnauthorized {
			t.Errorf("%s %s without a credential: got %d %s, want 401", rt.method, rt.path, r.status, r.raw)
		}
		if r.errorCode() != whispersync.EUNAUTHORIZED {
			t.Errorf("%s %s without a credential: error code %q, want %q", rt.method, rt.path, r.errorCode(), whispersync.EUNAUTHORIZED)
		}
		h.forgive()
	}
	if tokens, err := h.app.Accounts.ListTokens(t.Context(), h.user("alice").ID); err != nil || len(tokens) != 1 {
		t.Errorf("alice has %d tokens (%v), want only the one made for the test", len(tokens), err)
	}
}

func TestAdminCreatesListsAndRevokesTokens(t *testing.T) {
	logs := &logBuffer{}
	h := newHarness(t, api.Options{Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	admin := h.token("root", whispersync.ScopeAdmin)
	h.user("capture")

	r := h.postJSON("/v1/admin/users/capture/tokens", `{"name":"phone","scopes":["memos:write"],"expires":"720h"}`, admin)
	if r.status != http.StatusCreated {
		t.Fatalf("create token: got %d %s, want 201", r.status, r.raw)
	}
	if got := r.header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("create token: Cache-Control %q, want no-store", got)
	}
	secret, _ := r.body["token"].(string)
	id, _ := r.body["id"].(string)
	if !strings.HasPrefix(secret, "wst_") {
		t.Fatalf("create token: body %s lacks the secret", r.raw)
	}
	if !strings.HasPrefix(id, "t_") {
		t.Fatalf("create token: body %s lacks the token id", r.raw)
	}
	if scopes, _ := r.body["scopes"].([]any); len(scopes) != 1 || scopes[0] != whispersync.ScopeMemosWrite {
		t.Errorf("create token: scopes %v, want [memos:write]", r.body["scopes"])
	}
	if exp, _ := r.body["expires_at"].(string); exp == "" {
		t.Errorf("create token: body %s has no expires_at", r.raw)
	}

	h.upload(secret, "work/garage-day.txt")
	if r := h.get("/v1/memos", secret); r.status != http.StatusForbidden {
		t.Errorf("list memos with a memos:write token: got %d, want 403", r.status)
	}

	list := h.get("/v1/admin/users/capture/tokens", admin)
	if list.status != http.StatusOK {
		t.Fatalf("list tokens: got %d %s, want 200", list.status, list.raw)
	}
	if strings.Contains(list.raw, secret) || strings.Contains(list.raw, secret[len("wst_"):]) {
		t.Errorf("list tokens shows the secret: %s", list.raw)
	}
	if strings.Contains(strings.ToLower(list.raw), "hash") {
		t.Errorf("list tokens shows a hash: %s", list.raw)
	}
	tokens, _ := list.body["tokens"].([]any)
	if len(tokens) != 1 {
		t.Fatalf("list tokens: got %s, want one token", list.raw)
	}
	tok := tokens[0].(map[string]any)
	for _, field := range []string{"id", "name", "scopes", "created_at", "expires_at", "last_used"} {
		if _, ok := tok[field]; !ok {
			t.Errorf("listed token lacks %s: %v", field, tok)
		}
	}
	if tok["id"] != id || tok["name"] != "phone" {
		t.Errorf("listed token: got %v, want id %s named phone", tok, id)
	}
	if _, ok := tok["revoked_at"]; ok {
		t.Errorf("listed token is revoked before the revocation: %v", tok)
	}

	if r := h.postJSON("/v1/admin/users/capture/tokens/"+id+"/revoke", "", admin); r.status != http.StatusOK {
		t.Fatalf("revoke: got %d %s, want 200", r.status, r.raw)
	}
	memo, err := os.ReadFile(filepath.Join("..", "examples", "memos", "work", "garage-day.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if r := h.req(http.MethodPost, "/v1/memos", bytes.NewReader(memo), "Authorization", secret, "Content-Type", "text/plain"); r.status != http.StatusUnauthorized {
		t.Errorf("upload with the revoked token: got %d %s, want 401", r.status, r.raw)
	}
	h.forgive()
	list = h.get("/v1/admin/users/capture/tokens", admin)
	if !strings.Contains(list.raw, `"revoked_at"`) {
		t.Errorf("list tokens after the revocation: %s, want a revoked_at", list.raw)
	}

	if strings.Contains(logs.String(), secret) {
		t.Errorf("the server log contains the token secret")
	}
}

func TestAdminCreateTokenDefaults(t *testing.T) {
	h := newHarness(t, api.Options{})
	admin := h.token("root", whispersync.ScopeAdmin)
	h.user("alice")
	for _, body := range []string{"", "{}"} {
		r := h.postJSON("/v1/admin/users/alice/tokens", body, admin)
		if r.status != http.StatusCreated {
			t.Fatalf("create token with body %q: got %d %s, want 201", body, r.status, r.raw)
		}
		if scopes, _ := r.body["scopes"].([]any); len(scopes) != 2 || scopes[0] != whispersync.ScopeMemosRead || scopes[1] != whispersync.ScopeMemosWrite {
			t.Errorf("create token with body %q: scopes %v, want memos:read and memos:write", body, r.body["scopes"])
		}
		if _, ok := r.body["expires_at"]; ok {
			t.Errorf("create token with body %q: expires_at %v, want no expiry", body, r.body["expires_at"])
		}
		if r := h.get("/v1/memos", r.body["token"].(string)); r.status != http.StatusOK {
			t.Errorf("list memos with the default token: got %d, want 200", r.status)
		}
	}
}

func TestAdminCreateTokenRejectsBadInput(t *testing.T) {
	h := newHarness(t, api.Options{})
	admin := h.token("root", whispersync.ScopeAdmin)
	h.user("alice")
	cases := []struct {
		name, path, body string
		status           int
		mention          string
	}{
		{"unknown user", "/v1/admin/users/nobody/tokens", `{}`, http.StatusNotFound, `"nobody"`},
		{"unknown scope", "/v1/admin/users/alice/tokens", `{"scopes":["memos:delete"]}`, http.StatusBadRequest, `memos:delete`},
		{"empty scopes", "/v1/admin/users/alice/tokens", `{"scopes":[]}`, http.StatusBadRequest, `memos:read`},
		{"bad duration", "/v1/admin/users/alice/tokens", `{"expires":"a month"}`, http.StatusBadRequest, `a month`},
		{"negative duration", "/v1/admin/users/alice/tokens", `{"expires":"-1h"}`, http.StatusBadRequest, `-1h`},
		{"unknown field", "/v1/admin/users/alice/tokens", `{"scope":"admin"}`, http.StatusBadRequest, `scopes`},
		{"not JSON", "/v1/admin/users/alice/tokens", `name=laptop`, http.StatusBadRequest, `expires`},
		{"two objects", "/v1/admin/users/alice/tokens", `{} {}`, http.StatusBadRequest, `expires`},
	}
	for _, c := range cases {
		r := h.postJSON(c.path, c.body, admin)
		if r.status != c.status {
			t.Errorf("%s: got %d %s, want %d", c.name, r.status, r.raw, c.status)
		}
		e, _ := r.body["error"].(map[string]any)
		if e["correlation_id"] == nil {
			t.Errorf("%s: body %s is not the error body", c.name, r.raw)
		}
		if msg, _ := e["message"].(string); !strings.Contains(msg, c.mention) {
			t.Errorf("%s: message %q does not name %s", c.name, msg, c.mention)
		}
	}
	if tokens, err := h.app.Accounts.ListTokens(t.Context(), h.user("alice").ID); err != nil || len(tokens) != 0 {
		t.Errorf("alice has %d tokens (%v) after rejected requests, want none", len(tokens), err)
	}
}

func TestAdminCreatesBackup(t *testing.T) {
	h := newHarness(t, api.Options{})
	admin := h.token("root", whispersync.ScopeAdmin)
	h.upload(h.token("alice"), "work/garage-day.txt")

	r := h.postJSON("/v1/admin/backups", "", admin)
	if r.status != http.StatusCreated {
		t.Fatalf("create backup: got %d %s, want 201", r.status, r.raw)
	}
	id, _ := r.body["id"].(string)
	objects, _ := r.body["objects"].(float64)
	size, _ := r.body["bytes"].(float64)
	if id == "" {
		t.Errorf("create backup: body %s has no id", r.raw)
	}
	if objects < 1 {
		t.Errorf("create backup: body %s counts no object, want the uploaded memo's", r.raw)
	}
	if size <= 0 {
		t.Errorf("create backup: body %s has no size in bytes", r.raw)
	}

	infos, err := h.app.ListBackups(t.Context(), operator)
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 1 {
		t.Fatalf("backups listed: %+v, want the one created", infos)
	}
	if infos[0].ID != id {
		t.Errorf("listed backup id %s, want %s", infos[0].ID, id)
	}
	if infos[0].Objects != int(objects) {
		t.Errorf("listed backup has %d objects, want %v", infos[0].Objects, objects)
	}
	if infos[0].Bytes != int64(size) {
		t.Errorf("listed backup has %d bytes, want %v", infos[0].Bytes, size)
	}
}

func TestAdminBackupFailureErrorBody(t *testing.T) {
	h := newHarness(t, api.Options{})
	admin := h.token("root", whispersync.ScopeAdmin)
	// Take the backup location's lock, as a running backup operation does.
	dir := h.app.Backups().Dir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}

	r := h.postJSON("/v1/admin/backups", "", admin)
	if r.status != http.StatusServiceUnavailable {
		t.Errorf("create backup while the location is locked: got %d %s, want 503", r.status, r.raw)
	}
	if r.errorCode() != whispersync.EUNAVAILABLE {
		t.Errorf("create backup while the location is locked: error code %q, want %q", r.errorCode(), whispersync.EUNAVAILABLE)
	}
	if e, _ := r.body["error"].(map[string]any); e["correlation_id"] == nil {
		t.Errorf("create backup while the location is locked: body %s is not the error body", r.raw)
	}
}
