package extract_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/whispersync/whispersync/extract"
)

const corpusDir = "../testdata/corpus/dev"

type label struct {
	Bucket      string   `json:"bucket"`
	Buckets     []string `json:"buckets"`
	People      []string `json:"people"`
	ActionItems []string `json:"action_items"`
}

type memo struct {
	name  string
	text  string
	label label
}

func loadCorpus(t testing.TB) []memo {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(corpusDir, "labels.json"))
	if err != nil {
		t.Fatalf("read labels: %v", err)
	}
	var labels map[string]label
	if err := json.Unmarshal(data, &labels); err != nil {
		t.Fatalf("parse labels: %v", err)
	}
	names := make([]string, 0, len(labels))
	for name := range labels {
		names = append(names, name)
	}
	slices.Sort(names)
	memos := make([]memo, 0, len(names))
	for _, name := range names {
		text, err := os.ReadFile(filepath.Join(corpusDir, name))
		if err != nil {
			t.Fatalf("read memo: %v", err)
		}
		memos = append(memos, memo{name: name, text: string(text), label: labels[name]})
	}
	if len(memos) == 0 {
		t.Fatal("corpus: no memos")
	}
	return memos
}

// TestPeopleCorpus measures precision and recall of People over the labelled
// development corpus.
func TestPeopleCorpus(t *testing.T) {
	var truePos, predicted, labelled int
	for _, m := range loadCorpus(t) {
		got := extract.People(m.text)
		predicted += len(got)
		labelled += len(m.label.People)
		for _, name := range got {
			if slices.Contains(m.label.People, name) {
				truePos++
			} else {
				t.Logf("%s: extra person %q", m.name, name)
			}
		}
		for _, name := range m.label.People {
			if !slices.Contains(got, name) {
				t.Logf("%s: missed person %q", m.name, name)
			}
		}
	}
	precision := float64(truePos) / float64(max(predicted, 1))
	recall := float64(truePos) / float64(max(labelled, 1))
	t.Logf("people: precision %.3f, recall %.3f (%d predicted, %d labelled)", precision, recall, predicted, labelled)
	if precision < 0.85 || recall < 0.85 {
		t.Errorf("people: got precision %.3f and recall %.3f, want both >= 0.85", precision, recall)
	}
}

// TestActionItemsCorpus measures action items against the labels: a
// predicted item matches a labelled one when it shares at least half of the
// labelled item's content words.
func TestActionItemsCorpus(t *testing.T) {
	var matchedLabels, labelled, matchedPredictions, predicted int
	for _, m := range loadCorpus(t) {
		got := extract.ActionItems(m.text)
		hasWork := slices.Contains(m.label.Buckets, "work")
		if !hasWork {
			if len(got) > 0 {
				t.Errorf("%s (%s): got action items %q, want none", m.name, m.label.Bucket, got)
			}
			continue
		}
		labelled += len(m.label.ActionItems)
		predicted += len(got)
		for _, want := range m.label.ActionItems {
			if slices.ContainsFunc(got, func(g string) bool { return itemsMatch(g, want) }) {
				matchedLabels++
			} else {
				t.Logf("%s: missed item %q", m.name, want)
			}
		}
		for _, g := range got {
			if slices.ContainsFunc(m.label.ActionItems, func(want string) bool { return itemsMatch(g, want) }) {
				matchedPredictions++
			} else {
				t.Logf("%s: extra item %q", m.name, g)
			}
		}
	}
	recall := float64(matchedLabels) / float64(max(labelled, 1))
	precision := float64(matchedPredictions) / float64(max(predicted, 1))
	t.Logf("action items: precision %.3f, recall %.3f (%d predicted, %d labelled)", precision, recall, predicted, labelled)
	if recall < 0.75 {
		t.Errorf("action items: got recall %.3f, want >= 0.75", recall)
	}
	if precision < 0.6 {
		t.Errorf("action items: got precision %.3f, want >= 0.6", precision)
	}
}

// itemsMatch reports whether the predicted item shares at least half of the
// labelled item's content words. Words are compared after a crude suffix
// cut, independent of the package's own stemmer.
func itemsMatch(predicted, labelled string) bool {
	want := contentWords(labelled)
	if len(want) == 0 {
		return false
	}
	have := contentWords(predicted)
	shared := 0
	for w := range want {
		if have[w] {
			shared++
		}
	}
	return 2*shared >= len(want)
}

var matchStopwords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`a an the and or but to of for in on at by with from into about before after
		my our your his her their its it this that these those i we you he she they me us them him
		is are was were be been being am do does did have has had will would should could can
		up down out over off again then so just also not no get got`) {
		matchStopwords[w] = true
	}
}

func contentWords(s string) map[string]bool {
	words := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\''
	})
	set := make(map[string]bool)
	for _, w := range words {
		if matchStopwords[w] {
			continue
		}
		set[crudeStem(w)] = true
	}
	return set
}

func crudeStem(w string) string {
	for _, suffix := range []string{"ing", "ed", "es", "s"} {
		if base, ok := strings.CutSuffix(w, suffix); ok && len(base) >= 3 {
			return base
		}
	}
	return w
}
