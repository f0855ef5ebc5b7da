// Package filestore keeps versioned objects as files in one folder, with the
// semantics of an S3 bucket that has versioning enabled. Its Store implements
// whispersync.ObjectStore for the embedded deployment.
//
// # Layout
//
// Open(DIR) uses these files:
//
//	DIR/lock                              lock file of the process that has DIR open
//	DIR/objects/PARENT/NAME@VERSION       one version or delete marker: header, body
//	DIR/objects/PARENT/NAME@VERSION.tags  tags that replace those in the header
//	DIR/objects/PARENT/~tmp-RANDOM        write in progress, or left by a crash
//
// PARENT is the key without its last element, NAME, so the versions of the
// key "a/b/c" are the files c@VERSION in the folder DIR/objects/a/b, and all
// memos of one owner share the owner's folder. A new version of a new key
// thus creates one file and, in a folder that exists, no folder. The key
// "a/b" may exist beside the key "a/b/c": its files b@VERSION lie next to
// the folder b. A last element too long for "@VERSION.tags" to fit in a
// file name of 255 bytes is replaced in file names by '#' and its hex
// SHA-256; the header names the key. Key elements may contain only
// letters, digits and . _ = - (see CheckKey), so they cannot collide with
// the '@', '~' and '#' of file names. Open rejects a folder of the earlier
// layout, which had a folder per key with files named @VERSION.
//
// Finding the newest version of a key takes the version ids of its folder.
// The store reads a folder once and then keeps its ids up to date in
// memory, for up to 64 recently used folders, so a get does not read every
// version of the owner. Only the process that holds the lock writes to the
// store, so its own writes are all the index has to follow.
//
// Reads resolve paths through an os.Root opened on DIR/objects. Writes keep
// open handles of up to 256 recently used folders and open each folder from
// its parent's handle with O_NOFOLLOW, so a put to a busy owner's folder
// resolves no path at all. Either way, a symbolic link planted in the folder
// cannot lead a key outside it.
//
// A version id is 48 bits of Unix milliseconds, a 32-bit counter and 48
// random bits, in lowercase base32hex, so ids sort by the time they were
// issued. Open sets the version clock above every stored id, and the clock
// never goes back, so the newest version of a key has the highest id even
// when the wall clock steps back.
//
// A version file starts with a header, the line "wsversion1 HEX LENGTH"
// followed by a JSON document of LENGTH bytes whose SHA-256 is HEX. The
// document contains the key, version id, size, time, ETag, delete-marker flag
// and tags. The body follows the header. Header and body share one file so
// that a put costs one file sync and at most one folder sync, and no crash
// can separate a version from its body. PutObjectTagging, which S3 allows on
// old versions too, writes a tags file in the same record format instead of
// rewriting the body. Headers and tags are stored in
// plaintext. Object bodies are stored as given, because callers seal them
// before they reach the store.
//
// # Durability
//
// Every file is written to a temp file, synced, renamed into place, and its
// folder synced, so a crash leaves either the old state or the new one. The
// parent of a new folder is synced before the write that made the folder
// returns. A successful PutObject, DeleteObject or PutObjectTagging is
// durable when it returns. Open removes temp files, and tags files whose
// version a crash removed midway. Files are created with mode 0600 and
// folders with 0700.
//
// Concurrent writes share folder syncs: an fsync of a folder makes durable
// every entry made in it before the fsync started, so a put waits for the
// first sync of its folder that started after its rename, and runs one
// itself only when no other put did. A put that made a folder likewise
// waits for a sync of the parent. Many new keys of one owner then share the
// syncs of the owner's folder instead of running one each.
//
// # Integrity
//
// GetObject checks the body against the size and ETag (hex SHA-256) in the
// header, and every read checks the header and tags checksums. A mismatch
// is an error wrapping ErrCorrupt, so a flipped bit on disk never comes back
// as data.
//
// # Concurrency
//
// A Store is safe for use by many goroutines. Writes to one key are
// serialized by a lock of that key. Writes to different keys, their fsyncs
// included, run in parallel, and share the syncs of common folders. Reads
// take no lock.
//
// One process at a time may open a folder. Open takes an exclusive
// flock(2) on DIR/lock and fails with EUNAVAILABLE when another Store, in
// this process or another, holds it. flock is advisory and may not work on
// network file systems, so DIR should be on a local disk.
package filestore

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/whispersync/whispersync"
)

// Store is a versioned object store in a folder. Open creates one.
type Store struct {
	dir    string
	root   *os.Root // reads, deletes and recovery
	dirs   *folders // writes
	index  versionIndex
	lock   *os.File
	log    *slog.Logger
	clock  versionClock
	keys   keyLocks
	closed atomic.Bool
}

var _ whispersync.ObjectStore = (*Store)(nil)

// Open opens the object store in dir, creating the folder when it does not
// exist, and removes what a crash left behind. The store holds an exclusive
// lock on dir until Close.
func Open(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("filestore: open: folder name is empty")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("filestore: open: %w", err)
	}
	lock, err := lockFolder(dir)
	if err != nil {
		return nil, err
	}

	objects := filepath.Join(dir, "objects")
	err = os.Mkdir(objects, 0o700)
	if err == nil {
		// The first put must not be lost with the folder that holds it.
		err = syncPath(dir)
	}
	if err != nil && !errors.Is(err, os.ErrExist) {
		_ = lock.Close() // nothing was written to the lock file
		return nil, fmt.Errorf("filestore: open: %w", err)
	}
	root, err := os.OpenRoot(objects)
	if err != nil {
		_ = lock.Close() // nothing was written to the lock file
		return nil, fmt.Errorf("filestore: open: %w", err)
	}
	dirs, err := openFolders(objects)
	if err != nil {
		// Nothing was written through either, so the open error is the
		// one to report.
		_ = root.Close()
		_ = lock.Close()
		return nil, fmt.Errorf("filestore: open: %w", err)
	}

	s := &Store{
		dir:  dir,
		root: root,
		dirs: dirs,
		lock: lock,
		log:  slog.Default().With("component", "filestore"),
	}
	if err := s.recover(); err != nil {
		_ = s.Close() // releases the folder; the recovery error is the one to report
		return nil, fmt.Errorf("filestore: open %s: recover: %w", dir, err)
	}
	return s, nil
}

// syncPath syncs the folder dir.
func syncPath(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// lockFolder takes the exclusive lock on dir. The lock belongs to the open
// file description, so it is released when the file is closed or the
// process ends, crashes included.
func lockFolder(dir string) (*os.File, error) {
	name := filepath.Join(dir, "lock")
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("filestore: open: %w", err)
	}
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		_ = f.Close() // the lock was not taken, so nothing is lost
		return nil, &whispersync.Error{
			Code:    whispersync.EUNAVAILABLE,
			Message: fmt.Sprintf("object store folder %s is in use by another process: stop that process or choose another folder", dir),
			Err:     err,
		}
	}
	if err != nil {
		_ = f.Close() // the lock was not taken, so nothing is lost
		return nil, fmt.Errorf("filestore: open: lock %s: %w", name, err)
	}
	return f, nil
}

// Close releases the folder. Operations after Close fail. Close must not be
// called while operations are in progress.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.dirs.close()
	rootErr := s.root.Close()
	// Closing the file releases the flock.
	lockErr := s.lock.Close()
	if err := errors.Join(rootErr, lockErr); err != nil {
		return fmt.Errorf("filestore: close: %w", err)
	}
	return nil
}

// keyLocks hands out one mutex per key in use, and deletes the mutex when no
// goroutine holds or waits for it, so the map does not grow with the number
// of keys ever written.
type keyLocks struct {
	mu    sync.Mutex
	locks map[string]*keyLock
}

type keyLock struct {
	sync.Mutex
	users int
}

// lock locks key and returns the function that unlocks it.
func (l *keyLocks) lock(key string) (unlock func()) {
	l.mu.Lock()
	if l.locks == nil {
		l.locks = make(map[string]*keyLock)
	}
	k := l.locks[key]
	if k == nil {
		k = &keyLock{}
		l.locks[key] = k
	}
	k.users++
	l.mu.Unlock()

	k.Lock()
	return func() {
		k.Unlock()
		l.mu.Lock()
		k.users--
		if k.users == 0 {
			delete(l.locks, key)
		}
		l.mu.Unlock()
	}
}
