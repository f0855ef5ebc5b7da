package auth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/whispersync/whispersync/auth"
	"github.com/whispersync/whispersync/safehttp"
)

// issuer is a local OIDC provider over TLS: a discovery document and a
// key set that the test can rotate.
type issuer struct {
	srv  *httptest.Server
	tls  *tls.Config
	url  string
	mu   sync.Mutex
	keys []jose.JSONWebKey
	// fetches counts key set fetches.
	fetches int
}

func newIssuer(t *testing.T) *issuer {
	t.Helper()
	iss := &issuer{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /pool/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": iss.url, "jwks_uri": iss.srv.URL + "/pool/jwks.json"})
	})
	mux.HandleFunc("GET /pool/jwks.json", func(w http.ResponseWriter, r *http.Request) {
		iss.mu.Lock()
		defer iss.mu.Unlock()
		iss.fetches++
		var set jose.JSONWebKeySet
		for _, k := range iss.keys {
			set.Keys = append(set.Keys, k.Public())
		}
		_ = json.NewEncoder(w).Encode(set)
	})
	iss.srv = httptest.NewTLSServer(mux)
	t.Cleanup(iss.srv.Close)
	iss.url = iss.srv.URL + "/pool"
	pool := x509.NewCertPool()
	pool.AddCert(iss.srv.Certificate())
	iss.tls = &tls.Config{RootCAs: pool}
	return iss
}

// addKey publishes a new signing key and returns it.
func (iss *issuer) addKey(t *testing.T, kid string, alg jose.SignatureAlgorithm) jose.JSONWebKey {
	t.Helper()
	var priv any
	var err error
	switch alg {
	case jose.RS256:
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case jose.ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		t.Fatal(err)
	}
	k := jose.JSONWebKey{Key: priv, KeyID: kid, Algorithm: string(alg), Use: "sig"}
	iss.mu.Lock()
	iss.keys = append(iss.keys, k)
	iss.mu.Unlock()
	return k
}

func sign(t *testing.T, k jose.JSONWebKey, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(k.Algorithm), Key: k}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	obj, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// forge builds a token with any header, signed with HMAC-SHA256 under
// secret, or unsigned when secret is nil.
func forge(header, claims map[string]any, secret []byte) string {
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	input := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	if secret == nil {
		return input + "."
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(input))
	return input + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func (iss *issuer) verifier(t *testing.T, tokenUse string, minRefresh time.Duration) *auth.Verifier {
	t.Helper()
	v, err := auth.NewVerifier(auth.OIDCConfig{
		Issuer:         iss.url,
		ClientIDs:      []string{"client-a"},
		TokenUse:       tokenUse,
		ResourceServer: "whispersync",
		DefaultScopes:  []string{"memos:read"},
		MinRefresh:     minRefresh,
		HTTPClient:     safehttp.New(safehttp.Options{AllowLoopback: true, AllowHosts: []string{"127.0.0.1"}, TLS: iss.tls}),
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func (iss *issuer) claims(mod func(map[string]any)) map[string]any {
	now := time.Now().Unix()
	c := map[string]any{
		"iss": iss.url, "sub": "3f0c7a1e-user", "client_id": "client-a", "token_use": "access",
		"scope": "whispersync/memos:read whispersync/memos:write openid", "username": "alice",
		"exp": now + 3600, "iat": now - 10, "auth_time": now - 10,
	}
	if mod != nil {
		mod(c)
	}
	return c
}

func TestVerifierAccepts(t *testing.T) {
	iss := newIssuer(t)
	rsaKey := iss.addKey(t, "rsa-1", jose.RS256)
	ecKey := iss.addKey(t, "ec-1", jose.ES256)
	v := iss.verifier(t, "", time.Minute)

	tests := []struct {
		name       string
		key        jose.JSONWebKey
		mod        func(map[string]any)
		wantScopes []string
	}{
		{"Cognito access token, RS256", rsaKey, nil, []string{"memos:read", "memos:write"}},
		{"Cognito access token, ES256", ecKey, nil, []string{"memos:read", "memos:write"}},
		{"ID token with aud and default scopes", rsaKey, func(c map[string]any) {
			delete(c, "client_id")
			delete(c, "scope")
			delete(c, "username")
			c["aud"] = "client-a"
			c["token_use"] = "id"
			c["cognito:username"] = "alice"
		}, []string{"memos:read"}},
		{"aud as an array", rsaKey, func(c map[string]any) { delete(c, "client_id"); c["aud"] = []string{"other", "client-a"} }, []string{"memos:read", "memos:write"}},
		{"expired within the skew", rsaKey, func(c map[string]any) { c["exp"] = time.Now().Unix() - 20 }, []string{"memos:read", "memos:write"}},
		{"admin scope passed through", rsaKey, func(c map[string]any) { c["scope"] = "whispersync/admin" }, []string{"admin"}},
		{"another resource server's admin scope ignored", rsaKey, func(c map[string]any) { c["scope"] = "billing/admin other/memos:write whispersync/memos:read" }, []string{"memos:read"}},
		{"bare scopes counted", rsaKey, func(c map[string]any) { c["scope"] = "openid memos:write" }, []string{"memos:write"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := v.Verify(context.Background(), sign(t, tt.key, iss.claims(tt.mod)))
			if err != nil {
				t.Fatalf("verify: %v", err)
			}
			if c.Subject != "3f0c7a1e-user" || c.Username != "alice" {
				t.Errorf("subject, username: got %q, %q, want 3f0c7a1e-user, alice", c.Subject, c.Username)
			}
			if !slices.Equal(c.Scopes, tt.wantScopes) {
				t.Errorf("scopes: got %v, want %v", c.Scopes, tt.wantScopes)
			}
		})
	}
}

func TestVerifierRejects(t *testing.T) {
	iss := newIssuer(t)
	rsaKey := iss.addKey(t, "rsa-1", jose.RS256)
	v := iss.verifier(t, "access", time.Minute)
	other := newIssuer(t)
	stranger := other.addKey(t, "rsa-1", jose.RS256)

	publicPEM, _ := x509.MarshalPKIXPublicKey(rsaKey.Public().Key)
	publicJWK, _ := json.Marshal(rsaKey.Public())
	now := time.Now().Unix()
	tests := []struct {
		name  string
		token string
	}{
		{"alg none", forge(map[string]any{"alg": "none", "kid": "rsa-1"}, iss.claims(nil), nil)},
		{"HS256 with the public key as secret", forge(map[string]any{"alg": "HS256", "kid": "rsa-1"}, iss.claims(nil), publicPEM)},
		{"HS256 with the JWK as secret", forge(map[string]any{"alg": "HS256", "kid": "rsa-1"}, iss.claims(nil), publicJWK)},
		{"unknown kid", sign(t, jose.JSONWebKey{Key: rsaKey.Key, KeyID: "rsa-9", Algorithm: "RS256"}, iss.claims(nil))},
		{"no kid", sign(t, jose.JSONWebKey{Key: rsaKey.Key, Algorithm: "RS256"}, iss.claims(nil))},
		{"signed by another key under the same kid", sign(t, stranger, iss.claims(nil))},
		{"expired", sign(t, rsaKey, iss.claims(func(c map[string]any) { c["exp"] = now - 120 }))},
		{"no exp", sign(t, rsaKey, iss.claims(func(c map[string]any) { delete(c, "exp") }))},
		{"not yet valid", sign(t, rsaKey, iss.claims(func(c map[string]any) { c["nbf"] = now + 600 }))},
		{"issued in the future", sign(t, rsaKey, iss.claims(func(c map[string]any) { c["iat"] = now + 600 }))},
		{"wrong issuer", sign(t, rsaKey, iss.claims(func(c map[string]any) { c["iss"] = other.url }))},
		{"wrong audience", sign(t, rsaKey, iss.claims(func(c map[string]any) { c["client_id"] = "client-b" }))},
		{"wrong token use", sign(t, rsaKey, iss.claims(func(c map[string]any) { c["token_use"] = "id" }))},
		{"no subject", sign(t, rsaKey, iss.claims(func(c map[string]any) { delete(c, "sub") }))},
		{"tampered payload", func() string {
			tok := sign(t, rsaKey, iss.claims(nil))
			parts := []byte(tok)
			parts[len(parts)/2] ^= 1
			return string(parts)
		}()},
		{"not a JWT", "wst_abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Verify(context.Background(), tt.token)
			if !errors.Is(err, auth.ErrInvalidToken) {
				t.Errorf("verify: got %v, want ErrInvalidToken", err)
			}
		})
	}
}

func TestVerifierKeyRotation(t *testing.T) {
	iss := newIssuer(t)
	old := iss.addKey(t, "2026-01", jose.RS256)
	v := iss.verifier(t, "access", time.Nanosecond)
	if _, err := v.Verify(context.Background(), sign(t, old, iss.claims(nil))); err != nil {
		t.Fatalf("verify with the first key: %v", err)
	}
	rotated := iss.addKey(t, "2026-02", jose.ES256)
	if _, err := v.Verify(context.Background(), sign(t, rotated, iss.claims(nil))); err != nil {
		t.Fatalf("verify with the rotated key: %v", err)
	}
	if _, err := v.Verify(context.Background(), sign(t, old, iss.claims(nil))); err != nil {
		t.Fatalf("verify with the first key again: %v", err)
	}
	iss.mu.Lock()
	fetches := iss.fetches
	iss.mu.Unlock()
	if fetches != 2 {
		t.Errorf("key set fetches: got %d, want 2 (first use, then the unknown kid)", fetches)
	}
}

func TestVerifierRefreshIsSpacedOut(t *testing.T) {
	iss := newIssuer(t)
	k := iss.addKey(t, "k1", jose.RS256)
	v := iss.verifier(t, "access", time.Hour)
	if _, err := v.Verify(context.Background(), sign(t, k, iss.claims(nil))); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		forged := sign(t, jose.JSONWebKey{Key: k.Key, KeyID: "forged", Algorithm: "RS256"}, iss.claims(nil))
		if _, err := v.Verify(context.Background(), forged); !errors.Is(err, auth.ErrInvalidToken) {
			t.Fatalf("verify unknown kid: got %v, want ErrInvalidToken", err)
		}
	}
	iss.mu.Lock()
	defer iss.mu.Unlock()
	if iss.fetches != 1 {
		t.Errorf("key set fetches: got %d, want 1", iss.fetches)
	}
}

func TestNewVerifierRejectsConfig(t *testing.T) {
	tests := []auth.OIDCConfig{
		{Issuer: "http://idp.example.com", ClientIDs: []string{"a"}},
		{Issuer: "https://idp.example.com"},
		{Issuer: "https://idp.example.com", ClientIDs: []string{"a"}, DefaultScopes: []string{"admin"}},
	}
	for _, cfg := range tests {
		if _, err := auth.NewVerifier(cfg); err == nil {
			t.Errorf("NewVerifier(%+v): got no error", cfg)
		}
	}
}
