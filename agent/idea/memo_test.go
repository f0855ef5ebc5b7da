package idea

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMemoLowercaseMatchesToLower checks that memo.lowercase contains
// strings.ToLower of each word, also where lowercasing changes the length
// of a letter and so moves the offsets of lowered.
func TestMemoLowercaseMatchesToLower(t *testing.T) {
	texts := []string{
		"İstanbul trip, call it ẞig Planner",
		"A KELVIN \u212a scale, then \u2126hm and Straße",
		"ſo it scales recipes",
		"broken \xff\xfe bytes, It Scales",
		"\u0130\u0130\u0130 then \u1e9e\u1e9e",
		// "Ⱥ" grows by a byte in lowercase and "İ" shrinks by one, so the
		// text keeps its length but the words between move.
		"\u023a Hello World \u0130",
	}
	paths, err := filepath.Glob("../../testdata/corpus/dev/*.txt")
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		texts = append(texts, string(data))
	}
	for _, text := range texts {
		m := newMemo(text)
		for i, w := range m.words {
			if want := strings.ToLower(w); m.lowercase[i] != want {
				t.Errorf("%q: word %q: got lowercase %q, want %q", text[:min(len(text), 40)], w, m.lowercase[i], want)
			}
		}
	}
}
