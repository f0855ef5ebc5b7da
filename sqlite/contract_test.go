package sqlite_test

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/sqlite"
	"github.com/whispersync/whispersync/storagetest"
)

// openDB opens a new database in a temporary directory, closed at the end
// of the test.
func openDB(t *testing.T) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "whispersync.db"))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return db
}

func TestTables(t *testing.T) {
	storagetest.Tables(t, func(t *testing.T) whispersync.Tables {
		return openDB(t).Tables()
	})
}

func TestQueue(t *testing.T) {
	storagetest.Queue(t, func(t *testing.T, cfg storagetest.QueueConfig) (whispersync.Queue, whispersync.DeadLetterQueue) {
		q := openDB(t).Queue("memos", sqlite.QueueOptions{MaxReceives: cfg.MaxReceives, Now: cfg.Now})
		return q, q
	})
}

func TestAccounts(t *testing.T) {
	storagetest.Accounts(t, func(t *testing.T) whispersync.Accounts {
		return openDB(t).Accounts()
	})
}

func TestMain(m *testing.M) {
	// Open logs each migration it applies, and every test opens a new
	// database: the lines would bury the test output.
	slog.SetDefault(slog.New(slog.DiscardHandler))
	os.Exit(m.Run())
}
