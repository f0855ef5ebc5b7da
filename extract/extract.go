// Package extract pulls structured facts out of voice-memo transcripts: the
// people named, the places, the themes, the action items a work memo commits
// to, a lexicon sentiment and the terms of the search index.
//
// Transcripts come from phone speech-to-text: fillers, run-on sentences,
// self-corrections and sometimes no capital letters. Every function here is
// pure, safe for concurrent use, and works on word lists built once at
// package initialization, so a call costs tens of microseconds.
package extract

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// token is one word of a transcript with the punctuation around it.
type token struct {
	// text is the word as spoken, without a possessive "'s".
	text string
	// lower is text in lowercase with accents folded ("tomás" → "tomas").
	lower string
	// sentence is the index of the sentence holding the word.
	sentence int
	// first marks the first word of a sentence or of a clause after a colon,
	// where a capital letter is no evidence of a name.
	first bool
	// possessive marks a word spoken with "'s" ("June's recital").
	possessive bool
	// commaBefore marks a comma, semicolon or dash between the previous word
	// and this one.
	commaBefore bool
	// colonBefore marks a colon between the previous word and this one.
	colonBefore bool
	// endsSentence marks the last word before ".", "!" or "?".
	endsSentence bool
}

// capitalized reports whether the word starts with an upper-case letter and
// is not an all-caps acronym such as "PDF" or "IT".
func (t *token) capitalized() bool {
	r, size := utf8.DecodeRuneInString(t.text)
	if !unicode.IsUpper(r) {
		return false
	}
	if len(t.text) == size {
		return false
	}
	for _, c := range t.text[size:] {
		if unicode.IsLower(c) {
			return true
		}
	}
	return false
}

// abbreviations end with a period that does not end a sentence.
var abbreviations = wordSet(`mr mrs ms dr st prof vs etc jr sr mt ft a m p e g i`)

// tokenize splits text into words. A word is a run of letters and digits,
// with inner apostrophes and hyphens ("don't", "Jae-won", "co-op").
func tokenize(text string) []token {
	toks := make([]token, 0, len(text)/5)
	sentence := 0
	newSentence := true
	var pendingComma, pendingColon bool
	i := 0
	for i < len(text) {
		r, size := utf8.DecodeRuneInString(text[i:])
		if !isWordRune(r) {
			switch r {
			case ',', ';', '(', ')', '\u2014', '\u2013':
				pendingComma = true
			case '-':
				// A free-standing dash separates clauses like a comma.
				pendingComma = true
			case ':':
				pendingColon = true
				pendingComma = true
			case '.', '!', '?', '\u2026':
				if r == '.' && len(toks) > 0 && abbreviations[toks[len(toks)-1].lower] && !newSentence {
					break
				}
				if len(toks) > 0 && !newSentence {
					toks[len(toks)-1].endsSentence = true
					sentence++
				}
				newSentence = true
				pendingComma = false
				pendingColon = false
			case '\n':
				if i+1 < len(text) && (text[i+1] == '\n' || text[i+1] == '\r') && !newSentence && len(toks) > 0 {
					toks[len(toks)-1].endsSentence = true
					sentence++
					newSentence = true
				}
			}
			i += size
			continue
		}
		start := i
		for i < len(text) {
			r, size = utf8.DecodeRuneInString(text[i:])
			if isWordRune(r) {
				i += size
				continue
			}
			// Keep an apostrophe or hyphen between two word runes.
			if r == '\'' || r == '\u2019' || r == '-' {
				next, nsize := utf8.DecodeRuneInString(text[i+size:])
				if i+size < len(text) && isWordRune(next) {
					i += size + nsize
					continue
				}
			}
			break
		}
		word := text[start:i]
		t := token{sentence: sentence, first: newSentence || pendingColon, commaBefore: pendingComma && !newSentence, colonBefore: pendingColon}
		if base, ok := cutPossessive(word); ok {
			word = base
			t.possessive = true
		}
		t.text = word
		t.lower = fold(word)
		toks = append(toks, t)
		newSentence, pendingComma, pendingColon = false, false, false
	}
	if len(toks) > 0 {
		toks[len(toks)-1].endsSentence = true
	}
	return toks
}

func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
}

// cutPossessive strips a possessive "'s" (or the curly-quote form) and
// reports whether it did.
func cutPossessive(word string) (string, bool) {
	for _, suffix := range []string{"'s", "\u2019s", "'S"} {
		if base, ok := strings.CutSuffix(word, suffix); ok && base != "" {
			lower := strings.ToLower(base)
			// "it's", "that's", "he's" are contractions, not possessives.
			if contractionBases[lower] {
				return word, false
			}
			return base, true
		}
	}
	return word, false
}

var contractionBases = wordSet(`it that he she there here what who where when how let everyone everybody nobody somebody someone something nothing this one today`)

// fold lowercases s and strips accents, so that spellings with and without
// diacritics compare equal. It avoids allocating for plain ASCII lowercase.
func fold(s string) string {
	ascii := true
	lower := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
		if 'A' <= c && c <= 'Z' {
			lower = false
		}
	}
	if ascii {
		if lower {
			return s
		}
		return strings.ToLower(s)
	}
	s = strings.ToLower(s)
	s = strings.ReplaceAll(s, "\u2019", "'")
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	out, _, err := transform.String(t, s)
	if err != nil {
		return s
	}
	return out
}

// wordSet parses a whitespace-separated list into a set, folding each word.
func wordSet(lists ...string) map[string]bool {
	set := make(map[string]bool)
	for _, list := range lists {
		for _, w := range strings.Fields(list) {
			set[fold(w)] = true
		}
	}
	return set
}
