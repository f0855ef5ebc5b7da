package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/auth"
)

// Identity keeps passwords, account locks, sessions, service accounts,
// daily request counts, the block list and failed authentication counters.
type Identity struct {
	db  *DB
	now func() time.Time
}

// Identity returns the identity tables of db.
func (db *DB) Identity() *Identity {
	return &Identity{db: db, now: time.Now}
}

// SetPassword stores the password hash of a user, replacing any earlier one.
func (s *Identity) SetPassword(ctx context.Context, userID, hash string) error {
	err := s.db.write(ctx, func(ctx context.Context, tx *statements) error {
		const upsert = `INSERT INTO passwords (user_id, hash, changed_at) VALUES (?, ?, ?)
			ON CONFLICT (user_id) DO UPDATE SET hash = excluded.hash, changed_at = excluded.changed_at`
		_, err := tx.ExecContext(ctx, upsert, userID, hash, unixNano(s.now()))
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: set password: %w", err)
	}
	return nil
}

// Password returns a user's password record, or ENOTFOUND for a user
// without a password.
func (s *Identity) Password(ctx context.Context, userID string) (*auth.Password, error) {
	p := &auth.Password{UserID: userID}
	var changedAt int64
	err := s.db.read.QueryRowContext(ctx, `SELECT hash, changed_at FROM passwords WHERE user_id = ?`, userID).Scan(&p.Hash, &changedAt)
	if errors.Is(err, sql.ErrNoRows) {
		err = whispersync.Errorf(whispersync.ENOTFOUND, "user %q has no password: set one with `whispersync users passwd`", userID)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: password: %w", err)
	}
	p.ChangedAt = fromUnixNano(changedAt)
	return p, nil
}

// SetLocked locks or unlocks a user. Locking also ends the user's sessions.
func (s *Identity) SetLocked(ctx context.Context, userID string, locked bool) error {
	err := s.db.write(ctx, func(ctx context.Context, tx *statements) error {
		if !locked {
			_, err := tx.ExecContext(ctx, `DELETE FROM user_locks WHERE user_id = ?`, userID)
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO user_locks (user_id, locked_at) VALUES (?, ?) ON CONFLICT DO NOTHING`, userID, unixNano(s.now())); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, userID)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: set locked: %w", err)
	}
	return nil
}

// LockedAt returns when the user was locked, or the zero time.
func (s *Identity) LockedAt(ctx context.Context, userID string) (time.Time, error) {
	var at int64
	err := s.db.read.QueryRowContext(ctx, `SELECT locked_at FROM user_locks WHERE user_id = ?`, userID).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("sqlite: locked at: %w", err)
	}
	return fromUnixNano(at), nil
}

// CreateSession stores a session.
func (s *Identity) CreateSession(ctx context.Context, sess *auth.Session) error {
	err := s.db.write(ctx, func(ctx context.Context, tx *statements) error {
		const insert = `INSERT INTO sessions (id, user_id, hash, csrf, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`
		_, err := tx.ExecContext(ctx, insert, sess.ID, sess.UserID, sess.Hash, sess.CSRF, unixNano(sess.CreatedAt), unixNano(sess.ExpiresAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: create session: %w", err)
	}
	return nil
}

// FindSession returns the session with this secret hash, expired ones
// included, or ENOTFOUND.
func (s *Identity) FindSession(ctx context.Context, hash []byte) (*auth.Session, error) {
	sess := &auth.Session{}
	var createdAt, expiresAt int64
	err := s.db.read.QueryRowContext(ctx, `SELECT id, user_id, hash, csrf, created_at, expires_at FROM sessions WHERE hash = ?`, hash).
		Scan(&sess.ID, &sess.UserID, &sess.Hash, &sess.CSRF, &createdAt, &expiresAt)
	if errors.Is(err, sql.ErrNoRows) {
		err = whispersync.Errorf(whispersync.ENOTFOUND, "no session has this hash")
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: find session: %w", err)
	}
	sess.CreatedAt, sess.ExpiresAt = fromUnixNano(createdAt), fromUnixNano(expiresAt)
	return sess, nil
}

// DeleteSessions deletes one session of a user by id, or all of the user's
// sessions when id is empty.
func (s *Identity) DeleteSessions(ctx context.Context, userID, id string) error {
	err := s.db.write(ctx, func(ctx context.Context, tx *statements) error {
		if id == "" {
			_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, userID)
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ? AND id = ?`, userID, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: delete sessions: %w", err)
	}
	return nil
}

// CreateServiceAccount stores a service account; a taken client id is
// ECONFLICT.
func (s *Identity) CreateServiceAccount(ctx context.Context, sa *auth.ServiceAccount) error {
	scopes, err := json.Marshal(sa.Scopes)
	if err != nil {
		return fmt.Errorf("sqlite: create service account: %w", err)
	}
	err = s.db.write(ctx, func(ctx context.Context, tx *statements) error {
		const insert = `INSERT INTO service_accounts (client_id, name, user_id, secret_hash, scopes, cert_sha256, created_at, disabled_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`
		res, err := tx.ExecContext(ctx, insert, sa.ClientID, sa.Name, sa.UserID, sa.SecretHash, string(scopes), sa.CertSHA256, unixNano(sa.CreatedAt), unixNano(sa.DisabledAt))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return whispersync.Errorf(whispersync.ECONFLICT, "service account %q exists", sa.ClientID)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: create service account: %w", err)
	}
	return nil
}

const serviceAccountColumns = `client_id, name, user_id, secret_hash, scopes, cert_sha256, created_at, disabled_at`

// FindServiceAccount returns a service account by client id, or ENOTFOUND.
func (s *Identity) FindServiceAccount(ctx context.Context, clientID string) (*auth.ServiceAccount, error) {
	sa, err := scanServiceAccount(s.db.read.QueryRowContext(ctx, `SELECT `+serviceAccountColumns+` FROM service_accounts WHERE client_id = ?`, clientID))
	if errors.Is(err, sql.ErrNoRows) {
		err = whispersync.Errorf(whispersync.ENOTFOUND, "service account %q not found: see `whispersync serviceaccounts list`", clientID)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: find service account: %w", err)
	}
	return sa, nil
}

// ListServiceAccounts returns every service account by name.
func (s *Identity) ListServiceAccounts(ctx context.Context) ([]*auth.ServiceAccount, error) {
	rows, err := s.db.read.QueryContext(ctx, `SELECT `+serviceAccountColumns+` FROM service_accounts ORDER BY name, client_id`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list service accounts: %w", err)
	}
	defer rows.Close()
	var out []*auth.ServiceAccount
	for rows.Next() {
		sa, err := scanServiceAccount(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list service accounts: %w", err)
		}
		out = append(out, sa)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list service accounts: %w", err)
	}
	return out, nil
}

// DisableServiceAccount disables a service account for good, or returns
// ENOTFOUND.
func (s *Identity) DisableServiceAccount(ctx context.Context, clientID string) error {
	err := s.db.write(ctx, func(ctx context.Context, tx *statements) error {
		const update = `UPDATE service_accounts SET disabled_at = CASE WHEN disabled_at = 0 THEN ? ELSE disabled_at END WHERE client_id = ?`
		res, err := tx.ExecContext(ctx, update, unixNano(s.now()), clientID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return whispersync.Errorf(whispersync.ENOTFOUND, "service account %q not found: see `whispersync serviceaccounts list`", clientID)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: disable service account: %w", err)
	}
	return nil
}

func scanServiceAccount(row scanner) (*auth.ServiceAccount, error) {
	sa := &auth.ServiceAccount{}
	var scopes string
	var createdAt, disabledAt int64
	if err := row.Scan(&sa.ClientID, &sa.Name, &sa.UserID, &sa.SecretHash, &scopes, &sa.CertSHA256, &createdAt, &disabledAt); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(scopes), &sa.Scopes); err != nil {
		return nil, fmt.Errorf("decode scopes of service account %q: %w", sa.ClientID, err)
	}
	sa.CreatedAt, sa.DisabledAt = fromUnixNano(createdAt), fromUnixNano(disabledAt)
	return sa, nil
}

// LoadQuota returns the request count of key on day; it implements
// ratelimit.Store.
func (s *Identity) LoadQuota(ctx context.Context, key, day string) (int, error) {
	var n int
	err := s.db.read.QueryRowContext(ctx, `SELECT count FROM quotas WHERE key = ? AND day = ?`, key, day).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("sqlite: load quota: %w", err)
	}
	return n, nil
}

// SaveQuotas records request counts of day, never lowering a stored count,
// and deletes the counts of earlier days.
func (s *Identity) SaveQuotas(ctx context.Context, day string, counts map[string]int) error {
	err := s.db.write(ctx, func(ctx context.Context, tx *statements) error {
		const upsert = `INSERT INTO quotas (key, day, count) VALUES (?, ?, ?)
			ON CONFLICT (key, day) DO UPDATE SET count = MAX(count, excluded.count)`
		for k, n := range counts {
			if _, err := tx.ExecContext(ctx, upsert, k, day, n); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM quotas WHERE day < ?`, day)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: save quotas: %w", err)
	}
	return nil
}

// AddBlock adds or replaces a block list entry.
func (s *Identity) AddBlock(ctx context.Context, b auth.Block) error {
	err := s.db.write(ctx, func(ctx context.Context, tx *statements) error {
		const upsert = `INSERT INTO blocklist (kind, value, reason, created_at, expires_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (kind, value) DO UPDATE SET reason = excluded.reason, created_at = excluded.created_at, expires_at = excluded.expires_at`
		_, err := tx.ExecContext(ctx, upsert, b.Kind, b.Value, b.Reason, unixNano(b.CreatedAt), unixNano(b.ExpiresAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: add block: %w", err)
	}
	return nil
}

// RemoveBlock removes a block list entry, or returns ENOTFOUND.
func (s *Identity) RemoveBlock(ctx context.Context, kind, value string) error {
	err := s.db.write(ctx, func(ctx context.Context, tx *statements) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM blocklist WHERE kind = ? AND value = ?`, kind, value)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return whispersync.Errorf(whispersync.ENOTFOUND, "%s %q is not on the block list: see `whispersync blocklist list`", kind, value)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: remove block: %w", err)
	}
	return nil
}

// ListBlocks returns the block list, expired entries included.
func (s *Identity) ListBlocks(ctx context.Context) ([]auth.Block, error) {
	rows, err := s.db.read.QueryContext(ctx, `SELECT kind, value, reason, created_at, expires_at FROM blocklist ORDER BY kind, value`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list blocks: %w", err)
	}
	defer rows.Close()
	var out []auth.Block
	for rows.Next() {
		var b auth.Block
		var createdAt, expiresAt int64
		if err := rows.Scan(&b.Kind, &b.Value, &b.Reason, &createdAt, &expiresAt); err != nil {
			return nil, fmt.Errorf("sqlite: list blocks: %w", err)
		}
		b.CreatedAt, b.ExpiresAt = fromUnixNano(createdAt), fromUnixNano(expiresAt)
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list blocks: %w", err)
	}
	return out, nil
}

// Failures returns the consecutive failed attempts under key and the time
// of the last one.
func (s *Identity) Failures(ctx context.Context, key string) (int, time.Time, error) {
	var n int
	var last int64
	err := s.db.read.QueryRowContext(ctx, `SELECT failures, last_at FROM auth_failures WHERE key = ?`, key).Scan(&n, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, time.Time{}, nil
	}
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("sqlite: failures: %w", err)
	}
	return n, fromUnixNano(last), nil
}

// RecordFailure counts one more failed attempt under key at the given time
// and returns the new count.
func (s *Identity) RecordFailure(ctx context.Context, key string, at time.Time) (int, error) {
	var n int
	err := s.db.write(ctx, func(ctx context.Context, tx *statements) error {
		const upsert = `INSERT INTO auth_failures (key, failures, last_at) VALUES (?, 1, ?)
			ON CONFLICT (key) DO UPDATE SET failures = failures + 1, last_at = excluded.last_at
			RETURNING failures`
		return tx.QueryRowContext(ctx, upsert, key, unixNano(at)).Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: record failure: %w", err)
	}
	return n, nil
}

// ClearFailures deletes the failed attempts under key.
func (s *Identity) ClearFailures(ctx context.Context, key string) error {
	err := s.db.write(ctx, func(ctx context.Context, tx *statements) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM auth_failures WHERE key = ?`, key)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: clear failures: %w", err)
	}
	return nil
}

// TokenPrincipal returns, in one read, the token with this hash, its user
// and when the user was locked (zero if not), or ENOTFOUND. Revoked and
// expired tokens are returned too, for the caller to refuse.
func (s *Identity) TokenPrincipal(ctx context.Context, hash []byte) (*whispersync.Token, *whispersync.User, time.Time, error) {
	const query = `SELECT t.id, t.user_id, t.name, t.hash, t.scopes, t.created_at, t.expires_at, t.revoked_at, t.last_used,
			u.name, u.created_at, COALESCE(l.locked_at, 0)
		FROM tokens t JOIN users u ON u.id = t.user_id LEFT JOIN user_locks l ON l.user_id = t.user_id
		WHERE t.hash = ?`
	var t whispersync.Token
	var u whispersync.User
	var scopes string
	var createdAt, expiresAt, revokedAt, lastUsed, userCreatedAt, lockedAt int64
	err := s.db.read.QueryRowContext(ctx, query, hash).Scan(&t.ID, &t.UserID, &t.Name, &t.Hash, &scopes, &createdAt, &expiresAt, &revokedAt, &lastUsed,
		&u.Name, &userCreatedAt, &lockedAt)
	if errors.Is(err, sql.ErrNoRows) {
		err = whispersync.Errorf(whispersync.ENOTFOUND, "no token has this hash")
	}
	if err != nil {
		return nil, nil, time.Time{}, fmt.Errorf("sqlite: token principal: %w", err)
	}
	if err := json.Unmarshal([]byte(scopes), &t.Scopes); err != nil {
		return nil, nil, time.Time{}, fmt.Errorf("sqlite: token principal: decode scopes of token %q: %w", t.ID, err)
	}
	t.CreatedAt, t.ExpiresAt, t.RevokedAt, t.LastUsed = fromUnixNano(createdAt), fromUnixNano(expiresAt), fromUnixNano(revokedAt), fromUnixNano(lastUsed)
	u.ID, u.CreatedAt = t.UserID, fromUnixNano(userCreatedAt)
	return &t, &u, fromUnixNano(lockedAt), nil
}
