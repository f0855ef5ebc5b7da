package pipeline_test

import (
	"context"
	"testing"
	"time"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/agent/memory"
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
