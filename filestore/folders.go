package filestore

import (
	"container/list"
	"errors"
	"fmt"
	"path"
	"sync"

	"golang.org/x/sys/unix"
)

// maxCachedFolders bounds the folder handles that folders keeps open. The
// folder of a busy owner is used by every put, so it stays cached while the
// folders of new keys pass through.
const maxCachedFolders = 256

// errStale reports that a folder was removed while a write used its handle,
// typically by a permanent delete that emptied it. The write starts over.
var errStale = errors.New("folder was removed during the write")

// folders is a cache of open handles of the folders below the objects
// folder. A write opens its key's folder from the cached handle of the
// parent instead of walking the path from the root. The cache also tracks
// which folder syncs each handle still needs.
//
// Each handle is opened from its parent's handle with O_NOFOLLOW and
// O_DIRECTORY. Valid keys have no "." or ".." elements, so no handle leads
// outside the objects folder. Creating anything in a removed folder fails
// with ENOENT, so a writer that gets ENOENT drops the handle and starts over.
type folders struct {
	mu     sync.Mutex
	root   *folder
	byPath map[string]*list.Element
	lru    list.List // *folder values, most recently used at the front
}

// folder is an open folder below the objects folder.
type folder struct {
	path string // relative to the objects folder, "." for the objects folder
	fd   int

	// The fields below up to syncs are guarded by folders.mu. refs counts
	// the cache, each acquire and each folder whose needs name this one.
	// The fd is closed when refs drops to zero.
	refs int
	elem *list.Element // position in folders.lru, nil when not cached
	// needs lists the folder syncs that make the entries of this folder and
	// of its ancestors durable. It is cleared once they are done.
	needs []syncNeed

	syncs folderSync
}

// syncNeed is a round of fsync of f numbered above mark.
type syncNeed struct {
	f    *folder
	mark uint64
}

// folderSync coalesces the fsyncs of one folder. Rounds of fsync are
// numbered from 1 in the order they start, and run one at a time. A round
// makes durable every change to the folder that completed before it
// started. So a writer reads the counter after its change and waits for a
// round numbered above it. When another writer's round started since, the
// writer runs no fsync of its own.
type folderSync struct {
	mu        sync.Mutex
	started   uint64     // number of the last round started
	completed uint64     // number of the last round completed
	running   *syncRound // nil when no round runs
	err       error      // error of a failed round, returned by every later wait
}

type syncRound struct {
	n    uint64
	done chan struct{}
}

func openFolders(dir string) (*folders, error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open folder %s: %w", dir, err)
	}
	return &folders{
		root:   &folder{path: ".", fd: fd, refs: 1},
		byPath: make(map[string]*list.Element),
	}, nil
}

// close closes every cached handle. No operation may be in progress.
func (c *folders) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.lru.Len() > 0 {
		c.dropLocked(c.lru.Back().Value.(*folder))
	}
	c.releaseLocked(c.root)
}

// acquire returns a handle of dir, creating dir and its missing parents.
// The caller releases the handle. The entries of the folder and of its
// ancestors may not be durable yet, and waitDurable waits for them.
func (c *folders) acquire(dir string) (*folder, error) {
	c.mu.Lock()
	if dir == "." {
		c.root.refs++
		c.mu.Unlock()
		return c.root, nil
	}
	if e, ok := c.byPath[dir]; ok {
		f := e.Value.(*folder)
		c.lru.MoveToFront(e)
		f.refs++
		c.mu.Unlock()
		return f, nil
	}
	c.mu.Unlock()

	parent, err := c.acquire(path.Dir(dir))
	if err != nil {
		return nil, err
	}
	defer c.release(parent)
	return c.openChild(parent, dir)
}

// openChild creates the folder dir in parent unless it exists, opens it
// and caches the handle.
func (c *folders) openChild(parent *folder, dir string) (*folder, error) {
	name := path.Base(dir)
	// A miss is most often a new key, so try to make the folder first.
	err := unix.Mkdirat(parent.fd, name, 0o700)
	switch {
	case errors.Is(err, unix.ENOENT):
		c.invalidate(parent)
		return nil, errStale
	case err != nil && !errors.Is(err, unix.EEXIST):
		return nil, fmt.Errorf("create folder %s: %w", quoteKey(dir), err)
	}
	fd, err := unix.Openat(parent.fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) {
		return nil, errStale
	}
	if err != nil {
		// ELOOP or ENOTDIR, from a symbolic link or a file where the
		// folder should be.
		return nil, fmt.Errorf("open folder %s: %w", quoteKey(dir), err)
	}
	// The entry may come from this call, from a writer whose sync of the
	// parent has not run yet, or from a process that crashed before its
	// sync. A sync of the parent that starts after this point covers each.
	mark := parent.mark()

	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byPath[dir]; ok {
		// Another writer opened it meanwhile. Its needs cover the entry
		// too, because it saw the entry before it read its mark.
		_ = unix.Close(fd) // a read-only handle: closing it loses nothing
		f := e.Value.(*folder)
		c.lru.MoveToFront(e)
		f.refs++
		return f, nil
	}
	f := &folder{path: dir, fd: fd, refs: 2}
	f.needs = make([]syncNeed, 0, len(parent.needs)+1)
	f.needs = append(f.needs, syncNeed{parent, mark})
	f.needs = append(f.needs, parent.needs...)
	for _, n := range f.needs {
		n.f.refs++
	}
	f.elem = c.lru.PushFront(f)
	c.byPath[dir] = f.elem
	for c.lru.Len() > maxCachedFolders {
		c.dropLocked(c.lru.Back().Value.(*folder))
	}
	return f, nil
}

// release returns a handle that acquire handed out.
func (c *folders) release(f *folder) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.releaseLocked(f)
}

func (c *folders) releaseLocked(f *folder) {
	f.refs--
	if f.refs > 0 {
		return
	}
	_ = unix.Close(f.fd) // a read-only handle: closing it loses nothing
	for _, n := range f.needs {
		c.releaseLocked(n.f)
	}
	f.needs = nil
}

// invalidate drops f and its cached ancestors from the cache after f's
// folder was removed or its sync failed. The next acquire opens them anew.
func (c *folders) invalidate(f *folder) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f.elem != nil {
		c.dropLocked(f)
	}
	c.invalidatePathLocked(path.Dir(f.path))
}

// invalidatePath drops dir from the cache, after dir was removed.
func (c *folders) invalidatePath(dir string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byPath[dir]; ok {
		c.dropLocked(e.Value.(*folder))
	}
}

func (c *folders) invalidatePathLocked(dir string) {
	for ; dir != "."; dir = path.Dir(dir) {
		if e, ok := c.byPath[dir]; ok {
			c.dropLocked(e.Value.(*folder))
		}
	}
}

func (c *folders) dropLocked(f *folder) {
	c.lru.Remove(f.elem)
	delete(c.byPath, f.path)
	f.elem = nil
	c.releaseLocked(f)
}

// waitDurable returns once the entries of f's folder and of its ancestors
// are durable. It runs the folder syncs that no other writer has run since
// the entries were made.
func (c *folders) waitDurable(f *folder) error {
	c.mu.Lock()
	needs := f.needs
	c.mu.Unlock()
	if len(needs) == 0 {
		return nil
	}
	for _, n := range needs {
		if err := n.f.syncSince(n.mark); err != nil {
			c.invalidate(f)
			return err
		}
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	// Needs only change from set to nil, so the caller that still finds
	// them set releases them.
	if f.needs != nil {
		for _, n := range f.needs {
			c.releaseLocked(n.f)
		}
		f.needs = nil
	}
	return nil
}

// syncAfterChange returns once the changes to f that completed before the
// call are durable.
func (f *folder) syncAfterChange() error {
	return f.syncSince(f.mark())
}

// mark returns the number of the last round of fsync of f that started.
// Every round numbered above it starts after mark returns.
func (f *folder) mark() uint64 {
	f.syncs.mu.Lock()
	defer f.syncs.mu.Unlock()
	return f.syncs.started
}

// syncSince returns once a round of fsync of f numbered above mark has
// completed. When no round runs, the caller runs one. Otherwise it waits for
// the running round and checks again. The caller holds f, directly or
// through the needs of a folder it holds, so f's fd is open.
func (f *folder) syncSince(mark uint64) error {
	s := &f.syncs
	s.mu.Lock()
	for {
		switch {
		case s.err != nil:
			err := s.err
			s.mu.Unlock()
			return err
		case s.completed > mark:
			s.mu.Unlock()
			return nil
		case s.running != nil:
			r := s.running
			s.mu.Unlock()
			<-r.done
			s.mu.Lock()
			continue
		}

		s.started++
		r := &syncRound{n: s.started, done: make(chan struct{})}
		s.running = r
		s.mu.Unlock()
		err := fsync(f.fd)
		s.mu.Lock()
		s.running = nil
		if err != nil {
			s.err = fmt.Errorf("sync folder: %w", err)
		} else {
			s.completed = r.n
		}
		close(r.done)
	}
}

func fsync(fd int) error {
	for {
		err := unix.Fsync(fd)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}
