package extract

import (
	"iter"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

var (
	taskVerbSet      = kindSet(kindTaskVerb, taskVerbs)
	particleSet      = kindSet(kindParticle, verbParticles)
	pronounObjectSet = kindSet(kindPronounObject, pronounObjects)
	fillerSet        = kindSet(kindFiller, fillerWords)
	softFillerSet    = kindSet(kindSoftFiller, softFillers)
	ordinalSet       = kindSet(kindOrdinal, ordinalWords)
	connectorSet     = kindSet(kindConnector, listConnectors)
	cutterSet        = kindSet(kindCutter, clauseCutters)
	subjectSet       = kindSet(kindSubject, subjectWords)
	colonHeaderSet   = kindSet(kindColonHeader, colonHeaderWords)
	numberWordSet    = kindSet(kindNumberWord, `one two three four five six seven eight nine ten eleven twelve fifteen twenty thirty forty fifty sixty hundred half`)
	// modalAdverbSet may sit between a subject and its modal: "I still
	// need to", "we really should".
	modalAdverbSet = kindSet(kindModalAdverb, `really still also just definitely probably actually totally then now seriously absolutely first honestly`)
	// reasonSet opens a clause that explains rather than commits: "because I
	// need to get this out of my head".
	reasonSet = kindSet(kindReason, `because cause 'cause since if when unless whether why how what`)
	// triggerStartSet contains every word that matchTrigger can match
	// first, so that other words skip it.
	triggerStartSet = kindSet(kindTriggerStart, `remember don't dont do make follow next note reminder i i'm we're`, modalStarts)
	// timePrepositionSet keeps a final "then" that names a time: "before
	// then".
	timePrepositionSet = kindSet(kindTimePreposition, `before by until till after since`)
)

// word is one word of a cleaned sentence.
type word struct {
	text  string
	lower string
	// kind is the set of word lists that contain lower.
	kind wordKind
	// comma marks a comma (or semicolon, dash, colon) before the word.
	comma bool
	colon bool
}

// plainWord returns a word for a lowercase verb that an item gains.
func plainWord(lower string) word {
	return word{text: lower, lower: lower, kind: kindsOf(lower)}
}

// ActionItems returns short imperative phrases for the tasks that text
// commits to: items of a spoken list ("action items: ...", "tomorrow: ...",
// "to do: ..."), and clauses after "I need to", "I have to", "I should",
// "I'm going to", "remember to", "don't forget to", "make sure to",
// "follow up with", "next step is" or "note to self". Fillers are removed,
// lists are split on commas and "and", and items carry no trailing
// punctuation. A memory or an idea, which commits to no task, yields none:
// items must open with a task verb and name what they act on.
func ActionItems(text string) []string {
	return withTokens(text, actionItemsFrom)
}

func actionItemsFrom(toks []token) []string {
	var items [][]word
	listMode := false
	previousHadItems := false
	// One buffer contains the words of every sentence, each sentence in its
	// own region as large as the sentence.
	buffer := getWordBuffer(len(toks))
	defer putWordBuffer(buffer)
	for sentence := range sentences(toks) {
		words := cleanSentence(sentence, buffer[:0:len(sentence)])
		buffer = buffer[len(sentence):]
		if len(words) == 0 {
			continue
		}
		var found [][]word
		rest, isHeader := cutHeader(words)
		switch {
		case isHeader:
			listMode = true
			found = listItems(rest, true)
		case listMode && itemLike(words):
			found = listItems(words, true)
			if len(found) == 0 {
				found = triggeredItems(words)
			}
		default:
			listMode = false
			found = triggeredItems(words)
			if len(found) == 0 && imperativeList(words, previousHadItems) {
				found = listItems(words, false)
			}
		}
		previousHadItems = len(found) > 0
		items = append(items, found...)
	}
	return renderItems(items)
}

// wordBuffers recycles the word buffers of actionItemsFrom, because no
// result refers to a buffer once the items are rendered.
var wordBuffers sync.Pool

// getWordBuffer returns a buffer of n words.
func getWordBuffer(n int) []word {
	if buffer, ok := wordBuffers.Get().(*[]word); ok && cap(*buffer) >= n {
		return (*buffer)[:n]
	}
	return make([]word, n)
}

func putWordBuffer(buffer []word) {
	wordBuffers.Put(&buffer)
}

// sentences yields the tokens of each sentence in turn.
func sentences(toks []token) iter.Seq[[]token] {
	return func(yield func([]token) bool) {
		start := 0
		for i := range toks {
			if toks[i].endsSentence {
				if !yield(toks[start : i+1]) {
					return
				}
				start = i + 1
			}
		}
		if start < len(toks) {
			yield(toks[start:])
		}
	}
}

// cleanSentence drops fillers and self-corrections and normalizes commas
// around conjunctions. It returns the words in words, an empty slice with
// room for toks.
func cleanSentence(toks []token, words []word) []word {
	for i := range toks {
		words = append(words, word{text: toks[i].text, lower: toks[i].lower, kind: toks[i].kind, comma: toks[i].commaBefore, colon: toks[i].colonBefore})
		if toks[i].possessive {
			words[len(words)-1].text += "'s"
		}
	}
	out := words[:0]
	carry := false
	for i := 0; i < len(words); i++ {
		w := words[i]
		w.comma = w.comma || carry
		carry = false
		if isFiller(words, i) {
			carry = w.comma
			continue
		}
		// "you know", "I mean", "I guess": two-word fillers.
		if i+1 < len(words) && twoWordFiller(w.lower, words[i+1].lower) && (w.comma || i == 0 || i+2 >= len(words) || words[i+2].comma) {
			carry = w.comma
			i++
			continue
		}
		// "by Thursday, no, Wednesday": keep the correction only.
		if w.lower == "no" && w.comma && i+1 < len(words) && words[i+1].comma && len(out) > 0 && !out[len(out)-1].comma {
			prev := out[len(out)-1]
			out = out[:len(out)-1]
			words[i+1].comma = prev.comma
			continue
		}
		out = append(out, w)
	}
	// "and, redo" reads "and redo": the conjunction owns the list comma.
	for i := 0; i+1 < len(out); i++ {
		if out[i].kind.has(kindConnector) && out[i+1].comma {
			out[i+1].comma = false
		}
	}
	if len(out) > 0 {
		out[0].comma = false
	}
	return out
}

func isFiller(words []word, i int) bool {
	w := words[i]
	if w.kind.has(kindFiller) {
		return true
	}
	if !w.kind.has(kindSoftFiller) {
		return false
	}
	nextComma := i+1 >= len(words) || words[i+1].comma
	if w.lower == "so" {
		// ", so I need to" joins two clauses; only an opening "so" is noise.
		return i == 0 || nextComma
	}
	atEdge := i == 0 || w.comma || nextComma
	if w.lower == "like" && i+1 < len(words) && words[i+1].kind.has(kindNumberWord) {
		return true
	}
	return atEdge
}

func twoWordFiller(a, b string) bool {
	switch a {
	case "you":
		return b == "know"
	case "i":
		return b == "mean" || b == "guess" || b == "think" || b == "suppose"
	}
	return false
}

// cutHeader recognizes a spoken list header at the start of a sentence
// ("action items", "so to do:", "decisions from the review:") and returns
// the words after it.
func cutHeader(words []word) ([]word, bool) {
	i := skipConnectors(words, 0)
	for _, phrase := range headerPhrases {
		if matchWords(words, i, phrase) {
			end := i + len(phrase)
			if end == len(words) || words[end].comma {
				return trimLeadingComma(words[end:]), true
			}
			// "action items for me: ...", "next steps for the team: ...".
			for k := end; k < len(words) && k <= end+4; k++ {
				if words[k].colon {
					return trimLeadingComma(words[k:]), true
				}
				if words[k].comma {
					break
				}
			}
		}
	}
	// "plan:", "main decisions:", "decisions from this morning's review:".
	for j := i; j < len(words) && j <= i+1; j++ {
		if !words[j].kind.has(kindColonHeader) {
			continue
		}
		for end := j + 1; end < len(words) && end <= j+6; end++ {
			if words[end].colon {
				return trimLeadingComma(words[end:]), true
			}
			if words[end].comma {
				break
			}
		}
	}
	return nil, false
}

func trimLeadingComma(words []word) []word {
	if len(words) > 0 {
		words[0].comma = false
	}
	return words
}

func matchWords(words []word, at int, phrase []string) bool {
	if at+len(phrase) > len(words) {
		return false
	}
	for k, p := range phrase {
		if words[at+k].lower != p {
			return false
		}
		if k > 0 && words[at+k].comma {
			return false
		}
	}
	return true
}

func skipConnectors(words []word, i int) int {
	for i < len(words) && words[i].kind.has(kindConnector|kindSoftFiller) {
		i++
	}
	return i
}

// itemLike reports whether a sentence after a list header continues the
// list: it opens with a task verb, a list number or a commitment.
func itemLike(words []word) bool {
	i := skipConnectors(words, 0)
	if i >= len(words) {
		return false
	}
	if words[i].kind.has(kindOrdinal) {
		return true
	}
	i = skipSubjectModal(words, i)
	return i < len(words) && words[i].kind.has(kindTaskVerb)
}

// skipSubjectModal skips "I need to", "we're going to", "I should",
// "let's" and the like at position i.
func skipSubjectModal(words []word, i int) int {
	if end, ok := matchModal(words, i, true); ok {
		return end
	}
	return i
}

// modalStarts are the words that matchModal can match first.
const modalStarts = `let's lets i we i'm im we're i'll we'll i've we've need have gotta`

// matchModal matches a first-person commitment at position i and returns
// the index after it. Without a subject, "need to" counts only at the start
// of a clause (atStart).
func matchModal(words []word, i int, atStart bool) (int, bool) {
	if i >= len(words) {
		return i, false
	}
	w := words[i].lower
	j := i + 1
	switch w {
	case "let's", "lets":
		return j, true
	case "i", "we":
		j = skipAdverbs(words, j)
		if j >= len(words) {
			return i, false
		}
		switch words[j].lower {
		case "need", "have", "got", "ought":
			if j+1 < len(words) && words[j+1].lower == "to" {
				return j + 2, true
			}
		case "gotta", "should", "must", "will":
			return skipTryTo(words, j+1), true
		case "am", "are":
			return goingTo(words, j+1)
		}
	case "i'm", "im", "we're":
		return goingTo(words, skipAdverbs(words, j))
	case "i'll", "we'll":
		return skipTryTo(words, skipAdverbs(words, j)), true
	case "i've", "we've":
		j = skipAdverbs(words, j)
		if j+1 < len(words) && words[j].lower == "got" && words[j+1].lower == "to" {
			return j + 2, true
		}
	case "need", "have", "gotta":
		if atStart && (w == "gotta" || (j < len(words) && words[j].lower == "to")) {
			if w == "gotta" {
				return j, true
			}
			return j + 1, true
		}
	}
	return i, false
}

func goingTo(words []word, j int) (int, bool) {
	j = skipAdverbs(words, j)
	if j < len(words) && words[j].lower == "gonna" {
		return skipTryTo(words, j+1), true
	}
	if j+1 < len(words) && words[j].lower == "going" && words[j+1].lower == "to" {
		return skipTryTo(words, j+2), true
	}
	return j, false
}

func skipAdverbs(words []word, j int) int {
	for j < len(words) && words[j].kind.has(kindModalAdverb) && !words[j].comma {
		j++
	}
	return j
}

// skipTryTo skips "try to" and adverbs after a modal: "I'm going to try to
// call Ray".
func skipTryTo(words []word, j int) int {
	j = skipAdverbs(words, j)
	if j+1 < len(words) && words[j].lower == "try" && words[j+1].lower == "to" {
		j = skipAdverbs(words, j+2)
	}
	return j
}

// triggeredItems finds the commitments inside a sentence. Each runs from
// its trigger to the next trigger or the end of the sentence.
func triggeredItems(words []word) [][]word {
	type trigger struct {
		start, body int
		// kind selects how the body becomes an item.
		kind triggerKind
	}
	var found []trigger
	clauseStart := skipConnectors(words, 0)
	for i := 0; i < len(words); i++ {
		if !words[i].kind.has(kindTriggerStart) {
			continue
		}
		atStart := i == clauseStart || words[i].comma
		if t, ok := matchTrigger(words, i, atStart); ok {
			if reasonBefore(words, i) || (i > 0 && words[i-1].lower == "that" && len(found) > 0) {
				continue
			}
			found = append(found, trigger{start: i, body: t.body, kind: t.kind})
			i = t.body - 1
		}
	}
	var items [][]word
	for k, t := range found {
		end := len(words)
		if k+1 < len(found) {
			end = found[k+1].start
		}
		body := words[t.body:end]
		switch t.kind {
		case triggerNote:
			if item := trimItem(body); len(item) >= 2 {
				items = append(items, item)
			}
		case triggerOwe:
			if len(body) > 0 {
				verb := plainWord("send")
				if words[t.start+1].lower != "owe" {
					verb = plainWord("own")
				}
				items = append(items, listItems(append([]word{verb}, body...), false)...)
			}
		case triggerFollow:
			items = append(items, listItems(words[t.start:end], false)...)
		case triggerReschedule:
			if reschedulesToDate(body) {
				base := progressiveTaskVerbs[words[t.body-1].lower]
				item := append([]word{plainWord(base)}, body...)
				items = append(items, listItems(item, false)...)
			}
		default:
			items = append(items, listItems(body, false)...)
		}
	}
	return items
}

type triggerKind uint8

const (
	triggerModal triggerKind = iota
	triggerNote
	triggerOwe
	triggerFollow
	triggerReschedule
)

type triggerMatch struct {
	body int
	kind triggerKind
}

func matchTrigger(words []word, i int, atStart bool) (triggerMatch, bool) {
	w := words[i].lower
	next := func(k int) string {
		if i+k < len(words) && !words[i+k].comma {
			return words[i+k].lower
		}
		return ""
	}
	switch {
	case w == "remember" && next(1) == "to":
		return triggerMatch{body: i + 2}, true
	case (w == "don't" || w == "dont") && next(1) == "forget" && next(2) == "to":
		return triggerMatch{body: i + 3}, true
	case w == "do" && next(1) == "not" && next(2) == "forget" && next(3) == "to":
		return triggerMatch{body: i + 4}, true
	case w == "make" && next(1) == "sure" && (next(2) == "to" || next(2) == "we" || next(2) == "i"):
		if next(2) == "to" {
			return triggerMatch{body: i + 3}, true
		}
		if end, ok := matchModal(words, i+2, true); ok && end > i+3 {
			return triggerMatch{body: end}, true
		}
		return triggerMatch{body: i + 3}, true
	case w == "follow" && next(1) == "up" && (next(2) == "with" || next(2) == "on"):
		return triggerMatch{body: i + 3, kind: triggerFollow}, true
	case w == "next" && (next(1) == "step" || next(1) == "steps") && (next(2) == "is" || next(2) == "are"):
		body := i + 3
		if next(3) == "to" {
			body++
		}
		return triggerMatch{body: body}, true
	case w == "note" && next(1) == "to" && next(2) == "self":
		return triggerMatch{body: i + 3, kind: triggerNote}, true
	case w == "reminder" && next(1) == "to":
		return triggerMatch{body: i + 2}, true
	case w == "i" && next(1) == "owe" && next(2) != "" && !pronounObjectSet[next(2)] && next(2) != "you":
		return triggerMatch{body: i + 2, kind: triggerOwe}, true
	case w == "i'm" && next(1) == "owning":
		return triggerMatch{body: i + 2, kind: triggerOwe}, true
	case (w == "i'm" || w == "we're") && progressiveTaskVerbs[next(1)] != "":
		return triggerMatch{body: i + 2, kind: triggerReschedule}, true
	}
	if end, ok := matchModal(words, i, atStart); ok {
		return triggerMatch{body: end}, true
	}
	return triggerMatch{}, false
}

// reasonBefore reports whether the words just before position i open a
// reason or condition ("because I need to"), which explains rather than
// commits.
func reasonBefore(words []word, i int) bool {
	for k := i - 1; k >= 0 && k >= i-2; k-- {
		if words[k].kind.has(kindReason) {
			return true
		}
		if words[k+1].comma {
			return false
		}
	}
	return false
}

// reschedulesToDate reports whether "I'm pushing X" names the new time:
// "the lab to Monday".
func reschedulesToDate(body []word) bool {
	for k := 0; k+1 < len(body) && k < 12; k++ {
		if (body[k].lower == "to" || body[k].lower == "until") && (body[k+1].kind.has(kindCalendar) || body[k+1].lower == "tomorrow" || body[k+1].lower == "next") {
			return true
		}
	}
	return false
}

// imperativeList reports whether a sentence without a trigger is still a
// list of tasks: it opens with a task verb and either lists two or more
// verb-led clauses or continues the items of the sentence before ("And
// ping Marcus about the certs.").
func imperativeList(words []word, continues bool) bool {
	i := skipConnectors(words, 0)
	if i >= len(words) || !words[i].kind.has(kindTaskVerb) || pronounObject(words[i:]) {
		return false
	}
	if continues && i > 0 {
		return true
	}
	verbLed := 0
	for k := i; k < len(words); k++ {
		// A clause of connectors only ("sort it, and") ends the list.
		next := skipConnectors(words, k)
		if k > i && words[k].comma && next >= len(words) {
			break
		}
		if k == i || (words[k].comma && words[next].kind.has(kindTaskVerb)) {
			verbLed++
		}
	}
	return verbLed >= 2
}

// listItems splits a run of words into items on list commas, and on "and"
// before a task verb when there are no list commas. A segment joins the
// item before it when it opens without a task verb, is a two-word
// fragment, or refers back with "it" ("draft the letter, get it to Gail").
// Inside a spoken list (inList), a numbered segment opens an item even
// without a verb.
func listItems(words []word, inList bool) [][]word {
	segments := splitSegments(words)
	if len(segments) == 1 {
		segments = splitOnAnd(segments[0])
	}
	var items [][]word
	var current []word
	flush := func() {
		if item := trimItem(current); validItem(item) {
			items = append(items, item)
		}
		current = nil
	}
	for _, seg := range segments {
		seg, numbered := stripSegmentStart(seg)
		if len(seg) == 0 {
			continue
		}
		if cut := cutClause(seg); cut < len(seg) {
			seg = seg[:cut]
			opens := opensItem(seg, numbered, inList) && (current == nil || len(seg) >= 3 || numbered)
			if opens {
				flush()
			}
			if opens || current != nil {
				current = appendSegment(current, seg)
			}
			// What follows the cut is a reason or an aside, not more items.
			break
		}
		switch {
		case startsAside(seg) && current != nil:
			flush()
		case opensItem(seg, numbered, inList) && (current == nil || (len(seg) >= 3 && !refersBack(seg)) || numbered):
			flush()
			current = appendSegment(current, seg)
		case current != nil:
			current = appendSegment(current, seg)
		}
	}
	flush()
	return items
}

func appendSegment(current, seg []word) []word {
	if len(current) > 0 {
		seg[0].comma = true
	}
	return append(current, seg...)
}

func splitSegments(words []word) [][]word {
	var segments [][]word
	start := 0
	for k := 1; k < len(words); k++ {
		if words[k].comma {
			segments = append(segments, words[start:k])
			start = k
		}
	}
	return append(segments, words[start:])
}

// splitOnAnd splits "put blocks on my calendar and batch the calls" into
// two segments, but not "call Ray and see if he has one": the verb after
// "and" must be a task verb and open at least three words.
func splitOnAnd(seg []word) [][]word {
	var out [][]word
	start := 0
	for k := 1; k+3 <= len(seg); k++ {
		if seg[k].lower == "and" && seg[k+1].kind.has(kindTaskVerb) && !pronounObject(seg[k+1:]) && k-start >= 3 {
			out = append(out, seg[start:k])
			start = k
		}
	}
	return append(out, seg[start:])
}

// stripSegmentStart drops connectors, list numbers and commitment phrases
// at the start of a segment and reports whether it was numbered.
func stripSegmentStart(seg []word) ([]word, bool) {
	numbered := false
	for len(seg) > 0 {
		switch kind := seg[0].kind; {
		case kind.has(kindConnector | kindSoftFiller):
			seg = seg[1:]
		case kind.has(kindOrdinal) && !numbered && (len(seg) == 1 || seg[1].comma || seg[1].kind.has(kindTaskVerb)):
			numbered = true
			seg = seg[1:]
		default:
			end, ok := matchModal(seg, 0, true)
			if !ok || end == 0 {
				return seg, numbered
			}
			seg = seg[end:]
		}
		if len(seg) > 0 {
			seg[0].comma = false
		}
	}
	return seg, numbered
}

func opensItem(seg []word, numbered, inList bool) bool {
	if numbered && inList {
		return true
	}
	return seg[0].kind.has(kindTaskVerb) || progressiveTaskVerbs[seg[0].lower] != ""
}

// refersBack reports whether a verb-led segment continues the item before
// it: "get it to Gail", "make sure risk management got it".
func refersBack(seg []word) bool {
	if len(seg) > 1 && (seg[1].lower == "it" || seg[1].lower == "them") {
		return true
	}
	return seg[0].lower == "make" && len(seg) > 1 && seg[1].lower == "sure"
}

// startsAside reports whether a segment opens a new clause with its own
// subject: "Priya asked for Wednesday", "I think".
func startsAside(seg []word) bool {
	if seg[0].kind.has(kindSubject) {
		return true
	}
	if len(seg) > 1 && unicode.IsUpper(firstRune(seg[0].text)) && seg[1].kind.has(kindPersonVerb) {
		return true
	}
	return false
}

func firstRune(s string) rune {
	r, _ := utf8.DecodeRuneInString(s)
	return r
}

// cutClause returns the index where a reason or aside starts inside a
// segment ("so Jesse knows", "because the portal locks").
func cutClause(seg []word) int {
	for k := 1; k < len(seg); k++ {
		if seg[k].kind.has(kindCutter) {
			return k
		}
	}
	return len(seg)
}

// trimItem drops connectors and fillers at both ends.
func trimItem(item []word) []word {
	for len(item) > 0 && item[0].kind.has(kindConnector|kindSoftFiller) {
		item = item[1:]
	}
	for len(item) > 0 {
		last := item[len(item)-1]
		w := last.lower
		if w == "then" && len(item) > 1 && item[len(item)-2].kind.has(kindTimePreposition) {
			break
		}
		if !last.kind.has(kindConnector|kindSoftFiller) && w != "that" && w != "to" && w != "now" {
			break
		}
		item = item[:len(item)-1]
	}
	return item
}

// validItem rejects fragments and items without a referent.
func validItem(item []word) bool {
	if len(item) < 2 {
		return false
	}
	if item[0].kind.has(kindTaskVerb) && pronounObject(item) {
		return false
	}
	return true
}

// pronounObject reports whether the object of the verb at item[0] is a bare
// pronoun: "fix that", "send this to Tamsin", "ask him".
func pronounObject(item []word) bool {
	k := 1
	for k < len(item) && item[k].kind.has(kindParticle) {
		k++
	}
	if k >= len(item) {
		return k == 1
	}
	// "ask IT again": an all-caps word is an acronym, not a pronoun.
	if len(item[k].text) > 1 && item[k].text == strings.ToUpper(item[k].text) {
		return false
	}
	return item[k].kind.has(kindPronounObject)
}

// maxItemWords caps an item; longer ones run into the next thought.
const maxItemWords = 25

// renderItems turns word runs into phrases, dropping items whose content
// words repeat another item's (the longer one stays, in the first one's
// place).
func renderItems(items [][]word) []string {
	type rendered struct {
		text  string
		terms map[string]bool
	}
	var out []rendered
	for _, item := range items {
		if len(item) > maxItemWords {
			item = trimItem(item[:maxItemWords])
		}
		text := renderItem(item)
		terms := itemTerms(item)
		if len(terms) == 0 {
			continue
		}
		duplicate := false
		for k := range out {
			switch {
			case subset(terms, out[k].terms):
				duplicate = true
			case subset(out[k].terms, terms):
				out[k] = rendered{text: text, terms: terms}
				duplicate = true
			}
			if duplicate {
				break
			}
		}
		if !duplicate {
			out = append(out, rendered{text: text, terms: terms})
		}
	}
	texts := make([]string, len(out))
	for k := range out {
		texts[k] = out[k].text
	}
	return texts
}

func renderItem(item []word) string {
	var b strings.Builder
	for k, w := range item {
		if k > 0 {
			if w.comma {
				b.WriteString(", ")
			} else {
				b.WriteByte(' ')
			}
		}
		text := w.text
		if k == 0 && w.text != strings.ToUpper(w.text) && (w.kind.has(kindTaskVerb) || !unicode.IsUpper(firstRune(w.text)) || !w.kind.has(kindGiven)) {
			text = w.lower
			if w.lower != strings.ToLower(w.text) {
				text = strings.ToLower(w.text)
			}
		}
		b.WriteString(text)
	}
	return b.String()
}

func itemTerms(item []word) map[string]bool {
	terms := make(map[string]bool, len(item))
	for _, w := range item {
		if w.kind.has(kindStopword | kindFiller) {
			continue
		}
		terms[stem(w.lower)] = true
	}
	return terms
}

func subset(a, b map[string]bool) bool {
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}
