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

	"golang.org/x/sys/unix"
)

// File names inside a key's folder. Neither '@' nor '~' may appear in a key
// element, so these names never collide with the folder of a longer key.
const (
	versionPrefix = "@"
	tagsSuffix    = ".tags"
	tempPrefix    = "~tmp-"
)

// maxWriteAttempts bounds the retries of a write that races with the
// removal of an empty folder by a permanent delete of another key.
const maxWriteAttempts = 5

func versionName(versionID string) string { return versionPrefix + versionID }

func tagsName(versionID string) string { return versionPrefix + versionID + tagsSuffix }

// writeFile durably replaces dir/name with the concatenation of parts,
// creating dir and its parents when they are missing. It writes a temp file
// in dir, syncs it, renames it to name, syncs dir, and waits until the
// entries of dir and its parents are durable. A crash at any point leaves
// either the old file or the new one, plus at most a temp file that Open
// removes.
func (s *Store) writeFile(dir, name string, parts ...[]byte) error {
	for attempt := 1; ; attempt++ {
		err := s.tryWriteFile(dir, name, parts)
		if !errors.Is(err, errStale) || attempt == maxWriteAttempts {
			return err
		}
	}
}

func (s *Store) tryWriteFile(dir, name string, parts [][]byte) error {
	d, err := s.dirs.acquire(dir)
	if err != nil {
		return err
	}
	defer s.dirs.release(d)

	tmp := tempPrefix + rand.Text()
	fd, err := unix.Openat(d.fd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if errors.Is(err, unix.ENOENT) {
		s.dirs.invalidate(d)
		return errStale
	}
	if err != nil {
		return fmt.Errorf("create temp file: %w", err)
	}
	if err := writeAndSync(os.NewFile(uintptr(fd), tmp), parts); err != nil {
		unix.Unlinkat(d.fd, tmp, 0)
		return fmt.Errorf("write %s: %w", name, err)
	}

	if err := unix.Renameat(d.fd, tmp, d.fd, name); err != nil {
		unix.Unlinkat(d.fd, tmp, 0)
		if errors.Is(err, unix.ENOENT) {
			s.dirs.invalidate(d)
			return errStale
		}
		return fmt.Errorf("rename %s: %w", name, err)
	}
	if err := d.syncAfterChange(); err != nil {
		s.dirs.invalidate(d)
		return err
	}
	return s.dirs.waitDurable(d)
}

// writeAndSync writes parts to f, syncs and closes it.
func writeAndSync(f *os.File, parts [][]byte) error {
	for _, data := range parts {
		if _, err := f.Write(data); err != nil {
			f.Close()
			return err
		}
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// syncDir syncs dir, a path below the objects folder.
func (s *Store) syncDir(dir string) error {
	f, err := s.root.Open(dir)
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
		s.dirs.invalidatePath(dir)
		dir = path.Dir(dir)
		err := s.syncDir(dir)
		if errors.Is(err, fs.ErrNotExist) {
			// Another delete emptied and removed the parent meanwhile.
			// The removed versions were synced away before, so at worst
			// a crash brings back empty folders, which hold no key.
			return nil
		}
		if err != nil {
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
