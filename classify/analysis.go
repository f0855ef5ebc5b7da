package classify

import "sync"

// analysis is a memo read once: its words, its units and, for every word
// that is not a filler, the ids of the features the word adds. The whole
// memo, each unit and each segment are scored from these ids. They are the
// features that reading each part of the text on its own would give,
// because units and segments start and end at word boundaries.
//
// An analysis belongs to one Classify call at a time. Models keep them in a
// pool so that their buffers are reused.
type analysis struct {
	nb        *bayes
	text      string
	tokens    []token
	units     []unit
	positions []position
	content   int // content words in the memo

	// seen[id] == generation when featureIDs has already listed id in the
	// current call. A new generation starts each call, so seen is cleared
	// only when the counter wraps around.
	seen       []uint32
	generation uint32

	// Buffers reused across calls.
	memoIDs, partIDs []int32
	unitScores       []scores
	unitContents     []int
	stemBytes        []byte
}

// position is a word that is not a filler, in the order of the memo.
type position struct {
	unigram int32 // id of the word's stem; -1 for a stopword or an unknown stem
	bigram  int32 // id of the bigram ending at this word; -1 when there is none or it is unknown
	content bool  // the word is not a stopword
}

func newAnalysisPool(nb *bayes) *sync.Pool {
	return &sync.Pool{New: func() any {
		return &analysis{nb: nb, seen: make([]uint32, len(nb.names))}
	}}
}

// analyze reads text. Call release when done with the result.
func (m *Model) analyze(text string) *analysis {
	a := m.analyses.Get().(*analysis)
	a.text = text
	a.tokens = tokenize(a.tokens[:0], text)
	a.units = units(a.units[:0], text, a.tokens)
	a.positions = a.positions[:0]
	a.content = 0
	prevStop := false
	prevStem := int32(-1) // index of the previous word's stem
	// Units cover the tokens in order, so walking them visits every token.
	for i := range a.units {
		u := &a.units[i]
		u.from = len(a.positions)
		for _, t := range a.tokens[u.firstToken : u.lastToken+1] {
			if t.word == "" || t.filler {
				continue
			}
			p := position{unigram: -1, bigram: -1}
			stop := t.stopword
			a.stemBytes = appendStem(a.stemBytes[:0], t.word)
			known := a.nb.lookupStem(a.stemBytes)
			if !stop {
				p.content = true
				p.unigram = known.unigram
				a.content++
			}
			// The bigram pairs the stems of neighbouring words and is
			// dropped when both are stopwords, as in features.
			if len(a.positions) > 0 && !(stop && prevStop) {
				p.bigram = a.nb.bigram(prevStem, known.index)
			}
			a.positions = append(a.positions, p)
			prevStem, prevStop = known.index, stop
		}
		u.to = len(a.positions)
	}
	return a
}

// release returns a to the model's pool. It drops the references to the
// memo text so that the pool does not keep memos alive.
func (m *Model) release(a *analysis) {
	a.text = ""
	clear(a.tokens)
	m.analyses.Put(a)
}

// featureIDs appends to dst the distinct known feature ids of the words at
// positions [from, to), in order of first appearance, as features lists
// them for that part of the text. The first word's bigram belongs to the
// previous part and is left out.
func (a *analysis) featureIDs(dst []int32, from, to int) []int32 {
	a.generation++
	if a.generation == 0 {
		clear(a.seen)
		a.generation = 1
	}
	add := func(id int32) {
		if id >= 0 && a.seen[id] != a.generation {
			a.seen[id] = a.generation
			dst = append(dst, id)
		}
	}
	for i := from; i < to; i++ {
		add(a.positions[i].unigram)
		if i > from {
			add(a.positions[i].bigram)
		}
	}
	return dst
}

// segment scores the units and labels them with the allowed buckets.
func (a *analysis) segment(allowed [numAgents]bool) []run {
	a.unitScores = a.unitScores[:0]
	a.unitContents = a.unitContents[:0]
	for _, u := range a.units {
		a.partIDs = a.featureIDs(a.partIDs[:0], u.from, u.to)
		a.unitScores = append(a.unitScores, a.nb.score(a.partIDs))
		content := 0
		for _, p := range a.positions[u.from:u.to] {
			if p.content {
				content++
			}
		}
		a.unitContents = append(a.unitContents, content)
	}
	return segmentRuns(a.unitScores, a.unitContents, allowed)
}
