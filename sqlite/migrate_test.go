package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

// openRaw opens a bare writer connection to a new database, for tests of
// the steps that Open runs.
func openRaw(t *testing.T) *sql.DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "raw.db")
	if err := createPrivate(path); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", dsn(path, true, ""))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return db
}

func TestMigrateRunsEachMigrationOnce(t *testing.T) {
	db := openRaw(t)
	ctx := t.Context()
	fsys := fstest.MapFS{
		// Re-running this file would fail on CREATE TABLE and add a row.
		"001_create.sql": {Data: []byte("CREATE TABLE runs (n INTEGER);\nINSERT INTO runs VALUES (1);")},
	}
	for range 2 {
		if err := migrate(ctx, db, fsys); err != nil {
			t.Fatalf("migrate: %v", err)
		}
	}

	fsys["002_more.sql"] = &fstest.MapFile{Data: []byte("INSERT INTO runs VALUES (2);")}
	for range 2 {
		if err := migrate(ctx, db, fsys); err != nil {
			t.Fatalf("migrate with a new file: %v", err)
		}
	}

	var runs, recorded int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM runs`).Scan(&runs); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&recorded); err != nil {
		t.Fatal(err)
	}
	if runs != 2 || recorded != 2 {
		t.Errorf("rows inserted by migrations and recorded versions: got %d and %d, want 2 and 2", runs, recorded)
	}
}

func TestMigrateRollsBackFailedMigration(t *testing.T) {
	db := openRaw(t)
	ctx := t.Context()
	fsys := fstest.MapFS{
		"001_half.sql": {Data: []byte("CREATE TABLE half (n INTEGER);\nINSERT INTO missing VALUES (1);")},
	}
	if err := migrate(ctx, db, fsys); err == nil || !strings.Contains(err.Error(), "001_half") {
		t.Fatalf("migrate with a failing file: got %v, want an error naming 001_half", err)
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_schema WHERE name = 'half'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("tables left by the failed migration: got %d, want 0", n)
	}
}

func TestMigrateRejectsBadFiles(t *testing.T) {
	tests := []struct {
		name string
		fsys fstest.MapFS
	}{
		{"bad name", fstest.MapFS{"1_items.sql": {Data: []byte("SELECT 1;")}}},
		{"gap", fstest.MapFS{"001_a.sql": {Data: []byte("SELECT 1;")}, "003_c.sql": {Data: []byte("SELECT 1;")}}},
		{"not starting at 1", fstest.MapFS{"002_b.sql": {Data: []byte("SELECT 1;")}}},
		{"upper case", fstest.MapFS{"001_Items.sql": {Data: []byte("SELECT 1;")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := migrate(t.Context(), openRaw(t), tt.fsys); err == nil {
				t.Errorf("migrate: got nil, want an error")
			}
		})
	}
}

func TestMigrateRefusesNewerSchema(t *testing.T) {
	db := openRaw(t)
	ctx := t.Context()
	two := fstest.MapFS{"001_a.sql": {Data: []byte("SELECT 1;")}, "002_b.sql": {Data: []byte("SELECT 1;")}}
	if err := migrate(ctx, db, two); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	one := fstest.MapFS{"001_a.sql": {Data: []byte("SELECT 1;")}}
	if err := migrate(ctx, db, one); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("migrate with fewer files than applied: got %v, want an error about a newer schema", err)
	}
}

func TestEmbeddedMigrationsLoad(t *testing.T) {
	ms, err := loadMigrations(migrationFiles)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if len(ms) == 0 {
		t.Fatal("migrations: got none, want the embedded files")
	}
}

func TestOpenPragmas(t *testing.T) {
	db, err := Open(t.Context(), filepath.Join(t.TempDir(), "whispersync.db"))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer db.Close()

	writer := func(ctx context.Context, pragma string) (string, error) {
		var got string
		err := db.write(ctx, func(ctx context.Context, tx *statements) error {
			return tx.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got)
		})
		return got, err
	}
	reader := func(ctx context.Context, pragma string) (string, error) {
		var got string
		err := db.read.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got)
		return got, err
	}
	tests := []struct {
		conn   string
		query  func(ctx context.Context, pragma string) (string, error)
		pragma string
		want   string
	}{
		{"writer", writer, "journal_mode", "wal"},
		{"writer", writer, "synchronous", "2"}, // FULL
		{"writer", writer, "foreign_keys", "1"},
		{"writer", writer, "busy_timeout", "5000"},
		{"reader", reader, "query_only", "1"},
		{"reader", reader, "foreign_keys", "1"},
		{"reader", reader, "busy_timeout", "5000"},
	}
	for _, tt := range tests {
		got, err := tt.query(t.Context(), tt.pragma)
		if err != nil {
			t.Fatalf("%s pragma %s: %v", tt.conn, tt.pragma, err)
		}
		if got != tt.want {
			t.Errorf("%s pragma %s: got %s, want %s", tt.conn, tt.pragma, got, tt.want)
		}
	}
}
