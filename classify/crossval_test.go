package classify

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/whispersync/whispersync"
)

// folds is the number of cross-validation folds. Memo i belongs to fold
// i mod folds, so the split is the same on every run.
const folds = 5

// splitFold returns the memos outside fold and the memos inside it.
func splitFold(memos []memo, fold int) (train, test []memo) {
	for i, m := range memos {
		if i%folds == fold {
			test = append(test, m)
		} else {
			train = append(train, m)
		}
	}
	return train, test
}

func corpusMemos(t *testing.T) []memo {
	t.Helper()
	memos, err := loadCorpus(corpusFS)
	if err != nil {
		t.Fatalf("load corpus: %v", err)
	}
	return memos
}

func classifyPlain(t *testing.T, m *Model, text string) whispersync.Classification {
	t.Helper()
	cl, err := m.Classify(context.Background(), text, whispersync.Hints{})
	if err != nil {
		t.Fatalf("Classify: %v", err)
	}
	return cl
}

func TestCrossValidationCorpus(t *testing.T) {
	memos := corpusMemos(t)
	confusion := make(map[string]int)
	correct := 0
	for fold := range folds {
		train, test := splitFold(memos, fold)
		model, err := build(train, nil)
		if err != nil {
			t.Fatalf("build: %v", err)
		}

		for _, m := range test {
			want, wantBuckets := m.buckets()
			got := classifyPlain(t, model, m.text)
			if got.Bucket == want && (want != whispersync.BucketMixed || slices.Equal(got.Buckets, wantBuckets)) {
				correct++
			}
			confusion[fmt.Sprintf("%s->%s", want, got.Bucket)]++
		}
	}

	acc := float64(correct) / float64(len(memos))
	t.Logf("%d-fold accuracy on the built-in corpus: %d/%d = %.3f", folds, correct, len(memos), acc)
	t.Logf("confusion (want->got): %v", confusion)
	if acc < 0.9 {
		t.Errorf("cross-validated accuracy: got %.3f, want at least 0.9", acc)
	}
}

// composedScore counts how a model does on memos composed from the
// single-bucket memos of one held-out fold.
type composedScore struct {
	longOK, long, mixedOK, mixed int
}

// transitions join the two parts of a composed mixed memo, as people do in
// speech, including no transition at all.
var transitions = []string{" Oh and ", " Anyway, ", " Other thing, ", " ", " And then ", " Also, "}

// scoreComposed joins four memos of one bucket into a long memo, which must
// stay single-bucket. It joins two memos of different buckets with a
// transition, which must come out mixed with both buckets.
func scoreComposed(t *testing.T, model *Model, byClass map[class][]memo, s *composedScore) {
	t.Helper()
	for c := range class(numAgents) {
		ms := byClass[c]
		for i := 0; i+4 <= len(ms); i += 4 {
			var texts []string
			for _, m := range ms[i : i+4] {
				texts = append(texts, m.text)
			}
			s.long++
			if classifyPlain(t, model, strings.Join(texts, " ")).Bucket == classBucket[c] {
				s.longOK++
			}
		}

		other := byClass[(c+1)%numAgents]
		for i := 0; i < len(ms) && i < len(other); i++ {
			text := ms[i].text + transitions[i%len(transitions)] + other[i].text
			got := classifyPlain(t, model, text)
			s.mixed++
			if got.Bucket == whispersync.BucketMixed && len(got.Buckets) == 2 {
				s.mixedOK++
			}
		}
	}
}

func TestCrossValidationComposed(t *testing.T) {
	memos := corpusMemos(t)
	var s composedScore
	for fold := range folds {
		train, test := splitFold(memos, fold)
		model, err := build(train, nil)
		if err != nil {
			t.Fatalf("build: %v", err)
		}

		byClass := make(map[class][]memo)
		for _, m := range test {
			if len(m.parts) == 1 && m.parts[0].class != classUnclear {
				byClass[m.parts[0].class] = append(byClass[m.parts[0].class], m)
			}
		}
		scoreComposed(t, model, byClass, &s)
	}

	longAcc := float64(s.longOK) / float64(s.long)
	mixedAcc := float64(s.mixedOK) / float64(s.mixed)
	t.Logf("long single-bucket memos kept single: %d/%d = %.3f", s.longOK, s.long, longAcc)
	t.Logf("composed mixed memos found mixed: %d/%d = %.3f", s.mixedOK, s.mixed, mixedAcc)
	if longAcc < 0.9 {
		t.Errorf("long single-bucket accuracy: got %.3f, want at least 0.9", longAcc)
	}
	if mixedAcc < 0.8 {
		t.Errorf("composed mixed accuracy: got %.3f, want at least 0.8", mixedAcc)
	}
}
