package journal_test

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/whispersync/whispersync/agent/journal"
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
	at := time.Date(2026, 12, 2, 18, 30, 0, 0, time.UTC)
	e := journal.Build(readMemo(t, "outage-postmortem-notes.txt"), at)
	if e.Week != "2026-W49" {
		t.Errorf("Week: got %q, want 2026-W49", e.Week)
	}
	if e.Date != "2026-12-02" {
		t.Errorf("Date: got %q, want 2026-12-02", e.Date)
	}
	if e.Summary == "" || len(e.Summary) > 200 {
		t.Errorf("Summary: got %q (%d bytes), want 1 to 200 bytes", e.Summary, len(e.Summary))
	}
	if strings.Contains(strings.ToLower(e.Summary), " um") {
		t.Errorf("Summary: got %q, want no fillers", e.Summary)
	}
	if !slices.Equal(e.People, []string{"Kenji", "Olga"}) {
		t.Errorf("People: got %q, want [Kenji Olga]", e.People)
	}
	if len(e.ActionItems) < 4 {
		t.Errorf("ActionItems: got %q, want at least 4", e.ActionItems)
	}
	if !slices.Contains(e.Categories, "incident") {
		t.Errorf("Categories: got %q, want incident among them", e.Categories)
	}
	if e.Sentiment == "" {
		t.Error("Sentiment: got empty label")
	}
}

func TestBuildEmptyListsAreNotNil(t *testing.T) {
	e := journal.Build("Parked on level four.", time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	if e.ActionItems == nil || e.People == nil {
		t.Errorf("Build: got nil lists (%v, %v), want empty lists", e.ActionItems, e.People)
	}
}

func TestCategories(t *testing.T) {
	tests := []struct {
		memo string
		want string
	}{
		{"quarterly-planning-recap.txt", "planning"},
		{"outage-postmortem-notes.txt", "incident"},
		{"lawyer-deposition-prep.txt", "legal"},
		{"teacher-essay-grading-rubric.txt", "teaching"},
		{"standup-api-migration.txt", "engineering"},
		{"bakery-supplier-switch.txt", "operations"},
	}
	for _, tt := range tests {
		if got := journal.Categories(readMemo(t, tt.memo)); !slices.Contains(got, tt.want) {
			t.Errorf("Categories(%s): got %q, want %q among them", tt.memo, got, tt.want)
		}
	}
	if got := journal.Categories("I had a call."); len(got) != 0 {
		t.Errorf("Categories(one weak word): got %q, want none", got)
	}
}

func TestSummarize(t *testing.T) {
	day := func(month time.Month, d int) time.Time { return time.Date(2026, month, d, 17, 0, 0, 0, time.UTC) }
	entries := []journal.Entry{
		journal.Build("Standup. I need to update the migration tracker. Marcus was happy, great progress.", day(11, 30)),
		journal.Build("Outage review was awful. I need to update the migration tracker and write the postmortem doc.", day(11, 30)),
		journal.Build("Planning went well, great meeting with Priya, and I need to email the team the summary.", day(12, 2)),
		journal.Build("Next week: book the offsite.", day(12, 9)),
	}
	s := journal.Summarize(entries, "2026-W49")
	if s.Entries != 3 || s.Days != 2 {
		t.Errorf("counts: got %d entries on %d days, want 3 on 2", s.Entries, s.Days)
	}
	want := []string{"update the migration tracker", "write the postmortem doc", "email the team the summary"}
	if !slices.Equal(s.ActionItems, want) {
		t.Errorf("ActionItems: got %q, want %q", s.ActionItems, want)
	}
	if !slices.Equal(s.People, []string{"Marcus", "Priya"}) {
		t.Errorf("People: got %q, want [Marcus Priya]", s.People)
	}
	if s.Sentiment != "mixed" {
		t.Errorf("Sentiment: got %s (%.2f), want mixed", s.Sentiment, s.SentimentScore)
	}
	empty := journal.Summarize(entries, "2020-W01")
	if empty.Entries != 0 || empty.ActionItems == nil || empty.Sentiment != "neutral" {
		t.Errorf("empty week: got %+v, want zero entries, empty list, neutral", empty)
	}
}

func BenchmarkBuild(b *testing.B) {
	text := readMemo(b, "lawyer-deposition-prep.txt")
	if n := len(strings.Fields(text)); n < 140 || n > 170 {
		b.Fatalf("benchmark memo: got %d words, want about 150", n)
	}
	at := time.Date(2026, 12, 2, 18, 30, 0, 0, time.UTC)
	b.ReportAllocs()
	for b.Loop() {
		journal.Build(text, at)
	}
}
