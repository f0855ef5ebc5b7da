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

// ngrams returns the phrase-starting words of words and the sequences of
// two or three words they start, joined by spaces. Clause punctuation ends a
// sequence.
func ngrams(words []string) map[string]bool {
	m := make(map[string]bool)
	for i, w := range words {
		if !phraseStarts[w] {
			continue
		}
		m[w] = true
		phrase := w
		for n := 1; n < 3 && i+n < len(words) && isWord(words[i+n]); n++ {
			phrase += " " + words[i+n]
			m[phrase] = true
		}
	}
	return m
}

// defaultPlatform is the stack of an idea that names no platform: a web app
// runs anywhere and needs no store.
const defaultPlatform = "Web app"

// detectStack returns the platforms and technologies the memo mentions.
func detectStack(m *memo) []string {
	phrases, exact := ngrams(m.lowered), ngrams(m.words)
	var stack []string
	hasPlatform := false
	for _, r := range stackRules {
		if r.matches(m.lowerWords, phrases, exact) {
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

// matches reports whether the memo, given by its lowercase words, its
// lowercase phrases and its phrases as spoken, mentions the rule.
func (r *stackRule) matches(words, phrases, exact map[string]bool) bool {
	for _, p := range r.phrases {
		if words[p] || phrases[p] {
			return true
		}
	}
	for _, p := range r.exact {
		if exact[p] {
			return true
		}
	}
	for _, all := range r.together {
		found := true
		for _, w := range all {
			found = found && words[w]
		}
		if found {
			return true
		}
	}
	return false
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
	lowerWords := make(map[string]bool, len(words))
	mentions := 0
	for i, w := range words {
		lowered[i] = strings.ToLower(w)
		lowerWords[lowered[i]] = true
		if stackWords[lowered[i]] {
			mentions++
		}
	}
	phrases, exact := ngrams(lowered), ngrams(words)
	for _, r := range stackRules {
		if r.matches(lowerWords, phrases, exact) {
			mentions++
		}
	}
	return mentions >= stackClauseMentions
}
