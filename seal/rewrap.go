package seal

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/whispersync/whispersync"
)

// RewrapOptions configures Sealer.Rewrap.
type RewrapOptions struct {
	// Owners lists every owner that may hold data keys. Rewrap sorts them
	// and walks them in that order.
	Owners []string
	// After resumes an interrupted pass: owners up to and including After
	// are skipped.
	After string
	// Progress, when set, is called after each owner; an error it returns
	// stops the pass with that error.
	Progress func(RewrapProgress) error
}

// RewrapProgress counts the work of a rewrap pass.
type RewrapProgress struct {
	// Target is the KEK version data keys are rewrapped under.
	Target int `json:"target_version"`
	// Owner is the last owner finished; pass it as RewrapOptions.After to
	// resume.
	Owner      string `json:"owner,omitempty"`
	OwnersDone int    `json:"owners_done"`
	Owners     int    `json:"owners"`
	// Rewrapped counts data keys wrapped anew; Current those that already
	// were under Target or a later version.
	Rewrapped int `json:"rewrapped"`
	Current   int `json:"current"`
}

// KeyDependents reports what depends on one KEK version: how many stored data
// keys it wraps, and of how many owners, with the first few named.
type KeyDependents struct {
	Version  int      `json:"version"`
	DataKeys int      `json:"data_keys"`
	Owners   int      `json:"owners"`
	Sample   []string `json:"sample_owners,omitempty"`
}

// Rewrap wraps every stored data key of the owners anew under the current
// KEK version, so older versions can be retired. The key service must be a
// ReEncrypter. The pass is idempotent and safe while other goroutines and
// processes seal and open: a data key's plaintext never changes, only its
// wrapping, and each item is replaced only at the revision that was read.
// After a crash, run it again with After set to the last owner reported.
func (s *Sealer) Rewrap(ctx context.Context, opts RewrapOptions) (RewrapProgress, error) {
	re, ok := s.keys.(ReEncrypter)
	if !ok {
		return RewrapProgress{}, whispersync.Errorf(whispersync.EINVALID, "the key service %T cannot rewrap data keys: use a key service with ReEncrypt", s.keys)
	}
	owners := slices.Clone(opts.Owners)
	slices.Sort(owners)
	owners = slices.Compact(owners)
	p := RewrapProgress{Target: re.CurrentVersion(), Owners: len(owners)}

	for _, owner := range owners {
		if opts.After != "" && owner <= opts.After {
			p.OwnersDone++
			continue
		}
		err := s.eachDataKey(ctx, owner, func(item whispersync.Item) error {
			return s.rewrapItem(ctx, re, item, &p)
		})
		if err != nil {
			return p, fmt.Errorf("seal: rewrap data keys of %s: %w", owner, err)
		}
		p.Owner = owner
		p.OwnersDone++
		if opts.Progress != nil {
			if err := opts.Progress(p); err != nil {
				return p, err
			}
		}
	}
	s.log.Info("data keys rewrapped", "target_version", p.Target, "rewrapped", p.Rewrapped, "owners", p.OwnersDone)
	return p, nil
}

// rewrapItem rewraps one stored data key unless it is current already. An
// item changed meanwhile is read again; one deleted meanwhile (shredded) is
// skipped.
func (s *Sealer) rewrapItem(ctx context.Context, re ReEncrypter, item whispersync.Item, p *RewrapProgress) error {
	for attempt := 0; ; attempt++ {
		if v, ok := WrappedVersion(item.Data); ok && v >= p.Target {
			p.Current++
			return nil
		}
		id, ok := parseItemKey(item.Owner, item.Key)
		if !ok {
			return fmt.Errorf("data key item %q has an unknown key", item.Key)
		}
		wrapped, err := re.ReEncrypt(ctx, item.Data, id.encryptionContext())
		if err != nil {
			return fmt.Errorf("rewrap data key %s: %w", item.Key, err)
		}
		if v, ok := WrappedVersion(wrapped); ok {
			s.metrics.count(s.keyID+kekSuffix(v), OpReEncrypt)
		}
		next := item
		next.Data = wrapped
		next.Attrs = cloneAttrs(item.Attrs)
		err = s.tables.PutItem(ctx, DataKeysTable, next, whispersync.IfRevision)
		switch {
		case err == nil:
			p.Rewrapped++
			return nil
		case !whispersync.IsConflict(err) || attempt >= 3:
			return fmt.Errorf("store rewrapped data key %s: %w", item.Key, err)
		}
		item, err = s.tables.GetItem(ctx, DataKeysTable, item.Owner, item.Key)
		if whispersync.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("load data key %s: %w", item.Key, err)
		}
	}
}

// CountWrapped counts the stored data keys of owners by the KEK version
// that wraps them, oldest version first.
func (s *Sealer) CountWrapped(ctx context.Context, owners []string) ([]KeyDependents, error) {
	byVersion := map[int]*KeyDependents{}
	for _, owner := range owners {
		seen := map[int]bool{}
		err := s.eachDataKey(ctx, owner, func(item whispersync.Item) error {
			v, _ := WrappedVersion(item.Data) // an unreadable key counts as version 0
			d := byVersion[v]
			if d == nil {
				d = &KeyDependents{Version: v}
				byVersion[v] = d
			}
			d.DataKeys++
			if !seen[v] {
				seen[v] = true
				d.Owners++
				if len(d.Sample) < 3 {
					d.Sample = append(d.Sample, owner)
				}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("seal: count data keys of %s: %w", owner, err)
		}
	}
	var out []KeyDependents
	for _, d := range byVersion {
		out = append(out, *d)
	}
	slices.SortFunc(out, func(a, b KeyDependents) int { return a.Version - b.Version })
	return out, nil
}

// eachDataKey calls fn for every stored data key of owner, page by page.
func (s *Sealer) eachDataKey(ctx context.Context, owner string, fn func(whispersync.Item) error) error {
	const page = 100
	after := ""
	for {
		items, err := s.tables.Query(ctx, whispersync.Query{Table: DataKeysTable, Owner: owner, After: after, Limit: page})
		if err != nil {
			return fmt.Errorf("list data keys: %w", err)
		}
		for _, item := range items {
			if err := fn(item); err != nil {
				return err
			}
		}
		if len(items) < page {
			return nil
		}
		after = items[len(items)-1].Key
	}
}

// parseItemKey reads the class and generation from a data key's sort key,
// accepting only the canonical form that itemKey writes.
func parseItemKey(owner, key string) (dataKeyID, bool) {
	class, gen, ok := strings.Cut(key, "#")
	if !ok || validateClass(class) != nil {
		return dataKeyID{}, false
	}
	n, err := strconv.ParseUint(gen, 10, 32)
	if err != nil || n == 0 || strconv.FormatUint(n, 10) != gen {
		return dataKeyID{}, false
	}
	return dataKeyID{owner: owner, class: class, generation: uint32(n)}, true
}

func cloneAttrs(attrs map[string]string) map[string]string {
	out := make(map[string]string, len(attrs))
	for k, v := range attrs {
		out[k] = v
	}
	return out
}
