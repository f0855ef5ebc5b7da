package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/sqlite"
)

func TestSnapshotWhileWriting(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	db := openPath(t, filepath.Join(dir, "live.db"))
	tables := db.Tables()
	put := func(key, data string) {
		t.Helper()
		if err := tables.PutItem(ctx, "memos", whispersync.Item{Owner: "u_aaaaaaaaaaaaaaaa", Key: key, Data: []byte(data)}, whispersync.Always); err != nil {
			t.Fatalf("put %s: %v", key, err)
		}
	}
	put("a", "before")

	snap := filepath.Join(dir, "snap.db")
	if err := db.Snapshot(ctx, snap); err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	put("b", "after")
	if err := db.Snapshot(ctx, snap); whispersync.ErrorCode(err) != whispersync.ECONFLICT {
		t.Errorf("snapshot over an existing file: got %v, want a conflict", err)
	}
	if info, err := os.Stat(snap); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("snapshot mode: got %v, %v; want 0600", info.Mode().Perm(), err)
	}
	if err := sqlite.CheckIntegrity(ctx, snap); err != nil {
		t.Errorf("integrity of the snapshot: %v", err)
	}

	copyDB := openPath(t, snap)
	if _, err := copyDB.Tables().GetItem(ctx, "memos", "u_aaaaaaaaaaaaaaaa", "a"); err != nil {
		t.Errorf("item written before the snapshot: %v", err)
	}
	if _, err := copyDB.Tables().GetItem(ctx, "memos", "u_aaaaaaaaaaaaaaaa", "b"); !whispersync.IsNotFound(err) {
		t.Errorf("item written after the snapshot: got %v, want not found", err)
	}
}

func TestEditSnapshotLeavesNoOldBytes(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	db := openPath(t, filepath.Join(dir, "live.db"))
	secret := bytes.Repeat([]byte("OLDWRAPPEDKEY"), 50)
	if err := db.Tables().PutItem(ctx, "data_keys", whispersync.Item{Owner: "u_aaaaaaaaaaaaaaaa", Key: "data#1", Data: secret}, whispersync.Always); err != nil {
		t.Fatalf("put: %v", err)
	}
	snap := filepath.Join(dir, "snap.db")
	if err := db.Snapshot(ctx, snap); err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	err := sqlite.EditSnapshot(ctx, snap, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE items SET data = ? WHERE tbl = 'data_keys'`, []byte("rewrapped"))
		return err
	})
	if err != nil {
		t.Fatalf("edit snapshot: %v", err)
	}
	raw, err := os.ReadFile(snap)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte("OLDWRAPPEDKEY")) || !bytes.Contains(raw, []byte("rewrapped")) {
		t.Errorf("edited snapshot: old bytes present %v, new bytes present %v; want false, true",
			bytes.Contains(raw, []byte("OLDWRAPPEDKEY")), bytes.Contains(raw, []byte("rewrapped")))
	}
}

func TestEraseOwner(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	path := filepath.Join(dir, "live.db")
	db := openPath(t, path)
	alice, err := db.Accounts().CreateUser(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	bob, err := db.Accounts().CreateUser(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	canary := []byte("CANARY-PAYLOAD-CANARY-PAYLOAD")
	for _, u := range []string{alice.ID, bob.ID} {
		for _, tbl := range []string{"memos", "journal", "data_keys"} {
			if err := db.Tables().PutItem(ctx, tbl, whispersync.Item{Owner: u, Key: "k", Data: append([]byte(u), canary...)}, whispersync.Always); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.Tables().PutItem(ctx, "outbox", whispersync.Item{Owner: "_system", Key: u + "/m_1"}, whispersync.Always); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Queue("memos", sqlite.QueueOptions{}).SendMessage(ctx, []byte(`{"owner":"`+u+`","memo":"m_1","version":1}`)); err != nil {
			t.Fatal(err)
		}
	}

	tables, err := db.OwnerTables(ctx, alice.ID)
	if err != nil || len(tables) != 3 {
		t.Errorf("owner tables: got %v, %v; want 3 tables", tables, err)
	}
	n, err := db.EraseOwner(ctx, alice.ID, "_system")
	if err != nil {
		t.Fatalf("erase: %v", err)
	}
	want := sqlite.Erased{Items: 3, SystemItems: 1, Messages: 1, Users: 1}
	if n != want {
		t.Errorf("erased: got %+v, want %+v", n, want)
	}
	if _, err := db.Accounts().FindUserByID(ctx, alice.ID); !whispersync.IsNotFound(err) {
		t.Errorf("erased user: got %v, want not found", err)
	}
	if items, _ := db.Tables().Query(ctx, whispersync.Query{Table: "memos", Owner: bob.ID}); len(items) != 1 {
		t.Errorf("other user's memos: got %d, want 1", len(items))
	}
	if visible, _, _ := db.Queue("memos", sqlite.QueueOptions{}).Depth(ctx); visible != 1 {
		t.Errorf("messages left: got %d, want 1", visible)
	}
	for _, name := range []string{path, path + "-wal"} {
		raw, err := os.ReadFile(name)
		if err != nil {
			continue
		}
		if bytes.Contains(raw, append([]byte(alice.ID), canary...)) {
			t.Errorf("%s still holds the erased user's payload", filepath.Base(name))
		}
	}
}
