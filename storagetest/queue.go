package storagetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/whispersync/whispersync"
)

// QueueConfig configures a queue under test.
type QueueConfig struct {
	// MaxReceives is the receive count after which a message moves to the
	// dead-letter queue.
	MaxReceives int
	// Now is the clock the queue must read for visibility timeouts and
	// message times. The tests move it forward instead of sleeping.
	Now func() time.Time
}

// Queue runs the contract tests of whispersync.Queue and
// whispersync.DeadLetterQueue. open returns a new, empty queue and its
// dead-letter queue for each subtest and arranges their cleanup with
// t.Cleanup.
//
// Beyond the interface documentation, the contract fixes these choices,
// each the one SQS makes:
//
//   - Bodies are arbitrary bytes. An empty body is EINVALID, and a batch
//     with one is not sent at all.
//   - ReceiveMessage takes 1 to 10 messages and a visibility timeout of at
//     least 0. Other values are EINVALID.
//   - A receipt handle stays valid until its message is received again or
//     deleted, even after the visibility timeout ran out.
//   - SentAt is the queue clock's time at sending.
//   - Redrive skips ids that name no dead letter, and PurgeDeadLetter of
//     such an id is ENOTFOUND.
//
// When the queue also has a method RecordError(ctx, receiptHandle, message
// string) error, the tests check that the recorded error shows as the dead
// letter's LastError.
func Queue(t *testing.T, open func(t *testing.T, cfg QueueConfig) (whispersync.Queue, whispersync.DeadLetterQueue)) {
	tests := []struct {
		name string
		run  func(t *testing.T, e *queueEnv)
	}{
		{"SendReceiveDelete", testQueueSendReceiveDelete},
		{"ReceiveEmpty", testQueueReceiveEmpty},
		{"BinaryBody", testQueueBinaryBody},
		{"BodiesAreCopied", testQueueBodiesAreCopied},
		{"EmptyBody", testQueueEmptyBody},
		{"InFlightIsInvisible", testQueueInFlightIsInvisible},
		{"RedeliveryCountsReceives", testQueueRedeliveryCountsReceives},
		{"StaleReceipt", testQueueStaleReceipt},
		{"ReceiptValidUntilReceivedAgain", testQueueReceiptValidUntilReceivedAgain},
		{"ChangeVisibilityExtends", testQueueChangeVisibilityExtends},
		{"ChangeVisibilityToZero", testQueueChangeVisibilityToZero},
		{"ReceiveMax", testQueueReceiveMax},
		{"ReceiveInvalidArguments", testQueueReceiveInvalidArguments},
		{"Depth", testQueueDepth},
		{"DeadLetterAfterMaxReceives", testQueueDeadLetterAfterMaxReceives},
		{"DeadLetterShowsWithoutReceive", testQueueDeadLetterShowsWithoutReceive},
		{"DeletedMessageNeverDies", testQueueDeletedMessageNeverDies},
		{"RedriveAll", testQueueRedriveAll},
		{"RedriveNamed", testQueueRedriveNamed},
		{"RedriveGivesFreshReceives", testQueueRedriveGivesFreshReceives},
		{"PurgeDeadLetter", testQueuePurgeDeadLetter},
		{"LastError", testQueueLastError},
		{"SendBatch", testQueueSendBatch},
		{"SendBatchAllOrNothing", testQueueSendBatchAllOrNothing},
		{"DeleteBatch", testQueueDeleteBatch},
		{"DeleteBatchWithStaleHandle", testQueueDeleteBatchWithStaleHandle},
		{"ConcurrentProducers", testQueueConcurrentProducers},
		{"ConcurrentConsumers", testQueueConcurrentConsumers},
		{"CanceledContext", testQueueCanceledContext},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := &fakeClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
			q, dlq := open(t, QueueConfig{MaxReceives: testMaxReceives, Now: clock.Now})
			tt.run(t, &queueEnv{q: q, dlq: dlq, clock: clock})
		})
	}
}

// testMaxReceives is the receive count the tests configure.
const testMaxReceives = 3

// queueEnv is what each queue subtest works on.
type queueEnv struct {
	q     whispersync.Queue
	dlq   whispersync.DeadLetterQueue
	clock *fakeClock
}

// fakeClock is a clock that moves only when told.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func testQueueSendReceiveDelete(t *testing.T, e *queueEnv) {
	sentAt := e.clock.Now()
	id := mustSend(t, e.q, "memo m1 version 1")
	e.clock.Advance(time.Second)

	msgs := mustReceive(t, e.q, 10, time.Minute)
	if len(msgs) != 1 {
		t.Fatalf("received: got %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if m.ID != id || string(m.Body) != "memo m1 version 1" || m.ReceiveCount != 1 || !m.SentAt.Equal(sentAt) || m.ReceiptHandle == "" {
		t.Errorf("message: got %+v, want id %q, body %q, receive count 1, sent at %v and a receipt handle", m, id, "memo m1 version 1", sentAt)
	}

	if err := e.q.DeleteMessage(t.Context(), m.ReceiptHandle); err != nil {
		t.Fatalf("delete: %v", err)
	}
	wantDepth(t, e.q, 0, 0)
	e.clock.Advance(2 * time.Minute)
	if msgs := mustReceive(t, e.q, 10, time.Minute); len(msgs) != 0 {
		t.Errorf("received after delete: got %+v, want none", msgs)
	}
}

func testQueueReceiveEmpty(t *testing.T, e *queueEnv) {
	msgs, err := e.q.ReceiveMessage(t.Context(), 10, time.Minute)
	if err != nil || len(msgs) != 0 {
		t.Errorf("receive from an empty queue: got %+v, %v; want none, nil", msgs, err)
	}
}

func testQueueBinaryBody(t *testing.T, e *queueEnv) {
	body := make([]byte, 256)
	for i := range body {
		body[i] = byte(i)
	}
	if _, err := e.q.SendMessage(t.Context(), body); err != nil {
		t.Fatalf("send: %v", err)
	}
	msgs := mustReceive(t, e.q, 1, time.Minute)
	if len(msgs) != 1 || !bytes.Equal(msgs[0].Body, body) {
		t.Errorf("received: got %+v, want the 256 byte values in order", msgs)
	}
}

func testQueueBodiesAreCopied(t *testing.T, e *queueEnv) {
	body := []byte("original")
	if _, err := e.q.SendMessage(t.Context(), body); err != nil {
		t.Fatalf("send: %v", err)
	}
	copy(body, "changed!")
	msgs := mustReceive(t, e.q, 1, time.Minute)
	if len(msgs) != 1 || string(msgs[0].Body) != "original" {
		t.Errorf("received: got %+v, want body %q", msgs, "original")
	}
}

func testQueueEmptyBody(t *testing.T, e *queueEnv) {
	_, err := e.q.SendMessage(t.Context(), nil)
	wantCode(t, "send of an empty body", err, whispersync.EINVALID)
	wantDepth(t, e.q, 0, 0)
}

func testQueueInFlightIsInvisible(t *testing.T, e *queueEnv) {
	id := mustSend(t, e.q, "m")
	first := mustReceiveOne(t, e.q, 30*time.Second)

	if msgs := mustReceive(t, e.q, 10, 30*time.Second); len(msgs) != 0 {
		t.Errorf("received while in flight: got %+v, want none", msgs)
	}
	wantDepth(t, e.q, 0, 1)
	e.clock.Advance(29 * time.Second)
	if msgs := mustReceive(t, e.q, 10, 30*time.Second); len(msgs) != 0 {
		t.Errorf("received before the timeout ran out: got %+v, want none", msgs)
	}

	e.clock.Advance(2 * time.Second)
	wantDepth(t, e.q, 1, 0)
	again := mustReceiveOne(t, e.q, 30*time.Second)
	if again.ID != id || again.ReceiveCount != 2 || again.ReceiptHandle == first.ReceiptHandle {
		t.Errorf("redelivered message: got id %q, receive count %d, same handle %t; want id %q, count 2, a new handle",
			again.ID, again.ReceiveCount, again.ReceiptHandle == first.ReceiptHandle, id)
	}
}

func testQueueRedeliveryCountsReceives(t *testing.T, e *queueEnv) {
	id := mustSend(t, e.q, "m")
	handles := map[string]bool{}
	for want := 1; want <= testMaxReceives; want++ {
		m := mustReceiveOne(t, e.q, 10*time.Second)
		if m.ID != id || m.ReceiveCount != want || string(m.Body) != "m" {
			t.Errorf("receive %d: got id %q, count %d, body %q; want id %q, count %d, body %q", want, m.ID, m.ReceiveCount, m.Body, id, want, "m")
		}
		if handles[m.ReceiptHandle] {
			t.Errorf("receive %d: got a receipt handle used before, want a new one", want)
		}
		handles[m.ReceiptHandle] = true
		e.clock.Advance(11 * time.Second)
	}
}

func testQueueStaleReceipt(t *testing.T, e *queueEnv) {
	mustSend(t, e.q, "m")
	old := mustReceiveOne(t, e.q, 10*time.Second)
	e.clock.Advance(11 * time.Second)
	current := mustReceiveOne(t, e.q, 10*time.Second)

	ctx := t.Context()
	wantCode(t, "delete with a handle of an earlier receive", e.q.DeleteMessage(ctx, old.ReceiptHandle), whispersync.EINVALID)
	wantCode(t, "change visibility with a handle of an earlier receive", e.q.ChangeMessageVisibility(ctx, old.ReceiptHandle, time.Hour), whispersync.EINVALID)
	wantDepth(t, e.q, 0, 1)

	if err := e.q.DeleteMessage(ctx, current.ReceiptHandle); err != nil {
		t.Fatalf("delete with the current handle: %v", err)
	}
	wantCode(t, "delete of a deleted message", e.q.DeleteMessage(ctx, current.ReceiptHandle), whispersync.EINVALID)
	wantCode(t, "change visibility of a deleted message", e.q.ChangeMessageVisibility(ctx, current.ReceiptHandle, time.Hour), whispersync.EINVALID)
	wantCode(t, "delete with a made-up handle", e.q.DeleteMessage(ctx, "not-a-receipt-handle"), whispersync.EINVALID)
}

func testQueueReceiptValidUntilReceivedAgain(t *testing.T, e *queueEnv) {
	mustSend(t, e.q, "m")
	m := mustReceiveOne(t, e.q, 10*time.Second)
	e.clock.Advance(time.Minute)

	if err := e.q.DeleteMessage(t.Context(), m.ReceiptHandle); err != nil {
		t.Fatalf("delete after the timeout ran out: got %v, want nil", err)
	}
	if msgs := mustReceive(t, e.q, 10, time.Minute); len(msgs) != 0 {
		t.Errorf("received after delete: got %+v, want none", msgs)
	}
}

func testQueueChangeVisibilityExtends(t *testing.T, e *queueEnv) {
	mustSend(t, e.q, "m")
	m := mustReceiveOne(t, e.q, 10*time.Second)
	e.clock.Advance(5 * time.Second)
	if err := e.q.ChangeMessageVisibility(t.Context(), m.ReceiptHandle, time.Minute); err != nil {
		t.Fatalf("change visibility: %v", err)
	}

	e.clock.Advance(30 * time.Second)
	if msgs := mustReceive(t, e.q, 10, time.Minute); len(msgs) != 0 {
		t.Errorf("received within the extended timeout: got %+v, want none", msgs)
	}
	e.clock.Advance(31 * time.Second)
	if again := mustReceiveOne(t, e.q, time.Minute); again.ReceiveCount != 2 {
		t.Errorf("receive count after the extended timeout: got %d, want 2", again.ReceiveCount)
	}
}

func testQueueChangeVisibilityToZero(t *testing.T, e *queueEnv) {
	mustSend(t, e.q, "m")
	m := mustReceiveOne(t, e.q, time.Hour)
	if err := e.q.ChangeMessageVisibility(t.Context(), m.ReceiptHandle, 0); err != nil {
		t.Fatalf("change visibility to zero: %v", err)
	}
	wantDepth(t, e.q, 1, 0)
	if again := mustReceiveOne(t, e.q, time.Hour); again.ReceiveCount != 2 {
		t.Errorf("receive count after release: got %d, want 2", again.ReceiveCount)
	}
}

func testQueueReceiveMax(t *testing.T, e *queueEnv) {
	sent := map[string]bool{}
	for i := range 5 {
		sent[mustSend(t, e.q, fmt.Sprintf("m%d", i))] = true
	}
	first := mustReceive(t, e.q, 2, time.Minute)
	if len(first) != 2 {
		t.Fatalf("first receive of 2: got %d messages", len(first))
	}
	rest := mustReceive(t, e.q, 10, time.Minute)
	if len(rest) != 3 {
		t.Fatalf("second receive of up to 10: got %d messages, want 3", len(rest))
	}
	got := map[string]bool{}
	for _, m := range append(first, rest...) {
		if got[m.ID] || !sent[m.ID] {
			t.Errorf("message %q: got it twice or never sent it", m.ID)
		}
		got[m.ID] = true
	}
}

func testQueueReceiveInvalidArguments(t *testing.T, e *queueEnv) {
	mustSend(t, e.q, "m")
	tests := []struct {
		name       string
		max        int
		visibility time.Duration
	}{
		{"no messages", 0, time.Minute},
		{"negative count", -1, time.Minute},
		{"more than 10 messages", 11, time.Minute},
		{"negative visibility", 1, -time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.q.ReceiveMessage(t.Context(), tt.max, tt.visibility)
			wantCode(t, "receive", err, whispersync.EINVALID)
		})
	}
	wantDepth(t, e.q, 1, 0)
}

func testQueueDepth(t *testing.T, e *queueEnv) {
	wantDepth(t, e.q, 0, 0)
	for i := range 3 {
		mustSend(t, e.q, fmt.Sprintf("m%d", i))
	}
	wantDepth(t, e.q, 3, 0)
	m := mustReceiveOne(t, e.q, time.Minute)
	wantDepth(t, e.q, 2, 1)
	if err := e.q.DeleteMessage(t.Context(), m.ReceiptHandle); err != nil {
		t.Fatalf("delete: %v", err)
	}
	wantDepth(t, e.q, 2, 0)
}

// exhaust receives the only visible message until it has used its
// receives, letting each visibility timeout run out, and returns the time
// of the last receive.
func exhaust(t *testing.T, e *queueEnv) time.Time {
	t.Helper()
	var last time.Time
	for range testMaxReceives {
		last = e.clock.Now()
		mustReceiveOne(t, e.q, 10*time.Second)
		e.clock.Advance(11 * time.Second)
	}
	return last
}

func testQueueDeadLetterAfterMaxReceives(t *testing.T, e *queueEnv) {
	sentAt := e.clock.Now()
	id := mustSend(t, e.q, "poison")
	lastReceive := exhaust(t, e)

	if msgs := mustReceive(t, e.q, 10, 10*time.Second); len(msgs) != 0 {
		t.Errorf("receive after %d receives: got %+v, want none", testMaxReceives, msgs)
	}
	wantDepth(t, e.q, 0, 0)

	dead := mustListDead(t, e.dlq)
	if len(dead) != 1 {
		t.Fatalf("dead letters: got %d, want 1", len(dead))
	}
	d := dead[0]
	if d.ID != id || string(d.Body) != "poison" || d.ReceiveCount != testMaxReceives || !d.SentAt.Equal(sentAt) {
		t.Errorf("dead letter: got %+v, want id %q, body %q, receive count %d, sent at %v", d, id, "poison", testMaxReceives, sentAt)
	}
	if d.DeadAt.Before(lastReceive) || d.DeadAt.After(e.clock.Now()) {
		t.Errorf("dead at: got %v, want between the last receive %v and now %v", d.DeadAt, lastReceive, e.clock.Now())
	}
}

func testQueueDeadLetterShowsWithoutReceive(t *testing.T, e *queueEnv) {
	id := mustSend(t, e.q, "poison")
	for range testMaxReceives - 1 {
		mustReceiveOne(t, e.q, 10*time.Second)
		e.clock.Advance(11 * time.Second)
	}
	if dead := mustListDead(t, e.dlq); len(dead) != 0 {
		t.Fatalf("dead letters with a receive left: got %+v, want none", dead)
	}
	mustReceiveOne(t, e.q, 10*time.Second)
	if dead := mustListDead(t, e.dlq); len(dead) != 0 {
		t.Fatalf("dead letters while the last receive is in flight: got %+v, want none", dead)
	}

	e.clock.Advance(11 * time.Second)
	wantDepth(t, e.q, 0, 0)
	if dead := mustListDead(t, e.dlq); len(dead) != 1 || dead[0].ID != id {
		t.Errorf("dead letters once the last timeout ran out: got %+v, want message %q", dead, id)
	}
}

func testQueueDeletedMessageNeverDies(t *testing.T, e *queueEnv) {
	mustSend(t, e.q, "m")
	for range testMaxReceives - 1 {
		mustReceiveOne(t, e.q, 10*time.Second)
		e.clock.Advance(11 * time.Second)
	}
	last := mustReceiveOne(t, e.q, 10*time.Second)
	if err := e.q.DeleteMessage(t.Context(), last.ReceiptHandle); err != nil {
		t.Fatalf("delete on the last receive: %v", err)
	}
	e.clock.Advance(time.Minute)
	if dead := mustListDead(t, e.dlq); len(dead) != 0 {
		t.Errorf("dead letters: got %+v, want none", dead)
	}
}

// killTwo sends two messages and lets both use their receives, and returns
// their ids.
func killTwo(t *testing.T, e *queueEnv) []string {
	t.Helper()
	ids := []string{mustSend(t, e.q, "first"), mustSend(t, e.q, "second")}
	for range testMaxReceives {
		if msgs := mustReceive(t, e.q, 10, 10*time.Second); len(msgs) != 2 {
			t.Fatalf("receive: got %d messages, want 2", len(msgs))
		}
		e.clock.Advance(11 * time.Second)
	}
	if dead := mustListDead(t, e.dlq); len(dead) != 2 {
		t.Fatalf("dead letters: got %d, want 2", len(dead))
	}
	return ids
}

func testQueueRedriveAll(t *testing.T, e *queueEnv) {
	ids := killTwo(t, e)
	n, err := e.dlq.Redrive(t.Context())
	if err != nil || n != 2 {
		t.Fatalf("redrive all: got %d, %v; want 2, nil", n, err)
	}
	if dead := mustListDead(t, e.dlq); len(dead) != 0 {
		t.Errorf("dead letters after redrive: got %+v, want none", dead)
	}
	wantDepth(t, e.q, 2, 0)

	msgs := mustReceive(t, e.q, 10, time.Minute)
	var got []string
	for _, m := range msgs {
		got = append(got, m.ID)
		if m.ReceiveCount != 1 {
			t.Errorf("receive count of redriven %q: got %d, want 1", m.ID, m.ReceiveCount)
		}
	}
	slices.Sort(got)
	want := slices.Sorted(slices.Values(ids))
	if !slices.Equal(got, want) {
		t.Errorf("redriven ids: got %q, want %q", got, want)
	}
}

func testQueueRedriveNamed(t *testing.T, e *queueEnv) {
	ids := killTwo(t, e)
	n, err := e.dlq.Redrive(t.Context(), ids[1], "no-such-message")
	if err != nil || n != 1 {
		t.Fatalf("redrive of one id and an unknown one: got %d, %v; want 1, nil", n, err)
	}
	if dead := mustListDead(t, e.dlq); len(dead) != 1 || dead[0].ID != ids[0] {
		t.Errorf("dead letters after redrive: got %+v, want only %q", dead, ids[0])
	}
	if m := mustReceiveOne(t, e.q, time.Minute); m.ID != ids[1] {
		t.Errorf("redriven message: got %q, want %q", m.ID, ids[1])
	}
	if n, err := e.dlq.Redrive(t.Context(), "no-such-message"); err != nil || n != 0 {
		t.Errorf("redrive of an unknown id: got %d, %v; want 0, nil", n, err)
	}
}

func testQueueRedriveGivesFreshReceives(t *testing.T, e *queueEnv) {
	id := mustSend(t, e.q, "m")
	exhaust(t, e)
	if n, err := e.dlq.Redrive(t.Context(), id); err != nil || n != 1 {
		t.Fatalf("redrive: got %d, %v; want 1, nil", n, err)
	}
	exhaust(t, e)
	if dead := mustListDead(t, e.dlq); len(dead) != 1 || dead[0].ID != id || dead[0].ReceiveCount != testMaxReceives {
		t.Errorf("dead letters after the second round: got %+v, want %q with %d receives", dead, id, testMaxReceives)
	}
}

func testQueuePurgeDeadLetter(t *testing.T, e *queueEnv) {
	ids := killTwo(t, e)
	if err := e.dlq.PurgeDeadLetter(t.Context(), ids[0]); err != nil {
		t.Fatalf("purge: %v", err)
	}
	if dead := mustListDead(t, e.dlq); len(dead) != 1 || dead[0].ID != ids[1] {
		t.Errorf("dead letters after purge: got %+v, want only %q", dead, ids[1])
	}
	wantCode(t, "purge of a purged dead letter", e.dlq.PurgeDeadLetter(t.Context(), ids[0]), whispersync.ENOTFOUND)
	if n, err := e.dlq.Redrive(t.Context(), ids[0]); err != nil || n != 0 {
		t.Errorf("redrive of a purged dead letter: got %d, %v; want 0, nil", n, err)
	}
}

// errorRecorder is the optional ability to record a consumer's failure.
type errorRecorder interface {
	RecordError(ctx context.Context, receiptHandle, message string) error
}

func testQueueLastError(t *testing.T, e *queueEnv) {
	rec, ok := e.q.(errorRecorder)
	if !ok {
		t.Skip("the queue records no consumer errors")
	}
	mustSend(t, e.q, "m")
	for i := range testMaxReceives {
		m := mustReceiveOne(t, e.q, 10*time.Second)
		if err := rec.RecordError(t.Context(), m.ReceiptHandle, fmt.Sprintf("classify: attempt %d timed out", i+1)); err != nil {
			t.Fatalf("record error: %v", err)
		}
		e.clock.Advance(11 * time.Second)
	}
	want := fmt.Sprintf("classify: attempt %d timed out", testMaxReceives)
	if dead := mustListDead(t, e.dlq); len(dead) != 1 || dead[0].LastError != want {
		t.Errorf("dead letters: got %+v, want one with last error %q", dead, want)
	}

	mustSend(t, e.q, "n")
	old := mustReceiveOne(t, e.q, 10*time.Second)
	e.clock.Advance(11 * time.Second)
	mustReceiveOne(t, e.q, 10*time.Second)
	wantCode(t, "record error with a stale handle", rec.RecordError(t.Context(), old.ReceiptHandle, "late"), whispersync.EINVALID)
}

func testQueueSendBatch(t *testing.T, e *queueEnv) {
	bodies := [][]byte{[]byte("a"), []byte("b"), []byte("c")}
	ids, err := e.q.SendMessageBatch(t.Context(), bodies)
	if err != nil {
		t.Fatalf("send batch: %v", err)
	}
	if len(ids) != 3 || ids[0] == ids[1] || ids[1] == ids[2] || ids[0] == ids[2] {
		t.Fatalf("ids: got %q, want 3 distinct", ids)
	}
	want := map[string]string{ids[0]: "a", ids[1]: "b", ids[2]: "c"}
	msgs := mustReceive(t, e.q, 10, time.Minute)
	if len(msgs) != 3 {
		t.Fatalf("received: got %d messages, want 3", len(msgs))
	}
	for _, m := range msgs {
		if want[m.ID] != string(m.Body) {
			t.Errorf("message %q: got body %q, want %q", m.ID, m.Body, want[m.ID])
		}
	}
}

func testQueueSendBatchAllOrNothing(t *testing.T, e *queueEnv) {
	bodies := [][]byte{[]byte("a"), nil, []byte("c")}
	ids, err := e.q.SendMessageBatch(t.Context(), bodies)
	wantCode(t, "send batch with an empty body", err, whispersync.EINVALID)
	if len(ids) != 0 {
		t.Errorf("ids of a failed batch: got %q, want none", ids)
	}
	wantDepth(t, e.q, 0, 0)
	if msgs := mustReceive(t, e.q, 10, time.Minute); len(msgs) != 0 {
		t.Errorf("received after a failed batch: got %+v, want none", msgs)
	}
}

func testQueueDeleteBatch(t *testing.T, e *queueEnv) {
	for i := range 3 {
		mustSend(t, e.q, fmt.Sprintf("m%d", i))
	}
	msgs := mustReceive(t, e.q, 10, time.Minute)
	var handles []string
	for _, m := range msgs {
		handles = append(handles, m.ReceiptHandle)
	}
	if err := e.q.DeleteMessageBatch(t.Context(), handles); err != nil {
		t.Fatalf("delete batch: %v", err)
	}
	wantDepth(t, e.q, 0, 0)
}

func testQueueDeleteBatchWithStaleHandle(t *testing.T, e *queueEnv) {
	for i := range 3 {
		mustSend(t, e.q, fmt.Sprintf("m%d", i))
	}
	msgs := mustReceive(t, e.q, 10, time.Minute)
	if len(msgs) != 3 {
		t.Fatalf("received: got %d messages, want 3", len(msgs))
	}
	// Release the third message and receive it again, so that its first
	// handle is stale while the others stay valid.
	if err := e.q.ChangeMessageVisibility(t.Context(), msgs[2].ReceiptHandle, 0); err != nil {
		t.Fatalf("change visibility: %v", err)
	}
	again := mustReceiveOne(t, e.q, time.Minute)
	if again.ID != msgs[2].ID {
		t.Fatalf("received again: got %q, want %q", again.ID, msgs[2].ID)
	}

	err := e.q.DeleteMessageBatch(t.Context(), []string{msgs[0].ReceiptHandle, msgs[1].ReceiptHandle, msgs[2].ReceiptHandle})
	wantCode(t, "delete batch with a stale handle", err, whispersync.EINVALID)
	wantDepth(t, e.q, 0, 1)

	e.clock.Advance(2 * time.Minute)
	rest := mustReceive(t, e.q, 10, time.Minute)
	if len(rest) != 1 || rest[0].ID != msgs[2].ID {
		t.Errorf("received after the batch: got %+v, want only %q", rest, msgs[2].ID)
	}
}

func testQueueConcurrentProducers(t *testing.T, e *queueEnv) {
	const producers, each = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, producers)
	for p := range producers {
		wg.Go(func() {
			for i := range each {
				if _, err := e.q.SendMessage(t.Context(), fmt.Appendf(nil, "p%d-%d", p, i)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("send: %v", err)
	}
	wantDepth(t, e.q, producers*each, 0)
}

// testQueueConcurrentConsumers checks that no message is delivered twice
// while it is in flight.
func testQueueConcurrentConsumers(t *testing.T, e *queueEnv) {
	const messages, consumers = 40, 4
	var bodies [][]byte
	for i := range messages {
		bodies = append(bodies, fmt.Appendf(nil, "m%d", i))
	}
	for chunk := range slices.Chunk(bodies, 10) {
		if _, err := e.q.SendMessageBatch(t.Context(), chunk); err != nil {
			t.Fatalf("send batch: %v", err)
		}
	}

	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	errs := make(chan error, consumers)
	for range consumers {
		wg.Go(func() {
			for {
				msgs, err := e.q.ReceiveMessage(t.Context(), 3, time.Hour)
				if err != nil {
					errs <- err
					return
				}
				if len(msgs) == 0 {
					return
				}
				for _, m := range msgs {
					mu.Lock()
					seen[m.ID]++
					mu.Unlock()
					if err := e.q.DeleteMessage(t.Context(), m.ReceiptHandle); err != nil {
						errs <- err
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("consume: %v", err)
	}
	if len(seen) != messages {
		t.Errorf("distinct messages received: got %d, want %d", len(seen), messages)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("message %q: received %d times, want once", id, n)
		}
	}
	wantDepth(t, e.q, 0, 0)
}

func testQueueCanceledContext(t *testing.T, e *queueEnv) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	_, err := e.q.SendMessage(ctx, []byte("m"))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("send with canceled context: got %v, want context.Canceled", err)
	}
	wantDepth(t, e.q, 0, 0)
}

func mustSend(t *testing.T, q whispersync.Queue, body string) string {
	t.Helper()
	id, err := q.SendMessage(t.Context(), []byte(body))
	if err != nil {
		t.Fatalf("send %q: %v", body, err)
	}
	if id == "" {
		t.Fatalf("send %q: got an empty id", body)
	}
	return id
}

func mustReceive(t *testing.T, q whispersync.Queue, max int, visibility time.Duration) []whispersync.Message {
	t.Helper()
	msgs, err := q.ReceiveMessage(t.Context(), max, visibility)
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	if len(msgs) > max {
		t.Fatalf("receive of up to %d: got %d messages", max, len(msgs))
	}
	return msgs
}

func mustReceiveOne(t *testing.T, q whispersync.Queue, visibility time.Duration) whispersync.Message {
	t.Helper()
	msgs := mustReceive(t, q, 1, visibility)
	if len(msgs) != 1 {
		t.Fatalf("receive: got %d messages, want 1", len(msgs))
	}
	return msgs[0]
}

func mustListDead(t *testing.T, dlq whispersync.DeadLetterQueue) []whispersync.DeadLetter {
	t.Helper()
	dead, err := dlq.ListDeadLetters(t.Context(), 10)
	if err != nil {
		t.Fatalf("list dead letters: %v", err)
	}
	return dead
}

func wantDepth(t *testing.T, q whispersync.Queue, visible, inFlight int) {
	t.Helper()
	v, f, err := q.Depth(t.Context())
	if err != nil {
		t.Fatalf("depth: %v", err)
	}
	if v != visible || f != inFlight {
		t.Errorf("depth: got %d visible and %d in flight, want %d and %d", v, f, visible, inFlight)
	}
}
