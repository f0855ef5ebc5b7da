package api_test

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/api"
	"github.com/whispersync/whispersync/app"
	"github.com/whispersync/whispersync/audit"
	"github.com/whispersync/whispersync/auth"
	"github.com/whispersync/whispersync/ratelimit"
)

// checkErrorBody fails unless r is a failure with the one error body and
// the security headers.
func checkErrorBody(t *testing.T, request string, r response, status int, code string) {
	t.Helper()
	if r.status != status || r.errorCode() != code {
		t.Errorf("%s: got %d %s, want %d %s", request, r.status, r.raw, status, code)
		return
	}
	e, _ := r.body["error"].(map[string]any)
	if id, _ := e["correlation_id"].(string); id == "" || id != r.header.Get("X-Request-Id") {
		t.Errorf("%s: correlation id %q, X-Request-Id %q, want the same non-empty id", request, id, r.header.Get("X-Request-Id"))
	}
	for _, hdr := range []string{"X-Content-Type-Options", "X-Frame-Options", "Content-Security-Policy", "Strict-Transport-Security", "Cache-Control"} {
		if r.header.Get(hdr) == "" {
			t.Errorf("%s: no %s header", request, hdr)
		}
	}
}

// TestAttackCredentialKeepsAddressLimit sends an invented
// Authorization header or session cookie to routes that never check it:
// the per-address limit of unauthenticated requests still applies.
func TestAttackCredentialKeepsAddressLimit(t *testing.T) {
	cases := map[string][]string{
		"bearer":  {"Authorization", "Bearer not-a-token"},
		"basic":   {"Authorization", "Basic eDp5"},
		"cookie":  {"Cookie", "__Host-whispersync_session=forged"},
		"unknown": {"Authorization", "Negotiate abc"},
	}
	for name, header := range cases {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, api.Options{Anonymous: ratelimit.Config{Rate: 0.001, Burst: 3}})
			var codes []int
			for _, path := range []string{"/healthz", "/healthz", "/no/such/route", "/healthz", "/ui/login"} {
				codes = append(codes, h.req(http.MethodGet, path, nil, header...).status)
			}
			want := []int{200, 200, 404, 429, 429}
			if !slices.Equal(codes, want) {
				t.Errorf("statuses: got %v, want %v", codes, want)
			}
		})
	}

	t.Run("valid token still limited per principal", func(t *testing.T) {
		h := newHarness(t, api.Options{Anonymous: ratelimit.Config{Rate: 0.001, Burst: 1}})
		token := h.token("alice")
		for i := range 5 {
			if r := h.get("/v1/memos", token); r.status != http.StatusOK {
				t.Fatalf("authenticated request %d: got %d %s, want 200: the address limit must not apply", i+1, r.status, r.raw)
			}
		}
	})
}

// TestAttackIPv6PrefixSharesLimit sends unauthenticated requests from
// many addresses of one IPv6 /64: they share one limit.
func TestAttackIPv6PrefixSharesLimit(t *testing.T) {
	h := newHarness(t, api.Options{Anonymous: ratelimit.Config{Rate: 0.001, Burst: 2}})
	get := func(remote string) int {
		r := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/healthz", nil)
		r.RemoteAddr = remote
		w := httptest.NewRecorder()
		h.srv.ServeHTTP(w, r)
		return w.Code
	}
	var codes []int
	for _, remote := range []string{"[2001:db8:1:2::1]:1000", "[2001:db8:1:2::2]:1000", "[2001:db8:1:2:ffff::3]:1000", "[2001:db8:1:2:a:b:c:d]:1000"} {
		codes = append(codes, get(remote))
	}
	if want := []int{200, 200, 429, 429}; !slices.Equal(codes, want) {
		t.Errorf("one /64: got %v, want %v", codes, want)
	}
	if c := get("[2001:db8:1:3::1]:1000"); c != http.StatusOK {
		t.Errorf("another /64: got %d, want 200", c)
	}
	if c := get("192.0.2.1:1000"); c != http.StatusOK {
		t.Errorf("an IPv4 address: got %d, want 200", c)
	}
}

// TestAttackHeaderLimits repeats one header field and sends large fields:
// both count against the edge's limits and get the JSON 431.
func TestAttackHeaderLimits(t *testing.T) {
	h := newHarness(t, api.Options{})
	token := h.token("alice")

	r, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, h.ts.URL+"/v1/memos", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	for range 60 {
		r.Header.Add("X-Same", "1")
	}
	checkErrorBody(t, "one field 60 times", h.send(r), http.StatusRequestHeaderFieldsTooLarge, "headers_too_large")

	r, _ = http.NewRequestWithContext(t.Context(), http.MethodGet, h.ts.URL+"/v1/memos", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	r.Header.Set("X-Big", strings.Repeat("a", 9000))
	r.Header.Set("X-Bigger", strings.Repeat("b", 9000))
	checkErrorBody(t, "18 KB of fields", h.send(r), http.StatusRequestHeaderFieldsTooLarge, "headers_too_large")

	r, _ = http.NewRequestWithContext(t.Context(), http.MethodGet, h.ts.URL+"/v1/memos", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	r.Header.Set("X-Big", strings.Repeat("a", 12000))
	if got := h.send(r); got.status != http.StatusOK {
		t.Errorf("12 KB of fields: got %d %s, want 200", got.status, got.raw)
	}
}

// TestAttackPathEncodings sends overlong UTF-8, bytes that are not UTF-8
// and double-encoded separators: each is refused as non-canonical.
func TestAttackPathEncodings(t *testing.T) {
	h := newHarness(t, api.Options{})
	token := h.token("alice")
	for _, path := range []string{
		"/v1/%c0%ae%c0%ae/memos",
		"/v1/memos/%c0%af",
		"/v1/memos/%ff",
		"/v1/memos%252fx",
		"/v1/memos/%252e%252e",
		"/v1/memos/%25%32%66",
		"/v1/memos/%2500",
	} {
		checkErrorBody(t, path, h.get(path, token), http.StatusBadRequest, whispersync.EINVALID)
	}
	if r := h.get("/v1/memos/m_unknown", token); r.status != http.StatusNotFound {
		t.Errorf("a plain id: got %d, want 404", r.status)
	}
}

// TestAttackPreflightRefusal sends refused preflights: each gets the
// error body and no CORS header.
func TestAttackPreflightRefusal(t *testing.T) {
	h := newHarness(t, api.Options{})
	cases := []struct{ name, origin, method, headers string }{
		{"other origin", "https://evil.example", "POST", ""},
		{"null origin", "null", "GET", ""},
		{"method", "https://whispersync.app", "PUT", ""},
		{"header", "https://whispersync.app", "POST", "X-CSRF-Token"},
	}
	for _, c := range cases {
		header := []string{"Origin", c.origin, "Access-Control-Request-Method", c.method}
		if c.headers != "" {
			header = append(header, "Access-Control-Request-Headers", c.headers)
		}
		r := h.req(http.MethodOptions, "/v1/memos", nil, header...)
		checkErrorBody(t, c.name, r, http.StatusForbidden, whispersync.EFORBIDDEN)
		for name := range r.header {
			if strings.HasPrefix(name, "Access-Control-Allow") {
				t.Errorf("%s: refused preflight carries %s", c.name, name)
			}
		}
	}
	r := h.req(http.MethodOptions, "/v1/memos", nil, "Origin", "https://whispersync.app", "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type, authorization")
	if r.status != http.StatusNoContent || r.header.Get("Access-Control-Allow-Origin") != "https://whispersync.app" {
		t.Errorf("allowed preflight: got %d %v, want 204 with the origin", r.status, r.header)
	}
}

// TestAttackCORSOriginSyntax configures origins a browser never sends.
func TestAttackCORSOriginSyntax(t *testing.T) {
	for _, origin := range []string{"https://a.example#x", "https://a.example:99999", "https://a.example:0", "https://a.example:+443", "https://a.example?"} {
		if err := (api.CORS{Origins: []string{origin}}).Validate(); err == nil {
			t.Errorf("origin %q: accepted, want an error", origin)
		}
	}
	if err := (api.CORS{Origins: []string{"https://a.example:8443", "http://localhost:3000"}}).Validate(); err != nil {
		t.Errorf("origins with ports: %v", err)
	}
}

// TestAttackSessionsShareLimit logs in twice: the second session gets no
// fresh daily quota.
func TestAttackSessionsShareLimit(t *testing.T) {
	h := newHarness(t, api.Options{Principal: ratelimit.Config{Rate: 1000, Burst: 1000, Daily: 3}})
	first := login(t, h, "alice")
	for i := range 3 {
		if r := first.do(h, http.MethodGet, "/v1/session", ""); r.status != http.StatusOK {
			t.Fatalf("first session, request %d: got %d %s, want 200", i+1, r.status, r.raw)
		}
	}
	second := login(t, h, "alice")
	r := second.do(h, http.MethodGet, "/v1/session", "")
	if r.status != http.StatusTooManyRequests || r.errorCode() != auth.ERATELIMITED {
		t.Errorf("second session of the same user: got %d %s, want 429 rate_limited", r.status, r.raw)
	}
	if r := h.get("/v1/memos", h.token("alice")); r.status != http.StatusOK {
		t.Errorf("a token of the same user: got %d, want 200 (a token is its own principal)", r.status)
	}
}

// TestAttackDailyRejectionsAuditedOnce keeps asking after the daily quota
// is spent: one audit entry, not one per request.
func TestAttackDailyRejectionsAuditedOnce(t *testing.T) {
	dir := t.TempDir()
	a, err := app.Open(t.Context(), app.Config{DataDir: filepath.Join(dir, "data"), KeyFile: filepath.Join(dir, "config", "keyring.json"), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := a.Close(); err != nil {
			t.Errorf("close app: %v", err)
		}
	})

	h := serveApp(t, a, api.Options{Principal: ratelimit.Config{Rate: 1000, Burst: 1000, Daily: 1}})
	token := h.token("alice")
	if r := h.get("/v1/memos", token); r.status != http.StatusOK {
		t.Fatalf("request within the quota: got %d, want 200", r.status)
	}
	for range 50 {
		r := h.get("/v1/memos", token)
		if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
			t.Fatalf("request over the quota: got %d %v, want 429 with Retry-After", r.status, r.header)
		}
	}

	audited := 0
	err = audit.Read(filepath.Join(dir, "data", "audit"), func(e audit.Entry) error {
		if e.Action == "ratelimit.reject" {
			audited++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if audited != 1 {
		t.Errorf("audited rejections after 50 requests over the quota: got %d, want 1", audited)
	}
}

// TestAttackConnectionLimits opens more connections from one address than
// LimitListener allows: the extra one is closed at once, and a slot freed
// by a closed connection is given to the next.
func TestAttackConnectionLimits(t *testing.T) {
	for _, c := range []struct {
		name             string
		perClient, total int
	}{{"per client", 2, 100}, {"in all", 100, 2}} {
		t.Run(c.name, func(t *testing.T) {
			raw, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			ln := api.LimitListener(raw, c.perClient, c.total)
			t.Cleanup(func() { _ = ln.Close() })
			accepted := make(chan net.Conn, 10)
			go func() {
				for {
					conn, err := ln.Accept()
					if err != nil {
						close(accepted)
						return
					}
					accepted <- conn
				}
			}()
			dial := func() net.Conn {
				conn, err := net.Dial("tcp", raw.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = conn.Close() })
				return conn
			}
			dial()
			dial()
			first, second := <-accepted, <-accepted
			defer second.Close()

			extra := dial()
			if _, err := extra.Read(make([]byte, 1)); !errors.Is(err, io.EOF) && !isReset(err) {
				t.Errorf("connection over the limit: read got %v, want it closed", err)
			}
			if err := first.Close(); err != nil {
				t.Fatal(err)
			}
			next := dial()
			conn := <-accepted
			if conn == nil {
				t.Fatal("listener stopped")
			}
			defer conn.Close()
			if _, err := conn.Write([]byte("x")); err != nil {
				t.Fatal(err)
			}
			if _, err := next.Read(make([]byte, 1)); err != nil {
				t.Errorf("connection after a slot was freed: %v, want it served", err)
			}
		})
	}
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && strings.Contains(op.Err.Error(), "reset")
}
