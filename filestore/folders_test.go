package filestore_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// TestPutAfterFolderRemoved removes folders whose handles the store caches,
// and checks that the next put recreates them instead of writing into the
// removed ones.
func TestPutAfterFolderRemoved(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	if _, err := s.PutObject(t.Context(), "a/b/k1", []byte("one"), nil); err != nil {
		t.Fatalf("put: %v", err)
	}
	if err := os.RemoveAll(filepath.Join(dir, "objects", "a")); err != nil {
		t.Fatal(err)
	}

	v, err := s.PutObject(t.Context(), "a/b/k2", []byte("two"), nil)
	if err != nil {
		t.Fatalf("put after removal: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "objects", "a", "b", "k2@"+v.VersionID)); err != nil {
		t.Errorf("version file after removal: %v", err)
	}
	got, err := s.GetObject(t.Context(), "a/b/k2", "")
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if string(got.Body) != "two" {
		t.Errorf("body: got %q, want %q", got.Body, "two")
	}
}

// TestSymlinkReplacingCachedFolder replaces a folder whose handle the store
// caches with a symbolic link out of the store.
func TestSymlinkReplacingCachedFolder(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "store")
	outside := filepath.Join(parent, "outside")
	if err := os.Mkdir(outside, 0o700); err != nil {
		t.Fatal(err)
	}
	s := open(t, dir)
	if _, err := s.PutObject(t.Context(), "a/k1", []byte("x"), nil); err != nil {
		t.Fatalf("put: %v", err)
	}
	cached := filepath.Join(dir, "objects", "a")
	if err := os.RemoveAll(cached); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, cached); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "objects", "link")); err != nil {
		t.Fatal(err)
	}

	for _, key := range []string{"a/k2", "a/k1", "link/k"} {
		if _, err := s.PutObject(t.Context(), key, []byte("x"), nil); err == nil {
			t.Errorf("put %s through a symbolic link out of the store: got success, want an error", key)
		}
	}
	entries, err := os.ReadDir(outside)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("entries in folder outside the store: got %v, want none", entries)
	}
}

// TestPutsRacePermanentDeletes puts new keys below a folder that
// permanent deletes of other keys keep emptying and removing.
func TestPutsRacePermanentDeletes(t *testing.T) {
	s := open(t, t.TempDir())
	const workers, rounds = 4, 25
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range rounds {
				key := fmt.Sprintf("p/q/w%d-k%d", w, i)
				v, err := s.PutObject(t.Context(), key, []byte(key), nil)
				if err != nil {
					t.Errorf("put %s: %v", key, err)
					return
				}
				got, err := s.GetObject(t.Context(), key, "")
				if err != nil || string(got.Body) != key {
					t.Errorf("get %s: got %v, want body %q", key, err, key)
					return
				}
				if _, err := s.DeleteObject(t.Context(), key, v.VersionID); err != nil {
					t.Errorf("delete %s: %v", key, err)
					return
				}
			}
		})
	}
	wg.Wait()

	versions, err := s.ListObjectVersions(t.Context(), "")
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if len(versions) != 0 {
		t.Errorf("versions after deleting every put: got %d, want none", len(versions))
	}
}
