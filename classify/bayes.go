package classify

import (
	"math"

	"github.com/whispersync/whispersync"
)

// class indexes the model's classes: the three agent buckets and unclear.
type class int

const (
	classWork class = iota
	classMemory
	classIdea
	classUnclear
)

// numClasses counts the classes; the numAgents agent classes come first.
const (
	numClasses = 4
	numAgents  = 3
)

var classBucket = [numClasses]whispersync.Bucket{
	whispersync.BucketWork,
	whispersync.BucketMemory,
	whispersync.BucketIdea,
	whispersync.BucketUnclear,
}

func classOf(b whispersync.Bucket) (class, bool) {
	for c, cb := range classBucket {
		if cb == b {
			return class(c), true
		}
	}
	return 0, false
}

// scores holds one log-likelihood per class, in nats.
type scores [numClasses]float64

// counts accumulates weighted feature occurrences per class. Each feature
// counts once per example (binarized counts), which suits short texts
// better than raw frequencies.
type counts struct {
	feat  map[string]*scores
	total scores
}

func newCounts() *counts {
	return &counts{feat: make(map[string]*scores)}
}

func (c *counts) add(feats []string, k class, weight float64) {
	for _, f := range feats {
		s := c.feat[f]
		if s == nil {
			s = new(scores)
			c.feat[f] = s
		}
		s[k] += weight
		c.total[k] += weight
	}
}

// bayes is a multinomial naive Bayes model over binarized features with
// additive smoothing. Class priors are uniform because the corpus
// proportions do not reflect how often a user records each kind of memo.
type bayes struct {
	logp map[string]scores
}

// smoothing is the additive (Lidstone) smoothing constant; 0.5 was chosen
// by cross-validation on the built-in corpus.
const smoothing = 0.5

func train(c *counts) *bayes {
	vocab := float64(len(c.feat))
	m := &bayes{logp: make(map[string]scores, len(c.feat))}
	for f, n := range c.feat {
		var s scores
		for k := range numClasses {
			s[k] = math.Log((n[k] + smoothing) / (c.total[k] + smoothing*vocab))
		}
		m.logp[f] = s
	}
	return m
}

// score sums the log-likelihoods of the known features; features never seen
// in training carry no evidence and are skipped.
func (m *bayes) score(feats []string) (s scores, known int) {
	for _, f := range feats {
		lp, ok := m.logp[f]
		if !ok {
			continue
		}
		known++
		for k := range numClasses {
			s[k] += lp[k]
		}
	}
	return s, known
}

// posterior turns scores into probabilities over the first n classes. The
// naive independence assumption double-counts correlated features (a
// unigram and the bigrams around it), so scores are divided by temperature
// before the softmax. The prior adds log-odds per class.
func posterior(s scores, prior scores, n int) scores {
	var p scores
	best := math.Inf(-1)
	for k := range n {
		p[k] = s[k]/temperature + prior[k]
		best = max(best, p[k])
	}
	var sum float64
	for k := range n {
		p[k] = math.Exp(p[k] - best)
		sum += p[k]
	}
	for k := range n {
		p[k] /= sum
	}
	return p
}

func argmax(p scores, n int) class {
	best := class(0)
	for k := 1; k < n; k++ {
		if p[k] > p[best] {
			best = class(k)
		}
	}
	return best
}
