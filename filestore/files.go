package filestore

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
)

// File names inside a key's folder. Neither '@' nor '~' may appear in a key
// element, so these names never collide with the folder of a longer key.
const (
	versionPrefix = "@"
	tagsSuffix    = ".tags"
	tempPrefix    = "~tmp-"
)

// maxCreateAttempts bounds the retries of a temp file creation that races
// with the removal of an empty folder by a permanent delete of another key.
const maxCreateAttempts = 5

func versionName(versionID string) string { return versionPrefix + versionID }

func tagsName(versionID string) string { return versionPrefix + versionID + tagsSuffix }

// writeFile durably replaces dir/name with the concatenation of parts: it
// writes a temp file in dir, syncs it, renames it to name and syncs dir. A
// crash at any point leaves either the old file or the new one, plus at most
// a temp file that Open removes.
func (s *Store) writeFile(dir, name string, parts ...[]byte) error {
	tmp, f, err := s.createTemp(dir)
	if err != nil {
		return err
	}
	for _, data := range parts {
		if _, err := f.Write(data); err != nil {
			f.Close()
			s.root.Remove(tmp)
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	if err := f.Sync(); err != nil {
		f.Close()
		s.root.Remove(tmp)
		return fmt.Errorf("sync %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		s.root.Remove(tmp)
		return fmt.Errorf("close %s: %w", name, err)
	}

	if err := s.root.Rename(tmp, path.Join(dir, name)); err != nil {
		s.root.Remove(tmp)
		return fmt.Errorf("rename %s: %w", name, err)
	}
	return s.syncDir(dir)
}

// createTemp creates an empty temp file in dir, creating dir and its parents
// when they are missing.
func (s *Store) createTemp(dir string) (string, *os.File, error) {
	for attempt := 1; ; attempt++ {
		name := path.Join(dir, tempPrefix+rand.Text())
		f, err := s.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			return name, f, nil
		}
		if !errors.Is(err, fs.ErrNotExist) || attempt == maxCreateAttempts {
			return "", nil, fmt.Errorf("create temp file: %w", err)
		}
		if err := s.makeDirs(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", nil, err
		}
	}
}

// makeDirs creates dir and its missing parents with mode 0700, and syncs the
// parent of each folder it creates so that the new entry survives a crash.
// It descends one folder at a time, so a deep key costs one lookup per
// element rather than one per element and ancestor.
func (s *Store) makeDirs(dir string) error {
	parent := s.root
	defer func() {
		if parent != s.root {
			parent.Close()
		}
	}()
	for elem := range strings.SplitSeq(dir, "/") {
		err := parent.Mkdir(elem, 0o700)
		switch {
		case err == nil:
			if err := syncRootDir(parent, "."); err != nil {
				return err
			}
		case !errors.Is(err, fs.ErrExist):
			return fmt.Errorf("create folder: %w", err)
		}

		child, err := parent.OpenRoot(elem)
		if err != nil {
			return fmt.Errorf("open folder: %w", err)
		}
		if parent != s.root {
			parent.Close()
		}
		parent = child
	}
	return nil
}

func (s *Store) syncDir(dir string) error { return syncRootDir(s.root, dir) }

func syncRootDir(root *os.Root, dir string) error {
	f, err := root.Open(dir)
	if err != nil {
		return fmt.Errorf("open folder for sync: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync folder: %w", err)
	}
	return nil
}

// removeEmptyDirs removes dir and then each parent below the store's root for
// as long as they are empty. A folder that still contains anything, a temp file
// of a write in progress included, stays.
func (s *Store) removeEmptyDirs(dir string) error {
	for dir != "." {
		if err := s.root.Remove(dir); err != nil {
			// Not empty, or already removed by another delete.
			return nil
		}
		dir = path.Dir(dir)
		if err := s.syncDir(dir); err != nil {
			return err
		}
	}
	return nil
}

// versionIDs returns the version ids that have a version file in dir, newest
// first, and none when dir does not exist.
func (s *Store) versionIDs(dir string) ([]string, error) {
	entries, err := s.readDir(dir)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, e := range entries {
		if id, ok := strings.CutPrefix(e.Name(), versionPrefix); ok && validVersionID(id) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	slices.Reverse(ids)
	return ids, nil
}

// readDir returns the entries of dir, and none when dir does not exist.
func (s *Store) readDir(dir string) ([]fs.DirEntry, error) {
	f, err := s.root.Open(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open folder: %w", err)
	}
	defer f.Close()
	entries, err := f.ReadDir(-1)
	if err != nil {
		return nil, fmt.Errorf("read folder: %w", err)
	}
	return entries, nil
}
