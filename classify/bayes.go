package classify

import (
	"math"
	"strings"

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
//
// Features are numbered so that classifying reads slices instead of maps.
// The numbering follows map order and differs between models. Nothing
// depends on it: scores add up in text order and reasons sort by name.
type bayes struct {
	// stems maps every stem that occurs in a feature to its index and its
	// unigram feature id.
	stems map[string]stemIDs
	// bigrams maps the stem indexes of a bigram, by bigramKey, to its id.
	bigrams map[uint64]int32
	names   []string // id to feature
	logp    []scores // id to log-likelihood per class
	// favour is, per id and class k, how far the feature's log-likelihood
	// under k exceeds its best one under another class. topTerms ranks
	// features by it.
	favour []scores
}

// smoothing is the additive (Lidstone) smoothing constant; 0.5 was chosen
// by cross-validation on the built-in corpus.
const smoothing = 0.5

func train(c *counts) *bayes {
	vocab := float64(len(c.feat))
	m := &bayes{
		// Size estimates from the built-in corpus, which has about a fifth
		// as many stems as features.
		stems:   make(map[string]stemIDs, len(c.feat)/4),
		bigrams: make(map[uint64]int32, len(c.feat)),
		names:   make([]string, 0, len(c.feat)),
		logp:    make([]scores, 0, len(c.feat)),
		favour:  make([]scores, 0, len(c.feat)),
	}
	for f, n := range c.feat {
		var s scores
		for k := range numClasses {
			s[k] = math.Log((n[k] + smoothing) / (c.total[k] + smoothing*vocab))
		}
		id := int32(len(m.names)) // #nosec G115 -- the vocabulary of a trained model is far below 2^31 features
		if first, second, ok := strings.Cut(f, " "); ok {
			m.bigrams[bigramKey(m.addStem(first).index, m.addStem(second).index)] = id
		} else {
			ids := m.addStem(f)
			ids.unigram = id
			m.stems[f] = ids
		}
		m.names = append(m.names, f)
		m.logp = append(m.logp, s)
		m.favour = append(m.favour, favour(s))
	}
	return m
}

// favour returns, for each class k, lp[k] minus the largest lp of the other
// classes.
func favour(lp scores) scores {
	var f scores
	for k := range numClasses {
		other := math.Inf(-1)
		for c := range numClasses {
			if c != k {
				other = math.Max(other, lp[c])
			}
		}
		f[k] = lp[k] - other
	}
	return f
}

// stemIDs are the ids of a stem that occurs in a feature.
type stemIDs struct {
	index   int32 // index among the stems, for bigramKey
	unigram int32 // feature id of the stem alone, or -1
}

// addStem returns the ids of stem, adding it when it is new.
func (m *bayes) addStem(stem string) stemIDs {
	ids, ok := m.stems[stem]
	if !ok {
		ids = stemIDs{index: int32(len(m.stems)), unigram: -1} // #nosec G115 -- the stems of a model are far below 2^31
		m.stems[stem] = ids
	}
	return ids
}

// lookupStem returns the ids of a stem, given as bytes so that callers can
// build it in a buffer. Its index is -1 when no feature contains the stem.
func (m *bayes) lookupStem(stem []byte) stemIDs {
	if ids, ok := m.stems[string(stem)]; ok {
		return ids
	}
	return stemIDs{index: -1, unigram: -1}
}

// bigram returns the id of the bigram of two stem indexes, or -1 when
// training never saw it.
func (m *bayes) bigram(first, second int32) int32 {
	if first < 0 || second < 0 {
		return -1
	}
	if id, ok := m.bigrams[bigramKey(first, second)]; ok {
		return id
	}
	return -1
}

func bigramKey(first, second int32) uint64 {
	return uint64(uint32(first))<<32 | uint64(uint32(second)) // #nosec G115 -- ids are not negative, so the bits stay the same
}

// ranksBefore reports whether feature a favours class k more than feature
// b does, breaking ties by name.
func (m *bayes) ranksBefore(a, b int32, k class) bool {
	if fa, fb := m.favour[a][k], m.favour[b][k]; fa != fb {
		return fa > fb
	}
	return m.names[a] < m.names[b]
}

// score sums the log-likelihoods of the features with the given ids, in
// their order.
func (m *bayes) score(ids []int32) scores {
	var s scores
	for _, id := range ids {
		lp := &m.logp[id]
		for k := range numClasses {
			s[k] += lp[k]
		}
	}
	return s
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
