package app_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/app"
	"github.com/whispersync/whispersync/pipeline"
)

// TestRetireCountsOtherDataDirs checks that keys retire keeps a version
// that still wraps data keys of another data directory sharing the key
// file, such as a restored copy kept beside its source.
func TestRetireCountsOtherDataDirs(t *testing.T) {
	env := newOpsEnv(t)
	ctx := t.Context()
	source, err := app.Open(ctx, env.cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = source.Close() })
	submitAll(t, source, opsUser(t, source, "alice"), workMemo)

	// A second data directory with its own data under the same key file.
	copyCfg := env.cfg
	copyCfg.DataDir = filepath.Join(env.base, "copy")
	copyCfg.Backup = app.BackupConfig{Dir: filepath.Join(env.base, "copy-backups")}
	other, err := app.Open(ctx, copyCfg)
	if err != nil {
		t.Fatal(err)
	}
	submitAll(t, other, opsUser(t, other, "bob"), workMemo)
	if err := other.Close(); err != nil {
		t.Fatal(err)
	}

	rotateKeyFile(t, env.cfg.KeyFile)
	if _, err := source.ResumeRewrap(ctx, operator, nil); err != nil {
		t.Fatalf("rewrap the source: %v", err)
	}

	err = source.RetireKEK(ctx, operator, 1)
	if whispersync.ErrorCode(err) != whispersync.ECONFLICT {
		t.Fatalf("retire while the copy's data keys need version 1: got %v, want ECONFLICT", err)
	}
	for _, want := range []string{copyCfg.DataDir, "keys rotate --resume"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("retire refusal %q: want it to name %q", err, want)
		}
	}

	other, err = app.Open(ctx, copyCfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.ResumeRewrap(ctx, operator, nil); err != nil {
		t.Fatalf("rewrap the copy: %v", err)
	}
	if err := other.Close(); err != nil {
		t.Fatal(err)
	}
	if err := source.RetireKEK(ctx, operator, 1); err != nil {
		t.Fatalf("retire once both directories are rewrapped: %v", err)
	}

	other, err = app.Open(ctx, copyCfg)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	bob, _, err := other.User(ctx, "bob", false)
	if err != nil {
		t.Fatal(err)
	}
	memos, err := other.Pipeline.ListMemos(ctx, operator, bob.ID, pipeline.ListOptions{})
	if err != nil || len(memos) != 1 {
		t.Errorf("the copy's memos after the retirement: got %d, %v, want 1 readable", len(memos), err)
	}
}

// TestRetireRefusesMissingPlaces checks that keys retire refuses while a
// data directory or backup location used with the key file is missing,
// since what it needs cannot be counted, until the operator forgets it.
func TestRetireRefusesMissingPlaces(t *testing.T) {
	env := newOpsEnv(t)
	ctx := t.Context()
	a := env.open(t, env.cfg.DataDir)
	submitAll(t, a, opsUser(t, a, "alice"), workMemo)

	copyCfg := env.cfg
	copyCfg.DataDir = filepath.Join(env.base, "copy")
	other, err := app.Open(ctx, copyCfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Close(); err != nil {
		t.Fatal(err)
	}

	rotateKeyFile(t, env.cfg.KeyFile)
	if _, err := a.ResumeRewrap(ctx, operator, nil); err != nil {
		t.Fatalf("rewrap: %v", err)
	}
	if _, err := a.CreateBackup(ctx, operator, nil); err != nil {
		t.Fatalf("backup after the rewrap: %v", err)
	}

	for _, dir := range []string{copyCfg.DataDir, env.cfg.Backup.Dir} {
		aside := dir + "-aside"
		if err := os.Rename(dir, aside); err != nil {
			t.Fatal(err)
		}
		err := a.RetireKEK(ctx, operator, 1)
		if whispersync.ErrorCode(err) != whispersync.ECONFLICT || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "keys forget") {
			t.Errorf("retire while %s is missing: got %v, want ECONFLICT naming it and keys forget", dir, err)
		}
		if err := os.Rename(aside, dir); err != nil {
			t.Fatal(err)
		}
		if err := a.ForgetKeyUser(ctx, operator, dir); whispersync.ErrorCode(err) != whispersync.ECONFLICT {
			t.Errorf("forget %s while it exists: got %v, want ECONFLICT", dir, err)
		}
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		if err := a.ForgetKeyUser(ctx, operator, dir); err != nil {
			t.Errorf("forget %s once it is gone: %v", dir, err)
		}
	}
	if err := a.RetireKEK(ctx, operator, 1); err != nil {
		t.Errorf("retire once the missing places are forgotten: %v", err)
	}
	if err := a.ForgetKeyUser(ctx, operator, filepath.Join(env.base, "never-used")); !whispersync.IsNotFound(err) {
		t.Errorf("forget a folder no list names: got %v, want not found", err)
	}
}
