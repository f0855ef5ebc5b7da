package backup_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/backup"
	"github.com/whispersync/whispersync/sqlite"
)

func TestTiersAndColdRestore(t *testing.T) {
	ctx := t.Context()
	base := t.TempDir()
	if err := os.MkdirAll(filepath.Join(base, "data"), 0o700); err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(ctx, filepath.Join(base, "data", "whispersync.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	store, err := sqlite.OpenObjectStore(ctx, filepath.Join(base, "data", "objects.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := db.Tables().PutItem(ctx, "data_keys", whispersync.Item{Owner: "u_1", Key: "data#1", Data: []byte("wrapped")}, whispersync.Always); err != nil {
		t.Fatal(err)
	}
	secret := []byte("sealed body")
	v, err := store.PutObject(ctx, "transcripts/u_1/m_1", secret, map[string]string{whispersync.TagClassification: whispersync.ClassSensitive})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.PutObject(ctx, "exports/public", []byte("public"), map[string]string{whispersync.TagClassification: whispersync.ClassPublic}); err != nil {
		t.Fatal(err)
	}

	now := time.Now()
	repo, err := backup.New(backup.Config{
		Dir: filepath.Join(base, "hot"), ColdDir: filepath.Join(base, "cold"),
		Key: bytes.Repeat([]byte{9}, 32), Escrow: backup.OpenEscrow(filepath.Join(base, "cfg", "backup-keys.json"), bytes.Repeat([]byte{8}, 32)),
		Classes: []string{whispersync.ClassSensitive},
		Now:     func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	m, err := repo.Create(ctx, db, store, nil)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if len(m.Objects) != 1 || m.Objects[0].VersionID != v.VersionID {
		t.Fatalf("selected objects: got %+v, want only the sensitive version", m.Objects)
	}

	now = now.Add(8 * 24 * time.Hour)
	res, err := repo.Tier(ctx)
	if err != nil || len(res.Moved) != 1 || res.Blobs != 1 {
		t.Fatalf("tier after 8 days: got %+v, %v; want one backup moved and its blob collected", res, err)
	}
	infos, err := repo.List(ctx)
	if err != nil || len(infos) != 1 || infos[0].Tier != backup.TierCold {
		t.Fatalf("list: got %+v, %v; want one cold backup", infos, err)
	}
	if _, err := repo.Verify(ctx, m.ID, nil); err != nil {
		t.Errorf("verify cold backup: %v", err)
	}
	target := filepath.Join(base, "restored")
	if _, err := repo.Restore(ctx, m.ID, target, nil); err != nil {
		t.Fatalf("restore cold backup: %v", err)
	}
	restored, err := sqlite.OpenObjectStore(ctx, filepath.Join(target, "objects.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer restored.Close()
	if got, err := restored.GetObject(ctx, "transcripts/u_1/m_1", v.VersionID); err != nil || !bytes.Equal(got.Body, secret) {
		t.Errorf("restored object: got %v, %v", got, err)
	}
	rdb, err := sqlite.Open(ctx, filepath.Join(target, "whispersync.db"))
	if err != nil {
		t.Fatal(err)
	}
	if it, err := rdb.Tables().GetItem(ctx, "data_keys", "u_1", "data#1"); err != nil || string(it.Data) != "wrapped" {
		t.Errorf("restored data key: got %q, %v; want the original wrapped key", it.Data, err)
	}
	if err := rdb.Close(); err != nil {
		t.Errorf("close restored database: %v", err)
	}

	now = now.Add(23 * 24 * time.Hour)
	if res, err := repo.Tier(ctx); err != nil || len(res.Deleted) != 1 {
		t.Fatalf("tier after 31 days: got %+v, %v; want one backup deleted", res, err)
	}
	if entries, _ := os.ReadDir(filepath.Join(base, "cold")); len(entries) != 0 {
		t.Errorf("cold location after deletion: %d files left", len(entries))
	}
}
