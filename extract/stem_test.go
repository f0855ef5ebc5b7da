package extract

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// stemByRules is stem as the plain sequence of its rules, which stem
// applies by last letter.
func stemByRules(w string) string {
	if len(w) <= 3 || strings.ContainsAny(w, "'-") {
		return strings.TrimSuffix(w, "'")
	}
	switch {
	case strings.HasSuffix(w, "ies") && len(w) > 4:
		w = w[:len(w)-3] + "y"
	case strings.HasSuffix(w, "ied") && len(w) > 4:
		w = w[:len(w)-3] + "y"
	case strings.HasSuffix(w, "ing") && len(w) > 5:
		w = undouble(w[:len(w)-3])
	case strings.HasSuffix(w, "ed") && len(w) > 4:
		w = undouble(w[:len(w)-2])
	case hasAnySuffix(w, "sses", "shes", "ches", "xes", "zes"):
		w = w[:len(w)-2]
	case strings.HasSuffix(w, "s") && !hasAnySuffix(w, "ss", "us", "is"):
		w = w[:len(w)-1]
	case strings.HasSuffix(w, "ly") && len(w) > 5:
		w = w[:len(w)-2]
	}
	if len(w) > 3 && strings.HasSuffix(w, "e") && !strings.HasSuffix(w, "ee") {
		w = w[:len(w)-1]
	}
	return w
}

func TestStemMatchesRules(t *testing.T) {
	words := make(map[string]bool)
	for w := range lexicon {
		words[w] = true
	}
	paths, err := filepath.Glob("../testdata/corpus/dev/*.txt")
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, tok := range tokenize(string(data)) {
			words[tok.lower] = true
		}
	}
	endings := []string{"", "s", "es", "ies", "ied", "ed", "ing", "ly", "ss", "us", "is", "sses", "shes", "ches", "xes", "zes", "e", "ee", "'", "-x"}
	for w := range words {
		for _, ending := range endings {
			if got, want := stem(w+ending), stemByRules(w+ending); got != want {
				t.Errorf("stem(%q): got %q, want %q", w+ending, got, want)
			}
		}
	}
	for _, w := range []string{"a", "ab", "abc", "ties", "lies", "lied", "ring", "bring", "fled", "bled", "ally", "badly", "sadly"} {
		if got, want := stem(w), stemByRules(w); got != want {
			t.Errorf("stem(%q): got %q, want %q", w, got, want)
		}
	}
}
