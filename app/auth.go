package app

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/auth"
	"github.com/whispersync/whispersync/internal/ids"
	"github.com/whispersync/whispersync/pipeline"
	"github.com/whispersync/whispersync/sqlite"
)

// SessionTTL is how long a login session lasts.
const SessionTTL = 12 * time.Hour

// Lockout is the policy for failed logins and token guesses.
var Lockout = auth.DefaultLockout

// dummyHash is verified against when a login names an unknown user, so the
// response takes as long as for a known one.
var dummyHash = sync.OnceValue(func() string {
	h, _ := auth.HashPassword("no user has this password")
	return h
})

// Identity returns the identity store: passwords, sessions, service
// accounts, quotas, the block list and failure counters.
func (a *App) Identity() *sqlite.Identity {
	return a.DB.Identity()
}

func denied(msg string) error {
	return whispersync.Errorf(whispersync.EUNAUTHORIZED, "%s", msg)
}

// SetPassword sets user's password and ends the user's sessions.
func (a *App) SetPassword(ctx context.Context, actor pipeline.Actor, user *whispersync.User, password string) error {
	hash, err := auth.HashPassword(password)
	if err != nil {
		return err
	}
	if err := a.audit(ctx, actor, "user.password", "user:"+user.ID); err != nil {
		return err
	}
	if err := a.Identity().SetPassword(ctx, user.ID, hash); err != nil {
		return err
	}
	return a.Identity().DeleteSessions(ctx, user.ID, "")
}

// SetLocked locks or unlocks user. A locked user cannot authenticate in
// any way: password, session, token, service account or OIDC.
func (a *App) SetLocked(ctx context.Context, actor pipeline.Actor, user *whispersync.User, locked bool) error {
	action := "user.unlock"
	if locked {
		action = "user.lock"
	}
	if err := a.audit(ctx, actor, action, "user:"+user.ID); err != nil {
		return err
	}
	defer a.auth.invalidate()
	if err := a.Identity().SetLocked(ctx, user.ID, locked); err != nil {
		return err
	}
	if !locked {
		return a.Identity().ClearFailures(ctx, "user:"+strings.ToLower(user.Name))
	}
	return nil
}

// checkWait rejects an attempt under key while the lockout policy requires
// a wait.
func (a *App) checkWait(ctx context.Context, key string) error {
	now := time.Now()
	if a.auth.isClean(key, now) {
		return nil
	}
	generation := a.auth.begin()
	n, last, err := a.Identity().Failures(ctx, key)
	if err != nil {
		return err
	}
	if n == 0 {
		a.auth.putClean(generation, key, now)
	}
	if wait := Lockout.Wait(n, last, time.Now()); wait > 0 {
		// A refused attempt is counted, so hammering during a lockout
		// shows on the dashboard. It is not audited, so the hammering
		// cannot flood the audit log.
		auth.Failures.Add("lockout", 1)
		if Lockout.Locked(n, last, time.Now()) {
			return auth.Retry(wait, "too many failed attempts: locked for %s, try again later", wait.Round(time.Second))
		}
		return auth.Retry(wait, "too many failed attempts: wait %s before trying again", wait.Round(time.Millisecond))
	}
	return nil
}

// AuthFailure records a failed attempt of kind under the keys, counts it
// and audits it. The audit entry keeps only salted hashes of what was
// tried.
func (a *App) AuthFailure(ctx context.Context, actor pipeline.Actor, kind, resource string, tried map[string]string, keys ...string) {
	auth.Failures.Add(kind, 1)
	defer a.auth.invalidate()
	for _, k := range keys {
		if _, err := a.Identity().RecordFailure(ctx, k, time.Now()); err != nil {
			a.Logger.Error("record failed attempt failed", "kind", kind, "err", err)
		}
	}
	if actor.Principal == "" {
		actor.Principal = "anonymous"
	}
	err := a.Audit.Append(ctx, whispersync.AuditEvent{
		Time: time.Now().UTC(), Principal: actor.Principal, Action: "auth." + kind, Resource: resource,
		Outcome: whispersync.OutcomeFailure, Source: actor.Source, RequestID: actor.RequestID, Hashed: tried,
	})
	if err != nil {
		a.Logger.Error("audit failed attempt failed", "kind", kind, "request_id", actor.RequestID, "err", err)
	}
}

// CheckGuessing refuses a request from source while earlier failed
// attempts from there call for a wait.
func (a *App) CheckGuessing(ctx context.Context, source string) error {
	return a.checkWait(ctx, SourceKey(source))
}

// SourceKey is the failure counter key of a client address (host:port or
// host).
func SourceKey(source string) string {
	if host, _, err := net.SplitHostPort(source); err == nil {
		source = host
	}
	return "ip:" + source
}

// Login checks a user name and password and opens a session. It returns
// the session's secret, to be sent as a cookie, and the session's
// principal. Failures are counted under the user and the client address,
// delayed, then locked out, per Lockout.
func (a *App) Login(ctx context.Context, actor pipeline.Actor, name, password string) (string, *auth.Principal, error) {
	userKey := "user:" + strings.ToLower(name)
	release, err := a.auth.serialize(ctx, userKey, SourceKey(actor.Source))
	if err != nil {
		return "", nil, err
	}
	defer release()
	if err := a.checkWait(ctx, userKey); err != nil {
		return "", nil, err
	}
	if err := a.checkWait(ctx, SourceKey(actor.Source)); err != nil {
		return "", nil, err
	}
	wrong := denied("wrong user name or password")
	// resource names the account when it exists, so guesses against one
	// account from many addresses still add up to a finding.
	resource := "user"
	fail := func() (string, *auth.Principal, error) {
		a.AuthFailure(ctx, actor, "password", resource, map[string]string{"user": name}, userKey, SourceKey(actor.Source))
		return "", nil, wrong
	}

	user, err := a.Accounts.FindUserByName(ctx, name)
	if whispersync.IsNotFound(err) {
		_ = auth.VerifyPassword(dummyHash(), password)
		return fail()
	} else if err != nil {
		return "", nil, err
	}
	resource = "user:" + user.ID
	stored, err := a.Identity().Password(ctx, user.ID)
	if whispersync.IsNotFound(err) {
		_ = auth.VerifyPassword(dummyHash(), password)
		return fail()
	} else if err != nil {
		return "", nil, err
	}
	verified := auth.VerifyPassword(stored.Hash, password)
	// A locked account gets the same answer whatever the password, so the
	// answer confirms neither the password nor the lock to a guesser.
	if err := a.checkLocked(ctx, user); err != nil {
		if whispersync.ErrorCode(err) == whispersync.EUNAUTHORIZED {
			return fail()
		}
		return "", nil, err
	}
	if errors.Is(verified, auth.ErrPasswordMismatch) {
		return fail()
	} else if verified != nil {
		return "", nil, fmt.Errorf("app: login: %w", verified)
	}
	if err := a.Identity().ClearFailures(ctx, userKey); err != nil {
		return "", nil, err
	}

	secret, hash := auth.NewSecret(auth.SessionPrefix)
	csrf, _ := auth.NewSecret("")
	now := time.Now().UTC()
	sess := &auth.Session{ID: ids.New("s"), UserID: user.ID, Hash: hash, CSRF: csrf, CreatedAt: now, ExpiresAt: now.Add(SessionTTL)}
	actor.Principal = "session:" + sess.ID
	if err := a.audit(ctx, actor, "auth.login", "user:"+user.ID); err != nil {
		return "", nil, err
	}
	if err := a.Identity().CreateSession(ctx, sess); err != nil {
		return "", nil, err
	}
	return secret, sessionPrincipal(sess, user), nil
}

func sessionPrincipal(sess *auth.Session, user *whispersync.User) *auth.Principal {
	// A browser session acts for its user on memos; administration stays
	// with the CLI and admin-scoped tokens.
	return &auth.Principal{Kind: auth.KindSession, ID: sess.ID, User: user, Scopes: []string{whispersync.ScopeMemosRead, whispersync.ScopeMemosWrite}, CSRF: sess.CSRF}
}

// Logout ends a session.
func (a *App) Logout(ctx context.Context, actor pipeline.Actor, p *auth.Principal) error {
	if err := a.audit(ctx, actor, "auth.logout", "user:"+p.User.ID); err != nil {
		return err
	}
	return a.Identity().DeleteSessions(ctx, p.User.ID, p.ID)
}

func (a *App) checkLocked(ctx context.Context, user *whispersync.User) error {
	at, err := a.Identity().LockedAt(ctx, user.ID)
	if err != nil {
		return err
	}
	if !at.IsZero() {
		return denied("this account is locked: ask the operator to unlock it")
	}
	return nil
}

// AuthenticateSession returns the principal of a session secret.
func (a *App) AuthenticateSession(ctx context.Context, secret string) (*auth.Principal, error) {
	no := denied("missing, invalid or expired session: log in again")
	if !auth.LooksLike(secret, auth.SessionPrefix) {
		return nil, no
	}
	sess, err := a.Identity().FindSession(ctx, auth.HashSecret(secret))
	if whispersync.IsNotFound(err) {
		return nil, no
	} else if err != nil {
		return nil, err
	}
	if time.Now().After(sess.ExpiresAt) {
		return nil, no
	}
	user, err := a.Accounts.FindUserByID(ctx, sess.UserID)
	if err != nil {
		return nil, no
	}
	if err := a.checkLocked(ctx, user); err != nil {
		return nil, err
	}
	return sessionPrincipal(sess, user), nil
}

// AuthenticateToken returns the principal of an API token secret. It
// applies the rules of Authenticate with at most one database read, and
// none while the token's entry in the authentication cache is fresh, since
// it runs on every request.
func (a *App) AuthenticateToken(ctx context.Context, secret string) (*auth.Principal, error) {
	no := denied("missing, invalid, expired or revoked token: send Authorization: Bearer TOKEN with a token from `whispersync tokens create`")
	if !auth.LooksLike(secret, tokenPrefix) {
		return nil, no
	}
	hash := auth.HashSecret(secret)
	now := time.Now()
	e, ok := a.auth.token(hash, now)
	if !ok {
		generation := a.auth.begin()
		t, user, lockedAt, err := a.Identity().TokenPrincipal(ctx, hash)
		if whispersync.IsNotFound(err) {
			return nil, no
		} else if err != nil {
			return nil, err
		}
		e = tokenEntry{token: *t, user: *user, lockedAt: lockedAt, loaded: now}
		a.auth.putToken(generation, hash, e)
	}
	t, user, lockedAt := &e.token, &e.user, e.lockedAt
	if !t.RevokedAt.IsZero() || (!t.ExpiresAt.IsZero() && now.After(t.ExpiresAt)) {
		return nil, no
	}
	if !lockedAt.IsZero() {
		return nil, denied("this account is locked: ask the operator to unlock it")
	}
	return &auth.Principal{Kind: auth.KindToken, ID: t.ID, User: user, Scopes: t.Scopes}, nil
}

// CreateServiceAccount makes a service account acting on user's data and
// returns its secret, stored only as a hash. certSHA256, when set, pins
// the client certificate it must present.
func (a *App) CreateServiceAccount(ctx context.Context, actor pipeline.Actor, user *whispersync.User, name string, scopes []string, certSHA256 string) (string, *auth.ServiceAccount, error) {
	for _, s := range scopes {
		if !auth.KnownScope(s) {
			return "", nil, whispersync.Errorf(whispersync.EINVALID, "unknown scope %q: use memos:read, memos:write or admin", s)
		}
	}
	certSHA256 = strings.ToLower(strings.ReplaceAll(certSHA256, ":", ""))
	if certSHA256 != "" && (len(certSHA256) != 64 || strings.Trim(certSHA256, "0123456789abcdef") != "") {
		return "", nil, whispersync.Errorf(whispersync.EINVALID, "certificate fingerprint %q: give the SHA-256 of the certificate's DER form in hex, as `openssl x509 -noout -fingerprint -sha256` prints it", certSHA256)
	}
	secret, hash := auth.NewSecret(auth.ServiceSecretPrefix)
	sa := &auth.ServiceAccount{ClientID: ids.New("sa"), Name: name, UserID: user.ID, SecretHash: hash, Scopes: scopes, CertSHA256: certSHA256, CreatedAt: time.Now().UTC()}
	if err := a.audit(ctx, actor, "serviceaccount.create", "serviceaccount:"+sa.ClientID); err != nil {
		return "", nil, err
	}
	if err := a.Identity().CreateServiceAccount(ctx, sa); err != nil {
		return "", nil, err
	}
	return secret, sa, nil
}

// DisableServiceAccount disables a service account for good.
func (a *App) DisableServiceAccount(ctx context.Context, actor pipeline.Actor, clientID string) error {
	if err := a.audit(ctx, actor, "serviceaccount.disable", "serviceaccount:"+clientID); err != nil {
		return err
	}
	return a.Identity().DisableServiceAccount(ctx, clientID)
}

// AuthenticateService returns the principal of a service account's client
// id and secret. certSHA256 is the hex SHA-256 of the client certificate
// the connection presented, empty for none.
func (a *App) AuthenticateService(ctx context.Context, clientID, secret, certSHA256 string) (*auth.Principal, error) {
	no := denied("invalid client id or secret, or missing client certificate: check the service account's credentials")
	if !auth.LooksLike(secret, auth.ServiceSecretPrefix) || len(clientID) > 64 {
		return nil, no
	}
	sa, err := a.Identity().FindServiceAccount(ctx, clientID)
	if whispersync.IsNotFound(err) {
		return nil, no
	} else if err != nil {
		return nil, err
	}
	if !auth.SecretMatches(secret, sa.SecretHash) || !sa.DisabledAt.IsZero() {
		return nil, no
	}
	if sa.CertSHA256 != "" && subtle.ConstantTimeCompare([]byte(sa.CertSHA256), []byte(certSHA256)) != 1 {
		return nil, no
	}
	user, err := a.Accounts.FindUserByID(ctx, sa.UserID)
	if err != nil {
		return nil, no
	}
	if err := a.checkLocked(ctx, user); err != nil {
		return nil, err
	}
	return &auth.Principal{Kind: auth.KindService, ID: sa.ClientID, User: user, Scopes: sa.Scopes}, nil
}

// OIDCUserPrefix starts the name of every user created for an OIDC
// subject, so no identity provider user can take over a local user's name.
const OIDCUserPrefix = "oidc:"

// AuthenticateOIDC verifies an OIDC bearer token with v and returns its
// principal. The subject's user, named OIDCUserPrefix + sub, is created on
// first use.
func (a *App) AuthenticateOIDC(ctx context.Context, v *auth.Verifier, raw string) (*auth.Principal, error) {
	c, err := v.Verify(ctx, raw)
	if errors.Is(err, auth.ErrInvalidToken) {
		a.Logger.Info("OIDC token refused", "reason", err.Error())
		return nil, denied("invalid, expired or foreign identity token: sign in with the configured identity provider again")
	} else if err != nil {
		return nil, &whispersync.Error{Code: whispersync.EUNAVAILABLE, Message: "the identity provider cannot be reached: try again later", Err: err}
	}
	user, _, err := a.User(ctx, OIDCUserPrefix+c.Subject, true)
	if err != nil {
		return nil, err
	}
	if err := a.checkLocked(ctx, user); err != nil {
		return nil, err
	}
	return &auth.Principal{Kind: auth.KindOIDC, ID: c.Subject, User: user, Scopes: c.Scopes}, nil
}

// maxBlockReason bounds the reason stored with a block-list entry.
const maxBlockReason = 500

// Block adds an entry to the block list and returns it as stored. An IP
// value is a single address or a CIDR prefix. A principal value is a name
// such as token:t_…; user:REF names a user by name, in any case, or by id,
// and is stored as user:NAME, the form the edge matches.
func (a *App) Block(ctx context.Context, actor pipeline.Actor, b auth.Block) (auth.Block, error) {
	b, err := a.CheckBlock(ctx, b)
	if err != nil {
		return b, err
	}
	if b.CreatedAt.IsZero() {
		b.CreatedAt = time.Now().UTC()
	}
	if err := a.audit(ctx, actor, "blocklist.add", b.Kind+":"+b.Value); err != nil {
		return b, err
	}
	return b, a.Identity().AddBlock(ctx, b)
}

// CheckBlock validates a block-list entry and returns it in the form Block
// stores, without storing it.
func (a *App) CheckBlock(ctx context.Context, b auth.Block) (auth.Block, error) {
	if err := checkPrintable("block value", b.Value, 256); err != nil {
		return b, err
	}
	if err := checkPrintable("block reason", b.Reason, maxBlockReason); err != nil {
		return b, err
	}
	switch b.Kind {
	case "ip":
		n, err := ParseBlockedIP(b.Value)
		if err != nil {
			return b, err
		}
		// A very short prefix blocks most of the internet, the operator
		// included; such a block is a typo far more often than a plan.
		ones, bits := n.Mask.Size()
		if (bits == 32 && ones < 8) || (bits == 128 && ones < 16) {
			return b, whispersync.Errorf(whispersync.EINVALID, "prefix %q would block a large part of the internet, this server's clients included: block a longer prefix such as 192.0.2.0/24", b.Value)
		}
	case "principal":
		kind, id, ok := strings.Cut(b.Value, ":")
		if !ok || id == "" || !slices.Contains([]string{auth.KindToken, auth.KindSession, auth.KindService, auth.KindOIDC, "user"}, kind) {
			return b, whispersync.Errorf(whispersync.EINVALID, "principal %q: use KIND:ID with kind token, session, service, oidc or user, such as token:t_…", b.Value)
		}
		if kind == "user" {
			user, err := a.blockedUser(ctx, id)
			if err != nil {
				return b, err
			}
			if user == nil {
				return b, whispersync.Errorf(whispersync.ENOTFOUND, "user %q not found: block an existing user as user:NAME (whispersync users list shows them)", id)
			}
			b.Value = "user:" + user.Name
		}
	default:
		return b, whispersync.Errorf(whispersync.EINVALID, "block kind %q: use ip or principal", b.Kind)
	}
	return b, nil
}

// checkPrintable rejects a text, such as a block-list value or reason, that
// is too long or contains a character that is not visible text or a space:
// control and bidirectional characters, line and paragraph separators and
// invisible format characters would garble or disguise it where it is shown.
func checkPrintable(field, text string, limit int) error {
	if len(text) > limit {
		return whispersync.Errorf(whispersync.EINVALID, "%s of %d bytes: use at most %d", field, len(text), limit)
	}
	for _, r := range text {
		if !unicode.IsGraphic(r) || r == utf8.RuneError {
			return whispersync.Errorf(whispersync.EINVALID, "%s %q contains the character %U: use printable text only", field, text, r)
		}
	}
	return nil
}

// blockedUser returns the user that ref names, by name as a login matches
// names or by id, or nil when ref names no user.
func (a *App) blockedUser(ctx context.Context, ref string) (*whispersync.User, error) {
	user, err := a.Accounts.FindUserByName(ctx, ref)
	if whispersync.IsNotFound(err) {
		user, err = a.Accounts.FindUserByID(ctx, ref)
	}
	if whispersync.IsNotFound(err) {
		return nil, nil
	}
	return user, err
}

// Unblock removes an entry from the block list. A user:REF value that is
// not listed as written is removed in the form Block stores for that user.
// It returns the value removed.
func (a *App) Unblock(ctx context.Context, actor pipeline.Actor, kind, value string) (string, error) {
	if ref, ok := strings.CutPrefix(value, "user:"); ok && kind == "principal" {
		listed, err := a.blockListed(ctx, value)
		if err != nil {
			return value, err
		}
		if !listed {
			user, err := a.blockedUser(ctx, ref)
			if err != nil {
				return value, err
			}
			if user != nil {
				value = "user:" + user.Name
			}
		}
	}
	if err := a.audit(ctx, actor, "blocklist.remove", kind+":"+value); err != nil {
		return value, err
	}
	return value, a.Identity().RemoveBlock(ctx, kind, value)
}

// blockListed reports whether the block list holds value as written.
func (a *App) blockListed(ctx context.Context, value string) (bool, error) {
	blocks, err := a.Identity().ListBlocks(ctx)
	if err != nil {
		return false, err
	}
	for _, b := range blocks {
		if b.Value == value {
			return true, nil
		}
	}
	return false, nil
}

// ParseBlockedIP parses an address or CIDR prefix of the block list.
func ParseBlockedIP(value string) (*net.IPNet, error) {
	if !strings.Contains(value, "/") {
		ip := net.ParseIP(value)
		if ip == nil {
			return nil, whispersync.Errorf(whispersync.EINVALID, "IP %q: give an address such as 192.0.2.7 or a prefix such as 192.0.2.0/24", value)
		}
		bits := 128
		if ip.To4() != nil {
			ip, bits = ip.To4(), 32
		}
		return &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)}, nil
	}
	_, n, err := net.ParseCIDR(value)
	if err != nil {
		return nil, whispersync.Errorf(whispersync.EINVALID, "IP prefix %q: give a prefix such as 192.0.2.0/24", value)
	}
	return n, nil
}

// ChangePassword sets user's password after checking the current one, with
// the same failure counting and lockout as a login.
func (a *App) ChangePassword(ctx context.Context, actor pipeline.Actor, user *whispersync.User, current, next string) error {
	userKey := "user:" + strings.ToLower(user.Name)
	release, err := a.auth.serialize(ctx, userKey, SourceKey(actor.Source))
	if err != nil {
		return err
	}
	defer release()
	if err := a.checkWait(ctx, userKey); err != nil {
		return err
	}
	if err := a.checkWait(ctx, SourceKey(actor.Source)); err != nil {
		return err
	}
	stored, err := a.Identity().Password(ctx, user.ID)
	if err != nil && !whispersync.IsNotFound(err) {
		return err
	}
	if err != nil || auth.VerifyPassword(stored.Hash, current) != nil {
		a.AuthFailure(ctx, actor, "password", "user:"+user.ID, nil, userKey, SourceKey(actor.Source))
		return denied("wrong current password")
	}
	if err := auth.CheckPassword(next); err != nil {
		return err
	}
	return a.SetPassword(ctx, actor, user, next)
}
