package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"github.com/whispersync/whispersync"
)

// Snapshot writes a consistent copy of the database to path with VACUUM
// INTO, while other connections keep reading and writing: the copy holds
// every write committed before it started and none after. path must not
// exist; the copy gets mode 0600. It holds no free pages, so rows deleted
// before the snapshot leave nothing behind in it.
func (db *DB) Snapshot(ctx context.Context, path string) error {
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		return whispersync.Errorf(whispersync.ECONFLICT, "snapshot file %s already exists: remove it or choose another path", path)
	}
	if err := createPrivate(path); err != nil {
		return fmt.Errorf("sqlite: snapshot: %w", err)
	}
	// VACUUM INTO refuses a target that is not empty, and the empty file
	// created above keeps the mode; removing it first would let SQLite
	// create the file with the process's umask.
	// The reader pool is query_only, which refuses VACUUM INTO, and the
	// writer belongs to the committer, so the snapshot has its own
	// connection; in WAL mode it reads without blocking writers.
	var seq int
	var name, live string
	if err := db.reader.QueryRowContext(ctx, "PRAGMA database_list").Scan(&seq, &name, &live); err != nil {
		return fmt.Errorf("sqlite: snapshot: locate database: %w", err)
	}
	conn, err := sql.Open("sqlite", fileDSN(live))
	if err != nil {
		return fmt.Errorf("sqlite: snapshot: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "VACUUM INTO ?", path); err != nil {
		return fmt.Errorf("sqlite: snapshot: %w", err)
	}
	if err := conn.Close(); err != nil {
		return fmt.Errorf("sqlite: snapshot: %w", err)
	}
	return nil
}

// EditSnapshot opens the database file at path, which no DB may have open,
// runs fn in one transaction on it, then vacuums the file so that nothing
// fn replaced or deleted survives in free pages. The backup package uses it
// to rewrap data keys in a snapshot before sealing it.
func EditSnapshot(ctx context.Context, path string, fn func(ctx context.Context, tx *sql.Tx) error) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("sqlite: edit snapshot: %w", err)
	}
	if _, err := os.Stat(abs); err != nil {
		return fmt.Errorf("sqlite: edit snapshot: %w", err)
	}
	conn, err := sql.Open("sqlite", snapshotDSN(abs))
	if err != nil {
		return fmt.Errorf("sqlite: edit snapshot: %w", err)
	}
	defer conn.Close()
	conn.SetMaxOpenConns(1)

	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: edit snapshot: %w", err)
	}
	if err := fn(ctx, tx); err != nil {
		return errors.Join(fmt.Errorf("sqlite: edit snapshot: %w", err), tx.Rollback())
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: edit snapshot: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "VACUUM"); err != nil {
		return fmt.Errorf("sqlite: edit snapshot: vacuum: %w", err)
	}
	if err := conn.Close(); err != nil {
		return fmt.Errorf("sqlite: edit snapshot: %w", err)
	}
	return restrictFiles(abs)
}

// CheckIntegrity runs SQLite's integrity check on the database file at
// path, which no DB may have open, and fails unless it reports ok.
func CheckIntegrity(ctx context.Context, path string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("sqlite: check integrity: %w", err)
	}
	conn, err := sql.Open("sqlite", snapshotDSN(abs))
	if err != nil {
		return fmt.Errorf("sqlite: check integrity: %w", err)
	}
	defer conn.Close()
	var result string
	if err := conn.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&result); err != nil {
		return fmt.Errorf("sqlite: check integrity: %w", err)
	}
	if result != "ok" {
		return fmt.Errorf("sqlite: check integrity: database %s: %s", path, result)
	}
	return nil
}

// snapshotDSN opens a standalone database file with a rollback journal,
// which SQLite deletes at commit, and with secure_delete, so that content
// removed from it is overwritten rather than left in free pages.
func snapshotDSN(abs string) string {
	return fileDSN(abs, "journal_mode(DELETE)", "secure_delete(1)", "synchronous(FULL)")
}

// fileDSN names the database file abs with a busy timeout and pragmas.
func fileDSN(abs string, pragmas ...string) string {
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeoutMillis))
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	return u.String() + "?" + q.Encode()
}
