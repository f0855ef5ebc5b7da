package extract

import "math"

// Sentiment labels.
const (
	Positive = "positive"
	Negative = "negative"
	Neutral  = "neutral"
	Mixed    = "mixed"
)

// Lexicon words with a weight of 2 are strong ("amazing", "devastated");
// the rest weigh 1.
const (
	positiveWords = `
good great nice happy glad fun funny laugh laughed laughing love loved lovely enjoy enjoyed proud calm patient sweet kind beautiful pretty worth better best win won success successful thank thanks thankful grateful lucky excited exciting hope hopeful helpful helped relief relieved peaceful peace safe smile smiled smiling cozy warm easy special solid handled fixed merged finished decent cool
`
	strongPositiveWords = `
amazing awesome wonderful fantastic incredible perfect perfectly brilliant delighted thrilled joy joyful loving adore adored cherish treasure magical blessed overjoyed ecstatic
`
	negativeWords = `
bad sad sadly tired sick hurt pain worried worry nervous scared afraid annoyed angry mad upset frustrated frustrating stress stressed stressful hard difficult problem problems issue issues fail failed failing failure broken broke late lost lose lonely low cry cried crying miss missed wrong mess messy stuck blocker blocked slipping short unsafe embarrassing embarrassed disappointed disappointing deflated struggle struggling killing leaking overdue chaos chaotic fight fought ugly wet weird sorry hated sweat outage incident
`
	strongNegativeWords = `
terrible awful horrible devastated heartbroken miserable disaster nightmare furious hopeless crushed panic dread dreadful died death grief insane hate
`
	negators     = `not no never without hardly barely isn't wasn't aren't weren't don't doesn't didn't can't couldn't won't wouldn't shouldn't nothing nobody`
	intensifiers = `very so really extremely super totally incredibly truly quite deeply`
)

var (
	sentimentWeights = func() map[string]float64 {
		m := make(map[string]float64)
		for w := range kindSet(kindPositive, positiveWords) {
			m[w] = 1
		}
		for w := range kindSet(kindStrongPositive, strongPositiveWords) {
			m[w] = 2
		}
		for w := range kindSet(kindNegative, negativeWords) {
			m[w] = -1
		}
		for w := range kindSet(kindStrongNegative, strongNegativeWords) {
			m[w] = -2
		}
		return m
	}()
	negatorSet     = kindSet(kindNegator, negators)
	stateWordSet   = kindSet(kindStateWord, `okay ok fine alright`)
	linkingSet     = kindSet(kindLinking, `feel felt feeling feels is was am are be been being seems seemed looks looked he's she's it's i'm we're they're you're that's everyone's really`)
	intensifierSet = kindSet(kindIntensifier, intensifiers)
)

// negationWindow is how many words before a sentiment word a negator
// reaches ("not really happy").
const negationWindow = 3

// Sentiment scores text with a word lexicon and returns a label (positive,
// negative, neutral or mixed) and a score in [-1, 1]. A negator up to three
// words before a sentiment word, in the same clause, flips it ("not
// happy"); an intensifier right before strengthens it ("so proud"). The
// label is mixed when both sides carry real weight, as in a memo that is
// scared and grateful at once.
func Sentiment(text string) (label string, score float64) {
	return sentimentFrom(tokenize(text))
}

func sentimentFrom(toks []token) (string, float64) {
	var pos, neg float64
	for i := range toks {
		weight, ok := sentimentWeight(toks[i].kind)
		if !ok {
			// "okay" and "fine" open half the sentences of a transcript;
			// they count only as a state: "I feel okay", "he's fine".
			if !toks[i].kind.has(kindStateWord) || i == 0 || !(toks[i-1].kind.has(kindLinking) || toks[i-1].possessive) {
				continue
			}
			weight = 1
		}
		if i > 0 && toks[i-1].kind.has(kindIntensifier) && !toks[i].commaBefore && !toks[i-1].endsSentence {
			weight *= 1.5
		}
		if negatedAt(toks, i) {
			// A negated word points weakly the other way: "not bad" is
			// mildly good, not great.
			weight *= -0.5
		}
		if weight > 0 {
			pos += weight
		} else {
			neg -= weight
		}
	}
	total := pos + neg
	if total < 1 {
		return Neutral, 0
	}
	// The balance, damped for memos with little evidence: one "nice" is
	// not a glowing memo.
	score := (pos - neg) / total * math.Min(1, total/4)
	score = math.Round(score*1000) / 1000
	minor, major := math.Min(pos, neg), math.Max(pos, neg)
	switch {
	case minor >= 2 && minor/major >= 0.5:
		return Mixed, score
	case score >= 0.15:
		return Positive, score
	case score <= -0.15:
		return Negative, score
	case pos > 0 && neg > 0:
		return Mixed, score
	}
	return Neutral, score
}

// sentimentWeight returns the weight in sentimentWeights of a word of the
// given kinds, where a later list overrides an earlier one.
func sentimentWeight(kind wordKind) (float64, bool) {
	switch {
	case kind.has(kindStrongNegative):
		return -2, true
	case kind.has(kindNegative):
		return -1, true
	case kind.has(kindStrongPositive):
		return 2, true
	case kind.has(kindPositive):
		return 1, true
	}
	return 0, false
}

func negatedAt(toks []token, i int) bool {
	for k := i - 1; k >= 0 && k >= i-negationWindow; k-- {
		// A word that ends a sentence is in an earlier sentence than word i.
		if toks[k].endsSentence || toks[k+1].commaBefore {
			return false
		}
		if toks[k].kind.has(kindNegator) {
			return true
		}
	}
	return false
}
