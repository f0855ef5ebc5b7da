package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/app"
	"github.com/whispersync/whispersync/auth"
)

// sessionCookie names the session cookie. The __Host- prefix makes
// browsers accept it only with Secure, Path=/ and no Domain, so no sibling
// host can plant or read it.
const sessionCookie = "__Host-whispersync_session"

// csrfHeader carries a session's anti-forgery token.
const csrfHeader = "X-CSRF-Token"

// touchEvery spaces out the writes recording a token's last use.
const touchEvery = time.Minute

// authed wraps h so it runs only for an authenticated, unblocked principal
// within its rate limit that holds scope ("" for any scope). Cookie
// sessions must also send their CSRF token on state-changing requests.
func (s *Server) authed(scope string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.authenticate(r)
		if err != nil {
			s.error(w, r, err)
			return
		}
		ctx := context.WithValue(r.Context(), principalKey{}, p)
		r = r.WithContext(ctx)
		if s.blocks.blockedPrincipal(p.Name(), "user:"+p.User.Name) {
			s.app.AuthFailure(ctx, s.actor(r), "blocked", r.Method+" "+r.URL.Path, nil)
			s.error(w, r, whispersync.Errorf(whispersync.EFORBIDDEN, "this principal is blocked: contact the operator"))
			return
		}
		if !s.limit(w, r, s.principal, "principal", p.Name()) {
			return
		}
		if scope != "" && !p.HasScope(scope) {
			s.auditDenied(r, "auth.scope")
			s.error(w, r, whispersync.Errorf(whispersync.EFORBIDDEN, "this credential lacks the %s scope: create a token with `whispersync tokens create --scope %s`", scope, scope))
			return
		}
		if p.Kind == auth.KindSession && r.Method != http.MethodGet && r.Method != http.MethodHead {
			if err := s.checkCSRF(r, p); err != nil {
				s.auditDenied(r, "auth.csrf")
				s.error(w, r, err)
				return
			}
		}
		if p.Kind == auth.KindToken {
			s.touch(ctx, p.ID)
		}
		h(w, r)
	})
}

// authenticate finds the principal of r's credential: an API token or an
// OIDC token as a bearer, a service account through HTTP Basic, or a
// session cookie. Failures are counted against the client address and
// audited; while that address must wait, no credential is even checked.
func (s *Server) authenticate(r *http.Request) (*auth.Principal, error) {
	ctx := r.Context()
	header := r.Header.Get("Authorization")
	cookie, cookieErr := r.Cookie(sessionCookie)
	if header == "" && cookieErr != nil {
		return nil, whispersync.Errorf(whispersync.EUNAUTHORIZED, "missing credentials: send Authorization: Bearer TOKEN with a token from `whispersync tokens create`, or log in")
	}
	if err := s.app.CheckGuessing(ctx, r.RemoteAddr); err != nil {
		return nil, err
	}

	var p *auth.Principal
	var err error
	var kind, tried string
	switch {
	case header != "":
		scheme, value, _ := strings.Cut(header, " ")
		value = strings.TrimSpace(value)
		tried = value
		switch {
		case strings.EqualFold(scheme, "Bearer") && strings.HasPrefix(value, "wst_"):
			kind = "token"
			p, err = s.app.AuthenticateToken(ctx, value)
		case strings.EqualFold(scheme, "Bearer") && s.opts.OIDC != nil && strings.Count(value, ".") == 2:
			kind = "oidc"
			p, err = s.app.AuthenticateOIDC(ctx, s.opts.OIDC, value)
		case strings.EqualFold(scheme, "Basic"):
			kind = "service"
			id, secret, _ := r.BasicAuth()
			tried = id
			p, err = s.app.AuthenticateService(ctx, id, secret, peerCertSHA256(r))
		default:
			kind = "token"
			err = whispersync.Errorf(whispersync.EUNAUTHORIZED, "missing, invalid, expired or revoked token: send Authorization: Bearer TOKEN with a token from `whispersync tokens create`")
		}
	default:
		kind, tried = "session", cookie.Value
		p, err = s.app.AuthenticateSession(ctx, cookie.Value)
	}
	if whispersync.ErrorCode(err) == whispersync.EUNAUTHORIZED {
		s.app.AuthFailure(ctx, s.actor(r), kind, r.Method+" "+r.URL.Path, map[string]string{"credential": tried}, app.SourceKey(r.RemoteAddr))
	}
	return p, err
}

// peerCertSHA256 is the hex SHA-256 of the client certificate of r's TLS
// connection, or "" without one.
func peerCertSHA256(r *http.Request) string {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return ""
	}
	sum := sha256.Sum256(r.TLS.PeerCertificates[0].Raw)
	return hex.EncodeToString(sum[:])
}

// checkCSRF requires the session's token in the X-CSRF-Token header and,
// when the browser names an origin, a same-origin or allowed one.
func (s *Server) checkCSRF(r *http.Request, p *auth.Principal) error {
	if origin := r.Header.Get("Origin"); origin != "" && !s.cors.allowed(origin) {
		u, err := url.Parse(origin)
		if err != nil || !strings.EqualFold(u.Host, r.Host) {
			return whispersync.Errorf(whispersync.EFORBIDDEN, "cross-site request rejected: origin %s is not allowed", origin)
		}
	}
	got := r.Header.Get(csrfHeader)
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(p.CSRF)) != 1 {
		return whispersync.Errorf(whispersync.EFORBIDDEN, "missing or wrong %s header: send the csrf_token from GET /v1/session", csrfHeader)
	}
	return nil
}

func (s *Server) auditDenied(r *http.Request, action string) {
	a := s.actor(r)
	err := s.app.Audit.Append(r.Context(), whispersync.AuditEvent{
		Time: time.Now().UTC(), Principal: a.Principal, Action: action, Resource: r.Method + " " + r.URL.Path,
		Outcome: whispersync.OutcomeDenied, Source: a.Source, RequestID: a.RequestID,
	})
	if err != nil {
		s.log.Error("audit denial failed", "request_id", a.RequestID, "err", err)
	}
}

// touch records a token's use, at most once per touchEvery, so a busy
// client does not turn every read into a database write.
func (s *Server) touch(ctx context.Context, tokenID string) {
	now := time.Now()
	s.touchMu.Lock()
	last, ok := s.touched[tokenID]
	if ok && now.Sub(last) < touchEvery {
		s.touchMu.Unlock()
		return
	}
	if len(s.touched) > 10_000 {
		clear(s.touched)
	}
	s.touched[tokenID] = now
	s.touchMu.Unlock()
	if err := s.app.Accounts.TouchToken(ctx, tokenID, now.UTC()); err != nil {
		s.log.Warn("record token use failed", "token", tokenID, "err", err)
	}
}
