package idea_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/agent/idea"
)

var at = time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)

func readMemo(t testing.TB, name string) string {
	t.Helper()
	data, err := os.ReadFile("../../testdata/corpus/dev/" + name)
	if err != nil {
		t.Fatalf("read memo: %v", err)
	}
	return string(data)
}

var slugPattern = regexp.MustCompile(`^[a-z0-9]+(?:-[a-z0-9]+)*$`)

func TestBuild(t *testing.T) {
	tests := []struct {
		memo      string
		name      string
		stack     []string
		feature   string
		minIssues int
	}{
		{"classroom-seating-chart-tool.txt", "Seating Chart Planner", []string{"Web app", "React", "Svelte"}, "Draw your room layout", 3},
		{"standup-then-flaky-test-bot.txt", "Flakebot", []string{"Slack bot", "PostgreSQL", "Redis"}, "Watches CI", 2},
		{"recipe-scaler-cli.txt", "Scaley", []string{"CLI", "Rust"}, "Unit conversion table", 3},
		{"freezer-sample-tracker.txt", "Sample Tracker", []string{"Raspberry Pi", "Python", "Flask", "PostgreSQL"}, "Scan in", 4},
		{"habit-widget-quick.txt", "Habit Tracker", []string{"iOS"}, "Syncs with iCloud", 2},
		{"plant-watering-app.txt", "Thirsty", []string{"iOS", "Android", "React Native", "Firebase"}, "Reminders", 4},
	}
	for _, tt := range tests {
		t.Run(tt.memo, func(t *testing.T) {
			s := idea.Build(readMemo(t, tt.memo), at)
			if s.Name != tt.name {
				t.Errorf("Name: got %q, want %q", s.Name, tt.name)
			}
			if !slugPattern.MatchString(s.Slug) {
				t.Errorf("Slug: got %q, want kebab case", s.Slug)
			}
			for _, st := range tt.stack {
				if !slices.Contains(s.Stack, st) {
					t.Errorf("Stack: got %q, want %q among them", s.Stack, st)
				}
			}
			if !slices.Contains(s.Features, tt.feature) {
				t.Errorf("Features: got %q, want %q among them", s.Features, tt.feature)
			}
			if len(s.Issues) < tt.minIssues || s.Issues[0].Title != "Set up the project skeleton" {
				t.Errorf("Issues: got %d starting with %q, want at least %d starting with the skeleton", len(s.Issues), s.Issues[0].Title, tt.minIssues)
			}
			if len(s.Issues) != len(s.Features)+1 {
				t.Errorf("Issues: got %d, want one per feature plus the skeleton (%d)", len(s.Issues), len(s.Features)+1)
			}
			if s.Description == "" || strings.Contains(s.Description, "\n") || len(s.Description) > 160 {
				t.Errorf("Description: got %q, want one line of at most 160 bytes", s.Description)
			}
			for _, section := range []string{"# " + s.Name + "\n", "## Features", "## Stack", "## Getting started"} {
				if !strings.Contains(s.Readme, section) {
					t.Errorf("Readme: missing %q in\n%s", section, s.Readme)
				}
			}
		})
	}
}

// freshIdeas are idea memos written apart from the development corpus.
var freshIdeas = []string{
	"Okay so what if there was a tool where you paste a recipe and it scales it to any number of people, but smart about it, like it knows you can't use a third of an egg, and it converts cups to grams. It could also make a shopping list grouped by the aisle. I'd build it as a simple web app with a Go backend and a Postgres database for saved recipes.",
	"idea: a little app that tells you when to water each plant, based on the plant type, the pot size and how much light the window gets. you'd take a photo of the plant, it guesses the species, and then it sends you a reminder. maybe a cheap soil moisture sensor on a Raspberry Pi for people who want it automatic. web app first, and a phone notification later.",
	"so I keep losing track of who borrowed which board game. an app where you scan the box and it logs who has it, and it nudges them after two weeks, and it nudges them again if they ignore it. probably a Flutter app with a Firebase backend and a SQLite cache for offline.",
	"Idea for the choir. A website where members mark which rehearsals they can make, it shows the director who is missing for each section, and you can export the list as a PDF. I'd write it in Python with Flask and host it on a cheap server, nothing fancy.",
}

// TestBuildFreshIdeas checks, on memos outside the corpus, that features do
// not repeat one another or describe the stack, and that the description
// ends at a sentence or clause boundary.
func TestBuildFreshIdeas(t *testing.T) {
	stackWords := []string{"backend", "database", "server", "flask", "postgres", "firebase"}
	dangling := []string{"a", "an", "the", "of", "to", "on", "in", "at", "for", "with", "and", "or", "but"}
	for _, text := range freshIdeas {
		s := idea.Build(text, at)
		for i, f := range s.Features {
			lower := strings.ToLower(f)
			for _, w := range stackWords {
				if strings.Contains(lower, w) {
					t.Errorf("Features of %q: got %q, want no sentence about the stack", s.Name, f)
				}
			}
			for _, g := range s.Features[i+1:] {
				other := strings.ToLower(g)
				if strings.Contains(lower, other) || strings.Contains(other, lower) {
					t.Errorf("Features of %q: got %q and %q, want no repeats", s.Name, f, g)
				}
			}
		}
		d := s.Description
		if !strings.HasSuffix(d, ".") && !strings.HasSuffix(d, "…") && !strings.HasSuffix(d, "?") && !strings.HasSuffix(d, "!") {
			t.Errorf("Description: got %q, want it to end a sentence or a clause", d)
		}
		words := strings.Fields(strings.TrimSuffix(d, "…"))
		if last := strings.ToLower(words[len(words)-1]); slices.Contains(dangling, last) {
			t.Errorf("Description: got %q, want no cut after %q", d, last)
		}
		if len(d) > 160 {
			t.Errorf("Description: got %d bytes, want at most 160", len(d))
		}
	}
}

func TestBuildSplitsUserAndProduct(t *testing.T) {
	s := idea.Build(freshIdeas[0], at)
	for _, want := range []string{"Paste a recipe", "Scales it to any number of people", "Converts cups to grams", "Make a shopping list grouped by the aisle"} {
		if !slices.Contains(s.Features, want) {
			t.Errorf("Features: got %q, want %q among them", s.Features, want)
		}
	}
}

func TestBuildDefaultStack(t *testing.T) {
	s := idea.Build("Idea: a gift tracker for birthdays, you list gifts and it reminds you a week before.", at)
	if !slices.Equal(s.Stack, []string{"Web app"}) {
		t.Errorf("Stack: got %q, want [Web app]", s.Stack)
	}
	if s.Name != "Gift Tracker" {
		t.Errorf("Name: got %q, want Gift Tracker", s.Name)
	}
}

func TestBuildWithoutTopic(t *testing.T) {
	s := idea.Build("um.", at)
	if s.Slug == "" || !slugPattern.MatchString(s.Slug) {
		t.Errorf("Slug: got %q, want a non-empty kebab-case fallback", s.Slug)
	}
}

func TestSlugify(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Seating Chart Planner", "seating-chart-planner"},
		{"Café Olé!", "cafe-ole"},
		{"../../etc/passwd", "etc-passwd"},
		{"  --  ", ""},
		{strings.Repeat("word ", 20), "word-word-word-word-word-word-word-word-word"},
	}
	for _, tt := range tests {
		if got := idea.Slugify(tt.in); got != tt.want {
			t.Errorf("Slugify(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFiles(t *testing.T) {
	s := idea.Build(readMemo(t, "podcast-quote-search.txt"), at)
	files := s.Files()
	for _, name := range []string{"README.md", "ISSUES.md", ".gitignore", "issues/001-set-up-the-project-skeleton.md"} {
		if _, ok := files[name]; !ok {
			t.Errorf("Files: missing %s", name)
		}
	}
	issueFiles := 0
	for name := range files {
		if strings.HasPrefix(name, "issues/") {
			issueFiles++
		}
	}
	if issueFiles != len(s.Issues) {
		t.Errorf("Files: got %d issue files, want %d", issueFiles, len(s.Issues))
	}
	ignore := string(files[".gitignore"])
	if !strings.Contains(ignore, "__pycache__/") || !strings.Contains(ignore, "*.sqlite") {
		t.Errorf(".gitignore: got %q, want Python and SQLite patterns", ignore)
	}
}

func TestWriteProject(t *testing.T) {
	s := idea.Build(readMemo(t, "tab-limiter-extension.txt"), at)
	dir := filepath.Join(t.TempDir(), "projects", s.Slug)
	if err := idea.WriteProject(dir, s); err != nil {
		t.Fatalf("WriteProject: %v", err)
	}
	for name, want := range s.Files() {
		path := filepath.Join(dir, filepath.FromSlash(name))
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("read %s: %v", name, err)
		}
		if string(got) != string(want) {
			t.Errorf("%s: content differs from Files()", name)
		}
		info, err := os.Stat(path)
		if err != nil {
			t.Fatalf("stat %s: %v", name, err)
		}
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s: got mode %v, want 0600", name, info.Mode().Perm())
		}
	}
	info, err := os.Stat(dir)
	if err != nil {
		t.Fatalf("stat project folder: %v", err)
	}
	if info.Mode().Perm() != 0o700 {
		t.Errorf("project folder: got mode %v, want 0700", info.Mode().Perm())
	}
	siblings, err := os.ReadDir(filepath.Dir(dir))
	if err != nil {
		t.Fatalf("read parent: %v", err)
	}
	if len(siblings) != 1 {
		t.Errorf("parent: got %d entries, want only the project (no temporary folder left)", len(siblings))
	}

	if err := idea.WriteProject(dir, s); err != nil {
		t.Errorf("WriteProject again with the same scaffold: got %v, want nil", err)
	}
}

func TestWriteProjectIntoEmptyFolder(t *testing.T) {
	dir := t.TempDir()
	s := idea.Build(readMemo(t, "habit-widget-quick.txt"), at)
	if err := idea.WriteProject(dir, s); err != nil {
		t.Fatalf("WriteProject into an empty folder: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "README.md")); err != nil {
		t.Errorf("README.md: %v", err)
	}
}

func TestWriteProjectRejectsOtherFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "project")
	first := idea.Build(readMemo(t, "tab-limiter-extension.txt"), at)
	if err := idea.WriteProject(dir, first); err != nil {
		t.Fatalf("WriteProject: %v", err)
	}
	other := idea.Build(readMemo(t, "recipe-scaler-cli.txt"), at)
	err := idea.WriteProject(dir, other)
	if whispersync.ErrorCode(err) != whispersync.ECONFLICT {
		t.Fatalf("WriteProject over another project: got %v, want a conflict", err)
	}
	if !strings.Contains(err.Error(), dir) {
		t.Errorf("error: got %q, want it to name the folder %s", err, dir)
	}
	readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
	if err != nil {
		t.Fatalf("read README: %v", err)
	}
	if string(readme) != first.Readme {
		t.Error("README.md: overwritten by the rejected scaffold")
	}

	extra := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(extra, []byte("mine"), 0o600); err != nil {
		t.Fatalf("write extra file: %v", err)
	}
	if err := idea.WriteProject(dir, first); whispersync.ErrorCode(err) != whispersync.ECONFLICT {
		t.Errorf("WriteProject with an extra file in the folder: got %v, want a conflict", err)
	}
	if _, err := os.Stat(extra); errors.Is(err, fs.ErrNotExist) {
		t.Error("notes.txt: removed by a rejected write")
	}
}

func BenchmarkBuild(b *testing.B) {
	text := readMemo(b, "street-tool-library.txt")
	if n := len(strings.Fields(text)); n < 140 || n > 170 {
		b.Fatalf("benchmark memo: got %d words, want about 150", n)
	}
	b.ReportAllocs()
	for b.Loop() {
		idea.Build(text, at)
	}
}
