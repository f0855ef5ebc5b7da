package classify

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/whispersync/whispersync"
)

// crossValidate trains on k-1 folds of the built-in corpus and classifies
// the held-out fold, for each of k folds. Memo i belongs to fold i mod k,
// so the split is the same on every run.
func crossValidate(t testing.TB, k int) (correct, total int, confusion map[string]int) {
	t.Helper()
	memos, err := loadCorpus(corpusFS)
	if err != nil {
		t.Fatal(err)
	}
	confusion = make(map[string]int)
	for fold := range k {
		var train, test []memo
		for i, m := range memos {
			if i%k == fold {
				test = append(test, m)
			} else {
				train = append(train, m)
			}
		}
		model, err := build(train, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range test {
			want, wantBuckets := m.buckets()
			got, err := model.Classify(context.Background(), m.text, whispersync.Hints{})
			if err != nil {
				t.Fatal(err)
			}
			total++
			if got.Bucket == want && (want != whispersync.BucketMixed || slices.Equal(got.Buckets, wantBuckets)) {
				correct++
			}
			confusion[fmt.Sprintf("%s->%s", want, got.Bucket)]++
		}
	}
	return correct, total, confusion
}

func TestCrossValidation(t *testing.T) {
	correct, total, confusion := crossValidate(t, 5)
	acc := float64(correct) / float64(total)
	t.Logf("5-fold accuracy on the built-in corpus: %d/%d = %.3f", correct, total, acc)
	t.Logf("confusion (want->got): %v", confusion)
	if acc < 0.85 {
		t.Errorf("cross-validated accuracy: got %.3f, want at least 0.85", acc)
	}
}

// TestCrossValidationComposed checks the segmentation on memos composed
// from held-out corpus memos: several memos of one bucket joined into a long
// memo must stay single-bucket, and two memos of different buckets joined
// with a spoken transition must come out mixed with both buckets.
func TestCrossValidationComposed(t *testing.T) {
	memos, err := loadCorpus(corpusFS)
	if err != nil {
		t.Fatal(err)
	}
	const k = 5
	transitions := []string{" Oh and ", " Anyway, ", " Other thing, ", " ", " And then ", " Also, "}
	var longOK, longN, mixedOK, mixedN int
	for fold := range k {
		var train []memo
		byClass := make(map[class][]memo)
		for i, m := range memos {
			if i%k != fold {
				train = append(train, m)
				continue
			}
			if len(m.parts) == 1 && m.parts[0].class != classUnclear {
				byClass[m.parts[0].class] = append(byClass[m.parts[0].class], m)
			}
		}
		model, err := build(train, nil)
		if err != nil {
			t.Fatal(err)
		}
		for c := range class(numAgents) {
			ms := byClass[c]
			for i := 0; i+4 <= len(ms); i += 4 {
				var parts []string
				for _, m := range ms[i : i+4] {
					parts = append(parts, m.text)
				}
				got, _ := model.Classify(context.Background(), strings.Join(parts, " "), whispersync.Hints{})
				longN++
				if got.Bucket == classBucket[c] {
					longOK++
				}
			}
			d := (c + 1) % numAgents
			for i := 0; i < len(ms) && i < len(byClass[d]); i++ {
				text := ms[i].text + transitions[i%len(transitions)] + byClass[d][i].text
				got, _ := model.Classify(context.Background(), text, whispersync.Hints{})
				mixedN++
				if got.Bucket == whispersync.BucketMixed && len(got.Buckets) == 2 {
					mixedOK++
				}
			}
		}
	}
	longAcc := float64(longOK) / float64(longN)
	mixedAcc := float64(mixedOK) / float64(mixedN)
	t.Logf("long single-bucket memos kept single: %d/%d = %.3f", longOK, longN, longAcc)
	t.Logf("composed mixed memos found mixed: %d/%d = %.3f", mixedOK, mixedN, mixedAcc)
	if longAcc < 0.9 {
		t.Errorf("long single-bucket accuracy: got %.3f, want at least 0.9", longAcc)
	}
	if mixedAcc < 0.8 {
		t.Errorf("composed mixed accuracy: got %.3f, want at least 0.8", mixedAcc)
	}
}
