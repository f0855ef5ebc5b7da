package filestore_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/filestore"
	"github.com/whispersync/whispersync/storagetest"
)

func TestObjectStoreContract(t *testing.T) {
	storagetest.ObjectStore(t, func(t *testing.T) whispersync.ObjectStore {
		return open(t, t.TempDir())
	})
}

func TestReopenKeepsObjects(t *testing.T) {
	dir := t.TempDir()
	s, err := filestore.Open(dir)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	ctx := t.Context()
	v1, err := s.PutObject(ctx, "a/k", []byte("one"), map[string]string{"approved": "false"})
	if err != nil {
		t.Fatalf("put: %v", err)
	}
	v2, err := s.PutObject(ctx, "a/k", []byte("two"), nil)
	if err != nil {
		t.Fatalf("put: %v", err)
	}
	if err := s.PutObjectTagging(ctx, "a/k", v1.VersionID, map[string]string{"approved": "true"}); err != nil {
		t.Fatalf("put tagging: %v", err)
	}
	if _, err := s.DeleteObject(ctx, "b", ""); err != nil {
		t.Fatalf("delete: %v", err)
	}
	before, err := s.ListObjectVersions(ctx, "")
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}

	s = open(t, dir)
	after, err := s.ListObjectVersions(ctx, "")
	if err != nil {
		t.Fatalf("list after reopen: %v", err)
	}
	if !slices.EqualFunc(before, after, sameVersion) {
		t.Errorf("versions after reopen: got %+v, want %+v", after, before)
	}
	got, err := s.GetObject(ctx, "a/k", "")
	if err != nil {
		t.Fatalf("get after reopen: %v", err)
	}
	if got.VersionID != v2.VersionID || string(got.Body) != "two" {
		t.Errorf("latest after reopen: got %s %q, want %s %q", got.VersionID, got.Body, v2.VersionID, "two")
	}
	tags, err := s.GetObjectTagging(ctx, "a/k", v1.VersionID)
	if err != nil {
		t.Fatalf("get tagging after reopen: %v", err)
	}
	if tags["approved"] != "true" {
		t.Errorf("tag approved after reopen: got %q, want %q", tags["approved"], "true")
	}

	v3, err := s.PutObject(ctx, "a/k", []byte("three"), nil)
	if err != nil {
		t.Fatalf("put after reopen: %v", err)
	}
	if v3.VersionID <= v2.VersionID {
		t.Errorf("version id after reopen: got %q, want above %q", v3.VersionID, v2.VersionID)
	}
}

func TestOpenRemovesLeftoverFiles(t *testing.T) {
	dir := t.TempDir()
	s, err := filestore.Open(dir)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	v, err := s.PutObject(t.Context(), "a/k", []byte("kept"), nil)
	if err != nil {
		t.Fatalf("put: %v", err)
	}
	closeStore(t, s)

	// A crash can leave a temp file of an unfinished write, and the tags
	// file of a version whose permanent delete was cut short.
	keyDir := filepath.Join(dir, "objects", "a")
	leftovers := []string{
		filepath.Join(keyDir, "~tmp-CRASHEDWRITE"),
		filepath.Join(dir, "objects", "~tmp-ATROOT"),
		filepath.Join(keyDir, "k@"+strings.Repeat("0", 26)+".tags"),
	}
	for _, name := range leftovers {
		if err := os.WriteFile(name, []byte("half written"), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	s = open(t, dir)
	for _, name := range leftovers {
		if _, err := os.Lstat(name); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("leftover %s after open: got %v, want it removed", filepath.Base(name), err)
		}
	}
	versions, err := s.ListObjectVersions(t.Context(), "")
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if len(versions) != 1 || versions[0].VersionID != v.VersionID {
		t.Errorf("versions: got %+v, want only %s", versions, v.VersionID)
	}
	got, err := s.GetObject(t.Context(), "a/k", "")
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if string(got.Body) != "kept" {
		t.Errorf("body: got %q, want %q", got.Body, "kept")
	}
}

func TestTempFileIgnoredWhileOpen(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	v, err := s.PutObject(t.Context(), "k", []byte("body"), nil)
	if err != nil {
		t.Fatalf("put: %v", err)
	}
	tmp := filepath.Join(dir, "objects", "~tmp-INPROGRESS")
	if err := os.WriteFile(tmp, []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}

	versions, err := s.ListObjectVersions(t.Context(), "")
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if len(versions) != 1 || versions[0].VersionID != v.VersionID {
		t.Errorf("versions: got %+v, want only %s", versions, v.VersionID)
	}
	if got, err := s.GetObject(t.Context(), "k", ""); err != nil || string(got.Body) != "body" {
		t.Errorf("get: got %v, want body %q", err, "body")
	}
}

func TestCorruptionDetected(t *testing.T) {
	body := []byte("sealed bytes that must not come back altered")
	tests := []struct {
		name string
		edit func([]byte) []byte
	}{
		{"body flipped bit", func(b []byte) []byte { b[len(b)-len(body)+3] ^= 0x01; return b }},
		{"body last byte flipped", func(b []byte) []byte { b[len(b)-1] ^= 0x80; return b }},
		{"body truncated", func(b []byte) []byte { return b[:len(b)-1] }},
		{"body extended", func(b []byte) []byte { return append(b, 0) }},
		{"body removed", func(b []byte) []byte { return b[:len(b)-len(body)] }},
		{"header flipped bit", func(b []byte) []byte { b[len(b)-len(body)-5] ^= 0x01; return b }},
		{"header checksum flipped", func(b []byte) []byte { b[12] ^= 0x01; return b }},
		{"header length changed", func(b []byte) []byte {
			line, rest, _ := bytes.Cut(b, []byte("\n"))
			fields := strings.Fields(string(line))
			n, _ := strconv.Atoi(fields[2])
			fields[2] = strconv.Itoa(n - 1)
			return append([]byte(strings.Join(fields, " ")+"\n"), rest...)
		}},
		{"header truncated", func(b []byte) []byte { return b[:40] }},
		{"file emptied", func([]byte) []byte { return nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s := open(t, dir)
			v, err := s.PutObject(t.Context(), "k", body, map[string]string{"approved": "true"})
			if err != nil {
				t.Fatalf("put: %v", err)
			}
			editFile(t, filepath.Join(dir, "objects", "k@"+v.VersionID), tt.edit)

			for _, id := range []string{"", v.VersionID} {
				obj, err := s.GetObject(t.Context(), "k", id)
				if err == nil {
					t.Fatalf("get version %q: got body %q, want an error", id, obj.Body)
				}
				if !errors.Is(err, filestore.ErrCorrupt) {
					t.Errorf("get version %q: got %v, want ErrCorrupt", id, err)
				}
			}
		})
	}
}

func TestCorruptTagsDetected(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	v, err := s.PutObject(t.Context(), "k", []byte("x"), nil)
	if err != nil {
		t.Fatalf("put: %v", err)
	}
	if err := s.PutObjectTagging(t.Context(), "k", v.VersionID, map[string]string{"approved": "false"}); err != nil {
		t.Fatalf("put tagging: %v", err)
	}
	editFile(t, filepath.Join(dir, "objects", "k@"+v.VersionID+".tags"), func(b []byte) []byte {
		return bytes.Replace(b, []byte("false"), []byte("true!"), 1)
	})

	if tags, err := s.GetObjectTagging(t.Context(), "k", v.VersionID); !errors.Is(err, filestore.ErrCorrupt) {
		t.Errorf("get tagging: got %v, %v, want ErrCorrupt", tags, err)
	}
	if _, err := s.GetObject(t.Context(), "k", ""); !errors.Is(err, filestore.ErrCorrupt) {
		t.Errorf("get: got %v, want ErrCorrupt", err)
	}
}

func TestVersionFileMovedDetected(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	a, err := s.PutObject(t.Context(), "a", []byte("a"), nil)
	if err != nil {
		t.Fatalf("put: %v", err)
	}
	if _, err := s.PutObject(t.Context(), "b", []byte("b"), nil); err != nil {
		t.Fatalf("put: %v", err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "objects", "a@"+a.VersionID))
	if err != nil {
		t.Fatal(err)
	}
	// #nosec G703 -- a version id the store issued, in the test's own folder
	if err := os.WriteFile(filepath.Join(dir, "objects", "b@"+a.VersionID), data, 0o600); err != nil {
		t.Fatal(err)
	}

	if _, err := s.GetObject(t.Context(), "b", a.VersionID); !errors.Is(err, filestore.ErrCorrupt) {
		t.Errorf("get copied version: got %v, want ErrCorrupt", err)
	}
}

func TestCorruptVersionRemovable(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	v, err := s.PutObject(t.Context(), "k", []byte("x"), nil)
	if err != nil {
		t.Fatalf("put: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "objects", "k@"+v.VersionID), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}

	if _, err := s.DeleteObject(t.Context(), "k", v.VersionID); err != nil {
		t.Fatalf("delete corrupt version: %v", err)
	}
	entries, err := os.ReadDir(filepath.Join(dir, "objects"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("files after deleting the only version: got %v, want none", entries)
	}
}

func TestTraversalKeysRejected(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "store")
	s := open(t, dir)
	keys := []string{
		"../escape",
		"../../escape",
		"a/../../escape",
		"a/../../../escape",
		"/tmp/escape",
		"..",
		"..%2fescape",
		"%2e%2e/escape",
		"%252e%252e/escape",
		`..\escape`,
		`a\..\..\escape`,
		"..\x00/escape",
		"a/..",
		".%2e/escape",
		"\u2024\u2024/escape",
	}
	for _, key := range keys {
		_, err := s.PutObject(t.Context(), key, []byte("x"), nil)
		if code := whispersync.ErrorCode(err); code != whispersync.EINVALID {
			t.Errorf("put %q: got code %q (%v), want %q", key, code, err, whispersync.EINVALID)
		}
		if _, err := s.DeleteObject(t.Context(), key, ""); whispersync.ErrorCode(err) != whispersync.EINVALID {
			t.Errorf("delete %q: got %v, want EINVALID", key, err)
		}
	}

	entries, err := os.ReadDir(parent)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "store" {
		t.Errorf("entries beside the store: got %v, want only store", entries)
	}
}

func TestSymlinkCannotEscape(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "store")
	outside := filepath.Join(parent, "outside")
	if err := os.Mkdir(outside, 0o700); err != nil {
		t.Fatal(err)
	}
	s := open(t, dir)
	if err := os.Symlink(outside, filepath.Join(dir, "objects", "link")); err != nil {
		t.Fatal(err)
	}

	if _, err := s.PutObject(t.Context(), "link/k", []byte("x"), nil); err == nil {
		t.Error("put through a symbolic link out of the store: got success, want an error")
	}
	entries, err := os.ReadDir(outside)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("entries in folder outside the store: got %v, want none", entries)
	}
}

func TestCheckKeyRules(t *testing.T) {
	tests := []struct {
		key  string
		rule string
	}{
		{"", filestore.RuleKeyEmpty},
		{strings.Repeat("a/", 512) + "a", filestore.RuleKeyLength},
		{"/a", filestore.RuleKeyAbsolute},
		{`a\b`, filestore.RuleKeyBackslash},
		{"a\x00", filestore.RuleKeyNUL},
		{"a//b", filestore.RuleKeyEmptyElement},
		{"a/", filestore.RuleKeyEmptyElement},
		{strings.Repeat("a", 256), filestore.RuleKeyElementLength},
		{"a/./b", filestore.RuleKeyDotElement},
		{"a/..", filestore.RuleKeyDotElement},
		{"a b", filestore.RuleKeyCharacter},
		{"%2e%2e", filestore.RuleKeyCharacter},
		{"caf\u00e9", filestore.RuleKeyCharacter},
	}
	for _, tt := range tests {
		err := filestore.CheckKey(tt.key)
		var e *whispersync.Error
		if !errors.As(err, &e) {
			t.Errorf("CheckKey(%.20q): got %v, want a *whispersync.Error", tt.key, err)
			continue
		}
		if e.Code != whispersync.EINVALID {
			t.Errorf("CheckKey(%.20q) code: got %q, want %q", tt.key, e.Code, whispersync.EINVALID)
		}
		if e.Rule != tt.rule {
			t.Errorf("CheckKey(%.20q) rule: got %q, want %q", tt.key, e.Rule, tt.rule)
		}
		if want := strings.TrimSuffix(strconv.Quote(tt.key[:min(len(tt.key), 20)]), `"`); !strings.Contains(e.Message, want) {
			t.Errorf("CheckKey(%.20q) message: got %q, want it to name the key", tt.key, e.Message)
		}
	}
}

func TestOpenLockedFolder(t *testing.T) {
	dir := t.TempDir()
	s, err := filestore.Open(dir)
	if err != nil {
		t.Fatalf("open: %v", err)
	}

	_, err = filestore.Open(dir)
	if code := whispersync.ErrorCode(err); code != whispersync.EUNAVAILABLE {
		t.Errorf("second open: got code %q (%v), want %q", code, err, whispersync.EUNAVAILABLE)
	}
	if err != nil && !strings.Contains(err.Error(), dir) {
		t.Errorf("second open error: got %q, want it to name %s", err, dir)
	}

	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	open(t, dir)
}

// TestOpenLockedByOtherProcess starts the test binary as a second process
// that holds the store open, because an in-process test cannot show that the
// lock reaches across processes.
func TestOpenLockedByOtherProcess(t *testing.T) {
	if dir := os.Getenv("FILESTORE_TEST_HOLD"); dir != "" {
		holdStore(dir)
		return
	}
	dir := t.TempDir()
	// #nosec G204 G702 -- runs this test binary again, with a fixed argument
	cmd := exec.Command(os.Args[0], "-test.run=^TestOpenLockedByOtherProcess$")
	cmd.Env = append(os.Environ(), "FILESTORE_TEST_HOLD="+dir)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "holding\n" {
		t.Fatalf("holder process: got %q, %v, want %q", line, err, "holding\n")
	}

	_, err = filestore.Open(dir)
	if code := whispersync.ErrorCode(err); code != whispersync.EUNAVAILABLE {
		t.Errorf("open while another process holds the folder: got code %q (%v), want %q", code, err, whispersync.EUNAVAILABLE)
	}

	if err := stdin.Close(); err != nil {
		t.Fatalf("close the holder's stdin: %v", err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("holder process: %v: %s", err, stderr.String())
	}
	open(t, dir)
}

// holdStore opens the store in dir, reports it on stdout and keeps it open
// until stdin is closed. It exits with status 1 when it fails.
func holdStore(dir string) {
	s, err := filestore.Open(dir)
	if err != nil {
		fmt.Printf("open failed: %v\n", err)
		os.Exit(1)
	}
	fmt.Println("holding")
	// The read ends with io.EOF when the test closes stdin.
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	if err := s.Close(); err != nil {
		fmt.Fprintf(os.Stderr, "close: %v\n", err)
		os.Exit(1)
	}
}

func TestFileModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	s := open(t, dir)
	ctx := t.Context()
	v, err := s.PutObject(ctx, "a/b/k", []byte("x"), nil)
	if err != nil {
		t.Fatalf("put: %v", err)
	}
	if err := s.PutObjectTagging(ctx, "a/b/k", v.VersionID, map[string]string{"a": "b"}); err != nil {
		t.Fatalf("put tagging: %v", err)
	}
	if _, err := s.DeleteObject(ctx, "a/c", ""); err != nil {
		t.Fatalf("delete: %v", err)
	}

	err = filepath.WalkDir(dir, func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		}
		if got := info.Mode().Perm(); got != want {
			t.Errorf("mode of %s: got %v, want %v", name, got, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestPermanentDeleteRemovesFolders(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	ctx := t.Context()
	v, err := s.PutObject(ctx, "a/b/c", []byte("x"), nil)
	if err != nil {
		t.Fatalf("put: %v", err)
	}
	keep, err := s.PutObject(ctx, "z", []byte("x"), nil)
	if err != nil {
		t.Fatalf("put: %v", err)
	}

	if _, err := s.DeleteObject(ctx, "a/b/c", v.VersionID); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "objects", "a")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("folder a after deleting the only key under it: got %v, want it removed", err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "objects", "z@"+keep.VersionID)); err != nil {
		t.Errorf("other key: %v", err)
	}
}

func TestVersionIDsIncrease(t *testing.T) {
	s := open(t, t.TempDir())
	previous := ""
	for i := range 200 {
		v, err := s.PutObject(t.Context(), "k", nil, nil)
		if err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
		if v.VersionID <= previous {
			t.Fatalf("version id %d: got %q, want above %q", i, v.VersionID, previous)
		}
		previous = v.VersionID
	}
}

func TestClosedStoreFails(t *testing.T) {
	s, err := filestore.Open(t.TempDir())
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second close: got %v, want nil", err)
	}

	if _, err := s.PutObject(t.Context(), "k", nil, nil); err == nil {
		t.Error("put after close: got success, want an error")
	}
	if _, err := s.GetObject(t.Context(), "k", ""); err == nil {
		t.Error("get after close: got success, want an error")
	}
	if _, err := s.ListObjectVersions(t.Context(), ""); err == nil {
		t.Error("list after close: got success, want an error")
	}
}

func TestListRejectsInvalidPrefix(t *testing.T) {
	s := open(t, t.TempDir())
	for _, prefix := range []string{"/", "../", "a/../", "a//", `a\`, "a\x00", "%2e%2e/", "a b"} {
		_, err := s.ListObjectVersions(t.Context(), prefix)
		if code := whispersync.ErrorCode(err); code != whispersync.EINVALID {
			t.Errorf("list %q: got code %q (%v), want %q", prefix, code, err, whispersync.EINVALID)
		}
	}
}

func FuzzCheckKey(f *testing.F) {
	for _, seed := range []string{"a", "a/b", "../a", "a/./b", "%2e%2e", `a\b`, "a//b", ".a", "a..b", "/a", "a/"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, key string) {
		if filestore.CheckKey(key) != nil {
			return
		}
		if filepath.IsAbs(key) || filepath.Clean(key) != key {
			t.Errorf("accepted key %q is not a clean relative path", key)
		}
		if !filepath.IsLocal(key) {
			t.Errorf("accepted key %q is not local", key)
		}
		if len(key) > filestore.MaxKeyLength {
			t.Errorf("accepted key of %d bytes", len(key))
		}
		if strings.ContainsAny(key, "@~#%\\\x00") {
			t.Errorf("accepted key %q contains a reserved byte", key)
		}
	})
}

func open(t testing.TB, dir string) *filestore.Store {
	t.Helper()
	s, err := filestore.Open(dir)
	if err != nil {
		t.Fatalf("open %s: %v", dir, err)
	}
	t.Cleanup(func() { closeStore(t, s) })
	return s
}

// closeStore closes s and fails the test when that fails.
func closeStore(t testing.TB, s *filestore.Store) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
}

func editFile(t *testing.T, name string, edit func([]byte) []byte) {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, edit(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

func sameVersion(a, b whispersync.ObjectVersion) bool {
	return a.Key == b.Key && a.VersionID == b.VersionID && a.Size == b.Size && a.ETag == b.ETag &&
		a.IsLatest == b.IsLatest && a.DeleteMarker == b.DeleteMarker && a.LastModified.Equal(b.LastModified)
}
