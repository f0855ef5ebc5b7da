package sqlite_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/sqlite"
)

func TestSendWithWritesCommitsBoth(t *testing.T) {
	ctx := t.Context()
	db := openDB(t)
	q := db.Queue("memos", sqlite.QueueOptions{})
	writes := []whispersync.Write{{Table: "memos", Item: whispersync.Item{Owner: "u1", Key: "m1", Attrs: map[string]string{"status": "queued"}}, Condition: whispersync.IfAbsent}}
	if _, err := q.SendWithWrites(ctx, writes, []byte(`{"memo":"m1"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Tables().GetItem(ctx, "memos", "u1", "m1"); err != nil {
		t.Errorf("item after send with writes: %v", err)
	}
	msgs, err := q.ReceiveMessage(ctx, 10, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || string(msgs[0].Body) != `{"memo":"m1"}` {
		t.Errorf("messages after send with writes: got %d, want the one sent", len(msgs))
	}
}

func TestSendWithWritesFailedConditionSendsNothing(t *testing.T) {
	ctx := t.Context()
	db := openDB(t)
	q := db.Queue("memos", sqlite.QueueOptions{})
	item := whispersync.Item{Owner: "u1", Key: "m1", Attrs: map[string]string{"status": "queued"}}
	if err := db.Tables().PutItem(ctx, "memos", item, whispersync.Always); err != nil {
		t.Fatal(err)
	}
	writes := []whispersync.Write{
		{Table: "hashes", Item: whispersync.Item{Owner: "u1", Key: "h1"}},
		{Table: "memos", Item: item, Condition: whispersync.IfAbsent},
	}
	_, err := q.SendWithWrites(ctx, writes, []byte(`{"memo":"m1"}`))
	if !whispersync.IsConflict(err) {
		t.Fatalf("send with a failed condition: got %v, want conflict", err)
	}
	if _, err := db.Tables().GetItem(ctx, "hashes", "u1", "h1"); !whispersync.IsNotFound(err) {
		t.Errorf("write before the failed condition: got %v, want rolled back", err)
	}
	visible, inFlight, err := q.Depth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if visible+inFlight != 0 {
		t.Errorf("queue depth after a failed condition: got %d, want 0", visible+inFlight)
	}
}

func TestDeletedKeyLeavesNoTrace(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "whispersync.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	const key = "outbox-key-that-must-vanish"
	for i := range 50 {
		item := whispersync.Item{Owner: "_system", Key: fmt.Sprintf("%s-%02d", key, i), Attrs: map[string]string{"created": "now"}}
		if err := db.Tables().PutItem(ctx, "outbox", item, whispersync.Always); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 50 {
		if err := db.Tables().DeleteItem(ctx, "outbox", "_system", fmt.Sprintf("%s-%02d", key, i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(data, []byte(key)); n > 0 {
		t.Errorf("database file still holds the deleted key %d times", n)
	}
}
