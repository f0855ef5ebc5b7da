package classify

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// fillers are spoken noise that a speech-to-text engine writes out. They
// carry no evidence about the kind of memo, so features never include them.
var fillers = set(
	"um", "umm", "uh", "uhh", "uhm", "erm", "er", "ah", "hmm", "mm", "mhm", "huh",
	"like", "okay", "ok", "alright", "yeah", "yep", "well", "oh", "so", "just",
	"actually", "basically", "literally", "really", "honestly", "anyway", "anyways",
	"gonna", "gotta", "wanna",
)

// stopwords are function words. They never become unigram features, and a
// bigram of two stopwords is dropped too. Pronouns such as "we" and "my",
// modals such as "would" and "could", and "what" and "if" are kept on
// purpose: they separate stories about people from plans and ideas.
var stopwords = set(
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
)

// numberWords are spelled-out numbers. Like digits they become "#num",
// because a number carries no evidence about the kind of memo and
// speech-to-text engines spell out locker numbers as often as prices.
var numberWords = set(
	"zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
	"nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen",
	"sixteen", "seventeen", "eighteen", "nineteen", "twenty", "thirty",
	"forty", "fifty", "sixty", "seventy", "eighty", "ninety", "hundred",
	"thousand", "million", "first", "second", "third", "fourth", "fifth",
)

func set(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

// words splits text into lowercase words: runs of letters and digits, with
// apostrophes removed ("didn't" becomes "didnt") and a possessive "'s"
// dropped. Numbers become "#num". Fillers are left in; callers drop them.
func words(text string) []string {
	out := make([]string, 0, len(text)/5)
	start := -1
	plain := true // the current word is lowercase without apostrophes
	flush := func(end int) {
		if start < 0 {
			return
		}
		w := text[start:end]
		start = -1
		if !plain {
			w = normalizeWord(w)
		}
		if w == "" {
			return
		}
		if c, _ := utf8.DecodeRuneInString(w); unicode.IsDigit(c) || numberWords[w] {
			w = "#num"
		}
		out = append(out, w)
	}
	for i, r := range text {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if start < 0 {
				start, plain = i, true
			}
			if plain && !unicode.IsLower(r) && !unicode.IsDigit(r) {
				plain = false
			}
		case (r == '\'' || r == '\u2019') && start >= 0:
			plain = false
		default:
			flush(i)
		}
	}
	flush(len(text))
	return out
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
	n := len(w)
	switch {
	case n > 5 && strings.HasSuffix(w, "ing"):
		return w[:n-3]
	case n > 4 && (strings.HasSuffix(w, "ies") || strings.HasSuffix(w, "ied")):
		return w[:n-3] + "y"
	case n > 4 && strings.HasSuffix(w, "ed"):
		return w[:n-2]
	case n > 3 && strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") && !strings.HasSuffix(w, "us"):
		return w[:n-1]
	}
	return w
}

// features returns the distinct features of text: stemmed content words and
// bigrams of neighbouring words once fillers are removed, and the number of
// content words (words that are neither fillers nor stopwords).
func features(text string) (feats []string, content int) {
	var seq []string
	for _, w := range words(text) {
		if fillers[w] {
			continue
		}
		seq = append(seq, w)
	}
	seen := make(map[string]bool, 2*len(seq))
	add := func(f string) {
		if !seen[f] {
			seen[f] = true
			feats = append(feats, f)
		}
	}
	for i, w := range seq {
		if !stopwords[w] {
			content++
			add(stem(w))
		}
		if i > 0 && !(stopwords[w] && stopwords[seq[i-1]]) {
			add(stem(seq[i-1]) + " " + stem(w))
		}
	}
	return feats, content
}
