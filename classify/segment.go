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

type wordPos struct {
	w          string
	start, end int
}

// units cuts text into small consecutive spans at sentence punctuation,
// commas and topic shifts, then joins pieces shorter than minUnitWords.
func units(text string) []span {
	var ws []wordPos
	var cuts []int // byte offsets where a new unit starts
	start := -1
	for i, r := range text {
		isWord := unicode.IsLetter(r) || unicode.IsDigit(r) || ((r == '\'' || r == '\u2019') && start >= 0)
		if isWord {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			ws = append(ws, wordPos{strings.ToLower(strings.ReplaceAll(text[start:i], "\u2019", "'")), start, i})
			start = -1
		}
		switch r {
		case '.', '!', '?', ';', ',', ':', '\n':
			cuts = append(cuts, i+1)
		}
	}
	if start >= 0 {
		ws = append(ws, wordPos{strings.ToLower(text[start:]), start, len(text)})
	}
	for i := range ws {
		if i > 0 && matchesShift(ws[i:]) {
			cuts = append(cuts, ws[i].start)
		}
	}
	return joinShort(text, ws, cuts)
}

// shiftStarts holds the first word of every topic shift, to skip most words
// without comparing sequences.
var shiftStarts = func() map[string]bool {
	m := make(map[string]bool)
	for _, seq := range topicShifts {
		m[seq[0]] = true
	}
	return m
}()

func matchesShift(ws []wordPos) bool {
	if !shiftStarts[ws[0].w] {
		return false
	}
next:
	for _, seq := range topicShifts {
		if len(seq) > len(ws) {
			continue
		}
		for j, w := range seq {
			if ws[j].w != w {
				continue next
			}
		}
		return true
	}
	return false
}

// joinShort turns the cut offsets into spans that each hold at least
// minUnitWords words, except when the whole text is shorter.
func joinShort(text string, ws []wordPos, cuts []int) []span {
	if len(ws) == 0 {
		return nil
	}
	isCut := make(map[int]bool, len(cuts))
	for _, c := range cuts {
		isCut[c] = true
	}
	var out []span
	cur := span{start: ws[0].start}
	n := 0
	for i, w := range ws {
		n++
		if i+1 == len(ws) {
			break
		}
		boundary := false
		for off := w.end; off <= ws[i+1].start; off++ {
			if isCut[off] {
				boundary = true
				break
			}
		}
		if boundary && n >= minUnitWords {
			cur.end = w.end
			out = append(out, cur)
			cur = span{start: ws[i+1].start}
			n = 0
		}
	}
	cur.end = len(text)
	if n < minUnitWords && len(out) > 0 {
		out[len(out)-1].end = cur.end
	} else {
		out = append(out, cur)
	}
	for i := range out {
		out[i].end = trimEnd(text, out[i])
	}
	return out
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
