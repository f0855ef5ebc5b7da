package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/seal"
)

// WorkerOptions tunes a worker.
type WorkerOptions struct {
	// Concurrency is how many memos are processed at once; default 32.
	Concurrency int
	// BatchSize is how many messages one receive loop takes at a time;
	// default 10, the most one SQS receive returns. Concurrency/BatchSize
	// loops run side by side, so one loop's receive and delete overlap with
	// the others' processing.
	BatchSize int
	// Visibility is how long a received message stays hidden from other
	// consumers; default 30 seconds. One memo takes milliseconds, so this
	// mostly bounds how long the messages of a crashed worker wait before
	// another worker takes them; a slow worker that outruns it only causes
	// a redelivery, which processing tolerates.
	Visibility time.Duration
	// Idle is the pause after an empty receive; default 200 ms.
	Idle time.Duration
	// RecoverEvery is how often an idle worker looks for memos whose
	// message a crash lost (see Recover); default 30 seconds. Memos younger
	// than RecoverAfter, default 1 minute, are left alone.
	RecoverEvery time.Duration
	RecoverAfter time.Duration
	// OnDone, when set, is called after a memo reached a final state.
	OnDone func(owner, memo string, status whispersync.MemoStatus)
}

func (o *WorkerOptions) defaults() {
	if o.Concurrency <= 0 {
		o.Concurrency = 32
	}
	if o.BatchSize <= 0 {
		o.BatchSize = maxReceiveBatch
	}
	if o.Visibility <= 0 {
		o.Visibility = 30 * time.Second
	}
	if o.Idle <= 0 {
		o.Idle = 200 * time.Millisecond
	}
	if o.RecoverEvery <= 0 {
		o.RecoverEvery = 30 * time.Second
	}
	if o.RecoverAfter <= 0 {
		o.RecoverAfter = time.Minute
	}
}

// maxReceiveBatch is the most messages one ReceiveMessage call may ask
// for, as in SQS.
const maxReceiveBatch = 10

// Run consumes the queue until ctx is done. An idle worker also queues again
// memos whose message a crash lost.
func (p *Pipeline) Run(ctx context.Context, opts WorkerOptions) error {
	opts.defaults()
	p.log.Info("worker started", "concurrency", opts.Concurrency)
	defer p.log.Info("worker stopped")
	var (
		mu          sync.Mutex
		lastRecover = time.Now()
	)
	p.loops(ctx, opts, func(n int, err error) bool {
		if err != nil && ctx.Err() == nil {
			p.log.Error("receive from queue failed", "err", err)
		}
		if n > 0 {
			return false
		}
		mu.Lock()
		due := time.Since(lastRecover) >= opts.RecoverEvery
		if due {
			lastRecover = time.Now()
		}
		mu.Unlock()
		if due {
			if _, err := p.Recover(ctx, opts.RecoverAfter); err != nil && ctx.Err() == nil {
				p.log.Error("recover unqueued memos failed", "err", err)
			}
		}
		return false
	})
	return nil
}

// Drain processes messages until the queue holds none, visible or in
// flight, and returns how many it received. Messages that fail are retried
// with backoff until they succeed or move to the dead-letter queue.
func (p *Pipeline) Drain(ctx context.Context, opts WorkerOptions) (int, error) {
	return p.DrainAfter(ctx, opts, func() bool { return true })
}

// DrainAfter is Drain for a queue that is still being filled: it stops only
// once ready reports true and the queue is empty after that.
func (p *Pipeline) DrainAfter(ctx context.Context, opts WorkerOptions, ready func() bool) (int, error) {
	opts.defaults()
	var (
		errOnce  sync.Once
		firstErr error
	)
	total := p.loops(ctx, opts, func(n int, err error) bool {
		if err == nil && n == 0 && ready() {
			var visible, inFlight int
			visible, inFlight, err = p.queue.Depth(ctx)
			if err == nil && visible+inFlight == 0 {
				return true
			}
		}
		if err != nil {
			errOnce.Do(func() { firstErr = fmt.Errorf("pipeline: %w", err) })
			return true
		}
		return false
	})
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return total, firstErr
}

// loops runs Concurrency/BatchSize receive loops until ctx is done or
// after returns true, and returns how many messages they received. after
// sees each ProcessBatch result; a loop pauses for opts.Idle after an empty
// or failed receive.
func (p *Pipeline) loops(ctx context.Context, opts WorkerOptions, after func(n int, err error) (stop bool)) int {
	loopCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		total atomic.Int64
	)
	for range max(1, opts.Concurrency/opts.BatchSize) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for loopCtx.Err() == nil {
				n, err := p.ProcessBatch(loopCtx, opts)
				total.Add(int64(n))
				if loopCtx.Err() != nil {
					// Stopped by ctx or by another loop: an error now is
					// only the cancellation.
					return
				}
				if after(n, err) {
					cancel()
					return
				}
				if n == 0 || err != nil {
					select {
					case <-loopCtx.Done():
					case <-time.After(opts.Idle):
					}
				}
			}
		}()
	}
	wg.Wait()
	return int(total.Load())
}

// ProcessBatch receives up to opts.BatchSize messages, processes them all
// at once, deletes those that succeeded in one batch and returns how many it
// received.
func (p *Pipeline) ProcessBatch(ctx context.Context, opts WorkerOptions) (int, error) {
	opts.defaults()
	var msgs []whispersync.Message
	for len(msgs) < opts.BatchSize {
		got, err := p.queue.ReceiveMessage(ctx, min(opts.BatchSize-len(msgs), maxReceiveBatch), opts.Visibility)
		if err != nil {
			if len(msgs) > 0 {
				break
			}
			return 0, fmt.Errorf("pipeline: receive: %w", err)
		}
		msgs = append(msgs, got...)
		if len(got) < maxReceiveBatch {
			break
		}
	}
	if len(msgs) == 0 {
		return 0, nil
	}

	var (
		mu   sync.Mutex
		done []string
		wg   sync.WaitGroup
	)
	for _, m := range msgs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			owner, memo, status, err := p.handle(ctx, m)
			if err != nil {
				p.fail(ctx, m, err)
				return
			}
			mu.Lock()
			done = append(done, m.ReceiptHandle)
			mu.Unlock()
			if opts.OnDone != nil {
				opts.OnDone(owner, memo, status)
			}
		}()
	}
	wg.Wait()

	if len(done) > 0 {
		if err := p.queue.DeleteMessageBatch(ctx, done); err != nil {
			// Outputs are committed; a redelivery finds the memo final and
			// only deletes the message.
			p.log.Warn("delete processed messages failed", "count", len(done), "err", err)
		}
	}
	return len(msgs), nil
}

// fail records a failed attempt and makes the message visible again after a
// backoff that doubles with each receive.
func (p *Pipeline) fail(ctx context.Context, m whispersync.Message, err error) {
	p.log.Error("process memo failed", "message", m.ID, "receive_count", m.ReceiveCount, "err", err)
	if r, ok := p.queue.(interface {
		RecordError(ctx context.Context, receiptHandle, message string) error
	}); ok {
		if rerr := r.RecordError(ctx, m.ReceiptHandle, whispersync.ErrorCode(err)+": "+whispersync.ErrorMessage(err)); rerr != nil {
			p.log.Warn("record message error failed", "message", m.ID, "err", rerr)
		}
	}
	backoff := time.Duration(1<<min(m.ReceiveCount, 8)) * 250 * time.Millisecond
	if verr := p.queue.ChangeMessageVisibility(ctx, m.ReceiptHandle, backoff); verr != nil {
		p.log.Warn("change message visibility failed", "message", m.ID, "err", verr)
	}
}

// handle processes one message. It is idempotent: a memo that already
// reached a final state for the message's version is left as it is.
func (p *Pipeline) handle(ctx context.Context, m whispersync.Message) (owner, memoID string, status whispersync.MemoStatus, err error) {
	var msg message
	if err := json.Unmarshal(m.Body, &msg); err != nil || msg.Owner == "" || msg.Memo == "" {
		return "", "", "", whispersync.Errorf(whispersync.EINVALID, "malformed queue message %s", m.ID)
	}
	for attempt := 0; ; attempt++ {
		status, err := p.process(ctx, msg)
		if !whispersync.IsConflict(err) || attempt == 3 {
			return msg.Owner, msg.Memo, status, err
		}
	}
}

func (p *Pipeline) process(ctx context.Context, msg message) (whispersync.MemoStatus, error) {
	item, err := p.tables.GetItem(ctx, tableMemos, msg.Owner, msg.Memo)
	if err != nil {
		return "", fmt.Errorf("load memo %s: %w", msg.Memo, err)
	}
	status := whispersync.MemoStatus(item.Attrs["status"])
	if status != whispersync.StatusQueued && item.Attrs["version"] == strconv.Itoa(msg.Version) {
		return status, nil
	}
	var rec memoRecord
	if err := p.openItem(ctx, tableMemos, item, &rec); err != nil {
		return "", err
	}

	text, err := p.readTranscript(ctx, msg.Owner, msg.Memo, msg.Version, rec.ObjectVersion)
	if err != nil {
		return "", err
	}
	classifier, err := p.classifierFor(ctx, msg.Owner)
	if err != nil {
		return "", err
	}
	cls, err := classifier.Classify(ctx, text, whispersync.Hints{Folder: rec.Folder})
	if err != nil {
		return "", fmt.Errorf("classify memo %s: %w", msg.Memo, err)
	}
	rec.Classification = &cls

	actor := Actor{Principal: "service:worker", Source: "internal"}
	events := []whispersync.AuditEvent{{Action: "memo.classify", Resource: memoResource(msg.Owner, msg.Memo), Detail: map[string]string{"bucket": string(cls.Bucket), "confidence": strconv.FormatFloat(cls.Confidence, 'f', 2, 64)}}}
	var writes, index []whispersync.Write
	if cls.Bucket == whispersync.BucketUnclear || cls.NeedsReview {
		status = whispersync.StatusReview
		rec.People = nil
		writes = append(writes, whispersync.Write{Table: tableReview, Item: whispersync.Item{Owner: msg.Owner, Key: msg.Memo, Attrs: map[string]string{"created": p.now().UTC().Format(timeLayout)}}})
		events = append(events, whispersync.AuditEvent{Action: "review.enqueue", Resource: memoResource(msg.Owner, msg.Memo)})
	} else {
		status = whispersync.StatusProcessed
		out, err := p.runAgents(ctx, msg.Owner, msg.Memo, msg.Version, text, cls.Segments, item)
		if err != nil {
			return "", err
		}
		writes = append(writes, out.writes...)
		events = append(events, out.events...)
		rec.People, rec.ActionItems, rec.Outputs = out.people, out.actionItems, out.outputs
		index = out.index
	}

	writes = append(writes, whispersync.Write{Table: tableOutbox, Item: whispersync.Item{Owner: systemOwner, Key: outboxKey(msg.Owner, msg.Memo)}, Delete: true})
	update, err := p.updatedMemo(ctx, msg.Owner, msg.Memo, item, rec, status, cls.Bucket)
	if err != nil {
		return "", err
	}
	writes = append(writes, update)
	if err := p.audit(ctx, actor, events...); err != nil {
		return "", err
	}
	// The index joins the outputs' transaction when both fit in one;
	// otherwise it goes first, in chunks.
	if len(writes)+len(index) <= maxTransactWrites {
		writes, index = append(writes, index...), nil
	}
	if err := p.writeIndex(ctx, index); err != nil {
		return "", err
	}
	if err := p.tables.TransactWrite(ctx, writes); err != nil {
		return "", fmt.Errorf("commit memo %s: %w", msg.Memo, err)
	}
	return status, nil
}

// updatedMemo returns the conditional write that moves a memo to status.
func (p *Pipeline) updatedMemo(ctx context.Context, owner, id string, item whispersync.Item, rec memoRecord, status whispersync.MemoStatus, bucket whispersync.Bucket) (whispersync.Write, error) {
	version, _ := strconv.Atoi(item.Attrs["version"])
	created, _ := time.Parse(timeLayout, item.Attrs["created"])
	attrs := memoAttrs(status, bucket, version, created, p.now().UTC())
	updated, err := p.sealItem(ctx, tableMemos, owner, id, whispersync.KeyClassData, attrs, rec)
	if err != nil {
		return whispersync.Write{}, err
	}
	updated.Revision = item.Revision
	return whispersync.Write{Table: tableMemos, Item: updated, Condition: whispersync.IfRevision}, nil
}

// readTranscript loads and opens a transcript through the agents'
// approved-only handle.
func (p *Pipeline) readTranscript(ctx context.Context, owner, id string, version int, objectVersion string) (string, error) {
	obj, err := p.agentObjects.GetObject(ctx, objectKey(kindTranscript, owner, id), objectVersion)
	if err != nil {
		return "", fmt.Errorf("read transcript of memo %s: %w", id, err)
	}
	plain, err := p.sealer.Open(ctx, objectIdentity(kindTranscript, owner, id, version), obj.Body)
	if err != nil {
		return "", fmt.Errorf("open transcript of memo %s: %w", id, err)
	}
	return string(plain), nil
}

func objectIdentity(kind, owner, id string, version int) seal.Identity {
	return seal.Identity{Owner: owner, Kind: kind, ID: id, Version: version}
}
