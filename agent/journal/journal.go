// Package journal is the work-journal agent: it turns a work memo into a
// dated journal entry with action items, people, categories and sentiment,
// and sums a week of entries up. It is a pure function of its input, so the
// pipeline can seal and store what it returns.
package journal

import (
	"math"
	"slices"
	"time"

	"github.com/whispersync/whispersync/extract"
)

// maxSummaryChars bounds Entry.Summary.
const maxSummaryChars = 200

// Entry is the journal entry of one work memo.
type Entry struct {
	// Week is the ISO week of the memo, such as "2026-W49".
	Week string `json:"week"`
	// Date is the memo's calendar day, "2006-01-02", in the zone of the
	// time given to Build.
	Date           string   `json:"date"`
	Summary        string   `json:"summary"`
	ActionItems    []string `json:"action_items"`
	People         []string `json:"people"`
	Categories     []string `json:"categories"`
	Sentiment      string   `json:"sentiment"`
	SentimentScore float64  `json:"sentiment_score"`
}

// Build returns the journal entry for a work memo recorded at at.
func Build(text string, at time.Time) Entry {
	doc := extract.Parse(text)
	defer doc.Release()
	label, score := doc.Sentiment()
	return Entry{
		Week:           extract.Week(at),
		Date:           at.Format(time.DateOnly),
		Summary:        doc.Summary(maxSummaryChars),
		ActionItems:    nonNil(doc.ActionItems()),
		People:         nonNil(doc.People()),
		Categories:     categoriesOf(doc.Terms()),
		Sentiment:      label,
		SentimentScore: score,
	}
}

// categoryWords lists, for each category, words whose presence is evidence
// of it; a category needs minCategoryHits of them.
var categoryWords = []struct {
	name  string
	words string
}{
	{"meeting", `meeting meetings met standup stand-up call calls sync huddle one-on-one agenda review council committee conference conferences recap`},
	{"customer", `client clients customer customers user users account accounts deposition counsel patient patients family parent parents buyer vendor vendors supplier`},
	{"planning", `plan planning roadmap quarter quarterly priorities prioritize schedule timeline deadline deadlines goal goals next week decided decision decisions strategy going forward`},
	{"operations", `delivery deliveries supplier inventory stock order shift shifts staffing equipment repair maintenance deploy deployment on-call failover runbook tractor irrigation harvest logistics process`},
	{"hiring", `hire hiring headcount interview interviews candidate candidates recruit recruiting onboarding offer resume`},
	{"finance", `budget budgets price prices pricing cost costs invoice invoices bill billing revenue payroll expense expenses pay paid discount money dollars percent profit`},
	{"incident", `outage incident incidents postmortem failure failed broke broken paged emergency alert alarm fall leak leaking blocker disaster`},
	{"learning", `learn learned learning lesson lessons reflection reflecting course training study tutorial practice noticed realized`},
	{"research", `experiment experiments lab results data paper thesis hypothesis analysis sample samples protocol antibody`},
	{"teaching", `class classes students grades grading rubric quiz lesson period semester homework essays`},
	{"legal", `lease leases clause clauses contract contracts counsel deposition objection engagement court`},
	{"engineering", `api endpoint endpoints migration tokens code bug test tests merged pr deploy staging design doc database replica`},
}

// minCategoryHits is how many evidence words a category needs; a single
// "call" does not make a memo about meetings.
const minCategoryHits = 2

var categoryIndex = func() map[string][]int {
	m := make(map[string][]int)
	for i, c := range categoryWords {
		for _, term := range extract.Terms(c.words) {
			if !slices.Contains(m[term], i) {
				m[term] = append(m[term], i)
			}
		}
	}
	return m
}()

// Categories returns the work categories of text (meeting, customer,
// planning, operations, hiring, finance, incident, learning, research,
// teaching, legal, engineering), strongest first.
func Categories(text string) []string {
	return categoriesOf(extract.Terms(text))
}

func categoriesOf(terms []string) []string {
	hits := make([]int, len(categoryWords))
	for _, term := range terms {
		for _, c := range categoryIndex[term] {
			hits[c]++
		}
	}
	order := make([]int, 0, len(categoryWords))
	for c, n := range hits {
		if n >= minCategoryHits {
			order = append(order, c)
		}
	}
	slices.SortStableFunc(order, func(a, b int) int { return hits[b] - hits[a] })
	out := make([]string, len(order))
	for k, c := range order {
		out[k] = categoryWords[c].name
	}
	return out
}

// WeekSummary sums up the entries of one ISO week.
type WeekSummary struct {
	Week    string `json:"week"`
	Entries int    `json:"entries"`
	// Days counts the distinct days with at least one entry.
	Days int `json:"days"`
	// ActionItems lists every action item of the week, in entry order,
	// without repeats. Entries do not track completion, so every item
	// counts as open.
	ActionItems []string `json:"action_items"`
	People      []string `json:"people"`
	// Categories counts the entries in each category.
	Categories map[string]int `json:"categories"`
	// Sentiment is the label of the mean entry score, or "mixed" when
	// entries lean both ways.
	Sentiment      string  `json:"sentiment"`
	SentimentScore float64 `json:"sentiment_score"`
}

// Summarize sums up the entries whose Week is week; other entries are
// ignored, so a caller may pass a longer journal.
func Summarize(entries []Entry, week string) WeekSummary {
	s := WeekSummary{Week: week, ActionItems: []string{}, People: []string{}, Categories: map[string]int{}, Sentiment: extract.Neutral}
	days := map[string]bool{}
	seenItems := map[string]bool{}
	seenPeople := map[string]bool{}

	var total float64
	var positive, negative int

	for _, e := range entries {
		if e.Week != week {
			continue
		}
		s.Entries++
		days[e.Date] = true
		for _, item := range e.ActionItems {
			if key := extract.Fold(item); !seenItems[key] {
				seenItems[key] = true
				s.ActionItems = append(s.ActionItems, item)
			}
		}
		for _, p := range e.People {
			if key := extract.Fold(p); !seenPeople[key] {
				seenPeople[key] = true
				s.People = append(s.People, p)
			}
		}
		for _, c := range e.Categories {
			s.Categories[c]++
		}
		total += e.SentimentScore
		switch e.Sentiment {
		case extract.Positive:
			positive++
		case extract.Negative:
			negative++
		}
	}

	s.Days = len(days)
	if s.Entries == 0 {
		return s
	}
	s.SentimentScore = math.Round(total/float64(s.Entries)*1000) / 1000
	s.Sentiment = weekLabel(s.SentimentScore, positive, negative)
	return s
}

// weekLabel labels a week from its mean score, calling it mixed when at
// least a third of the entries lean each way.
func weekLabel(mean float64, positive, negative int) string {
	leaning := positive + negative
	if positive > 0 && negative > 0 && 3*min(positive, negative) >= leaning {
		return extract.Mixed
	}
	switch {
	case mean >= 0.15:
		return extract.Positive
	case mean <= -0.15:
		return extract.Negative
	}
	return extract.Neutral
}

// nonNil keeps empty lists as [] in JSON.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
