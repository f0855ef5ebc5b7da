package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/pipeline"
	"github.com/whispersync/whispersync/seal"
	"github.com/whispersync/whispersync/sqlite"
)

// DataDirsFile is the file beside the key file that lists every data
// directory opened with the key file, such as a restored copy kept beside
// its source. keys retire counts the data keys of each, so retiring a
// version from one directory cannot strand the data of another.
func DataDirsFile(keyFile string) string { return keyFile + ".data-dirs" }

// registerDataDir lists the data directory in the data directories file,
// with its symbolic links resolved. A link repointed later, such as a
// "current" link on a switch-over, then cannot hide the directory.
func (a *App) registerDataDir(keyFile, dataDir string) error {
	real, err := resolve(dataDir)
	if err != nil {
		return err
	}
	a.ops.dataDirs = DataDirsFile(keyFile)
	if err := registerEntry(a.ops.dataDirs, "data directories", real); err != nil {
		return fmt.Errorf("app: record the data directory %s beside the key file: %w", real, err)
	}
	return nil
}

// checkOtherDataDirs returns a conflict when another data directory that
// shares the key file still has data keys wrapped under KEK version, or is
// missing or without its database, so that its data keys cannot be
// counted.
func (a *App) checkOtherDataDirs(ctx context.Context, version int) error {
	dirs, err := readEntries[string](a.ops.dataDirs, "data directories")
	if err != nil {
		return err
	}
	own, err := resolve(a.ops.dataDir)
	if err != nil {
		return err
	}
	for _, dir := range dirs {
		if real, err := resolve(dir); err == nil && real == own {
			continue
		}
		if ok, err := present(dir); err != nil || !ok {
			return errors.Join(err, missingKeyUser("data directory", dir, a.ops.dataDirs))
		}
		// A directory is listed only once its database exists. One without
		// it is the mount point of an unmounted disk, or a folder made
		// again in its place, not a directory without data keys.
		path := filepath.Join(dir, "whispersync.db")
		if ok, err := present(path); err != nil || !ok {
			return errors.Join(err, emptyKeyUser("data directory", dir, "whispersync.db", a.ops.dataDirs))
		}
		n := 0
		err := sqlite.EachItemData(ctx, path, seal.DataKeysTable, func(data []byte) error {
			if v, _ := seal.WrappedVersion(data); v == version {
				n++
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("app: count the data keys of %s, which shares the key file: %w", dir, err)
		}
		if n > 0 {
			return whispersync.Errorf(whispersync.ECONFLICT,
				"key-encryption key version %d still wraps %d data keys in the data directory %s, which shares this key file: rewrap them there first (whispersync --data-dir %s keys rotate --resume, or a serve running there does it), then retire it",
				version, n, dir, dir)
		}
	}
	return nil
}

// checkLocation returns a conflict when a folder of the listed backup
// location loc is missing, or when its hot folder lacks the sets folder
// that every backup run there creates, so that its backups cannot be read.
func checkLocation(loc backupLocation, list string) error {
	if loc.Dir != "" {
		if ok, err := present(loc.Dir); err != nil || !ok {
			return errors.Join(err, missingKeyUser("backup location", loc.Dir, list))
		}
		if ok, err := present(filepath.Join(loc.Dir, "sets")); err != nil || !ok {
			return errors.Join(err, emptyKeyUser("backup location", loc.Dir, "sets folder of backups", list))
		}
	}
	if loc.ColdDir != "" {
		// Every backup run creates the cold folder too.
		if ok, err := present(loc.ColdDir); err != nil || !ok {
			return errors.Join(err, missingKeyUser("cold backup location", loc.ColdDir, list))
		}
	}
	return nil
}

// checkNoBackupRunning returns a conflict while a backup or a move to the
// cold tier holds the lock of the backup location dir. Such a backup may
// have snapshot the database before its data keys were rewrapped, and its
// manifest, which names the versions it needs, is not written yet.
func checkNoBackupRunning(dir string) error {
	name := filepath.Join(dir, "lock")
	f, err := os.Open(name)
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("app: read the lock of the backup location %s: %w", dir, err)
	}
	defer f.Close() // closing releases the lock; nothing is written to it
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return whispersync.Errorf(whispersync.ECONFLICT, "a backup operation is running in the backup location %s (lock file %s), and the backup it writes may need the version: retire again once it finishes", dir, name)
	}
	if err != nil {
		return fmt.Errorf("app: read the lock of the backup location %s: %w", dir, err)
	}
	return nil
}

// present reports whether path exists. A path below a file does not.
func present(path string) (bool, error) {
	_, err := os.Stat(path)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENOTDIR):
		return false, nil
	}
	return false, err
}

// missingKeyUser is the conflict of a data directory or backup location
// that list names but that does not exist.
func missingKeyUser(kind, dir, list string) error {
	return whispersync.Errorf(whispersync.ECONFLICT,
		"the %s %s, listed in %s as used with this key file, is missing, so what it needs of the key file is unknown: mount or move it back, or, if it is gone for good, run whispersync keys forget %s and retire again",
		kind, dir, list, dir)
}

// emptyKeyUser is the conflict of a data directory or backup location that
// list names and that exists without the content whispersync keeps in it.
func emptyKeyUser(kind, dir, content, list string) error {
	return whispersync.Errorf(whispersync.ECONFLICT,
		"the %s %s, listed in %s as used with this key file, contains no %s, so what it needs of the key file is unknown: mount the disk or move the folder back, or, if it is gone for good, run whispersync keys forget %s and retire again",
		kind, dir, list, content, dir)
}

// ForgetKeyUser removes dir from the lists of data directories and backup
// locations used with the key file, so that keys retire no longer waits for
// it. dir must be missing or contain neither a whispersync.db nor backups.
// The other folder of a backup location, hot or cold, stays listed unless
// it is gone too.
func (a *App) ForgetKeyUser(ctx context.Context, actor pipeline.Actor, dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	real, err := resolve(dir)
	if err != nil {
		return err
	}
	// Checked again under the locks of the lists, which a process
	// opening the folder takes to list it again.
	if _, err := forgettable(abs); err != nil {
		return err
	}
	if err := a.auditWith(ctx, actor, "key.forget", "keys", map[string]string{"dir": abs}); err != nil {
		return err
	}
	n, err := a.forget(abs, real)
	if err != nil {
		a.auditFailure(ctx, actor, "key.forget", "keys", err)
		return err
	}
	if n == 0 {
		return whispersync.Errorf(whispersync.ENOTFOUND, "%s is in neither %s nor %s: nothing to forget", abs, a.ops.dataDirs, a.ops.locations)
	}
	return nil
}

// forget drops abs, the folder also named real, from the lists and returns
// how many entries it changed.
func (a *App) forget(abs, real string) (int, error) {
	named := func(p string) bool { return p == abs || p == real }
	n := 0
	err := updateEntries(a.ops.dataDirs, "data directories", func(dirs []string) ([]string, bool, error) {
		if _, err := forgettable(abs); err != nil {
			return nil, false, err
		}
		remaining := slices.DeleteFunc(slices.Clone(dirs), named)
		n += len(dirs) - len(remaining)
		return remaining, len(remaining) != len(dirs), nil
	})
	if err != nil {
		return 0, err
	}
	err = updateEntries(a.ops.locations, "backup locations", func(locs []backupLocation) ([]backupLocation, bool, error) {
		missing, err := forgettable(abs)
		if err != nil {
			return nil, false, err
		}
		// The folders of a location inside a missing folder are missing
		// too. The cold folder inside a forgotten hot one is forgotten with
		// it unless it contains backups.
		inside := func(p string) bool { return within(abs, p) || within(real, p) }
		changed := 0
		remaining := make([]backupLocation, 0, len(locs))
		for _, loc := range locs {
			before := loc
			if loc.Dir != "" && (named(loc.Dir) || missing && inside(loc.Dir)) {
				if _, err := forgettable(loc.ColdDir); err == nil && within(loc.Dir, loc.ColdDir) {
					loc.ColdDir = ""
				}
				loc.Dir = ""
			}
			if loc.ColdDir != "" && (named(loc.ColdDir) || missing && inside(loc.ColdDir)) {
				loc.ColdDir = ""
			}
			if loc != before {
				changed++
			}
			if loc.Dir != "" || loc.ColdDir != "" {
				remaining = append(remaining, loc)
			}
		}
		n += changed
		return remaining, changed > 0, nil
	})
	return n, err
}

// forgettable reports whether the folder abs is missing. It returns a
// conflict when abs exists and contains what keys retire counts: a
// database, or backups, hot or cold.
func forgettable(abs string) (missing bool, err error) {
	ok, err := present(abs)
	if err != nil || !ok {
		return err == nil, err
	}
	content := ""
	if ok, err := present(filepath.Join(abs, "whispersync.db")); err != nil || ok {
		content = "whispersync.db"
	}
	if sets, err := os.ReadDir(filepath.Join(abs, "sets")); content == "" && err == nil {
		for _, e := range sets {
			if !strings.HasPrefix(e.Name(), ".") {
				content = "backups"
				break
			}
		}
	}
	if cold, err := os.ReadDir(abs); content == "" && err == nil {
		for _, e := range cold {
			if strings.HasSuffix(e.Name(), ".manifest.json") && !strings.HasPrefix(e.Name(), ".") {
				content = "cold backups"
				break
			}
		}
	}
	if content != "" {
		return false, whispersync.Errorf(whispersync.ECONFLICT, "%s exists and contains %s, so keys retire counts what it needs: only a data directory or backup location that is gone for good can be forgotten; unmount or delete it first if it is", abs, content)
	}
	return false, nil
}

// within reports whether path lies in dir by their names alone, as the
// lists name folders. dir may be missing, so no link in it can be followed.
func within(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}
