package idea

import (
	"slices"
	"strings"
)

// stackRule adds label to the stack when the memo mentions one of its
// phrases.
type stackRule struct {
	label string
	// platform marks a deployment target, as opposed to a language, a
	// framework or a store; a scaffold without one gets defaultPlatform.
	platform bool
	// phrases are lowercase word sequences of one to three words.
	phrases []string
	// exact are phrases matched with their case: "Go" the language is not
	// "go" the verb.
	exact []string
	// together are words that all must appear, anywhere in the memo.
	together [][]string
}

// stackRules are checked in order; the stack lists labels in that order.
var stackRules = []stackRule{
	{label: "Progressive web app", platform: true, phrases: []string{"progressive web app"}, exact: []string{"PWA"}},
	{label: "Browser extension", platform: true, phrases: []string{"browser extension", "chrome extension", "firefox extension"},
		together: [][]string{{"extension", "chrome"}, {"extension", "firefox"}}},
	{label: "Web app", platform: true, phrases: []string{"web app", "webapp", "website", "web interface", "web front", "web page", "front end", "frontend", "in the browser", "server rendered", "server-rendered"}},
	{label: "iOS", platform: true, phrases: []string{"ios", "iphone", "ipad", "icloud", "swift", "swiftui", "home screen widget", "both phones"}},
	{label: "Android", platform: true, phrases: []string{"android", "both phones"}},
	{label: "Mobile", platform: true, phrases: []string{"mobile", "phone app", "app store", "work on a phone"}},
	{label: "CLI", platform: true, phrases: []string{"command line", "command-line", "terminal"}, exact: []string{"CLI"}},
	{label: "Raspberry Pi", platform: true, phrases: []string{"raspberry pi"}},
	{label: "Arduino", platform: true, phrases: []string{"arduino", "esp32"}},
	{label: "Telegram bot", platform: true, phrases: []string{"telegram bot"}},
	{label: "Slack bot", platform: true, phrases: []string{"slack bot"}},
	{label: "Discord bot", platform: true, phrases: []string{"discord bot"}},
	{label: "Python", phrases: []string{"python", "django", "flask", "fastapi"}},
	{label: "Go", phrases: []string{"golang"}, exact: []string{"in Go", "Go backend", "Go service", "Go server", "Go binary", "Go program"}},
	{label: "Rust", phrases: []string{"rust"}},
	{label: "JavaScript", phrases: []string{"javascript", "node", "node.js", "nodejs"}},
	{label: "TypeScript", phrases: []string{"typescript"}},
	{label: "Kotlin", phrases: []string{"kotlin"}},
	{label: "React Native", phrases: []string{"react native"}},
	{label: "React", phrases: []string{"react"}},
	{label: "Svelte", phrases: []string{"svelte", "sveltekit"}},
	{label: "Vue", phrases: []string{"vue"}},
	{label: "Flutter", phrases: []string{"flutter"}},
	{label: "Django", phrases: []string{"django"}},
	{label: "Flask", phrases: []string{"flask"}},
	{label: "FastAPI", phrases: []string{"fastapi"}},
	{label: "Rails", phrases: []string{"rails"}},
	{label: "PostgreSQL", phrases: []string{"postgres", "postgresql"}},
	{label: "PostGIS", phrases: []string{"postgis"}},
	{label: "SQLite", phrases: []string{"sqlite"}},
	{label: "MySQL", phrases: []string{"mysql"}},
	{label: "Redis", phrases: []string{"redis"}},
	{label: "Firebase", phrases: []string{"firebase"}},
	{label: "Supabase", phrases: []string{"supabase"}},
	{label: "Mapbox", phrases: []string{"mapbox"}},
	{label: "Whisper", exact: []string{"Whisper"}},
}

// phraseStarts holds the first words of the rules' multi-word phrases; only
// sequences starting with one are worth building.
var phraseStarts = func() map[string]bool {
	m := make(map[string]bool)
	for _, r := range stackRules {
		for _, p := range append(slices.Clone(r.phrases), r.exact...) {
			if first, _, ok := strings.Cut(p, " "); ok {
				m[first] = true
			} else if p != strings.ToLower(p) {
				m[p] = true
			}
		}
	}
	return m
}()

// stackTerms holds the one-word phrases of the rules: "flutter",
// "postgres".
var stackTerms = func() map[string]bool {
	m := make(map[string]bool)
	for _, r := range stackRules {
		for _, p := range r.phrases {
			if !strings.Contains(p, " ") {
				m[p] = true
			}
		}
	}
	return m
}()

// maxPhraseWords is the number of words of the longest phrase a rule can
// match. A longer phrase never matches.
const maxPhraseWords = 3

// rulePhrase is a phrase of a stack rule, split into words.
type rulePhrase struct {
	rule  int
	words []string
}

// stackCue is the set of stack phrases that a word can start, and whether
// the word is in a together list.
type stackCue struct {
	// lower are the phrases the word starts in lowercase, and exact those
	// it starts as spoken.
	lower, exact []rulePhrase
	// together marks a word of a together list.
	together bool
}

// stackCues maps the first word of each phrase of the rules, lowercase or
// as spoken, and each word of the together lists, to its cue.
var stackCues = func() map[string]*stackCue {
	m := make(map[string]*stackCue)
	cue := func(w string) *stackCue {
		if m[w] == nil {
			m[w] = &stackCue{}
		}
		return m[w]
	}
	for i, r := range stackRules {
		for _, p := range r.phrases {
			words := strings.Fields(p)
			if len(words) <= maxPhraseWords {
				c := cue(words[0])
				c.lower = append(c.lower, rulePhrase{rule: i, words: words})
			}
		}
		for _, p := range r.exact {
			words := strings.Fields(p)
			// A one-word phrase as spoken counts only as a phrase start.
			if len(words) <= maxPhraseWords && (len(words) > 1 || phraseStarts[p]) {
				c := cue(words[0])
				c.exact = append(c.exact, rulePhrase{rule: i, words: words})
			}
		}
		for _, all := range r.together {
			for _, w := range all {
				cue(w).together = true
			}
		}
	}
	return m
}()

// at reports whether words contain the phrase at index i. Clause punctuation
// ends a phrase.
func (p *rulePhrase) at(words []string, i int) bool {
	if i+len(p.words) > len(words) || words[i] != p.words[0] {
		return false
	}
	for k := 1; k < len(p.words); k++ {
		if !isWord(words[i+k]) || words[i+k] != p.words[k] {
			return false
		}
	}
	return true
}

// matchedRules reports for each stack rule whether a memo, given by its
// words as spoken and in lowercase, mentions it.
func matchedRules(words, lowered []string) []bool {
	matched := make([]bool, len(stackRules))
	present := make(map[string]bool)
	for i := range words {
		if cue := stackCues[lowered[i]]; cue != nil {
			for _, p := range cue.lower {
				if !matched[p.rule] && p.at(lowered, i) {
					matched[p.rule] = true
				}
			}
			// A phrase as spoken that starts in lowercase: "in Go".
			for _, p := range cue.exact {
				if !matched[p.rule] && p.at(words, i) {
					matched[p.rule] = true
				}
			}
			if cue.together {
				present[lowered[i]] = true
			}
		}
		// A word with capitals may start a phrase as spoken: "PWA".
		if words[i] != lowered[i] {
			if cue := stackCues[words[i]]; cue != nil {
				for _, p := range cue.exact {
					if !matched[p.rule] && p.at(words, i) {
						matched[p.rule] = true
					}
				}
			}
		}
	}
	for i, r := range stackRules {
		for _, all := range r.together {
			found := true
			for _, w := range all {
				found = found && present[w]
			}
			if found {
				matched[i] = true
			}
		}
	}
	return matched
}

// defaultPlatform is the stack of an idea that names no platform: a web app
// runs anywhere and needs no store.
const defaultPlatform = "Web app"

// detectStack returns the platforms and technologies the memo mentions.
func detectStack(m *memo) []string {
	matched := matchedRules(m.words, m.lowered)
	var stack []string
	hasPlatform := false
	for i, r := range stackRules {
		if matched[i] {
			stack = append(stack, r.label)
			hasPlatform = hasPlatform || r.platform
		}
	}
	if containsFold(stack, "React Native") {
		stack = removeFold(stack, "React")
	}
	if containsFold(stack, "Progressive web app") {
		stack = removeFold(stack, "Web app")
	}
	if !hasPlatform {
		stack = append([]string{defaultPlatform}, stack...)
	}
	return stack
}

func removeFold(list []string, s string) []string {
	out := list[:0]
	for _, x := range list {
		if !strings.EqualFold(x, s) {
			out = append(out, x)
		}
	}
	return out
}

// stackWords name parts of a stack without naming a technology.
var stackWords = set(`backend back-end frontend front-end database db server framework hosting hosted stack api`)

// stackClauseMentions is how many mentions of the stack make a sentence
// about how the project is built rather than what it does: "a simple web
// app with a Go backend" holds three, "syncs with iCloud" one.
const stackClauseMentions = 2

// isStackClause reports whether a feature candidate talks about the stack.
func isStackClause(f string) bool {
	// Most features name no technology; count the words that could start
	// a mention before building phrases.
	candidates := 0
	for _, w := range strings.Fields(strings.ToLower(f)) {
		w = strings.Trim(w, ",.;:!?")
		if stackWords[w] || stackTerms[w] || phraseStarts[w] {
			candidates++
		}
	}
	if candidates < stackClauseMentions {
		return false
	}
	words, _ := splitWordsAt(f)
	lowered := make([]string, len(words))
	mentions := 0
	for i, w := range words {
		lowered[i] = strings.ToLower(w)
		if stackWords[lowered[i]] {
			mentions++
		}
	}
	for _, matched := range matchedRules(words, lowered) {
		if matched {
			mentions++
		}
	}
	return mentions >= stackClauseMentions
}
