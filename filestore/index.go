package filestore

import (
	"container/list"
	"io/fs"
	"slices"
	"sync"
)

// maxIndexedFolders bounds the folders whose version files the index keeps
// in memory. The folder of a busy owner is read by every get, so it stays
// indexed while the folders of other owners pass through.
const maxIndexedFolders = 64

// versionIndex keeps the version ids of the keys in recently used folders.
// All keys of one owner share a folder, so finding the newest version of a
// key by reading its folder would cost a read of every version of the owner.
// The index reads a folder once and then follows the store's own writes,
// which is sound because only the process that holds the store's lock
// writes to it.
//
// The index follows the files on disk: a put adds the id after its version
// file is in place, and a permanent delete removes the id before it removes
// the file and again after, in case a read of the folder found the file in
// between. So a reader never gets an id before its version is readable, and
// a version that a delete has begun to remove is no longer the newest. A
// delete that fails drops the folder from the index, which reads it anew
// the next time.
type versionIndex struct {
	mu       sync.Mutex
	byFolder map[string]*list.Element
	lru      list.List // *folderIndex values, most recently used at the front
}

// folderIndex is the index of one folder. Its mutex is held while the folder
// is read, so an add or remove that races with the read waits for it and is
// applied to its result.
type folderIndex struct {
	dir string

	mu     sync.Mutex
	loaded bool
	ids    map[string][]string // file name stem to version ids, oldest first
}

// versionIDs returns the version ids of the key whose last element is stem
// in dir, newest first. readDir reads the folder when it is not indexed.
func (x *versionIndex) versionIDs(dir, stem string, readDir func(string) ([]fs.DirEntry, error)) ([]string, error) {
	f := x.folder(dir, true)
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.loaded {
		entries, err := readDir(dir)
		if err != nil {
			x.forget(dir)
			return nil, err
		}
		// Adds that came before the read are in what it found.
		clear(f.ids)
		for _, e := range entries {
			b, id, isTags, ok := parseFileName(e.Name())
			if ok && !isTags && !e.IsDir() {
				f.ids[b] = append(f.ids[b], id)
			}
		}
		for _, ids := range f.ids {
			slices.Sort(ids)
		}
		f.loaded = true
	}
	ids := slices.Clone(f.ids[stem])
	slices.Reverse(ids)
	return ids, nil
}

// add records a new version file. Folders that are not indexed are left
// alone: reading them later finds the file.
func (x *versionIndex) add(dir, stem, versionID string) {
	f := x.folder(dir, false)
	if f == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	ids := f.ids[stem]
	i, found := slices.BinarySearch(ids, versionID)
	if !found {
		f.ids[stem] = slices.Insert(ids, i, versionID)
	}
}

// remove forgets a version file that is about to be removed.
func (x *versionIndex) remove(dir, stem, versionID string) {
	f := x.folder(dir, false)
	if f == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	ids := f.ids[stem]
	if i, found := slices.BinarySearch(ids, versionID); found {
		ids = slices.Delete(ids, i, i+1)
		if len(ids) == 0 {
			delete(f.ids, stem)
		} else {
			f.ids[stem] = ids
		}
	}
}

// forget drops dir from the index, after its files changed in a way the
// index could not follow.
func (x *versionIndex) forget(dir string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if e, ok := x.byFolder[dir]; ok {
		x.lru.Remove(e)
		delete(x.byFolder, dir)
	}
}

// folder returns the index of dir, creating an empty, unloaded one when
// create is set, and nil otherwise.
func (x *versionIndex) folder(dir string, create bool) *folderIndex {
	x.mu.Lock()
	defer x.mu.Unlock()
	if e, ok := x.byFolder[dir]; ok {
		x.lru.MoveToFront(e)
		return e.Value.(*folderIndex)
	}
	if !create {
		return nil
	}
	if x.byFolder == nil {
		x.byFolder = make(map[string]*list.Element)
	}
	f := &folderIndex{dir: dir, ids: make(map[string][]string)}
	x.byFolder[dir] = x.lru.PushFront(f)
	for x.lru.Len() > maxIndexedFolders {
		oldest := x.lru.Back()
		x.lru.Remove(oldest)
		delete(x.byFolder, oldest.Value.(*folderIndex).dir)
	}
	return f
}
