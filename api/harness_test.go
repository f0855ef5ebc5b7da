package api_test

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/api"
	"github.com/whispersync/whispersync/app"
	"github.com/whispersync/whispersync/pipeline"
	"github.com/whispersync/whispersync/tlsconfig"
)

// harness is an API server over a fresh data directory, served over TLS
// on 127.0.0.1 with the server configuration serve uses.
type harness struct {
	t      testing.TB
	app    *app.App
	srv    *api.Server
	ts     *httptest.Server
	client *http.Client
}

var quiet = slog.New(slog.DiscardHandler)

func TestMain(m *testing.M) {
	// The stores log through the default logger.
	slog.SetDefault(quiet)
	os.Exit(m.Run())
}

var operator = pipeline.Actor{Principal: "operator:test", Source: "test"}

func newHarness(t testing.TB, opts api.Options) *harness {
	t.Helper()
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
	return serveApp(t, a, opts)
}

// serveApp starts another API server over an open app, as a restart does.
func serveApp(t testing.TB, a *app.App, opts api.Options) *harness {
	t.Helper()
	opts.TLS = true
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	srv, err := api.NewServer(a, opts)
	if err != nil {
		t.Fatal(err)
	}
	certs, _, err := tlsconfig.Load(tlsconfig.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(srv)
	ts.TLS = certs.ServerConfig()
	ts.Config.ErrorLog = slog.NewLogLogger(quiet.Handler(), slog.LevelError)
	ts.StartTLS()
	t.Cleanup(ts.Close)
	return &harness{t: t, app: a, srv: srv, ts: ts, client: ts.Client()}
}

func (h *harness) user(name string) *whispersync.User {
	h.t.Helper()
	u, _, err := h.app.User(h.t.Context(), name, true)
	if err != nil {
		h.t.Fatal(err)
	}
	return u
}

func (h *harness) token(user string, scopes ...string) string {
	h.t.Helper()
	if len(scopes) == 0 {
		scopes = []string{whispersync.ScopeMemosRead, whispersync.ScopeMemosWrite}
	}
	secret, _, err := h.app.CreateToken(h.t.Context(), operator, h.user(user), "test", scopes, 0)
	if err != nil {
		h.t.Fatal(err)
	}
	return secret
}

// response is a decoded answer.
type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

// errorCode returns the error body's code, or "".
func (r response) errorCode() string {
	e, _ := r.body["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

// req sends a request; header values named "Authorization" that start
// with wst_ become bearer tokens.
func (h *harness) req(method, path string, body io.Reader, header ...string) response {
	h.t.Helper()
	r, err := http.NewRequestWithContext(h.t.Context(), method, h.ts.URL+path, body)
	if err != nil {
		h.t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		v := header[i+1]
		if header[i] == "Authorization" && strings.HasPrefix(v, "wst_") {
			v = "Bearer " + v
		}
		r.Header.Set(header[i], v)
	}
	return h.send(r)
}

func (h *harness) send(r *http.Request) response {
	h.t.Helper()
	resp, err := h.client.Do(r)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	out := response{status: resp.StatusCode, header: resp.Header, raw: string(data)}
	if len(data) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(data, &out.body); err != nil {
			h.t.Fatalf("%s %s: body is not JSON: %s", r.Method, r.URL.Path, data)
		}
	}
	return out
}

func (h *harness) get(path, token string) response {
	h.t.Helper()
	return h.req(http.MethodGet, path, nil, "Authorization", token)
}

// upload posts an example memo and returns its id.
func (h *harness) upload(token, example string) string {
	h.t.Helper()
	memo, err := os.ReadFile(filepath.Join("..", "examples", "memos", example))
	if err != nil {
		h.t.Fatal(err)
	}
	r := h.req(http.MethodPost, "/v1/memos", bytes.NewReader(memo), "Authorization", token, "Content-Type", "text/plain")
	if r.status != http.StatusAccepted {
		h.t.Fatalf("upload %s: got %d %s, want 202", example, r.status, r.raw)
	}
	return r.body["memo_id"].(string)
}

// drain processes every queued memo.
func (h *harness) drain() {
	h.t.Helper()
	if _, err := h.app.Pipeline.Drain(h.t.Context(), pipeline.WorkerOptions{Concurrency: 2, Visibility: time.Minute}); err != nil {
		h.t.Fatal(err)
	}
}

// forgive clears the failed attempts counted against the test client's
// address, so a case is not delayed by the failures of earlier ones.
func (h *harness) forgive() {
	h.t.Helper()
	if err := h.app.Identity().ClearFailures(h.t.Context(), app.SourceKey("127.0.0.1")); err != nil {
		h.t.Fatal(err)
	}
}

// reloadBlocklist makes the server read the block list now.
func (h *harness) reloadBlocklist() {
	h.t.Helper()
	if err := h.srv.ReloadBlocklist(h.t.Context()); err != nil {
		h.t.Fatal(err)
	}
}

// clientWith returns a client of the harness's server that presents cert.
func (h *harness) clientWith(cert tls.Certificate) *http.Client {
	tr := h.ts.Client().Transport.(*http.Transport).Clone()
	tr.TLSClientConfig.Certificates = []tls.Certificate{cert}
	return &http.Client{Transport: tr}
}
