package app_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/app"
	"github.com/whispersync/whispersync/seal"
)

// rotateKeyFile adds a key-encryption key version to the key file.
func rotateKeyFile(t *testing.T, keyFile string) {
	t.Helper()
	kr, _, err := seal.OpenKeyFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kr.Rotate(); err != nil {
		t.Fatal(err)
	}
	if err := kr.Close(); err != nil {
		t.Fatal(err)
	}
}

// openWith opens an app in dataDir with the backup location dir and closes
// it at the end of the test.
func openWith(t *testing.T, env opsEnv, dataDir, backupDir string) *app.App {
	t.Helper()
	cfg := env.cfg
	cfg.DataDir = dataDir
	cfg.Backup = app.BackupConfig{Dir: backupDir}
	a, err := app.Open(t.Context(), cfg)
	if err != nil {
		t.Fatalf("app.Open %s: %v", dataDir, err)
	}
	t.Cleanup(func() { _ = a.Close() })
	return a
}

// TestRetireRepointedDataDirLink checks that a data directory
// opened through a symbolic link stays counted after the link is pointed
// at another directory, as a "current" link is on a switch-over.
func TestRetireRepointedDataDirLink(t *testing.T) {
	env := newOpsEnv(t)
	ctx := t.Context()
	first, second := filepath.Join(env.base, "release-1"), filepath.Join(env.base, "release-2")
	for _, dir := range []string{first, second} {
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	current := filepath.Join(env.base, "current")
	if err := os.Symlink(first, current); err != nil {
		t.Fatal(err)
	}
	old := openWith(t, env, current, filepath.Join(env.base, "backups"))
	submitAll(t, old, opsUser(t, old, "alice"), workMemo)
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}

	if err := os.Remove(current); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(second, current); err != nil {
		t.Fatal(err)
	}
	a := openWith(t, env, current, filepath.Join(env.base, "backups"))
	submitAll(t, a, opsUser(t, a, "bob"), workMemo)
	rotateKeyFile(t, env.cfg.KeyFile)
	if _, err := a.ResumeRewrap(ctx, operator, nil); err != nil {
		t.Fatalf("rewrap: %v", err)
	}
	err := a.RetireKEK(ctx, operator, 1)
	if whispersync.ErrorCode(err) != whispersync.ECONFLICT || !strings.Contains(err.Error(), first) {
		t.Fatalf("retire while %s, opened through the link before, has data keys under version 1: got %v, want ECONFLICT naming it", first, err)
	}
}

// TestForgetColdKeepsHotLocation checks that forgetting the cold folder
// of a backup location, gone for good, keeps its hot folder listed, whose
// backups may still need a version.
func TestForgetColdKeepsHotLocation(t *testing.T) {
	env := newOpsEnv(t)
	ctx := t.Context()
	a := env.open(t, env.cfg.DataDir)
	submitAll(t, a, opsUser(t, a, "alice"), workMemo)
	m, err := a.CreateBackup(ctx, operator, nil)
	if err != nil {
		t.Fatalf("create backup: %v", err)
	}
	rotateKeyFile(t, env.cfg.KeyFile)
	if _, err := a.ResumeRewrap(ctx, operator, nil); err != nil {
		t.Fatalf("rewrap: %v", err)
	}
	if err := os.Remove(env.cfg.Backup.ColdDir); err != nil {
		t.Fatal(err)
	}

	// Another data directory, with its own backup location, shares the
	// key file.
	other := openWith(t, env, filepath.Join(env.base, "other"), filepath.Join(env.base, "other-backups"))
	err = other.RetireKEK(ctx, operator, 1)
	if whispersync.ErrorCode(err) != whispersync.ECONFLICT || !strings.Contains(err.Error(), env.cfg.Backup.ColdDir) {
		t.Fatalf("retire while the cold folder %s is missing: got %v, want ECONFLICT naming it", env.cfg.Backup.ColdDir, err)
	}
	if err := other.ForgetKeyUser(ctx, operator, env.cfg.Backup.ColdDir); err != nil {
		t.Fatalf("forget the cold folder: %v", err)
	}
	err = other.RetireKEK(ctx, operator, 1)
	if whispersync.ErrorCode(err) != whispersync.ECONFLICT || !strings.Contains(err.Error(), m.ID) {
		t.Fatalf("retire while backup %s in the hot folder needs version 1: got %v, want ECONFLICT naming it", m.ID, err)
	}

	// Once the hot folder is gone too, it can be forgotten.
	if err := os.RemoveAll(env.cfg.Backup.Dir); err != nil {
		t.Fatal(err)
	}
	if err := other.ForgetKeyUser(ctx, operator, env.cfg.Backup.Dir); err != nil {
		t.Fatalf("forget the hot folder: %v", err)
	}
	data, err := os.ReadFile(app.BackupLocationsFile(env.cfg.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), env.cfg.Backup.Dir) {
		t.Errorf("backup locations after both folders are forgotten: %s, want %s gone", data, env.cfg.Backup.Dir)
	}
}

// TestRetireEmptyMountPoint checks that an empty folder in place of a
// listed data directory or backup location, such as the mount point of an
// unmounted disk, stops a retirement as a missing one does. Such a folder
// can be forgotten, and one that contains data cannot.
func TestRetireEmptyMountPoint(t *testing.T) {
	env := newOpsEnv(t)
	ctx := t.Context()
	a := env.open(t, env.cfg.DataDir)
	submitAll(t, a, opsUser(t, a, "alice"), workMemo)

	disk := filepath.Join(env.base, "mnt-data")
	diskBackups := filepath.Join(env.base, "mnt-backups")
	mounted := openWith(t, env, disk, diskBackups)
	submitAll(t, mounted, opsUser(t, mounted, "bob"), workMemo)
	if _, err := mounted.CreateBackup(ctx, operator, nil); err != nil {
		t.Fatalf("create backup: %v", err)
	}
	if err := mounted.Close(); err != nil {
		t.Fatal(err)
	}
	rotateKeyFile(t, env.cfg.KeyFile)
	if _, err := a.ResumeRewrap(ctx, operator, nil); err != nil {
		t.Fatalf("rewrap: %v", err)
	}

	unmount := func(t *testing.T, dir string) (remount func()) {
		t.Helper()
		aside := dir + "-unmounted"
		if err := os.Rename(dir, aside); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		return func() {
			if err := os.Remove(dir); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(aside, dir); err != nil {
				t.Fatal(err)
			}
		}
	}

	// The data directory's keys still need version 1.
	remount := unmount(t, disk)
	err := a.RetireKEK(ctx, operator, 1)
	if whispersync.ErrorCode(err) != whispersync.ECONFLICT || !strings.Contains(err.Error(), disk) || !strings.Contains(err.Error(), "keys forget") {
		t.Fatalf("retire while %s is an empty folder: got %v, want ECONFLICT naming it and keys forget", disk, err)
	}
	remount()

	// Its keys are rewrapped, but its backup still needs version 1.
	mounted = openWith(t, env, disk, diskBackups)
	if _, err := mounted.ResumeRewrap(ctx, operator, nil); err != nil {
		t.Fatalf("rewrap: %v", err)
	}
	if err := mounted.Close(); err != nil {
		t.Fatal(err)
	}
	remount = unmount(t, diskBackups)
	err = a.RetireKEK(ctx, operator, 1)
	if whispersync.ErrorCode(err) != whispersync.ECONFLICT || !strings.Contains(err.Error(), diskBackups) {
		t.Fatalf("retire while %s is an empty folder: got %v, want ECONFLICT naming it", diskBackups, err)
	}
	remount()

	// A folder that contains a database or backups is not forgotten. An
	// empty one is.
	for _, dir := range []string{disk, diskBackups} {
		if err := a.ForgetKeyUser(ctx, operator, dir); whispersync.ErrorCode(err) != whispersync.ECONFLICT {
			t.Errorf("forget %s while it contains data: got %v, want ECONFLICT", dir, err)
		}
	}
	for _, dir := range []string{disk, diskBackups} {
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := a.ForgetKeyUser(ctx, operator, dir); err != nil {
			t.Errorf("forget the empty folder %s: %v", dir, err)
		}
	}
	if err := a.RetireKEK(ctx, operator, 1); err != nil {
		t.Errorf("retire once the empty folders are forgotten: %v", err)
	}
}

// TestRetireWhileBackupRuns checks that keys retire waits for a backup
// that is running in a listed location, whose manifest is not written yet.
func TestRetireWhileBackupRuns(t *testing.T) {
	env := newOpsEnv(t)
	ctx := t.Context()
	a := env.open(t, env.cfg.DataDir)
	submitAll(t, a, opsUser(t, a, "alice"), workMemo)
	if _, err := a.CreateBackup(ctx, operator, nil); err != nil {
		t.Fatalf("create backup: %v", err)
	}
	if err := os.RemoveAll(filepath.Join(env.cfg.Backup.Dir, "sets")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(env.cfg.Backup.Dir, "sets"), 0o700); err != nil {
		t.Fatal(err)
	}
	rotateKeyFile(t, env.cfg.KeyFile)
	if _, err := a.ResumeRewrap(ctx, operator, nil); err != nil {
		t.Fatalf("rewrap: %v", err)
	}

	// A backup that snapshot the database before the rewrap holds the
	// location's lock until its manifest is written.
	lock, err := os.Open(filepath.Join(env.cfg.Backup.Dir, "lock"))
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	err = a.RetireKEK(ctx, operator, 1)
	if whispersync.ErrorCode(err) != whispersync.ECONFLICT || !strings.Contains(err.Error(), env.cfg.Backup.Dir) {
		t.Errorf("retire while a backup runs in %s: got %v, want ECONFLICT naming it", env.cfg.Backup.Dir, err)
	}
	if err := lock.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.RetireKEK(ctx, operator, 1); err != nil {
		t.Errorf("retire once the backup finished: %v", err)
	}
}
