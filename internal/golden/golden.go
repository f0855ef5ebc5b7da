// Package golden compares the output of tests with golden files committed
// in testdata, so that no change of output goes unnoticed. A test binary
// that imports it accepts -update, which rewrites the files instead.
package golden

import (
	"bytes"
	"encoding/json"
	"flag"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// Corpus returns the file names and texts of the *.txt files in dir,
// sorted by name. It fails the test when there are none.
func Corpus(t testing.TB, dir string) (names, texts []string) {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatalf("no transcripts found in %s", dir)
	}
	slices.Sort(paths)
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("read transcript: %v", err)
		}
		names = append(names, filepath.Base(path))
		texts = append(texts, string(data))
	}
	return names, texts
}

// Compare checks got, one output per name, against the golden file at
// path, written as indented JSON. With -update it rewrites the file
// instead. On a difference it reports each name whose output changed, with
// both versions.
func Compare[V any](t *testing.T, path string, got map[string]V) {
	t.Helper()
	data, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	data = append(data, '\n')
	if *update {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return
	}

	golden, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file: %v", err)
	}
	if bytes.Equal(data, golden) {
		return
	}
	var want map[string]json.RawMessage
	if err := json.Unmarshal(golden, &want); err != nil {
		t.Fatalf("parse golden file %s: %v", path, err)
	}
	for _, name := range slices.Sorted(maps.Keys(got)) {
		gotJSON, err := json.Marshal(got[name])
		if err != nil {
			t.Fatal(err)
		}
		var wantJSON bytes.Buffer
		_ = json.Compact(&wantJSON, want[name]) // a missing name leaves it empty, which differs
		if !bytes.Equal(gotJSON, wantJSON.Bytes()) {
			t.Errorf("%s:\n got %s\nwant %s", name, gotJSON, wantJSON.Bytes())
		}
	}
	t.Errorf("output differs from %s; if the change is intended, rerun with -update and review the diff", path)
}
