package api_test

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/whispersync/whispersync/api"
	"github.com/whispersync/whispersync/auth"
	"github.com/whispersync/whispersync/safehttp"
)

// Values the provider and the verifier share.
const (
	captureClient = "whispersync-capture"
	webClient     = "whispersync-web"
	clientSecret  = "a-client-secret-of-the-test-provider"
	resourceURI   = "https://api.whispersync.test"
	webCallback   = "https://127.0.0.1/callback"
)

// oidcProviderModules returns the node_modules folder that holds
// node-oidc-provider: WHISPERSYNC_OIDC_PROVIDER, or the folder of the tool
// cache where scripts/install-tools puts the version that
// testdata/oidc-provider/package.json pins.
func oidcProviderModules(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "oidc-provider", "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	var pkg struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	if err := json.Unmarshal(raw, &pkg); err != nil {
		t.Fatalf("testdata/oidc-provider/package.json: %v", err)
	}
	version := pkg.Dependencies["oidc-provider"]
	dir := os.Getenv("WHISPERSYNC_OIDC_PROVIDER")
	if dir == "" {
		tools := os.Getenv("WHISPERSYNC_TOOLS")
		if tools == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				t.Fatal(err)
			}
			tools = filepath.Join(home, ".cache", "whispersync", "tools")
		}
		dir = filepath.Join(tools, "oidc-provider-"+version, "node_modules")
	}
	if _, err := os.Stat(filepath.Join(dir, "oidc-provider", "package.json")); err != nil { // #nosec G703 -- the developer names the folder in the environment
		t.Fatalf("node-oidc-provider %s: %v: run scripts/install-tools, which installs it, or set WHISPERSYNC_OIDC_PROVIDER to a node_modules folder that holds it", version, err)
	}
	return dir
}

// oidcProvider is node-oidc-provider on a fixed port and certificate, so a
// restart keeps its issuer URL.
type oidcProvider struct {
	node   string
	dir    string
	port   int
	issuer string
	roots  *x509.CertPool
	// client reaches the provider over TLS, keeps its cookies and stops at
	// the redirect to the web client's callback.
	client *http.Client
	// stop ends the running provider; it does nothing when none runs.
	stop func()
}

// newOIDCProvider prepares node-oidc-provider over HTTPS on a free port of
// 127.0.0.1, with a certificate of its own. Start runs it.
func newOIDCProvider(t *testing.T) *oidcProvider {
	t.Helper()
	modules := oidcProviderModules(t)
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node: %v: install Node.js 18 or later (Debian's nodejs package); scripts/install-tools does", err)
	}

	dir := t.TempDir()
	// Node resolves the script's imports from the script's own folder, so
	// the script runs from a folder that links to the installed modules.
	script, err := os.ReadFile(filepath.Join("testdata", "oidc-provider", "provider.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "provider.mjs"), script)
	if err := os.Symlink(modules, filepath.Join(dir, "node_modules")); err != nil {
		t.Fatal(err)
	}

	certPEM, keyPEM, cert := selfSignedLoopback(t)
	writeFile(t, filepath.Join(dir, "cert.pem"), certPEM)
	writeFile(t, filepath.Join(dir, "key.pem"), keyPEM)
	roots := x509.NewCertPool()
	roots.AddCert(cert)

	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}},
		Jar:       jar,
		Timeout:   30 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if strings.HasPrefix(req.URL.String(), webCallback) {
				return http.ErrUseLastResponse
			}
			return nil
		},
	}
	port := freePort(t)
	p := &oidcProvider{node: node, dir: dir, port: port, issuer: fmt.Sprintf("https://127.0.0.1:%d", port), roots: roots, client: client, stop: func() {}}
	t.Cleanup(func() { p.stop() })
	return p
}

// start runs the provider, signing with keys, and returns once it listens.
func (p *oidcProvider) start(t *testing.T, keys []jose.JSONWebKey) {
	t.Helper()
	config := map[string]any{
		"issuer":   p.issuer,
		"port":     p.port,
		"certFile": filepath.Join(p.dir, "cert.pem"),
		"keyFile":  filepath.Join(p.dir, "key.pem"),
		"jwks":     jose.JSONWebKeySet{Keys: keys},
		"resource": resourceURI,
		"scope":    "memos:read memos:write",
		"clients": []map[string]any{
			{
				"client_id": captureClient, "client_secret": clientSecret,
				"grant_types": []string{"client_credentials"}, "response_types": []string{}, "redirect_uris": []string{},
			},
			{
				"client_id": webClient, "client_secret": clientSecret,
				"grant_types": []string{"authorization_code"}, "response_types": []string{"code"},
				"redirect_uris": []string{webCallback}, "id_token_signed_response_alg": "ES256",
			},
		},
	}
	raw, err := json.Marshal(config)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(p.dir, "config.json"), raw)

	cmd := exec.Command(p.node, filepath.Join(p.dir, "provider.mjs"), filepath.Join(p.dir, "config.json")) // #nosec G204 -- node and the script are the test's own
	cmd.Dir = p.dir
	cmd.Stderr = &testWriter{t: t, prefix: "oidc-provider: "}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start node-oidc-provider: %v", err)
	}
	// Closing stdin ends the script. Kill covers a script that hangs.
	p.stop = func() {
		_ = stdin.Close()
		done := make(chan struct{})
		go func() {
			_ = cmd.Wait()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		p.stop = func() {}
	}

	ready := make(chan error, 1)
	go func() {
		line, err := bufio.NewReader(stdout).ReadString('\n')
		if err == nil && strings.TrimSpace(line) != "ready" {
			err = fmt.Errorf("first line %q, want ready", line)
		}
		ready <- err
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case err := <-ready:
		if err != nil {
			t.Fatalf("node-oidc-provider did not start: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("node-oidc-provider did not print ready within 60 s")
	}
}

// verifier returns a verifier of the provider's tokens for both clients,
// which fetches keys again at once when it meets an unknown key id.
func (p *oidcProvider) verifier(t *testing.T) *auth.Verifier {
	t.Helper()
	v, err := auth.NewVerifier(auth.OIDCConfig{
		Issuer:        p.issuer,
		ClientIDs:     []string{captureClient, webClient},
		DefaultScopes: []string{"memos:read"},
		MinRefresh:    time.Nanosecond,
		HTTPClient:    safehttp.New(safehttp.Options{AllowLoopback: true, AllowHosts: []string{"127.0.0.1"}, TLS: &tls.Config{RootCAs: p.roots, MinVersion: tls.VersionTLS12}}),
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// tokenRequest posts form to the token endpoint as client and returns the
// decoded response.
func (p *oidcProvider) tokenRequest(t *testing.T, client string, form url.Values) map[string]any {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, p.issuer+"/token", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(client, clientSecret)
	resp, err := p.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("token endpoint: got %d %s, want 200", resp.StatusCode, body)
	}
	var out map[string]any
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("token response %s: %v", body, err)
	}
	return out
}

// clientCredentialsToken gets a JWT access token for the capture client.
func (p *oidcProvider) clientCredentialsToken(t *testing.T) string {
	t.Helper()
	out := p.tokenRequest(t, captureClient, url.Values{
		"grant_type": {"client_credentials"},
		"resource":   {resourceURI},
		"scope":      {"memos:read memos:write"},
	})
	token, _ := out["access_token"].(string)
	if strings.Count(token, ".") != 2 {
		t.Fatalf("client credentials: access token %q is not a JWT", token)
	}
	return token
}

// idToken signs a user in to the web client through the provider's login
// and consent pages and returns the ID token of the code exchange.
func (p *oidcProvider) idToken(t *testing.T, login string) string {
	t.Helper()
	verifier := base64.RawURLEncoding.EncodeToString([]byte("a-code-verifier-of-at-least-43-characters-long"))
	challenge := sha256.Sum256([]byte(verifier))
	authURL := p.issuer + "/auth?" + url.Values{
		"client_id":             {webClient},
		"response_type":         {"code"},
		"scope":                 {"openid"},
		"redirect_uri":          {webCallback},
		"state":                 {"state-1"},
		"nonce":                 {"nonce-1"},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(challenge[:])},
		"code_challenge_method": {"S256"},
	}.Encode()

	resp := p.do(t, http.MethodGet, authURL, nil)
	for _, prompt := range []string{"login", "consent"} {
		page := resp.Request.URL
		if !strings.HasPrefix(page.Path, "/interaction/") {
			t.Fatalf("%s: landed on %s, want an interaction page", prompt, page)
		}
		form := url.Values{"prompt": {prompt}}
		if prompt == "login" {
			form.Set("login", login)
			form.Set("password", "any")
		}
		resp = p.do(t, http.MethodPost, p.issuer+page.Path, form)
	}
	if resp.StatusCode/100 != 3 {
		t.Fatalf("after consent: got %d at %s, want a redirect to the callback", resp.StatusCode, resp.Request.URL)
	}
	callback, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	code := callback.Query().Get("code")
	if code == "" || callback.Query().Get("state") != "state-1" {
		t.Fatalf("callback %s: want a code and state-1", callback)
	}

	out := p.tokenRequest(t, webClient, url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {webCallback},
		"code_verifier": {verifier},
	})
	token, _ := out["id_token"].(string)
	if token == "" {
		t.Fatalf("code exchange: no id_token in %v", out)
	}
	return token
}

// do sends a request through the provider's client, following redirects
// up to the callback, and returns the final response with its body read.
func (p *oidcProvider) do(t *testing.T, method, target string, form url.Values) *http.Response {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := p.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode >= 400 {
		t.Fatalf("%s %s: got %d", method, resp.Request.URL, resp.StatusCode)
	}
	return resp
}

// TestOIDCCertifiedProvider calls the API with tokens that a real OpenID
// Provider issued: a JWT access token of the client credentials grant, and
// an ID token of the authorization code flow with PKCE. It then rotates the
// provider's keys and checks that the API follows.
func TestOIDCCertifiedProvider(t *testing.T) {
	p := newOIDCProvider(t)
	p.start(t, []jose.JSONWebKey{signingKey(t, "rsa-1", jose.RS256), signingKey(t, "ec-1", jose.ES256)})
	h := newHarness(t, api.Options{OIDC: p.verifier(t)})

	access := p.clientCredentialsToken(t)
	if r := h.req(http.MethodGet, "/v1/memos", nil, "Authorization", "Bearer "+access); r.status != http.StatusOK {
		t.Fatalf("client credentials token: got %d %s, want 200", r.status, r.raw)
	}
	upload := h.req(http.MethodPost, "/v1/memos", strings.NewReader("Send the quarterly figures to Dana before Friday."), "Authorization", "Bearer "+access, "Content-Type", "text/plain")
	if upload.status != http.StatusAccepted {
		t.Errorf("upload with a memos:write access token: got %d %s, want 202", upload.status, upload.raw)
	}
	if _, err := h.app.Accounts.FindUserByName(t.Context(), "oidc:"+captureClient); err != nil {
		t.Errorf("user of the client credentials subject: %v", err)
	}

	id := p.idToken(t, "alice")
	if r := h.req(http.MethodGet, "/v1/memos", nil, "Authorization", "Bearer "+id); r.status != http.StatusOK {
		t.Fatalf("ID token: got %d %s, want 200", r.status, r.raw)
	}
	if _, err := h.app.Accounts.FindUserByName(t.Context(), "oidc:alice"); err != nil {
		t.Errorf("user of the ID token subject: %v", err)
	}
	if r := h.req(http.MethodPost, "/v1/memos", strings.NewReader("A memo from the web client."), "Authorization", "Bearer "+id, "Content-Type", "text/plain"); r.status != http.StatusForbidden {
		t.Errorf("upload with an ID token, which gets only memos:read: got %d, want 403", r.status)
	}

	// A changed signature, and the same claims with a key the provider
	// never published.
	parts := strings.Split(access, ".")
	sig := []byte(parts[2])
	sig[len(sig)/2] ^= 0x01
	forged := parts[0] + "." + parts[1] + "." + string(sig)
	h.forgive()
	if r := h.req(http.MethodGet, "/v1/memos", nil, "Authorization", "Bearer "+forged); r.status != http.StatusUnauthorized {
		t.Errorf("access token with a changed signature: got %d, want 401", r.status)
	}

	// Rotation: the provider restarts with a new key set, and the API
	// fetches the new keys when it meets the new key id.
	p.stop()
	p.start(t, []jose.JSONWebKey{signingKey(t, "rsa-2", jose.RS256), signingKey(t, "ec-2", jose.ES256)})
	next := p.clientCredentialsToken(t)
	h.forgive()
	if r := h.req(http.MethodGet, "/v1/memos", nil, "Authorization", "Bearer "+next); r.status != http.StatusOK {
		t.Errorf("token signed with a rotated key: got %d %s, want 200", r.status, r.raw)
	}
}

// signingKey returns a new private signing key as a JWK.
func signingKey(t *testing.T, kid string, alg jose.SignatureAlgorithm) jose.JSONWebKey {
	t.Helper()
	var key any
	var err error
	switch alg {
	case jose.RS256:
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	case jose.ES256:
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		t.Fatalf("signing key: unsupported algorithm %s", alg)
	}
	if err != nil {
		t.Fatal(err)
	}
	return jose.JSONWebKey{Key: key, KeyID: kid, Algorithm: string(alg), Use: "sig"}
}

// selfSignedLoopback returns a certificate for 127.0.0.1 and its key, as
// PEM, and the parsed certificate.
func selfSignedLoopback(t *testing.T) (certPEM, keyPEM []byte, cert *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err = x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	return certPEM, keyPEM, cert
}

// freePort returns a TCP port of 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil { // #nosec G703 -- paths are under the test's own temporary folder
		t.Fatal(err)
	}
}

// testWriter copies a child process's output into the test log.
type testWriter struct {
	t      *testing.T
	prefix string
}

func (w *testWriter) Write(b []byte) (int, error) {
	w.t.Log(w.prefix + strings.TrimRight(string(b), "\n"))
	return len(b), nil
}
