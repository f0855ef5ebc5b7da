package extract

import "strings"

// commonPlaces are everyday places named without a proper noun ("the
// beach", "the hospital cafeteria"). Two-word places come first so that
// "train station" wins over "station".
const commonPlaces = `
farmers_market train_station bus_stop dining_hall parking_lot parking_garage coffee_shop climbing_gym grocery_store ice_rink swimming_pool living_room back_porch front_porch care_home nursing_home retirement_home
airport apartment attic backyard bakery bar barn basement beach bridge cabin cafe cafeteria campsite campus canal church cinema city classroom clinic cottage countryside diner downtown farm field forest garage garden gym highway hospital hotel island kitchen lake library mall market meadow mountain museum ocean office orchard park pasture playground pond porch pub restaurant ridge river school sea shore stadium station store supermarket theater theatre trail village woods zoo
`

// commonPlaceSet holds the one-word common places.
var commonPlaceSet = func() map[string]bool {
	m := make(map[string]bool)
	for _, p := range strings.Fields(commonPlaces) {
		if !strings.Contains(p, "_") {
			m[p] = true
		}
	}
	markKind(kindCommonPlace, m)
	return m
}()

// compoundPlaces maps the first word of each two-word common place to its
// possible second words.
var compoundPlaces = func() map[string]map[string]bool {
	m := make(map[string]map[string]bool)
	for _, p := range strings.Fields(commonPlaces) {
		first, second, ok := strings.Cut(p, "_")
		if !ok {
			continue
		}
		if m[first] == nil {
			m[first] = make(map[string]bool)
		}
		m[first][second] = true
	}
	markKind(kindCompoundPlaceStart, m)
	return m
}()

// Places returns the places named in text, without repeats, in order of
// first mention: proper names as spoken ("Willow Lane", "Redfield",
// "Paris") and everyday places in lowercase ("beach", "train station").
func Places(text string) []string {
	return withTokens(text, func(toks []token) []string {
		return placesFrom(toks, classify(toks))
	})
}

func placesFrom(toks []token, classes []nameClass) []string {
	var out []string
	seen := make(map[string]bool)
	add := func(name, key string) {
		if !seen[key] {
			seen[key] = true
			out = append(out, name)
		}
	}
	for i := 0; i < len(toks); i++ {
		if classes[i] == classPlace {
			j := i + 1
			for j < len(toks) && classes[j] == classPlace && !toks[j].commaBefore && !toks[j].first && !toks[j-1].possessive {
				j++
			}
			parts := make([]string, 0, j-i)
			keys := make([]string, 0, j-i)
			for k := i; k < j; k++ {
				parts = append(parts, toks[k].text)
				keys = append(keys, toks[k].lower)
			}
			add(strings.Join(parts, " "), strings.Join(keys, " "))
			i = j - 1
			continue
		}
		if classes[i] != classNone {
			continue
		}
		w, kind := toks[i].lower, toks[i].kind
		if !kind.has(kindCommonPlace | kindCompoundPlaceStart) {
			continue
		}
		if seconds := compoundPlaces[w]; seconds != nil && i+1 < len(toks) && seconds[toks[i+1].lower] && !toks[i+1].commaBefore {
			name := w + " " + toks[i+1].lower
			add(name, name)
			i++
			continue
		}
		if kind.has(kindCommonPlace) {
			add(w, w)
		}
	}
	return out
}
