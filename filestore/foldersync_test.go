package filestore

import (
	"sync"
	"testing"
)

func TestFolderSyncSharesRounds(t *testing.T) {
	c, err := openFolders(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	f := c.root

	mark := f.mark()
	if err := f.syncSince(mark); err != nil {
		t.Fatalf("first sync: %v", err)
	}
	if err := f.syncSince(mark); err != nil {
		t.Fatalf("second sync: %v", err)
	}
	if got := f.mark(); got != 1 {
		t.Errorf("rounds after two waits for one mark: got %d, want 1", got)
	}
	if err := f.syncAfterChange(); err != nil {
		t.Fatalf("sync after change: %v", err)
	}
	if got := f.mark(); got != 2 {
		t.Errorf("rounds after a later change: got %d, want 2", got)
	}
}

func TestFolderSyncConcurrentWaiters(t *testing.T) {
	c, err := openFolders(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	f := c.root

	const waiters = 32
	var wg sync.WaitGroup
	for range waiters {
		wg.Go(func() {
			mark := f.mark()
			if err := f.syncSince(mark); err != nil {
				t.Errorf("sync: %v", err)
				return
			}
			f.syncs.mu.Lock()
			completed := f.syncs.completed
			f.syncs.mu.Unlock()
			if completed <= mark {
				t.Errorf("completed round after wait: got %d, want above %d", completed, mark)
			}
		})
	}
	wg.Wait()
	if got := f.mark(); got > waiters {
		t.Errorf("rounds: got %d, want at most %d", got, waiters)
	}
}

func TestAcquireWaitsForParents(t *testing.T) {
	c, err := openFolders(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()

	f, err := c.acquire("a/b/c")
	if err != nil {
		t.Fatalf("acquire: %v", err)
	}
	defer c.release(f)
	if got := len(f.needs); got != 3 {
		t.Errorf("syncs needed by a new folder three deep: got %d, want 3", got)
	}
	if err := c.waitDurable(f); err != nil {
		t.Fatalf("wait durable: %v", err)
	}
	if f.needs != nil {
		t.Errorf("syncs needed after the wait: got %d, want none", len(f.needs))
	}
	if got := c.root.mark(); got == 0 {
		t.Error("rounds of the root after a new folder below it: got 0, want at least 1")
	}
}
