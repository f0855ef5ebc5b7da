// Package classify decides the bucket of a memo (work, memory, idea, mixed
// or unclear) with a naive Bayes model trained on an embedded corpus of
// invented, labelled memos.
//
// # Model
//
// Features are stemmed content words and bigrams of a transcript with
// fillers ("um", "you know") removed. The model scores four classes: the
// three agent buckets and unclear, which learns mic tests, shopping lists,
// parking spots and fragments. Training is deterministic: the corpus is read
// in a fixed order and no randomness is involved, so the same text and hints
// always give the same verdict.
//
// # Mixed memos
//
// A memo is cut into small units at punctuation, commas and spoken topic
// shifts ("oh and", "other thing", "anyway"). Each unit is scored, and a
// Viterbi pass labels the units with agent buckets, paying a fixed cost for
// every change of bucket. When two or more buckets each hold a substantial
// share of the content words with a clear margin, the memo is mixed and
// each contiguous part becomes a Segment for its agent.
//
// # Unclear and review
//
// A memo with fewer than three content words, one the model scores as
// unclear, or one whose best bucket has a probability below 0.6 is
// unclear: Buckets is empty and NeedsReview is set. A single-bucket verdict
// below a probability of 0.8 is kept but also marked NeedsReview.
//
// # Hints
//
// The folder hint adds a modest prior (log-odds of 0.7) to the bucket it
// names; it settles close calls but never outweighs clear text.
package classify

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"unicode"

	"github.com/whispersync/whispersync"
)

// Decision constants. Each was chosen by cross-validation on the built-in
// corpus (see crossval_test.go), not by looking at evaluation memos.
const (
	// temperature divides summed log-likelihoods before the softmax.
	temperature = 7.0
	// hintPrior is the log-odds a folder hint adds to its bucket.
	hintPrior = 0.7
	// minContent is the fewest content words worth classifying.
	minContent = 3
	// unclearBelow is the probability under which the best bucket is not
	// trusted at all.
	unclearBelow = 0.6
	// reviewBelow is the probability under which a verdict is kept but
	// marked for review.
	reviewBelow = 0.8
	// switchPenalty is the cost, in nats, of changing bucket between two
	// neighbouring units of a memo.
	switchPenalty = 12.0
	// minShare is the smallest share of a memo's content words that a
	// bucket must hold to make the memo mixed.
	minShare = 0.2
	// minMargin is the smallest lead, in nats, that a part's bucket must
	// have over the next best bucket to make the memo mixed.
	minMargin = 6.0
)

// Example is a labelled memo to learn from in addition to the built-in
// corpus, such as a verdict corrected in review.
type Example struct {
	Text string
	// Buckets lists the agent buckets of the memo: one for a single-bucket
	// memo, several for a mixed one, none for an unclear one.
	Buckets []whispersync.Bucket
}

// Options configures a Model.
type Options struct {
	// Examples are learned after the built-in corpus, each with the weight
	// of one corpus memo. A mixed example is split into parts by the model
	// trained on the corpus, restricted to the example's buckets.
	Examples []Example
}

// Model is a trained classifier. It is immutable after New and safe for
// concurrent use.
type Model struct {
	nb       *bayes
	analyses *sync.Pool // of *analysis, reused across Classify calls
}

func newModel(nb *bayes) *Model {
	return &Model{nb: nb, analyses: newAnalysisPool(nb)}
}

var _ whispersync.Classifier = (*Model)(nil)

// New trains a model on the built-in corpus and opts.Examples. It returns
// an invalid-input error for an example without text or with a bucket that
// is not an agent bucket or unclear.
func New(opts Options) (*Model, error) {
	memos, err := loadCorpus(corpusFS)
	if err != nil {
		return nil, fmt.Errorf("classify: %w", err)
	}
	return build(memos, opts.Examples)
}

// build trains on memos, then on examples.
func build(memos []memo, examples []Example) (*Model, error) {
	c := newCounts()
	for _, m := range memos {
		for _, p := range m.parts {
			feats, _ := features(p.text)
			c.add(feats, p.class, 1)
		}
	}
	if len(examples) == 0 {
		return newModel(train(c)), nil
	}

	base := newModel(train(c))
	for i, ex := range examples {
		if err := base.learn(c, ex); err != nil {
			return nil, fmt.Errorf("classify: example %d: %w", i, err)
		}
	}
	return newModel(train(c)), nil
}

// learn adds one example to c, using m to split a mixed example.
func (m *Model) learn(c *counts, ex Example) error {
	if strings.TrimSpace(ex.Text) == "" {
		return whispersync.Errorf(whispersync.EINVALID, "example has no text: give the memo text")
	}
	var allowed [numAgents]bool
	var classes []class
	for _, b := range ex.Buckets {
		k, ok := classOf(b)
		if !ok {
			return whispersync.Errorf(whispersync.EINVALID, "example bucket %q is not allowed: use work, memory, idea or unclear", b)
		}
		if k == classUnclear || allowed[k] {
			continue
		}
		allowed[k] = true
		classes = append(classes, k)
	}
	switch len(classes) {
	case 0:
		feats, _ := features(ex.Text)
		c.add(feats, classUnclear, 1)
		return nil
	case 1:
		feats, _ := features(ex.Text)
		c.add(feats, classes[0], 1)
		return nil
	}

	a := m.analyze(ex.Text)
	defer m.release(a)
	runs := a.segment(allowed)
	if len(runs) < 2 {
		// The model cannot tell the parts apart: credit every bucket
		// equally rather than guess a split.
		feats, _ := features(ex.Text)
		for _, k := range classes {
			c.add(feats, k, 1/float64(len(classes)))
		}
		return nil
	}
	for _, r := range runs {
		feats, _ := features(ex.Text[a.units[r.first].start:a.units[r.last].end])
		c.add(feats, r.class, 1)
	}
	return nil
}

// Classify implements whispersync.Classifier.
func (m *Model) Classify(ctx context.Context, text string, hints whispersync.Hints) (whispersync.Classification, error) {
	if err := ctx.Err(); err != nil {
		return whispersync.Classification{}, fmt.Errorf("classify: %w", err)
	}
	a := m.analyze(text)
	defer m.release(a)
	prior := folderPrior(hints.Folder)
	a.memoIDs = a.featureIDs(a.memoIDs[:0], 0, len(a.positions))
	p := posterior(m.nb.score(a.memoIDs), prior, numClasses)
	if a.content < minContent {
		return unclear(p, "too few words to classify"), nil
	}

	if cl, ok := m.mixed(a); ok {
		return cl, nil
	}

	top := argmax(p, numClasses)
	if top == classUnclear {
		return unclear(p, "reads like "+m.topTerms(a.memoIDs, classUnclear, 3)), nil
	}
	if p[top] < unclearBelow {
		return unclear(p, fmt.Sprintf("no bucket is likely enough (best %s at %.2f)", classBucket[top], p[top])), nil
	}
	b := classBucket[top]
	return whispersync.Classification{
		Bucket:      b,
		Buckets:     []whispersync.Bucket{b},
		Confidence:  p[top],
		Reason:      string(b) + ": " + m.topTerms(a.memoIDs, top, 4),
		Segments:    []whispersync.Segment{{Bucket: b, Text: strings.TrimSpace(text), Confidence: p[top]}},
		NeedsReview: p[top] < reviewBelow,
	}, nil
}

// unclear is the verdict for a memo without a usable bucket. Its confidence
// is the probability that no agent bucket applies: the unclear class's
// probability or the doubt about the best agent bucket, whichever is higher.
func unclear(p scores, reason string) whispersync.Classification {
	best := p[argmax(p, numAgents)]
	return whispersync.Classification{
		Bucket:      whispersync.BucketUnclear,
		Buckets:     []whispersync.Bucket{},
		Confidence:  math.Max(p[classUnclear], 1-best),
		Reason:      reason,
		NeedsReview: true,
	}
}

// mixed reports the mixed verdict for the memo, if two or more buckets each
// hold a substantial, clearly scored part of it.
func (m *Model) mixed(a *analysis) (whispersync.Classification, bool) {
	runs := a.segment([numAgents]bool{true, true, true})
	if len(runs) < 2 {
		return whispersync.Classification{}, false
	}
	total := 0
	for _, r := range runs {
		total += r.content
	}
	var share [numAgents]float64
	var margin [numAgents]float64
	for _, r := range runs {
		share[r.class] += float64(r.content) / float64(max(total, 1))
		margin[r.class] = max(margin[r.class], lead(r.score, r.class))
	}
	var keep [numAgents]bool
	n := 0
	for k := range numAgents {
		if share[k] >= minShare && margin[k] >= minMargin {
			keep[k] = true
			n++
		}
	}
	if n < 2 {
		return whispersync.Classification{}, false
	}

	// Fold the runs of buckets that did not qualify into a neighbour, then
	// join neighbours of one bucket.
	var merged []run
	for _, r := range runs {
		switch {
		case keep[r.class] && len(merged) > 0 && merged[len(merged)-1].class == r.class,
			!keep[r.class] && len(merged) > 0:
			last := &merged[len(merged)-1]
			last.last = r.last
			last.content += r.content
			for c := range numClasses {
				last.score[c] += r.score[c]
			}
		case !keep[r.class]:
			// A leading run of a weak bucket joins the next run: give it
			// the next strong bucket now, the scores follow when it merges.
			r.class = firstKept(runs, keep)
			merged = append(merged, r)
		default:
			merged = append(merged, r)
		}
	}

	cl := whispersync.Classification{Bucket: whispersync.BucketMixed, Confidence: 1}
	var reasons []string
	for _, r := range merged {
		p := posterior(r.score, scores{}, numAgents)
		b := classBucket[r.class]
		first, last := a.units[r.first], a.units[r.last]
		cl.Segments = append(cl.Segments, whispersync.Segment{
			Bucket:     b,
			Text:       strings.TrimSpace(a.text[first.start:last.end]),
			Confidence: p[r.class],
		})
		cl.Confidence = math.Min(cl.Confidence, p[r.class])
		a.partIDs = a.featureIDs(a.partIDs[:0], first.from, last.to)
		reasons = append(reasons, string(b)+": "+m.topTerms(a.partIDs, r.class, 3))
	}
	for k := range class(numAgents) {
		if keep[k] {
			cl.Buckets = append(cl.Buckets, classBucket[k])
		}
	}
	cl.Reason = strings.Join(reasons, "; ")
	cl.NeedsReview = cl.Confidence < reviewBelow
	return cl, true
}

func firstKept(runs []run, keep [numAgents]bool) class {
	for _, r := range runs {
		if keep[r.class] {
			return r.class
		}
	}
	return runs[0].class
}

// lead returns how far, in nats, class k scores above the best other agent
// class.
func lead(s scores, k class) float64 {
	other := math.Inf(-1)
	for c := range class(numAgents) {
		if c != k {
			other = math.Max(other, s[c])
		}
	}
	return s[k] - other
}

// folderPrior maps a folder name to log-odds per class. The name is split
// into words, so "github_ideas" and "Work Notes" are understood.
func folderPrior(folder string) scores {
	var prior scores
	for w := range strings.FieldsFuncSeq(strings.ToLower(folder), func(r rune) bool {
		return !unicode.IsLetter(r)
	}) {
		switch w {
		case "work", "job":
			prior[classWork] = hintPrior
		case "memory", "memories":
			prior[classMemory] = hintPrior
		case "idea", "ideas":
			prior[classIdea] = hintPrior
		}
	}
	return prior
}

// topTerms lists the n features among ids that most favour class k over
// the other classes, strongest first. Ties are broken by name, so the
// reason is deterministic.
func (m *Model) topTerms(ids []int32, k class, n int) string {
	// top stays sorted, strongest first. An insertion sort suits the few
	// terms a reason names.
	top := make([]int32, 0, n)
	for _, id := range ids {
		if m.nb.favour[id][k] <= 0 {
			continue
		}
		i := len(top)
		for i > 0 && m.nb.ranksBefore(id, top[i-1], k) {
			i--
		}
		if i == n {
			continue
		}
		if len(top) < n {
			top = append(top, 0)
		}
		copy(top[i+1:], top[i:len(top)-1])
		top[i] = id
	}
	if len(top) == 0 {
		return "no telling terms"
	}
	var b strings.Builder
	for i, id := range top {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(m.nb.names[id])
	}
	return b.String()
}
