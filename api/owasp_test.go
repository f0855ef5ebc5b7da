package api_test

import (
	"bytes"
	"crypto/tls"
	"expvar"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/api"
	"github.com/whispersync/whispersync/app"
	"github.com/whispersync/whispersync/auth"
	"github.com/whispersync/whispersync/ratelimit"
)

// TestAPI1ObjectLevelAuthorization calls every endpoint as bob with
// alice's ids: each id is unknown to bob (404), and no list shows alice's
// items.
func TestAPI1ObjectLevelAuthorization(t *testing.T) {
	h := newHarness(t, api.Options{})
	alice, bob := h.token("alice"), h.token("bob")
	work := h.upload(alice, "work/garage-day.txt")
	idea := h.upload(alice, "github_ideas/plant-watering.txt")
	memory := h.upload(alice, "memories/lake-sunset.txt")
	h.drain()

	for _, id := range []string{work, idea, memory} {
		if r := h.get("/v1/memos/"+id, alice); r.status != http.StatusOK {
			t.Fatalf("alice reads her memo %s: got %d, want 200", id, r.status)
		}
	}
	byID := []struct{ method, path, body string }{
		{"GET", "/v1/memos/" + work, ""},
		{"GET", "/v1/memos/" + idea, ""},
		{"GET", "/v1/memos/" + memory, ""},
		{"GET", "/v1/ideas/" + idea, ""},
		{"POST", "/v1/review/" + work, `{"bucket":"memory"}`},
		{"POST", "/v1/review/" + idea, `{"bucket":"work"}`},
	}
	for _, c := range byID {
		r := h.req(c.method, c.path, strings.NewReader(c.body), "Authorization", bob, "Content-Type", "application/json")
		if r.status != http.StatusNotFound || r.errorCode() != whispersync.ENOTFOUND {
			t.Errorf("bob %s %s: got %d %s, want 404 not_found", c.method, c.path, r.status, r.raw)
		}
		if strings.Contains(r.raw, "garage") || strings.Contains(r.raw, "plant") {
			t.Errorf("bob %s %s: the answer mentions alice's content: %s", c.method, c.path, r.raw)
		}
	}
	lists := map[string]string{
		"/v1/memos": "memos", "/v1/ideas": "ideas", "/v1/review": "memos",
		"/v1/memories/search?q=lake": "memories",
	}
	for path, field := range lists {
		r := h.get(path, bob)
		if items, _ := r.body[field].([]any); r.status != http.StatusOK || len(items) != 0 {
			t.Errorf("bob GET %s: got %d with %d items, want 200 with none", path, r.status, len(items))
		}
	}
	if r := h.get("/v1/journal", bob); strings.Contains(r.raw, work) {
		t.Errorf("bob's journal lists alice's memo: %s", r.raw)
	}
}

// TestAPI2BrokenAuthentication refuses every bad credential with 401 and
// the one error body, then slows down and locks out the guessing address.
func TestAPI2BrokenAuthentication(t *testing.T) {
	h := newHarness(t, api.Options{})
	ctx := t.Context()
	revoked := h.token("carol")
	tokens, _ := h.app.Accounts.ListTokens(ctx, h.user("carol").ID)
	if err := h.app.RevokeToken(ctx, operator, h.user("carol"), tokens[0].ID); err != nil {
		t.Fatal(err)
	}
	expired, _, err := h.app.CreateToken(ctx, operator, h.user("dave"), "", []string{"memos:read"}, time.Nanosecond)
	if err != nil {
		t.Fatal(err)
	}
	locked := h.token("erin")
	if err := h.app.SetLocked(ctx, operator, h.user("erin"), true); err != nil {
		t.Fatal(err)
	}

	tests := []struct{ name, header string }{
		{"no credentials", ""},
		{"unknown scheme", "Digest abc"},
		{"unknown token", "Bearer wst_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
		{"revoked token", "Bearer " + revoked},
		{"expired token", "Bearer " + expired},
		{"token of a locked user", "Bearer " + locked},
		{"JWT without an OIDC issuer", "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."},
		{"service account that does not exist", "Basic c2FfeDp3c2FfeQ=="},
	}
	before := counter(auth.Failures, "token")
	for _, tt := range tests {
		// Forget the failures so far, so the delay tested below does not
		// hide the remaining cases.
		h.forgive()
		r := h.req(http.MethodGet, "/v1/memos", nil, "Authorization", tt.header)
		if r.status != http.StatusUnauthorized || r.errorCode() != whispersync.EUNAUTHORIZED {
			t.Errorf("%s: got %d %s, want 401 unauthorized", tt.name, r.status, r.raw)
		}
		if r.header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: no WWW-Authenticate header", tt.name)
		}
		if id := r.body["error"].(map[string]any)["correlation_id"]; id == "" || id != r.header.Get("X-Request-Id") {
			t.Errorf("%s: correlation id %v, header %q, want equal and set", tt.name, id, r.header.Get("X-Request-Id"))
		}
	}
	if got := counter(auth.Failures, "token"); got <= before {
		t.Errorf("failed token attempts counter: got %d, want more than %d", got, before)
	}

	// Guessing from one address: after the free attempts, even a valid
	// token waits.
	h.forgive()
	valid := h.token("frank")
	for range app.Lockout.FreeAttempts {
		h.get("/v1/memos", "wst_guess")
	}
	r := h.get("/v1/memos", valid)
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" || r.body["error"].(map[string]any)["retry_after"] == nil {
		t.Errorf("valid token after %d guesses: got %d %v %s, want 429 with Retry-After", app.Lockout.FreeAttempts, r.status, r.header, r.raw)
	}
	h.forgive()
	if r := h.get("/v1/memos", valid); r.status != http.StatusOK {
		t.Errorf("valid token once the wait is over: got %d, want 200", r.status)
	}
}

// TestAPI3PropertyLevelAuthorization refuses bodies that try to set
// properties the caller may not set, and never returns secrets or
// ownership fields.
func TestAPI3PropertyLevelAuthorization(t *testing.T) {
	h := newHarness(t, api.Options{})
	alice := h.token("alice")
	id := h.upload(alice, "work/garage-day.txt")
	h.drain()

	bodies := []struct{ path, body string }{
		{"/v1/review/" + id, `{"bucket":"work","owner":"u_someoneelse"}`},
		{"/v1/review/" + id, `{"bucket":"work","status":"processed"}`},
		{"/v1/login", `{"user":"alice","password":"correct horse battery","scopes":["admin"]}`},
	}
	for _, b := range bodies {
		r := h.req(http.MethodPost, b.path, strings.NewReader(b.body), "Authorization", alice, "Content-Type", "application/json")
		if r.status != http.StatusBadRequest {
			t.Errorf("POST %s %s: got %d %s, want 400", b.path, b.body, r.status, r.raw)
		}
	}
	r := h.get("/v1/memos/"+id, alice)
	for _, field := range []string{"owner", "owner_id", "user_id", "hash", "transcript", "text", "key"} {
		if _, ok := r.body[field]; ok {
			t.Errorf("GET /v1/memos/{id} exposes %q: %s", field, r.raw)
		}
	}
}

// TestAPI4UnrestrictedResourceConsumption checks the rate limit, the daily
// quota across a restart, and the size limits.
func TestAPI4UnrestrictedResourceConsumption(t *testing.T) {
	t.Run("rate and burst", func(t *testing.T) {
		h := newHarness(t, api.Options{})
		token := h.token("alice")
		var limited response
		ok := 0
		for range 30 {
			r := h.get("/v1/memos", token)
			if r.status == http.StatusOK {
				ok++
			} else {
				limited = r
			}
		}
		if ok < 20 || ok > 22 {
			t.Errorf("allowed of 30 at once: got %d, want the burst of 20 (plus what refilled)", ok)
		}
		if limited.status != http.StatusTooManyRequests || limited.errorCode() != auth.ERATELIMITED {
			t.Fatalf("refusal: got %d %s, want 429 rate_limited", limited.status, limited.raw)
		}
		for _, hdr := range []string{"Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "RateLimit-Policy"} {
			if limited.header.Get(hdr) == "" {
				t.Errorf("429 without %s", hdr)
			}
		}
		if limited.body["error"].(map[string]any)["retry_after"] == nil {
			t.Errorf("429 body without retry_after: %s", limited.raw)
		}
		if r := h.get("/v1/memos", h.token("bob")); r.status != http.StatusOK {
			t.Errorf("another principal: got %d, want 200", r.status)
		}
	})

	t.Run("daily quota survives restart", func(t *testing.T) {
		opts := api.Options{Principal: ratelimit.Config{Rate: 1000, Burst: 1000, Daily: 5}}
		h := newHarness(t, opts)
		token := h.token("alice")
		for i := range 5 {
			if r := h.get("/v1/memos", token); r.status != http.StatusOK {
				t.Fatalf("request %d: got %d, want 200", i+1, r.status)
			}
		}
		if err := h.srv.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
		restarted := serveApp(t, h.app, opts)
		r := restarted.get("/v1/memos", token)
		if r.status != http.StatusTooManyRequests || r.header.Get("RateLimit-Limit") != "5" {
			t.Errorf("request 6 after restart: got %d, limit %q, want 429 with limit 5", r.status, r.header.Get("RateLimit-Limit"))
		}
	})

	t.Run("unauthenticated per address", func(t *testing.T) {
		h := newHarness(t, api.Options{Anonymous: ratelimit.Config{Rate: 1, Burst: 3}})
		codes := []int{}
		for range 5 {
			codes = append(codes, h.get("/healthz", "").status)
		}
		if !slices.Equal(codes, []int{200, 200, 200, 429, 429}) {
			t.Errorf("anonymous statuses: got %v, want 3 × 200 then 429", codes)
		}
	})

	t.Run("sizes", func(t *testing.T) {
		h := newHarness(t, api.Options{})
		token := h.token("alice")
		big := bytes.Repeat([]byte("a"), api.MaxBodyBytes+1)
		if r := h.req(http.MethodPost, "/v1/memos", bytes.NewReader(big), "Authorization", token, "Content-Type", "text/plain"); r.status != http.StatusRequestEntityTooLarge {
			t.Errorf("body over the limit: got %d, want 413", r.status)
		}
		if r := h.get("/v1/memories/search?q="+strings.Repeat("x", 3000), token); r.status != http.StatusRequestURITooLong {
			t.Errorf("long URL: got %d, want 414", r.status)
		}
		headers := []string{"Authorization", token}
		for i := range 60 {
			headers = append(headers, "X-Filler-"+string(rune('a'+i%26))+strings.Repeat("x", i/26), "1")
		}
		if r := h.req(http.MethodGet, "/v1/memos", nil, headers...); r.status != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("60 header fields: got %d, want 431", r.status)
		}
	})
}

// TestAPI5FunctionLevelAuthorization checks that each function needs its
// scope.
func TestAPI5FunctionLevelAuthorization(t *testing.T) {
	h := newHarness(t, api.Options{Principal: ratelimit.Config{Rate: 1000, Burst: 1000}})
	read := h.token("alice", whispersync.ScopeMemosRead)
	write := h.token("alice", whispersync.ScopeMemosWrite)
	admin := h.token("root", whispersync.ScopeAdmin)
	tests := []struct {
		token, method, path string
		want                int
	}{
		{read, "POST", "/v1/memos", http.StatusForbidden},
		{read, "POST", "/v1/review/m_x", http.StatusForbidden},
		{write, "GET", "/v1/memos", http.StatusForbidden},
		{write, "GET", "/v1/memories/search", http.StatusForbidden},
		{read, "GET", "/v1/admin/dlq", http.StatusForbidden},
		{write, "POST", "/v1/admin/dlq/redrive", http.StatusForbidden},
		{read, "GET", "/v1/admin/metrics", http.StatusForbidden},
		{admin, "GET", "/v1/admin/dlq", http.StatusOK},
		{admin, "POST", "/v1/admin/dlq/redrive", http.StatusOK},
		{admin, "GET", "/v1/admin/metrics", http.StatusOK},
	}
	for _, tt := range tests {
		r := h.req(tt.method, tt.path, strings.NewReader("hello"), "Authorization", tt.token, "Content-Type", "text/plain")
		if r.status != tt.want {
			t.Errorf("%s %s: got %d %s, want %d", tt.method, tt.path, r.status, r.raw, tt.want)
		}
	}
	sess := login(t, h, "alice")
	if r := sess.do(h, "GET", "/v1/admin/dlq", ""); r.status != http.StatusForbidden {
		t.Errorf("session GET /v1/admin/dlq: got %d, want 403", r.status)
	}
}

// TestAPI8SecurityMisconfiguration checks headers, CORS, TLS and the
// refusal of unsafe configuration.
func TestAPI8SecurityMisconfiguration(t *testing.T) {
	h := newHarness(t, api.Options{})
	r := h.get("/healthz", "")
	want := map[string]string{
		"X-Content-Type-Options":    "nosniff",
		"X-Frame-Options":           "DENY",
		"Referrer-Policy":           "no-referrer",
		"Strict-Transport-Security": "max-age=63072000; includeSubDomains",
		"Cache-Control":             "no-store",
	}
	for k, v := range want {
		if got := r.header.Get(k); got != v {
			t.Errorf("%s: got %q, want %q", k, got, v)
		}
	}
	if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("Content-Security-Policy: got %q", csp)
	}
	if s := r.header.Get("Server"); s != "" {
		t.Errorf("Server header: got %q, want none", s)
	}

	t.Run("CORS", func(t *testing.T) {
		preflight := func(origin, method, headers string) response {
			return h.req(http.MethodOptions, "/v1/memos", nil, "Origin", origin, "Access-Control-Request-Method", method, "Access-Control-Request-Headers", headers)
		}
		r := preflight("https://whispersync.app", "POST", "content-type, x-amz-date, authorization")
		if r.status != http.StatusNoContent || r.header.Get("Access-Control-Allow-Origin") != "https://whispersync.app" ||
			r.header.Get("Access-Control-Allow-Methods") != "GET, POST" || r.header.Get("Access-Control-Allow-Headers") != "Content-Type, X-Amz-Date, Authorization" {
			t.Errorf("allowed preflight: got %d %v", r.status, r.header)
		}
		for _, c := range []struct{ origin, method, headers string }{
			{"https://evil.example", "POST", "content-type"},
			{"https://whispersync.app", "DELETE", ""},
			{"https://whispersync.app", "POST", "x-secret"},
		} {
			r := preflight(c.origin, c.method, c.headers)
			if r.status != http.StatusForbidden || r.header.Get("Access-Control-Allow-Origin") != "" {
				t.Errorf("preflight %v: got %d with origin %q, want 403 without CORS headers", c, r.status, r.header.Get("Access-Control-Allow-Origin"))
			}
		}
		if r := h.req(http.MethodGet, "/healthz", nil, "Origin", "https://evil.example"); r.header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("simple request from another origin: got Access-Control-Allow-Origin %q, want none", r.header.Get("Access-Control-Allow-Origin"))
		}
		bad := api.DefaultCORS
		bad.Origins, bad.AllowCredentials = []string{"*"}, true
		if _, err := api.NewServer(h.app, api.Options{CORS: bad}); err == nil {
			t.Error("NewServer with origin * and credentials: got no error")
		}
		if err := (api.CORS{Origins: []string{"https://*.example.com"}}).Validate(); err == nil {
			t.Error("origin with a wildcard inside: got no error")
		}
	})

	t.Run("TLS 1.1 refused", func(t *testing.T) {
		tr := h.ts.Client().Transport.(*http.Transport).Clone()
		// The client offers only TLS 1.0 and 1.1 on purpose: the server
		// must reject them.
		tr.TLSClientConfig.MaxVersion = tls.VersionTLS11 // #nosec G402 -- see above
		tr.TLSClientConfig.MinVersion = tls.VersionTLS10 // #nosec G402 -- see above
		if _, err := (&http.Client{Transport: tr}).Get(h.ts.URL + "/healthz"); err == nil {
			t.Error("TLS 1.1 handshake: got no error")
		}
	})

	t.Run("methods", func(t *testing.T) {
		for _, m := range []string{"PUT", "DELETE", "TRACE", "PATCH", "CONNECTX"} {
			r := h.req(m, "/v1/memos", nil)
			if r.status != http.StatusMethodNotAllowed || r.errorCode() != "method_not_allowed" {
				t.Errorf("%s: got %d %s, want 405", m, r.status, r.raw)
			}
		}
	})
}

func counter(m *expvar.Map, key string) int64 {
	if v, ok := m.Get(key).(*expvar.Int); ok {
		return v.Value()
	}
	return 0
}
