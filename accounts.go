package whispersync

import (
	"context"
	"time"
)

// Token scopes.
const (
	ScopeMemosWrite = "memos:write"
	ScopeMemosRead  = "memos:read"
	ScopeAdmin      = "admin"
)

// Token is an API token as stored: only the SHA-256 hash of the secret is
// kept, so the secret is shown once, at creation.
type Token struct {
	ID        string    `json:"id"`
	UserID    string    `json:"user_id"`
	Name      string    `json:"name"`
	Hash      []byte    `json:"-"`
	Scopes    []string  `json:"scopes"`
	CreatedAt time.Time `json:"created_at"`
	// ExpiresAt is zero for a token that does not expire.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	RevokedAt time.Time `json:"revoked_at,omitzero"`
	LastUsed  time.Time `json:"last_used,omitzero"`
}

// HasScope reports whether the token carries scope; the admin scope carries
// every scope.
func (t *Token) HasScope(scope string) bool {
	for _, s := range t.Scopes {
		if s == scope || s == ScopeAdmin {
			return true
		}
	}
	return false
}

// Accounts keeps users and their API tokens.
type Accounts interface {
	// CreateUser creates a user; a taken name is ECONFLICT.
	CreateUser(ctx context.Context, name string) (*User, error)
	FindUserByID(ctx context.Context, id string) (*User, error)
	FindUserByName(ctx context.Context, name string) (*User, error)
	ListUsers(ctx context.Context) ([]*User, error)
	// CreateToken stores t, whose ID, UserID, Hash and Scopes are set by the
	// caller.
	CreateToken(ctx context.Context, t *Token) error
	// FindTokenByHash returns the token with this hash, revoked and expired
	// ones included, so the caller can tell why it was refused.
	FindTokenByHash(ctx context.Context, hash []byte) (*Token, error)
	ListTokens(ctx context.Context, userID string) ([]*Token, error)
	RevokeToken(ctx context.Context, userID, tokenID string) error
	TouchToken(ctx context.Context, tokenID string, at time.Time) error
}
