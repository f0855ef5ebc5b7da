package idea

import (
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/whispersync/whispersync/extract"
)

// featureListPattern reads a spoken feature list header at the start of
// its input: "features: ...", "features for version one: ...", "version
// one: ...", "v1, ...", "the pieces are, ...". Group 1 is the comma or
// colon after a version header.
var featureListPattern = regexp.MustCompile(`^(?:(?:features?(?:\s+for\s+(?:version\s+one|v1|the\s+mvp))?|(?:pieces|parts|components)\s+(?:are|is))\s*[:,]|(?:version\s+one|v1|mvp)\s*(:|,))\s*`)

// featureListWords are the words a feature list header starts with.
var featureListWords = []string{"feature", "version one", "v1", "mvp", "pieces", "parts", "components"}

// featureListHeaders returns, for each feature list header in lower, the
// offset after it and whether it is a version header followed by a comma.
func featureListHeaders(lower string) (ends []int, versionComma []bool) {
	type header struct {
		end   int
		comma bool
	}
	var found []header
	for _, w := range featureListWords {
		for from := 0; ; {
			i := strings.Index(lower[from:], w)
			if i < 0 {
				break
			}
			i += from
			from = i + len(w)
			if i > 0 && isWordByte(lower[i-1]) {
				continue
			}
			loc := featureListPattern.FindStringSubmatchIndex(lower[i:])
			if loc == nil {
				continue
			}
			found = append(found, header{end: i + loc[1], comma: loc[2] >= 0 && lower[i+loc[2]] == ','})
		}
	}
	slices.SortFunc(found, func(a, b header) int { return a.end - b.end })
	for _, h := range found {
		ends = append(ends, h.end)
		versionComma = append(versionComma, h.comma)
	}
	return ends, versionComma
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c >= 0x80
}

// mayHoldFuture looks for the literal words of futureMarkerAt, so that
// most memos skip the scan.
func mayHoldFuture(lower string) bool {
	return strings.Contains(lower, "later") || strings.Contains(lower, "stretch goal") || strings.Contains(lower, "someday") || strings.Contains(lower, "eventually")
}

// dropCommaFillers removes the fillers that findCommaFillers finds from
// text and its lowercase form alike, keeping their offsets in step.
func dropCommaFillers(text, lower string) (string, string) {
	fillers := findCommaFillers(lower)
	if fillers == nil {
		return text, lower
	}
	var t, l strings.Builder
	last := 0
	for _, filler := range fillers {
		t.WriteString(text[last:filler.start])
		l.WriteString(lower[last:filler.start])
		t.WriteByte(',')
		l.WriteByte(',')
		last = filler.end
	}
	t.WriteString(text[last:])
	l.WriteString(lower[last:])
	return t.String(), l.String()
}

// notFeatureVerbs open clauses that describe the speaker's situation, not
// the product ("you know", "it was"), and the prepositions that
// findProductVerbs takes for a verb in "-s" ("it as a web app").
var notFeatureVerbs = set(`know see mean think was were is are be been have had has get got go went need want would could like guess probably still try tried just really also says does was has is as in on at with for of by from into using via than`)

// features returns the features of the idea: a spoken feature list when
// there is one, otherwise the clauses saying what the user or the product
// does.
func features(memo *memo) []string {
	text, lower := memo.text, memo.lower
	start := 0
	if at := memo.statement; at > 0 {
		// What comes before the idea describes the problem.
		start = at
	}
	end := len(lower)
	if mayHoldFuture(lower) {
		if at := futureMarkerAt(lower[start:]); at >= 0 {
			end = start + at
		}
	}
	text, lower = text[start:end], lower[start:end]
	if list := spokenList(text, lower); len(list) > 0 {
		return list
	}

	text, lower = dropCommaFillers(text, lower)
	clauses := append(findClauses(lower), findProductVerbs(lower)...)
	slices.SortFunc(clauses, func(a, b span) int { return a.start - b.start })
	var out []string
	for _, m := range clauses {
		clause := text[m.start:m.end]
		// "paste a recipe and it scales it": the product's part is a
		// clause of its own, found by findProductVerbs.
		if at := productTurnAt(lower[m.start:m.end]); at >= 0 {
			clause = clause[:at]
		}
		verb, _, _ := strings.Cut(strings.ToLower(clause), " ")
		if notFeatureVerbs[verb] || len(strings.Fields(clause)) < 3 {
			continue
		}
		// "mark which rehearsals they can make" loses its aside; a verb
		// left alone says too little.
		if at := featureCutAt(clause); at >= 0 && len(strings.Fields(clause[:at])) < 2 {
			continue
		}
		out, _ = addFeature(out, clause)
		if len(out) == maxFeatures {
			break
		}
	}

	if len(out) == 0 {
		// "a habit tracker that's a home screen widget, one tap per habit,
		// no app to open, syncs with iCloud": the statement lists them.
		out = statementParts(text)
	}
	return out
}

// statementParts splits the first sentence of text on commas when it lists
// at least three parts.
func statementParts(text string) []string {
	if end := strings.IndexAny(text, ".!?\n"); end >= 0 {
		text = text[:end]
	}
	parts := strings.Split(text, ",")
	if len(parts) < 3 || !shortParts(parts[1:]) {
		return nil
	}
	var out []string
	for _, p := range parts[1:] {
		out, _ = addFeature(out, p)
	}
	return out
}

// spokenList splits the first feature list of text on commas and "and".
func spokenList(text, lower string) []string {
	ends, versionCommas := featureListHeaders(lower)
	for k, headerEnd := range ends {
		rest := text[headerEnd:]
		end := strings.IndexAny(rest, ".!?\n")
		if end < 0 {
			end = len(rest)
		}
		list := rest[:end]
		// "version one, everything in the browser, ..." is a remark about
		// the first version. Only "version one:" opens a list there, or a
		// short remark with the list in the next sentence.
		if versionCommas[k] && strings.Contains(list, ",") {
			continue
		}
		if !strings.Contains(list, ",") && end < len(rest) {
			// "Version one, let's keep it small. Listings, requests, ...":
			// the list is the next sentence.
			next := strings.TrimLeft(rest[end:], ".!? \n")
			if e := strings.IndexAny(next, ".!?\n"); e >= 0 {
				next = next[:e]
			}
			list = next
		}
		parts := strings.Split(list, ",")
		if len(parts) < 2 || !shortParts(parts) {
			continue
		}
		var out []string
		for _, part := range parts {
			part = strings.TrimSpace(part)
			if featureCutAt(part) == 0 {
				// "which is the hard part": an aside between two parts.
				continue
			}
			var cut bool
			out, cut = addFeature(out, part)
			if cut || len(out) == maxFeatures {
				break
			}
		}
		if len(out) > 0 {
			return out
		}
	}
	return nil
}

// maxListPartWords bounds the mean length of the parts of a feature list;
// longer parts are sentences about something else.
const maxListPartWords = 8

func shortParts(parts []string) bool {
	words := 0
	for _, p := range parts {
		words += len(strings.Fields(p))
	}
	return words <= maxListPartWords*len(parts)
}

// featureNoise are words that carry nothing in a feature bullet.
var featureNoise = set(`um uh like basically just maybe really honestly actually`)

// hasContentWord reports whether any of words is more than a function word
// or a filler.
func hasContentWord(words []string) bool {
	for _, w := range words {
		w = strings.Trim(w, ",;:.!?-")
		if len(w) > 1 && !extract.IsStopword(w) {
			return true
		}
	}
	return false
}

// addFeature cleans one feature and appends it unless it repeats one.
// It reports whether a reason or aside cut the feature short, after which
// a list holds no more features.
func addFeature(out []string, raw string) ([]string, bool) {
	cut := false
	if at := featureCutAt(raw); at >= 0 {
		raw, cut = raw[:at], true
	}
	var kept []string
	for _, w := range strings.Fields(raw) {
		if !featureNoise[strings.ToLower(w)] {
			kept = append(kept, w)
		}
	}
	for len(kept) > 0 && (strings.EqualFold(kept[0], "and") || strings.EqualFold(kept[0], "a") || strings.EqualFold(kept[0], "the") || strings.EqualFold(kept[0], "then")) {
		kept = kept[1:]
	}
	f := strings.Trim(strings.Join(kept, " "), " ,;:-")
	if !hasContentWord(kept) {
		return out, cut
	}
	if len(f) > maxFeatureChars {
		f = f[:strings.LastIndexByte(f[:maxFeatureChars], ' ')]
	}
	r, size := utf8.DecodeRuneInString(f)
	f = string(unicode.ToUpper(r)) + f[size:]
	if containsFold(out, f) || repeatsFeature(out, f) || isStackClause(f) {
		return out, cut
	}
	return append(out, f), cut
}

// minSharedWords is how many content words two features must share before
// their overlap can make them one; a single shared word ("scan in", "scan
// out") does not.
const minSharedWords = 2

// repeatsFeature reports whether f says what a feature of out already says:
// they share at least two content words, and at least two thirds of the
// shorter one's ("Paste a recipe and it scales it to any number of people"
// and "Scales it to any number of people").
func repeatsFeature(out []string, f string) bool {
	if len(out) == 0 {
		return false
	}
	words := contentWords(f)
	for _, o := range out {
		other := contentWords(o)
		shared := 0
		for _, w := range words {
			if slices.Contains(other, w) {
				shared++
			}
		}
		if shared >= minSharedWords && 3*shared >= 2*min(len(words), len(other)) {
			return true
		}
	}
	return false
}

// contentWords returns the singular lowercase words of s that are neither
// function words nor fillers, without repeats.
func contentWords(s string) []string {
	var out []string
	for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\''
	}) {
		if len(w) > 1 && !featureNoise[w] && !extract.IsStopword(w) && !slices.Contains(out, singular(w)) {
			out = append(out, singular(w))
		}
	}
	return out
}
