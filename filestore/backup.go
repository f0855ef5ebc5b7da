package filestore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/whispersync/whispersync"
)

// ExportVersion returns the stored files of one version byte for byte: the
// version file (header and body, or a delete marker) and its tags file, nil
// when PutObjectTagging never wrote one. A backup copies them so that a
// restore keeps version ids, times and checksums. A version removed
// meanwhile is ENOTFOUND.
func (s *Store) ExportVersion(ctx context.Context, key, versionID string) (record, tags []byte, err error) {
	if err := s.check(ctx, key); err != nil {
		return nil, nil, fmt.Errorf("filestore: export version: %w", err)
	}
	if err := checkVersionID(versionID); err != nil {
		return nil, nil, fmt.Errorf("filestore: export version: %w", err)
	}
	record, err = s.root.ReadFile(versionPath(key, versionID))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, whispersync.Errorf(whispersync.ENOTFOUND, "version %s of object %s not found", versionID, quoteKey(key))
	}
	if err != nil {
		return nil, nil, fmt.Errorf("filestore: export version: %w", err)
	}
	tags, err = s.root.ReadFile(tagsPath(key, versionID))
	if errors.Is(err, fs.ErrNotExist) {
		return record, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("filestore: export version: %w", err)
	}
	return record, tags, nil
}

// ImportVersion writes files returned by ExportVersion into the store
// folder dir, which no Store may have open. It does not check them: Open
// and the reads after it do, as for any stored file.
func ImportVersion(dir, key, versionID string, record, tags []byte) error {
	if err := CheckKey(key); err != nil {
		return fmt.Errorf("filestore: import version: %w", err)
	}
	if err := checkVersionID(versionID); err != nil {
		return fmt.Errorf("filestore: import version: %w", err)
	}
	keyDir, stem := splitKey(key)
	folder := filepath.Join(dir, "objects", filepath.FromSlash(keyDir))
	if err := os.MkdirAll(folder, 0o700); err != nil {
		return fmt.Errorf("filestore: import version: %w", err)
	}
	if err := writeNew(filepath.Join(folder, versionName(stem, versionID)), record); err != nil {
		return fmt.Errorf("filestore: import version: %w", err)
	}
	if tags != nil {
		if err := writeNew(filepath.Join(folder, tagsName(stem, versionID)), tags); err != nil {
			return fmt.Errorf("filestore: import version: %w", err)
		}
	}
	return nil
}

// writeNew creates name with mode 0600 and data, and syncs it. The caller
// syncs the folders once it has written them all.
func writeNew(name string, data []byte) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}
