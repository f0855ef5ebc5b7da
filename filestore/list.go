package filestore

import (
	"bufio"
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
	versions, err := s.appendVersions(ctx, nil, start, partial)
	if err != nil {
		return nil, fmt.Errorf("filestore: list object versions: %w", err)
	}

	// Folders are read in no particular order, and even in order they would
	// not give key order: "a-b" sorts before "a/b" as a string, but the
	// folder "a" is visited first.
	slices.SortStableFunc(versions, func(a, b whispersync.ObjectVersion) int {
		if c := cmp.Compare(a.Key, b.Key); c != 0 {
			return c
		}
		return cmp.Compare(b.VersionID, a.VersionID)
	})
	return versions, nil
}

// appendVersions appends the versions of the keys in dir whose last element
// starts with partial, and of every key below the folders in dir whose name
// starts with partial.
func (s *Store) appendVersions(ctx context.Context, versions []whispersync.ObjectVersion, dir, partial string) ([]whispersync.ObjectVersion, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	entries, err := s.readDir(dir)
	if err != nil {
		return nil, err
	}
	ids := make(map[string][]string)
	var subdirs []string
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() {
			if strings.HasPrefix(name, partial) && checkElement(name, name) == nil {
				subdirs = append(subdirs, name)
			}
			continue
		}
		stem, id, isTags, ok := parseFileName(name)
		// A hashed stem does not show whether its key matches, so its
		// header has to.
		if ok && !isTags && (strings.HasPrefix(stem, partial) || isHashedStem(stem)) {
			ids[stem] = append(ids[stem], id)
		}
	}

	for stem, stemIDs := range ids {
		newest := slices.Max(stemIDs)
		for _, id := range stemIDs {
			m, err := s.readListed(dir, stem, id)
			if whispersync.IsNotFound(err) {
				// Removed by a permanent delete since the folder was read.
				continue
			}
			if err != nil {
				return nil, err
			}
			if _, base := path.Split(m.Key); !strings.HasPrefix(base, partial) {
				continue
			}
			versions = append(versions, m.version(id == newest))
		}
	}
	for _, name := range subdirs {
		sub := name
		if dir != "." {
			sub = dir + "/" + name
		}
		versions, err = s.appendVersions(ctx, versions, sub, "")
		if err != nil {
			return nil, err
		}
	}
	return versions, nil
}

// readListed reads the header of the version file named by stem and
// versionID in dir.
func (s *Store) readListed(dir, stem, versionID string) (*meta, error) {
	key := stem
	if isHashedStem(stem) {
		// Only the header names the key. Read it to learn the key, then
		// read the file as that key's, which checks the header.
		f, err := s.root.Open(path.Join(dir, versionName(stem, versionID)))
		if errors.Is(err, fs.ErrNotExist) {
			return nil, whispersync.Errorf(whispersync.ENOTFOUND, "version %s not found", versionID)
		}
		if err != nil {
			return nil, fmt.Errorf("open version %s: %w", versionID, err)
		}
		var m meta
		err = decodeRecord(bufio.NewReader(f), versionMagic, &m)
		_ = f.Close() // read only: nothing to flush
		if err != nil {
			return nil, fmt.Errorf("version %s in folder %s: %w", versionID, quoteKey(dir), err)
		}
		if CheckKey(m.Key) != nil {
			return nil, fmt.Errorf("version %s in folder %s names an invalid key: %w", versionID, quoteKey(dir), ErrCorrupt)
		}
		if d, st := splitKey(m.Key); d != dir || st != stem {
			return nil, fmt.Errorf("version %s in folder %s names object %s, stored elsewhere: %w", versionID, quoteKey(dir), quoteKey(m.Key), ErrCorrupt)
		}
		return s.readVersionHeader(m.Key, versionID)
	}
	if dir != "." {
		key = dir + "/" + stem
	}
	return s.readVersionHeader(key, versionID)
}

func (s *Store) readVersionHeader(key, versionID string) (*meta, error) {
	m, _, err := s.readVersion(key, versionID, false)
	return m, err
}

// recover removes temp files, and tags files whose version file is missing,
// from every folder. Both are left only by a crash: a write that never
// completed, or a permanent delete that removed the version file but not yet
// its tags file. It also sets the version clock above every stored version
// id, so new versions sort after old ones even if the wall clock is now
// behind. It fails on a folder of the layout in which each key had a folder
// of its own, which this store would misread.
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
		name := e.Name()
		if strings.HasPrefix(name, versionSep) {
			return 0, fmt.Errorf("folder %s contains the version file %s of the older layout with one folder per key: restore a backup of the store into a new folder instead", dir, name)
		}
		names[name] = true
		if _, id, _, ok := parseFileName(name); ok {
			s.clock.observe(id)
		}
	}

	removed := 0
	for _, e := range entries {
		name := e.Name()
		stem, id, isTags, ok := parseFileName(name)
		orphan := ok && isTags && !names[versionName(stem, id)]
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
