package classify

import (
	"slices"
	"testing"

	"github.com/whispersync/whispersync"
)

func TestLoadCorpusCounts(t *testing.T) {
	memos, err := loadCorpus(corpusFS)
	if err != nil {
		t.Fatalf("load corpus: %v", err)
	}
	counts := make(map[whispersync.Bucket]int)
	for _, m := range memos {
		b, _ := m.buckets()
		counts[b]++
	}
	minimum := map[whispersync.Bucket]int{
		whispersync.BucketWork: 100, whispersync.BucketMemory: 100, whispersync.BucketIdea: 100,
		whispersync.BucketMixed: 50, whispersync.BucketUnclear: 50,
	}
	for b, n := range minimum {
		if counts[b] < n {
			t.Errorf("%s memos: got %d, want at least %d", b, counts[b], n)
		}
	}
}

func TestParseCorpusFileMixed(t *testing.T) {
	data := "[work] fixed the pump\nand the valve\n[memory] then we went to the lake\n---\n[idea] an app\n[work] payroll\n"
	memos, err := parseCorpusFile("mixed_9.txt", data)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if len(memos) != 2 {
		t.Fatalf("memos: got %d, want 2", len(memos))
	}
	if got, want := memos[0].text, "fixed the pump and the valve then we went to the lake"; got != want {
		t.Errorf("text: got %q, want %q", got, want)
	}
	bucket, buckets := memos[1].buckets()
	if bucket != whispersync.BucketMixed {
		t.Errorf("bucket: got %s, want mixed", bucket)
	}
	if want := []whispersync.Bucket{whispersync.BucketWork, whispersync.BucketIdea}; !slices.Equal(buckets, want) {
		t.Errorf("buckets: got %v, want %v", buckets, want)
	}
}

func TestParseCorpusFileErrors(t *testing.T) {
	tests := []struct {
		name, file, data string
	}{
		{"unknown bucket in file name", "chores_1.txt", "take out the bins"},
		{"text before the first tag", "mixed_1.txt", "hello\n[work] payroll\n[idea] an app"},
		{"one part only", "mixed_1.txt", "[work] payroll"},
		{"unclear part", "mixed_1.txt", "[work] payroll\n[unclear] testing"},
		{"unknown part bucket", "mixed_1.txt", "[work] payroll\n[chores] bins"},
	}
	for _, tt := range tests {
		if _, err := parseCorpusFile(tt.file, tt.data); err == nil {
			t.Errorf("%s: error: got nil, want a parse error", tt.name)
		}
	}
}

func FuzzParseCorpusFile(f *testing.F) {
	f.Add("mixed_1.txt", "[work] a\n[memory] b\n---\n[idea] c\n[work] d")
	f.Add("work_1.txt", "a\n---\nb")
	f.Fuzz(func(t *testing.T, name, data string) {
		memos, err := parseCorpusFile(name, data)
		if err != nil {
			return
		}
		for _, m := range memos {
			if len(m.parts) == 0 {
				t.Errorf("memo %q: got no parts, want at least one", m.text)
			}
		}
	})
}
