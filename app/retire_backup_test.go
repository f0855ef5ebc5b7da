package app_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/whispersync/whispersync"
)

// TestRetireWaitsForBackups checks that a key-encryption key version is
// not retired while a backup still needs it, and that a backup which
// needs a retired version is refused before the restore writes anything.
func TestRetireWaitsForBackups(t *testing.T) {
	env := newOpsEnv(t)
	ctx := t.Context()
	a := env.open(t, env.cfg.DataDir)
	alice := opsUser(t, a, "alice")
	submitAll(t, a, alice, workMemo)

	old, err := a.CreateBackup(ctx, operator, nil)
	if err != nil {
		t.Fatalf("create backup: %v", err)
	}
	if old.Keys == nil || !slices.Equal(old.Keys.KEKVersions, []int{1}) {
		t.Fatalf("key versions of the first backup: got %+v, want [1]", old.Keys)
	}

	rotateKeyFile(t, env.cfg.KeyFile)
	if _, err := a.ResumeRewrap(ctx, operator, nil); err != nil {
		t.Fatalf("rewrap: %v", err)
	}

	err = a.RetireKEK(ctx, operator, 1)
	if whispersync.ErrorCode(err) != whispersync.ECONFLICT {
		t.Fatalf("retire while a backup needs version 1: got %v, want ECONFLICT", err)
	}
	for _, want := range []string{old.ID, "backup tier"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("retire refusal %q: want it to name %q", err, want)
		}
	}

	fresh, err := a.CreateBackup(ctx, operator, nil)
	if err != nil {
		t.Fatalf("backup after the rewrap: %v", err)
	}
	if fresh.Keys == nil || !slices.Equal(fresh.Keys.KEKVersions, []int{2}) {
		t.Errorf("key versions of the backup after the rewrap: got %+v, want [2]", fresh.Keys)
	}

	// The operator moves the old backup out of the backup location, as
	// the retention policy would delete it, and retires version 1.
	oldSet := filepath.Join(env.cfg.Backup.Dir, "sets", old.ID)
	offsite := filepath.Join(env.base, "offsite-"+old.ID)
	if err := os.Rename(oldSet, offsite); err != nil {
		t.Fatal(err)
	}
	if err := a.RetireKEK(ctx, operator, 1); err != nil {
		t.Fatalf("retire once no backup needs version 1: %v", err)
	}

	restored := filepath.Join(env.base, "restored")
	if _, err := a.RestoreBackup(ctx, operator, fresh.ID, restored, env.cfg, nil); err != nil {
		t.Fatalf("restore the backup made after the rewrap: %v", err)
	}

	// The old backup comes back from the offsite copy: its restore needs
	// version 1, which is gone, and is refused with nothing written.
	if err := os.Rename(offsite, oldSet); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(env.base, "from-old")
	_, err = a.RestoreBackup(ctx, operator, old.ID, target, env.cfg, nil)
	if whispersync.ErrorCode(err) != whispersync.ECONFLICT || !strings.Contains(err.Error(), "version 1") {
		t.Errorf("restore of a backup that needs a retired version: got %v, want ECONFLICT naming version 1", err)
	}
	if entries, err := os.ReadDir(target); err == nil && len(entries) > 0 {
		t.Errorf("refused restore wrote %d entries into %s, want none", len(entries), target)
	}
}
