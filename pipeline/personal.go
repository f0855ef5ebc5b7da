package pipeline

import (
	"context"
	"fmt"
	"sync"

	"github.com/whispersync/whispersync"
)

// Correction is a memo's text with the buckets a person assigned to it.
type Correction struct {
	Text    string
	Buckets []whispersync.Bucket
}

// Personalizer returns a classifier that has also learned from one owner's
// corrections.
type Personalizer func(corrections []Correction) (whispersync.Classifier, error)

// maxPersonalModels bounds how many owners' personal classifiers stay in
// memory; an evicted one is rebuilt from the owner's corrections on use.
const maxPersonalModels = 32

// personalModels caches per-owner classifiers. An owner without corrections
// uses the shared classifier, and that is cached too.
type personalModels struct {
	mu     sync.Mutex
	models map[string]whispersync.Classifier
}

// classifierFor returns the classifier for owner: the shared one, or one
// trained with the owner's recorded corrections when a Personalizer is set.
func (p *Pipeline) classifierFor(ctx context.Context, owner string) (whispersync.Classifier, error) {
	if p.personalize == nil {
		return p.classifier, nil
	}
	p.personal.mu.Lock()
	c, ok := p.personal.models[owner]
	p.personal.mu.Unlock()
	if ok {
		return c, nil
	}

	items, err := p.tables.Query(ctx, whispersync.Query{Table: tableTrainingSignals, Owner: owner})
	if err != nil {
		return nil, fmt.Errorf("load corrections: %w", err)
	}
	c = p.classifier
	if len(items) > 0 {
		corrections := make([]Correction, 0, len(items))
		for _, it := range items {
			var s trainingSignal
			if err := p.openItem(ctx, tableTrainingSignals, it, &s); err != nil {
				return nil, err
			}
			corrections = append(corrections, Correction{Text: s.Text, Buckets: s.Buckets})
		}
		if c, err = p.personalize(corrections); err != nil {
			return nil, fmt.Errorf("train personal classifier: %w", err)
		}
	}

	p.personal.mu.Lock()
	defer p.personal.mu.Unlock()
	if p.personal.models == nil || len(p.personal.models) >= maxPersonalModels {
		p.personal.models = map[string]whispersync.Classifier{}
	}
	p.personal.models[owner] = c
	return c, nil
}

// ForgetOwner drops everything the pipeline caches about owner, such as the
// personal classifier trained on the owner's corrections. Erasure calls it.
func (p *Pipeline) ForgetOwner(owner string) {
	p.forgetPersonal(owner)
}

// forgetPersonal drops owner's cached classifier after a new correction.
func (p *Pipeline) forgetPersonal(owner string) {
	p.personal.mu.Lock()
	delete(p.personal.models, owner)
	p.personal.mu.Unlock()
}
