package atomicfile_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/whispersync/whispersync/internal/atomicfile"
)

func TestWriteFileReplaces(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "list.json")
	for _, content := range []string{"first\n", "second\n"} {
		if err := atomicfile.WriteFile(name, []byte(content)); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != content {
			t.Errorf("content: got %q, want %q", got, content)
		}
	}
	info, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("mode: got %v, want 0600", info.Mode().Perm())
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("files in the folder: got %d, want only the written one", len(entries))
	}
}
