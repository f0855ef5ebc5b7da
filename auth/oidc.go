package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/whispersync/whispersync/safehttp"
)

// ErrInvalidToken is wrapped by every refusal of an OIDC token; the
// wrapping error names the reason, for the log only.
var ErrInvalidToken = errors.New("auth: invalid OIDC token")

// Bounds of what the verifier reads.
const (
	maxJWTBytes       = 16 << 10
	maxDiscoveryBytes = 64 << 10
	maxJWKSBytes      = 256 << 10
	minRSABits        = 2048
)

// allowedAlgorithms are the only signature algorithms accepted: "none" and
// the HMAC algorithms, with which a verifier could be tricked into using a
// public key as a shared secret, never reach a key.
var allowedAlgorithms = []jose.SignatureAlgorithm{jose.RS256, jose.ES256}

// OIDCConfig configures a Verifier.
type OIDCConfig struct {
	// Issuer is the exact iss claim, such as
	// https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123. The
	// discovery document is read from Issuer + /.well-known/openid-configuration.
	Issuer string
	// ClientIDs are the accepted audiences: an ID token's aud, or an access
	// token's client_id (Cognito access tokens carry no aud).
	ClientIDs []string
	// TokenUse, when set, must equal the token_use claim: "access" or "id"
	// for Cognito.
	TokenUse string
	// Skew is the clock skew allowed for exp, nbf and iat; default 60 s.
	Skew time.Duration
	// DefaultScopes are granted to a token without a scope claim (such as a
	// Cognito ID token). admin is never granted by default.
	DefaultScopes []string
	// ResourceServer is the identifier of the resource server whose custom
	// scopes RESOURCE_SERVER/SCOPE count, such as "whispersync" for
	// whispersync/memos:read. A custom scope of any other resource server
	// counts for nothing, so billing/admin does not grant admin. Scopes
	// without a slash count as they are.
	ResourceServer string
	// HTTPClient fetches discovery and keys; it should come from
	// safehttp.New. Nil builds a safehttp client allowing only the issuer's
	// host.
	HTTPClient *http.Client
	// KeysTTL is how long fetched keys are trusted before they are fetched
	// again; default 1 hour.
	KeysTTL time.Duration
	// MinRefresh spaces out fetches caused by unknown key ids, so forged
	// tokens cannot make the verifier hammer the provider; default 1 minute.
	MinRefresh time.Duration
	Logger     *slog.Logger
	// Now returns the current time; nil uses time.Now.
	Now func() time.Time
}

// Claims are the verified claims of an OIDC token.
type Claims struct {
	Issuer   string
	Subject  string
	Audience []string
	ClientID string
	TokenUse string
	// Username is Cognito's username (access tokens) or cognito:username
	// (ID tokens), when present.
	Username  string
	Scopes    []string
	Expiry    time.Time
	NotBefore time.Time
	IssuedAt  time.Time
}

// Verifier verifies OIDC bearer tokens against one issuer. Its methods
// are safe for concurrent use.
type Verifier struct {
	cfg OIDCConfig

	mu        sync.Mutex
	jwksURI   string
	keys      map[string]jose.JSONWebKey
	fetchedAt time.Time
	triedAt   time.Time
}

// NewVerifier checks cfg and returns a verifier. It fetches nothing yet.
func NewVerifier(cfg OIDCConfig) (*Verifier, error) {
	u, err := url.Parse(cfg.Issuer)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("auth: OIDC issuer %q: use an https URL without query, such as https://cognito-idp.REGION.amazonaws.com/POOL_ID", cfg.Issuer)
	}
	if len(cfg.ClientIDs) == 0 {
		return nil, errors.New("auth: OIDC configuration without client ids: name the app client ids whose tokens are accepted")
	}
	for _, id := range cfg.ClientIDs {
		// An empty id would match a token whose aud is the empty string.
		if strings.TrimSpace(id) == "" || strings.TrimSpace(id) != id {
			return nil, fmt.Errorf("auth: invalid OIDC client id %q: remove the empty entry or the blanks around the id", id)
		}
	}
	for _, s := range cfg.DefaultScopes {
		if !KnownScope(s) || s == "admin" {
			return nil, fmt.Errorf("auth: OIDC default scope %q: use memos:read or memos:write", s)
		}
	}
	if cfg.Skew <= 0 {
		cfg.Skew = time.Minute
	}
	if cfg.KeysTTL <= 0 {
		cfg.KeysTTL = time.Hour
	}
	if cfg.MinRefresh <= 0 {
		cfg.MinRefresh = time.Minute
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = safehttp.New(safehttp.Options{AllowHosts: []string{u.Hostname()}})
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Verifier{cfg: cfg}, nil
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidToken, fmt.Sprintf(format, args...))
}

// Verify checks raw's signature, issuer, audience, token use and times,
// and returns its claims. Every refusal wraps ErrInvalidToken; a failure to
// reach the provider does not.
func (v *Verifier) Verify(ctx context.Context, raw string) (*Claims, error) {
	if len(raw) > maxJWTBytes {
		return nil, invalid("token of %d bytes", len(raw))
	}
	jws, err := jose.ParseSignedCompact(raw, allowedAlgorithms)
	if err != nil {
		return nil, invalid("parse: %v", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, invalid("%d signatures", len(jws.Signatures))
	}
	header := jws.Signatures[0].Protected
	if header.KeyID == "" {
		return nil, invalid("no kid in the header")
	}
	key, err := v.key(ctx, header.KeyID)
	if err != nil {
		return nil, err
	}
	if err := keyFits(key, header.Algorithm); err != nil {
		return nil, err
	}
	payload, err := jws.Verify(key.Key)
	if err != nil {
		return nil, invalid("signature: %v", err)
	}
	return v.checkClaims(payload)
}

// keyFits refuses a key whose type or declared algorithm differs from the
// token's algorithm.
func keyFits(key jose.JSONWebKey, alg string) error {
	if key.Algorithm != "" && key.Algorithm != alg {
		return invalid("key %s is for %s, token uses %s", key.KeyID, key.Algorithm, alg)
	}
	switch k := key.Key.(type) {
	case *rsa.PublicKey:
		if alg != string(jose.RS256) || k.N.BitLen() < minRSABits {
			return invalid("RSA key %s does not fit %s", key.KeyID, alg)
		}
	case *ecdsa.PublicKey:
		if alg != string(jose.ES256) || k.Curve != elliptic.P256() {
			return invalid("EC key %s does not fit %s", key.KeyID, alg)
		}
	default:
		return invalid("key %s of type %T", key.KeyID, key.Key)
	}
	return nil
}

// rawClaims are the claims as sent. Audience is a string or an array.
type rawClaims struct {
	Issuer          string          `json:"iss"`
	Subject         string          `json:"sub"`
	Audience        json.RawMessage `json:"aud"`
	ClientID        string          `json:"client_id"`
	TokenUse        string          `json:"token_use"`
	Scope           string          `json:"scope"`
	Username        string          `json:"username"`
	CognitoUsername string          `json:"cognito:username"`
	Expiry          *json.Number    `json:"exp"`
	NotBefore       *json.Number    `json:"nbf"`
	IssuedAt        *json.Number    `json:"iat"`
}

func (v *Verifier) checkClaims(payload []byte) (*Claims, error) {
	var rc rawClaims
	dec := json.NewDecoder(strings.NewReader(string(payload)))
	dec.UseNumber()
	if err := dec.Decode(&rc); err != nil {
		return nil, invalid("claims: %v", err)
	}
	c := &Claims{Issuer: rc.Issuer, Subject: rc.Subject, ClientID: rc.ClientID, TokenUse: rc.TokenUse, Username: rc.Username}
	if c.Username == "" {
		c.Username = rc.CognitoUsername
	}
	var err error
	if c.Audience, err = audience(rc.Audience); err != nil {
		return nil, err
	}
	if c.Issuer != v.cfg.Issuer {
		return nil, invalid("issuer %q", c.Issuer)
	}
	if c.Subject == "" {
		return nil, invalid("no subject")
	}
	if v.cfg.TokenUse != "" && c.TokenUse != v.cfg.TokenUse {
		return nil, invalid("token_use %q, want %q", c.TokenUse, v.cfg.TokenUse)
	}
	if !v.audienceMatches(c) {
		return nil, invalid("audience %q and client_id %q match no configured client", c.Audience, c.ClientID)
	}

	now := v.cfg.Now()
	skew := v.cfg.Skew
	if c.Expiry, err = numericDate(rc.Expiry, "exp", true); err != nil {
		return nil, err
	}
	if c.NotBefore, err = numericDate(rc.NotBefore, "nbf", false); err != nil {
		return nil, err
	}
	if c.IssuedAt, err = numericDate(rc.IssuedAt, "iat", false); err != nil {
		return nil, err
	}
	switch {
	case !now.Before(c.Expiry.Add(skew)):
		return nil, invalid("expired at %s", c.Expiry)
	case !c.NotBefore.IsZero() && now.Add(skew).Before(c.NotBefore):
		return nil, invalid("not valid before %s", c.NotBefore)
	case !c.IssuedAt.IsZero() && now.Add(skew).Before(c.IssuedAt):
		return nil, invalid("issued in the future, at %s", c.IssuedAt)
	}

	c.Scopes = v.scopes(rc.Scope)
	return c, nil
}

func (v *Verifier) audienceMatches(c *Claims) bool {
	for _, id := range v.cfg.ClientIDs {
		if slices.Contains(c.Audience, id) || (c.ClientID != "" && c.ClientID == id) {
			return true
		}
	}
	return false
}

// scopes maps the space-separated scope claim to WhisperSync scopes. A
// Cognito custom scope is RESOURCE_SERVER/SCOPE, and counts only when its
// resource server is the configured one. Scopes WhisperSync does not know
// are dropped.
func (v *Verifier) scopes(claim string) []string {
	if claim == "" {
		return slices.Clone(v.cfg.DefaultScopes)
	}
	var out []string
	for _, s := range strings.Fields(claim) {
		if i := strings.LastIndexByte(s, '/'); i >= 0 {
			if v.cfg.ResourceServer == "" || s[:i] != v.cfg.ResourceServer {
				continue
			}
			s = s[i+1:]
		}
		if KnownScope(s) && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func audience(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, invalid("aud is neither a string nor an array of strings")
	}
	return many, nil
}

// numericDate converts a JWT NumericDate, seconds since the epoch, possibly
// fractional.
func numericDate(n *json.Number, name string, required bool) (time.Time, error) {
	if n == nil {
		if required {
			return time.Time{}, invalid("no %s claim", name)
		}
		return time.Time{}, nil
	}
	f, err := n.Float64()
	if err != nil || f < 0 || f > 1e11 {
		return time.Time{}, invalid("%s claim %q is not a date", name, n.String())
	}
	return time.Unix(0, int64(f*1e9)).UTC(), nil
}
