package classify

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/whispersync/whispersync"
)

// The built-in training corpus: invented memos written for this package.
// Each file is named after its bucket ("work_2.txt" holds work memos) and
// separates memos with a line holding only "---". In mixed files every part
// of a memo starts on a new line with its bucket in brackets, such as
// "[memory] then we went to the lake", so the parts also train the model.
//
//go:embed corpus/*.txt
var corpusFS embed.FS

// memo is one labelled training memo; a single-bucket memo has one part.
type memo struct {
	text  string
	parts []part
}

type part struct {
	class class
	text  string
}

// loadCorpus parses every corpus file in name order, so training reads the
// memos in the same order on every run.
func loadCorpus(fsys fs.FS) ([]memo, error) {
	names, err := fs.Glob(fsys, "corpus/*.txt")
	if err != nil {
		return nil, fmt.Errorf("list corpus: %w", err)
	}
	sort.Strings(names)
	var memos []memo
	for _, name := range names {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("read corpus: %w", err)
		}
		ms, err := parseCorpusFile(path.Base(name), string(data))
		if err != nil {
			return nil, err
		}
		memos = append(memos, ms...)
	}
	return memos, nil
}

func parseCorpusFile(name, data string) ([]memo, error) {
	label, _, _ := strings.Cut(strings.TrimSuffix(name, ".txt"), "_")
	bucket, err := whispersync.ParseBucket(label)
	if err != nil {
		return nil, fmt.Errorf("corpus file %s: %w", name, err)
	}
	var memos []memo
	for i, block := range strings.Split(data, "\n---\n") {
		block = strings.TrimSpace(block)
		if block == "" {
			continue
		}
		var m memo
		if bucket == whispersync.BucketMixed {
			m, err = parseMixed(block)
			if err != nil {
				return nil, fmt.Errorf("corpus file %s, memo %d: %w", name, i+1, err)
			}
		} else {
			c, _ := classOf(bucket)
			m = memo{text: block, parts: []part{{class: c, text: block}}}
		}
		memos = append(memos, m)
	}
	return memos, nil
}

// parseMixed reads the tagged parts of one mixed memo.
func parseMixed(block string) (memo, error) {
	var m memo
	for line := range strings.SplitSeq(block, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if tag, rest, ok := strings.Cut(line, "]"); ok && strings.HasPrefix(tag, "[") {
			b, err := whispersync.ParseBucket(tag[1:])
			if err != nil {
				return memo{}, err
			}
			c, ok := classOf(b)
			if !ok || c == classUnclear {
				return memo{}, fmt.Errorf("part bucket %q is not an agent bucket", b)
			}
			m.parts = append(m.parts, part{class: c, text: strings.TrimSpace(rest)})
			continue
		}
		if len(m.parts) == 0 {
			return memo{}, fmt.Errorf("text before the first [bucket] tag: start each part with its bucket in brackets")
		}
		p := &m.parts[len(m.parts)-1]
		p.text += " " + line
	}
	if len(m.parts) < 2 {
		return memo{}, fmt.Errorf("a mixed memo needs at least two parts, found %d", len(m.parts))
	}
	texts := make([]string, len(m.parts))
	for i, p := range m.parts {
		texts[i] = p.text
	}
	m.text = strings.Join(texts, " ")
	return m, nil
}

// buckets returns the distinct agent buckets of m in routing order, or an
// empty list for an unclear memo; bucket is m's overall bucket.
func (m memo) buckets() (bucket whispersync.Bucket, buckets []whispersync.Bucket) {
	var has [numClasses]bool
	for _, p := range m.parts {
		has[p.class] = true
	}
	for c := range class(numAgents) {
		if has[c] {
			buckets = append(buckets, classBucket[c])
		}
	}
	switch len(buckets) {
	case 0:
		return whispersync.BucketUnclear, nil
	case 1:
		return buckets[0], buckets
	}
	return whispersync.BucketMixed, buckets
}
