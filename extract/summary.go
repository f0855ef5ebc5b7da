package extract

import (
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
	return summaryFrom(tokenize(text), maxChars)
}

func summaryFrom(toks []token, maxChars int) string {
	var b strings.Builder
	taken := 0
	for _, sentence := range sentences(toks) {
		words := trimSummaryStart(cleanSentence(sentence))
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
	for len(words) > 0 && (softFillerSet[words[0].lower] || connectorSet[words[0].lower]) {
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

// truncate cuts s to at most maxChars bytes on a word boundary.
func truncate(s string, maxChars int) string {
	if len(s) <= maxChars {
		return s
	}
	const ellipsis = "…"
	cut := strings.LastIndexByte(s[:maxChars-len(ellipsis)+1], ' ')
	if cut <= 0 {
		cut = maxChars - len(ellipsis)
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
	}
	return strings.TrimRight(s[:cut], " ,;:") + ellipsis
}

// Fold returns s in lowercase without accents, the form in which names and
// terms are compared: Fold("Renée") == Fold("renee").
func Fold(s string) string { return fold(s) }
