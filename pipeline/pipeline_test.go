package pipeline_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/agent/memory"
	"github.com/whispersync/whispersync/audit"
	"github.com/whispersync/whispersync/classify"
	"github.com/whispersync/whispersync/extract"
	"github.com/whispersync/whispersync/pipeline"
	"github.com/whispersync/whispersync/seal"
	"github.com/whispersync/whispersync/sqlite"
)

const (
	workMemo = `Okay so end of the shift, the inventory count is done, we were short on the
twelve millimetre bolts again. I talked to Gordon in purchasing and he'll push the
order through. Tomorrow I need to call the supplier about the late pallets, update the
stock sheet, and schedule the forklift inspection with Teresa.`
	memoryMemo = `We took the kids to the beach on Sunday and Lucia built a giant sandcastle with a
moat, and Mateo kept running the water up from the waves in a little bucket. My mom came
too and she laughed so hard when the tide finally knocked the tower down. I want to
remember that afternoon forever, everyone sunburnt and happy.`
)

// clock is a settable time source for the queue.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

type env struct {
	p       *pipeline.Pipeline
	db      *sqlite.DB
	objects *sqlite.ObjectStore
	queue   *sqlite.Queue
	clock   *clock
	dir     string
}

type options struct {
	wrapQueue   func(whispersync.Queue) whispersync.Queue
	wrapObjects func(whispersync.ObjectStore) whispersync.ObjectStore
	personalize pipeline.Personalizer
	// oneCommit records and queues each memo in one transaction.
	oneCommit bool
}

// model is built once and shared: a Model is immutable and safe for
// concurrent use.
var model = sync.OnceValues(func() (*classify.Model, error) { return classify.New(classify.Options{}) })

func newEnv(t *testing.T, opts options) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "whispersync.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("close database: %v", err)
		}
	})

	objects, err := sqlite.OpenObjectStore(ctx, filepath.Join(dir, "objects.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := objects.Close(); err != nil {
			t.Errorf("close object store: %v", err)
		}
	})

	kr, _, err := seal.OpenKeyFile(filepath.Join(t.TempDir(), "keyring.json"))
	if err != nil {
		t.Fatal(err)
	}
	auditLog, err := audit.Open(filepath.Join(dir, "audit"), audit.Options{HMACKey: kr.DeriveKey("audit-hmac")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := auditLog.Close(); err != nil {
			t.Errorf("close audit log: %v", err)
		}
	})

	clk := &clock{now: time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)}
	queue := db.Queue("memos", sqlite.QueueOptions{Now: clk.Now})
	m, err := model()
	if err != nil {
		t.Fatal(err)
	}

	var q whispersync.Queue = queue
	if opts.wrapQueue != nil {
		q = opts.wrapQueue(queue)
	}
	var store whispersync.ObjectStore = objects
	if opts.wrapObjects != nil {
		store = opts.wrapObjects(objects)
	}
	var sender pipeline.WriteSender
	if opts.oneCommit {
		sender = queue
	}
	p, err := pipeline.New(pipeline.Config{
		WriteSender: sender,
		Objects:     store,
		Tables:      db.Tables(),
		Queue:       q,
		Sealer:      seal.NewSealer(kr, db.Tables(), seal.SealerOptions{}),
		Classifier:  m,
		Personalize: opts.personalize,
		Auditor:     auditLog,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &env{p: p, db: db, objects: objects, queue: queue, clock: clk, dir: dir}
}

var operator = pipeline.Actor{Principal: "operator:test", Source: "cli"}

func (e *env) submit(t *testing.T, owner, text string) pipeline.Receipt {
	t.Helper()
	r, err := e.p.Submit(context.Background(), pipeline.Submission{Actor: operator, Owner: owner, Source: "memo.txt", Raw: []byte(text)})
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	return r
}

func (e *env) drain(t *testing.T) {
	t.Helper()
	if _, err := e.p.ProcessBatch(context.Background(), pipeline.WorkerOptions{}); err != nil {
		t.Fatalf("process batch: %v", err)
	}
}

func TestSubmitProcessesWorkMemo(t *testing.T) {
	for _, oneCommit := range []bool{false, true} {
		t.Run(fmt.Sprintf("one commit %v", oneCommit), func(t *testing.T) {
			e := newEnv(t, options{oneCommit: oneCommit})
			ctx := context.Background()
			r := e.submit(t, "u_alice", workMemo)
			if r.Status != pipeline.ReceiptQueued {
				t.Fatalf("receipt status: got %q, want queued", r.Status)
			}
			e.drain(t)

			v, err := e.p.GetMemo(ctx, operator, "u_alice", r.MemoID)
			if err != nil {
				t.Fatal(err)
			}
			if v.Status != whispersync.StatusProcessed {
				t.Fatalf("memo status: got %q, want processed", v.Status)
			}
			if v.Bucket != whispersync.BucketWork {
				t.Errorf("bucket: got %q, want work", v.Bucket)
			}
			if len(v.ActionItems) == 0 {
				t.Errorf("action items: got none, want the three tasks")
			}
			j, err := e.p.Journal(ctx, operator, "u_alice", extract.Week(v.CreatedAt))
			if err != nil {
				t.Fatal(err)
			}
			if len(j.Entries) != 1 {
				t.Errorf("journal entries: got %d, want 1", len(j.Entries))
			}
		})
	}
}

// TestOutboxOnlyWithoutOneCommit checks that a memo gets an outbox item
// when its rows and its message commit apart, and none when they commit
// together, and that processing leaves the outbox empty.
func TestOutboxOnlyWithoutOneCommit(t *testing.T) {
	for _, oneCommit := range []bool{false, true} {
		t.Run(fmt.Sprintf("one commit %v", oneCommit), func(t *testing.T) {
			e := newEnv(t, options{oneCommit: oneCommit})
			ctx := context.Background()
			outbox := func() int {
				items, err := e.db.Tables().Query(ctx, whispersync.Query{Table: "outbox", Owner: "_system"})
				if err != nil {
					t.Fatal(err)
				}
				return len(items)
			}

			e.submit(t, "u_alice", workMemo)
			want := 1
			if oneCommit {
				want = 0
			}
			if got := outbox(); got != want {
				t.Errorf("outbox items after submit: got %d, want %d", got, want)
			}

			e.drain(t)
			if got := outbox(); got != 0 {
				t.Errorf("outbox items after processing: got %d, want 0", got)
			}
		})
	}
}

func memoryFilter() memory.Filter { return memory.Filter{} }

// lostDeletes drops the first DeleteMessageBatch call, as if the worker died
// after committing the outputs and before deleting the message.
type lostDeletes struct {
	whispersync.Queue
	mu      sync.Mutex
	dropped bool
}

func (q *lostDeletes) DeleteMessageBatch(ctx context.Context, handles []string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.dropped {
		q.dropped = true
		return errors.New("worker killed before delete")
	}
	return q.Queue.DeleteMessageBatch(ctx, handles)
}

func TestRedeliveryDoesNotDuplicateOutputs(t *testing.T) {
	e := newEnv(t, options{wrapQueue: func(q whispersync.Queue) whispersync.Queue { return &lostDeletes{Queue: q} }})
	ctx := context.Background()
	r := e.submit(t, "u_alice", workMemo)
	e.drain(t)

	// The message was not deleted: after the visibility timeout it comes
	// back, and the worker must recognize the memo as done.
	e.clock.Advance(3 * time.Minute)
	visible, _, err := e.queue.Depth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if visible != 1 {
		t.Fatalf("visible messages after the timeout: got %d, want 1", visible)
	}
	e.drain(t)

	v, err := e.p.GetMemo(ctx, operator, "u_alice", r.MemoID)
	if err != nil {
		t.Fatal(err)
	}
	j, err := e.p.Journal(ctx, operator, "u_alice", extract.Week(v.CreatedAt))
	if err != nil {
		t.Fatal(err)
	}
	if len(j.Entries) != 1 {
		t.Errorf("journal entries after redelivery: got %d, want 1", len(j.Entries))
	}
	visible, inFlight, err := e.queue.Depth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if visible+inFlight != 0 {
		t.Errorf("queue depth after redelivery: got %d, want 0", visible+inFlight)
	}
}

// failingSend loses every SendMessage, as if the process died between
// recording the memo and queueing it.
type failingSend struct{ whispersync.Queue }

func (failingSend) SendMessage(context.Context, []byte) (string, error) {
	return "", errors.New("process killed before send")
}

func TestRecoverQueuesUnsentMemo(t *testing.T) {
	var failing bool = true
	e := newEnv(t, options{wrapQueue: func(q whispersync.Queue) whispersync.Queue {
		return switchQueue{Queue: q, fail: &failing}
	}})
	ctx := context.Background()
	_, err := e.p.Submit(ctx, pipeline.Submission{Actor: operator, Owner: "u_alice", Source: "memo.txt", Raw: []byte(workMemo)})
	if err == nil {
		t.Fatal("submit with a lost send: got no error, want one so the client retries")
	}

	failing = false
	n, err := e.p.Recover(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("recovered memos: got %d, want 1", n)
	}
	e.drain(t)
	memos, err := e.p.ListMemos(ctx, operator, "u_alice", pipeline.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(memos) != 1 || memos[0].Status != whispersync.StatusProcessed {
		t.Fatalf("memos after recovery: got %+v, want one processed memo", memos)
	}
	if n, _ := e.p.Recover(ctx, 0); n != 0 {
		t.Errorf("second recovery: got %d memos, want 0", n)
	}
}

type switchQueue struct {
	whispersync.Queue
	fail *bool
}

func (q switchQueue) SendMessage(ctx context.Context, body []byte) (string, error) {
	if *q.fail {
		return failingSend{}.SendMessage(ctx, body)
	}
	return q.Queue.SendMessage(ctx, body)
}

func TestRejectedInputIsQuarantined(t *testing.T) {
	e := newEnv(t, options{})
	ctx := context.Background()
	raw := "notes from the portal <script>alert(1)</script>"
	r := e.submit(t, "u_alice", raw)
	if r.Status != pipeline.ReceiptRejected || r.Err == nil || r.Err.Rule != "script_tag" {
		t.Fatalf("receipt: got %+v, want rejected by script_tag", r)
	}
	visible, _, err := e.queue.Depth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if visible != 0 {
		t.Errorf("queued messages: got %d, want 0", visible)
	}
	versions, err := e.objects.ListObjectVersions(ctx, "quarantine/u_alice/")
	if err != nil {
		t.Fatal(err)
	}
	if len(versions) != 1 {
		t.Fatalf("quarantined objects: got %d, want 1", len(versions))
	}
	obj, err := e.objects.GetObject(ctx, versions[0].Key, "")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(obj.Body, []byte("portal")) {
		t.Error("quarantined object holds the input in plaintext")
	}
	if obj.Tags[whispersync.TagApproved] == "true" {
		t.Error("quarantined object is tagged approved")
	}
	v, err := e.p.GetMemo(ctx, operator, "u_alice", r.MemoID)
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != whispersync.StatusRejected || v.Error == nil || v.Error.Rule != "script_tag" {
		t.Errorf("rejected memo: got status %q error %+v, want rejected by script_tag", v.Status, v.Error)
	}
}

func TestDuplicateIsDetected(t *testing.T) {
	for _, oneCommit := range []bool{false, true} {
		t.Run(fmt.Sprintf("one commit %v", oneCommit), func(t *testing.T) {
			e := newEnv(t, options{oneCommit: oneCommit})
			first := e.submit(t, "u_alice", workMemo)
			second := e.submit(t, "u_alice", "\ufeff"+strings.ReplaceAll(workMemo, "\n", "\r\n"))
			if second.Status != pipeline.ReceiptDuplicate || second.MemoID != first.MemoID {
				t.Errorf("second submission: got %+v, want duplicate of %s", second, first.MemoID)
			}
			other := e.submit(t, "u_bob", workMemo)
			if other.Status != pipeline.ReceiptQueued {
				t.Errorf("same text from another owner: got %q, want queued", other.Status)
			}
		})
	}
}

func TestOtherOwnersMemoIsNotFound(t *testing.T) {
	e := newEnv(t, options{})
	ctx := context.Background()
	r := e.submit(t, "u_alice", memoryMemo)
	e.drain(t)
	_, err := e.p.GetMemo(ctx, operator, "u_bob", r.MemoID)
	if !whispersync.IsNotFound(err) {
		t.Errorf("bob reads alice's memo: got %v, want not found", err)
	}
	hits, err := e.p.SearchMemories(ctx, operator, "u_bob", "sandcastle", memoryFilter())
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 0 {
		t.Errorf("bob searches alice's memories: got %d hits, want 0", len(hits))
	}
	hits, err = e.p.SearchMemories(ctx, operator, "u_alice", "sandcastle", memoryFilter())
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 1 {
		t.Errorf("alice searches her memories: got %d hits, want 1", len(hits))
	}
}

// flippingStore flips one byte of every object body it returns, as a disk
// or an attacker with write access to the store might.
type flippingStore struct{ whispersync.ObjectStore }

func (f flippingStore) GetObject(ctx context.Context, key, versionID string) (*whispersync.Object, error) {
	obj, err := f.ObjectStore.GetObject(ctx, key, versionID)
	if err != nil {
		return nil, err
	}
	obj.Body = bytes.Clone(obj.Body)
	obj.Body[len(obj.Body)/2] ^= 0x01
	return obj, nil
}

func TestTamperedTranscriptFailsAuthentication(t *testing.T) {
	e := newEnv(t, options{wrapObjects: func(s whispersync.ObjectStore) whispersync.ObjectStore { return flippingStore{s} }})
	ctx := context.Background()
	r := e.submit(t, "u_alice", workMemo)

	e.drain(t)
	v, err := e.p.GetMemo(ctx, operator, "u_alice", r.MemoID)
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != whispersync.StatusQueued {
		t.Errorf("memo with a tampered transcript: got status %q, want still queued", v.Status)
	}

	// After the maximum number of receives the message is dead-lettered.
	for range 6 {
		e.clock.Advance(time.Hour)
		e.drain(t)
	}
	letters, err := e.queue.ListDeadLetters(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(letters) != 1 {
		t.Fatalf("dead letters: got %d, want 1", len(letters))
	}
	if letters[0].LastError == "" {
		t.Error("dead letter has no last error")
	}
}

func TestApprovedOnlyDeniesUnapprovedObject(t *testing.T) {
	e := newEnv(t, options{})
	ctx := context.Background()
	if _, err := e.objects.PutObject(ctx, "transcripts/u_alice/x", []byte("sealed"), map[string]string{whispersync.TagApproved: "false"}); err != nil {
		t.Fatal(err)
	}
	_, err := pipeline.ApprovedOnly(e.objects).GetObject(ctx, "transcripts/u_alice/x", "")
	if whispersync.ErrorCode(err) != whispersync.EFORBIDDEN {
		t.Errorf("read unapproved object: got %v, want forbidden", err)
	}
	_, err = pipeline.WriteOnly(e.objects).DeleteObject(ctx, "transcripts/u_alice/x", "")
	if whispersync.ErrorCode(err) != whispersync.EFORBIDDEN {
		t.Errorf("intake deletes latest version: got %v, want forbidden", err)
	}
	if _, ok := pipeline.WriteOnly(e.objects).(interface {
		GetObject(context.Context, string, string) (*whispersync.Object, error)
	}); ok {
		t.Error("intake's handle can read objects")
	}
}

func TestAssignSettlesReviewMemo(t *testing.T) {
	e := newEnv(t, options{})
	ctx := context.Background()
	r := e.submit(t, "u_alice", "testing testing one two three is this thing on")
	e.drain(t)
	review, err := e.p.ListReview(ctx, operator, "u_alice")
	if err != nil {
		t.Fatal(err)
	}
	if len(review) != 1 || review[0].ID != r.MemoID {
		t.Fatalf("review queue: got %+v, want the mic test", review)
	}

	if _, err := e.p.Assign(ctx, operator, "u_alice", r.MemoID, whispersync.BucketMemory); err != nil {
		t.Fatal(err)
	}
	v, err := e.p.GetMemo(ctx, operator, "u_alice", r.MemoID)
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != whispersync.StatusProcessed || v.Bucket != whispersync.BucketMemory {
		t.Errorf("assigned memo: got %s/%s, want processed/memory", v.Status, v.Bucket)
	}
	review, err = e.p.ListReview(ctx, operator, "u_alice")
	if err != nil {
		t.Fatal(err)
	}
	if len(review) != 0 {
		t.Errorf("review queue after assign: got %d, want 0", len(review))
	}
	if _, err := e.p.Assign(ctx, operator, "u_alice", r.MemoID, whispersync.BucketWork); !whispersync.IsConflict(err) {
		t.Errorf("assign a processed memo: got %v, want conflict", err)
	}
	signals, err := e.db.Tables().Query(ctx, whispersync.Query{Table: "training_signals", Owner: "u_alice"})
	if err != nil {
		t.Fatal(err)
	}
	if len(signals) != 1 {
		t.Errorf("training signals: got %d, want 1", len(signals))
	}
}

func TestNoPlaintextInDataDirectory(t *testing.T) {
	e := newEnv(t, options{})
	const canary = "Quokkaberry Zanzibar"
	e.submit(t, "u_alice", memoryMemo+" My friend "+canary+" was there too.")
	e.submit(t, "u_alice", workMemo+" Ask "+canary+" about the pallets.")
	e.drain(t)
	if _, err := e.p.SearchMemories(context.Background(), operator, "u_alice", canary, memoryFilter()); err != nil {
		t.Fatal(err)
	}
	if err := e.db.Close(); err != nil {
		t.Fatal(err)
	}
	assertAbsent(t, e.dir, "quokkaberry", "zanzibar", "sandcastle", "forklift")
}

// assertAbsent fails when any file under dir contains one of the words, in
// any letter case.
func assertAbsent(t *testing.T, dir string, words ...string) {
	t.Helper()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	err = fs.WalkDir(root.FS(), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := root.ReadFile(name)
		if err != nil {
			return err
		}
		lower := bytes.ToLower(data)
		for _, w := range words {
			if bytes.Contains(lower, []byte(strings.ToLower(w))) {
				t.Errorf("%s contains %q in plaintext", name, w)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
