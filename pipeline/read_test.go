package pipeline_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/agent/memory"
	"github.com/whispersync/whispersync/audit"
	"github.com/whispersync/whispersync/pipeline"
)

func TestReadsRejectInvalidArguments(t *testing.T) {
	e := newEnv(t, options{})
	ctx := context.Background()
	day := func(s string) time.Time {
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	cases := []struct {
		name string
		call func() error
	}{
		{"unknown status", func() error {
			_, err := e.p.ListMemos(ctx, operator, "u_alice", pipeline.ListOptions{Status: "bogus"})
			return err
		}},
		{"negative limit", func() error {
			_, err := e.p.ListMemos(ctx, operator, "u_alice", pipeline.ListOptions{Limit: -1})
			return err
		}},
		{"week 53 of a 52-week year", func() error {
			_, err := e.p.Journal(ctx, operator, "u_alice", "2025-W53")
			return err
		}},
		{"week without W", func() error {
			_, err := e.p.Journal(ctx, operator, "u_alice", "2026-49")
			return err
		}},
		{"unknown sentiment", func() error {
			_, err := e.p.SearchMemories(ctx, operator, "u_alice", "beach", memory.Filter{Sentiment: "ecstatic"})
			return err
		}},
		{"from after to", func() error {
			_, err := e.p.SearchMemories(ctx, operator, "u_alice", "beach", memory.Filter{From: day("2026-12-01"), To: day("2026-11-01")})
			return err
		}},
	}
	for _, c := range cases {
		if err := c.call(); whispersync.ErrorCode(err) != whispersync.EINVALID {
			t.Errorf("%s: got %v, want an invalid-input error", c.name, err)
		}
	}

	if _, err := e.p.Journal(ctx, operator, "u_alice", "2026-W53"); err != nil {
		t.Errorf("2026-W53, a real week: got %v, want no error", err)
	}
}

func TestGetMemosAuditsEachRead(t *testing.T) {
	e := newEnv(t, options{})
	ctx := context.Background()
	ids := []string{
		e.submit(t, "u_alice", workMemo).MemoID,
		e.submit(t, "u_alice", memoryMemo).MemoID,
	}
	e.drain(t)

	views, err := e.p.GetMemos(ctx, operator, "u_alice", []string{ids[1], ids[0]})
	if err != nil {
		t.Fatal(err)
	}
	if len(views) != 2 || views[0].ID != ids[1] || views[1].ID != ids[0] {
		t.Fatalf("got %d views, want the memos %s and %s in request order", len(views), ids[1], ids[0])
	}
	if views[0].Bucket != whispersync.BucketMemory || views[1].Bucket != whispersync.BucketWork {
		t.Errorf("buckets: got %s and %s, want memory and work", views[0].Bucket, views[1].Bucket)
	}
	reads := map[string]int{}
	if err := audit.Read(filepath.Join(e.dir, "audit"), func(en audit.Entry) error {
		if en.Action == "memo.read" {
			reads[en.Resource]++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if reads["memo:u_alice/"+id] != 1 {
			t.Errorf("memo %s: %d read events, want 1", id, reads["memo:u_alice/"+id])
		}
	}

	if _, err := e.p.GetMemos(ctx, operator, "u_bob", ids); !whispersync.IsNotFound(err) {
		t.Errorf("bob reads alice's memos in a batch: got %v, want not found", err)
	}
}

func TestSweepOrphansKeepsRecordedMemos(t *testing.T) {
	e := newEnv(t, options{})
	ctx := context.Background()
	recorded := e.submit(t, "u_alice", workMemo).MemoID
	rejected := e.submit(t, "u_alice", "not valid ${x}").MemoID
	orphan, err := e.objects.PutObject(ctx, "transcripts/u_alice/m_orphan", []byte("sealed"), nil)
	if err != nil {
		t.Fatal(err)
	}

	n, err := e.p.SweepOrphans(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("orphans removed: got %d, want 1", n)
	}
	if _, err := e.objects.GetObject(ctx, "transcripts/u_alice/m_orphan", orphan.VersionID); !whispersync.IsNotFound(err) {
		t.Errorf("orphan after the sweep: got %v, want not found", err)
	}
	for _, key := range []string{"transcripts/u_alice/" + recorded, "quarantine/u_alice/" + rejected} {
		if _, err := e.objects.GetObject(ctx, key, ""); err != nil {
			t.Errorf("object of a recorded memo %s after the sweep: %v", key, err)
		}
	}
	removals := 0
	if err := audit.Read(filepath.Join(e.dir, "audit"), func(en audit.Entry) error {
		if en.Action == "object.orphan.remove" {
			removals++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if removals != 1 {
		t.Errorf("audited removals: got %d, want 1", removals)
	}
}

// TestSweepOrphansChecksNewVersions checks that a sweep looks only at the
// versions written since the previous sweep began, less an hour, and at
// every version when no sweep is on record.
func TestSweepOrphansChecksNewVersions(t *testing.T) {
	e := newEnv(t, options{})
	ctx := context.Background()
	if _, err := e.p.SweepOrphans(ctx); err != nil {
		t.Fatal(err)
	}
	fresh, err := e.objects.PutObject(ctx, "transcripts/u_alice/m_fresh", []byte("sealed"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := e.p.SweepOrphans(ctx); err != nil || n != 1 {
		t.Errorf("sweep after an orphan was written: got %d, %v, want 1 removed", n, err)
	}
	if _, err := e.objects.GetObject(ctx, "transcripts/u_alice/m_fresh", fresh.VersionID); !whispersync.IsNotFound(err) {
		t.Errorf("orphan written after the previous sweep: got %v, want removed", err)
	}

	// A version older than the record, as if written before the previous
	// sweep began, is not checked again.
	old, err := e.objects.PutObject(ctx, "transcripts/u_alice/m_old", []byte("sealed"), nil)
	if err != nil {
		t.Fatal(err)
	}
	record := whispersync.Item{Owner: "_system", Key: "orphan_sweep", Attrs: map[string]string{"since": time.Now().Add(time.Hour).UTC().Format("2006-01-02T15:04:05.000000000Z07:00")}}
	if err := e.db.Tables().PutItem(ctx, "pipeline_state", record, whispersync.Always); err != nil {
		t.Fatal(err)
	}
	if n, err := e.p.SweepOrphans(ctx); err != nil || n != 0 {
		t.Errorf("sweep with a later record: got %d, %v, want none removed", n, err)
	}
	if _, err := e.objects.GetObject(ctx, "transcripts/u_alice/m_old", old.VersionID); err != nil {
		t.Errorf("version older than the record: %v, want it left for a full sweep", err)
	}

	if err := e.db.Tables().DeleteItem(ctx, "pipeline_state", "_system", "orphan_sweep"); err != nil {
		t.Fatal(err)
	}
	if n, err := e.p.SweepOrphans(ctx); err != nil || n != 1 {
		t.Errorf("sweep with no record: got %d, %v, want the old orphan removed", n, err)
	}
}
