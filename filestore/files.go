package filestore

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// File names in a key's folder, the folder named by all elements of the key
// but the last. The versions of the key "a/b/c" are the files "c@VERSION" in
// the folder "a/b", with the key's last element as the stem of their names.
// A last element too long to leave room for "@VERSION.tags" within 255
// bytes is replaced in file names by a hashed stem, '#' and the hex SHA-256
// of the element. None of '@', '~' and '#' may appear in a key element, so
// a folder, which is named by a key element, never has the name of a
// version, tags or temp file, and no two keys of a folder share a stem but
// by a SHA-256 collision, which the key in each header would reveal.
const (
	versionSep   = "@"
	tagsSuffix   = ".tags"
	tempPrefix   = "~tmp-"
	hashedPrefix = "#"
	// maxStemLength leaves room for '@', a version id and ".tags".
	maxStemLength = 255 - len(versionSep) - versionIDLength - len(tagsSuffix)
)

// maxWriteAttempts bounds the retries of a write that races with the
// removal of an empty folder by a permanent delete of another key.
const maxWriteAttempts = 5

// splitKey returns the folder that holds the files of key, "." for a key of
// one element, and the stem of their names.
func splitKey(key string) (dir, stem string) {
	i := strings.LastIndexByte(key, '/')
	if i < 0 {
		return ".", fileStem(key)
	}
	return key[:i], fileStem(key[i+1:])
}

// fileStem returns the stem of the file names of a key whose last element
// is base.
func fileStem(base string) string {
	if len(base) <= maxStemLength {
		return base
	}
	sum := sha256.Sum256([]byte(base))
	return hashedPrefix + hex.EncodeToString(sum[:])
}

// versionName returns the name of a version file in its key's folder.
func versionName(stem, versionID string) string { return stem + versionSep + versionID }

// tagsName returns the name of a tags file in its key's folder.
func tagsName(stem, versionID string) string { return stem + versionSep + versionID + tagsSuffix }

// versionPath and tagsPath return the paths below the objects folder of a
// version file and its tags file.
func versionPath(key, versionID string) string {
	dir, stem := splitKey(key)
	return path.Join(dir, versionName(stem, versionID))
}

func tagsPath(key, versionID string) string {
	dir, stem := splitKey(key)
	return path.Join(dir, tagsName(stem, versionID))
}

// parseFileName splits the name of a version or tags file into its stem and
// version id. It returns ok false for any other name: folders, temp files
// and files the store did not write.
func parseFileName(name string) (stem, versionID string, isTags, ok bool) {
	stem, rest, found := strings.Cut(name, versionSep)
	if !found || !validStem(stem) {
		return "", "", false, false
	}
	versionID, isTags = strings.CutSuffix(rest, tagsSuffix)
	if !validVersionID(versionID) {
		return "", "", false, false
	}
	return stem, versionID, isTags, true
}

func validStem(stem string) bool {
	if h, ok := strings.CutPrefix(stem, hashedPrefix); ok {
		_, err := hex.DecodeString(h)
		return err == nil && len(h) == 2*sha256.Size && strings.ToLower(h) == h
	}
	return len(stem) <= maxStemLength && checkElement(stem, stem) == nil
}

// isHashedStem reports whether stem hides its key's last element.
func isHashedStem(stem string) bool { return strings.HasPrefix(stem, hashedPrefix) }

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
		_ = unix.Unlinkat(d.fd, tmp, 0) // Open removes a temp file left behind
		return fmt.Errorf("write %s: %w", name, err)
	}

	if err := unix.Renameat(d.fd, tmp, d.fd, name); err != nil {
		_ = unix.Unlinkat(d.fd, tmp, 0) // Open removes a temp file left behind
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
			return errors.Join(err, f.Close())
		}
	}
	if err := f.Sync(); err != nil {
		return errors.Join(err, f.Close())
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

// syncRemoval makes durable the removal of a file from dir. When a permanent
// delete of another key emptied and removed dir meanwhile, it syncs the
// nearest parent that is left instead, which makes the removal of dir, and
// with it that of the file, durable.
func (s *Store) syncRemoval(dir string) error {
	for {
		err := s.syncDir(dir)
		if !errors.Is(err, fs.ErrNotExist) || dir == "." {
			return err
		}
		dir = path.Dir(dir)
	}
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

// versionIDs returns the ids of the versions of key, newest first, and none
// when the key has no version. It reads them from the index of the key's
// folder.
func (s *Store) versionIDs(key string) ([]string, error) {
	dir, stem := splitKey(key)
	return s.index.versionIDs(dir, stem, s.readDir)
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
