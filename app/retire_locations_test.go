package app_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/app"
)

// TestRetireReadsEveryBackupLocation checks that keys retire keeps a
// version that a backup in another location written with the key file
// needs, such as one made before WHISPERSYNC_BACKUP_DIR changed.
func TestRetireReadsEveryBackupLocation(t *testing.T) {
	env := newOpsEnv(t)
	ctx := t.Context()
	first, err := app.Open(ctx, env.cfg)
	if err != nil {
		t.Fatal(err)
	}
	submitAll(t, first, opsUser(t, first, "alice"), workMemo)
	old, err := first.CreateBackup(ctx, operator, nil)
	if err != nil {
		t.Fatalf("create backup: %v", err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	rotateKeyFile(t, env.cfg.KeyFile)

	// The same data directory, now with another backup location.
	env.cfg.Backup = app.BackupConfig{Dir: filepath.Join(env.base, "elsewhere")}
	a := env.open(t, env.cfg.DataDir)
	if _, err := a.ResumeRewrap(ctx, operator, nil); err != nil {
		t.Fatalf("rewrap: %v", err)
	}
	err = a.RetireKEK(ctx, operator, 1)
	if whispersync.ErrorCode(err) != whispersync.ECONFLICT {
		t.Fatalf("retire while a backup in the former location needs version 1: got %v, want ECONFLICT", err)
	}
	if !strings.Contains(err.Error(), old.ID) {
		t.Errorf("retire refusal %q: want it to name backup %s", err, old.ID)
	}
}
