package pipeline_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/pipeline"
)

func TestCorrectionsReachPersonalClassifier(t *testing.T) {
	var (
		mu   sync.Mutex
		seen [][]pipeline.Correction
	)
	personalize := func(c []pipeline.Correction) (whispersync.Classifier, error) {
		mu.Lock()
		seen = append(seen, c)
		mu.Unlock()
		m, err := model()
		return m, err
	}
	e := newEnv(t, options{personalize: personalize})
	ctx := context.Background()

	r := e.submit(t, "u_alice", "testing testing one two three is this thing on")
	e.drain(t)
	if len(seen) != 0 {
		t.Fatalf("personal classifiers before any correction: got %d, want 0", len(seen))
	}
	if _, err := e.p.Assign(ctx, operator, "u_alice", r.MemoID, whispersync.BucketMemory); err != nil {
		t.Fatal(err)
	}

	e.submit(t, "u_alice", memoryMemo)
	e.submit(t, "u_bob", workMemo)
	e.drain(t)
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 {
		t.Fatalf("personal classifiers after one correction: got %d, want 1 (alice only)", len(seen))
	}
	if len(seen[0]) != 1 || len(seen[0][0].Buckets) != 1 || seen[0][0].Buckets[0] != whispersync.BucketMemory {
		t.Errorf("corrections passed on: got %+v, want the one memory assignment", seen[0])
	}
}

func TestDrainWithSeveralLoopsReturnsNoError(t *testing.T) {
	e := newEnv(t, options{})
	ctx := context.Background()
	for round := range 5 {
		for i := range 30 {
			e.submit(t, "u_alice", workMemo+" Round "+string(rune('a'+round))+" item "+string(rune('a'+i))+".")
		}
		n, err := e.p.Drain(ctx, pipeline.WorkerOptions{Concurrency: 40, Idle: time.Millisecond})
		if err != nil {
			t.Fatalf("round %d: drain: %v", round, err)
		}
		if n < 30 {
			t.Errorf("round %d: received %d messages, want at least 30", round, n)
		}
		queued, err := e.p.ListMemos(ctx, operator, "u_alice", pipeline.ListOptions{Status: whispersync.StatusQueued})
		if err != nil {
			t.Fatal(err)
		}
		if len(queued) != 0 {
			t.Errorf("round %d: %d memos still queued after drain, want 0", round, len(queued))
		}
	}
}
