package auth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/whispersync/whispersync/auth"
	"github.com/whispersync/whispersync/safehttp"
)

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// signWithHeaders signs claims with k and adds extra protected headers.
func signWithHeaders(t *testing.T, k jose.JSONWebKey, alg jose.SignatureAlgorithm, claims map[string]any, extra map[jose.HeaderKey]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	for name, v := range extra {
		opts = opts.WithHeader(name, v)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: k}, opts)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := signer.Sign(mustJSON(t, claims))
	if err != nil {
		t.Fatal(err)
	}
	s, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Tokens that point the verifier at a key of the attacker's choice, or use
// an algorithm or key the verifier does not accept, are rejected.
func TestVerifierRejectsAttackerKeys(t *testing.T) {
	iss := newIssuer(t)
	real := iss.addKey(t, "rsa-1", jose.RS256)
	v := iss.verifier(t, "access", time.Minute)
	attacker, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	attackerJWK := jose.JSONWebKey{Key: attacker, KeyID: "rsa-1", Algorithm: "RS256"}
	attackerP384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	claims := iss.claims(nil)

	// Keys the issuer publishes but that must not be used.
	weak, err := rsa.GenerateKey(rand.Reader, 1024) // #nosec G403 -- a weak key that the verifier must reject
	if err != nil {
		t.Fatal(err)
	}
	encKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	iss.mu.Lock()
	iss.keys = append(iss.keys,
		jose.JSONWebKey{Key: weak, KeyID: "weak", Algorithm: "RS256", Use: "sig"},
		jose.JSONWebKey{Key: encKey, KeyID: "enc", Algorithm: "RS256", Use: "enc"},
		jose.JSONWebKey{Key: attackerP384, KeyID: "p384", Use: "sig"},
	)
	iss.mu.Unlock()

	tests := []struct {
		name  string
		token string
	}{
		{"embedded jwk of the attacker", signWithHeaders(t, attackerJWK, jose.RS256, claims, map[jose.HeaderKey]any{"jwk": attackerJWK.Public()})},
		{"jku to the attacker's key set", signWithHeaders(t, attackerJWK, jose.RS256, claims, map[jose.HeaderKey]any{"jku": "https://attacker.example/jwks.json"})},
		{"x5u to the attacker's certificate", signWithHeaders(t, attackerJWK, jose.RS256, claims, map[jose.HeaderKey]any{"x5u": "https://attacker.example/cert.pem"})},
		{"PS256", signWithHeaders(t, real, jose.PS256, claims, nil)},
		{"RS384", signWithHeaders(t, real, jose.RS384, claims, nil)},
		{"RSA key of 1024 bits", signWithHeaders(t, jose.JSONWebKey{Key: weak, KeyID: "weak"}, jose.RS256, claims, nil)},
		{"encryption key", signWithHeaders(t, jose.JSONWebKey{Key: encKey, KeyID: "enc"}, jose.RS256, claims, nil)},
		{"ES384 with a P-384 key", signWithHeaders(t, jose.JSONWebKey{Key: attackerP384, KeyID: "p384"}, jose.ES384, claims, nil)},
		{"RSA key under an ES256 header", forge(map[string]any{"alg": "ES256", "kid": "rsa-1"}, claims, nil) + "AAAA"},
		{"empty audience", sign(t, real, iss.claims(func(c map[string]any) { delete(c, "client_id"); c["aud"] = []string{} }))},
		{"exp far beyond any date", sign(t, real, iss.claims(func(c map[string]any) { c["exp"] = 1e300 }))},
		{"negative exp", sign(t, real, iss.claims(func(c map[string]any) { c["exp"] = -1 }))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := v.Verify(context.Background(), tt.token); !errors.Is(err, auth.ErrInvalidToken) {
				t.Errorf("verify: got %v, want ErrInvalidToken", err)
			}
		})
	}
}

// A key the issuer withdrew stops verifying once the cached key set is
// older than KeysTTL, even when its kid is known.
func TestVerifierWithdrawnKey(t *testing.T) {
	iss := newIssuer(t)
	old := iss.addKey(t, "2026-01", jose.RS256)
	var mu sync.Mutex
	offset := time.Duration(0)
	now := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return time.Now().Add(offset)
	}
	v, err := auth.NewVerifier(auth.OIDCConfig{
		Issuer: iss.url, ClientIDs: []string{"client-a"}, TokenUse: "access",
		KeysTTL: time.Hour, MinRefresh: time.Minute, Now: now,
		HTTPClient: safehttp.New(safehttp.Options{AllowLoopback: true, AllowHosts: []string{"127.0.0.1"}, TLS: iss.tls}),
	})
	if err != nil {
		t.Fatal(err)
	}
	longLived := func(c map[string]any) { c["exp"] = time.Now().Add(3 * time.Hour).Unix() }
	if _, err := v.Verify(context.Background(), sign(t, old, iss.claims(longLived))); err != nil {
		t.Fatalf("verify before withdrawal: %v", err)
	}
	iss.mu.Lock()
	iss.keys = nil
	iss.mu.Unlock()
	fresh := iss.addKey(t, "2026-02", jose.RS256)

	mu.Lock()
	offset = time.Hour + time.Minute
	mu.Unlock()
	if _, err := v.Verify(context.Background(), sign(t, old, iss.claims(longLived))); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("verify with the withdrawn key after KeysTTL: got %v, want ErrInvalidToken", err)
	}
	if _, err := v.Verify(context.Background(), sign(t, fresh, iss.claims(longLived))); err != nil {
		t.Errorf("verify with the new key: %v", err)
	}
}

// Many concurrent tokens with made-up key ids make the verifier fetch the
// key set once, not once per token.
func TestVerifierUnknownKidsConcurrent(t *testing.T) {
	iss := newIssuer(t)
	k := iss.addKey(t, "k1", jose.RS256)
	v := iss.verifier(t, "access", time.Hour)
	if _, err := v.Verify(context.Background(), sign(t, k, iss.claims(nil))); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Go(func() {
			forged := sign(t, jose.JSONWebKey{Key: k.Key, KeyID: "forged-" + string(rune('a'+i%26)), Algorithm: "RS256"}, iss.claims(nil))
			if _, err := v.Verify(context.Background(), forged); !errors.Is(err, auth.ErrInvalidToken) {
				t.Errorf("verify unknown kid: got %v, want ErrInvalidToken", err)
			}
		})
	}
	wg.Wait()
	iss.mu.Lock()
	defer iss.mu.Unlock()
	if iss.fetches > 2 {
		t.Errorf("key set fetches: got %d, want at most 2", iss.fetches)
	}
}

// A configuration whose client ids include an empty one would match tokens
// with an empty aud, so it is rejected.
func TestNewVerifierEmptyClientID(t *testing.T) {
	for _, ids := range [][]string{{""}, {"client-a", ""}, {" "}} {
		if _, err := auth.NewVerifier(auth.OIDCConfig{Issuer: "https://idp.example.com/pool", ClientIDs: ids}); err == nil {
			t.Errorf("NewVerifier with client ids %q: got no error", ids)
		}
	}
}
