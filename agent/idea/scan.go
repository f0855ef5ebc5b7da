package idea

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// The scanners in this file find the parts of feature clauses in a memo.
// Each one returns exactly what a regular expression, kept in scan_test.go
// as its specification, finds with leftmost-first matching, but without
// backtracking. In that notation \s is one of "\t\n\f\r " and \b a
// boundary between an ASCII word character ([0-9A-Za-z_]) and anything
// else.

// span is a range of byte offsets.
type span struct {
	start, end int
}

// clauseSubjects are who a feature clause is about.
var clauseSubjects = []string{"you", "it", "people", "users", "members", "customers", "players", "parents", "students", "neighbors", "neighbours", "hikers", "someone", "anyone", "everyone"}

// clauseOpeners are the words that open a clause inside a sentence.
var clauseOpeners = []string{"and", "then", "where", "so", "when"}

// clauseModals may stand between the subject and the verb: "you can
// just post".
var clauseModals = []string{"can", "could", "will", "would", "should", "just", "also", "only", "then"}

// maxClauseModals is how many modals a clause may hold before its verb.
const maxClauseModals = 2

// findClauses returns what the user or the product does, as the ranges of
// group 1 of every match of
//
//	(?:^|[,.;:!?]\s*|\b(?:and|then|where|so|when)\s+)(?:you|it|...|everyone)\s+(?:(?:can|...|then)\s+){0,2}([a-z]+(?:\s+[^,.;:!?]+)?)
//
// ("you post a shift", "it computes every deadline").
func findClauses(lower string) []span {
	var out []span
	for at := 0; at < len(lower); {
		if clause, ok := clauseAt(lower, at); ok {
			out = append(out, clause)
			at = clause.end
			continue
		}
		at = nextCandidate(lower, at)
	}
	return out
}

// nextCandidate returns the offset after at where a match may start: a
// match starts at the start of the text, at punctuation or at the start of
// a word, so the rest of a word is skipped.
func nextCandidate(s string, at int) int {
	if !isWordCharacter(s[at]) {
		return at + 1
	}
	at++
	for at < len(s) && isWordCharacter(s[at]) {
		at++
	}
	return at
}

// clauseAt matches a clause starting at offset at.
func clauseAt(s string, at int) (span, bool) {
	subject := -1
	switch {
	case at == 0 && matchWord(s, 0, clauseSubjects) > 0:
		subject = 0
	case isClausePunct(s[at]):
		subject = skipSpace(s, at+1)
	case wordBoundaryBefore(s, at):
		if end := matchWord(s, at, clauseOpeners); end > 0 && end < len(s) && isSpace(s[end]) {
			subject = skipSpace(s, end)
		}
	}
	if subject < 0 {
		return span{}, false
	}
	end := matchWord(s, subject, clauseSubjects)
	if end < 0 || end == len(s) || !isSpace(s[end]) {
		return span{}, false
	}
	// Up to two modals are taken, but the verb must start with [a-z]. With
	// fewer modals, the verb is the word where the next modal is.
	starts := []int{skipSpace(s, end)}
	for len(starts) <= maxClauseModals {
		last := starts[len(starts)-1]
		modalEnd := matchWord(s, last, clauseModals)
		if modalEnd < 0 || modalEnd == len(s) || !isSpace(s[modalEnd]) {
			break
		}
		starts = append(starts, skipSpace(s, modalEnd))
	}
	for k := len(starts) - 1; k >= 0; k-- {
		if verb := starts[k]; verb < len(s) && isLowerLetter(s[verb]) {
			return span{verb, clauseEnd(s, verb)}, true
		}
	}
	return span{}, false
}

// clauseEnd returns where [a-z]+(?:\s+[^,.;:!?]+)? starting at verb ends.
func clauseEnd(s string, verb int) int {
	letters := verb
	for letters < len(s) && isLowerLetter(s[letters]) {
		letters++
	}
	rest := skipSpace(s, letters)
	switch {
	case rest == letters:
		return letters
	case rest < len(s) && !isClausePunct(s[rest]):
		return nextClausePunct(s, rest)
	case rest-letters >= 2:
		// The last space alone is the [^,.;:!?]+ part.
		return rest
	}
	return letters
}

// productSubjects refer to the product in "it scales recipes".
var productSubjects = []string{"it", "that"}

// findProductVerbs returns what the product does in the third person, as
// the ranges of group 1 of every match of
//
//	\b(?:it|that)\s+([a-z]+s\b[^,.;:!?]*)
//
// ("it makes you pick one", "that scales recipes").
func findProductVerbs(lower string) []span {
	var out []span
	for at := 0; at < len(lower); {
		if verb, ok := productVerbAt(lower, at); ok {
			out = append(out, verb)
			at = verb.end
			continue
		}
		at = nextCandidate(lower, at)
	}
	return out
}

func productVerbAt(s string, at int) (span, bool) {
	if !wordBoundaryBefore(s, at) {
		return span{}, false
	}
	end := matchWord(s, at, productSubjects)
	if end < 0 || end == len(s) || !isSpace(s[end]) {
		return span{}, false
	}
	verb := skipSpace(s, end)
	letters := verb
	for letters < len(s) && isLowerLetter(s[letters]) {
		letters++
	}
	if letters-verb < 2 || s[letters-1] != 's' || letters < len(s) && isWordCharacter(s[letters]) {
		return span{}, false
	}
	return span{verb, nextClausePunct(s, letters)}, true
}

// productTurnAt returns the offset of the first match of
//
//	,?\s+and\s+(?:then\s+)?(?:it|that)\s
//
// in s, where a clause about the user hands over to the product: "you
// paste a recipe and it scales it". It returns -1 when there is none.
func productTurnAt(s string) int {
	for at := range len(s) {
		if productTurnMatches(s, at) {
			return at
		}
	}
	return -1
}

func productTurnMatches(s string, at int) bool {
	space := at
	if s[at] == ',' {
		space++
	}
	and := skipSpace(s, space)
	if and == space || !strings.HasPrefix(s[and:], "and") {
		return false
	}
	subject := skipSpace(s, and+len("and"))
	if subject == and+len("and") {
		return false
	}
	if strings.HasPrefix(s[subject:], "then") {
		afterThen := subject + len("then")
		if next := skipSpace(s, afterThen); next > afterThen && productSubjectAt(s, next) {
			return true
		}
	}
	return productSubjectAt(s, subject)
}

// productSubjectAt matches (?:it|that)\s at offset at.
func productSubjectAt(s string, at int) bool {
	end := matchWord(s, at, productSubjects)
	return end > 0 && end < len(s) && isSpace(s[end])
}

// commaFillerWords are fillers that commas set off: ", like,", ", um,".
var commaFillerWords = []string{"like", "um", "uh", "you know", "i guess", "i mean"}

// findCommaFillers returns the ranges of every match of
//
//	,\s*(?:like|um|uh|you know|i guess|i mean)\s*,
func findCommaFillers(lower string) []span {
	var out []span
	for at := 0; at < len(lower); at++ {
		if lower[at] != ',' {
			continue
		}
		end := matchWord(lower, skipSpace(lower, at+1), commaFillerWords)
		if end < 0 {
			continue
		}
		if end = skipSpace(lower, end); end < len(lower) && lower[end] == ',' {
			out = append(out, span{at, end + 1})
			// The next match starts after this one.
			at = end
		}
	}
	return out
}

// futureWords open a part of a memo about later versions.
var futureWords = []string{"later", "stretch goal", "someday", "eventually"}

// futureMarkerAt returns the offset of the first match of
//
//	(?:^|[.!?]\s+)(?:later on|later|stretch goal|someday|eventually)\b
//
// in s, or -1. "later on" needs no test of its own, because wherever it
// matches, "later" matches too.
func futureMarkerAt(s string) int {
	for at := range len(s) {
		if at == 0 && futureWordAt(s, 0) {
			return 0
		}
		if s[at] != '.' && s[at] != '!' && s[at] != '?' {
			continue
		}
		if word := skipSpace(s, at+1); word > at+1 && futureWordAt(s, word) {
			return at
		}
	}
	return -1
}

// futureWordAt matches (?:later|stretch goal|someday|eventually)\b at
// offset at.
func futureWordAt(s string, at int) bool {
	end := matchWord(s, at, futureWords)
	return end > 0 && (end == len(s) || !isWordCharacter(s[end]))
}

// cutWords open a reason or an aside that ends a feature.
var cutWords = []string{"so", "because", "which", "since", "but", "and when"}

// featureCutAt returns the offset of the first match of
//
//	(?i)(?:^|\s+)(?:so|because|which|since|but|and when)\b.*$
//
// in s, or -1: where a reason or an aside starts that runs to the end of s.
func featureCutAt(s string) int {
	for at := range len(s) {
		if at == 0 && cutWordAt(s, 0) {
			return 0
		}
		// Where a run of spaces starts, since the later spaces of the run
		// reach the same word.
		if isSpace(s[at]) && (at == 0 || !isSpace(s[at-1])) && cutWordAt(s, skipSpace(s, at)) {
			return at
		}
	}
	return -1
}

// cutWordAt matches (?i)(?:so|...|and when)\b.*$ at offset at: one of
// cutWords in any case, then no more line breaks.
func cutWordAt(s string, at int) bool {
	for _, w := range cutWords {
		end, ok := hasPrefixFold(s, at, w)
		if ok && (end == len(s) || !isWordCharacter(s[end])) && strings.IndexByte(s[end:], '\n') < 0 {
			return true
		}
	}
	return false
}

// hasPrefixFold reports whether s contains prefix at offset at under simple
// Unicode case folding, as (?i) matches it ("S" or "ſ" for "s"), and
// returns the offset after it.
func hasPrefixFold(s string, at int, prefix string) (int, bool) {
	for _, want := range prefix {
		if at == len(s) {
			return 0, false
		}
		r, size := utf8.DecodeRuneInString(s[at:])
		if r != want && !sameFold(r, want) {
			return 0, false
		}
		at += size
	}
	return at, true
}

// sameFold reports whether r is in the case-folding orbit of want.
func sameFold(r, want rune) bool {
	for f := unicode.SimpleFold(want); f != want; f = unicode.SimpleFold(f) {
		if f == r {
			return true
		}
	}
	return false
}

// matchWord returns the offset after the first of words that s contains
// at offset at, or -1.
func matchWord(s string, at int, words []string) int {
	if at == len(s) {
		return -1
	}
	for _, w := range words {
		// The first byte rules out most words cheaply.
		if s[at] == w[0] && strings.HasPrefix(s[at:], w) {
			return at + len(w)
		}
	}
	return -1
}

// skipSpace returns the offset of the first byte at or after at that is
// not \s.
func skipSpace(s string, at int) int {
	for at < len(s) && isSpace(s[at]) {
		at++
	}
	return at
}

// nextClausePunct returns the offset of the first of ",.;:!?" at or after
// at, or len(s).
func nextClausePunct(s string, at int) int {
	if i := strings.IndexAny(s[at:], ",.;:!?"); i >= 0 {
		return at + i
	}
	return len(s)
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'
}

func isClausePunct(c byte) bool {
	return c == ',' || c == '.' || c == ';' || c == ':' || c == '!' || c == '?'
}

func isLowerLetter(c byte) bool {
	return 'a' <= c && c <= 'z'
}

// isWordCharacter reports whether c is an ASCII word character. A byte of a
// multibyte character never is, as in \b.
func isWordCharacter(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_'
}

// wordBoundaryBefore reports whether \b holds before the word character at
// offset at.
func wordBoundaryBefore(s string, at int) bool {
	return isWordCharacter(s[at]) && (at == 0 || !isWordCharacter(s[at-1]))
}
