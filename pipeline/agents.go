package pipeline

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/agent/idea"
	"github.com/whispersync/whispersync/agent/journal"
	"github.com/whispersync/whispersync/agent/memory"
	"github.com/whispersync/whispersync/extract"
)

// agentOutput collects what the agents produce for one memo version.
type agentOutput struct {
	writes []whispersync.Write
	// index holds the search-index writes, one per memory. They join the
	// outputs' transaction when both fit in one. Otherwise they are
	// written first, and search skips an index entry whose memory is missing.
	index       []whispersync.Write
	events      []whispersync.AuditEvent
	people      []string
	actionItems []string
	outputs     []whispersync.Output
}

// outputKey is the sort key of an agent's output for one memo version. Its
// uniqueness per (memo, version, agent), enforced by IfAbsent writes, is what
// keeps a redelivered message from duplicating an output.
func outputKey(memo string, version int) string {
	return fmt.Sprintf("%s#v%d", memo, version)
}

// runAgents runs the agent of every segment's bucket. Segments of one bucket
// are joined, so each agent acts at most once per memo version.
func (p *Pipeline) runAgents(ctx context.Context, owner, memo string, version int, text string, segments []whispersync.Segment, item whispersync.Item) (agentOutput, error) {
	at, err := time.Parse(timeLayout, item.Attrs["created"])
	if err != nil {
		at = p.now()
	}
	parts := map[whispersync.Bucket][]string{}
	for _, s := range segments {
		parts[s.Bucket] = append(parts[s.Bucket], s.Text)
	}

	var out agentOutput
	out.people = extract.People(text)
	key := outputKey(memo, version)
	resource := memoResource(owner, memo)
	for _, bucket := range whispersync.AgentBuckets {
		segs, ok := parts[bucket]
		if !ok {
			continue
		}
		part := strings.Join(segs, "\n")
		var (
			w   []whispersync.Write
			err error
		)
		switch bucket {
		case whispersync.BucketWork:
			entry := journal.Build(part, at)
			out.actionItems = append(out.actionItems, entry.ActionItems...)
			jkey := entry.Week + "#" + key
			w, err = p.outputWrite(ctx, tableJournal, owner, jkey, whispersync.KeyClassData, map[string]string{"week": entry.Week, "memo": memo}, entry)
			out.outputs = append(out.outputs, whispersync.Output{Agent: bucket, Table: tableJournal, Key: jkey})
		case whispersync.BucketMemory:
			rec := memory.Build(part, at)
			w, err = p.outputWrite(ctx, tableMemories, owner, key, whispersync.KeyClassPII, map[string]string{"memo": memo}, rec)
			if err == nil {
				var index []whispersync.Write
				index, err = p.indexWrites(ctx, owner, key, memoryTerms(rec))
				out.index = append(out.index, index...)
			}
			out.outputs = append(out.outputs, whispersync.Output{Agent: bucket, Table: tableMemories, Key: key})
		case whispersync.BucketIdea:
			scaffold := idea.Build(part, at)
			w, err = p.outputWrite(ctx, tableIdeas, owner, key, whispersync.KeyClassData, map[string]string{"memo": memo}, scaffold)
			out.outputs = append(out.outputs, whispersync.Output{Agent: bucket, Table: tableIdeas, Key: key})
		}
		if err != nil {
			return agentOutput{}, fmt.Errorf("%s agent on memo %s: %w", bucket, memo, err)
		}
		out.writes = append(out.writes, w...)
		out.events = append(out.events, whispersync.AuditEvent{Action: "agent." + string(bucket) + ".write", Resource: resource})
	}
	return out, nil
}

// outputWrite seals an agent output as a write that succeeds only once.
func (p *Pipeline) outputWrite(ctx context.Context, table, owner, key, class string, attrs map[string]string, v any) ([]whispersync.Write, error) {
	item, err := p.sealItem(ctx, table, owner, key, class, attrs, v)
	if err != nil {
		return nil, err
	}
	return []whispersync.Write{{Table: table, Item: item, Condition: whispersync.IfAbsent}}, nil
}

// maxTransactWrites is the most writes one transaction may hold, as in
// DynamoDB's TransactWriteItems.
const maxTransactWrites = 100

// writeIndex writes index entries in transactions of at most
// maxTransactWrites. The entries are idempotent puts.
func (p *Pipeline) writeIndex(ctx context.Context, index []whispersync.Write) error {
	for len(index) > 0 {
		n := min(len(index), maxTransactWrites)
		if err := p.tables.TransactWrite(ctx, index[:n]); err != nil {
			return fmt.Errorf("write search index: %w", err)
		}
		index = index[n:]
	}
	return nil
}

// indexWrites adds a memory to the blind search index as one item: the set
// of its terms' HMACs under the owner's personal-data key, sealed. The
// index thus holds no term in plaintext, and a memory costs one row however
// many words it has; a search reads the owner's index items and matches
// the HMACs of its own words.
func (p *Pipeline) indexWrites(ctx context.Context, owner, key string, terms []string) ([]whispersync.Write, error) {
	blinds := make([]string, 0, len(terms))
	for _, term := range terms {
		blind, err := p.sealer.BlindIndex(ctx, owner, term)
		if err != nil {
			return nil, fmt.Errorf("index term: %w", err)
		}
		blinds = append(blinds, blind)
	}
	item, err := p.sealItem(ctx, tableMemoryIndex, owner, key, whispersync.KeyClassPII, map[string]string{"memo": strings.SplitN(key, "#", 2)[0]}, blinds)
	if err != nil {
		return nil, err
	}
	return []whispersync.Write{{Table: tableMemoryIndex, Item: item}}, nil
}

// memoryTerms lists the distinct search terms of a memory: its words and the
// names of the people and themes in it.
func memoryTerms(r memory.Record) []string {
	seen := map[string]bool{}
	var terms []string
	add := func(list []string) {
		for _, t := range list {
			for _, w := range extract.Terms(t) {
				if !seen[w] {
					seen[w] = true
					terms = append(terms, w)
				}
			}
		}
	}
	add(r.Terms)
	add(r.People)
	add(r.Places)
	add(r.Themes)
	return terms
}
