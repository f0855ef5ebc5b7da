package extract

import "slices"

// themeWords lists, for each theme, words whose presence is evidence of it.
// Words are matched after stemming, so "walks" and "walking" count for
// "walk".
var themeWords = []struct {
	theme string
	words string
}{
	{"family", `family mom mum dad mother father parent parents son daughter kid kids child children baby brother sister grandma grandpa nana granny grandmother grandfather aunt uncle cousin nephew niece husband wife wedding anniversary`},
	{"friends", `friend friends buddy pal roommate roommates neighbor neighbour reunion hangout catch-up`},
	{"love", `love loved anniversary date romantic kiss boyfriend girlfriend husband wife partner married proposal`},
	{"childhood", `childhood kid growing grew young younger high-school teenager toddler`},
	{"health", `hospital doctor nurse sick illness stroke surgery cancer diagnosis medicine therapy pain injury injured recovery healthy health clinic er symptoms appointment`},
	{"loss", `died death dying funeral grief grieve grieving widow memorial goodbye mourning cemetery passed-away`},
	{"celebration", `birthday party celebrate celebration anniversary wedding graduation recital award promotion congratulations cake toast holiday christmas thanksgiving`},
	{"travel", `trip travel flight flew airport vacation hotel road-trip drive abroad cabin camping visit visited train station passport`},
	{"food", `food dinner lunch breakfast brunch meal cook cooking cooked recipe bake baked bread cake dumplings honey coffee tea restaurant ate eat eating sandwiches ice-cream pizza soup kitchen tasted`},
	{"nature", `beach ocean sea lake river mountain hike hiking trail forest woods park sunset sunrise sky birds ducks seal garden flowers trees rain snow canoe peak ridge stars weather`},
	{"home", `home house apartment kitchen porch backyard garden attic garage basement room moving moved rooms neighborhood`},
	{"pets", `dog dogs puppy cat cats kitten pet pets vet bird hamster fish horse`},
	{"school", `school class classroom teacher semester homework exam exams test grade grades college university campus dorm professor lecture thesis study studying`},
	{"sports", `game match soccer football basketball baseball tennis golf hockey climbing swim swimming run running race marathon bike cycling team score coach league`},
	{"music", `music song songs sing singing piano guitar trumpet violin drums concert band recital choir playlist album`},
	{"work", `work job office boss meeting client clients coworker colleague shift project deadline career`},
	{"reading", `book books reading read novel library notebook`},
	{"milestones", `first milestone graduation birthday anniversary retirement moved engaged pregnant born`},
}

// themeIndex maps a stemmed word to the indexes of the themes it supports.
var themeIndex = func() map[string][]int {
	m := make(map[string][]int)
	for i, t := range themeWords {
		for w := range wordSet(t.words) {
			s := stem(w)
			if !slices.Contains(m[s], i) {
				m[s] = append(m[s], i)
			}
		}
	}
	return m
}()

// minThemeHits is how many words must support a theme; one word alone
// ("first", "room") is too weak.
const minThemeHits = 2

// Themes returns the themes of text (family, friends, love, childhood,
// health, loss, celebration, travel, food, nature, home, pets, school,
// sports, music, work, reading, milestones), strongest first.
func Themes(text string) []string {
	toks := tokenize(text)
	return themesFrom(toks, classify(toks))
}

func themesFrom(toks []token, classes []nameClass) []string {
	hits := make([]int, len(themeWords))
	for i := range toks {
		// Names are no evidence of a theme, and "Pete" must not stem to
		// "pet".
		if classes[i] != classNone {
			continue
		}
		for _, t := range themeIndex[stem(toks[i].lower)] {
			hits[t]++
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
