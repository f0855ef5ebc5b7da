package classify

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// fillers are spoken noise that a speech-to-text engine writes out. They
// carry no evidence about the kind of memo, so features never include them.
var fillers = []string{
	"um", "umm", "uh", "uhh", "uhm", "erm", "er", "ah", "hmm", "mm", "mhm", "huh",
	"like", "okay", "ok", "alright", "yeah", "yep", "well", "oh", "so", "just",
	"actually", "basically", "literally", "really", "honestly", "anyway", "anyways",
	"gonna", "gotta", "wanna",
}

// stopwords are function words. They never become unigram features, and a
// bigram of two stopwords is dropped too. Pronouns such as "we" and "my",
// modals such as "would" and "could", and "what" and "if" are kept on
// purpose: they separate stories about people from plans and ideas.
var stopwords = []string{
	"a", "an", "the", "and", "or", "but", "nor", "of", "to", "in", "on", "at",
	"by", "for", "with", "from", "into", "onto", "up", "down", "out", "off",
	"over", "about", "as", "than", "then", "too", "very", "also", "there",
	"here", "this", "that", "these", "those", "it", "its", "i", "im", "ive",
	"id", "ill", "me", "is", "am", "are", "was", "were", "be", "been", "being",
	"do", "does", "did", "doing", "have", "has", "had", "having", "get", "got",
	"some", "any", "all", "which", "who", "whom", "whose", "where", "when",
	"how", "because", "cause", "while", "until", "after", "before", "again",
	"thing", "things", "stuff", "kind", "sort", "lot", "bit",
	"know", "mean", "guess", "think", "said", "say", "says", "wait", "no", "not",
	"dont", "didnt", "doesnt", "isnt", "wasnt", "cant", "wont", "thats", "theres",
	"whats", "more", "most", "other", "such", "only", "own", "same",
	"can", "will", "shall", "may", "might", "must", "let", "lets", "now",
	"#num",
}

// numberWords are spelled-out numbers. Like digits they become "#num",
// because a number carries no evidence about the kind of memo and
// speech-to-text engines spell out locker numbers as often as prices.
var numberWords = []string{
	"zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
	"nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen",
	"sixteen", "seventeen", "eighteen", "nineteen", "twenty", "thirty",
	"forty", "fifty", "sixty", "seventy", "eighty", "ninety", "hundred",
	"thousand", "million", "first", "second", "third", "fourth", "fifth",
}

// wordKind flags the roles a word plays, so that one map lookup per word
// returns all of them.
type wordKind uint8

const (
	kindFiller wordKind = 1 << iota
	kindStopword
	kindNumber
	kindShiftStart // the first word of a topic shift
)

// wordKinds maps each word with a role to its roles.
var wordKinds = func() map[string]wordKind {
	m := make(map[string]wordKind)
	for _, w := range fillers {
		m[w] |= kindFiller
	}
	for _, w := range stopwords {
		m[w] |= kindStopword
	}
	for _, w := range numberWords {
		m[w] |= kindNumber
	}
	for _, seq := range topicShifts {
		m[seq[0]] |= kindShiftStart
	}
	return m
}()

// token is one word of a memo: a run of letters and digits, with any
// apostrophes inside or after it.
type token struct {
	start, end int // byte range in the memo text
	// lower is the word in lowercase, with apostrophes removed and a
	// possessive "'s" dropped. It is empty when nothing is left.
	lower string
	// word is the form features use: lower, or "#num" for a number.
	word string
	// filler and stopword are the roles of word.
	filler, stopword bool
	apostrophe       bool
	// shiftStart is set when the word is the first word of a topic shift.
	shiftStart bool
	// cutBefore is set when a unit may start at this word. tokenize sets
	// it after sentence punctuation, a comma or a line break, and units
	// sets it where a topic shift starts.
	cutBefore bool
}

// tokenize appends the words of text to dst. Apostrophes are removed
// ("didn't" becomes "didnt") and a possessive "'s" is dropped. Numbers
// become "#num". Fillers are kept, and callers drop them.
func tokenize(dst []token, text string) []token {
	start := -1
	plain := true // the current word is lowercase without apostrophes
	apostrophe := false
	cut := false // punctuation seen since the last word
	flush := func(end int) {
		if start < 0 {
			return
		}
		t := token{start: start, end: end, lower: text[start:end], apostrophe: apostrophe, cutBefore: cut}
		start, cut = -1, false
		if !plain {
			t.lower = normalizeWord(t.lower)
		}
		t.word = t.lower
		kind := wordKinds[t.lower]
		// No topic shift contains an apostrophe.
		t.shiftStart = kind&kindShiftStart != 0 && !t.apostrophe
		if c, _ := utf8.DecodeRuneInString(t.word); unicode.IsDigit(c) || kind&kindNumber != 0 {
			t.word = "#num"
			kind = wordKinds[t.word]
		}
		t.filler = kind&kindFiller != 0
		t.stopword = kind&kindStopword != 0
		dst = append(dst, t)
	}
	for i, r := range text {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if start < 0 {
				start, plain, apostrophe = i, true, false
			}
			if plain && !unicode.IsLower(r) && !unicode.IsDigit(r) {
				plain = false
			}
		case (r == '\'' || r == '\u2019') && start >= 0:
			plain, apostrophe = false, true
		default:
			flush(i)
			switch r {
			case '.', '!', '?', ';', ',', ':', '\n':
				cut = true
			}
		}
	}
	flush(len(text))
	return dst
}

// normalizeWord lowercases w and removes its apostrophes and a possessive
// "'s"; w holds letters, digits and apostrophes only.
func normalizeWord(w string) string {
	w = strings.ToLower(strings.ReplaceAll(w, "\u2019", "'"))
	w = strings.TrimSuffix(w, "'s")
	return strings.ReplaceAll(w, "'", "")
}

// stem removes common English inflections so that "baked", "baking" and
// "bakes" share a feature. It is deliberately crude: the same crude form on
// both sides of a comparison is all a bag-of-words model needs.
func stem(w string) string {
	keep, y := stemRule(w)
	if y {
		return w[:keep] + "y"
	}
	return w[:keep]
}

// appendStem appends the stem of w to dst, without the allocation stem
// makes for "ies" and "ied".
func appendStem(dst []byte, w string) []byte {
	keep, y := stemRule(w)
	dst = append(dst, w[:keep]...)
	if y {
		dst = append(dst, 'y')
	}
	return dst
}

// stemRule returns how many leading bytes of w its stem keeps and whether
// the stem then ends in an added "y".
func stemRule(w string) (keep int, y bool) {
	n := len(w)
	switch {
	case n > 5 && strings.HasSuffix(w, "ing"):
		return n - 3, false
	case n > 4 && (strings.HasSuffix(w, "ies") || strings.HasSuffix(w, "ied")):
		return n - 3, true
	case n > 4 && strings.HasSuffix(w, "ed"):
		return n - 2, false
	case n > 3 && strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") && !strings.HasSuffix(w, "us"):
		return n - 1, false
	}
	return n, false
}

// features returns the distinct features of text: stemmed content words and
// bigrams of neighbouring words once fillers are removed, and the number of
// content words (words that are neither fillers nor stopwords). Training
// uses it. Classification derives the same features as ids in analyze, so
// a change here needs the same change there.
func features(text string) (feats []string, content int) {
	tokens := tokenize(make([]token, 0, len(text)/5), text)
	seen := make(map[string]bool, 2*len(tokens))
	add := func(f string) {
		if !seen[f] {
			seen[f] = true
			feats = append(feats, f)
		}
	}
	prev := -1 // index of the previous word that is not a filler
	for i, t := range tokens {
		if t.word == "" || t.filler {
			continue
		}
		if !t.stopword {
			content++
			add(stem(t.word))
		}
		if prev >= 0 && !(t.stopword && tokens[prev].stopword) {
			add(stem(tokens[prev].word) + " " + stem(t.word))
		}
		prev = i
	}
	return feats, content
}
