package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/whispersync/whispersync"
)

const (
	maxUserNameBytes  = 64
	maxTokenNameBytes = 128
)

// Accounts returns the users and API tokens kept in db.
func (db *DB) Accounts() whispersync.Accounts {
	return &accounts{db: db, now: time.Now}
}

// accounts implements whispersync.Accounts on the users and tokens tables.
type accounts struct {
	db  *DB
	now func() time.Time
}

// CreateUser creates a user with a random id such as u_k5mz3q7xw2ab4cde.
// Names are unique regardless of ASCII case, and a taken name is ECONFLICT.
func (a *accounts) CreateUser(ctx context.Context, name string) (*whispersync.User, error) {
	if err := checkUserName(name); err != nil {
		return nil, fmt.Errorf("sqlite: create user: %w", err)
	}
	u := &whispersync.User{ID: randomID("u_", 10), Name: name, CreatedAt: a.now().UTC()}

	err := a.db.write(ctx, func(ctx context.Context, tx *statements) error {
		const insert = `INSERT INTO users (id, name, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`
		res, err := tx.ExecContext(ctx, insert, u.ID, u.Name, unixNano(u.CreatedAt))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return whispersync.Errorf(whispersync.ECONFLICT, "user name %q is taken: choose another name", name)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: create user: %w", err)
	}
	return u, nil
}

// FindUserByID returns the user, or ENOTFOUND.
func (a *accounts) FindUserByID(ctx context.Context, id string) (*whispersync.User, error) {
	u, err := a.findUser(ctx, `SELECT id, name, created_at FROM users WHERE id = ?`, id)
	if err != nil {
		return nil, fmt.Errorf("sqlite: find user by id: %w", err)
	}
	return u, nil
}

// FindUserByName returns the user whose name equals name regardless of
// ASCII case, or ENOTFOUND.
func (a *accounts) FindUserByName(ctx context.Context, name string) (*whispersync.User, error) {
	u, err := a.findUser(ctx, `SELECT id, name, created_at FROM users WHERE name = ?`, name)
	if err != nil {
		return nil, fmt.Errorf("sqlite: find user by name: %w", err)
	}
	return u, nil
}

func (a *accounts) findUser(ctx context.Context, query, arg string) (*whispersync.User, error) {
	u, err := scanUser(a.db.read.QueryRowContext(ctx, query, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, whispersync.Errorf(whispersync.ENOTFOUND, "user %q not found", arg)
	}
	return u, err
}

// ListUsers returns every user by name.
func (a *accounts) ListUsers(ctx context.Context) ([]*whispersync.User, error) {
	rows, err := a.db.read.QueryContext(ctx, `SELECT id, name, created_at FROM users ORDER BY name, id`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list users: %w", err)
	}
	defer rows.Close()
	var users []*whispersync.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list users: %w", err)
		}
		users = append(users, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list users: %w", err)
	}
	return users, nil
}

// CreateToken stores t. A zero CreatedAt is set to now. An unknown user is
// ENOTFOUND, and a token id or hash already stored is ECONFLICT.
func (a *accounts) CreateToken(ctx context.Context, t *whispersync.Token) error {
	if err := checkToken(t); err != nil {
		return fmt.Errorf("sqlite: create token: %w", err)
	}
	scopes, err := json.Marshal(t.Scopes)
	if err != nil {
		return fmt.Errorf("sqlite: create token: encode scopes: %w", err)
	}
	if t.Scopes == nil {
		scopes = []byte("[]")
	}
	createdAt := t.CreatedAt
	if createdAt.IsZero() {
		createdAt = a.now().UTC()
	}

	err = a.db.write(ctx, func(ctx context.Context, tx *statements) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE id = ?`, t.UserID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return whispersync.Errorf(whispersync.ENOTFOUND, "user %q not found: create the user first", t.UserID)
		}
		const insert = `INSERT INTO tokens (id, user_id, name, hash, scopes, created_at, expires_at, revoked_at, last_used)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`
		res, err := tx.ExecContext(ctx, insert, t.ID, t.UserID, t.Name, t.Hash, string(scopes),
			unixNano(createdAt), unixNano(t.ExpiresAt), unixNano(t.RevokedAt), unixNano(t.LastUsed))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return whispersync.Errorf(whispersync.ECONFLICT, "token %q: its id or hash is already stored: generate a new token", t.ID)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: create token: %w", err)
	}
	t.CreatedAt = createdAt
	return nil
}

const tokenColumns = `id, user_id, name, hash, scopes, created_at, expires_at, revoked_at, last_used` // #nosec G101 -- column names, not a credential

// FindTokenByHash returns the token with this hash, revoked and expired
// ones included, or ENOTFOUND.
func (a *accounts) FindTokenByHash(ctx context.Context, hash []byte) (*whispersync.Token, error) {
	row := a.db.read.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE hash = ?`, hash)
	t, err := scanToken(row)
	if errors.Is(err, sql.ErrNoRows) {
		err = whispersync.Errorf(whispersync.ENOTFOUND, "no token has this hash")
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: find token by hash: %w", err)
	}
	return t, nil
}

// ListTokens returns the user's tokens, oldest first. An unknown user has
// none.
func (a *accounts) ListTokens(ctx context.Context, userID string) ([]*whispersync.Token, error) {
	rows, err := a.db.read.QueryContext(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE user_id = ? ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list tokens: %w", err)
	}
	defer rows.Close()
	var tokens []*whispersync.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list tokens: %w", err)
		}
		tokens = append(tokens, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list tokens: %w", err)
	}
	return tokens, nil
}

// RevokeToken revokes the user's token. A token of another user is
// ENOTFOUND, as an unknown one is, so that no user learns of another's
// tokens. Revoking again keeps the first revocation time.
func (a *accounts) RevokeToken(ctx context.Context, userID, tokenID string) error {
	now := unixNano(a.now())
	err := a.db.write(ctx, func(ctx context.Context, tx *statements) error {
		const update = `UPDATE tokens SET revoked_at = CASE WHEN revoked_at = 0 THEN ? ELSE revoked_at END
			WHERE id = ? AND user_id = ?`
		res, err := tx.ExecContext(ctx, update, now, tokenID, userID)
		return oneToken(res, err, tokenID)
	})
	if err != nil {
		return fmt.Errorf("sqlite: revoke token: %w", err)
	}
	return nil
}

// TouchToken records a use of the token at the given time. An earlier time
// than the one stored changes nothing.
func (a *accounts) TouchToken(ctx context.Context, tokenID string, at time.Time) error {
	err := a.db.write(ctx, func(ctx context.Context, tx *statements) error {
		const update = `UPDATE tokens SET last_used = MAX(last_used, ?) WHERE id = ?`
		res, err := tx.ExecContext(ctx, update, unixNano(at), tokenID)
		return oneToken(res, err, tokenID)
	})
	if err != nil {
		return fmt.Errorf("sqlite: touch token: %w", err)
	}
	return nil
}

// oneToken turns the outcome of an update of one token into an error: the
// update's own, or ENOTFOUND when it matched no token.
func oneToken(res sql.Result, err error, tokenID string) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return whispersync.Errorf(whispersync.ENOTFOUND, "token %q not found", tokenID)
	}
	return nil
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

func scanUser(s scanner) (*whispersync.User, error) {
	var u whispersync.User
	var createdAt int64
	if err := s.Scan(&u.ID, &u.Name, &createdAt); err != nil {
		return nil, err
	}
	u.CreatedAt = fromUnixNano(createdAt)
	return &u, nil
}

func scanToken(s scanner) (*whispersync.Token, error) {
	var t whispersync.Token
	var scopes string
	var createdAt, expiresAt, revokedAt, lastUsed int64
	if err := s.Scan(&t.ID, &t.UserID, &t.Name, &t.Hash, &scopes, &createdAt, &expiresAt, &revokedAt, &lastUsed); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(scopes), &t.Scopes); err != nil {
		return nil, fmt.Errorf("decode scopes of token %q: %w", t.ID, err)
	}
	t.CreatedAt = fromUnixNano(createdAt)
	t.ExpiresAt = fromUnixNano(expiresAt)
	t.RevokedAt = fromUnixNano(revokedAt)
	t.LastUsed = fromUnixNano(lastUsed)
	return &t, nil
}

// checkUserName accepts 1 to 64 bytes of UTF-8 without spaces or control
// characters.
func checkUserName(name string) error {
	switch {
	case name == "":
		return whispersync.Errorf(whispersync.EINVALID, "empty user name: choose a name such as alice")
	case len(name) > maxUserNameBytes:
		return whispersync.Errorf(whispersync.EINVALID, "user name of %d bytes: keep it within %d", len(name), maxUserNameBytes)
	case !utf8.ValidString(name):
		return whispersync.Errorf(whispersync.EINVALID, "user name is not valid UTF-8: use UTF-8 text")
	}
	for _, r := range name {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return whispersync.Errorf(whispersync.EINVALID, "user name %q contains a space or control character: use letters, digits and punctuation", name)
		}
	}
	return nil
}

// checkToken rejects a token without id or user, with a hash that is not a
// SHA-256 sum, or with an overlong name.
func checkToken(t *whispersync.Token) error {
	switch {
	case t == nil:
		return whispersync.Errorf(whispersync.EINVALID, "no token given")
	case t.ID == "":
		return whispersync.Errorf(whispersync.EINVALID, "token without id: set its ID")
	case t.UserID == "":
		return whispersync.Errorf(whispersync.EINVALID, "token %q without user: set its UserID", t.ID)
	case len(t.Hash) != sha256.Size:
		return whispersync.Errorf(whispersync.EINVALID, "token %q has a hash of %d bytes: store the SHA-256 of the secret, %d bytes", t.ID, len(t.Hash), sha256.Size)
	case len(t.Name) > maxTokenNameBytes:
		return whispersync.Errorf(whispersync.EINVALID, "token name of %d bytes: keep it within %d", len(t.Name), maxTokenNameBytes)
	}
	return nil
}
