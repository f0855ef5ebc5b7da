package filestore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/whispersync/whispersync"
)

// ListObjectVersions returns every version and delete marker of the keys
// that start with prefix, ordered by key and, within a key, newest first.
// The prefix is a plain string prefix, as in S3: "a/b" matches "a/b/c" and
// "a/bc".
func (s *Store) ListObjectVersions(ctx context.Context, prefix string) ([]whispersync.ObjectVersion, error) {
	if s.closed.Load() {
		return nil, errors.New("filestore: list object versions: store is closed")
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("filestore: list object versions: %w", err)
	}
	if err := checkPrefix(prefix); err != nil {
		return nil, fmt.Errorf("filestore: list object versions: %w", err)
	}

	// Only the folder named by the prefix's complete elements can hold
	// matching keys, and within it only entries that start with the last,
	// possibly partial, element.
	start, partial := ".", prefix
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		start, partial = prefix[:i], prefix[i+1:]
	}
	var versions []whispersync.ObjectVersion
	entries, err := s.readDir(start)
	if err != nil {
		return nil, fmt.Errorf("filestore: list object versions: %w", err)
	}
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), partial) || CheckKey(e.Name()) != nil {
			continue
		}
		key := e.Name()
		if start != "." {
			key = start + "/" + key
		}
		versions, err = s.appendVersions(ctx, versions, key)
		if err != nil {
			return nil, fmt.Errorf("filestore: list object versions: %w", err)
		}
	}

	// Folder order differs from key order: "a-b" sorts before "a/b" as a
	// string, but the folder "a" is visited first.
	slices.SortStableFunc(versions, func(a, b whispersync.ObjectVersion) int {
		if c := cmp.Compare(a.Key, b.Key); c != 0 {
			return c
		}
		return cmp.Compare(b.VersionID, a.VersionID)
	})
	return versions, nil
}

// appendVersions appends the versions of key and of every key below it.
func (s *Store) appendVersions(ctx context.Context, versions []whispersync.ObjectVersion, key string) ([]whispersync.ObjectVersion, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ids, err := s.versionIDs(key)
	if err != nil {
		return nil, err
	}
	for i, id := range ids {
		m, _, err := s.readVersion(key, id, false)
		if whispersync.IsNotFound(err) {
			// Removed by a permanent delete since the folder was read.
			continue
		}
		if err != nil {
			return nil, err
		}
		versions = append(versions, m.version(i == 0))
	}

	entries, err := s.readDir(key)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if !e.IsDir() || CheckKey(e.Name()) != nil {
			continue
		}
		versions, err = s.appendVersions(ctx, versions, key+"/"+e.Name())
		if err != nil {
			return nil, err
		}
	}
	return versions, nil
}

// recover removes temp files, and tags files whose version file is missing,
// from every key folder. Both are left only by a crash: a write that never
// completed, or a permanent delete that removed the version file but not yet
// its tags file. It also sets the version clock above every stored version
// id, so new versions sort after old ones even if the wall clock is now
// behind.
func (s *Store) recover() error {
	removed := 0
	err := fs.WalkDir(s.root.FS(), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		n, err := s.recoverFolder(name)
		removed += n
		return err
	})
	if removed > 0 {
		s.log.Info("removed files left by an interrupted write or delete", "dir", s.dir, "files", removed)
	}
	return err
}

func (s *Store) recoverFolder(dir string) (int, error) {
	entries, err := s.readDir(dir)
	if err != nil {
		return 0, err
	}
	names := make(map[string]bool, len(entries))
	for _, e := range entries {
		names[e.Name()] = true
		if id, ok := strings.CutPrefix(e.Name(), versionPrefix); ok {
			s.clock.observe(id)
		}
	}

	removed := 0
	for _, e := range entries {
		name := e.Name()
		id, isTags := strings.CutSuffix(strings.TrimPrefix(name, versionPrefix), tagsSuffix)
		orphan := isTags && strings.HasPrefix(name, versionPrefix) && !names[versionName(id)]
		if e.IsDir() || !(orphan || strings.HasPrefix(name, tempPrefix)) {
			continue
		}
		if err := s.root.Remove(path.Join(dir, name)); err != nil {
			return removed, fmt.Errorf("remove %s: %w", name, err)
		}
		removed++
	}
	if removed > 0 {
		return removed, s.syncDir(dir)
	}
	return removed, nil
}
