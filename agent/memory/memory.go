// Package memory is the memory agent: it turns a memory memo into a record
// of the people, places, themes and mood it holds, with the terms for the
// blind search index, and matches records against search filters. It is a
// pure function of its input, so the pipeline can seal and store what it
// returns.
package memory

import (
	"strings"
	"time"

	"github.com/whispersync/whispersync/extract"
)

// maxSummaryChars bounds Record.Summary.
const maxSummaryChars = 200

// Record is the archived form of one memory memo.
type Record struct {
	// Date is the memo's calendar day, "2006-01-02", in the zone of the
	// time given to Build.
	Date           string   `json:"date"`
	Summary        string   `json:"summary"`
	People         []string `json:"people"`
	Places         []string `json:"places"`
	Themes         []string `json:"themes"`
	Sentiment      string   `json:"sentiment"`
	SentimentScore float64  `json:"sentiment_score"`
	// Terms are the stemmed search terms of the memo. The pipeline stores
	// only their keyed hashes in the blind index; a query goes through
	// extract.Terms to meet them.
	Terms []string `json:"terms"`
}

// Build returns the record of a memory memo recorded at at.
func Build(text string, at time.Time) Record {
	doc := extract.Parse(text)
	defer doc.Release()
	label, score := doc.Sentiment()
	return Record{
		Date:           at.Format(time.DateOnly),
		Summary:        doc.Summary(maxSummaryChars),
		People:         nonNil(doc.People()),
		Places:         nonNil(doc.Places()),
		Themes:         nonNil(doc.Themes()),
		Sentiment:      label,
		SentimentScore: score,
		Terms:          nonNil(doc.Terms()),
	}
}

// Filter selects records; a zero field selects everything. All set fields
// must match.
type Filter struct {
	// Person matches a listed person by whole name or by one part of a full
	// name, ignoring case and accents: "renee" matches "Renée", "Sarah"
	// matches "Sarah Chen".
	Person string
	// Theme matches a listed theme, ignoring case.
	Theme string
	// Sentiment matches the label: positive, negative, neutral or mixed.
	Sentiment string
	// From and To bound the record's date, both inclusive, compared as
	// calendar days in their own zones.
	From, To time.Time
}

// Match reports whether r passes every set field of f.
func Match(r Record, f Filter) bool {
	if f.Person != "" && !hasPerson(r.People, f.Person) {
		return false
	}
	if f.Theme != "" && !containsFold(r.Themes, f.Theme) {
		return false
	}
	if f.Sentiment != "" && !strings.EqualFold(r.Sentiment, f.Sentiment) {
		return false
	}
	// ISO dates order as strings.
	if !f.From.IsZero() && r.Date < f.From.Format(time.DateOnly) {
		return false
	}
	if !f.To.IsZero() && r.Date > f.To.Format(time.DateOnly) {
		return false
	}
	return true
}

func hasPerson(people []string, want string) bool {
	key := extract.Fold(strings.TrimSpace(want))
	for _, p := range people {
		name := extract.Fold(p)
		if name == key {
			return true
		}
		for _, part := range strings.Fields(name) {
			if part == key {
				return true
			}
		}
	}
	return false
}

func containsFold(list []string, want string) bool {
	for _, s := range list {
		if strings.EqualFold(s, strings.TrimSpace(want)) {
			return true
		}
	}
	return false
}

// nonNil keeps empty lists as [] in JSON.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
