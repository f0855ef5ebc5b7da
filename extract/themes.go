package extract

import (
	"slices"
	"strings"
)

// themeLexicon is the evidence of one theme, as whitespace-separated word
// lists.
type themeLexicon struct {
	theme  string
	words  string
	strong string
}

// themeWords lists, for each theme, words whose presence is evidence of it,
// and strong words that alone establish it: a memo that mentions Grandpa is
// about family. Words are matched after stemming, so "walks" and "walking"
// count for "walk".
var themeWords = []themeLexicon{
	{"family", `family mom mum dad mother father parent parents son daughter kid kids child children baby brother sister grandma grandpa nana granny grandmother grandfather aunt uncle cousin nephew niece husband wife wedding anniversary relatives in-laws stepmom stepdad`,
		`mom mum dad mother father grandma grandpa nana granny grandmother grandfather aunt auntie uncle cousin nephew niece grandkids grandchildren in-laws`},
	{"friends", `friend friends buddy pal roommate roommates neighbor neighbour neighbors neighbours reunion hangout catch-up`, `friend friends buddy roommate reunion`},
	{"love", `love loved anniversary date romantic kiss boyfriend girlfriend husband wife partner married proposal`, `boyfriend girlfriend romantic proposal`},
	{"childhood", `childhood kid growing grew young younger high-school teenager toddler`, `childhood`},
	{"health", `hospital doctor nurse sick illness stroke surgery cancer diagnosis medicine therapy pain injury injured recovery healthy health clinic er symptoms appointment dementia alzheimer's medication meds pills physio physiotherapy dentist ambulance fever cough flu headache ward`,
		`hospital surgery diagnosis dementia ambulance illness`},
	{"loss", `died death dying funeral grief grieve grieving widow memorial goodbye mourning cemetery passed-away candle`, `funeral grief died death cemetery`},
	{"celebration", `birthday party celebrate celebration anniversary wedding graduation recital award promotion congratulations cake toast holiday christmas thanksgiving ceremony`, `birthday celebration graduation`},
	{"travel", `trip travel flight flew airport vacation hotel road-trip drive abroad cabin camping visit visited train station passport luggage`, `vacation flight passport road-trip`},
	{"food", `food dinner lunch breakfast brunch meal cook cooking cooked recipe bake baked bread cake dumplings honey coffee tea restaurant ate eat eating sandwiches ice-cream pizza soup kitchen tasted chocolate tacos noodles cookies snack`, ``},
	{"nature", `beach ocean sea lake river mountain hike hiking trail forest woods park sunset sunrise sky birds ducks seal garden flowers trees rain snow canoe peak ridge stars weather flood storm thunder lightning hurricane tornado wind fog frost hail mud meadow field waterfall pond creek valley hill tide waves moon rowed rowing kayak goat goats cow cows sheep chickens deer fox owl wildflowers leaves`,
		`flood hurricane tornado wildfire`},
	{"home", `home house apartment kitchen porch backyard garden attic garage basement moving moved neighborhood landlord rent couch sofa yard roof bedroom bathroom hallway balcony`, ``},
	{"pets", `dog dogs puppy cat cats kitten pet pets vet bird hamster fish horse leash paw groomer litter`, `dog dogs puppy cat cats kitten`},
	{"school", `school class classroom teacher semester homework exam exams test grade grades college university campus dorm professor lecture thesis study studying`, `semester homework exam exams`},
	{"sports", `game match soccer football basketball baseball tennis golf hockey climbing swim swimming run running race marathon bike cycling team score coach league`, `soccer football basketball baseball tennis golf hockey marathon`},
	{"music", `music song songs sing singing piano guitar trumpet violin drums concert band recital choir playlist album`, `concert choir`},
	{"work", `work job office boss meeting client clients coworker colleague shift project deadline career standup stand-up sprint release bug bugs deploy manager invoice customer customers handover rota slides presentation backlog ticket tickets`, `standup stand-up sprint`},
	{"reading", `book books reading read novel library notebook`, `novel`},
	{"milestones", `first milestone graduation birthday anniversary retirement moved engaged pregnant born`, `milestone retirement engaged pregnant`},
}

// themePhrases are two-word phrases that establish a theme: "care home" is
// a home, although "care" alone is no evidence of any theme.
var themePhrases = map[string]string{
	"care home":       "home",
	"nursing home":    "home",
	"retirement home": "home",
	"best friend":     "friends",
	"old friend":      "friends",
	"close friend":    "friends",
	"first date":      "love",
	"road trip":       "travel",
	"release notes":   "work",
	"day off":         "work",
}

// strongThemeHits is the weight of a strong word or a theme phrase; it
// reaches minThemeHits alone.
const strongThemeHits = 2

// themeIndex maps a stemmed word to the indexes of the themes it supports,
// and strongThemeIndex a stemmed strong word to its themes.
var themeIndex, strongThemeIndex = func() (map[string][]int, map[string][]int) {
	words := make(map[string][]int)
	strong := make(map[string][]int)
	add := func(m map[string][]int, list string, i int) {
		for w := range wordSet(list) {
			s := stem(w)
			if !slices.Contains(m[s], i) {
				m[s] = append(m[s], i)
			}
		}
	}
	for i, t := range themeWords {
		add(words, t.words, i)
		add(words, t.strong, i)
		add(strong, t.strong, i)
	}
	return words, strong
}()

// themeHit is the contribution of a word to the hits of one theme.
type themeHit struct {
	theme, hits int
}

// themeEvidence maps a stemmed word to its hits by themeIndex and
// strongThemeIndex together, so that a word costs one lookup.
var themeEvidence = func() map[string][]themeHit {
	m := make(map[string][]themeHit)
	for s, themes := range themeIndex {
		for _, t := range themes {
			m[s] = append(m[s], themeHit{theme: t, hits: 1})
		}
	}
	for s, themes := range strongThemeIndex {
		for _, t := range themes {
			m[s] = append(m[s], themeHit{theme: t, hits: strongThemeHits - 1})
		}
	}
	return m
}()

// themeEvidenceTable contains themeEvidence for lookups.
var themeEvidenceTable wordTable[[]themeHit]

func init() {
	themeEvidenceTable = newWordTable(themeEvidence)
}

// themePhraseIndex maps the words of a theme phrase to its theme's index.
// The first words are marked kindThemePhraseStart, so that other pairs of
// words need no lookup.
var themePhraseIndex = func() map[[2]string]int {
	m := make(map[[2]string]int)
	for phrase, theme := range themePhrases {
		first, second, _ := strings.Cut(phrase, " ")
		kindSet(kindThemePhraseStart, first)
		i := slices.IndexFunc(themeWords, func(t themeLexicon) bool { return t.theme == theme })
		if i < 0 {
			panic("extract: theme phrase " + phrase + " names no theme")
		}
		m[[2]string{first, second}] = i
	}
	return m
}()

// minThemeHits is how many words must support a theme; one ordinary word
// alone ("first", "room") is too weak.
const minThemeHits = 2

// Themes returns the themes of text (family, friends, love, childhood,
// health, loss, celebration, travel, food, nature, home, pets, school,
// sports, music, work, reading, milestones), strongest first.
func Themes(text string) []string {
	return withTokens(text, func(toks []token) []string {
		return themesFrom(toks, classify(toks), newStems(toks))
	})
}

func themesFrom(toks []token, classes []nameClass, stems *stems) []string {
	hits := make([]int, len(themeWords))
	for i := range toks {
		// Names are no evidence of a theme, and "Pete" must not stem to
		// "pet".
		if classes[i] != classNone {
			continue
		}
		evidence, _ := themeEvidenceTable.get(stems.at(i))
		for _, hit := range evidence {
			hits[hit.theme] += hit.hits
		}
		if toks[i].kind.has(kindThemePhraseStart) && i+1 < len(toks) && !toks[i+1].commaBefore && !toks[i].endsSentence {
			if t, ok := themePhraseIndex[[2]string{toks[i].lower, toks[i+1].lower}]; ok {
				hits[t] += strongThemeHits
			}
		}
	}
	order := make([]int, 0, len(themeWords))
	for t, n := range hits {
		if n >= minThemeHits {
			order = append(order, t)
		}
	}
	slices.SortStableFunc(order, func(a, b int) int { return hits[b] - hits[a] })
	out := make([]string, len(order))
	for k, t := range order {
		out[k] = themeWords[t].theme
	}
	return out
}
