package extract

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
)

// TestLexiconMatchesSets checks that each kind marks exactly the words of
// its set, so that a kind test gives the result of the set lookup it
// replaces.
func TestLexiconMatchesSets(t *testing.T) {
	phraseStarts := make(map[string]bool)
	for phrase := range themePhrases {
		first, _, _ := strings.Cut(phrase, " ")
		phraseStarts[first] = true
	}
	compoundStarts := make(map[string]bool)
	for first := range compoundPlaces {
		compoundStarts[first] = true
	}
	sets := []struct {
		kind wordKind
		set  map[string]bool
	}{
		{kindStopword, stopwordSet}, {kindAbbreviation, abbreviations},
		{kindTaskVerb, taskVerbSet}, {kindParticle, particleSet}, {kindPronounObject, pronounObjectSet},
		{kindFiller, fillerSet}, {kindSoftFiller, softFillerSet}, {kindOrdinal, ordinalSet},
		{kindConnector, connectorSet}, {kindCutter, cutterSet}, {kindSubject, subjectSet},
		{kindColonHeader, colonHeaderSet}, {kindNumberWord, numberWordSet}, {kindModalAdverb, modalAdverbSet},
		{kindReason, reasonSet}, {kindTimePreposition, timePrepositionSet}, {kindTriggerStart, triggerStartSet},
		{kindNegator, negatorSet}, {kindStateWord, stateWordSet}, {kindLinking, linkingSet}, {kindIntensifier, intensifierSet},
		{kindGiven, givenSet}, {kindSurname, surnameSet}, {kindAmbiguousName, ambiguousNameSet},
		{kindTitle, titleSet}, {kindRelation, relationSet}, {kindKinship, kinshipSet},
		{kindPersonVerb, personVerbSet}, {kindCalendar, calendarSet}, {kindNonName, nonNameSet},
		{kindOrgSuffix, orgSuffixSet}, {kindPlacePrefix, placePrefixSet}, {kindKnownPlace, knownPlaceSet},
		{kindAmbiguousPlace, ambiguousPlaceSet}, {kindTheBeforeOK, theBeforeOKSet},
		{kindStrongPersonVerb, strongPersonVerbSet}, {kindSpeechVerb, speechVerbSet}, {kindCommVerb, commVerbSet},
		{kindHomeNoun, homeNounSet}, {kindStrongPersonCue, strongPersonCueSet}, {kindLowercaseCue, lowercaseCueSet},
		{kindDeterminer, determinerSet}, {kindPlacePreposition, placePrepSet}, {kindFamilyNoun, familyNounSet},
		{kindPlaceSuffix, placeSuffixSet}, {kindPossessiveDeterminer, possessiveDeterminerSet},
		{kindThemePhraseStart, phraseStarts}, {kindCommonPlace, commonPlaceSet}, {kindCompoundPlaceStart, compoundStarts},
	}
	for _, s := range sets {
		if len(s.set) == 0 {
			t.Errorf("kind %b: empty set", s.kind)
		}
		for w := range s.set {
			if !lexicon[w].has(s.kind) {
				t.Errorf("kind %b: %q is in the set but not marked", s.kind, w)
			}
		}
		for w, kind := range lexicon {
			if kind.has(s.kind) && !s.set[w] {
				t.Errorf("kind %b: %q is marked but not in the set", s.kind, w)
			}
		}
	}
}

func TestKindsOfMatchesLexicon(t *testing.T) {
	for w, kind := range lexicon {
		if got := kindsOf(w); got != kind {
			t.Errorf("kindsOf(%q): got %b, want %b", w, got, kind)
		}
	}
	for _, w := range []string{"", "x", "zzzz", "tomorrowland", "the'", "\xff"} {
		if got := kindsOf(w); got != lexicon[w] {
			t.Errorf("kindsOf(%q): got %b, want %b", w, got, lexicon[w])
		}
	}
}

func TestSentimentWeightMatchesMap(t *testing.T) {
	for w, kind := range lexicon {
		weight, ok := sentimentWeight(kind)
		want, wantOK := sentimentWeights[w]
		if weight != want || ok != wantOK {
			t.Errorf("%q: got weight %v (%v), want %v (%v)", w, weight, ok, want, wantOK)
		}
	}
	for w := range sentimentWeights {
		if _, ok := lexicon[w]; !ok {
			t.Errorf("%q: weighted but missing from the lexicon", w)
		}
	}
}

func TestASCIIClassMatchesUnicode(t *testing.T) {
	for c := range rune(128) {
		word := unicode.IsLetter(c) || unicode.IsDigit(c) || unicode.Is(unicode.Mn, c)
		if got := asciiClass[c] != asciiOther; got != word {
			t.Errorf("%q: got word byte %v, want %v", c, got, word)
		}
		if got := asciiClass[c] == asciiUpper; got != unicode.IsUpper(c) {
			t.Errorf("%q: got upper %v, want %v", c, got, unicode.IsUpper(c))
		}
	}
}

// TestTriggerStartsCoverTriggers checks that a word without
// kindTriggerStart opens no trigger, whatever follows it.
func TestTriggerStartsCoverTriggers(t *testing.T) {
	continuations := [][]string{
		{"to"}, {"forget", "to"}, {"not", "forget", "to"}, {"sure", "to"}, {"sure", "we", "need", "to"},
		{"sure", "i", "will", "call"}, {"up", "with"}, {"up", "on"}, {"step", "is", "to"}, {"steps", "are"},
		{"to", "self"}, {"owe", "tamsin"}, {"owning", "it"}, {"pushing", "it"}, {"need", "to"}, {"have", "to"},
		{"got", "to"}, {"ought", "to"}, {"gotta"}, {"should"}, {"must"}, {"will"}, {"am", "going", "to"},
		{"are", "gonna"}, {"really", "need", "to"}, {"going", "to"}, {"gonna"}, {"try", "to"}, {},
	}
	candidates := make(map[string]bool)
	for w := range lexicon {
		candidates[w] = true
	}
	for _, list := range []string{taskVerbs, stopwords, fillerWords, softFillers, modalStarts} {
		for w := range wordSet(list) {
			candidates[w] = true
		}
	}
	paths, err := filepath.Glob("../testdata/corpus/dev/*.txt")
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, tok := range tokenize(string(data)) {
			candidates[tok.lower] = true
		}
	}
	for w := range candidates {
		if lexicon[w].has(kindTriggerStart) {
			continue
		}
		for _, rest := range continuations {
			words := []word{plainWord(w)}
			for _, r := range rest {
				words = append(words, plainWord(r))
			}
			if _, ok := matchTrigger(words, 0, true); ok {
				t.Errorf("%q %v: matches a trigger but is not marked kindTriggerStart", w, rest)
			}
		}
	}
}
