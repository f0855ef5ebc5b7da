package classify

import (
	"context"
	"fmt"
	"slices"
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
