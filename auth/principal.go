package auth

import (
	"slices"
	"time"

	"github.com/whispersync/whispersync"
)

// Principal kinds.
const (
	KindToken   = "token"
	KindSession = "session"
	KindService = "service"
	KindOIDC    = "oidc"
)

// Principal is the authenticated caller of a request.
type Principal struct {
	// Kind is one of the Kind constants.
	Kind string
	// ID identifies the credential within its kind: a token id, a session
	// id, a service account's client id, an OIDC subject.
	ID string
	// User owns every item the principal may read or write.
	User *whispersync.User
	// Scopes the principal holds; admin implies every scope.
	Scopes []string
	// CSRF is a session's anti-forgery token; empty for other kinds.
	CSRF string
}

// Name is the principal as the audit trail and the block list name it,
// such as "token:t_k5mz3q7xw2ab4cde".
func (p *Principal) Name() string {
	return p.Kind + ":" + p.ID
}

// HasScope reports whether p holds scope; the admin scope holds every
// scope.
func (p *Principal) HasScope(scope string) bool {
	return slices.Contains(p.Scopes, scope) || slices.Contains(p.Scopes, whispersync.ScopeAdmin)
}

// KnownScope reports whether s is a scope WhisperSync grants.
func KnownScope(s string) bool {
	switch s {
	case whispersync.ScopeMemosRead, whispersync.ScopeMemosWrite, whispersync.ScopeAdmin:
		return true
	}
	return false
}

// Password is a user's password record.
type Password struct {
	UserID string
	// Hash is the argon2id hash from HashPassword.
	Hash      string
	ChangedAt time.Time
	// LockedAt is set while an operator has locked the account.
	LockedAt time.Time
}

// Session is a web UI login session, stored by the hash of its secret.
type Session struct {
	ID     string
	UserID string
	Hash   []byte
	// CSRF must accompany every state-changing request of the session, in
	// the X-CSRF-Token header.
	CSRF      string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// ServiceAccount is a machine client, such as a capture client or a
// webhook sender. It authenticates with its client id and secret (HTTP
// Basic), and, when CertSHA256 is set, must also present that client
// certificate over mutual TLS.
type ServiceAccount struct {
	// ClientID is public, such as sa_k5mz3q7xw2ab4cde.
	ClientID string `json:"client_id"`
	Name     string `json:"name"`
	// UserID is the user whose data the account acts on.
	UserID     string   `json:"user_id"`
	SecretHash []byte   `json:"-"`
	Scopes     []string `json:"scopes"`
	// CertSHA256 is the hex SHA-256 of the client certificate's DER form;
	// empty when mutual TLS is not required.
	CertSHA256 string    `json:"cert_sha256,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	DisabledAt time.Time `json:"disabled_at,omitzero"`
}

// Block is an entry of the block list: an IP address or network in CIDR
// form, or a principal name.
type Block struct {
	// Kind is "ip" or "principal".
	Kind      string    `json:"kind"`
	Value     string    `json:"value"`
	Reason    string    `json:"reason,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	// ExpiresAt is zero for a block that does not expire.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}
