package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

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

// registerDataDir lists the data directory in the data directories file.
func (a *App) registerDataDir(keyFile, dataDir string) error {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return err
	}
	a.ops.dataDirs = DataDirsFile(keyFile)
	if err := registerEntry(a.ops.dataDirs, "data directories", abs); err != nil {
		return fmt.Errorf("app: record the data directory %s beside the key file: %w", abs, err)
	}
	return nil
}

// checkOtherDataDirs returns a conflict when another data directory that
// shares the key file still has data keys wrapped under KEK version, or is
// missing, so that its data keys cannot be counted.
func (a *App) checkOtherDataDirs(ctx context.Context, version int) error {
	dirs, err := readEntries[string](a.ops.dataDirs, "data directories")
	if err != nil {
		return err
	}
	own, err := filepath.Abs(a.ops.dataDir)
	if err != nil {
		return err
	}
	for _, dir := range dirs {
		if dir == own {
			continue
		}
		if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
			return missingKeyUser("data directory", dir, a.ops.dataDirs)
		}
		path := filepath.Join(dir, "whispersync.db")
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			// A directory opened once and left without a database holds
			// no data keys.
			continue
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

// missingKeyUser is the conflict of a data directory or backup location
// that list names but that does not exist.
func missingKeyUser(kind, dir, list string) error {
	return whispersync.Errorf(whispersync.ECONFLICT,
		"the %s %s, listed in %s as used with this key file, is missing, so what it needs of the key file is unknown: mount or move it back, or, if it is gone for good, run whispersync keys forget %s and retire again",
		kind, dir, list, dir)
}

// ForgetKeyUser removes dir from the lists of data directories and backup
// locations used with the key file, so that keys retire no longer waits for
// it. dir must no longer exist: a directory that exists is counted.
func (a *App) ForgetKeyUser(ctx context.Context, actor pipeline.Actor, dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if _, err := os.Stat(abs); !errors.Is(err, os.ErrNotExist) {
		return whispersync.Errorf(whispersync.ECONFLICT, "%s exists, so keys retire counts what it needs: only a data directory or backup location that is gone for good can be forgotten", abs)
	}
	if err := a.auditWith(ctx, actor, "key.forget", "keys", map[string]string{"dir": abs}); err != nil {
		return err
	}
	dirs, err := removeEntries(a.ops.dataDirs, "data directories", func(d string) bool { return d == abs })
	if err != nil {
		return err
	}
	locs, err := removeEntries(a.ops.locations, "backup locations", func(l backupLocation) bool { return l.Dir == abs || l.ColdDir == abs })
	if err != nil {
		return err
	}
	if dirs+locs == 0 {
		return whispersync.Errorf(whispersync.ENOTFOUND, "%s is in neither %s nor %s: nothing to forget", abs, a.ops.dataDirs, a.ops.locations)
	}
	return nil
}
