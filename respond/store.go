package respond

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/detect"
	"github.com/whispersync/whispersync/internal/ids"
	"github.com/whispersync/whispersync/seal"
)

// Tables of the store. Items belong to the store's owner, such as the
// system owner.
const (
	marksTable     = "response_marks"
	responsesTable = "responses"
	// digestKey is the mark item that holds when the last scheduled
	// digest went out; finding ids start with "f_", so it cannot clash.
	digestKey = "digest"
)

// Mark records the count and severity a finding had when it was last
// published and when it was last acted on. A finding is published or acted
// on again only when one of them changed.
type Mark struct {
	FindingID         string          `json:"finding_id"`
	PublishedCount    int             `json:"published_count,omitempty"`
	PublishedSeverity detect.Severity `json:"published_severity,omitempty"`
	PublishedAt       time.Time       `json:"published_at,omitzero"`
	ActedCount        int             `json:"acted_count,omitempty"`
	ActedSeverity     detect.Severity `json:"acted_severity,omitempty"`
}

// Unpublished reports whether f changed since it was last published.
func (m Mark) Unpublished(f detect.Finding) bool {
	return f.Count != m.PublishedCount || f.Severity != m.PublishedSeverity
}

// Unacted reports whether f changed since it was last acted on.
func (m Mark) Unacted(f detect.Finding) bool {
	return f.Count != m.ActedCount || f.Severity != m.ActedSeverity
}

// Response is an automatic action taken on a finding.
type Response struct {
	ID        string `json:"id"`
	FindingID string `json:"finding_id"`
	Kind      Action `json:"kind"`
	// Target names the account, principal or address acted on: "user:ID"
	// for a lock, "principal:KIND:ID" or "ip:ADDRESS" for a block-list
	// entry.
	Target   string    `json:"target"`
	At       time.Time `json:"at"`
	UndoneAt time.Time `json:"undone_at,omitzero"`
	UndoneBy string    `json:"undone_by,omitempty"`
}

// NewResponse returns a response with a fresh ID.
func NewResponse(findingID string, kind Action, target string, at time.Time) Response {
	return Response{ID: ids.New("r"), FindingID: findingID, Kind: kind, Target: target, At: at}
}

// Sealer seals and opens payloads; *seal.Sealer is one.
type Sealer = seal.SealOpener

// Store keeps marks and responses. Responses name accounts and addresses,
// which are personal data, so they are sealed; marks hold only finding
// ids, counts and severities.
type Store struct {
	tables whispersync.Tables
	sealer Sealer
	owner  string
}

// NewStore returns a store in tables under owner.
func NewStore(tables whispersync.Tables, sealer Sealer, owner string) *Store {
	return &Store{tables: tables, sealer: sealer, owner: owner}
}

// Marks returns the marks by finding id.
func (s *Store) Marks(ctx context.Context) (map[string]Mark, error) {
	out := map[string]Mark{}
	err := s.scan(ctx, marksTable, func(item whispersync.Item) error {
		if item.Key == digestKey {
			return nil
		}
		var m Mark
		if err := json.Unmarshal(item.Data, &m); err != nil {
			return fmt.Errorf("respond: decode mark %s: %w", item.Key, err)
		}
		out[m.FindingID] = m
		return nil
	})
	return out, err
}

// PutMark stores m.
func (s *Store) PutMark(ctx context.Context, m Mark) error {
	data, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("respond: put mark: %w", err)
	}
	if err := s.tables.PutItem(ctx, marksTable, whispersync.Item{Owner: s.owner, Key: m.FindingID, Data: data}, whispersync.Always); err != nil {
		return fmt.Errorf("respond: put mark: %w", err)
	}
	return nil
}

// LastDigest returns when the last scheduled digest went out; zero for
// never.
func (s *Store) LastDigest(ctx context.Context) (time.Time, error) {
	item, err := s.tables.GetItem(ctx, marksTable, s.owner, digestKey)
	if whispersync.IsNotFound(err) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("respond: get last digest: %w", err)
	}
	var t time.Time
	if err := t.UnmarshalText(item.Data); err != nil {
		return time.Time{}, fmt.Errorf("respond: decode last digest: %w", err)
	}
	return t, nil
}

// SetLastDigest records when a scheduled digest went out.
func (s *Store) SetLastDigest(ctx context.Context, t time.Time) error {
	data, _ := t.UTC().MarshalText()
	if err := s.tables.PutItem(ctx, marksTable, whispersync.Item{Owner: s.owner, Key: digestKey, Data: data}, whispersync.Always); err != nil {
		return fmt.Errorf("respond: set last digest: %w", err)
	}
	return nil
}

func (s *Store) identity(key string) seal.Identity {
	return seal.Identity{Owner: s.owner, Kind: responsesTable, ID: key, Version: 1}
}

// PutResponse stores r, replacing the stored response with its ID.
func (s *Store) PutResponse(ctx context.Context, r Response) error {
	sealed, err := seal.SealJSON(ctx, s.sealer, s.identity(r.ID), whispersync.KeyClassPII, r)
	if err != nil {
		return fmt.Errorf("respond: put response: %w", err)
	}
	item := whispersync.Item{Owner: s.owner, Key: r.ID, Data: sealed, Attrs: map[string]string{"finding": r.FindingID, "kind": string(r.Kind)}}
	if err := s.tables.PutItem(ctx, responsesTable, item, whispersync.Always); err != nil {
		return fmt.Errorf("respond: put response: %w", err)
	}
	return nil
}

// Response returns the response with id, or ENOTFOUND.
func (s *Store) Response(ctx context.Context, id string) (Response, error) {
	item, err := s.tables.GetItem(ctx, responsesTable, s.owner, id)
	if whispersync.IsNotFound(err) {
		return Response{}, whispersync.Errorf(whispersync.ENOTFOUND, "no automatic response %s: whispersync responses list shows the ids", id)
	}
	if err != nil {
		return Response{}, fmt.Errorf("respond: get response: %w", err)
	}
	return s.open(ctx, item)
}

func (s *Store) open(ctx context.Context, item whispersync.Item) (Response, error) {
	var r Response
	if err := seal.OpenJSON(ctx, s.sealer, s.identity(item.Key), item.Data, &r); err != nil {
		return Response{}, fmt.Errorf("respond: %s response %s: %w", seal.Step(err), item.Key, err)
	}
	return r, nil
}

// Responses returns every response, newest first.
func (s *Store) Responses(ctx context.Context) ([]Response, error) {
	var out []Response
	err := s.scan(ctx, responsesTable, func(item whispersync.Item) error {
		r, err := s.open(ctx, item)
		if err != nil {
			return err
		}
		out = append(out, r)
		return nil
	})
	slices.SortFunc(out, func(a, b Response) int {
		if c := b.At.Compare(a.At); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	return out, err
}

func (s *Store) scan(ctx context.Context, table string, fn func(whispersync.Item) error) error {
	const page = 500
	after := ""
	for {
		items, err := s.tables.Query(ctx, whispersync.Query{Table: table, Owner: s.owner, After: after, Limit: page})
		if err != nil {
			return fmt.Errorf("respond: list %s: %w", table, err)
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
