package extract_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/whispersync/whispersync/extract"
	"github.com/whispersync/whispersync/internal/golden"
)

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
	names, corpus := golden.Corpus(t, corpusDir)
	texts := make(map[string]string, len(names))
	for i, name := range names {
		texts[name] = corpus[i]
	}
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

	golden.Compare(t, goldenFile, got)
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
	_, texts := golden.Corpus(b, corpusDir)
	b.ReportAllocs()
	for b.Loop() {
		for _, text := range texts {
			extract.People(text)
		}
	}
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
	_, texts := golden.Corpus(t, corpusDir)
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
