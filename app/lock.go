package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/backup"
)

// lockDataDir takes an exclusive flock(2) on DIR/lock, so one process at a
// time has the data directory open. The lock belongs to the open file, so
// it is released when the file is closed or the process ends, crashes
// included. flock is advisory and may not work on network file systems, so
// the data directory should be on a local disk.
func lockDataDir(dir string) (*os.File, error) {
	name := filepath.Join(dir, "lock")
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("app: lock data directory: %w", err)
	}
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		_ = f.Close() // nothing was written and no lock was taken, so a close error changes nothing
		return nil, &whispersync.Error{
			Code:    whispersync.EUNAVAILABLE,
			Message: fmt.Sprintf("data directory %s is in use by another whispersync process, such as serve or process: wait for it to finish or stop it; while serve runs, use the admin API with an admin token instead: POST or GET /v1/admin/users/NAME/tokens to create or list tokens, POST /v1/admin/backups to back up", dir),
			Err:     err,
		}
	}
	if err != nil {
		_ = f.Close() // nothing was written and no lock was taken, so a close error changes nothing
		return nil, fmt.Errorf("app: lock data directory %s: %w", name, err)
	}
	return f, nil
}

// checkObjectLayout rejects a data directory whose objects are still kept
// as one file per version in DIR/objects, the layout of earlier releases,
// which this release does not read.
func checkObjectLayout(dir string) error {
	info, err := os.Stat(filepath.Join(dir, "objects"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("app: check object layout: %w", err)
	}
	if !info.IsDir() {
		return nil
	}
	return whispersync.Errorf(whispersync.EINVALID,
		"data directory %s keeps objects as files in %s, the layout of an earlier release: make a backup with that release (whispersync backup create), then restore it into a new data directory with this one (whispersync backup restore, run from an empty data directory; see 'The data directory' in docs/operations.md)",
		dir, filepath.Join(dir, "objects"))
}

// checkNoData rejects a data directory whose database holds data while its
// object store is missing: creating an empty one would lose every
// transcript without a word, and exports, backups and drills would then
// report success.
func (a *App) checkNoData(ctx context.Context, dir string) error {
	empty, err := a.DB.Empty(ctx)
	if err != nil {
		return fmt.Errorf("app: check data directory: %w", err)
	}
	if empty {
		return nil
	}
	return whispersync.Errorf(whispersync.EINVALID,
		"data directory %s holds memos and accounts in whispersync.db but its object store %s is missing: put objects.db back from where it went, or restore the data directory from a backup (whispersync backup restore --to NEW)",
		dir, filepath.Join(dir, "objects.db"))
}

// checkRestoreComplete rejects a data directory that a restore was still
// writing when it stopped.
func checkRestoreComplete(dir string) error {
	_, err := os.Stat(filepath.Join(dir, backup.IncompleteMarker))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("app: check data directory: %w", err)
	}
	return whispersync.Errorf(whispersync.EINVALID,
		"data directory %s holds a restore that did not finish: remove the folder and run whispersync backup restore again",
		dir)
}
