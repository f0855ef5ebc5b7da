package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/whispersync/whispersync"
)

// trainingSignal is a person's correction of the classifier, kept sealed so
// a later model can learn from it.
type trainingSignal struct {
	Text      string               `json:"text"`
	Buckets   []whispersync.Bucket `json:"buckets"`
	Predicted whispersync.Bucket   `json:"predicted"`
}

// Assign settles a memo that waits in the review queue: it records bucket as
// the memo's bucket and as a training signal, runs the bucket's agent (for
// mixed, the agents of the classifier's segments), and removes the memo from
// the review queue.
func (p *Pipeline) Assign(ctx context.Context, actor Actor, owner, id string, bucket whispersync.Bucket) (MemoView, error) {
	item, err := p.tables.GetItem(ctx, tableMemos, owner, id)
	if whispersync.IsNotFound(err) {
		return MemoView{}, whispersync.Errorf(whispersync.ENOTFOUND, "memo %q not found: list memos waiting for review with `whispersync review list`", id)
	} else if err != nil {
		return MemoView{}, fmt.Errorf("pipeline: load memo: %w", err)
	}
	if status := whispersync.MemoStatus(item.Attrs["status"]); status != whispersync.StatusReview {
		return MemoView{}, whispersync.Errorf(whispersync.ECONFLICT, "memo %q is %s, not waiting for review: only memos listed by `whispersync review list` can be assigned", id, status)
	}
	var rec memoRecord
	if err := p.openItem(ctx, tableMemos, item, &rec); err != nil {
		return MemoView{}, err
	}
	version, _ := strconv.Atoi(item.Attrs["version"])
	text, err := p.readTranscript(ctx, owner, id, version, rec.ObjectVersion)
	if err != nil {
		return MemoView{}, err
	}

	predicted := whispersync.BucketUnclear
	cls := whispersync.Classification{Bucket: bucket, Confidence: 1, Reason: "assigned by " + actor.Principal}
	if rec.Classification != nil {
		predicted = rec.Classification.Bucket
	}
	var segments []whispersync.Segment
	switch bucket {
	case whispersync.BucketUnclear:
		return MemoView{}, whispersync.Errorf(whispersync.EINVALID, "a memo cannot be assigned to unclear: choose work, memory, idea or mixed")
	case whispersync.BucketMixed:
		if rec.Classification != nil {
			for _, s := range rec.Classification.Segments {
				if s.Bucket != whispersync.BucketUnclear {
					segments = append(segments, s)
					cls.Buckets = appendBucket(cls.Buckets, s.Bucket)
				}
			}
		}
		if len(cls.Buckets) < 2 {
			return MemoView{}, whispersync.Errorf(whispersync.EINVALID, "memo %q has no segments of two buckets to split: assign work, memory or idea instead", id)
		}
	default:
		segments = []whispersync.Segment{{Bucket: bucket, Text: text, Confidence: 1}}
		cls.Buckets = []whispersync.Bucket{bucket}
	}
	cls.Segments = segments

	out, err := p.runAgents(ctx, owner, id, version, text, segments, item)
	if err != nil {
		return MemoView{}, err
	}
	rec.Classification = &cls
	rec.People, rec.ActionItems, rec.Outputs = out.people, out.actionItems, out.outputs

	signal, err := p.sealItem(ctx, tableTrainingSignals, owner, outputKey(id, version), whispersync.KeyClassData, map[string]string{"bucket": string(bucket)}, trainingSignal{Text: text, Buckets: cls.Buckets, Predicted: predicted})
	if err != nil {
		return MemoView{}, err
	}
	update, err := p.updatedMemo(ctx, owner, id, item, rec, whispersync.StatusProcessed, bucket)
	if err != nil {
		return MemoView{}, err
	}
	writes := append(out.writes,
		whispersync.Write{Table: tableTrainingSignals, Item: signal},
		whispersync.Write{Table: tableReview, Item: whispersync.Item{Owner: owner, Key: id}, Delete: true},
		update,
	)
	events := append([]whispersync.AuditEvent{{Action: "review.assign", Resource: memoResource(owner, id), Detail: map[string]string{"bucket": string(bucket), "predicted": string(predicted)}}}, out.events...)
	if err := p.audit(ctx, actor, events...); err != nil {
		return MemoView{}, err
	}
	if err := p.writeIndex(ctx, out.index); err != nil {
		return MemoView{}, err
	}
	if err := p.tables.TransactWrite(ctx, writes); err != nil {
		if whispersync.IsConflict(err) {
			return MemoView{}, whispersync.Errorf(whispersync.ECONFLICT, "memo %q changed while it was being assigned: run the command again", id)
		}
		return MemoView{}, fmt.Errorf("pipeline: commit assignment: %w", err)
	}
	p.forgetPersonal(owner)

	updated, err := p.tables.GetItem(ctx, tableMemos, owner, id)
	if err != nil {
		return MemoView{}, fmt.Errorf("pipeline: reload memo: %w", err)
	}
	return p.memoView(ctx, updated)
}

func appendBucket(list []whispersync.Bucket, b whispersync.Bucket) []whispersync.Bucket {
	for _, x := range list {
		if x == b {
			return list
		}
	}
	return append(list, b)
}

// Recover queues again every memo that was stored at least minAge ago but is
// still in the outbox, because a crash may have lost its message between the
// commit and the send. Duplicate messages are harmless, since processing is
// idempotent, but cost work, so Recover acts only when the queue is empty,
// visible and in flight, and skips memos whose message is in the dead-letter
// queue: those wait for a redrive.
func (p *Pipeline) Recover(ctx context.Context, minAge time.Duration) (int, error) {
	visible, inFlight, err := p.queue.Depth(ctx)
	if err != nil {
		return 0, fmt.Errorf("pipeline: queue depth: %w", err)
	}
	if visible+inFlight > 0 {
		return 0, nil
	}
	dead := map[string]bool{}
	if dlq, ok := p.queue.(whispersync.DeadLetterQueue); ok {
		letters, err := dlq.ListDeadLetters(ctx, 1<<20)
		if err != nil {
			return 0, fmt.Errorf("pipeline: list dead letters: %w", err)
		}
		for _, l := range letters {
			var m message
			if json.Unmarshal(l.Body, &m) == nil {
				dead[outboxKey(m.Owner, m.Memo)] = true
			}
		}
	}

	items, err := p.tables.Query(ctx, whispersync.Query{Table: tableOutbox, Owner: systemOwner})
	if err != nil {
		return 0, fmt.Errorf("pipeline: read outbox: %w", err)
	}
	cutoff := p.now().Add(-minAge)
	var bodies [][]byte
	for _, it := range items {
		created, _ := time.Parse(timeLayout, it.Attrs["created"])
		owner, memo, ok := strings.Cut(it.Key, "/")
		if !ok || dead[it.Key] || created.After(cutoff) {
			continue
		}
		version, _ := strconv.Atoi(it.Attrs["version"])
		body, err := json.Marshal(message{Owner: owner, Memo: memo, Version: max(version, 1)})
		if err != nil {
			return 0, fmt.Errorf("pipeline: encode message: %w", err)
		}
		bodies = append(bodies, body)
	}
	if len(bodies) == 0 {
		return 0, nil
	}
	if _, err := p.queue.SendMessageBatch(ctx, bodies); err != nil {
		return 0, fmt.Errorf("pipeline: queue recovered memos: %w", err)
	}
	p.log.Info("queued unfinished memos again", "count", len(bodies))
	return len(bodies), nil
}

// sweepMargin is taken off the start of a sweep when it is recorded, so a
// clock that steps back by less cannot hide a later orphan from the next
// sweep.
const sweepMargin = time.Hour

// sweepKey names the record of the last completed sweep in tableState.
const sweepKey = "orphan_sweep"

// SweepOrphans removes the object versions of transcripts and quarantined
// input whose memo was never recorded: a process killed between writing
// the object and committing the memo leaves one behind, which no read
// reaches but exports and backups would carry. It must run while no submit
// is in flight, as at start-up before work is accepted, and returns how
// many versions it removed. Each removal is audited.
//
// Orphans arise only while a process runs, after its own start-up sweep,
// so a sweep checks only the versions written since the previous sweep
// began, less sweepMargin. The first sweep of a store checks them all.
func (p *Pipeline) SweepOrphans(ctx context.Context) (int, error) {
	start := p.now().UTC()
	since, err := p.lastSweep(ctx)
	if err != nil {
		return 0, err
	}
	var orphans []whispersync.ObjectVersion
	for _, kind := range []string{kindTranscript, kindQuarantine} {
		versions, err := p.privateObjects.ListObjectVersions(ctx, kind+"/")
		if err != nil {
			return 0, fmt.Errorf("pipeline: list %s: %w", kind, err)
		}
		known := map[string]bool{}
		for _, v := range versions {
			if v.LastModified.Before(since) {
				continue
			}
			parts := strings.Split(v.Key, "/")
			if len(parts) != 3 {
				continue
			}
			exists, seen := known[v.Key]
			if !seen {
				_, err := p.tables.GetItem(ctx, tableMemos, parts[1], parts[2])
				if err != nil && !whispersync.IsNotFound(err) {
					return 0, fmt.Errorf("pipeline: look up memo of %s: %w", v.Key, err)
				}
				exists = err == nil
				known[v.Key] = exists
			}
			if !exists {
				orphans = append(orphans, v)
			}
		}
	}
	if len(orphans) == 0 {
		return 0, p.recordSweep(ctx, start)
	}

	events := make([]whispersync.AuditEvent, len(orphans))
	for i, v := range orphans {
		events[i] = whispersync.AuditEvent{Action: "object.orphan.remove", Resource: "object:" + v.Key, Detail: map[string]string{"version": v.VersionID}}
	}
	if err := p.audit(ctx, Actor{Principal: "system:recover", Source: "startup"}, events...); err != nil {
		return 0, err
	}
	for i, v := range orphans {
		if _, err := p.privateObjects.DeleteObject(ctx, v.Key, v.VersionID); err != nil {
			return i, fmt.Errorf("pipeline: remove orphaned %s: %w", v.Key, err)
		}
	}
	p.log.Info("removed orphaned objects", "count", len(orphans))
	return len(orphans), p.recordSweep(ctx, start)
}

// lastSweep returns the time from which the next sweep checks versions:
// the start of the last completed sweep less sweepMargin, or the zero time
// when no sweep has completed.
func (p *Pipeline) lastSweep(ctx context.Context) (time.Time, error) {
	item, err := p.tables.GetItem(ctx, tableState, systemOwner, sweepKey)
	if whispersync.IsNotFound(err) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("pipeline: read the last orphan sweep: %w", err)
	}
	since, err := time.Parse(timeLayout, item.Attrs["since"])
	if err != nil {
		// An unreadable record costs a full sweep, nothing more.
		p.log.Warn("unreadable record of the last orphan sweep; checking every version", "value", item.Attrs["since"], "err", err)
		return time.Time{}, nil
	}
	return since, nil
}

// recordSweep records that a sweep that began at start has completed.
func (p *Pipeline) recordSweep(ctx context.Context, start time.Time) error {
	item := whispersync.Item{Owner: systemOwner, Key: sweepKey, Attrs: map[string]string{"since": start.Add(-sweepMargin).Format(timeLayout)}}
	if err := p.tables.PutItem(ctx, tableState, item, whispersync.Always); err != nil {
		return fmt.Errorf("pipeline: record the orphan sweep: %w", err)
	}
	return nil
}
