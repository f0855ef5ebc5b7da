package classify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/classify"
)

// devDir holds the development memos. None of them is in the training
// corpus: they measure how the model does on memos it has never seen.
const devDir = "../testdata/corpus/dev"

type devLabel struct {
	Bucket  whispersync.Bucket   `json:"bucket"`
	Buckets []whispersync.Bucket `json:"buckets"`
}

func TestEvaluateDevCorpus(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(devDir, "labels.json"))
	if err != nil {
		t.Fatalf("read labels: %v", err)
	}
	var labels map[string]devLabel
	if err := json.Unmarshal(data, &labels); err != nil {
		t.Fatalf("parse labels: %v", err)
	}
	names := make([]string, 0, len(labels))
	for name := range labels {
		names = append(names, name)
	}
	sort.Strings(names)

	m := newModel(t, classify.Options{})
	confusion := make(map[whispersync.Bucket]map[whispersync.Bucket]int)
	correct, setsCorrect, review := 0, 0, 0
	for _, name := range names {
		text, err := os.ReadFile(filepath.Join(devDir, name))
		if err != nil {
			t.Fatalf("read memo: %v", err)
		}
		want := labels[name]
		got, err := m.Classify(context.Background(), string(text), whispersync.Hints{})
		if err != nil {
			t.Fatalf("classify %s: %v", name, err)
		}
		if confusion[want.Bucket] == nil {
			confusion[want.Bucket] = make(map[whispersync.Bucket]int)
		}
		confusion[want.Bucket][got.Bucket]++
		if got.NeedsReview {
			review++
		}
		if got.Bucket == want.Bucket {
			correct++
			if sameBuckets(got.Buckets, want.Buckets) {
				setsCorrect++
			}
		} else {
			// Only the file name and the verdict: memo text stays out of logs.
			t.Logf("miss %s: got %s (%.2f), want %s", name, got.Bucket, got.Confidence, want.Bucket)
		}
	}

	acc := float64(correct) / float64(len(names))
	t.Logf("bucket accuracy: %d/%d = %.3f, with the full bucket list: %d/%d", correct, len(names), acc, setsCorrect, len(names))
	t.Logf("marked for review: %d/%d", review, len(names))
	for _, b := range []whispersync.Bucket{whispersync.BucketWork, whispersync.BucketMemory, whispersync.BucketIdea, whispersync.BucketMixed, whispersync.BucketUnclear} {
		var row []string
		for _, g := range []whispersync.Bucket{whispersync.BucketWork, whispersync.BucketMemory, whispersync.BucketIdea, whispersync.BucketMixed, whispersync.BucketUnclear} {
			row = append(row, fmt.Sprintf("%s=%d", g, confusion[b][g]))
		}
		t.Logf("want %-7s got %s", b, strings.Join(row, " "))
	}
	if acc < 0.90 {
		t.Errorf("bucket accuracy: got %.3f, want at least 0.90", acc)
	}
}

func sameBuckets(a, b []whispersync.Bucket) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
