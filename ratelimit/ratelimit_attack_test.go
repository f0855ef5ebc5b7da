package ratelimit_test

import (
	"context"
	"testing"
	"time"

	"github.com/whispersync/whispersync/ratelimit"
)

// TestAttackDailyRefusalReportedOnce keeps asking after the daily quota is
// spent: only the first refusal of the day is marked for reporting, and
// the next day starts afresh.
func TestAttackDailyRefusalReportedOnce(t *testing.T) {
	c := &clock{t: time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)}
	l := newLimiter(t, ratelimit.Config{Rate: 1000, Burst: 1000, Daily: 2}, &memStore{counts: map[string]int{}}, c)
	if n := allowed(t, l, "token:a", 2); n != 2 {
		t.Fatalf("within the quota: %d of 2 allowed", n)
	}
	var first, daily int
	for range 20 {
		d, err := l.Allow(context.Background(), "token:a")
		if err != nil {
			t.Fatal(err)
		}
		if d.Allowed || !d.Daily {
			t.Fatalf("over the quota: got %+v, want a daily refusal", d)
		}
		daily++
		if d.FirstDaily {
			first++
		}
	}
	if first != 1 {
		t.Errorf("refusals marked first of %d: got %d, want 1", daily, first)
	}

	d, err := l.Allow(context.Background(), "token:b")
	if err != nil || !d.Allowed || d.FirstDaily {
		t.Errorf("another key: got %+v %v, want allowed and unmarked", d, err)
	}

	c.t = c.t.Add(24 * time.Hour)
	if n := allowed(t, l, "token:a", 2); n != 2 {
		t.Fatalf("the next day: %d of 2 allowed", n)
	}
	d, err = l.Allow(context.Background(), "token:a")
	if err != nil || d.Allowed || !d.FirstDaily {
		t.Errorf("first refusal of the next day: got %+v %v, want a refusal marked first", d, err)
	}
}
