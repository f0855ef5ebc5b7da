package extract

// Doc is a transcript tokenized once, for callers that need several facts
// from the same text: an agent needs people, places, themes and terms of
// one memo, and each would otherwise split the text again. A Doc is not
// safe for concurrent use.
type Doc struct {
	toks    []token
	classes []nameClass
	stems   *stems
}

// Parse tokenizes text for the Doc methods.
func Parse(text string) *Doc {
	return &Doc{toks: tokenizeRecycled(text)}
}

// Release returns the memory of d for reuse by later calls. Results already
// returned stay valid, but d must not be used afterwards.
func (d *Doc) Release() {
	recycleTokens(d.toks)
	*d = Doc{}
}

func (d *Doc) nameClasses() []nameClass {
	if d.classes == nil {
		d.classes = classify(d.toks)
	}
	return d.classes
}

func (d *Doc) tokenStems() *stems {
	if d.stems == nil {
		d.stems = newStems(d.toks)
	}
	return d.stems
}

// People returns the same as the package function People.
func (d *Doc) People() []string { return peopleFrom(d.toks, d.nameClasses()) }

// Places returns the same as the package function Places.
func (d *Doc) Places() []string { return placesFrom(d.toks, d.nameClasses()) }

// Themes returns the same as the package function Themes.
func (d *Doc) Themes() []string { return themesFrom(d.toks, d.nameClasses(), d.tokenStems()) }

// ActionItems returns the same as the package function ActionItems.
func (d *Doc) ActionItems() []string { return actionItemsFrom(d.toks) }

// Sentiment returns the same as the package function Sentiment.
func (d *Doc) Sentiment() (label string, score float64) { return sentimentFrom(d.toks) }

// Terms returns the same as the package function Terms.
func (d *Doc) Terms() []string { return termsFrom(d.toks, d.tokenStems()) }

// Summary returns the same as the package function Summary.
func (d *Doc) Summary(maxChars int) string { return summaryFrom(d.toks, maxChars) }
