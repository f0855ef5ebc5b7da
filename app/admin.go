package app

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/internal/ids"
	"github.com/whispersync/whispersync/pipeline"
)

// DeadLetterView is a dead letter for display: its body names only ids.
type DeadLetterView struct {
	ID           string    `json:"id"`
	Body         string    `json:"body"`
	ReceiveCount int       `json:"receive_count"`
	SentAt       time.Time `json:"sent_at"`
	DeadAt       time.Time `json:"dead_at"`
	LastError    string    `json:"last_error,omitempty"`
}

// DeadLetters lists the dead-letter queue.
func (a *App) DeadLetters(ctx context.Context, actor pipeline.Actor) ([]DeadLetterView, error) {
	if err := a.audit(ctx, actor, "dlq.list", "queue:memos"); err != nil {
		return nil, err
	}
	letters, err := a.Queue.ListDeadLetters(ctx, 1000)
	if err != nil {
		return nil, err
	}
	views := make([]DeadLetterView, len(letters))
	for i, l := range letters {
		views[i] = DeadLetterView{ID: l.ID, Body: string(l.Body), ReceiveCount: l.ReceiveCount, SentAt: l.SentAt, DeadAt: l.DeadAt, LastError: l.LastError}
	}
	return views, nil
}

// Redrive moves dead letters, all of them when ids is empty, back to the
// queue.
func (a *App) Redrive(ctx context.Context, actor pipeline.Actor, ids ...string) (int, error) {
	if err := a.audit(ctx, actor, "dlq.redrive", "queue:memos"); err != nil {
		return 0, err
	}
	return a.Queue.Redrive(ctx, ids...)
}

func (a *App) audit(ctx context.Context, actor pipeline.Actor, action, resource string) error {
	return a.auditWith(ctx, actor, action, resource, nil)
}

// auditWith records a successful action with its details. It fails with
// EUNAVAILABLE when the audit log cannot be written, and the caller must
// then not carry out the action.
func (a *App) auditWith(ctx context.Context, actor pipeline.Actor, action, resource string, detail map[string]string) error {
	err := a.Audit.Append(ctx, whispersync.AuditEvent{
		Time: time.Now().UTC(), Principal: actor.Principal, Source: actor.Source, RequestID: actor.RequestID,
		Action: action, Resource: resource, Outcome: whispersync.OutcomeSuccess, Detail: detail,
	})
	if err != nil {
		return &whispersync.Error{Code: whispersync.EUNAVAILABLE, Message: "the audit trail cannot be written, so the operation was not carried out: the operator must check the audit folder", Err: err}
	}
	return nil
}

// auditFailure records that an action already audited as attempted did not
// take place, with the error's code, so the trail does not show a refused
// request as done. A failure to write it is logged: the caller is already
// returning the action's own error.
func (a *App) auditFailure(ctx context.Context, actor pipeline.Actor, action, resource string, cause error) {
	err := a.Audit.Append(ctx, whispersync.AuditEvent{
		Time: time.Now().UTC(), Principal: actor.Principal, Source: actor.Source, RequestID: actor.RequestID,
		Action: action, Resource: resource, Outcome: whispersync.OutcomeFailure,
		Detail: map[string]string{"error": whispersync.ErrorCode(cause)},
	})
	if err != nil {
		a.Logger.Error("audit failed action failed", "action", action, "request_id", actor.RequestID, "err", err)
	}
}

// maxTokenName bounds a token's name, which lists print on terminals.
const maxTokenName = 128

// checkTokenName rejects names that are too long or hold control
// characters, which `tokens list` would print raw to a terminal.
func checkTokenName(name string) error {
	if !utf8.ValidString(name) || utf8.RuneCountInString(name) > maxTokenName {
		return whispersync.Errorf(whispersync.EINVALID, "invalid token name: use valid UTF-8 of at most %d characters", maxTokenName)
	}
	for _, r := range name {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return whispersync.Errorf(whispersync.EINVALID, "invalid token name %q: it contains the control character %U; use printable characters only", name, r)
		}
	}
	return nil
}

// tokenPrefix starts every API token, so secret scanners can recognize a
// leaked one.
const tokenPrefix = "wst_"

// CreateToken makes an API token for user and returns its secret, which is
// stored only as a SHA-256 hash and cannot be shown again.
func (a *App) CreateToken(ctx context.Context, actor pipeline.Actor, user *whispersync.User, name string, scopes []string, ttl time.Duration) (string, *whispersync.Token, error) {
	if err := checkTokenName(name); err != nil {
		return "", nil, err
	}
	for _, s := range scopes {
		switch s {
		case whispersync.ScopeMemosRead, whispersync.ScopeMemosWrite, whispersync.ScopeAdmin:
		default:
			return "", nil, whispersync.Errorf(whispersync.EINVALID, "unknown scope %q: use memos:read, memos:write or admin", s)
		}
	}
	scopes = slices.Compact(slices.Sorted(slices.Values(scopes)))
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", nil, fmt.Errorf("app: token randomness: %w", err)
	}
	secret := tokenPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	hash := sha256.Sum256([]byte(secret))
	now := time.Now().UTC()
	t := &whispersync.Token{ID: ids.New("t"), UserID: user.ID, Name: name, Hash: hash[:], Scopes: scopes, CreatedAt: now}
	if ttl > 0 {
		t.ExpiresAt = now.Add(ttl)
	}
	if err := a.audit(ctx, actor, "token.create", "token:"+t.ID); err != nil {
		return "", nil, err
	}
	if err := a.Accounts.CreateToken(ctx, t); err != nil {
		a.auditFailure(ctx, actor, "token.create", "token:"+t.ID, err)
		return "", nil, fmt.Errorf("app: store token: %w", err)
	}
	return secret, t, nil
}

// ListTokens returns the metadata of user's tokens, revoked and expired
// ones included, and audits the read.
func (a *App) ListTokens(ctx context.Context, actor pipeline.Actor, user *whispersync.User) ([]*whispersync.Token, error) {
	if err := a.audit(ctx, actor, "token.list", "user:"+user.ID); err != nil {
		return nil, err
	}
	return a.Accounts.ListTokens(ctx, user.ID)
}

// RevokeToken revokes one of user's tokens.
func (a *App) RevokeToken(ctx context.Context, actor pipeline.Actor, user *whispersync.User, id string) error {
	if err := a.audit(ctx, actor, "token.revoke", "token:"+id); err != nil {
		return err
	}
	defer a.auth.invalidate()
	return a.Accounts.RevokeToken(ctx, user.ID, id)
}

// Authenticate returns the token and user a bearer secret belongs to. Every
// failure is the same EUNAUTHORIZED error, so a caller learns nothing about
// which tokens exist.
func (a *App) Authenticate(ctx context.Context, secret string) (*whispersync.Token, *whispersync.User, error) {
	denied := whispersync.Errorf(whispersync.EUNAUTHORIZED, "missing, invalid, expired or revoked token: send Authorization: Bearer TOKEN with a token from `whispersync tokens create`")
	if !strings.HasPrefix(secret, tokenPrefix) || len(secret) > 200 {
		return nil, nil, denied
	}
	hash := sha256.Sum256([]byte(secret))
	t, err := a.Accounts.FindTokenByHash(ctx, hash[:])
	if whispersync.IsNotFound(err) {
		return nil, nil, denied
	} else if err != nil {
		return nil, nil, fmt.Errorf("app: look up token: %w", err)
	}
	now := time.Now()
	if !t.RevokedAt.IsZero() || (!t.ExpiresAt.IsZero() && now.After(t.ExpiresAt)) {
		return nil, nil, denied
	}
	u, err := a.Accounts.FindUserByID(ctx, t.UserID)
	if err != nil {
		return nil, nil, denied
	}
	return t, u, nil
}
