package extract

import "strings"

var (
	givenSet          = kindSet(kindGiven, givenNames, moreGivenNames)
	surnameSet        = kindSet(kindSurname, surnames)
	ambiguousNameSet  = kindSet(kindAmbiguousName, ambiguousNames)
	titleSet          = kindSet(kindTitle, titles)
	relationSet       = kindSet(kindRelation, relationNouns)
	kinshipSet        = kindSet(kindKinship, kinship)
	personVerbSet     = kindSet(kindPersonVerb, personVerbsAfter)
	calendarSet       = kindSet(kindCalendar, calendarWords)
	nonNameSet        = kindSet(kindNonName, nonNames)
	orgSuffixSet      = kindSet(kindOrgSuffix, orgSuffixes)
	placePrefixSet    = kindSet(kindPlacePrefix, placePrefixes)
	knownPlaceSet     = kindSet(kindKnownPlace, knownPlaces)
	ambiguousPlaceSet = kindSet(kindAmbiguousPlace, ambiguousPlaces)
	theBeforeOKSet    = kindSet(kindTheBeforeOK, theBeforeOK)

	// strongPersonVerbSet follows a person often enough to lift an unknown
	// capitalized word, or a month that doubles as a name, to a person.
	strongPersonVerbSet = kindSet(kindStrongPersonVerb, `said says asked asks told tells thinks thought wants wanted agreed agrees mentioned mentions texted emailed called laughed cried smiled gave owes owed played sang pulled handled flagged suggested explained`, meetVerbs)
	// speechVerbSet before a name makes it the speaker when the attribution
	// is inverted: "the room is booked, said Omar".
	speechVerbSet = kindSet(kindSpeechVerb, `said says asked asks replied replies added adds explained whispered shouted yelled laughed wrote writes`)
	// commVerbSet opens a clause whose "to X" names the person reached:
	// "send the notes to Wilhelmina", "give the key to Anselm". Verbs of
	// motion ("bring", "take", "drive") are left out: their "to X" is
	// usually a place.
	commVerbSet = kindSet(kindCommVerb, `send sends sent sending give gives gave giving hand hands handed pass passed forward forwards forwarded email emails emailed mail mailed text texts texted show shows showed tell told explain explained mention mentioned report reported lend lent write wrote talk talked talking speak spoke speaking reach reached introduce introduced pay paid deliver delivered sell sold send-off say said`)
	// homeNounSet after a possessive keeps it a person even after a place
	// preposition: "at Sunniva's place".
	homeNounSet = kindSet(kindHomeNoun, `place house home flat apartment room party wedding funeral farm cabin`)
	// strongPersonCueSet precedes a person as the object of a personal
	// action.
	strongPersonCueSet = kindSet(kindStrongPersonCue, `with told tell asked ask ping pinged email emailed text texted thank thanked met meet hug hugged call called phone phoned remind reminded invite invited`)
	// lowercaseCueSet precedes a lowercase name in an all-lowercase
	// transcript; "and" counts there because names are listed ("me and luca").
	lowercaseCueSet = kindSet(kindLowercaseCue, `with told tell asked ask ping pinged email emailed text texted call called thank thanked met meet and hug hugged said says replied`)
	// determinerSet before a capitalized word makes it a thing, not a person:
	// "the Brightwater people", "the Olive Tree".
	determinerSet = kindSet(kindDeterminer, `the a an this that these those every each some any`)
	// placePrepSet before an unknown capitalized word makes it a place: "out
	// in Redfield", "over in Millbrook".
	placePrepSet = kindSet(kindPlacePreposition, `in at near from into across around outside inside toward towards visiting past via`)
	// familyNounSet after "the X" keeps an unknown X a family name.
	familyNounSet = kindSet(kindFamilyNoun, `brothers sisters family families twins kids boys girls household`)
)

// meetVerbs after a name at the start of a sentence make it a person or a
// pet: "Ruby met her best friend", "Biscuit saw a squirrel". Pets called by
// name count as people, so that a search for the name finds the memo.
const meetVerbs = `met meets saw sees hugged hugs greeted greets visited visits chased chases adopted kissed`

// maxCommVerbDistance is how many words may stand between a verb of
// communication and its "to": "send the signed lease back to Yolanda".
const maxCommVerbDistance = 6

// nameClass is the kind of name a token belongs to, if any.
type nameClass uint8

const (
	classNone nameClass = iota
	classPerson
	classPlace
	classOrg
)

// People returns the person names spoken in text, as they appear, without
// repeats, in order of first mention. Titles are dropped ("Doctor Walsh" is
// "Walsh"); kinship words such as "Mom" or "Grandpa" are not names, but the
// name after one is ("Aunt Dolores" is "Dolores").
func People(text string) []string {
	return withTokens(text, func(toks []token) []string {
		return peopleFrom(toks, classify(toks))
	})
}

func peopleFrom(toks []token, classes []nameClass) []string {
	var out []string
	seen := make(map[string]bool)
	for i := 0; i < len(toks); i++ {
		if classes[i] != classPerson {
			continue
		}
		name := toks[i].text
		key := toks[i].lower
		// A given name followed by a family name is one person: "Sarah
		// Chen".
		if i+1 < len(toks) && classes[i+1] == classPerson && joinsName(toks, i) {
			name += " " + toks[i+1].text
			key += " " + toks[i+1].lower
			i++
		}
		if base, ok := pluralFamilyName(key, seen); ok {
			key = base
		}
		if seen[key] || seenAsPart(seen, key) {
			continue
		}
		seen[key] = true
		out = append(out, name)
	}
	return out
}

// joinsName reports whether tokens i and i+1 form one full name.
func joinsName(toks []token, i int) bool {
	a, b := &toks[i], &toks[i+1]
	if b.commaBefore || a.possessive || a.endsSentence || b.first {
		return false
	}
	if !a.capitalized() || !b.capitalized() {
		return false
	}
	return a.kind.has(kindGiven) && (b.kind.has(kindSurname) || !b.kind.has(kindGiven))
}

// seenAsPart reports whether key is one word of a full name already listed,
// so "Sarah Chen ... Sarah" lists Sarah once.
func seenAsPart(seen map[string]bool, key string) bool {
	if strings.Contains(key, " ") {
		return false
	}
	for k := range seen {
		if first, last, ok := strings.Cut(k, " "); ok && (first == key || last == key) {
			return true
		}
	}
	return false
}

// pluralFamilyName maps "kowalskis" to "kowalski" when the singular is a
// known family name or already listed.
func pluralFamilyName(key string, seen map[string]bool) (string, bool) {
	base, ok := strings.CutSuffix(key, "s")
	if !ok || len(base) < 3 || givenSet[key] {
		return key, false
	}
	if seen[base] || surnameSet[base] {
		return base, true
	}
	return key, false
}

// classify decides for every token whether it is part of a person name, a
// place, an organization, or none.
func classify(toks []token) []nameClass {
	classes := make([]nameClass, len(toks))
	markRuns(toks, classes)
	lowercase := mostlyLowercase(toks)
	for i := range toks {
		if classes[i] != classNone {
			continue
		}
		t := &toks[i]
		if t.capitalized() {
			classes[i] = classifyCapitalized(toks, classes, i)
			continue
		}
		if lowercase && isLowercaseName(toks, classes, i) {
			classes[i] = classPerson
		}
	}
	// A capitalized word taken as a name once is that name everywhere, so a
	// sentence-initial "Dale down the road" counts once "Dale" is known.
	known := make(map[string]bool)
	for i := range toks {
		if classes[i] == classPerson && toks[i].capitalized() {
			known[toks[i].lower] = true
		}
	}
	for i := range toks {
		if classes[i] == classNone && toks[i].capitalized() && known[toks[i].lower] {
			classes[i] = classPerson
		}
	}
	return classes
}

// markRuns marks runs of capitalized words that name organizations or
// places by their last or first word: "Hartley Mills", "Willow Lane",
// "Route Nine".
func markRuns(toks []token, classes []nameClass) {
	for i := 0; i < len(toks); {
		if !toks[i].capitalized() {
			i++
			continue
		}
		j := i + 1
		for j < len(toks) && toks[j].capitalized() && !toks[j].commaBefore && !toks[j].first && !toks[j-1].possessive {
			j++
		}
		if j-i >= 2 {
			first, last := toks[i].kind, toks[j-1].kind
			switch {
			case first.has(kindTitle) && !first.has(kindPlacePrefix):
				// "Doctor Walsh": a title, decided per token.
			case last.has(kindOrgSuffix):
				mark(classes, i, j, runClass(last))
			case first.has(kindPlacePrefix) && !toks[i].first:
				mark(classes, i, j, classPlace)
			case first.has(kindPlacePrefix) && last.has(kindPlaceSuffix|kindKnownPlace):
				mark(classes, i, j, classPlace)
			}
		}
		i = j
	}
}

func mark(classes []nameClass, from, to int, c nameClass) {
	for k := from; k < to; k++ {
		classes[k] = c
	}
}

// placeSuffixSet is the part of orgSuffixes that names a location rather
// than a business.
var placeSuffixSet = kindSet(kindPlaceSuffix, `park lake lane road rd street st avenue ave boulevard blvd drive way court ct place square plaza bridge station airport peak mountain mountains hill hills valley river creek beach bay island islands county city town village heights falls woods forest trail cafe restaurant bar grill diner pub hotel motel inn hospital clinic school academy college university church chapel temple mosque synagogue market supermarket store shop mall center centre gym library museum theater theatre tree pharmacy bakery`)

func runClass(suffix wordKind) nameClass {
	if suffix.has(kindPlaceSuffix) {
		return classPlace
	}
	return classOrg
}

// mostlyLowercase reports whether the transcript came without capital
// letters, in which case names are found by list and context alone.
func mostlyLowercase(toks []token) bool {
	var firsts, upperFirsts int
	for i := range toks {
		if toks[i].first {
			firsts++
			if toks[i].capitalized() || toks[i].text == "I" {
				upperFirsts++
			}
		}
	}
	if firsts == 0 {
		return true
	}
	return upperFirsts*2 < firsts
}

func classifyCapitalized(toks []token, classes []nameClass, i int) nameClass {
	t := &toks[i]
	key := t.lower
	prev, next := neighbor(toks, i-1), neighbor(toks, i+1)
	prevLower, prevKind := "", wordKind(0)
	if prev != nil && !t.first {
		prevLower, prevKind = prev.lower, prev.kind
	}
	nextKind := wordKind(0)
	if next != nil && !next.commaBefore && !t.endsSentence {
		nextKind = next.kind
	}
	if t.kind.has(kindNonName) {
		// "Ruby" is a language and a name; a verb only a person or a pet
		// does decides for the name.
		if t.kind.has(kindGiven) && nextKind.has(kindStrongPersonVerb) {
			return classPerson
		}
		return classNone
	}
	if t.kind.has(kindKinship) || (t.kind.has(kindTitle) && !t.kind.has(kindGiven)) {
		return classNone
	}

	// A title right before makes a name: "Mr. Okafor", "uncle Pete".
	if prev != nil && prevKind.has(kindTitle) && !t.commaBefore && !prev.possessive {
		if t.kind.has(kindKnownPlace) && !t.kind.has(kindAmbiguousPlace) {
			return classPlace
		}
		return classPerson
	}

	given := t.kind.has(kindGiven) || hyphenatedGiven(key)
	family := t.kind.has(kindSurname)
	personAfter := t.possessive || nextKind.has(kindStrongPersonVerb)

	if t.kind.has(kindCalendar) {
		if given && personAfter && prevLower != "in" && prevLower != "of" && prevLower != "since" && prevLower != "until" {
			return classPerson
		}
		return classNone
	}

	if t.kind.has(kindKnownPlace) {
		if t.kind.has(kindAmbiguousPlace) && given && (personAfter || prevKind.has(kindStrongPersonCue)) && !prevKind.has(kindPlacePreposition) {
			return classPerson
		}
		return classPlace
	}

	if prevKind.has(kindDeterminer) {
		plural, _ := pluralFamilyName(key, nil)
		switch {
		case plural != key:
			return classPerson
		case nextKind.has(kindTheBeforeOK) && (given || family):
			return classPerson
		case nextKind.has(kindFamilyNoun):
			return classPerson
		}
		return classNone
	}
	if prevKind.has(kindPlacePreposition) && !given && !family && !(t.possessive && nextKind.has(kindHomeNoun)) {
		return classPlace
	}

	if given || family {
		if t.first && (t.kind.has(kindAmbiguousName) || !given) {
			if personAfter || (given && nextKind.has(kindPersonVerb)) {
				return classPerson
			}
			return classNone
		}
		return classPerson
	}
	if plural, ok := pluralFamilyName(key, nil); ok && plural != key {
		return classPerson
	}

	// An unknown capitalized word needs context to be a person.
	if t.kind.has(kindStopword) {
		return classNone
	}
	if personAfter {
		return classPerson
	}
	if t.first {
		// NOTE: an unlisted name opening a sentence is missed unless a
		// verb of strongPersonVerbSet follows: "Biscuit threw up twice".
		return classNone
	}
	if prevKind.has(kindRelation) || prevKind.has(kindStrongPersonCue) || invertedSpeaker(toks, i) || reachedBy(toks, i) {
		return classPerson
	}
	if prevLower == "and" && i >= 2 && classes[i-2] == classPerson {
		return classPerson
	}
	return classNone
}

// invertedSpeaker reports whether token i names the speaker of an inverted
// attribution: "the room is booked, said Omar" or "said Omar, and".
func invertedSpeaker(toks []token, i int) bool {
	t, prev := &toks[i], neighbor(toks, i-1)
	if prev == nil || t.first || t.commaBefore || !prev.kind.has(kindSpeechVerb) {
		return false
	}
	next := neighbor(toks, i+1)
	return prev.commaBefore || prev.first || t.endsSentence || next == nil || next.commaBefore
}

// reachedBy reports whether token i follows a "to" that completes a verb
// of communication in the same clause: "send the notes to Wilhelmina".
func reachedBy(toks []token, i int) bool {
	t := &toks[i]
	if i < 2 || t.first || t.commaBefore || toks[i-1].lower != "to" {
		return false
	}
	for k := i - 2; k >= 0 && k >= i-1-maxCommVerbDistance; k-- {
		if toks[k].kind.has(kindCommVerb) {
			return true
		}
		if toks[k].first || toks[k].commaBefore || toks[k].endsSentence && k < i-1 {
			return false
		}
	}
	return false
}

// hyphenatedGiven recognizes "jae-won" by its first part.
func hyphenatedGiven(key string) bool {
	first, _, ok := strings.Cut(key, "-")
	return ok && givenSet[first]
}

// isLowercaseName decides for a lowercase token in a lowercase transcript:
// it must be an unambiguous given name with person context.
func isLowercaseName(toks []token, classes []nameClass, i int) bool {
	t := &toks[i]
	if !t.kind.has(kindGiven) {
		return unlistedAfterRelation(toks, i)
	}
	if t.kind.has(kindAmbiguousName) {
		return false
	}
	if t.possessive {
		return true
	}
	if next := neighbor(toks, i+1); next != nil && !next.commaBefore && !t.endsSentence && next.kind.has(kindStrongPersonVerb) {
		return true
	}
	prev := neighbor(toks, i-1)
	if prev == nil || t.first {
		return false
	}
	return prev.kind.has(kindLowercaseCue) || prev.kind.has(kindRelation) || prev.kind.has(kindTitle) || reachedBy(toks, i)
}

// possessiveDeterminerSet opens "my friend X", where a relation noun
// introduces a name.
var possessiveDeterminerSet = kindSet(kindPossessiveDeterminer, `my our his her their`)

// unlistedAfterRelation decides for a lowercase word missing from the name
// lists: "my friend lior" names Lior, while "my friend group" or "my boss
// wants" do not. Without capital letters, only a word that no word list of
// the package knows, after "my" and a relation noun, counts.
func unlistedAfterRelation(toks []token, i int) bool {
	t := &toks[i]
	if i < 2 || t.first || t.commaBefore || len(t.lower) < 3 {
		return false
	}
	if !toks[i-1].kind.has(kindRelation) || !toks[i-2].kind.has(kindPossessiveDeterminer) {
		return false
	}
	return !knownWord(t.lower)
}

// knownWord reports whether w is an English word of one of the package's
// lists, or has the ending of a verb or adverb.
func knownWord(w string) bool {
	switch {
	case stopwordSet[w], nonNameSet[w], calendarSet[w], relationSet[w], kinshipSet[w], titleSet[w],
		personVerbSet[w], taskVerbSet[w], commVerbSet[w], commonPlaceSet[w], fillerSet[w], softFillerSet[w],
		orgSuffixSet[w], knownPlaceSet[w]:
		return true
	case strings.HasSuffix(w, "ing"), strings.HasSuffix(w, "ed"), strings.HasSuffix(w, "ly"):
		return true
	}
	if _, ok := themeIndex[stem(w)]; ok {
		return true
	}
	_, ok := sentimentWeights[w]
	return ok
}

func neighbor(toks []token, i int) *token {
	if i < 0 || i >= len(toks) {
		return nil
	}
	return &toks[i]
}
