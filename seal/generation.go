package seal

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/whispersync/whispersync"
)

// maxGenerationEntries bounds the remembered current generations; past it
// the memory starts over, which costs one query per owner and class.
const maxGenerationEntries = 10000

// generations remembers the current data key generation of each owner and
// class, and when it was created.
type generations struct {
	period atomic.Int64 // time.Duration; 0 disables data key rotation

	mu sync.Mutex
	m  map[ownerClass]generationState
}

type ownerClass struct{ owner, class string }

type generationState struct {
	generation uint32
	createdAt  time.Time
}

// SetDataKeyRotation sets SealerOptions.DataKeyRotation while the Sealer
// is in use; 0 or less stops data key rotation.
func (s *Sealer) SetDataKeyRotation(period time.Duration) {
	s.gens.period.Store(int64(max(period, 0)))
}

// generation returns the generation of the owner's data key of class that
// seals new records: the newest stored one, or the next one once the newest
// is older than the rotation period. Several processes that move to the
// next generation at once agree, since a data key is stored only if absent.
func (s *Sealer) generation(ctx context.Context, owner, class string) (uint32, error) {
	period := time.Duration(s.gens.period.Load())
	if period <= 0 {
		return firstGeneration, nil
	}
	now := s.now()
	key := ownerClass{owner, class}
	s.gens.mu.Lock()
	st, ok := s.gens.m[key]
	s.gens.mu.Unlock()
	if ok && now.Sub(st.createdAt) < period {
		return st.generation, nil
	}

	st, err := s.newestGeneration(ctx, owner, class)
	if err != nil {
		return 0, err
	}
	switch {
	case st.generation == 0:
		st = generationState{generation: firstGeneration, createdAt: now}
	case now.Sub(st.createdAt) >= period:
		st = generationState{generation: st.generation + 1, createdAt: now}
		s.log.Info("data key generation due", "user_id", owner, "key_class", class, "generation", st.generation)
	}

	s.gens.mu.Lock()
	if s.gens.m == nil || len(s.gens.m) >= maxGenerationEntries {
		s.gens.m = make(map[ownerClass]generationState)
	}
	s.gens.m[key] = st
	s.gens.mu.Unlock()
	return st.generation, nil
}

// newestGeneration reads the highest stored generation of class and its
// creation time; generation 0 means none is stored.
func (s *Sealer) newestGeneration(ctx context.Context, owner, class string) (generationState, error) {
	var newest generationState
	err := s.eachDataKey(ctx, owner, func(item whispersync.Item) error {
		id, ok := parseItemKey(owner, item.Key)
		if !ok || id.class != class || id.generation <= newest.generation {
			return nil
		}
		created, err := time.Parse(time.RFC3339, item.Attrs["created_at"])
		if err != nil {
			// A key without a readable date counts as new, so an odd item
			// delays rotation instead of forcing one per call.
			created = s.now()
		}
		newest = generationState{generation: id.generation, createdAt: created}
		return nil
	})
	return newest, err
}

// forget drops what is remembered about owner, after a shred.
func (g *generations) forget(owner string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for k := range g.m {
		if k.owner == owner {
			delete(g.m, k)
		}
	}
}
