package idea_test

import (
	"testing"
	"time"

	"github.com/whispersync/whispersync/agent/idea"
	"github.com/whispersync/whispersync/internal/golden"
)

const (
	corpusDir  = "../../testdata/corpus/dev"
	goldenFile = "testdata/golden.json"
)

// goldenAt is the recording time of every memo in the golden file.
var goldenAt = time.Date(2026, 12, 2, 18, 30, 0, 0, time.UTC)

// TestBuildMatchesGolden compares the output of Build for every transcript
// with the committed golden file. Run with -update after an intended change.
func TestBuildMatchesGolden(t *testing.T) {
	names, texts := golden.Corpus(t, corpusDir)
	got := make(map[string]any, len(names))
	for i, name := range names {
		got[name] = idea.Build(texts[i], goldenAt)
	}
	golden.Compare(t, goldenFile, got)
}

// BenchmarkBuildCorpus runs Build once on every development transcript per
// operation.
func BenchmarkBuildCorpus(b *testing.B) {
	_, texts := golden.Corpus(b, corpusDir)
	b.ReportAllocs()
	for b.Loop() {
		for _, text := range texts {
			idea.Build(text, goldenAt)
		}
	}
}
