package extract

import (
	"iter"
	"strings"
	"unicode"
	"unicode/utf8"
)

// minSummaryWords skips sentences too short to summarize anything ("Um.",
// "So.", "Okay, log for today.").
const minSummaryWords = 5

// Summary returns the first sentence or two of text, cleaned of fillers,
// capitalized and ending in a period, at most maxChars bytes long. A second
// sentence is added only while the first is short; a cut sentence ends on a
// whole word followed by "…".
func Summary(text string, maxChars int) string {
	// The summary needs only the first sentences, so the text is tokenized
	// only as far as they go.
	z := tokenizer{text: text, newSentence: true, toks: recycledTokens(0)}
	defer func() { recycleTokens(z.toks) }()
	return summarize(z.sentences(), maxChars)
}

func summaryFrom(toks []token, maxChars int) string {
	return summarize(sentences(toks), maxChars)
}

func summarize(sentences iter.Seq[[]token], maxChars int) string {
	var b strings.Builder
	taken := 0
	for sentence := range sentences {
		words := trimSummaryStart(cleanSentence(sentence, make([]word, 0, len(sentence))))
		if len(words) < minSummaryWords && (taken > 0 || len(words) < 3) {
			continue
		}
		s := renderSentence(words)
		if taken > 0 {
			if b.Len()+1+len(s) > maxChars {
				break
			}
			b.WriteByte(' ')
		}
		b.WriteString(s)
		taken++
		if b.Len() >= maxChars/2 || taken == 2 {
			break
		}
	}
	return truncate(b.String(), maxChars)
}

// trimSummaryStart drops "okay so", "and", "um" at the start of a sentence.
func trimSummaryStart(words []word) []word {
	for len(words) > 0 && words[0].kind.has(kindSoftFiller|kindConnector) {
		words = words[1:]
	}
	if len(words) > 0 {
		words[0].comma = false
	}
	return words
}

func renderSentence(words []word) string {
	var b strings.Builder
	for k, w := range words {
		if k > 0 {
			if w.comma {
				b.WriteString(", ")
			} else {
				b.WriteByte(' ')
			}
		}
		text := w.text
		if text == "i" || strings.HasPrefix(text, "i'") {
			// Lowercase transcripts write "i" and "i'm".
			text = "I" + text[1:]
		}
		if k == 0 {
			r, size := utf8.DecodeRuneInString(text)
			text = string(unicode.ToUpper(r)) + text[size:]
		}
		b.WriteString(text)
	}
	b.WriteByte('.')
	return b.String()
}

// Truncate cuts s to at most maxChars bytes at the last boundary that
// keeps at least a third of the room: the end of a sentence, kept as is;
// else a clause boundary (a comma, semicolon or dash), followed by "…";
// else, for one long clause only, a word boundary followed by "…". A text
// that fits is returned unchanged.
func Truncate(s string, maxChars int) string {
	return truncate(s, maxChars)
}

func truncate(s string, maxChars int) string {
	if len(s) <= maxChars {
		return s
	}
	const ellipsis = "…"
	minKeep := maxChars / 3
	if end := lastSentenceEnd(s[:maxChars]); end >= minKeep {
		return s[:end]
	}
	room := s[:maxChars-len(ellipsis)+1]
	if cut := lastClauseBoundary(room); cut >= minKeep {
		return strings.TrimRight(s[:cut], " ,;:") + ellipsis
	}
	cut := strings.LastIndexByte(room, ' ')
	// A phrase does not end on a function word: "scales every recipe",
	// not "scales every recipe to".
	for cut > minKeep {
		prev := strings.LastIndexByte(s[:cut], ' ')
		if !stopwordSet[fold(s[prev+1:cut])] {
			break
		}
		cut = prev
	}
	if cut <= 0 {
		cut = maxChars - len(ellipsis)
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
	}
	return strings.TrimRight(s[:cut], " ,;:") + ellipsis
}

// lastSentenceEnd returns the offset just after the last ".", "!" or "?"
// of s that ends a sentence, or -1. A period after an abbreviation ("Dr.")
// ends none.
func lastSentenceEnd(s string) int {
	for i := len(s) - 1; i > 0; i-- {
		c := s[i]
		if c != '.' && c != '!' && c != '?' {
			continue
		}
		if i+1 < len(s) && s[i+1] != ' ' {
			continue
		}
		if c == '.' {
			start := strings.LastIndexByte(s[:i], ' ') + 1
			if abbreviations[fold(s[start:i])] {
				continue
			}
		}
		return i + 1
	}
	return -1
}

// lastClauseBoundary returns the offset of the last comma, semicolon or
// dash of s that is followed by a space and ends a clause, or -1.
func lastClauseBoundary(s string) int {
	for i := len(s) - 2; i > 0; i-- {
		if s[i+1] != ' ' {
			continue
		}
		at := -1
		switch {
		case s[i] == ',' || s[i] == ';':
			at = i
		case s[i] == '-' && s[i-1] == ' ':
			at = i - 1
		case strings.HasSuffix(s[:i+1], "\u2014"):
			at = i + 1 - len("\u2014")
		}
		if at > 0 && endsClause(strings.TrimRight(s[:at], " ")) {
			return at
		}
	}
	return -1
}

// danglingWords leave a phrase open when a clause ends on them: "based on,"
// where a dropped filler left a comma, "the species and,".
var danglingWords = wordSet(`a an the of to on in at for with by from into onto about as and or but than that my your his her their our its this these those`)

// endsClause reports whether a text up to a comma reads as a finished
// clause: it does not end on a word that leaves the phrase open, and the
// comma does not set off a lone word such as "hey" or "well".
func endsClause(s string) bool {
	last := strings.LastIndexByte(s, ' ')
	if danglingWords[fold(s[last+1:])] {
		return false
	}
	if last < 0 {
		return false
	}
	before := strings.TrimRight(s[:last], " ")
	return before != "" && !strings.HasSuffix(before, ",") && !strings.HasSuffix(before, ";")
}

// Fold returns s in lowercase without accents, the form in which names and
// terms are compared: Fold("Renée") == Fold("renee").
func Fold(s string) string { return fold(s) }
