package filestore_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/whispersync/whispersync/filestore"
)

// TestNewKeyAddsOneFile checks that new keys of one owner add one file each
// to the owner's folder and no folder.
func TestNewKeyAddsOneFile(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	var want []string
	for _, memo := range []string{"m1", "m2", "m3"} {
		v, err := s.PutObject(t.Context(), "transcripts/owner/"+memo, []byte(memo), nil)
		if err != nil {
			t.Fatalf("put %s: %v", memo, err)
		}
		want = append(want, memo+"@"+v.VersionID)
	}

	entries, err := os.ReadDir(filepath.Join(dir, "objects", "transcripts", "owner"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		if e.IsDir() {
			t.Errorf("entry %s of the owner's folder: got a folder, want a file", e.Name())
		}
		got = append(got, e.Name())
	}
	if !slices.Equal(got, want) {
		t.Errorf("files of the owner's folder: got %v, want %v", got, want)
	}
}

// TestKeyBesideFolder stores the key "a/b" beside the keys below "a/b/".
func TestKeyBesideFolder(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	ctx := t.Context()
	short, err := s.PutObject(ctx, "a/b", []byte("short"), nil)
	if err != nil {
		t.Fatalf("put a/b: %v", err)
	}
	long, err := s.PutObject(ctx, "a/b/c", []byte("long"), nil)
	if err != nil {
		t.Fatalf("put a/b/c: %v", err)
	}
	if _, err := s.PutObject(ctx, "a/bc", []byte("other"), nil); err != nil {
		t.Fatalf("put a/bc: %v", err)
	}

	tests := []struct {
		prefix string
		want   []string
	}{
		{"", []string{"a/b", "a/b/c", "a/bc"}},
		{"a/b", []string{"a/b", "a/b/c", "a/bc"}},
		{"a/b/", []string{"a/b/c"}},
		{"a/bc", []string{"a/bc"}},
		{"a/b/c", []string{"a/b/c"}},
	}
	for _, tt := range tests {
		versions, err := s.ListObjectVersions(ctx, tt.prefix)
		if err != nil {
			t.Fatalf("list %q: %v", tt.prefix, err)
		}
		var got []string
		for _, v := range versions {
			got = append(got, v.Key)
			if !v.IsLatest {
				t.Errorf("list %q: version of %s: got IsLatest false, want true", tt.prefix, v.Key)
			}
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("keys listed with prefix %q: got %v, want %v", tt.prefix, got, tt.want)
		}
	}

	if _, err := s.DeleteObject(ctx, "a/b/c", long.VersionID); err != nil {
		t.Fatalf("delete a/b/c: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "objects", "a", "b")); err == nil {
		t.Error("folder a/b after deleting its only key: got it kept, want it removed")
	}
	got, err := s.GetObject(ctx, "a/b", "")
	if err != nil {
		t.Fatalf("get a/b after deleting a/b/c: %v", err)
	}
	if got.VersionID != short.VersionID || string(got.Body) != "short" {
		t.Errorf("a/b after deleting a/b/c: got %s %q, want %s %q", got.VersionID, got.Body, short.VersionID, "short")
	}
}

// TestLongLastElement stores keys whose last element leaves no room for a
// version id in a file name, and lists them by prefix.
func TestLongLastElement(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	ctx := t.Context()
	longA := "k/" + strings.Repeat("a", filestore.MaxKeyElementLength)
	longB := "k/" + strings.Repeat("b", filestore.MaxKeyElementLength)
	for _, key := range []string{longA, longB} {
		v, err := s.PutObject(ctx, key, []byte(key), map[string]string{"t": "1"})
		if err != nil {
			t.Fatalf("put %.10s...: %v", key, err)
		}
		if err := s.PutObjectTagging(ctx, key, v.VersionID, map[string]string{"t": "2"}); err != nil {
			t.Fatalf("put tagging %.10s...: %v", key, err)
		}
	}
	closeStore(t, s)

	s = open(t, dir)
	versions, err := s.ListObjectVersions(ctx, "k/aa")
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if len(versions) != 1 || versions[0].Key != longA || !versions[0].IsLatest {
		t.Errorf("versions with prefix k/aa: got %+v, want the latest of the long key of a's", versions)
	}
	got, err := s.GetObject(ctx, longB, "")
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if string(got.Body) != longB || got.Tags["t"] != "2" {
		t.Errorf("long key of b's: got body %.10q tags %v, want the key and t=2", got.Body, got.Tags)
	}
}

func TestOpenRejectsEarlierLayout(t *testing.T) {
	dir := t.TempDir()
	keyDir := filepath.Join(dir, "objects", "transcripts", "owner", "memo")
	if err := os.MkdirAll(keyDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(keyDir, "@"+strings.Repeat("0", 26)), []byte("version"), 0o600); err != nil {
		t.Fatal(err)
	}

	s, err := filestore.Open(dir)
	if err == nil {
		closeStore(t, s)
		t.Fatal("open a store of the earlier layout: got success, want an error")
	}
	if !strings.Contains(err.Error(), "older layout") || !strings.Contains(err.Error(), "transcripts/owner/memo") {
		t.Errorf("open error: got %q, want it to name the folder and the older layout", err)
	}
}
