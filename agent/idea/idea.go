// Package idea is the idea agent: it turns an idea memo into a project
// scaffold (a name, a description, a stack, features, a README and first
// issues) and writes it to a folder. Build is a pure function of its input;
// WriteProject is the only part that touches the disk.
package idea

import (
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/whispersync/whispersync/extract"
)

// Scaffold is the project an idea memo describes.
type Scaffold struct {
	Name string `json:"name"`
	// Slug is Name in kebab case, safe as a folder or repository name.
	Slug        string   `json:"slug"`
	Description string   `json:"description"`
	Stack       []string `json:"stack"`
	Features    []string `json:"features"`
	Readme      string   `json:"readme"`
	Issues      []Issue  `json:"issues"`
	// Date is the memo's calendar day, "2006-01-02".
	Date string `json:"date"`
}

// Issue is one first issue of the project.
type Issue struct {
	Title  string   `json:"title"`
	Body   string   `json:"body"`
	Labels []string `json:"labels"`
}

const (
	maxDescriptionChars = 160
	maxFeatureChars     = 90
	maxFeatures         = 8
	maxSlugChars        = 48
)

// Build returns the scaffold for an idea memo recorded at at.
func Build(text string, at time.Time) Scaffold {
	m := newMemo(text)
	s := Scaffold{
		Name:        projectName(m),
		Description: description(m),
		Stack:       detectStack(m),
		Features:    features(m),
		Date:        at.Format(time.DateOnly),
	}
	s.Slug = Slugify(s.Name)
	if s.Slug == "" {
		s.Slug = "idea-" + at.Format("20060102")
		s.Name = "Idea " + s.Date
	}
	if len(s.Features) == 0 && s.Description != "" {
		s.Features = []string{strings.TrimSuffix(s.Description, ".")}
	}
	s.Readme = readme(s)
	s.Issues = issues(s)
	return s
}

// memo is an idea memo prepared once for the steps of Build.
type memo struct {
	text string
	// lower is text in lowercase, of the same length, so that offsets found
	// in lower slice text. Patterns run on lower, without case folding,
	// which is several times faster.
	lower string
	words []string
	// lowered holds words in lowercase, and offsets their byte offsets.
	lowered []string
	offsets []int
	// lowercase contains strings.ToLower of each word. It shares the strings
	// of lowered unless lowercasing changed the length of a letter.
	lowercase []string
	// lowerWords contains the words of purposes that occur in the memo, in
	// lowercase.
	lowerWords map[string]bool
	// statement is the offset where the idea is stated, or -1.
	statement int
}

func newMemo(text string) *memo {
	lower := strings.ToLower(text)
	sameOffsets := keepsLengthInLowercase(text)
	if len(lower) != len(text) {
		// A few letters change length in lowercase; the offsets must agree.
		text = lower
	}
	m := &memo{text: text, lower: lower, lowerWords: map[string]bool{}}
	m.words, m.offsets = splitWordsAt(text)
	m.lowered = make([]string, len(m.words))
	for i, w := range m.words {
		m.lowered[i] = lower[m.offsets[i] : m.offsets[i]+len(w)]
		if purposeWords[m.lowered[i]] {
			m.lowerWords[m.lowered[i]] = true
		}
	}
	m.lowercase = m.lowered
	if !sameOffsets {
		m.lowercase = make([]string, len(m.words))
		for i, w := range m.words {
			m.lowercase[i] = strings.ToLower(w)
		}
	}
	m.statement = m.statementAt()
	return m
}

// keepsLengthInLowercase reports whether text is valid UTF-8 whose every
// letter keeps its length in lowercase, so that strings.ToLower of a slice
// of text is the same slice of strings.ToLower(text).
func keepsLengthInLowercase(text string) bool {
	for _, r := range text {
		if r >= utf8.RuneSelf && (r == utf8.RuneError || utf8.RuneLen(unicode.ToLower(r)) != utf8.RuneLen(r)) {
			return false
		}
	}
	return true
}

// splitWordsAt returns the words and clause punctuation of text in order,
// with the byte offset of each. A word is a run of letters and digits with
// inner apostrophes, hyphens and periods ("node.js", "don't").
func splitWordsAt(text string) ([]string, []int) {
	out := make([]string, 0, len(text)/4+1)
	offsets := make([]int, 0, len(text)/4+1)
	for i := 0; i < len(text); {
		r, size := decodeRune(text, i)
		switch {
		case r < utf8.RuneSelf && isClausePunct(byte(r)): // #nosec G115 -- r is ASCII, checked first
			out = append(out, text[i:i+size])
			offsets = append(offsets, i)
			i += size
		case isLetterOrDigit(r):
			start := i
			i += size
			for i < len(text) {
				// Most words are ASCII letters to the end.
				if c := text[i]; c < utf8.RuneSelf && asciiLetterOrDigit[c] {
					i++
					continue
				}
				r, size = decodeRune(text, i)
				if isLetterOrDigit(r) {
					i += size
					continue
				}
				if (r == '\'' || r == '’' || r == '.' || r == '-') && i+size < len(text) {
					next, _ := decodeRune(text, i+size)
					if isLetterOrDigit(next) {
						i += size
						continue
					}
				}
				break
			}
			out = append(out, text[start:i])
			offsets = append(offsets, start)
		default:
			i += size
		}
	}
	return out, offsets
}

// decodeRune decodes the rune at text[i:], with a shortcut for ASCII.
func decodeRune(text string, i int) (rune, int) {
	if c := text[i]; c < utf8.RuneSelf {
		return rune(c), 1
	}
	return utf8.DecodeRuneInString(text[i:])
}

func isLetterOrDigit(r rune) bool {
	if r < utf8.RuneSelf {
		return asciiLetterOrDigit[r]
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

// asciiLetterOrDigit marks the ASCII letters and digits.
var asciiLetterOrDigit = func() (table [utf8.RuneSelf]bool) {
	for c := range table {
		table[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
	}
	return table
}()

// fillers are skipped when reading a spoken name ("call it, um, Thirsty").
var fillers = set(`um umm uh uhh erm like maybe ,`)

// notNames follow "call it" without naming anything: "call it a day".
var notNames = set(`a an the that this it done quits something whatever even good`)

// projectName returns the name the speaker gave ("call it Flakebot"), or
// one made of the idea's topic and what the project does ("Recipe
// Scaler").
func projectName(m *memo) string {
	if name := spokenName(m.words, m.lowered); name != "" {
		return name
	}
	if name := productPhrase(m); name != "" {
		return name
	}
	return topicName(m)
}

// spokenName finds "call it X" or "name it X" and returns X title-cased.
func spokenName(words, lowered []string) string {
	for i := 0; i+2 < len(words); i++ {
		w := lowered[i]
		if (w != "call" && w != "name") || lowered[i+1] != "it" {
			continue
		}
		j := i + 2
		for j < len(words) && fillers[lowered[j]] {
			j++
		}
		first := j
		var parts []string
		for j < len(words) && len(parts) < 3 && isWord(words[j]) {
			parts = append(parts, words[j])
			j++
		}
		if len(parts) == 0 || notNames[lowered[first]] {
			continue
		}
		return titleCase(strings.Join(parts, " "))
	}
	return ""
}

func isWord(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

// productHeads are the kinds of product an idea is stated as: "a habit
// tracker", "an app where ...".
var productHeads = set(`tracker planner calculator library bot scheduler finder manager generator scaler limiter splitter dashboard widget marketplace directory journal timer counter organizer website app tool service extension`)

// maxProductModifiers is how many words may stand between the article and
// the product kind: "a neighborhood tool library website".
const maxProductModifiers = 3

// product is one "a|an [modifiers] head" phrase of the memo, by word index.
type product struct {
	article, head int
}

// products returns the product phrases of the memo in order, taking the
// longest phrase at each article.
func (m *memo) products() []product {
	var out []product
	for i, w := range m.lowered {
		if w != "a" && w != "an" {
			continue
		}
		head := -1
		for j := i + 1; j < len(m.lowered) && j <= i+1+maxProductModifiers; j++ {
			if !isWord(m.lowered[j]) {
				break
			}
			if productHeads[m.lowered[j]] {
				head = j
			}
		}
		if head > 0 {
			out = append(out, product{article: i, head: head})
		}
	}
	return out
}

// statementAt returns the byte offset where the idea is stated, or -1.
func (m *memo) statementAt() int {
	for _, p := range m.products() {
		// "an app store" names a place to install from, not the idea.
		if p.head+1 < len(m.lowered) && strings.HasPrefix(m.lowered[p.head+1], "store") {
			continue
		}
		// "for a tool, because I almost missed a deadline" gives a reason,
		// not the idea.
		next := p.head + 1
		if next < len(m.lowered) && m.lowered[next] == "," {
			next++
		}
		if next < len(m.lowered) && (m.lowered[next] == "because" || m.lowered[next] == "cause") {
			continue
		}
		return m.offsets[p.article]
	}
	return -1
}

// genericModifiers describe the product rather than its topic: "a little
// web app" does not tell what the app is for.
var genericModifiers = set(`little small simple tiny quick basic new neat cool real whole nice web mobile browser command line cli telegram slack discord chrome phone desktop online native kind sort like big good better single`)

// genericHeads are product kinds too vague to end a name when a topic
// already names the product ("Tool Library", not "Tool Library
// Website").
var genericHeads = set(`website app service tool`)

func productPhrase(memo *memo) string {
	for _, p := range memo.products() {
		if p.head == p.article+1 {
			continue
		}
		m := []string{"", strings.Join(memo.words[p.article+1:p.head], " "), memo.words[p.head]}
		var topic []string
		for _, w := range strings.Fields(m[1]) {
			if lw := strings.ToLower(w); !genericModifiers[lw] && !stackTerms[lw] {
				topic = append(topic, w)
			}
		}
		if len(topic) == 0 || len(topic) < len(strings.Fields(m[1])) {
			// "a little web app", "a Flutter app": generic modifiers or
			// technologies only, or mixed with them, which make poor
			// names.
			continue
		}
		head := strings.ToLower(m[2])
		if genericHeads[head] && len(topic) >= 2 {
			return titleCase(strings.Join(topic, " "))
		}
		if genericHeads[head] {
			if purpose := purposeHead(memo.lowerWords); purpose != "" {
				return titleCase(topic[0] + " " + purpose)
			}
		}
		return titleCase(strings.Join(topic, " ") + " " + head)
	}
	return ""
}

// purposes map evidence of what a project does to the word that ends its
// name, most specific first.
var purposes = []struct {
	head  string
	words []string
}{
	{"Scaler", []string{"scale", "scales", "scaling"}},
	{"Calculator", []string{"calculate", "calculates", "calculator", "compute", "computes"}},
	{"Tracker", []string{"track", "tracks", "tracker", "tracking"}},
	{"Swap", []string{"swap", "swaps", "trade"}},
	{"Splitter", []string{"split", "splits", "splitting"}},
	{"Limiter", []string{"limit", "caps", "cap"}},
	{"Search", []string{"search", "searches", "index", "indexes"}},
	{"Share", []string{"sharing", "borrow", "lend", "lending"}},
	{"Planner", []string{"plan", "planner", "planning", "chart", "charts", "layout", "schedule"}},
	{"Reminder", []string{"remind", "reminds", "reminder", "reminders", "nudge", "nudges"}},
	{"Bot", []string{"bot"}},
}

func purposeHead(terms map[string]bool) string {
	for _, p := range purposes {
		for _, w := range p.words {
			if terms[w] {
				return p.head
			}
		}
	}
	return ""
}

// topicStopwords never name a topic: speech, software generics and time.
var topicStopwords = set(`say says said type typed tell tells give gives keep keeps let put take takes see look looks call calls go goes get gets add adds show shows send sends pick picks idea ideas app apps tool tools thing things stuff version people way time times day days week weeks month year one two something everything anything lot kind want need maybe basically backend front end web server database phone phones data user users feature features list page button think make use build just also really actually pretty probably little small simple start work works every guess sure know project side weekend website service bot api apis mobile code free tier part hard whole problem someone somebody nobody everybody everyone sort okay right
telegram slack discord chrome firefox browser extension widget python go rust react svelte flask django fastapi postgres sqlite redis firebase supabase flutter swift node javascript typescript github mit pdf csv cli`)

// topicName builds a name from the most salient topic word, with the word
// before it when that reads as a compound ("seating chart"), and the
// purpose of the project: "Seating Chart Planner".
func topicName(m *memo) string {
	words, lowercase := m.words, m.lowercase
	keys := make([]string, len(words))
	for i, lower := range lowercase {
		keys[i] = topicKey(lower)
	}
	type score struct {
		key          string
		count, first int
		early        bool
		// purpose is the purpose word seen right after the topic word
		// ("charts" in "seating charts").
		purpose string
	}

	// scores lists the topic words in order of first use, and index finds
	// the score of each.
	var scores []score
	index := make(map[string]int, len(words)/4)
	sentence := 0
	for i, w := range words {
		if w == "." || w == "!" || w == "?" {
			sentence++
			continue
		}
		key := keys[i]
		if key == "" {
			continue
		}
		k, ok := index[key]
		if !ok {
			k = len(scores)
			index[key] = k
			scores = append(scores, score{key: key, first: i})
		}
		sc := &scores[k]
		sc.count++
		if sentence < 3 {
			sc.early = true
		}
		// "shift swaps", "sample tracker": the word before what the
		// project does names its topic.
		if i+1 < len(words) && purposeWords[lowercase[i+1]] {
			sc.count += 2
			sc.purpose = singular(lowercase[i+1])
		}
	}

	best := -1
	bestScore := 0
	for k, sc := range scores {
		value := sc.count
		if sc.early {
			value++
		}
		if value > bestScore {
			best, bestScore = k, value
		}
	}
	if best < 0 {
		return ""
	}
	topic := scores[best].key

	name := topic
	if modifier := compoundModifier(lowercase, keys, topic); modifier != "" {
		name = modifier + " " + topic
	}
	head := purposeHead(m.lowerWords)
	if head == "" {
		head = "App"
	}
	// "seating charts" with the head "Planner" names a "Seating Chart
	// Planner"; "shift swaps" with the head "Swap" a "Shift Swap".
	if p := scores[best].purpose; p != "" && !strings.HasPrefix(strings.ToLower(head), p) && !purposeHeadWords[p] {
		name += " " + p
	}
	return titleCase(name + " " + head)
}

// topicKey returns the singular form of a topic word, given in lowercase,
// or "" for a word that cannot be a topic.
func topicKey(lower string) string {
	if len(lower) < 3 || !isWord(lower) || nonTopicWords[lower] || extract.IsStopword(lower) {
		return ""
	}
	lower = singular(lower)
	if topicStopwords[lower] || strings.HasSuffix(lower, "ly") || strings.HasSuffix(lower, "ed") || strings.Contains(lower, "'") {
		return ""
	}
	return lower
}

// singular turns a plural noun into its singular: "groceries", "tabs",
// "boxes".
func singular(w string) string {
	switch {
	case len(w) <= 3 || strings.HasSuffix(w, "ss") || strings.HasSuffix(w, "us") || strings.HasSuffix(w, "is"):
		return w
	case strings.HasSuffix(w, "ies"):
		return strings.TrimSuffix(w, "ies") + "y"
	case strings.HasSuffix(w, "ches") || strings.HasSuffix(w, "shes") || strings.HasSuffix(w, "xes"):
		return strings.TrimSuffix(w, "es")
	case strings.HasSuffix(w, "s"):
		return strings.TrimSuffix(w, "s")
	}
	return w
}

// purposeHeadWords holds the lowercase heads of purposes.
var purposeHeadWords = func() map[string]bool {
	m := make(map[string]bool)
	for _, p := range purposes {
		m[strings.ToLower(p.head)] = true
	}
	return m
}()

// nonTopicWords contains topicStopwords and purposeWords, which topicKey looks
// up for every word.
var nonTopicWords = func() map[string]bool {
	m := maps.Clone(topicStopwords)
	maps.Copy(m, purposeWords)
	return m
}()

// purposeWords holds every word of purposes.
var purposeWords = func() map[string]bool {
	m := make(map[string]bool)
	for _, p := range purposes {
		for _, w := range p.words {
			m[w] = true
		}
	}
	return m
}()

// compoundModifier returns the word right before the topic when the two
// form a compound noun: a noun-like "-ing" word ("seating chart") or a word
// that is a topic of its own ("farm equipment"). It takes the words in
// lowercase.
func compoundModifier(lowercase, keys []string, topic string) string {
	for i := 1; i < len(lowercase); i++ {
		if keys[i] != topic {
			continue
		}
		prev := lowercase[i-1]
		if strings.HasSuffix(prev, "ing") && len(prev) > 5 && !topicStopwords[prev] && !verbalIng[prev] {
			return prev
		}
		if key := keys[i-1]; key != "" && key != topic && countOf(keys, key) >= 3 {
			return key
		}
	}
	return ""
}

// countOf returns the number of elements of list equal to s.
func countOf(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

// verbalIng are "-ing" words that act as verbs before a noun ("buying
// equipment"), not as part of a compound.
var verbalIng = set(`buying getting using making having doing going taking looking thinking trying starting running paying renting moving hauling sharing killing checking`)

// description returns the sentence that states the idea, from the product
// phrase on, cleaned; or the memo's first sentence.
func description(m *memo) string {
	if m.statement >= 0 {
		// A short statement ("An app for that.") takes the next sentence
		// along, cut to length.
		if d := extract.Summary(m.text[m.statement:], 2*maxDescriptionChars); d != "" {
			return extract.Truncate(d, maxDescriptionChars)
		}
	}
	return extract.Summary(m.text, maxDescriptionChars)
}

func titleCase(s string) string {
	fields := strings.Fields(s)
	for i, f := range fields {
		r, size := utf8.DecodeRuneInString(f)
		fields[i] = string(unicode.ToUpper(r)) + f[size:]
	}
	return strings.Join(fields, " ")
}

// slugUnsafe matches the runs of characters a slug replaces with "-".
var slugUnsafe = regexp.MustCompile(`[^a-z0-9]+`)

// Slugify returns name in kebab case, ASCII only, at most 48 bytes, cut at
// a hyphen: "Seating Chart Planner" becomes "seating-chart-planner".
func Slugify(name string) string {
	slug := strings.Trim(slugUnsafe.ReplaceAllString(extract.Fold(name), "-"), "-")
	if len(slug) > maxSlugChars {
		slug = slug[:maxSlugChars]
		if cut := strings.LastIndexByte(slug, '-'); cut > 0 {
			slug = slug[:cut]
		}
	}
	return slug
}

func set(list string) map[string]bool {
	m := make(map[string]bool)
	for _, w := range strings.Fields(list) {
		m[w] = true
	}
	return m
}

// readme renders the README of the scaffold.
func readme(s Scaffold) string {
	var b strings.Builder
	b.WriteString("# " + s.Name + "\n\n" + s.Description + "\n\n## Features\n\n")
	for _, f := range s.Features {
		b.WriteString("- " + f + "\n")
	}
	b.WriteString("\n## Stack\n\n")
	for _, st := range s.Stack {
		b.WriteString("- " + st + "\n")
	}
	b.WriteString("\n## Getting started\n\nTODO: describe how to install, configure and run the project once the skeleton exists.\n")
	return b.String()
}

// issues returns the first issues: the skeleton, then one per feature.
func issues(s Scaffold) []Issue {
	out := []Issue{{
		Title:  "Set up the project skeleton",
		Body:   "Create the repository layout for " + s.Name + ", with a build that runs and a first test.\n\nStack: " + strings.Join(s.Stack, ", ") + ".",
		Labels: []string{"setup"},
	}}
	for _, f := range s.Features {
		out = append(out, Issue{
			Title:  f,
			Body:   "Build this feature of " + s.Name + ": " + lowerFirst(f) + ".\n\nDone when it works end to end and has tests.",
			Labels: []string{"feature"},
		})
	}
	return out
}

func lowerFirst(s string) string {
	r, size := utf8.DecodeRuneInString(s)
	if size == len(s) || unicode.IsUpper(firstRuneAfter(s, size)) {
		// An acronym or a one-letter word keeps its case: "PDF export".
		return s
	}
	return string(unicode.ToLower(r)) + s[size:]
}

func firstRuneAfter(s string, at int) rune {
	r, _ := utf8.DecodeRuneInString(s[at:])
	return r
}

// containsFold reports whether list holds s, ignoring case.
func containsFold(list []string, s string) bool {
	return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, s) })
}
