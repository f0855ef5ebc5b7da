package idea

import (
	"math/rand"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The regular expressions that the scanners of scan.go implement.
var (
	clausePattern      = regexp.MustCompile(`(?:^|[,.;:!?]\s*|\b(?:and|then|where|so|when)\s+)(?:you|it|people|users|members|customers|players|parents|students|neighbors|neighbours|hikers|someone|anyone|everyone)\s+(?:(?:can|could|will|would|should|just|also|only|then)\s+){0,2}([a-z]+(?:\s+[^,.;:!?]+)?)`)
	productVerbPattern = regexp.MustCompile(`\b(?:it|that)\s+([a-z]+s\b[^,.;:!?]*)`)
	productTurnPattern = regexp.MustCompile(`,?\s+and\s+(?:then\s+)?(?:it|that)\s`)
	commaFillerPattern = regexp.MustCompile(`,\s*(?:like|um|uh|you know|i guess|i mean)\s*,`)
	futureMarkPattern  = regexp.MustCompile(`(?:^|[.!?]\s+)(?:later on|later|stretch goal|someday|eventually)\b`)
	featureCutPattern  = regexp.MustCompile(`(?i)(?:^|\s+)(?:so|because|which|since|but|and when)\b.*$`)
)

// scanSamples are phrases that sit on the edges of the patterns.
var scanSamples = []string{
	"", " ", ",", "you", "you ", "you go", "you can", "you can ", "you can go", "you can just go", "you can just also go",
	"you can just 9", "you can 9", "you  9", "it scales", "it scales it", "it scales2", "it scales_x", "it s", "it ss",
	"that sorts, and", "bit scales", "2it scales", "éit scales", "it scalesé", "and you go", "hand you go", "éand you go",
	"then you  ,", "then you go  ,", "then you go ,", "then you go\t\t.", ".you go", "., you go", ",\n you  can then  go  ",
	"someone sets", "so you", "someone", "so someone posts", "people can can can post", "users then then run",
	", and it ", ",  and then it ", " and then that ", " and then then it ", ",and it ", " and it", " andit ",
	", and that\t", "x, and then  it\n", ", like,", ",like ,", ", um ,, uh,", ", you know,", ", i guess ,",
	", i mean,", ", likely,", ", umm,", ",, um,,", "later", "later on we", ". later", ".  later on", "! someday",
	"? eventually", ".later", ". laterx", ". later_", ". stretch goal", ". stretch goals", "x later", "..  later",
	". eventually\xff", "\xffit scales", "it \xffscales", "you can \xff",
	"So what", "so", " so", "x SO y", "x \u017fo y", "x \u017fince", "x since\nthen", "x\nsince then", "x but", "x butter",
	"and when", "x AND WHEN y", "x and  when", "x  because, y", "x\tWhich", "x so_", "x so2", "x so\xff", "x BUT\r",
}

// scanInputs returns the development transcripts as spoken and in
// lowercase, the samples, and random mixtures of them.
func scanInputs(t *testing.T) []string {
	t.Helper()
	paths, err := filepath.Glob("../../testdata/corpus/dev/*.txt")
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		texts = append(texts, string(data), strings.ToLower(string(data)))
	}
	inputs := append(slices.Clone(texts), scanSamples...)
	random := rand.New(rand.NewSource(1)) // #nosec G404 -- reproducible test inputs, not a secret
	pieces := append(slices.Clone(scanSamples), "you ", "it ", " and ", "then ", "can ", "just ", ", ", ". ", "s", "x", "\t", "\n", "So ", " BUT ", " \u017fince ")
	for range 20000 {
		var b strings.Builder
		for range 1 + random.Intn(8) {
			b.WriteString(pieces[random.Intn(len(pieces))])
		}
		inputs = append(inputs, b.String())
	}
	for range 2000 {
		text := texts[random.Intn(len(texts))]
		start := random.Intn(len(text))
		inputs = append(inputs, text[start:min(len(text), start+1+random.Intn(300))])
	}
	return inputs
}

func TestScannersMatchPatterns(t *testing.T) {
	for _, s := range scanInputs(t) {
		checkScanners(t, s)
	}
}

func FuzzScanners(f *testing.F) {
	for _, s := range scanSamples {
		f.Add(s)
	}
	f.Fuzz(checkScanners)
}

func checkScanners(t *testing.T, s string) {
	if got, want := findClauses(s), groupSpans(clausePattern.FindAllStringSubmatchIndex(s, -1)); !slices.Equal(got, want) {
		t.Errorf("findClauses(%q): got %v, want %v", s, got, want)
	}
	if got, want := findProductVerbs(s), groupSpans(productVerbPattern.FindAllStringSubmatchIndex(s, -1)); !slices.Equal(got, want) {
		t.Errorf("findProductVerbs(%q): got %v, want %v", s, got, want)
	}
	if got, want := findCommaFillers(s), matchSpans(commaFillerPattern.FindAllStringIndex(s, -1)); !slices.Equal(got, want) {
		t.Errorf("findCommaFillers(%q): got %v, want %v", s, got, want)
	}
	if got, want := productTurnAt(s), firstMatch(productTurnPattern, s); got != want {
		t.Errorf("productTurnAt(%q): got %d, want %d", s, got, want)
	}
	if got, want := futureMarkerAt(s), firstMatch(futureMarkPattern, s); got != want {
		t.Errorf("futureMarkerAt(%q): got %d, want %d", s, got, want)
	}
	if got, want := featureCutAt(s), firstMatch(featureCutPattern, s); got != want {
		t.Errorf("featureCutAt(%q): got %d, want %d", s, got, want)
	}
}

func groupSpans(matches [][]int) []span {
	var out []span
	for _, m := range matches {
		out = append(out, span{m[2], m[3]})
	}
	return out
}

func matchSpans(matches [][]int) []span {
	var out []span
	for _, m := range matches {
		out = append(out, span{m[0], m[1]})
	}
	return out
}

func firstMatch(pattern *regexp.Regexp, s string) int {
	if loc := pattern.FindStringIndex(s); loc != nil {
		return loc[0]
	}
	return -1
}

// TestScanWordListsHaveNoPrefixes checks what matchWord relies on: no word
// of a list starts another, so the first match is the only one.
func TestScanWordListsHaveNoPrefixes(t *testing.T) {
	lists := [][]string{clauseSubjects, clauseOpeners, clauseModals, productSubjects, commaFillerWords, futureWords, cutWords}
	for _, list := range lists {
		for _, a := range list {
			for _, b := range list {
				if a != b && strings.HasPrefix(b, a) {
					t.Errorf("%q starts %q in %v", a, b, list)
				}
			}
		}
	}
}
