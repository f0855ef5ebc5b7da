package classify_test

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/classify"
)

func newModel(t testing.TB, opts classify.Options) *classify.Model {
	t.Helper()
	m, err := classify.New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return m
}

func classifyText(t testing.TB, m *classify.Model, text, folder string) whispersync.Classification {
	t.Helper()
	cl, err := m.Classify(context.Background(), text, whispersync.Hints{Folder: folder})
	if err != nil {
		t.Fatalf("Classify: %v", err)
	}
	return cl
}

// These memos are written for the tests and are not in the training corpus.
const (
	workMemo = "ok so long day at the garage, I rebuilt the transmission on the " +
		"Jeep and the customer wants it back by Friday, um, I still need to order " +
		"the seals and call the parts supplier about the wrong gasket they sent. " +
		"Also the compressor tripped the breaker twice so tell the landlord."
	memoryMemo = "so tonight we drove out to my grandparents' old farm with the kids " +
		"and my brother, um, we walked down to the pond where grandpa taught us to " +
		"skip stones, and my daughter skipped one five times and screamed, and my " +
		"brother and I just stood there laughing like we were ten again. I miss them."
	ideaMemo = "okay idea, an app for people who forget to water their garden, you " +
		"tell it what you planted and where you live and it checks the rain forecast " +
		"and sends a reminder only when the plants actually need water. Could add a " +
		"cheap soil sensor later, for beginner gardeners and busy parents."
)

func TestClassifySingleBucket(t *testing.T) {
	m := newModel(t, classify.Options{})
	tests := []struct {
		name string
		text string
		want whispersync.Bucket
	}{
		{"work", workMemo, whispersync.BucketWork},
		{"memory", memoryMemo, whispersync.BucketMemory},
		{"idea", ideaMemo, whispersync.BucketIdea},
		{"lowercase work", strings.ToLower(workMemo), whispersync.BucketWork},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl := classifyText(t, m, tt.text, "")
			if cl.Bucket != tt.want {
				t.Fatalf("bucket: got %s, want %s (reason %q)", cl.Bucket, tt.want, cl.Reason)
			}
			if !slices.Equal(cl.Buckets, []whispersync.Bucket{tt.want}) {
				t.Errorf("buckets: got %v, want [%s]", cl.Buckets, tt.want)
			}
			if len(cl.Segments) != 1 || cl.Segments[0].Bucket != tt.want {
				t.Errorf("segments: got %+v, want one %s segment", cl.Segments, tt.want)
			}
			if cl.Confidence < 0.5 || cl.Confidence > 1 {
				t.Errorf("confidence: got %v, want in [0.5, 1]", cl.Confidence)
			}
			if cl.Reason == "" {
				t.Error("reason: got empty, want the telling terms")
			}
		})
	}
}

func TestClassifyDeterministic(t *testing.T) {
	texts := []string{workMemo, memoryMemo, ideaMemo, workMemo + " oh and " + memoryMemo, "testing one two"}
	a := newModel(t, classify.Options{})
	b := newModel(t, classify.Options{})
	for _, text := range texts {
		first := classifyText(t, a, text, "work")
		for range 3 {
			if got := classifyText(t, a, text, "work"); !reflect.DeepEqual(got, first) {
				t.Fatalf("same model, same input: got %+v, want %+v", got, first)
			}
		}
		if got := classifyText(t, b, text, "work"); !reflect.DeepEqual(got, first) {
			t.Fatalf("second model, same input: got %+v, want %+v", got, first)
		}
	}
}

func TestClassifyTinyInputIsUnclear(t *testing.T) {
	m := newModel(t, classify.Options{})
	for _, text := range []string{"", "   \n", "um", "uh, okay, so", "testing", "hello hello", "ok bye"} {
		cl := classifyText(t, m, text, "work")
		if cl.Bucket != whispersync.BucketUnclear {
			t.Errorf("bucket of %q: got %s, want unclear", text, cl.Bucket)
		}
		if cl.Buckets == nil || len(cl.Buckets) != 0 {
			t.Errorf("buckets of %q: got %#v, want an empty list", text, cl.Buckets)
		}
		if !cl.NeedsReview {
			t.Errorf("needs review of %q: got false, want true", text)
		}
		if len(cl.Segments) != 0 {
			t.Errorf("segments of %q: got %d, want none", text, len(cl.Segments))
		}
	}
}

func TestClassifyUnclearContent(t *testing.T) {
	m := newModel(t, classify.Options{})
	for _, text := range []string{
		"testing testing, is this recording, one two three",
		"parked on level four, section B, by the blue stairs",
	} {
		if cl := classifyText(t, m, text, ""); cl.Bucket != whispersync.BucketUnclear {
			t.Errorf("bucket of %q: got %s, want unclear (reason %q)", text, cl.Bucket, cl.Reason)
		}
	}
}

func TestFolderHintCannotOverrideClearText(t *testing.T) {
	m := newModel(t, classify.Options{})
	tests := []struct {
		text   string
		folder string
		want   whispersync.Bucket
	}{
		{memoryMemo, "work", whispersync.BucketMemory},
		{memoryMemo, "github_ideas", whispersync.BucketMemory},
		{workMemo, "Memories", whispersync.BucketWork},
		{workMemo, "github_ideas", whispersync.BucketWork},
		{ideaMemo, "WORK", whispersync.BucketIdea},
		{ideaMemo, "memories", whispersync.BucketIdea},
	}
	for _, tt := range tests {
		if cl := classifyText(t, m, tt.text, tt.folder); cl.Bucket != tt.want {
			t.Errorf("%s memo in folder %q: got %s, want %s", tt.want, tt.folder, cl.Bucket, tt.want)
		}
	}
}

func TestFolderHintIsEvidence(t *testing.T) {
	m := newModel(t, classify.Options{})
	// A short memo leaves room for doubt, so the hint must move the verdict
	// towards its bucket.
	text := "need to sort out the schedule for next week"
	without := classifyText(t, m, text, "")
	with := classifyText(t, m, text, "work")
	if with.Bucket != whispersync.BucketWork {
		t.Fatalf("bucket with work folder: got %s, want work", with.Bucket)
	}
	if without.Bucket == whispersync.BucketWork && with.Confidence <= without.Confidence {
		t.Errorf("confidence with work folder: got %v, want above %v", with.Confidence, without.Confidence)
	}
}

func TestClassifyMixed(t *testing.T) {
	m := newModel(t, classify.Options{})
	tests := []struct {
		name string
		text string
		want []whispersync.Bucket
	}{
		{"work then memory", workMemo + " Anyway, " + memoryMemo,
			[]whispersync.Bucket{whispersync.BucketWork, whispersync.BucketMemory}},
		{"memory then idea", memoryMemo + " Oh and " + ideaMemo,
			[]whispersync.Bucket{whispersync.BucketMemory, whispersync.BucketIdea}},
		{"idea then work, lowercase", strings.ToLower(ideaMemo + " other thing, " + workMemo),
			[]whispersync.Bucket{whispersync.BucketWork, whispersync.BucketIdea}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl := classifyText(t, m, tt.text, "")
			if cl.Bucket != whispersync.BucketMixed {
				t.Fatalf("bucket: got %s, want mixed (reason %q)", cl.Bucket, cl.Reason)
			}
			if !slices.Equal(cl.Buckets, tt.want) {
				t.Errorf("buckets: got %v, want %v", cl.Buckets, tt.want)
			}
			seen := map[whispersync.Bucket]bool{}
			rest := tt.text
			for _, s := range cl.Segments {
				seen[s.Bucket] = true
				i := strings.Index(rest, s.Text)
				if s.Text == "" || i < 0 {
					t.Fatalf("segment %q: want a non-empty part of the memo, in order", s.Text)
				}
				rest = rest[i+len(s.Text):]
			}
			for _, b := range tt.want {
				if !seen[b] {
					t.Errorf("segments: got none for %s, want one", b)
				}
			}
		})
	}
}

func TestClassifyCanceledContext(t *testing.T) {
	m := newModel(t, classify.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.Classify(ctx, workMemo, whispersync.Hints{}); err == nil {
		t.Error("error: got nil, want the context error")
	}
}

func TestNewRejectsBadExamples(t *testing.T) {
	tests := []struct {
		name string
		ex   classify.Example
	}{
		{"no text", classify.Example{Text: "  ", Buckets: []whispersync.Bucket{whispersync.BucketWork}}},
		{"mixed bucket", classify.Example{Text: "a memo", Buckets: []whispersync.Bucket{whispersync.BucketMixed}}},
		{"unknown bucket", classify.Example{Text: "a memo", Buckets: []whispersync.Bucket{"chores"}}},
	}
	for _, tt := range tests {
		_, err := classify.New(classify.Options{Examples: []classify.Example{tt.ex}})
		if got := whispersync.ErrorCode(err); got != whispersync.EINVALID {
			t.Errorf("%s: error code: got %q, want %q (err %v)", tt.name, got, whispersync.EINVALID, err)
		}
	}
}

func TestExamplesTeachTheModel(t *testing.T) {
	// Invented jargon that the built-in corpus cannot know.
	text := "the zorblax flange on the quintometer needs recalibrating before the grummet audit"
	before := classifyText(t, newModel(t, classify.Options{}), text, "")

	var examples []classify.Example
	for _, s := range []string{
		"recalibrated the quintometer and logged the zorblax flange readings",
		"grummet audit prep, the quintometer flange is out of tolerance again",
		"zorblax flange replaced on line two, quintometer back in service, grummet audit friday",
	} {
		examples = append(examples, classify.Example{Text: s, Buckets: []whispersync.Bucket{whispersync.BucketWork}})
	}
	// A mixed correction exercises the split of multi-bucket examples.
	examples = append(examples, classify.Example{
		Text:    workMemo + " " + memoryMemo,
		Buckets: []whispersync.Bucket{whispersync.BucketMemory, whispersync.BucketWork},
	})
	after := classifyText(t, newModel(t, classify.Options{Examples: examples}), text, "")
	if after.Bucket != whispersync.BucketWork {
		t.Errorf("bucket after corrections: got %s (before %s), want work", after.Bucket, before.Bucket)
	}
}

func TestModelIsSafeForConcurrentUse(t *testing.T) {
	m := newModel(t, classify.Options{})
	want := classifyText(t, m, ideaMemo, "")
	done := make(chan whispersync.Classification)
	for range 8 {
		go func() {
			cl, _ := m.Classify(context.Background(), ideaMemo, whispersync.Hints{})
			done <- cl
		}()
	}
	for range 8 {
		if got := <-done; !reflect.DeepEqual(got, want) {
			t.Errorf("concurrent verdict: got %+v, want %+v", got, want)
		}
	}
}

func FuzzClassify(f *testing.F) {
	for _, s := range []string{"", workMemo, memoryMemo + " also " + ideaMemo, "um. uh, , ... ???", "it's\u2019s 12 o'clock\n\n---\n[work]"} {
		f.Add(s, "work")
	}
	m := newModel(f, classify.Options{})
	f.Fuzz(func(t *testing.T, text, folder string) {
		cl, err := m.Classify(context.Background(), text, whispersync.Hints{Folder: folder})
		if err != nil {
			t.Fatalf("Classify: %v", err)
		}
		if cl.Confidence < 0 || cl.Confidence > 1 {
			t.Errorf("confidence: got %v, want in [0, 1]", cl.Confidence)
		}
		switch cl.Bucket {
		case whispersync.BucketUnclear:
			if len(cl.Buckets) != 0 || !cl.NeedsReview {
				t.Errorf("unclear verdict: got buckets %v, review %v, want none and true", cl.Buckets, cl.NeedsReview)
			}
		case whispersync.BucketMixed:
			if len(cl.Buckets) < 2 {
				t.Errorf("mixed buckets: got %v, want two or more", cl.Buckets)
			}
		default:
			if len(cl.Buckets) != 1 || cl.Buckets[0] != cl.Bucket {
				t.Errorf("buckets: got %v, want [%s]", cl.Buckets, cl.Bucket)
			}
		}
		for _, s := range cl.Segments {
			if !strings.Contains(text, s.Text) {
				t.Errorf("segment %q: want a part of the memo", s.Text)
			}
		}
	})
}

// benchMemo is about 150 words, the length of a typical memo.
const benchMemo = "so um today at the clinic was kind of nuts, we had like twenty two " +
	"patients on the schedule and two walk ins, uh, the new front desk person, " +
	"Marguerite, is doing okay but she double booked the nine thirty slot so I " +
	"saw two people at once basically. The flu shots came in finally so we did " +
	"about fifteen of those in the afternoon. Doctor Abernathy wants me to update " +
	"the vaccine log by Friday and I still haven't done the inventory for the " +
	"supply closet, we're out of the small gloves again, I need to put the order " +
	"in tomorrow morning before ten or it won't come till next week. Oh and the " +
	"fridge temperature alarm went off around three, turned out somebody left " +
	"the door open, I moved everything and logged it. Staff meeting is Thursday " +
	"at eight, I need to bring the numbers for the quarterly report and the new " +
	"schedule for the holidays."

func BenchmarkClassify(b *testing.B) {
	m := newModel(b, classify.Options{})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Classify(ctx, benchMemo, whispersync.Hints{Folder: "work"}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNew(b *testing.B) {
	for b.Loop() {
		if _, err := classify.New(classify.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
