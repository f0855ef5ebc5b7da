package memory_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/whispersync/whispersync/agent/memory"
)

var update = flag.Bool("update", false, "rewrite the golden file in testdata")

const (
	corpusDir  = "../../testdata/corpus/dev"
	goldenFile = "testdata/golden.json"
)

// goldenAt is the recording time of every memo in the golden file.
var goldenAt = time.Date(2026, 12, 2, 18, 30, 0, 0, time.UTC)

// corpus returns the file names and texts of the development transcripts,
// sorted by name.
func corpus(t testing.TB) (names, texts []string) {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(corpusDir, "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatalf("no transcripts found in %s", corpusDir)
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

// TestBuildMatchesGolden compares the output of Build for every transcript
// with the committed golden file, so that no change of output goes
// unnoticed. Run with -update after an intended change.
func TestBuildMatchesGolden(t *testing.T) {
	names, texts := corpus(t)
	got := make(map[string]json.RawMessage, len(names))
	for i, name := range names {
		out, err := json.Marshal(memory.Build(texts[i], goldenAt))
		if err != nil {
			t.Fatal(err)
		}
		got[name] = out
	}

	data, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	data = append(data, '\n')
	if *update {
		if err := os.WriteFile(goldenFile, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return
	}

	want, err := os.ReadFile(goldenFile)
	if err != nil {
		t.Fatalf("read golden file: %v", err)
	}
	if !bytes.Equal(data, want) {
		reportChanges(t, names, got, want)
	}
}

// reportChanges names each transcript whose output differs from the golden
// file, with both outputs.
func reportChanges(t *testing.T, names []string, got map[string]json.RawMessage, golden []byte) {
	t.Helper()
	var want map[string]json.RawMessage
	if err := json.Unmarshal(golden, &want); err != nil {
		t.Fatalf("parse golden file %s: %v", goldenFile, err)
	}
	for _, name := range names {
		var gotCompact, wantCompact bytes.Buffer
		_ = json.Compact(&gotCompact, got[name])
		_ = json.Compact(&wantCompact, want[name])
		if !bytes.Equal(gotCompact.Bytes(), wantCompact.Bytes()) {
			t.Errorf("%s:\n got %s\nwant %s", name, gotCompact.Bytes(), wantCompact.Bytes())
		}
	}
	t.Errorf("Build output differs from %s; if the change is intended, rerun with -update and review the diff", goldenFile)
}

// BenchmarkBuildCorpus runs Build once on every development transcript per
// operation.
func BenchmarkBuildCorpus(b *testing.B) {
	_, texts := corpus(b)
	b.ReportAllocs()
	for b.Loop() {
		for _, text := range texts {
			memory.Build(text, goldenAt)
		}
	}
}
