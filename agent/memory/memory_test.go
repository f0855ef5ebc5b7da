package memory_test

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/whispersync/whispersync/agent/memory"
	"github.com/whispersync/whispersync/extract"
)

func readMemo(t testing.TB, name string) string {
	t.Helper()
	data, err := os.ReadFile("../../testdata/corpus/dev/" + name)
	if err != nil {
		t.Fatalf("read memo: %v", err)
	}
	return string(data)
}

func TestBuild(t *testing.T) {
	at := time.Date(2026, 7, 18, 21, 0, 0, 0, time.UTC)
	r := memory.Build(readMemo(t, "beach-day-sandcastle.txt"), at)
	if r.Date != "2026-07-18" {
		t.Errorf("Date: got %q, want 2026-07-18", r.Date)
	}
	if !slices.Equal(r.People, []string{"Rosie", "Finn", "Pete"}) {
		t.Errorf("People: got %q, want [Rosie Finn Pete]", r.People)
	}
	if !slices.Contains(r.Places, "beach") {
		t.Errorf("Places: got %q, want beach among them", r.Places)
	}
	if !slices.Contains(r.Themes, "nature") {
		t.Errorf("Themes: got %q, want nature among them", r.Themes)
	}
	if r.Sentiment != extract.Positive {
		t.Errorf("Sentiment: got %s (%.2f), want positive", r.Sentiment, r.SentimentScore)
	}
	if r.Summary == "" || len(r.Summary) > 200 {
		t.Errorf("Summary: got %q, want 1 to 200 bytes", r.Summary)
	}
	query := extract.Terms("sandcastles")
	if len(query) != 1 || !slices.Contains(r.Terms, query[0]) {
		t.Errorf("Terms: query terms %q not found in %q", query, r.Terms)
	}
	for _, term := range r.Terms {
		if term != strings.ToLower(term) {
			t.Errorf("Terms: got %q, want lowercase", term)
		}
	}
}

func TestMatch(t *testing.T) {
	r := memory.Record{
		Date:      "2026-07-18",
		People:    []string{"Renée", "Sarah Chen"},
		Themes:    []string{"family", "nature"},
		Sentiment: extract.Positive,
	}
	day := func(m time.Month, d int) time.Time { return time.Date(2026, m, d, 12, 0, 0, 0, time.UTC) }
	tests := []struct {
		name   string
		filter memory.Filter
		want   bool
	}{
		{"empty filter", memory.Filter{}, true},
		{"person without accent", memory.Filter{Person: "renee"}, true},
		{"person by first name", memory.Filter{Person: "Sarah"}, true},
		{"other person", memory.Filter{Person: "Maya"}, false},
		{"theme any case", memory.Filter{Theme: "Nature"}, true},
		{"other theme", memory.Filter{Theme: "loss"}, false},
		{"sentiment", memory.Filter{Sentiment: "positive"}, true},
		{"other sentiment", memory.Filter{Sentiment: "negative"}, false},
		{"range holds the date", memory.Filter{From: day(7, 1), To: day(7, 31)}, true},
		{"range bounds are inclusive", memory.Filter{From: day(7, 18), To: day(7, 18)}, true},
		{"range before", memory.Filter{To: day(7, 17)}, false},
		{"range after", memory.Filter{From: day(7, 19)}, false},
		{"all fields", memory.Filter{Person: "Renée", Theme: "family", Sentiment: "positive", From: day(7, 1)}, true},
		{"one field fails", memory.Filter{Person: "Renée", Theme: "loss"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := memory.Match(r, tt.filter); got != tt.want {
				t.Errorf("Match(%+v): got %v, want %v", tt.filter, got, tt.want)
			}
		})
	}
}

func BenchmarkBuild(b *testing.B) {
	text := readMemo(b, "lake-cabin-weekend.txt")
	if n := len(strings.Fields(text)); n < 140 || n > 170 {
		b.Fatalf("benchmark memo: got %d words, want about 150", n)
	}
	at := time.Date(2026, 7, 18, 21, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	for b.Loop() {
		memory.Build(text, at)
	}
}
