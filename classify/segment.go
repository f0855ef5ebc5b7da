package classify

import (
	"strings"
	"unicode"
)

// span is a byte range [start, end) of the memo text.
type span struct{ start, end int }

// topicShifts are word sequences that, in speech, usually open a new
// subject ("oh and", "other thing", "anyway"). A unit boundary is placed
// before each so a change of bucket can fall there even in a transcript
// without punctuation.
var topicShifts = [][]string{
	{"oh", "and"}, {"also"}, {"anyway"}, {"anyways"}, {"other", "thing"},
	{"another", "thing"}, {"and", "then"}, {"but", "then"}, {"then"},
	{"on", "a", "different", "note"}, {"speaking", "of"}, {"one", "more", "thing"},
	{"after", "work"}, {"and", "also"}, {"but"}, {"because"}, {"which"},
	{"and", "i"}, {"and", "we"}, {"so", "i"}, {"so", "we"}, {"idea"},
}

// minUnitWords is the smallest number of words a unit keeps on its own.
// Shorter pieces are joined to a neighbour because a few words carry too
// little evidence and would only add noise to the segmentation.
const minUnitWords = 5

// unit is a span of the memo with the range of its words.
type unit struct {
	span
	firstToken, lastToken int // inclusive range in analysis.tokens
	from, to              int // range [from, to) in analysis.positions
}

// units cuts the memo into small consecutive units at sentence punctuation,
// commas and topic shifts, then joins pieces shorter than minUnitWords. It
// appends them to dst and marks the topic shifts in tokens.
func units(dst []unit, text string, tokens []token) []unit {
	for i := 1; i < len(tokens); i++ {
		if matchesShift(tokens[i:]) {
			tokens[i].cutBefore = true
		}
	}
	return joinShort(dst, text, tokens)
}

// matchesShift reports whether a topic shift starts at tokens[0]. A word
// with an apostrophe never matches because no topic shift has one.
func matchesShift(tokens []token) bool {
	if !tokens[0].shiftStart {
		return false
	}
next:
	for _, seq := range topicShifts {
		if len(seq) > len(tokens) {
			continue
		}
		for j, w := range seq {
			if tokens[j].apostrophe || tokens[j].lower != w {
				continue next
			}
		}
		return true
	}
	return false
}

// joinShort groups the tokens into units, cutting before a token marked
// cutBefore once the unit holds at least minUnitWords words. Only a text
// shorter than that gives a shorter unit. The last unit runs to the end of
// the text.
func joinShort(dst []unit, text string, tokens []token) []unit {
	if len(tokens) == 0 {
		return dst
	}
	first := len(dst)
	cur := unit{span: span{start: tokens[0].start}}
	n := 0
	for i, t := range tokens {
		n++
		if i+1 == len(tokens) {
			break
		}
		if tokens[i+1].cutBefore && n >= minUnitWords {
			cur.end, cur.lastToken = t.end, i
			dst = append(dst, cur)
			cur = unit{span: span{start: tokens[i+1].start}, firstToken: i + 1}
			n = 0
		}
	}
	cur.end, cur.lastToken = len(text), len(tokens)-1
	if n < minUnitWords && len(dst) > first {
		last := &dst[len(dst)-1]
		last.end, last.lastToken = cur.end, cur.lastToken
	} else {
		dst = append(dst, cur)
	}
	for i := first; i < len(dst); i++ {
		dst[i].end = trimEnd(text, dst[i].span)
	}
	return dst
}

// trimEnd drops trailing spaces from a span but keeps its punctuation.
func trimEnd(text string, s span) int {
	return s.start + len(strings.TrimRightFunc(text[s.start:s.end], unicode.IsSpace))
}

// run is a maximal sequence of units labelled with one agent class.
type run struct {
	class   class
	first   int // index of the first unit
	last    int // index of the last unit, inclusive
	score   scores
	content int
}

// segmentRuns labels each unit with an agent class by dynamic programming
// (Viterbi): a unit's cost is its negative log-likelihood under the class,
// and every change of class between neighbouring units costs
// switchPenalty. A memo is therefore split only where the evidence for a
// different bucket outweighs the penalty. allowed limits the classes used.
func segmentRuns(unitScores []scores, contents []int, allowed [numAgents]bool) []run {
	n := len(unitScores)
	if n == 0 {
		return nil
	}
	const negInf = -1e300
	best := make([][numAgents]float64, n)
	from := make([][numAgents]int, n)
	for k := range numAgents {
		best[0][k] = negInf
		if allowed[k] {
			best[0][k] = unitScores[0][k]
		}
	}
	for i := 1; i < n; i++ {
		for k := range numAgents {
			best[i][k] = negInf
			if !allowed[k] {
				continue
			}
			for j := range numAgents {
				v := best[i-1][j]
				if j != k {
					v -= switchPenalty
				}
				if v > best[i][k] {
					best[i][k] = v
					from[i][k] = j
				}
			}
			best[i][k] += unitScores[i][k]
		}
	}
	labels := make([]int, n)
	for k := 1; k < numAgents; k++ {
		if best[n-1][k] > best[n-1][labels[n-1]] {
			labels[n-1] = k
		}
	}
	for i := n - 1; i > 0; i-- {
		labels[i-1] = from[i][labels[i]]
	}

	var runs []run
	for i, k := range labels {
		if len(runs) == 0 || runs[len(runs)-1].class != class(k) {
			runs = append(runs, run{class: class(k), first: i})
		}
		r := &runs[len(runs)-1]
		r.last = i
		r.content += contents[i]
		for c := range numClasses {
			r.score[c] += unitScores[i][c]
		}
	}
	return runs
}
