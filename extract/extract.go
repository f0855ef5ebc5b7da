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
	"iter"
	"strings"
	"sync"
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
	// capital caches isCapitalized(text), which the name rules call many
	// times.
	capital bool
	// kind is the set of word lists that contain lower.
	kind wordKind
}

// capitalized reports whether the word starts with an upper-case letter and
// is not an all-caps acronym such as "PDF" or "IT".
func (t *token) capitalized() bool { return t.capital }

func isCapitalized(word string) bool {
	r, size := utf8.DecodeRuneInString(word)
	if !unicode.IsUpper(r) {
		return false
	}
	if len(word) == size {
		return false
	}
	for _, c := range word[size:] {
		if unicode.IsLower(c) {
			return true
		}
	}
	return false
}

// abbreviations end with a period that does not end a sentence.
var abbreviations = kindSet(kindAbbreviation, `mr mrs ms dr st prof vs etc jr sr mt ft a m p e g i`)

// Classes of ASCII bytes in a word, so that tokenize needs no rune
// decoding in the common case.
const (
	asciiOther = iota
	asciiLower // a lowercase letter or a digit
	asciiUpper
)

var asciiClass = func() (table [utf8.RuneSelf]uint8) {
	for c := range table {
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
			table[c] = asciiLower
		case 'A' <= c && c <= 'Z':
			table[c] = asciiUpper
		}
	}
	return table
}()

// tokenize splits text into words. A word is a run of letters and digits,
// with inner apostrophes and hyphens ("don't", "Jae-won", "co-op").
func tokenize(text string) []token {
	return tokenizeInto(text, make([]token, 0, estimateWords(text)))
}

// tokenizeInto is tokenize appending to toks.
func tokenizeInto(text string, toks []token) []token {
	z := tokenizer{text: text, newSentence: true, toks: toks}
	z.scan(false)
	return z.toks
}

// tokenBuffers recycles token buffers, because the package functions
// return nothing that refers to their tokens.
var tokenBuffers sync.Pool

// withTokens calls use with the tokens of text, held in a recycled buffer
// that use must not keep.
func withTokens[T any](text string, use func([]token) T) T {
	toks := tokenizeRecycled(text)
	defer recycleTokens(toks)
	return use(toks)
}

// tokenizeRecycled is tokenize into a recycled buffer, which recycleTokens
// returns once nothing refers to the tokens.
func tokenizeRecycled(text string) []token {
	return tokenizeInto(text, recycledTokens(estimateWords(text)))
}

// recycledTokens returns an empty token buffer with room for size tokens.
func recycledTokens(size int) []token {
	if buffer, ok := tokenBuffers.Get().(*[]token); ok && cap(*buffer) >= size {
		return (*buffer)[:0]
	}
	return make([]token, 0, size)
}

func recycleTokens(toks []token) {
	tokenBuffers.Put(&toks)
}

// estimateWords returns an estimate of the number of words in text, one per
// space or line break, which in most transcripts needs no second
// allocation.
func estimateWords(text string) int {
	return strings.Count(text, " ") + strings.Count(text, "\n") + 8
}

// tokenizer splits a text into tokens, all at once or a sentence at a time
// for callers that need only the first sentences.
type tokenizer struct {
	text string
	// lowered receives the lowercase forms of the ASCII words with capitals
	// one after another, so that they share few allocations. A string taken
	// from it stays valid as it grows.
	lowered strings.Builder
	// at is the offset of the first byte not yet read.
	at          int
	sentence    int
	newSentence bool
	// pendingComma and pendingColon mark punctuation read since the last
	// word.
	pendingComma, pendingColon bool
	toks                       []token
}

// sentences yields the tokens of each sentence in turn.
func (z *tokenizer) sentences() iter.Seq[[]token] {
	return func(yield func([]token) bool) {
		for z.at < len(z.text) {
			start := len(z.toks)
			z.scan(true)
			if start < len(z.toks) && !yield(z.toks[start:]) {
				return
			}
		}
	}
}

// scan reads tokens on to the end of the text or, with oneSentence, to the
// end of the current sentence. The last token of the text ends a sentence.
func (z *tokenizer) scan(oneSentence bool) {
	text, toks, i := z.text, z.toks, z.at
	sentence, newSentence := z.sentence, z.newSentence
	pendingComma, pendingColon := z.pendingComma, z.pendingColon
	for i < len(text) {
		if oneSentence && sentence > z.sentence {
			break
		}
		if text[i] == ' ' {
			// The most common byte between words changes no state.
			i++
			continue
		}
		r, size := decodeRune(text, i)
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
				if r == '.' && len(toks) > 0 && toks[len(toks)-1].kind.has(kindAbbreviation) && !newSentence {
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
		ascii, upper := true, false
		for i < len(text) {
			if c := text[i]; c < utf8.RuneSelf {
				switch asciiClass[c] {
				case asciiLower:
					i++
					continue
				case asciiUpper:
					upper = true
					i++
					continue
				}
			}
			r, size = decodeRune(text, i)
			if isWordRune(r) {
				ascii = false
				i += size
				continue
			}
			// Keep an apostrophe or hyphen between two word runes.
			if r == '\'' || r == '\u2019' || r == '-' {
				next, nsize := utf8.DecodeRuneInString(text[i+size:])
				if i+size < len(text) && isWordRune(next) {
					if size > 1 || nsize > 1 {
						ascii = false
					} else if asciiClass[next] == asciiUpper {
						upper = true
					}
					i += size + nsize
					continue
				}
			}
			break
		}
		word := text[start:i]
		toks = append(toks, token{first: newSentence || pendingColon, commaBefore: pendingComma && !newSentence, colonBefore: pendingColon})
		t := &toks[len(toks)-1]
		if endsInS(word) {
			if base, ok := cutPossessive(word); ok {
				word = base
				t.possessive = true
			}
		}
		t.text = word
		switch {
		case !ascii:
			t.lower = fold(word)
			t.capital = isCapitalized(word)
		case upper:
			t.lower = z.lowerASCII(word)
			t.capital = isCapitalized(word)
		default:
			// An ASCII word without capitals is its own lowercase form
			// and is not capitalized.
			t.lower = word
		}
		t.kind = kindsOf(t.lower)
		newSentence, pendingComma, pendingColon = false, false, false
	}
	if i == len(text) && len(toks) > 0 {
		toks[len(toks)-1].endsSentence = true
	}
	z.toks, z.at = toks, i
	z.sentence, z.newSentence = sentence, newSentence
	z.pendingComma, z.pendingColon = pendingComma, pendingColon
}

// decodeRune decodes the rune at text[i:], with a shortcut for ASCII.
func decodeRune(text string, i int) (rune, int) {
	if c := text[i]; c < utf8.RuneSelf {
		return rune(c), 1
	}
	return utf8.DecodeRuneInString(text[i:])
}

func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return asciiClass[r] != asciiOther
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
}

// lowerASCII returns word, an ASCII word of the text, in lowercase.
func (z *tokenizer) lowerASCII(word string) string {
	if z.lowered.Cap() == 0 {
		// About a tenth of the words of the development transcripts
		// have capitals.
		z.lowered.Grow(len(z.text)/8 + len(word))
	}
	start := z.lowered.Len()
	for i := range len(word) {
		c := word[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		z.lowered.WriteByte(c)
	}
	return z.lowered.String()[start:]
}

// endsInS reports whether word ends in "s" or "S", as every possessive
// does, so that most words skip cutPossessive.
func endsInS(word string) bool {
	last := word[len(word)-1]
	return last == 's' || last == 'S'
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
