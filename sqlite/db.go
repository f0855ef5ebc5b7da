// Package sqlite keeps WhisperSync's tables, queues and accounts in one
// SQLite database, and its objects in a second (see ObjectStore), through
// the pure-Go driver modernc.org/sqlite.
//
// # Durability
//
// The database runs in WAL mode with synchronous=FULL: a write is durable,
// across a killed process and a power loss, when the call that made it
// returns.
//
// # Group commit
//
// Every write goes through one writer connection owned by a committer
// goroutine. The committer takes all writes that are waiting, applies each
// caller's writes inside its own savepoint of one transaction, commits once
// and then answers every caller. A caller whose condition fails is rolled
// back to its savepoint alone, and the others commit. One fsync thus serves many
// concurrent callers, which is what lets a disk that needs a quarter of a
// millisecond per fsync carry thousands of writes a second.
//
// Reads use a separate pool of read-only connections and see every write
// whose call has returned.
//
// # Schema
//
// The schema is built by the numbered files in migrations/, applied in order
// and recorded in the schema_migrations table, so opening a database applies
// only the files it has not seen.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/whispersync/whispersync"
)

// busyTimeoutMillis bounds how long a connection waits for a lock held by
// another process, such as a backup tool, before failing with SQLITE_BUSY.
const busyTimeoutMillis = 5000

// walSizeLimit truncates the write-ahead log back to this many bytes after a
// checkpoint, so a burst of writes does not leave a large file behind.
const walSizeLimit = 64 << 20

// DB is an open database. Its methods are safe for concurrent use.
type DB struct {
	// writer is a pool of one connection: migrations use it through
	// database/sql transactions, then the committer takes the connection
	// as conn and runs its transactions itself.
	writer *sql.DB
	conn   *sql.Conn
	// tx runs statements on conn. Only the committer uses it.
	tx     *statements
	reader *sql.DB
	read   *statements

	// mu guards closed and the send side of requests: Close takes it
	// exclusively, so no caller sends on a closed channel.
	mu       sync.RWMutex
	closed   bool
	requests chan *writeRequest
	// committed is closed when the committer has answered every request
	// and returned.
	committed chan struct{}
	stats     commitStats
}

// Open opens the database at path, creating it with mode 0600 when it does
// not exist, and applies the migrations it has not seen yet.
func Open(ctx context.Context, path string) (*DB, error) {
	return open(ctx, path, migrationFiles, secureDeleteFast)
}

// Values of SQLite's secure_delete setting. With secureDeleteFast, SQLite
// zeroes deleted content inside the pages it writes anyway, so ids of
// deleted rows do not linger in the free space of table and index pages.
// With secureDeleteOn it also zeroes freed pages, at the cost of extra
// writes.
const (
	secureDeleteFast = "FAST"
	secureDeleteOn   = "1"
)

// open opens the database at path with the schema built by migrations and
// the given secure_delete setting.
func open(ctx context.Context, path string, migrations fs.FS, secureDelete string) (*DB, error) {
	if path == "" {
		return nil, whispersync.Errorf(whispersync.EINVALID, "sqlite: open: empty database path: name a file such as data/whispersync.db")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	if err := createPrivate(abs); err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}

	db := &DB{
		requests:  make(chan *writeRequest, maxBatch),
		committed: make(chan struct{}),
	}
	db.writer, err = sql.Open("sqlite", dsn(abs, true, secureDelete))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	// SQLite admits one writer at a time, so a single connection turns
	// contention into a queue in front of the committer instead of
	// SQLITE_BUSY retries.
	db.writer.SetMaxOpenConns(1)
	db.writer.SetMaxIdleConns(1)
	db.writer.SetConnMaxLifetime(0)
	db.writer.SetConnMaxIdleTime(0)

	if err := migrate(ctx, db.writer, migrations); err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", errors.Join(err, db.writer.Close()))
	}
	// The WAL and shared-memory files exist now. SQLite gives them the
	// mode of the database file, and this makes sure of it.
	if err := restrictFiles(abs); err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", errors.Join(err, db.writer.Close()))
	}

	if db.conn, err = db.writer.Conn(ctx); err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", errors.Join(err, db.writer.Close()))
	}
	db.tx = newStatements(db.conn)

	db.reader, err = sql.Open("sqlite", dsn(abs, false, ""))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", errors.Join(err, db.conn.Close(), db.writer.Close()))
	}
	readers := max(4, runtime.GOMAXPROCS(0))
	db.reader.SetMaxOpenConns(readers)
	db.reader.SetMaxIdleConns(readers)
	if err := db.reader.PingContext(ctx); err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", errors.Join(err, db.conn.Close(), db.writer.Close(), db.reader.Close()))
	}
	db.read = newStatements(db.reader)

	go db.commitLoop()
	return db, nil
}

// Close waits for the writes already accepted to commit, rejects new ones
// with EUNAVAILABLE and closes the connections. Closing twice is harmless.
func (db *DB) Close() error {
	db.mu.Lock()
	if db.closed {
		db.mu.Unlock()
		return nil
	}
	db.closed = true
	close(db.requests)
	db.mu.Unlock()

	<-db.committed
	err := errors.Join(
		db.read.close(), db.reader.Close(),
		db.tx.close(), db.conn.Close(), db.writer.Close(),
	)
	if err != nil {
		return fmt.Errorf("sqlite: close: %w", err)
	}
	return nil
}

// dsn returns the driver's data source name for the database at the
// absolute path abs. The path travels as a file: URI so that characters such
// as '?' and '#' in it stay part of the name.
func dsn(abs string, writer bool, secureDelete string) string {
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeoutMillis))
	q.Add("_pragma", "foreign_keys(1)")
	if writer {
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(FULL)")
		q.Add("_pragma", fmt.Sprintf("journal_size_limit(%d)", walSizeLimit))
		// BEGIN IMMEDIATE takes the write lock at the start, so a
		// transaction never fails halfway on a lock upgrade.
		q.Set("_txlock", "immediate")
		if secureDelete != "" {
			q.Add("_pragma", "secure_delete("+secureDelete+")")
		}
	} else {
		q.Add("_pragma", "query_only(1)")
	}
	return u.String() + "?" + q.Encode()
}

// EachItemData calls fn with the data of every item of table in the
// database at path. It reads through a query-only connection, so it works
// while another process holds the database, and it never creates one.
func EachItemData(ctx context.Context, path, table string, fn func(data []byte) error) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("sqlite: read %s: %w", path, err)
	}
	if _, err := os.Stat(abs); err != nil {
		return fmt.Errorf("sqlite: read %s: %w", path, err)
	}
	db, err := sql.Open("sqlite", dsn(abs, false, ""))
	if err != nil {
		return fmt.Errorf("sqlite: read %s: %w", path, err)
	}
	defer db.Close()

	rows, err := db.QueryContext(ctx, `SELECT data FROM items WHERE tbl = ?`, table)
	if err != nil {
		return fmt.Errorf("sqlite: read %s: %w", path, err)
	}
	defer rows.Close()
	for rows.Next() {
		var data []byte
		if err := rows.Scan(&data); err != nil {
			return fmt.Errorf("sqlite: read %s: %w", path, err)
		}
		if err := fn(data); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlite: read %s: %w", path, err)
	}
	return nil
}

// createPrivate creates the database file with mode 0600 when it does not
// exist, syncs its directory so the new entry survives a power loss, and
// narrows the mode of an existing file to 0600.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case errors.Is(err, os.ErrExist):
		return os.Chmod(path, 0o600)
	case err != nil:
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	dir, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer dir.Close()
	return dir.Sync()
}

// restrictFiles sets mode 0600 on the database file and its WAL and
// shared-memory files, where they exist.
func restrictFiles(path string) error {
	for _, name := range []string{path, path + "-wal", path + "-shm"} {
		err := os.Chmod(name, 0o600)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}
