package extract

import (
	"fmt"
	"strings"
	"time"
)

// stopwords are function words and speech noise that carry no search value.
const stopwords = `
a about above after again against all almost along already also although always am among an and another any anybody anyone anything anyway anywhere are aren't around as at away
be because been before being below between both but by can can't cannot could couldn't did didn't do does doesn't doing don't done down during each either else enough even ever every everybody everyone everything
few for from further get gets getting got gotten had hadn't has hasn't have haven't having he he'd he'll he's her here here's hers herself him himself his how however i i'd i'll i'm i've if in into is isn't it it'd it'll it's its itself just
kind kinda less let let's like likely lot lots made make makes many may maybe me might mine more most much must my myself neither never no nobody none nor not nothing now of off often oh okay ok on once one only onto or other others otherwise our ours ourselves out over own
per perhaps please pretty quite rather really right same she she'd she'll she's should shouldn't so some somebody someone something sometimes somewhat still such than that that's the their theirs them themselves then there there's these they they'd they'll they're they've thing things this those though through thus to too toward towards
under until up upon us very via was wasn't way we we'd we'll we're we've well were weren't what what's whatever when whenever where where's whether which while who who's whom whose why will with within without won't would wouldn't yeah yes yet you you'd you'll you're you've your yours yourself
um umm uh uhh uhm erm er hmm hm mm ah eh gonna wanna gotta sorta alright actually basically honestly literally totally probably definitely seriously guess mean know sort stuff
im ive id dont didnt doesnt isnt wasnt cant wont thats theres youre theyre
`

var stopwordSet = kindSet(kindStopword, stopwords)

// Terms returns the search terms of text: lowercase words without
// stopwords and fillers, stemmed so that "walks", "walked" and "walking"
// all give "walk", without repeats, in order of first use. A search query
// passed through Terms meets the terms of the memos it should find.
func Terms(text string) []string {
	return withTokens(text, func(toks []token) []string {
		return termsFrom(toks, newStems(toks))
	})
}

// stems contains the stems of tokens, each computed on first need,
// because terms need those of the words that are not stopwords and themes
// those of the words that are not names.
type stems struct {
	toks []token
	// of contains the stem of each token, or "" before it is computed.
	of []string
}

func newStems(toks []token) *stems {
	return &stems{toks: toks, of: make([]string, len(toks))}
}

// at returns the stem of token i.
func (s *stems) at(i int) string {
	if s.of[i] == "" {
		s.of[i] = stem(s.toks[i].lower)
	}
	return s.of[i]
}

func termsFrom(toks []token, stems *stems) []string {
	// Stopwords are more than half the words of the development
	// transcripts.
	seen := make(map[string]bool, len(toks)/2)
	var out []string
	for i := range toks {
		w := toks[i].lower
		if len(w) < 2 || toks[i].kind.has(kindStopword) || isNumber(w) {
			continue
		}
		s := stems.at(i)
		if len(s) < 2 || seen[s] {
			continue
		}
		seen[s] = true
		out = append(out, s)
	}
	return out
}

func isNumber(w string) bool {
	for i := 0; i < len(w); i++ {
		if w[i] < '0' || w[i] > '9' {
			return false
		}
	}
	return true
}

// stem strips common English inflections. It is deliberately light: it
// conflates "walk", "walks", "walked", "walking" and "make", "making",
// "made" is left alone. The stem is a search key, not a word: "make"
// becomes "mak", and "making" does too.
func stem(w string) string {
	// Two byte searches cost less than strings.ContainsAny on short words.
	if len(w) <= 3 || strings.IndexByte(w, '\'') >= 0 || strings.IndexByte(w, '-') >= 0 {
		return strings.TrimSuffix(w, "'")
	}
	// The last letter picks the endings to try, in the order of the rules.
	switch w[len(w)-1] {
	case 's':
		switch {
		case strings.HasSuffix(w, "ies") && len(w) > 4:
			w = w[:len(w)-3] + "y"
		case hasAnySuffix(w, "sses", "shes", "ches", "xes", "zes"):
			w = w[:len(w)-2]
		case !hasAnySuffix(w, "ss", "us", "is"):
			w = w[:len(w)-1]
		}
	case 'd':
		switch {
		case strings.HasSuffix(w, "ied") && len(w) > 4:
			w = w[:len(w)-3] + "y"
		case strings.HasSuffix(w, "ed") && len(w) > 4:
			w = undouble(w[:len(w)-2])
		}
	case 'g':
		if strings.HasSuffix(w, "ing") && len(w) > 5 {
			w = undouble(w[:len(w)-3])
		}
	case 'y':
		if strings.HasSuffix(w, "ly") && len(w) > 5 {
			w = w[:len(w)-2]
		}
	}
	if len(w) > 3 && strings.HasSuffix(w, "e") && !strings.HasSuffix(w, "ee") {
		w = w[:len(w)-1]
	}
	return w
}

// undouble turns "stopp" and "runn" back into "stop" and "run", but keeps
// "fall", "pass" and "buzz".
func undouble(w string) string {
	n := len(w)
	if n >= 3 && w[n-1] == w[n-2] && !strings.ContainsRune("lsz", rune(w[n-1])) && !strings.ContainsRune("aeiou", rune(w[n-1])) {
		return w[:n-1]
	}
	return w
}

func hasAnySuffix(w string, suffixes ...string) bool {
	for _, s := range suffixes {
		if strings.HasSuffix(w, s) {
			return true
		}
	}
	return false
}

// Week returns the ISO 8601 week of t as "2026-W49". The year is the ISO
// week-numbering year, which differs from the calendar year around New
// Year: 2027-01-01 is in "2026-W53".
func Week(t time.Time) string {
	year, week := t.ISOWeek()
	return fmt.Sprintf("%04d-W%02d", year, week)
}

// IsStopword reports whether word is a function word or a filler that
// Terms leaves out.
func IsStopword(word string) bool { return kindsOf(fold(word)).has(kindStopword) }
