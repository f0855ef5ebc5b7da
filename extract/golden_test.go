package extract_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/whispersync/whispersync/extract"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const goldenFile = "testdata/golden.json"

// facts contains every output of the package for one text.
type facts struct {
	People         []string `json:"people"`
	Places         []string `json:"places"`
	Themes         []string `json:"themes"`
	ActionItems    []string `json:"action_items"`
	Sentiment      string   `json:"sentiment"`
	SentimentScore float64  `json:"sentiment_score"`
	Terms          []string `json:"terms"`
	Summary        string   `json:"summary"`
	ShortSummary   string   `json:"short_summary"`
}

func factsOf(text string) facts {
	label, score := extract.Sentiment(text)
	return facts{
		People:         extract.People(text),
		Places:         extract.Places(text),
		Themes:         extract.Themes(text),
		ActionItems:    extract.ActionItems(text),
		Sentiment:      label,
		SentimentScore: score,
		Terms:          extract.Terms(text),
		Summary:        extract.Summary(text, 200),
		ShortSummary:   extract.Summary(text, 60),
	}
}

func docFacts(text string) facts {
	doc := extract.Parse(text)
	defer doc.Release()
	label, score := doc.Sentiment()
	return facts{
		People:         doc.People(),
		Places:         doc.Places(),
		Themes:         doc.Themes(),
		ActionItems:    doc.ActionItems(),
		Sentiment:      label,
		SentimentScore: score,
		Terms:          doc.Terms(),
		Summary:        doc.Summary(200),
		ShortSummary:   doc.Summary(60),
	}
}

// goldenTexts returns the development transcripts by file name, then the
// held-out memos and the fuzz seeds in testdata.
func goldenTexts(t testing.TB) map[string]string {
	t.Helper()
	texts := corpusTexts(t)
	for _, m := range heldOutMemos {
		texts["heldout/"+m.name] = m.text
	}
	seeds, err := filepath.Glob("testdata/fuzz/FuzzExtract/*")
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range seeds {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("read fuzz seed: %v", err)
		}
		scanner := bufio.NewScanner(bytes.NewReader(data))
		for scanner.Scan() {
			quoted, ok := strings.CutPrefix(scanner.Text(), "string(")
			if !ok {
				continue
			}
			text, err := strconv.Unquote(strings.TrimSuffix(quoted, ")"))
			if err != nil {
				t.Fatalf("parse fuzz seed %s: %v", path, err)
			}
			texts["fuzz/"+filepath.Base(path)] = text
		}
	}
	return texts
}

// corpusTexts returns every transcript of the development corpus by file
// name.
func corpusTexts(t testing.TB) map[string]string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(corpusDir, "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatalf("no transcripts found in %s", corpusDir)
	}
	texts := make(map[string]string, len(paths))
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("read transcript: %v", err)
		}
		texts[filepath.Base(path)] = string(data)
	}
	return texts
}

// TestFactsMatchGolden compares everything extracted from each text with
// the committed golden file, so that no change of output goes unnoticed.
// Run with -update after an intended change.
func TestFactsMatchGolden(t *testing.T) {
	got := make(map[string]facts)
	for name, text := range goldenTexts(t) {
		packageFacts := factsOf(text)
		if !sameJSON(t, docFacts(text), packageFacts) {
			t.Errorf("%s: Doc methods differ from the package functions", name)
		}
		got[name] = packageFacts
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
		reportChanges(t, got, want)
	}
}

// reportChanges names each text whose facts differ from the golden file,
// with both versions.
func reportChanges(t *testing.T, got map[string]facts, golden []byte) {
	t.Helper()
	var want map[string]facts
	if err := json.Unmarshal(golden, &want); err != nil {
		t.Fatalf("parse golden file %s: %v", goldenFile, err)
	}
	for _, name := range slices.Sorted(maps.Keys(got)) {
		if !sameJSON(t, got[name], want[name]) {
			gotJSON, _ := json.Marshal(got[name])
			wantJSON, _ := json.Marshal(want[name])
			t.Errorf("%s:\n got %s\nwant %s", name, gotJSON, wantJSON)
		}
	}
	t.Errorf("output differs from %s; if the change is intended, rerun with -update and review the diff", goldenFile)
}

// sameJSON reports whether two values encode to the same JSON.
func sameJSON(t testing.TB, first, second any) bool {
	t.Helper()
	firstJSON, err := json.Marshal(first)
	if err != nil {
		t.Fatal(err)
	}
	secondJSON, err := json.Marshal(second)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(firstJSON, secondJSON)
}

// BenchmarkPeopleCorpus runs People once on every development transcript
// per operation.
func BenchmarkPeopleCorpus(b *testing.B) {
	texts := sortedTexts(corpusTexts(b))
	b.ReportAllocs()
	for b.Loop() {
		for _, text := range texts {
			extract.People(text)
		}
	}
}

// sortedTexts returns the texts in the order of their names.
func sortedTexts(texts map[string]string) []string {
	var out []string
	for _, name := range slices.Sorted(maps.Keys(texts)) {
		out = append(out, texts[name])
	}
	return out
}

// TestConcurrentCallsMatchGolden runs the package functions on every
// golden text from several goroutines at once, to show that recycled
// buffers do not leak between calls.
func TestConcurrentCallsMatchGolden(t *testing.T) {
	texts := goldenTexts(t)
	want := make(map[string]facts, len(texts))
	for name, text := range texts {
		want[name] = factsOf(text)
	}
	var wg sync.WaitGroup
	for worker := range 4 {
		wg.Go(func() {
			for range 3 {
				for name, text := range texts {
					got := factsOf(text)
					if worker%2 == 1 {
						got = docFacts(text)
					}
					if !sameJSON(t, got, want[name]) {
						t.Errorf("%s: concurrent call differs from a sequential one", name)
					}
				}
			}
		})
	}
	wg.Wait()
}

// TestReleasedDocKeepsResults checks that the results of a Doc stay the
// same once its memory serves another Doc.
func TestReleasedDocKeepsResults(t *testing.T) {
	texts := sortedTexts(corpusTexts(t))
	first := extract.Parse(texts[0])
	people, places, terms, items := first.People(), first.Places(), first.Terms(), first.ActionItems()
	before := fmt.Sprint(people, places, terms, items)
	first.Release()
	for _, text := range texts[1:] {
		doc := extract.Parse(text)
		doc.Terms()
		doc.People()
		doc.Release()
	}
	if after := fmt.Sprint(people, places, terms, items); after != before {
		t.Errorf("results changed after Release:\n got %s\nwant %s", after, before)
	}
}
