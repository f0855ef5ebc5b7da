package app_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/app"
	"github.com/whispersync/whispersync/privacy"
)

// TestOpenFinishesInterruptedErasure plays an erasure cut short right after
// its ledger entry: the next Open must erase the user completely.
func TestOpenFinishesInterruptedErasure(t *testing.T) {
	env := newOpsEnv(t)
	ctx := t.Context()
	a, err := app.Open(ctx, env.cfg)
	if err != nil {
		t.Fatal(err)
	}
	alice := opsUser(t, a, "alice")
	submitAll(t, a, alice, memoryMemo)
	if _, err := a.CreateBackup(ctx, operator, nil); err != nil {
		t.Fatalf("backup: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}

	ledger := privacy.OpenLedger(filepath.Join(filepath.Dir(env.cfg.KeyFile), "erasures.jsonl"))
	if err := ledger.Append(privacy.Entry{ReceiptID: "er_interrupted", UserID: alice.ID, Pseudonym: "p", ErasedAt: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}

	a = env.open(t, env.cfg.DataDir)
	if _, _, err := a.User(ctx, "alice", false); !whispersync.IsNotFound(err) {
		t.Errorf("user after reopening: got %v, want not found", err)
	}
	versions, err := a.Objects.ListObjectVersions(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(versions) != 0 {
		t.Errorf("object versions after reopening: got %d, want 0", len(versions))
	}

	target := filepath.Join(env.base, "restored")
	if _, err := a.RestoreBackup(ctx, operator, "", target, env.cfg, nil); err != nil {
		t.Fatalf("restore the backup made before the erasure: %v", err)
	}
	restored := env.open(t, target)
	if _, _, err := restored.User(ctx, "alice", false); !whispersync.IsNotFound(err) {
		t.Errorf("user in the restored directory: got %v, want not found", err)
	}
}
