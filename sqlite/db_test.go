package sqlite_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/sqlite"
)

func TestReopenKeepsWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "whispersync.db")
	ctx := t.Context()

	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	item := whispersync.Item{Owner: "u_aaaaaaaaaaaaaaaa", Key: "memo#1", Attrs: map[string]string{"status": "queued"}, Data: []byte("sealed")}
	if err := db.Tables().PutItem(ctx, "memos", item, whispersync.IfAbsent); err != nil {
		t.Fatalf("put item: %v", err)
	}
	msgID, err := db.Queue("memos", sqlite.QueueOptions{}).SendMessage(ctx, []byte("m1"))
	if err != nil {
		t.Fatalf("send message: %v", err)
	}
	user, err := db.Accounts().CreateUser(ctx, "alice")
	if err != nil {
		t.Fatalf("create user: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}

	db, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("open again: %v", err)
	}
	defer db.Close()
	got, err := db.Tables().GetItem(ctx, "memos", item.Owner, item.Key)
	if err != nil || string(got.Data) != "sealed" || got.Attrs["status"] != "queued" || got.Revision != 1 {
		t.Errorf("item after reopening: got %+v, %v; want the item at revision 1", got, err)
	}
	msgs, err := db.Queue("memos", sqlite.QueueOptions{}).ReceiveMessage(ctx, 10, time.Minute)
	if err != nil || len(msgs) != 1 || msgs[0].ID != msgID {
		t.Errorf("messages after reopening: got %+v, %v; want message %q", msgs, err, msgID)
	}
	if u, err := db.Accounts().FindUserByName(ctx, "alice"); err != nil || u.ID != user.ID {
		t.Errorf("user after reopening: got %+v, %v; want %+v", u, err, user)
	}
}

func TestFileModes(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "whispersync.db")
	// An existing file with a wide mode is narrowed.
	if err := os.WriteFile(path, nil, 0o644); err != nil { // #nosec G306 -- the wide mode is what this test narrows
		t.Fatal(err)
	}
	db := openPath(t, path)
	if err := db.Tables().PutItem(t.Context(), "memos", whispersync.Item{Owner: "u", Key: "k"}, whispersync.Always); err != nil {
		t.Fatalf("put item: %v", err)
	}

	for _, name := range []string{path, path + "-wal", path + "-shm"} {
		info, err := os.Stat(name)
		if err != nil {
			t.Fatalf("stat: %v", err)
		}
		if mode := info.Mode().Perm(); mode != 0o600 {
			t.Errorf("mode of %s: got %o, want 600", filepath.Base(name), mode)
		}
	}
}

func TestPathWithURICharacters(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data dir #1")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "memos?.db")
	db := openPath(t, path)
	if err := db.Tables().PutItem(t.Context(), "memos", whispersync.Item{Owner: "u", Key: "k"}, whispersync.Always); err != nil {
		t.Fatalf("put item: %v", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database file: %v", err)
	}
}

func TestWriteAfterClose(t *testing.T) {
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "whispersync.db"))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Errorf("second close: got %v, want nil", err)
	}
	err = db.Tables().PutItem(t.Context(), "memos", whispersync.Item{Owner: "u", Key: "k"}, whispersync.Always)
	if code := whispersync.ErrorCode(err); code != whispersync.EUNAVAILABLE {
		t.Errorf("put after close: got code %q (%v), want %q", code, err, whispersync.EUNAVAILABLE)
	}
}

// TestCloseWaitsForWrites closes the database while writers are busy:
// every write either committed or reports that the database is closed.
func TestCloseWaitsForWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "whispersync.db")
	db, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	tables := db.Tables()

	const writers, closeAfter = 8, 50
	var mu sync.Mutex
	var acked []string
	busy := make(chan struct{})
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := 0; ; i++ {
				key := fmt.Sprintf("w%d-%d", w, i)
				err := tables.PutItem(t.Context(), "memos", whispersync.Item{Owner: "u", Key: key}, whispersync.Always)
				if whispersync.ErrorCode(err) == whispersync.EUNAVAILABLE {
					return
				}
				if err != nil {
					t.Errorf("put %s: %v", key, err)
					return
				}
				mu.Lock()
				acked = append(acked, key)
				if len(acked) == closeAfter {
					close(busy)
				}
				mu.Unlock()
			}
		})
	}
	stopped := make(chan struct{})
	go func() {
		wg.Wait()
		close(stopped)
	}()
	select {
	case <-busy:
	case <-stopped:
		t.Fatalf("writers stopped before %d writes", closeAfter)
	}

	if err := db.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	<-stopped

	db = openPath(t, path)
	for _, key := range acked {
		if _, err := db.Tables().GetItem(t.Context(), "memos", "u", key); err != nil {
			t.Errorf("acknowledged item %s: %v", key, err)
		}
	}
}

func TestUserIDFormat(t *testing.T) {
	accounts := openDB(t).Accounts()
	want := regexp.MustCompile(`^u_[a-z2-7]{16}$`)
	for _, name := range []string{"alice", "bob"} {
		u, err := accounts.CreateUser(t.Context(), name)
		if err != nil {
			t.Fatalf("create user: %v", err)
		}
		if !want.MatchString(u.ID) {
			t.Errorf("id of %s: got %q, want u_ and 16 base32 characters", name, u.ID)
		}
	}
}

func TestNamedQueuesAreSeparate(t *testing.T) {
	db := openDB(t)
	ctx := t.Context()
	work := db.Queue("work", sqlite.QueueOptions{})
	replies := db.Queue("replies", sqlite.QueueOptions{})
	if _, err := work.SendMessage(ctx, []byte("w")); err != nil {
		t.Fatalf("send: %v", err)
	}

	if msgs, err := replies.ReceiveMessage(ctx, 10, time.Minute); err != nil || len(msgs) != 0 {
		t.Errorf("receive from the other queue: got %+v, %v; want none", msgs, err)
	}
	if v, f, err := replies.Depth(ctx); err != nil || v != 0 || f != 0 {
		t.Errorf("depth of the other queue: got %d, %d, %v; want 0, 0", v, f, err)
	}
	msgs, err := work.ReceiveMessage(ctx, 10, time.Minute)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("receive: got %+v, %v; want one message", msgs, err)
	}
	err = replies.DeleteMessage(ctx, msgs[0].ReceiptHandle)
	if code := whispersync.ErrorCode(err); code != whispersync.EINVALID {
		t.Errorf("delete through the other queue: got code %q, want %q", code, whispersync.EINVALID)
	}
}

func TestQueueDefaultMaxReceives(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	q := openDB(t).Queue("memos", sqlite.QueueOptions{Now: func() time.Time { return now }})
	ctx := t.Context()
	if _, err := q.SendMessage(ctx, []byte("m")); err != nil {
		t.Fatalf("send: %v", err)
	}
	for want := 1; want <= 5; want++ {
		msgs, err := q.ReceiveMessage(ctx, 1, time.Second)
		if err != nil || len(msgs) != 1 || msgs[0].ReceiveCount != want {
			t.Fatalf("receive %d: got %+v, %v; want the message", want, msgs, err)
		}
		now = now.Add(2 * time.Second)
	}
	if msgs, err := q.ReceiveMessage(ctx, 1, time.Second); err != nil || len(msgs) != 0 {
		t.Errorf("sixth receive: got %+v, %v; want none", msgs, err)
	}
}

// crashEnv names the database that TestCrashWriter writes to when it runs
// as the child of TestKillKeepsAcknowledgedWrites.
const crashEnv = "WHISPERSYNC_SQLITE_CRASH_DB"

// TestKillKeepsAcknowledgedWrites kills a writing process with SIGKILL and
// checks that every write it acknowledged survived.
func TestKillKeepsAcknowledgedWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	path := filepath.Join(t.TempDir(), "whispersync.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashWriter$") // #nosec G204 G702 -- reruns this test binary
	cmd.Env = append(os.Environ(), crashEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start writer: %v", err)
	}

	const enough = 300
	var items, messages []string
	lines := bufio.NewScanner(out)
	for len(items)+len(messages) < enough && lines.Scan() {
		kind, value, _ := strings.Cut(lines.Text(), " ")
		switch kind {
		case "item":
			items = append(items, value)
		case "message":
			messages = append(messages, value)
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatalf("kill writer: %v", err)
	}
	// Wait only reaps the child: it reports the kill above as an error.
	_ = cmd.Wait()
	if len(items)+len(messages) < enough {
		t.Fatalf("acknowledged writes: got %d before the writer ended, want %d", len(items)+len(messages), enough)
	}

	db := openPath(t, path)
	for _, key := range items {
		if _, err := db.Tables().GetItem(t.Context(), "memos", "u", key); err != nil {
			t.Errorf("acknowledged item %s: %v", key, err)
		}
	}
	received := map[string]bool{}
	q := db.Queue("memos", sqlite.QueueOptions{})
	for {
		msgs, err := q.ReceiveMessage(t.Context(), 10, time.Hour)
		if err != nil {
			t.Fatalf("receive: %v", err)
		}
		if len(msgs) == 0 {
			break
		}
		for _, m := range msgs {
			received[m.ID] = true
		}
	}
	for _, id := range messages {
		if !received[id] {
			t.Errorf("acknowledged message %s: lost", id)
		}
	}
}

// TestCrashWriter writes items and messages and prints each one once its
// write is acknowledged, until it is killed. It runs only as the child of
// TestKillKeepsAcknowledgedWrites.
func TestCrashWriter(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("runs only as the child of TestKillKeepsAcknowledgedWrites")
	}
	db, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	tables, q := db.Tables(), db.Queue("memos", sqlite.QueueOptions{})

	// Bounded, so that a child whose parent died ends by itself.
	const writers, writes = 4, 5000
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range writes {
				var line string
				if i%2 == 0 {
					key := fmt.Sprintf("w%d-%d", w, i)
					if err := tables.PutItem(t.Context(), "memos", whispersync.Item{Owner: "u", Key: key}, whispersync.IfAbsent); err != nil {
						t.Errorf("put: %v", err)
						return
					}
					line = "item " + key
				} else {
					id, err := q.SendMessage(t.Context(), fmt.Appendf(nil, "w%d-%d", w, i))
					if err != nil {
						t.Errorf("send: %v", err)
						return
					}
					line = "message " + id
				}
				mu.Lock()
				fmt.Println(line)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := db.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
}

func openPath(t *testing.T, path string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(t.Context(), path)
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
