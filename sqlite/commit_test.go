package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/whispersync/whispersync"
)

func openTest(t *testing.T) *DB {
	t.Helper()
	db, err := Open(t.Context(), filepath.Join(t.TempDir(), "whispersync.db"))
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

// holdCommitter occupies the committer inside a transaction until the
// returned function is called, so that writes sent meanwhile queue up and
// share the next commit. The function waits for the held write to finish.
func holdCommitter(t *testing.T, db *DB) (release func()) {
	t.Helper()
	entered, unblock := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- db.write(t.Context(), func(ctx context.Context, tx *statements) error {
			close(entered)
			<-unblock
			return nil
		})
	}()
	<-entered
	return func() {
		close(unblock)
		if err := <-done; err != nil {
			t.Errorf("held write: %v", err)
		}
	}
}

// waitQueued waits until n writes wait for the committer.
func waitQueued(t *testing.T, db *DB, n int) {
	t.Helper()
	for len(db.requests) < n {
		time.Sleep(100 * time.Microsecond)
	}
}

func TestGroupCommitIsolatesFailedCallers(t *testing.T) {
	db := openTest(t)
	tables := db.Tables()
	ctx := t.Context()
	if err := tables.PutItem(ctx, "memos", whispersync.Item{Owner: "u", Key: "taken"}, whispersync.Always); err != nil {
		t.Fatalf("put: %v", err)
	}

	release := holdCommitter(t, db)
	commitsBefore := db.stats.commits.Load()

	const callers = 9
	results := make([]error, callers+1)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			item := whispersync.Item{Owner: "u", Key: fmt.Sprintf("k%d", i)}
			cond := whispersync.Always
			if i%3 == 0 {
				// A transaction whose second write fails its condition.
				results[i] = tables.TransactWrite(ctx, []whispersync.Write{
					{Table: "memos", Item: item},
					{Table: "memos", Item: whispersync.Item{Owner: "u", Key: "taken"}, Condition: whispersync.IfAbsent},
				})
				return
			}
			results[i] = tables.PutItem(ctx, "memos", item, cond)
		})
	}
	// A caller whose statement fails after it wrote.
	wg.Go(func() {
		results[callers] = db.write(ctx, func(ctx context.Context, tx *statements) error {
			w, err := prepareWrite(whispersync.Write{Table: "memos", Item: whispersync.Item{Owner: "u", Key: "partial"}})
			if err != nil {
				return err
			}
			if err := w.apply(ctx, tx); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO no_such_table VALUES (1)`)
			return err
		})
	})
	waitQueued(t, db, callers+1)
	release()
	wg.Wait()

	if got := db.stats.commits.Load() - commitsBefore; got != 2 {
		t.Errorf("commits for the held write and the queued callers: got %d, want 2", got)
	}
	for i := range callers {
		_, err := tables.GetItem(ctx, "memos", "u", fmt.Sprintf("k%d", i))
		if i%3 == 0 {
			if !whispersync.IsConflict(results[i]) || !whispersync.IsNotFound(err) {
				t.Errorf("caller %d with a failed condition: got %v and item error %v, want a conflict and no item", i, results[i], err)
			}
			continue
		}
		if results[i] != nil || err != nil {
			t.Errorf("caller %d: got %v and item error %v, want both nil", i, results[i], err)
		}
	}
	if results[callers] == nil {
		t.Errorf("caller with a failing statement: got nil, want its error")
	}
	if _, err := tables.GetItem(ctx, "memos", "u", "partial"); !whispersync.IsNotFound(err) {
		t.Errorf("item of the failed caller: got %v, want not found", err)
	}
}

func TestGroupCommitSkipsCanceledCallers(t *testing.T) {
	db := openTest(t)
	tables := db.Tables()

	release := holdCommitter(t, db)
	ctx, cancel := context.WithCancel(t.Context())
	result := make(chan error, 1)
	go func() {
		result <- tables.PutItem(ctx, "memos", whispersync.Item{Owner: "u", Key: "k"}, whispersync.Always)
	}()
	waitQueued(t, db, 1)
	cancel()
	release()

	if err := <-result; !errors.Is(err, context.Canceled) {
		t.Errorf("put canceled while queued: got %v, want context.Canceled", err)
	}
	if _, err := tables.GetItem(t.Context(), "memos", "u", "k"); !whispersync.IsNotFound(err) {
		t.Errorf("item of the canceled put: got %v, want not found", err)
	}
}
