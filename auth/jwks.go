package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/go-jose/go-jose/v4"

	"github.com/whispersync/whispersync/safehttp"
)

// key returns the signing key kid. Keys are cached for KeysTTL; an unknown
// kid fetches the key set again, at most once per MinRefresh, which is how a
// provider's key rotation is picked up.
func (v *Verifier) key(ctx context.Context, kid string) (jose.JSONWebKey, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	now := v.cfg.Now()
	k, ok := v.keys[kid]
	fresh := now.Sub(v.fetchedAt) < v.cfg.KeysTTL
	if ok && fresh {
		return k, nil
	}
	if now.Sub(v.triedAt) < v.cfg.MinRefresh && !v.triedAt.IsZero() {
		if ok {
			return k, nil
		}
		return jose.JSONWebKey{}, invalid("unknown kid %q", kid)
	}
	v.triedAt = now
	if err := v.refresh(ctx); err != nil {
		if ok {
			// A stale key beats refusing every user while the provider
			// is unreachable; rotation removes keys slowly.
			v.cfg.Logger.Warn("refresh OIDC keys failed, using cached keys", "err", err)
			return k, nil
		}
		return jose.JSONWebKey{}, err
	}
	if k, ok = v.keys[kid]; !ok {
		return jose.JSONWebKey{}, invalid("unknown kid %q", kid)
	}
	return k, nil
}

// refresh reads the discovery document, once, and the key set. The caller
// holds v.mu.
func (v *Verifier) refresh(ctx context.Context) error {
	if v.jwksURI == "" {
		uri, err := v.discover(ctx)
		if err != nil {
			return err
		}
		v.jwksURI = uri
	}
	body, err := safehttp.Get(ctx, v.cfg.HTTPClient, v.jwksURI, maxJWKSBytes)
	if err != nil {
		return fmt.Errorf("auth: fetch OIDC keys: %w", err)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		return fmt.Errorf("auth: decode OIDC keys: %w", err)
	}
	keys := make(map[string]jose.JSONWebKey, len(set.Keys))
	for _, k := range set.Keys {
		if k.KeyID == "" || !k.IsPublic() || (k.Use != "" && k.Use != "sig") {
			continue
		}
		keys[k.KeyID] = k
	}
	v.keys = keys
	v.fetchedAt = v.cfg.Now()
	v.cfg.Logger.Info("fetched OIDC keys", "issuer", v.cfg.Issuer, "keys", len(keys))
	return nil
}

// discover reads the issuer's discovery document and returns its jwks_uri.
func (v *Verifier) discover(ctx context.Context) (string, error) {
	body, err := safehttp.Get(ctx, v.cfg.HTTPClient, strings.TrimSuffix(v.cfg.Issuer, "/")+"/.well-known/openid-configuration", maxDiscoveryBytes)
	if err != nil {
		return "", fmt.Errorf("auth: OIDC discovery: %w", err)
	}
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return "", fmt.Errorf("auth: OIDC discovery: decode: %w", err)
	}
	if doc.Issuer != v.cfg.Issuer {
		return "", fmt.Errorf("auth: OIDC discovery: the document names issuer %q, want %q", doc.Issuer, v.cfg.Issuer)
	}
	u, err := url.Parse(doc.JWKSURI)
	if err != nil || u.Scheme != "https" {
		return "", fmt.Errorf("auth: OIDC discovery: jwks_uri %q is not an https URL", doc.JWKSURI)
	}
	return doc.JWKSURI, nil
}
