package app_test

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/agent/memory"
	"github.com/whispersync/whispersync/app"
	"github.com/whispersync/whispersync/pipeline"
	"github.com/whispersync/whispersync/residency"
	"github.com/whispersync/whispersync/seal"
	"github.com/whispersync/whispersync/sqlite"
)

// canary is planted in one user's memos; after the erasure it must be
// nowhere.
const canary = "Zephyrine Quolldrake"

// syncBuffer is a log sink shared by the app's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type opsEnv struct {
	base string
	cfg  app.Config
	logs *syncBuffer
}

func newOpsEnv(t *testing.T) opsEnv {
	base := t.TempDir()
	logs := &syncBuffer{}
	return opsEnv{base: base, logs: logs, cfg: app.Config{
		DataDir: filepath.Join(base, "data"),
		KeyFile: filepath.Join(base, "config", "keyring.json"),
		Logger:  slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Backup:  app.BackupConfig{Dir: filepath.Join(base, "backups"), ColdDir: filepath.Join(base, "cold")},
	}}
}

func (e opsEnv) open(t *testing.T, dataDir string) *app.App {
	t.Helper()
	cfg := e.cfg
	cfg.DataDir = dataDir
	a, err := app.Open(t.Context(), cfg)
	if err != nil {
		t.Fatalf("app.Open %s: %v", dataDir, err)
	}
	t.Cleanup(func() {
		if err := a.Close(); err != nil {
			t.Errorf("close app in %s: %v", dataDir, err)
		}
	})
	return a
}

func opsUser(t *testing.T, a *app.App, name string) *whispersync.User {
	t.Helper()
	u, _, err := a.User(t.Context(), name, true)
	if err != nil {
		t.Fatalf("user %s: %v", name, err)
	}
	return u
}

func submitAll(t *testing.T, a *app.App, u *whispersync.User, texts ...string) {
	t.Helper()
	ctx := t.Context()
	for i, text := range texts {
		if _, err := a.Pipeline.Submit(ctx, pipeline.Submission{Actor: operator, Owner: u.ID, Source: u.Name + string(rune('a'+i)) + ".txt", Raw: []byte(text)}); err != nil {
			t.Fatalf("submit: %v", err)
		}
	}
	if _, err := a.Pipeline.Drain(ctx, pipeline.WorkerOptions{}); err != nil {
		t.Fatalf("drain: %v", err)
	}
}

// userView is what the read API shows of one user.
type userView struct {
	Memos    []pipeline.MemoView
	Memories []pipeline.MemoryHit
	Ideas    []pipeline.IdeaView
	Journal  []pipeline.JournalWeek
}

func viewOf(t *testing.T, a *app.App, name string) userView {
	t.Helper()
	ctx := t.Context()
	u, _, err := a.User(ctx, name, false)
	if err != nil {
		t.Fatalf("user %s: %v", name, err)
	}
	var v userView
	if v.Memos, err = a.Pipeline.ListMemos(ctx, operator, u.ID, pipeline.ListOptions{}); err != nil {
		t.Fatalf("list memos: %v", err)
	}
	if v.Memories, err = a.Pipeline.SearchMemories(ctx, operator, u.ID, "", memory.Filter{}); err != nil {
		t.Fatalf("search memories: %v", err)
	}
	if v.Ideas, err = a.Pipeline.ListIdeas(ctx, operator, u.ID); err != nil {
		t.Fatalf("list ideas: %v", err)
	}
	weeks := map[string]bool{}
	for _, m := range v.Memos {
		for _, o := range m.Outputs {
			if o.Table == "journal" {
				weeks[strings.SplitN(o.Key, "#", 2)[0]] = true
			}
		}
	}
	for w := range weeks {
		j, err := a.Pipeline.Journal(ctx, operator, u.ID, w)
		if err != nil {
			t.Fatalf("journal %s: %v", w, err)
		}
		v.Journal = append(v.Journal, j)
	}
	return v
}

func TestBackupRestoreRebuildsTheSameData(t *testing.T) {
	env := newOpsEnv(t)
	ctx := t.Context()
	a := env.open(t, env.cfg.DataDir)
	alice := opsUser(t, a, "alice")
	submitAll(t, a, alice, memoryMemo, workMemo, "An app idea: a Go CLI that scales recipes and exports a shopping list, built with SQLite.")

	m, err := a.CreateBackup(ctx, operator, nil)
	if err != nil {
		t.Fatalf("create backup: %v", err)
	}
	// A second backup shares the object versions of the first.
	m2, err := a.CreateBackup(ctx, operator, nil)
	if err != nil {
		t.Fatalf("second backup: %v", err)
	}
	if !reflect.DeepEqual(m.Blobs, m2.Blobs) {
		t.Errorf("blobs of the second backup: got %v, want those of the first %v", m2.Blobs, m.Blobs)
	}
	if _, err := a.VerifyBackup(ctx, operator, m.ID, nil); err != nil {
		t.Errorf("verify: %v", err)
	}

	target := filepath.Join(env.base, "restored")
	if _, err := a.RestoreBackup(ctx, operator, m.ID, target, env.cfg, nil); err != nil {
		t.Fatalf("restore: %v", err)
	}
	want := viewOf(t, a, "alice")
	if len(want.Memos) != 3 || len(want.Memories) == 0 || len(want.Ideas) == 0 || len(want.Journal) == 0 {
		t.Fatalf("source view: got %d memos, %d memories, %d ideas, %d journal weeks; want some of each", len(want.Memos), len(want.Memories), len(want.Ideas), len(want.Journal))
	}
	restored := env.open(t, target)
	if got := viewOf(t, restored, "alice"); !reflect.DeepEqual(got, want) {
		t.Errorf("restored view:\ngot  %+v\nwant %+v", got, want)
	}

	if _, err := a.RestoreBackup(ctx, operator, m.ID, target, env.cfg, nil); whispersync.ErrorCode(err) != whispersync.ECONFLICT {
		t.Errorf("restore into a non-empty folder: got %v, want a conflict", err)
	}

	res, err := a.DrillBackup(ctx, operator, nil)
	if err != nil || !res.OK || res.BackupID != m2.ID {
		t.Errorf("drill: got %+v, %v; want a passed drill of %s", res, err, m2.ID)
	}
	last, err := a.LastDrill()
	if err != nil || last.BackupID != m2.ID || !last.OK {
		t.Errorf("last drill: got %+v, %v", last, err)
	}

	// A restore that fails half-way leaves the target folder empty, so a
	// retry can use it.
	blobs, err := filepath.Glob(filepath.Join(env.cfg.Backup.Dir, "blobs", "*", "*"))
	if err != nil || len(blobs) == 0 {
		t.Fatalf("find backup blobs: %v (found %d)", err, len(blobs))
	}
	for _, b := range blobs {
		data, err := os.ReadFile(b)
		if err != nil {
			t.Fatal(err)
		}
		data[len(data)/2] ^= 0xff
		// #nosec G703 -- b is a blob path globbed inside the test's own backup folder
		if err := os.WriteFile(b, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	broken := filepath.Join(env.base, "broken")
	if _, err := a.RestoreBackup(ctx, operator, m.ID, broken, env.cfg, nil); err == nil {
		t.Fatal("restore from corrupted blobs succeeded")
	}
	if _, err := os.Stat(broken); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("failed restore left %s behind (stat: %v)", broken, err)
	}
}

func TestEraseReachesEverything(t *testing.T) {
	env := newOpsEnv(t)
	ctx := t.Context()
	a := env.open(t, env.cfg.DataDir)
	alice, bob := opsUser(t, a, "alice"), opsUser(t, a, "bob")
	planted := strings.Replace(memoryMemo, "Lucia", canary, 1)
	submitAll(t, a, alice, planted, strings.Replace(workMemo, "Gordon", canary, 1), "not valid ${"+canary+"}")
	submitAll(t, a, bob, memoryMemo)
	bobBefore := viewOf(t, a, "bob")

	old, err := a.CreateBackup(ctx, operator, nil)
	if err != nil {
		t.Fatalf("backup: %v", err)
	}

	var export bytes.Buffer
	if err := a.ExportUser(ctx, operator, alice, &export); err != nil {
		t.Fatalf("export: %v", err)
	}
	if !zipContains(t, export.Bytes(), canary) {
		t.Errorf("export of alice: want the planted phrase in it")
	}

	receipt, err := a.EraseUser(ctx, operator, alice)
	if err != nil {
		t.Fatalf("erase: %v", err)
	}
	if err := receipt.Verify(a.ReceiptPublicKey()); err != nil || !receipt.KeysDestroyed || receipt.Erased["items"] == 0 {
		t.Errorf("receipt: got %+v, %v", receipt, err)
	}
	if strings.Contains(receipt.Pseudonym, alice.ID) || strings.Contains(receipt.Pseudonym, "alice") {
		t.Errorf("receipt pseudonym %q names the user", receipt.Pseudonym)
	}
	if _, _, err := a.User(ctx, "alice", false); !whispersync.IsNotFound(err) {
		t.Errorf("erased user: got %v, want not found", err)
	}
	if got := viewOf(t, a, "bob"); !reflect.DeepEqual(got, bobBefore) {
		t.Errorf("bob after the erasure:\ngot  %+v\nwant %+v", got, bobBefore)
	}
	newer, err := a.CreateBackup(ctx, operator, nil)
	if err != nil {
		t.Fatalf("backup after the erasure: %v", err)
	}

	// Decrypt the old backup with every key that remains, without the
	// ledger: alice's data keys are gone from it, so nothing of hers opens.
	raw := filepath.Join(env.base, "raw")
	if _, err := a.Backups().Restore(ctx, old.ID, raw, nil); err != nil {
		t.Fatalf("raw restore: %v", err)
	}
	assertNoCanary(t, raw)
	assertSealedClosed(t, a, raw, alice.ID)

	// A restore of the old backup applies the ledger: alice stays erased.
	target := filepath.Join(env.base, "restored")
	if _, err := a.RestoreBackup(ctx, operator, old.ID, target, env.cfg, nil); err != nil {
		t.Fatalf("restore: %v", err)
	}
	restored := env.open(t, target)
	if _, _, err := restored.User(ctx, "alice", false); !whispersync.IsNotFound(err) {
		t.Errorf("alice after restoring an older backup: got %v, want not found", err)
	}
	if got := viewOf(t, restored, "bob"); !reflect.DeepEqual(got, bobBefore) {
		t.Errorf("bob after the restore:\ngot  %+v\nwant %+v", got, bobBefore)
	}
	// Close both, so the files scanned below are final.
	if err := restored.Close(); err != nil {
		t.Fatalf("close restored app: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("close app: %v", err)
	}

	for _, dir := range []string{env.cfg.DataDir, target, env.cfg.Backup.Dir, filepath.Dir(env.cfg.KeyFile)} {
		assertNoCanary(t, dir)
	}
	if strings.Contains(env.logs.String(), canary) || strings.Contains(env.logs.String(), "alice") {
		t.Errorf("the logs name the erased user or the planted phrase")
	}
	_ = newer
}

// assertNoCanary fails when any file under dir contains the planted phrase.
func assertNoCanary(t *testing.T, dir string) {
	t.Helper()
	eachFile(t, dir, func(name string, data []byte) {
		if bytes.Contains(data, []byte(canary)) {
			t.Errorf("%s holds the planted phrase", filepath.Join(dir, name))
		}
	})
}

// eachFile calls fn with the name, relative to dir, and the content of
// every regular file under dir. It reads through an os.Root, so a symbolic
// link cannot lead it outside dir.
func eachFile(t *testing.T, dir string, fn func(name string, data []byte)) {
	t.Helper()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatalf("open %s: %v", dir, err)
	}
	defer func() { _ = root.Close() }() // read only: nothing to flush
	fsys := root.FS()
	err = fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		fn(name, data)
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", dir, err)
	}
}

// assertSealedClosed opens the database restored in dir and checks that
// no item of owner opens with the keys that remain.
func assertSealedClosed(t *testing.T, a *app.App, dir, owner string) {
	t.Helper()
	ctx := t.Context()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "whispersync.db"))
	if err != nil {
		t.Fatalf("open raw database: %v", err)
	}
	defer db.Close()
	sealer := seal.NewSealer(a.Keyring, db.Tables(), seal.SealerOptions{Logger: slog.New(slog.DiscardHandler)})
	tables, err := db.OwnerTables(ctx, owner)
	if err != nil {
		t.Fatal(err)
	}
	opened := 0
	for _, table := range tables {
		items, err := db.Tables().Query(ctx, whispersync.Query{Table: table, Owner: owner})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			if len(it.Data) == 0 || table == seal.DataKeysTable {
				continue
			}
			if plain, err := sealer.Open(ctx, seal.Identity{Owner: owner, Kind: table, ID: it.Key}, it.Data); err == nil {
				opened++
				if bytes.Contains(plain, []byte(canary)) {
					t.Errorf("item %s/%s of the old backup opens and holds the planted phrase", table, it.Key)
				}
			}
		}
	}
	if len(tables) == 0 || opened > 0 {
		t.Errorf("erased user's items in the old backup: %d tables, %d opened; want some tables and none opened", len(tables), opened)
	}
}

func zipContains(t *testing.T, data []byte, s string) bool {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("export is not a zip: %v", err)
	}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		if err := errors.Join(err, rc.Close()); err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(s)) {
			return true
		}
	}
	return false
}

func TestResidencyRefusesOtherRegions(t *testing.T) {
	env := newOpsEnv(t)
	cfg := env.cfg
	cfg.Backup.Region = "eu-west-1"
	_, err := app.Open(context.Background(), cfg)
	if whispersync.ErrorCode(err) != whispersync.EFORBIDDEN {
		t.Fatalf("open with a backup location in eu-west-1: got %v, want forbidden", err)
	}
	msg := whispersync.ErrorMessage(err)
	for _, want := range []string{cfg.Backup.Dir, "eu-west-1", "WHISPERSYNC_BACKUP_REGION", residency.AllowedSetting} {
		if !strings.Contains(msg, want) {
			t.Errorf("refusal %q: want it to name %q", msg, want)
		}
	}
	audit, err := os.ReadDir(filepath.Join(cfg.DataDir, "audit"))
	if err != nil || len(audit) == 0 {
		t.Fatalf("audit folder: %v", err)
	}
	found := false
	eachFile(t, filepath.Join(cfg.DataDir, "audit"), func(_ string, data []byte) {
		found = found || bytes.Contains(data, []byte("residency.refuse"))
	})
	if !found {
		t.Errorf("audit log: want a residency.refuse entry")
	}

	cfg.Residency.Allowed = []string{"eu-west-1", "us-east-1"}
	a, err := app.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("open with eu-west-1 allowed: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Errorf("close app: %v", err)
	}
}
