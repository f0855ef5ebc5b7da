package detect

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/seal"
)

// Tables of the store. Items belong to the system owner.
const (
	findingsTable = "findings"
	stateTable    = "detection"
	stateKey      = "state"
)

// Sealer seals and opens payloads; *seal.Sealer is one.
type Sealer = seal.SealOpener

// Store keeps findings and the engine state as sealed items: the evidence
// names principals and addresses, which are personal data. Type, severity,
// state and last-seen time are plaintext attributes for listing.
type Store struct {
	tables whispersync.Tables
	sealer Sealer
	owner  string
}

// NewStore returns a store in tables under owner, such as the system
// owner.
func NewStore(tables whispersync.Tables, sealer Sealer, owner string) *Store {
	return &Store{tables: tables, sealer: sealer, owner: owner}
}

func (s *Store) identity(table, key string) seal.Identity {
	return seal.Identity{Owner: s.owner, Kind: table, ID: key, Version: 1}
}

// Put stores f, replacing the stored finding with its ID.
func (s *Store) Put(ctx context.Context, f Finding) error {
	sealed, err := seal.SealJSON(ctx, s.sealer, s.identity(findingsTable, f.ID), whispersync.KeyClassPII, f)
	if err != nil {
		return fmt.Errorf("detect: put finding: %w", err)
	}
	item := whispersync.Item{Owner: s.owner, Key: f.ID, Data: sealed, Attrs: map[string]string{
		"type": f.Type, "severity": string(f.Severity), "archived": fmt.Sprint(f.Archived), "last_seen": f.LastSeen.UTC().Format(time.RFC3339),
	}}
	if err := s.tables.PutItem(ctx, findingsTable, item, whispersync.Always); err != nil {
		return fmt.Errorf("detect: put finding: %w", err)
	}
	return nil
}

// Get returns the finding with id, or ENOTFOUND.
func (s *Store) Get(ctx context.Context, id string) (Finding, error) {
	item, err := s.tables.GetItem(ctx, findingsTable, s.owner, id)
	if whispersync.IsNotFound(err) {
		return Finding{}, whispersync.Errorf(whispersync.ENOTFOUND, "no finding %s: whispersync findings list shows the ids", id)
	}
	if err != nil {
		return Finding{}, fmt.Errorf("detect: get finding: %w", err)
	}
	return s.open(ctx, item)
}

func (s *Store) open(ctx context.Context, item whispersync.Item) (Finding, error) {
	var f Finding
	if err := seal.OpenJSON(ctx, s.sealer, s.identity(findingsTable, item.Key), item.Data, &f); err != nil {
		return Finding{}, fmt.Errorf("detect: %s finding %s: %w", seal.Step(err), item.Key, err)
	}
	return f, nil
}

// List returns every finding, archived ones too, most recently seen first.
func (s *Store) List(ctx context.Context) ([]Finding, error) {
	var out []Finding
	after := ""
	for {
		items, err := s.tables.Query(ctx, whispersync.Query{Table: findingsTable, Owner: s.owner, After: after, Limit: 500})
		if err != nil {
			return nil, fmt.Errorf("detect: list findings: %w", err)
		}
		for _, item := range items {
			f, err := s.open(ctx, item)
			if err != nil {
				return nil, err
			}
			out = append(out, f)
		}
		if len(items) < 500 {
			break
		}
		after = items[len(items)-1].Key
	}
	slices.SortFunc(out, func(a, b Finding) int { return b.LastSeen.Compare(a.LastSeen) })
	return out, nil
}

// State returns the stored engine state; the zero State before the first
// run.
func (s *Store) State(ctx context.Context) (State, error) {
	item, err := s.tables.GetItem(ctx, stateTable, s.owner, stateKey)
	if whispersync.IsNotFound(err) {
		return State{}, nil
	}
	if err != nil {
		return State{}, fmt.Errorf("detect: get state: %w", err)
	}
	var st State
	if err := seal.OpenJSON(ctx, s.sealer, s.identity(stateTable, stateKey), item.Data, &st); err != nil {
		return State{}, fmt.Errorf("detect: %s state: %w", seal.Step(err), err)
	}
	return st, nil
}

// PutState stores the engine state.
func (s *Store) PutState(ctx context.Context, st State) error {
	sealed, err := seal.SealJSON(ctx, s.sealer, s.identity(stateTable, stateKey), whispersync.KeyClassPII, st)
	if err != nil {
		return fmt.Errorf("detect: put state: %w", err)
	}
	item := whispersync.Item{Owner: s.owner, Key: stateKey, Data: sealed, Attrs: map[string]string{"last_run": st.LastRun.UTC().Format(time.RFC3339)}}
	if err := s.tables.PutItem(ctx, stateTable, item, whispersync.Always); err != nil {
		return fmt.Errorf("detect: put state: %w", err)
	}
	return nil
}
