package extract_test

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/whispersync/whispersync/extract"
)

func TestPeople(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []string
	}{
		{"sentence-initial name", "Priya wants to rotate everybody.", []string{"Priya"}},
		{"sentence-initial word", "Great day. Stack-wise I'm thinking React.", nil},
		{"kinship words are not names", "Mom called and Dad said hi. Grandma's cookies.", nil},
		{"name after a kinship title", "Aunt Dolores is driving down and uncle Pete came.", []string{"Dolores", "Pete"}},
		{"title keeps the family name only", "Met with Doctor Halvorsen and Mr. Okafor at four.", []string{"Halvorsen", "Okafor"}},
		{"place after in", "The co-op out in Redfield and my friend over in Millbrook.", nil},
		{"place after at", "We had lunch at Aldgate with Jen.", []string{"Jen"}},
		{"organization run", "I called Hartley Mills twice.", nil},
		{"street run", "the last day at the house on Willow Lane", nil},
		{"possessive", "It was June's recital and Lena's PR got merged.", []string{"June", "Lena"}},
		{"month is not a name", "The lot we got in March went bad in June.", nil},
		{"lowercase transcript", "split it between me and luca, then wen owes luca thirty", []string{"luca", "wen"}},
		{"lowercase ambiguous word", "i will mark the grades and grace the page", nil},
		{"repeats once, first mention order", "Tomasz, like Tomasz from school, and Sam.", []string{"Tomasz", "Sam"}},
		{"family name plural", "The Kowalski brothers have a sprayer; then the Kowalskis.", []string{"Kowalski"}},
		{"client file", "Memo for the Castellano file.", []string{"Castellano"}},
		{"business after the", "the landing page for the Brightwater people", nil},
		{"products and acronyms", "Ask IT, then use Slack, Postgres and PDF export.", nil},
		{"relation noun context", "my roommate Bex said it helps", []string{"Bex"}},
		{"accented names", "Tomás was upset and Renée says maybe.", []string{"Tomás", "Renée"}},
		{"hyphenated name", "I'm pairing with Jae-won today.", []string{"Jae-won"}},
		{"full name", "I ran into Sarah Chen at the station.", []string{"Sarah Chen"}},
		{"ambiguous name at sentence start needs context", "Will you stop. Dale down the road has a rake. Dale wants it.", []string{"Dale"}},
		{"pronouns", "She said yes. We laughed.", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := extract.People(tt.text)
			if !slices.Equal(got, tt.want) {
				t.Errorf("People(%q): got %q, want %q", tt.text, got, tt.want)
			}
		})
	}
}

func TestActionItems(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []string
	}{
		{
			"colon list with fillers",
			"So tomorrow: call the Redfield co-op, call the fridge guy, and, um, redo the Saturday schedule.",
			[]string{"call the Redfield co-op", "call the fridge guy", "redo the Saturday schedule"},
		},
		{
			"header with words before the colon",
			"Revenue is up. Action items for me: pull the invoices, set up a call with Marcus, and draft the budget note.",
			[]string{"pull the invoices", "set up a call with Marcus", "draft the budget note"},
		},
		{
			"need to with and-split",
			"quick one. I need to send the floor plans to Bea before then and, um, cancel the Wednesday room.",
			[]string{"send the floor plans to Bea before then", "cancel the Wednesday room"},
		},
		{
			"header sentence then imperatives",
			"Action items. Draft the letter, get it to Gail by noon. And chase the engagement letter.",
			[]string{"draft the letter, get it to Gail by noon", "chase the engagement letter"},
		},
		{
			"numbered list",
			"Okay so action items. One, send Denise the numbers. Two, add the check to the huddle notes.",
			[]string{"send Denise the numbers", "add the check to the huddle notes"},
		},
		{
			"remember and don't forget",
			"Remember to renew the parking permit. Oh and don't forget to email the landlord about the leak.",
			[]string{"renew the parking permit", "email the landlord about the leak"},
		},
		{
			"make sure and follow up",
			"Make sure to book the room for Friday. I'll follow up with Marcus about the staging certs.",
			[]string{"book the room for Friday", "follow up with Marcus about the staging certs"},
		},
		{
			"next step and to do",
			"Next step is to draft the budget. To do: print the reports, like, by Monday.",
			[]string{"draft the budget", "print the reports, by Monday"},
		},
		{
			"self-correction",
			"I need to write the design doc by Thursday, no, Wednesday.",
			[]string{"write the design doc by Wednesday"},
		},
		{
			"reason clause is cut",
			"I have to enter the grades before Friday because the portal locks.",
			[]string{"enter the grades before Friday"},
		},
		{
			"negated commitment",
			"We're not going to produce the emails. I don't need to call anyone.",
			nil,
		},
		{
			"memory without tasks",
			"I'm going to go back up now. I should fix that. I want to remember how the kitchen smelled.",
			nil,
		},
		{
			"idea imperatives are not tasks",
			"Call it Flakebot. Export to PDF so you can print it. Features: search, play from timestamp, share a clip link.",
			nil,
		},
		{
			"reason before a trigger",
			"I'm in the car because I need to get this out of my head.",
			nil,
		},
		{
			"acronym object",
			"I need to ask IT again for log access.",
			[]string{"ask IT again for log access"},
		},
		{
			"near duplicates keep the fuller item",
			"I still need to print the progress reports. To do: print progress reports, and enter the grades.",
			[]string{"print the progress reports", "enter the grades"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := extract.ActionItems(tt.text)
			if !slices.Equal(got, tt.want) {
				t.Errorf("ActionItems(%q):\ngot  %q\nwant %q", tt.text, got, tt.want)
			}
		})
	}
}

func TestSentiment(t *testing.T) {
	tests := []struct {
		text string
		want string
	}{
		{"Best day ever, I'm so happy and proud of her.", extract.Positive},
		{"I'm scared and sad, it was a terrible night.", extract.Negative},
		{"I am not happy about this, not good at all.", extract.Negative},
		{"Parked on level four, row G.", extract.Neutral},
		{"I'm scared and worried about Dad, but so grateful and happy the nurses were kind.", extract.Mixed},
		{"I feel okay. Really okay.", extract.Positive},
		{"Okay so the call moved to Thursday.", extract.Neutral},
	}
	for _, tt := range tests {
		label, score := extract.Sentiment(tt.text)
		if label != tt.want {
			t.Errorf("Sentiment(%q): got %s (%.2f), want %s", tt.text, label, score, tt.want)
		}
		if score < -1 || score > 1 {
			t.Errorf("Sentiment(%q): got score %.2f, want within [-1, 1]", tt.text, score)
		}
	}
}

func TestSentimentNegationFlipsSign(t *testing.T) {
	_, plain := extract.Sentiment("I was happy with the result and glad it worked.")
	_, negated := extract.Sentiment("I was not happy with the result and never glad it worked.")
	if plain <= 0 || negated >= 0 {
		t.Errorf("negation: got scores %.2f and %.2f, want positive then negative", plain, negated)
	}
}

func TestPlaces(t *testing.T) {
	text := "We walked from the train station to the beach, then drove out in Redfield, " +
		"past Crane Peak and back to the house on Willow Lane. Paris next year, with Maya."
	got := extract.Places(text)
	want := []string{"train station", "beach", "Redfield", "Crane Peak", "Willow Lane", "Paris"}
	if !slices.Equal(got, want) {
		t.Errorf("Places: got %q, want %q", got, want)
	}
}

func TestThemes(t *testing.T) {
	tests := []struct {
		text string
		want string
	}{
		{"My daughter and my son baked cookies with their grandma in the kitchen.", "family"},
		{"Uncle Pete came to the beach, we swam in the ocean and watched the sunset.", "nature"},
		{"The dog chased the cat, then the puppy slept by the vet's door.", "pets"},
		{"June played the piano at her recital, then sang a song.", "music"},
		{"The funeral was Tuesday; grief comes in waves since he died.", "loss"},
	}
	for _, tt := range tests {
		got := extract.Themes(tt.text)
		if !slices.Contains(got, tt.want) {
			t.Errorf("Themes(%q): got %q, want it to contain %q", tt.text, got, tt.want)
		}
	}
	if got := extract.Themes("Uncle Pete and Pete's friend Rosie."); slices.Contains(got, "pets") {
		t.Errorf("Themes: got %q, want no pets theme from the name Pete", got)
	}
}

func TestTerms(t *testing.T) {
	walks := extract.Terms("She walks the dog.")
	walking := extract.Terms("walking with the dogs, um, walked")
	if !slices.Contains(walks, "walk") || !slices.Contains(walking, "walk") {
		t.Errorf("Terms: got %q and %q, want both to contain walk", walks, walking)
	}
	if len(walking) != 2 {
		t.Errorf("Terms(walking...): got %q, want 2 terms without repeats", walking)
	}
	for _, term := range extract.Terms("Okay so, um, like, I was thinking that we should maybe go") {
		if term != "think" && term != "go" {
			t.Errorf("Terms: got stopword or filler %q", term)
		}
	}
	for _, term := range extract.Terms("Tomás went to Café Olé") {
		if term != strings.ToLower(term) {
			t.Errorf("Terms: got %q, want lowercase", term)
		}
	}
}

func TestWeek(t *testing.T) {
	tests := []struct {
		at   time.Time
		want string
	}{
		{time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC), "2026-W49"},
		{time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), "2026-W53"},
		{time.Date(2024, 12, 30, 0, 0, 0, 0, time.UTC), "2025-W01"},
		{time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC), "2026-W02"},
	}
	for _, tt := range tests {
		if got := extract.Week(tt.at); got != tt.want {
			t.Errorf("Week(%s): got %s, want %s", tt.at.Format(time.DateOnly), got, tt.want)
		}
	}
}

func FuzzExtract(f *testing.F) {
	for _, m := range loadCorpus(f) {
		f.Add(m.text)
	}
	f.Add("Mr. . , : Doctor")
	f.Add("'s ' - -- and, , no, no, one, two")
	f.Fuzz(func(t *testing.T, text string) {
		for _, name := range extract.People(text) {
			if name == "" || !utf8.ValidString(name) && utf8.ValidString(text) {
				t.Errorf("People: got invalid name %q", name)
			}
		}
		for _, item := range extract.ActionItems(text) {
			if strings.TrimSpace(item) == "" || strings.HasSuffix(item, ",") {
				t.Errorf("ActionItems: got malformed item %q", item)
			}
		}
		label, score := extract.Sentiment(text)
		if label == "" || math.IsNaN(score) || score < -1 || score > 1 {
			t.Errorf("Sentiment: got %q %v, want a label and a score in [-1, 1]", label, score)
		}
		extract.Places(text)
		extract.Themes(text)
		extract.Terms(text)
	})
}

func TestSummary(t *testing.T) {
	tests := []struct {
		name string
		text string
		want string
	}{
		{"fillers and short openers", "Um. Okay so, uh, the western blot failed again. Third time.", "The western blot failed again."},
		{"lowercase transcript", "quick one. the call with the flooring contractor got moved to thursday, so i need to send plans.", "The call with the flooring contractor got moved to thursday, so I need to send plans."},
		{"two short sentences", "The call moved to Thursday. Bea needs the plans before then.", "The call moved to Thursday. Bea needs the plans before then."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := extract.Summary(tt.text, 200); got != tt.want {
				t.Errorf("Summary: got %q, want %q", got, tt.want)
			}
		})
	}
	long := strings.Repeat("word ", 100)
	if got := extract.Summary(long, 50); len(got) > 50 || !strings.HasSuffix(got, "…") {
		t.Errorf("Summary(long, 50): got %q (%d bytes), want at most 50 bytes ending in …", got, len(got))
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		name string
		text string
		max  int
		want string
	}{
		{"fits", "Short enough.", 40, "Short enough."},
		{"sentence", "The app tells you when to water. You'd take a photo of the plant and it guesses.", 50, "The app tells you when to water."},
		{"abbreviation", "We saw Dr. Brandt about the dose, then the pump alarmed again in room twelve.", 50, "We saw Dr. Brandt about the dose…"},
		{"clause", "You paste a recipe and it scales it, it knows eggs come whole, and it converts cups to grams", 80, "You paste a recipe and it scales it, it knows eggs come whole…"},
		{"dash", "It scales any recipe - even the ones with odd units like pinches and dashes", 40, "It scales any recipe…"},
		{"dangling comma", "It builds you a watering schedule, based on, the species and the light in the room", 50, "It builds you a watering schedule…"},
		{"lone word", "After a week it posts a summary, hey, here are the five flakiest tests in the repo", 50, "After a week it posts a summary…"},
		{"one clause", "A tool that scales every recipe to any number of people at the table", 40, "A tool that scales every recipe…"},
	}
	for _, tt := range tests {
		if got := extract.Truncate(tt.text, tt.max); got != tt.want {
			t.Errorf("Truncate(%s): got %q, want %q", tt.name, got, tt.want)
		}
		if got := extract.Truncate(tt.text, tt.max); len(got) > tt.max {
			t.Errorf("Truncate(%s): got %d bytes, want at most %d", tt.name, len(got), tt.max)
		}
	}
}
