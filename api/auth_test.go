package api_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/api"
	"github.com/whispersync/whispersync/app"
	"github.com/whispersync/whispersync/auth"
	"github.com/whispersync/whispersync/pipeline"
	"github.com/whispersync/whispersync/safehttp"
	"github.com/whispersync/whispersync/sqlite"
	"github.com/whispersync/whispersync/tlsconfig"
)

const testPassword = "correct horse battery staple"

// session is a logged-in browser.
type session struct {
	cookie *http.Cookie
	csrf   string
}

func login(t *testing.T, h *harness, name string) session {
	t.Helper()
	if err := h.app.SetPassword(t.Context(), operator, h.user(name), testPassword); err != nil {
		t.Fatal(err)
	}
	r := h.req(http.MethodPost, "/v1/login", strings.NewReader(`{"user":"`+name+`","password":"`+testPassword+`"}`), "Content-Type", "application/json")
	if r.status != http.StatusOK {
		t.Fatalf("login: got %d %s, want 200", r.status, r.raw)
	}
	resp := &http.Response{Header: r.header}
	cookies := resp.Cookies()
	if len(cookies) != 1 {
		t.Fatalf("login set %d cookies, want 1", len(cookies))
	}
	return session{cookie: cookies[0], csrf: r.body["csrf_token"].(string)}
}

func (s session) do(h *harness, method, path, body string, header ...string) response {
	h.t.Helper()
	r, _ := http.NewRequestWithContext(h.t.Context(), method, h.ts.URL+path, strings.NewReader(body))
	r.AddCookie(&http.Cookie{Name: s.cookie.Name, Value: s.cookie.Value, Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	return h.send(r)
}

func TestSessionCookieAndCSRF(t *testing.T) {
	h := newHarness(t, api.Options{})
	s := login(t, h, "alice")
	c := s.cookie
	if c.Name != "__Host-whispersync_session" || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Domain != "" {
		t.Errorf("session cookie: got %+v, want __Host- prefix, Secure, HttpOnly, SameSite=Strict, Path=/", c)
	}
	if r := s.do(h, "GET", "/v1/memos", ""); r.status != http.StatusOK {
		t.Errorf("GET with the session: got %d, want 200", r.status)
	}
	memo := "Call Lena about the invoices tomorrow and send the budget to Marcus."
	tests := []struct {
		name   string
		header []string
		want   int
	}{
		{"no CSRF token", []string{"Content-Type", "text/plain"}, http.StatusForbidden},
		{"wrong CSRF token", []string{"Content-Type", "text/plain", "X-CSRF-Token", "nope"}, http.StatusForbidden},
		{"foreign origin", []string{"Content-Type", "text/plain", "X-CSRF-Token", s.csrf, "Origin", "https://evil.example"}, http.StatusForbidden},
		{"right CSRF token", []string{"Content-Type", "text/plain", "X-CSRF-Token", s.csrf}, http.StatusAccepted},
	}
	for _, tt := range tests {
		if r := s.do(h, "POST", "/v1/memos", memo, tt.header...); r.status != tt.want {
			t.Errorf("%s: got %d %s, want %d", tt.name, r.status, r.raw, tt.want)
		}
	}
	if r := s.do(h, "GET", "/v1/session", ""); r.body["csrf_token"] != s.csrf || r.body["user"] != "alice" {
		t.Errorf("GET /v1/session: got %s", r.raw)
	}
	if r := s.do(h, "POST", "/v1/logout", "", "X-CSRF-Token", s.csrf); r.status != http.StatusNoContent {
		t.Errorf("logout: got %d %s, want 204", r.status, r.raw)
	}
	if r := s.do(h, "GET", "/v1/memos", ""); r.status != http.StatusUnauthorized {
		t.Errorf("GET after logout: got %d, want 401", r.status)
	}
}

func TestLoginDelayAndLockout(t *testing.T) {
	h := newHarness(t, api.Options{})
	ctx := t.Context()
	if err := h.app.SetPassword(ctx, operator, h.user("alice"), testPassword); err != nil {
		t.Fatal(err)
	}
	attempt := func(password string) response {
		return h.req(http.MethodPost, "/v1/login", strings.NewReader(`{"user":"alice","password":"`+password+`"}`), "Content-Type", "application/json")
	}
	before := counter(auth.Failures, "password")
	for i := range app.Lockout.FreeAttempts {
		if r := attempt("wrong password " + string(rune('a'+i))); r.status != http.StatusUnauthorized {
			t.Fatalf("wrong password %d: got %d, want 401", i+1, r.status)
		}
	}
	if got := counter(auth.Failures, "password"); got != before+int64(app.Lockout.FreeAttempts) {
		t.Errorf("failed password counter: got %d, want %d", got, before+int64(app.Lockout.FreeAttempts))
	}
	r := attempt(testPassword)
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
		t.Errorf("right password during the delay: got %d %s, want 429 with Retry-After", r.status, r.raw)
	}

	// Ten failures lock the user whatever the address.
	for range app.Lockout.LockAfter {
		if _, err := h.app.Identity().RecordFailure(ctx, "user:alice", time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	h.forgive()
	r = attempt(testPassword)
	if r.status != http.StatusTooManyRequests || !strings.Contains(r.raw, "locked") {
		t.Errorf("right password while locked out: got %d %s, want 429 locked", r.status, r.raw)
	}

	// The operator's unlock clears the counter; an operator lock refuses
	// even the right password.
	if err := h.app.SetLocked(ctx, operator, h.user("alice"), false); err != nil {
		t.Fatal(err)
	}
	if r := attempt(testPassword); r.status != http.StatusOK {
		t.Errorf("login after unlock: got %d %s, want 200", r.status, r.raw)
	}
	if err := h.app.SetLocked(ctx, operator, h.user("alice"), true); err != nil {
		t.Fatal(err)
	}
	// A locked account answers the right password like a wrong one, so a
	// guesser learns neither.
	if r := attempt(testPassword); r.status != http.StatusUnauthorized || !strings.Contains(r.raw, "wrong user name or password") {
		t.Errorf("login of a locked account with the right password: got %d %s, want 401 like a wrong password", r.status, r.raw)
	}
	if r := h.req(http.MethodPost, "/v1/login", strings.NewReader(`{"user":"nobody","password":"whatever it is"}`), "Content-Type", "application/json"); r.status != http.StatusUnauthorized {
		t.Errorf("login of an unknown user: got %d, want 401", r.status)
	}
}

func TestPasswordChange(t *testing.T) {
	h := newHarness(t, api.Options{})
	s := login(t, h, "alice")
	change := func(current, next string) response {
		body, _ := json.Marshal(map[string]string{"current_password": current, "new_password": next})
		return s.do(h, "POST", "/v1/password", string(body), "Content-Type", "application/json", "X-CSRF-Token", s.csrf)
	}
	if r := change("not the password", "a brand new passphrase"); r.status != http.StatusUnauthorized {
		t.Errorf("wrong current password: got %d, want 401", r.status)
	}
	if r := change(testPassword, "short"); r.status != http.StatusBadRequest {
		t.Errorf("too short a new password: got %d, want 400", r.status)
	}
	if r := change(testPassword, "a brand new passphrase"); r.status != http.StatusNoContent {
		t.Fatalf("change: got %d %s, want 204", r.status, r.raw)
	}
	if r := s.do(h, "GET", "/v1/memos", ""); r.status != http.StatusUnauthorized {
		t.Errorf("old session after the change: got %d, want 401", r.status)
	}
	r := h.req(http.MethodPost, "/v1/login", strings.NewReader(`{"user":"alice","password":"a brand new passphrase"}`), "Content-Type", "application/json")
	if r.status != http.StatusOK {
		t.Errorf("login with the new password: got %d, want 200", r.status)
	}
}

func TestServiceAccount(t *testing.T) {
	h := newHarness(t, api.Options{})
	ctx := t.Context()
	alice := h.user("alice")
	secret, sa, err := h.app.CreateServiceAccount(ctx, operator, alice, "capture", []string{whispersync.ScopeMemosWrite}, "")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	basic := func(c *http.Client, id, secret, method, path string) int {
		n++
		r, _ := http.NewRequestWithContext(ctx, method, h.ts.URL+path, strings.NewReader(fmt.Sprintf("Buy %d seed packets for the balcony garden on Saturday.", n)))
		r.SetBasicAuth(id, secret)
		r.Header.Set("Content-Type", "text/plain")
		resp, err := c.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	if got := basic(h.client, sa.ClientID, secret, "POST", "/v1/memos"); got != http.StatusAccepted {
		t.Errorf("upload as the service account: got %d, want 202", got)
	}
	if got := basic(h.client, sa.ClientID, secret, "GET", "/v1/memos"); got != http.StatusForbidden {
		t.Errorf("read as a write-only service account: got %d, want 403", got)
	}
	if got := basic(h.client, sa.ClientID, secret+"x", "POST", "/v1/memos"); got != http.StatusUnauthorized {
		t.Errorf("wrong secret: got %d, want 401", got)
	}
	h.forgive()

	certPEM, keyPEM, err := tlsconfig.SelfSigned([]string{"capture-client"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(cert.Certificate[0])
	pinnedSecret, pinned, err := h.app.CreateServiceAccount(ctx, operator, alice, "webhook", []string{whispersync.ScopeMemosWrite}, hex.EncodeToString(sum[:]))
	if err != nil {
		t.Fatal(err)
	}
	if got := basic(h.clientWith(cert), pinned.ClientID, pinnedSecret, "POST", "/v1/memos"); got != http.StatusAccepted {
		t.Errorf("pinned account with its certificate: got %d, want 202", got)
	}
	if got := basic(h.client, pinned.ClientID, pinnedSecret, "POST", "/v1/memos"); got != http.StatusUnauthorized {
		t.Errorf("pinned account without a certificate: got %d, want 401", got)
	}
	h.forgive()
	otherPEM, otherKey, _ := tlsconfig.SelfSigned([]string{"someone-else"}, time.Now(), time.Hour)
	other, _ := tls.X509KeyPair(otherPEM, otherKey)
	if got := basic(h.clientWith(other), pinned.ClientID, pinnedSecret, "POST", "/v1/memos"); got != http.StatusUnauthorized {
		t.Errorf("pinned account with another certificate: got %d, want 401", got)
	}
	h.forgive()
	if err := h.app.DisableServiceAccount(ctx, operator, sa.ClientID); err != nil {
		t.Fatal(err)
	}
	if got := basic(h.client, sa.ClientID, secret, "POST", "/v1/memos"); got != http.StatusUnauthorized {
		t.Errorf("disabled account: got %d, want 401", got)
	}
}

// TestOIDCBearer runs a local OIDC provider over TLS, serving discovery
// and keys, and calls the API with its tokens.
func TestOIDCBearer(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jwk := jose.JSONWebKey{Key: key, KeyID: "k1", Algorithm: "ES256", Use: "sig"}
	var issuerURL string
	mux := http.NewServeMux()
	mux.HandleFunc("GET /pool/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": issuerURL, "jwks_uri": issuerURL + "/.well-known/jwks.json"})
	})
	mux.HandleFunc("GET /pool/.well-known/jwks.json", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{jwk.Public()}})
	})
	idp := httptest.NewTLSServer(mux)
	t.Cleanup(idp.Close)
	issuerURL = idp.URL + "/pool"
	roots := x509.NewCertPool()
	roots.AddCert(idp.Certificate())
	v, err := auth.NewVerifier(auth.OIDCConfig{
		Issuer: issuerURL, ClientIDs: []string{"app-client"}, TokenUse: "access", ResourceServer: "whispersync",
		HTTPClient: safehttp.New(safehttp.Options{AllowLoopback: true, AllowHosts: []string{"127.0.0.1"}, TLS: &tls.Config{RootCAs: roots}}),
	})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, api.Options{OIDC: v})

	mint := func(mod func(map[string]any)) string {
		now := time.Now().Unix()
		claims := map[string]any{"iss": issuerURL, "sub": "0b7e-sub", "client_id": "app-client", "token_use": "access", "scope": "whispersync/memos:read", "exp": now + 600, "iat": now}
		if mod != nil {
			mod(claims)
		}
		signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jwk}, nil)
		payload, _ := json.Marshal(claims)
		obj, _ := signer.Sign(payload)
		s, _ := obj.CompactSerialize()
		return s
	}
	if r := h.req(http.MethodGet, "/v1/memos", nil, "Authorization", "Bearer "+mint(nil)); r.status != http.StatusOK {
		t.Fatalf("valid OIDC token: got %d %s, want 200", r.status, r.raw)
	}
	if _, err := h.app.Accounts.FindUserByName(context.Background(), "oidc:0b7e-sub"); err != nil {
		t.Errorf("user of the OIDC subject: %v", err)
	}
	if r := h.req(http.MethodPost, "/v1/memos", strings.NewReader("hi there"), "Authorization", "Bearer "+mint(nil), "Content-Type", "text/plain"); r.status != http.StatusForbidden {
		t.Errorf("upload with a read-scoped OIDC token: got %d, want 403", r.status)
	}
	for name, tok := range map[string]string{
		"expired":        mint(func(c map[string]any) { c["exp"] = time.Now().Unix() - 600 }),
		"wrong audience": mint(func(c map[string]any) { c["client_id"] = "other-client" }),
		"alg none":       "eyJhbGciOiJub25lIiwia2lkIjoiazEifQ.eyJzdWIiOiIwYjdlLXN1YiJ9.",
	} {
		h.forgive()
		if r := h.req(http.MethodGet, "/v1/memos", nil, "Authorization", "Bearer "+tok); r.status != http.StatusUnauthorized {
			t.Errorf("%s OIDC token: got %d %s, want 401", name, r.status, r.raw)
		}
	}
}

func TestEdgeFilter(t *testing.T) {
	h := newHarness(t, api.Options{})
	token := h.token("alice")
	tests := []struct {
		name, path, agent string
		want              int
	}{
		{"dot segments", "/v1/memos/../admin/dlq", "", http.StatusBadRequest},
		{"encoded slash", "/v1/memos/a%2fb", "", http.StatusBadRequest},
		{"encoded dot", "/v1/memos/%2e%2e", "", http.StatusBadRequest},
		{"encoded backslash", "/v1/memos/a%5cb", "", http.StatusBadRequest},
		{"double slash", "/v1//memos", "", http.StatusBadRequest},
		{"NUL", "/v1/memos/a%00b", "", http.StatusBadRequest},
		{"scanner agent", "/v1/memos", "sqlmap/1.7", http.StatusForbidden},
		{"env file probe", "/.env", "", http.StatusForbidden},
		{"git probe", "/.git/config", "", http.StatusForbidden},
		{"php probe", "/index.php", "", http.StatusForbidden},
		{"ordinary request", "/v1/memos", "whispersync-capture/1.0", http.StatusOK},
	}
	for _, tt := range tests {
		r, err := http.NewRequestWithContext(t.Context(), http.MethodGet, h.ts.URL+tt.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Set("Authorization", "Bearer "+token)
		r.Header.Set("User-Agent", tt.agent)
		if got := h.send(r); got.status != tt.want || (tt.want != 200 && got.body["error"] == nil) {
			t.Errorf("%s: got %d %s, want %d with the error body", tt.name, got.status, got.raw, tt.want)
		}
	}
}

func TestBlocklist(t *testing.T) {
	h := newHarness(t, api.Options{})
	ctx := t.Context()
	token := h.token("alice")
	tokens, _ := h.app.Accounts.ListTokens(ctx, h.user("alice").ID)
	if _, err := h.app.Block(ctx, operator, auth.Block{Kind: "principal", Value: "token:" + tokens[0].ID}); err != nil {
		t.Fatal(err)
	}
	h.reloadBlocklist()
	if r := h.get("/v1/memos", token); r.status != http.StatusForbidden {
		t.Errorf("blocked principal: got %d, want 403", r.status)
	}
	if r := h.get("/v1/memos", h.token("bob")); r.status != http.StatusOK {
		t.Errorf("another principal: got %d, want 200", r.status)
	}
	if _, err := h.app.Block(ctx, operator, auth.Block{Kind: "ip", Value: "127.0.0.0/8"}); err != nil {
		t.Fatal(err)
	}
	h.reloadBlocklist()
	if r := h.get("/healthz", ""); r.status != http.StatusForbidden {
		t.Errorf("blocked address: got %d, want 403", r.status)
	}
	if _, err := h.app.Unblock(ctx, operator, "ip", "127.0.0.0/8"); err != nil {
		t.Fatal(err)
	}
	h.reloadBlocklist()
	if r := h.get("/healthz", ""); r.status != http.StatusOK {
		t.Errorf("after unblock: got %d, want 200", r.status)
	}
	for _, b := range []auth.Block{
		{Kind: "ip", Value: "not-an-ip"},
		{Kind: "principal", Value: "alice"},
		{Kind: "country", Value: "x"},
		{Kind: "principal", Value: "token:t_\x1b[31m"},
		{Kind: "ip", Value: "192.0.2.7", Reason: "spam\r\nfake line"},
		{Kind: "ip", Value: "192.0.2.7", Reason: "\u202egnp.exe"},
		{Kind: "ip", Value: "192.0.2.7", Reason: "line\u2028break"},
		{Kind: "ip", Value: "192.0.2.7", Reason: "zero\u200bwidth"},
		{Kind: "principal", Value: "user:nobody"},
	} {
		if _, err := h.app.Block(ctx, operator, b); err == nil {
			t.Errorf("Block(%+v): got no error", b)
		}
	}
}

// TestBlockSelf checks that the admin API rejects a block that would match
// the request making it, which would lock the admin out of the API.
func TestBlockSelf(t *testing.T) {
	h := newHarness(t, api.Options{})
	admin := h.token("root", whispersync.ScopeAdmin)
	tokens, err := h.app.Accounts.ListTokens(t.Context(), h.user("root").ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, value := range []string{"127.0.0.1", "127.0.0.0/8", "token:" + tokens[0].ID, "user:root", "user:ROOT"} {
		r := h.postJSON("/v1/admin/blocklist", fmt.Sprintf(`{"value":%q}`, value), admin)
		if r.status != http.StatusConflict {
			t.Errorf("block %s from 127.0.0.1 as root: got %d %s, want 409", value, r.status, r.raw)
		}
	}
	if r := h.get("/v1/admin/blocklist", admin); r.status != http.StatusOK || strings.Contains(string(r.raw), "127.0.0") {
		t.Errorf("block list after the rejected blocks: got %d %s, want 200 and no entry", r.status, r.raw)
	}
	if r := h.postJSON("/v1/admin/blocklist", `{"value":"192.0.2.0/24"}`, admin); r.status != http.StatusOK {
		t.Errorf("block another prefix: got %d %s, want 200", r.status, r.raw)
	}
}

// TestCapabilityDenials shows each in-process denial: intake's handle
// cannot read, the agents' handle refuses unapproved objects, and admin
// operations need the admin scope.
func TestCapabilityDenials(t *testing.T) {
	store, err := sqlite.OpenObjectStore(t.Context(), filepath.Join(t.TempDir(), "objects.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ctx := t.Context()
	if _, err := store.PutObject(ctx, "quarantine/u_a/x", []byte("sealed"), map[string]string{whispersync.TagApproved: "false"}); err != nil {
		t.Fatal(err)
	}
	intake := pipeline.WriteOnly(store)
	if _, ok := intake.(interface {
		GetObject(context.Context, string, string) (*whispersync.Object, error)
	}); ok {
		t.Error("intake's handle has GetObject: it must not read transcripts")
	}
	if _, err := intake.DeleteObject(ctx, "quarantine/u_a/x", ""); whispersync.ErrorCode(err) != whispersync.EFORBIDDEN {
		t.Errorf("intake deletes without a version id: got %v, want forbidden", err)
	}
	if _, err := pipeline.ApprovedOnly(store).GetObject(ctx, "quarantine/u_a/x", ""); whispersync.ErrorCode(err) != whispersync.EFORBIDDEN {
		t.Errorf("agent reads an unapproved object: got %v, want forbidden", err)
	}

	h := newHarness(t, api.Options{})
	if r := h.get("/v1/admin/dlq", h.token("alice")); r.status != http.StatusForbidden {
		t.Errorf("admin route without the admin scope: got %d, want 403", r.status)
	}
}
