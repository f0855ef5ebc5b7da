package sqlite

import (
	"context"
	"fmt"
	"strings"
)

// Erased counts what EraseOwner deleted.
type Erased struct {
	Items       int64 `json:"items"`
	SystemItems int64 `json:"system_items"`
	Messages    int64 `json:"messages"`
	DeadLetters int64 `json:"dead_letters"`
	Tokens      int64 `json:"tokens"`
	Users       int64 `json:"users"`
}

// OwnerTables lists the names of the tables that hold items of owner, so
// that an export or an erasure reaches tables added after it was written.
func (db *DB) OwnerTables(ctx context.Context, owner string) ([]string, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT DISTINCT tbl FROM items WHERE owner = ? ORDER BY tbl`, owner)
	if err != nil {
		return nil, fmt.Errorf("sqlite: owner tables: %w", err)
	}
	defer rows.Close()
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, fmt.Errorf("sqlite: owner tables: %w", err)
		}
		tables = append(tables, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: owner tables: %w", err)
	}
	return tables, nil
}

// EraseOwner deletes, in one transaction, every item of owner in every
// table, the items of systemOwner whose key starts with owner and a slash
// (such as outbox entries), the queue messages and dead letters whose JSON
// body names owner in its "owner" field, and the user with id owner and its
// tokens. Deleted rows are overwritten (secure_delete) and the write-ahead
// log is checkpointed and truncated afterwards, so no copy of them stays in
// the database files.
func (db *DB) EraseOwner(ctx context.Context, owner, systemOwner string) (Erased, error) {
	if err := checkItemKey("items", owner, "-"); err != nil {
		return Erased{}, fmt.Errorf("sqlite: erase owner: %w", err)
	}
	var n Erased
	err := db.write(ctx, func(ctx context.Context, tx *statements) error {
		// secure_delete is a setting of the connection, so it is set back
		// to FAST for the other callers of the shared transaction.
		if _, err := tx.ExecContext(ctx, "PRAGMA secure_delete = 1"); err != nil {
			return err
		}
		err := eraseRows(ctx, tx, owner, systemOwner, &n)
		if _, offErr := tx.ExecContext(ctx, "PRAGMA secure_delete = "+secureDeleteFast); err == nil {
			err = offErr
		}
		return err
	})
	if err != nil {
		return Erased{}, fmt.Errorf("sqlite: erase owner: %w", err)
	}
	if err := db.Checkpoint(ctx); err != nil {
		return n, err
	}
	return n, nil
}

func eraseRows(ctx context.Context, tx *statements, owner, systemOwner string, n *Erased) error {
	steps := []struct {
		count *int64
		query string
		args  []any
	}{
		{&n.Items, `DELETE FROM items WHERE owner = ?`, []any{owner}},
		{&n.SystemItems, `DELETE FROM items WHERE owner = ? AND substr(key, 1, ?) = ?`, []any{systemOwner, len(owner) + 1, owner + "/"}},
		{&n.Messages, `DELETE FROM queue_messages WHERE json_valid(body) AND json_extract(body, '$.owner') = ?`, []any{owner}},
		{&n.DeadLetters, `DELETE FROM queue_dead_letters WHERE json_valid(body) AND json_extract(body, '$.owner') = ?`, []any{owner}},
		{&n.Tokens, `DELETE FROM tokens WHERE user_id = ?`, []any{owner}},
		{&n.Users, `DELETE FROM users WHERE id = ?`, []any{owner}},
	}
	for _, s := range steps {
		res, err := tx.ExecContext(ctx, s.query, s.args...)
		if err != nil {
			return fmt.Errorf("%s: %w", strings.Fields(s.query)[2], err)
		}
		if *s.count, err = res.RowsAffected(); err != nil {
			return err
		}
	}
	return nil
}

// Checkpoint copies the write-ahead log into the database file and
// truncates the log. Readers active at the time can keep part of the log
// alive; the next checkpoint, which SQLite runs as the log grows, finishes
// the work.
func (db *DB) Checkpoint(ctx context.Context) error {
	var busy, frames, done int
	if err := db.reader.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &frames, &done); err != nil {
		return fmt.Errorf("sqlite: checkpoint: %w", err)
	}
	return nil
}

// Empty reports whether the database holds no item and no user.
func (db *DB) Empty(ctx context.Context) (bool, error) {
	var found bool
	const q = `SELECT EXISTS (SELECT 1 FROM items) OR EXISTS (SELECT 1 FROM users)`
	if err := db.read.QueryRowContext(ctx, q).Scan(&found); err != nil {
		return false, fmt.Errorf("sqlite: empty: %w", err)
	}
	return !found, nil
}
