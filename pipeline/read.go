package pipeline

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/agent/idea"
	"github.com/whispersync/whispersync/agent/journal"
	"github.com/whispersync/whispersync/agent/memory"
	"github.com/whispersync/whispersync/extract"
)

// MemoView is a memo as its owner sees it.
type MemoView struct {
	ID          string                 `json:"id"`
	Status      whispersync.MemoStatus `json:"status"`
	Version     int                    `json:"version"`
	Source      string                 `json:"source,omitempty"`
	Bucket      whispersync.Bucket     `json:"bucket,omitempty"`
	Buckets     []whispersync.Bucket   `json:"buckets"`
	Confidence  float64                `json:"confidence"`
	Reason      string                 `json:"reason,omitempty"`
	People      []string               `json:"people"`
	ActionItems []string               `json:"action_items"`
	Outputs     []whispersync.Output   `json:"outputs"`
	Error       *errorRecord           `json:"error,omitempty"`
	CreatedAt   time.Time              `json:"created_at"`
	UpdatedAt   time.Time              `json:"updated_at"`
}

func (p *Pipeline) memoView(ctx context.Context, item whispersync.Item) (MemoView, error) {
	var rec memoRecord
	if err := p.openItem(ctx, tableMemos, item, &rec); err != nil {
		return MemoView{}, err
	}
	v := MemoView{
		ID:          item.Key,
		Status:      whispersync.MemoStatus(item.Attrs["status"]),
		Source:      rec.Source,
		Buckets:     []whispersync.Bucket{},
		People:      nonNil(rec.People),
		ActionItems: nonNil(rec.ActionItems),
		Outputs:     rec.Outputs,
		Error:       rec.Error,
	}
	if v.Outputs == nil {
		v.Outputs = []whispersync.Output{}
	}
	v.Version, _ = strconv.Atoi(item.Attrs["version"])
	v.CreatedAt, _ = time.Parse(timeLayout, item.Attrs["created"])
	v.UpdatedAt, _ = time.Parse(timeLayout, item.Attrs["updated"])
	if c := rec.Classification; c != nil {
		v.Bucket, v.Confidence, v.Reason = c.Bucket, c.Confidence, c.Reason
		if c.Buckets != nil {
			v.Buckets = c.Buckets
		}
	}
	return v, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// ListOptions narrows a memo listing.
type ListOptions struct {
	// Status keeps only memos in this state when set.
	Status whispersync.MemoStatus
	// Limit caps the count; 0 means no cap.
	Limit int
}

// ListMemos returns the owner's memos, newest first.
func (p *Pipeline) ListMemos(ctx context.Context, actor Actor, owner string, opts ListOptions) ([]MemoView, error) {
	switch opts.Status {
	case "", whispersync.StatusQueued, whispersync.StatusProcessed, whispersync.StatusReview, whispersync.StatusRejected, whispersync.StatusFailed:
	default:
		return nil, whispersync.Errorf(whispersync.EINVALID, "unknown memo status %q: use queued, processed, review or rejected", opts.Status)
	}
	if opts.Limit < 0 {
		return nil, whispersync.Errorf(whispersync.EINVALID, "invalid limit %d: use 0 for all memos or a positive number", opts.Limit)
	}
	if err := p.audit(ctx, actor, whispersync.AuditEvent{Action: "memo.list", Resource: "user:" + owner}); err != nil {
		return nil, err
	}
	items, err := p.tables.Query(ctx, whispersync.Query{Table: tableMemos, Owner: owner, Descending: true})
	if err != nil {
		return nil, fmt.Errorf("pipeline: list memos: %w", err)
	}
	var views []MemoView
	for _, item := range items {
		if opts.Status != "" && item.Attrs["status"] != string(opts.Status) {
			continue
		}
		v, err := p.memoView(ctx, item)
		if err != nil {
			return nil, err
		}
		views = append(views, v)
		if opts.Limit > 0 && len(views) == opts.Limit {
			break
		}
	}
	return views, nil
}

// GetMemo returns one memo of the owner; another owner's memo id is
// ENOTFOUND, as is a missing one.
func (p *Pipeline) GetMemo(ctx context.Context, actor Actor, owner, id string) (MemoView, error) {
	if err := p.audit(ctx, actor, whispersync.AuditEvent{Action: "memo.read", Resource: memoResource(owner, id)}); err != nil {
		return MemoView{}, err
	}
	item, err := p.tables.GetItem(ctx, tableMemos, owner, id)
	if err != nil {
		if whispersync.IsNotFound(err) {
			return MemoView{}, whispersync.Errorf(whispersync.ENOTFOUND, "memo %q not found: list your memos with `whispersync memos list` or GET /v1/memos", id)
		}
		return MemoView{}, fmt.Errorf("pipeline: get memo: %w", err)
	}
	return p.memoView(ctx, item)
}

// GetMemos returns the owner's memos in the order of ids. It records all
// reads in one audit append, so a large batch costs one audit sync. A
// missing id, or another owner's, fails the whole call with ENOTFOUND.
func (p *Pipeline) GetMemos(ctx context.Context, actor Actor, owner string, ids []string) ([]MemoView, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	events := make([]whispersync.AuditEvent, len(ids))
	for i, id := range ids {
		events[i] = whispersync.AuditEvent{Action: "memo.read", Resource: memoResource(owner, id)}
	}
	if err := p.audit(ctx, actor, events...); err != nil {
		return nil, err
	}
	views := make([]MemoView, len(ids))
	for i, id := range ids {
		item, err := p.tables.GetItem(ctx, tableMemos, owner, id)
		if whispersync.IsNotFound(err) {
			return nil, whispersync.Errorf(whispersync.ENOTFOUND, "memo %q not found: list your memos with `whispersync memos list` or GET /v1/memos", id)
		}
		if err != nil {
			return nil, fmt.Errorf("pipeline: get memo: %w", err)
		}
		if views[i], err = p.memoView(ctx, item); err != nil {
			return nil, err
		}
	}
	return views, nil
}

// JournalWeek is the work journal of one ISO week.
type JournalWeek struct {
	Week    string              `json:"week"`
	Entries []JournalEntry      `json:"entries"`
	Summary journal.WeekSummary `json:"summary"`
}

// JournalEntry is one journal entry with the memo it came from.
type JournalEntry struct {
	Memo string `json:"memo"`
	journal.Entry
}

// Journal returns the owner's work journal for an ISO week such as
// "2026-W49".
func (p *Pipeline) Journal(ctx context.Context, actor Actor, owner, week string) (JournalWeek, error) {
	if !validWeek(week) {
		return JournalWeek{}, whispersync.Errorf(whispersync.EINVALID, "invalid ISO week %q: use the form 2026-W49", week)
	}
	if err := p.audit(ctx, actor, whispersync.AuditEvent{Action: "journal.read", Resource: "journal:" + owner + "/" + week}); err != nil {
		return JournalWeek{}, err
	}
	items, err := p.tables.Query(ctx, whispersync.Query{Table: tableJournal, Owner: owner, Prefix: week + "#"})
	if err != nil {
		return JournalWeek{}, fmt.Errorf("pipeline: read journal: %w", err)
	}
	out := JournalWeek{Week: week, Entries: []JournalEntry{}}
	var entries []journal.Entry
	for _, item := range items {
		var e journal.Entry
		if err := p.openItem(ctx, tableJournal, item, &e); err != nil {
			return JournalWeek{}, err
		}
		entries = append(entries, e)
		out.Entries = append(out.Entries, JournalEntry{Memo: item.Attrs["memo"], Entry: e})
	}
	out.Summary = journal.Summarize(entries, week)
	return out, nil
}

func validWeek(week string) bool {
	year, w, ok := strings.Cut(week, "-W")
	if !ok || len(year) != 4 || len(w) != 2 {
		return false
	}
	y, err1 := strconv.Atoi(year)
	n, err2 := strconv.Atoi(w)
	if err1 != nil || err2 != nil || y <= 1970 || n < 1 {
		return false
	}
	// December 28 always falls in a year's last ISO week.
	_, last := time.Date(y, time.December, 28, 0, 0, 0, 0, time.UTC).ISOWeek()
	return n <= last
}

// containsAll reports whether every element of want is in have.
func containsAll(have, want []string) bool {
	set := make(map[string]bool, len(have))
	for _, h := range have {
		set[h] = true
	}
	for _, w := range want {
		if !set[w] {
			return false
		}
	}
	return true
}

// validFilter checks the values of a memory filter.
func validFilter(f memory.Filter) error {
	switch f.Sentiment {
	case "", extract.Positive, extract.Negative, extract.Neutral, extract.Mixed:
	default:
		return whispersync.Errorf(whispersync.EINVALID, "unknown sentiment %q: use positive, negative, neutral or mixed", f.Sentiment)
	}
	if !f.From.IsZero() && !f.To.IsZero() && f.From.After(f.To) {
		return whispersync.Errorf(whispersync.EINVALID, "the date range starts (%s) after it ends (%s): swap from and to", f.From.Format(time.DateOnly), f.To.Format(time.DateOnly))
	}
	return nil
}

// MemoryHit is one memory that matched a search.
type MemoryHit struct {
	Memo  string `json:"memo"`
	Score int    `json:"score"`
	memory.Record
	// Terms hides the record's index terms, which are stems meant for the
	// blind index, not for people.
	Terms []string `json:"-"`
}

// SearchMemories finds the owner's memories that contain every term of
// query and pass filter. The query is looked up by its blind index, so no
// search term is stored or compared in plaintext.
func (p *Pipeline) SearchMemories(ctx context.Context, actor Actor, owner, query string, filter memory.Filter) ([]MemoryHit, error) {
	if err := validFilter(filter); err != nil {
		return nil, err
	}
	terms := extract.Terms(query)
	if len(terms) == 0 && strings.TrimSpace(query) != "" {
		return nil, whispersync.Errorf(whispersync.EINVALID, "the search has no searchable words: use names, places or other words from your memories")
	}
	if err := p.audit(ctx, actor, whispersync.AuditEvent{Action: "memory.search", Resource: "memories:" + owner, Hashed: map[string]string{"query": query}}); err != nil {
		return nil, err
	}

	var keys []string
	if len(terms) == 0 {
		items, err := p.tables.Query(ctx, whispersync.Query{Table: tableMemories, Owner: owner, Descending: true})
		if err != nil {
			return nil, fmt.Errorf("pipeline: list memories: %w", err)
		}
		for _, it := range items {
			keys = append(keys, it.Key)
		}
	} else {
		want := make([]string, len(terms))
		for i, term := range terms {
			blind, err := p.sealer.BlindIndex(ctx, owner, term)
			if err != nil {
				return nil, fmt.Errorf("pipeline: index term: %w", err)
			}
			want[i] = blind
		}
		items, err := p.tables.Query(ctx, whispersync.Query{Table: tableMemoryIndex, Owner: owner})
		if err != nil {
			return nil, fmt.Errorf("pipeline: search index: %w", err)
		}
		for _, it := range items {
			var blinds []string
			if err := p.openItem(ctx, tableMemoryIndex, it, &blinds); err != nil {
				return nil, err
			}
			if containsAll(blinds, want) {
				keys = append(keys, it.Key)
			}
		}
		sort.Sort(sort.Reverse(sort.StringSlice(keys)))
	}

	hits := []MemoryHit{}
	for _, key := range keys {
		item, err := p.tables.GetItem(ctx, tableMemories, owner, key)
		if whispersync.IsNotFound(err) {
			continue
		} else if err != nil {
			return nil, fmt.Errorf("pipeline: load memory: %w", err)
		}
		var rec memory.Record
		if err := p.openItem(ctx, tableMemories, item, &rec); err != nil {
			return nil, err
		}
		if !memory.Match(rec, filter) {
			continue
		}
		hits = append(hits, MemoryHit{Memo: item.Attrs["memo"], Score: len(terms), Record: rec})
	}
	return hits, nil
}

// IdeaView is an idea scaffold with the memo it came from.
type IdeaView struct {
	ID   string `json:"id"`
	Memo string `json:"memo"`
	idea.Scaffold
}

// ListIdeas returns the owner's idea scaffolds, newest first.
func (p *Pipeline) ListIdeas(ctx context.Context, actor Actor, owner string) ([]IdeaView, error) {
	if err := p.audit(ctx, actor, whispersync.AuditEvent{Action: "idea.list", Resource: "ideas:" + owner}); err != nil {
		return nil, err
	}
	items, err := p.tables.Query(ctx, whispersync.Query{Table: tableIdeas, Owner: owner, Descending: true})
	if err != nil {
		return nil, fmt.Errorf("pipeline: list ideas: %w", err)
	}
	views := []IdeaView{}
	for _, item := range items {
		var s idea.Scaffold
		if err := p.openItem(ctx, tableIdeas, item, &s); err != nil {
			return nil, err
		}
		views = append(views, IdeaView{ID: item.Attrs["memo"], Memo: item.Attrs["memo"], Scaffold: s})
	}
	return views, nil
}

// GetIdea returns the newest idea scaffold made from a memo.
func (p *Pipeline) GetIdea(ctx context.Context, actor Actor, owner, memo string) (IdeaView, error) {
	if err := p.audit(ctx, actor, whispersync.AuditEvent{Action: "idea.read", Resource: memoResource(owner, memo)}); err != nil {
		return IdeaView{}, err
	}
	items, err := p.tables.Query(ctx, whispersync.Query{Table: tableIdeas, Owner: owner, Prefix: memo + "#", Descending: true, Limit: 1})
	if err != nil {
		return IdeaView{}, fmt.Errorf("pipeline: get idea: %w", err)
	}
	if len(items) == 0 {
		return IdeaView{}, whispersync.Errorf(whispersync.ENOTFOUND, "idea %q not found: list your ideas with `whispersync ideas list` or GET /v1/ideas", memo)
	}
	var s idea.Scaffold
	if err := p.openItem(ctx, tableIdeas, items[0], &s); err != nil {
		return IdeaView{}, err
	}
	return IdeaView{ID: memo, Memo: memo, Scaffold: s}, nil
}

// ListReview returns the owner's memos that wait for a person's verdict.
func (p *Pipeline) ListReview(ctx context.Context, actor Actor, owner string) ([]MemoView, error) {
	if err := p.audit(ctx, actor, whispersync.AuditEvent{Action: "review.list", Resource: "review:" + owner}); err != nil {
		return nil, err
	}
	items, err := p.tables.Query(ctx, whispersync.Query{Table: tableReview, Owner: owner})
	if err != nil {
		return nil, fmt.Errorf("pipeline: list review queue: %w", err)
	}
	views := []MemoView{}
	for _, it := range items {
		memo, err := p.tables.GetItem(ctx, tableMemos, owner, it.Key)
		if err != nil {
			return nil, fmt.Errorf("pipeline: load memo in review: %w", err)
		}
		v, err := p.memoView(ctx, memo)
		if err != nil {
			return nil, err
		}
		views = append(views, v)
	}
	return views, nil
}
