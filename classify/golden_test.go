package classify

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/whispersync/whispersync"
)

// The golden file pins every verdict of the classifier on the development
// memos, the training corpus and a set of edge cases, down to the last bit
// of each confidence. A refactoring or speed-up must leave it untouched. A
// change meant to alter verdicts regenerates it with
//
//	go test ./classify -run TestGolden -update
//
// and the diff shows which verdicts moved.
var update = flag.Bool("update", false, "rewrite testdata/golden.json from the current classifier")

const goldenPath = "testdata/golden.json"

// goldenCase is one memo to classify.
type goldenCase struct {
	name, text, folder string
}

// goldenVerdict is a Classification with floats written exactly, so any
// change in the last bit shows.
type goldenVerdict struct {
	Name        string          `json:"name"`
	Folder      string          `json:"folder,omitempty"`
	Bucket      string          `json:"bucket"`
	Buckets     []string        `json:"buckets"`
	Confidence  string          `json:"confidence"`
	Reason      string          `json:"reason"`
	Segments    []goldenSegment `json:"segments"`
	NeedsReview bool            `json:"needs_review"`
}

type goldenSegment struct {
	Bucket     string `json:"bucket"`
	Text       string `json:"text"`
	Confidence string `json:"confidence"`
}

func exactFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func newGoldenVerdict(c goldenCase, cl whispersync.Classification) goldenVerdict {
	v := goldenVerdict{
		Name:        c.name,
		Folder:      c.folder,
		Bucket:      string(cl.Bucket),
		Buckets:     []string{},
		Confidence:  exactFloat(cl.Confidence),
		Reason:      cl.Reason,
		Segments:    []goldenSegment{},
		NeedsReview: cl.NeedsReview,
	}
	// A nil and an empty bucket list encode differently in JSON, so keep
	// that difference visible.
	if cl.Buckets == nil {
		v.Buckets = nil
	}
	for _, b := range cl.Buckets {
		v.Buckets = append(v.Buckets, string(b))
	}
	for _, s := range cl.Segments {
		v.Segments = append(v.Segments, goldenSegment{string(s.Bucket), s.Text, exactFloat(s.Confidence)})
	}
	return v
}

// goldenFolders are the folder hints, taken in turn, so the golden file
// covers the folder prior too.
var goldenFolders = []string{"", "work", "Memories", "github_ideas", ""}

// goldenCases lists the development memos, every corpus memo and every
// part of a mixed corpus memo, and the edge cases, in a fixed order.
func goldenCases(t *testing.T) []goldenCase {
	t.Helper()
	var cases []goldenCase
	add := func(name, text string) {
		folder := goldenFolders[len(cases)%len(goldenFolders)]
		cases = append(cases, goldenCase{name, text, folder})
	}

	devFiles, err := filepath.Glob("../testdata/corpus/dev/*.txt")
	if err != nil || len(devFiles) == 0 {
		t.Fatalf("list development memos: %v (found %d)", err, len(devFiles))
	}
	sort.Strings(devFiles)
	for _, f := range devFiles {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatalf("read memo: %v", err)
		}
		add("dev/"+filepath.Base(f), string(data))
	}

	memos, err := loadCorpus(corpusFS)
	if err != nil {
		t.Fatalf("load corpus: %v", err)
	}
	for i, m := range memos {
		add(fmt.Sprintf("corpus/%d", i), m.text)
		if len(m.parts) > 1 {
			for j, p := range m.parts {
				add(fmt.Sprintf("corpus/%d/part%d", i, j), p.text)
			}
		}
	}

	// Joined corpus memos make a very long memo and mixed memos.
	var long []string
	for i := 0; i < len(memos) && len(long) < 12; i += 37 {
		long = append(long, memos[i].text)
	}
	add("edge/long joined corpus memos", strings.Join(long, " Anyway, "))
	add("edge/long repeated sentences", strings.Repeat("I need to send the invoice to the client by Friday. ", 120))
	add("edge/long without punctuation", strings.ToLower(strings.NewReplacer(".", "", ",", "").Replace(strings.Join(long[:6], " "))))
	for i := 0; i+1 < len(long); i++ {
		add(fmt.Sprintf("edge/pair %d", i), long[i]+" Oh and "+long[i+1])
	}

	for _, e := range []struct{ name, text string }{
		{"empty", ""},
		{"spaces", "   \n\t "},
		{"filler", "um"},
		{"fillers and commas", "uh, okay, so"},
		{"punctuation only", "... ?! ,,, ;:"},
		{"mic test", "testing one two three"},
		{"one word", "invoice"},
		{"two words", "call Dominic"},
		{"one sentence", "Need to call the parts supplier about the wrong gasket tomorrow morning."},
		{"one sentence no punctuation", "remember when grandpa took us fishing at the lake every summer"},
		{"mixed work and memory",
			"Long day at the office, I finished the quarterly budget and sent the slides to my manager, " +
				"we still need to hire two engineers before March. Oh and then after work I drove past " +
				"my old school and remembered how my dad used to pick me up on his motorbike, we would " +
				"stop for ice cream and he let me pick the radio station the whole way home."},
		{"mixed memory and idea",
			"We spent the afternoon at the beach with grandma, she told us stories about growing up " +
				"by the sea and the kids built a huge sandcastle. Other thing, idea for an app that " +
				"lets families record those stories and turns them into a printed book with photos."},
		{"mixed three buckets",
			"Finish the client report and book the meeting room for Tuesday. Anyway, yesterday we " +
				"celebrated mom's birthday at the old diner where she met dad, everyone cried. Also, " +
				"what if there was a subscription box for local bakeries that rotates every month."},
		{"uppercase", "I NEED TO FINISH THE QUARTERLY REPORT AND EMAIL THE CLIENT BEFORE THE DEADLINE ON FRIDAY."},
		{"contractions", "didn't finish the deck, Sarah's notes weren't there, we'll fix the client's invoice tomorrow"},
		{"curly apostrophes", "didn\u2019t finish the deck, Sarah\u2019s notes weren\u2019t there, we\u2019ll fix the client\u2019s invoice tomorrow\u2019"},
		{"digits and numbers", "12 boxes at 3pm, twenty two invoices, order #4411 for the 2nd shift, first thing"},
		{"newlines", "meeting moved\nclient wants the draft\nsend it tonight\n\nthen dinner"},
		{"non-ASCII letters", "Ça va, the café in Zürich had the best crème brûlée, we laughed for hours with Zoë and İlker"},
		{"kelvin sign", "spea\u212Aing of the \u212Aitchen, I remember mom baking bread every sunday morning"},
		{"title case", "Then We Went To The Lake And Swam Until Sunset With Grandpa"},
		{"shift words only", "also anyway then but because which idea oh and other thing and then"},
	} {
		add("edge/"+e.name, e.text)
	}
	return cases
}

// goldenExamples are corrections that make a second model, so training on
// examples, including a mixed one the model splits, is pinned too.
func goldenExamples() []Example {
	return []Example{
		{Text: "recalibrated the quintometer and logged the zorblax flange readings", Buckets: []whispersync.Bucket{whispersync.BucketWork}},
		{Text: "grandma's zorblax recipe on a rainy sunday", Buckets: []whispersync.Bucket{whispersync.BucketMemory}},
		{Text: "testing the quintometer mic", Buckets: []whispersync.Bucket{whispersync.BucketUnclear}},
		{Text: "the zorblax audit is due friday, I filed the report. Anyway, we went to the lake with grandpa and swam all afternoon.",
			Buckets: []whispersync.Bucket{whispersync.BucketWork, whispersync.BucketMemory}},
		{Text: "zorblax zorblax", Buckets: []whispersync.Bucket{whispersync.BucketIdea, whispersync.BucketWork}},
	}
}

func goldenVerdicts(t *testing.T) []goldenVerdict {
	t.Helper()
	plain, err := New(Options{})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	taught, err := New(Options{Examples: goldenExamples()})
	if err != nil {
		t.Fatalf("New with examples: %v", err)
	}
	ctx := context.Background()
	var out []goldenVerdict
	for _, c := range goldenCases(t) {
		cl, err := plain.Classify(ctx, c.text, whispersync.Hints{Folder: c.folder})
		if err != nil {
			t.Fatalf("classify %s: %v", c.name, err)
		}
		out = append(out, newGoldenVerdict(c, cl))
	}
	for i, text := range []string{
		"the zorblax flange needs recalibrating before the quintometer audit",
		"zorblax on a rainy sunday with grandma",
		"testing the quintometer",
		"the zorblax audit is due friday. Anyway, we swam in the lake with grandpa all afternoon.",
	} {
		c := goldenCase{name: fmt.Sprintf("examples/%d", i), text: text}
		cl, err := taught.Classify(ctx, text, whispersync.Hints{})
		if err != nil {
			t.Fatalf("classify %s: %v", c.name, err)
		}
		out = append(out, newGoldenVerdict(c, cl))
	}
	return out
}

func TestGolden(t *testing.T) {
	got := goldenVerdicts(t)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(got); err != nil {
		t.Fatalf("encode: %v", err)
	}
	if *update {
		if err := os.WriteFile(goldenPath, buf.Bytes(), 0o600); err != nil {
			t.Fatalf("write golden file: %v", err)
		}
		return
	}

	data, err := os.ReadFile(goldenPath)
	if err != nil {
		t.Fatalf("read golden file (regenerate with -update): %v", err)
	}
	if bytes.Equal(data, buf.Bytes()) {
		return
	}
	var want []goldenVerdict
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatalf("parse golden file: %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("verdicts: got %d, want %d", len(got), len(want))
	}
	differences := 0
	for i := range got {
		g, _ := json.Marshal(got[i])
		w, _ := json.Marshal(want[i])
		if !bytes.Equal(g, w) {
			t.Errorf("verdict %s:\n got  %s\n want %s", want[i].Name, g, w)
			if differences++; differences == 10 {
				t.Fatal("too many differences, stopping")
			}
		}
	}
	if differences == 0 {
		t.Error("golden file differs from the verdicts in layout only: regenerate it with -update")
	}
}
