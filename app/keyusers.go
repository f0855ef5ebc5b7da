package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/whispersync/whispersync"
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
// shares the key file still has data keys wrapped under KEK version. A
// listed directory without a database, one that was removed, is skipped.
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
		path := filepath.Join(dir, "whispersync.db")
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
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
