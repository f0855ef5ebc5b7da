package ratelimit_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/whispersync/whispersync/ratelimit"
)

// memStore is a Store in a map.
type memStore struct {
	mu     sync.Mutex
	counts map[string]int
}

func (s *memStore) LoadQuota(_ context.Context, key, day string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[day+"/"+key], nil
}

func (s *memStore) SaveQuotas(_ context.Context, day string, counts map[string]int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, n := range counts {
		s.counts[day+"/"+k] = n
	}
	return nil
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newLimiter(t *testing.T, cfg ratelimit.Config, store ratelimit.Store, c *clock) *ratelimit.Limiter {
	t.Helper()
	l, err := ratelimit.New(cfg, store)
	if err != nil {
		t.Fatal(err)
	}
	l.SetClock(c.now)
	return l
}

func allowed(t *testing.T, l *ratelimit.Limiter, key string, n int) int {
	t.Helper()
	ok := 0
	for range n {
		d, err := l.Allow(context.Background(), key)
		if err != nil {
			t.Fatal(err)
		}
		if d.Allowed {
			ok++
		}
	}
	return ok
}

func TestBurstThenRate(t *testing.T) {
	c := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	l := newLimiter(t, ratelimit.DefaultPrincipal, nil, c)
	if got := allowed(t, l, "token:a", 30); got != 20 {
		t.Errorf("allowed at once: got %d, want the burst of 20", got)
	}
	d, _ := l.Allow(context.Background(), "token:a")
	if d.Allowed || d.RetryAfter <= 0 || d.RetryAfter > 100*time.Millisecond {
		t.Errorf("refusal: got allowed %v, retry after %s, want refused with about 100 ms", d.Allowed, d.RetryAfter)
	}
	if got := allowed(t, l, "token:b", 1); got != 1 {
		t.Errorf("another key: got %d allowed, want 1", got)
	}
	c.t = c.t.Add(time.Second)
	if got := allowed(t, l, "token:a", 30); got != 10 {
		t.Errorf("allowed after a second: got %d, want the rate of 10", got)
	}
}

func TestDailyQuotaSurvivesRestart(t *testing.T) {
	c := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	store := &memStore{counts: map[string]int{}}
	cfg := ratelimit.Config{Rate: 1000, Burst: 1000, Daily: 50}
	l := newLimiter(t, cfg, store, c)
	if got := allowed(t, l, "token:a", 30); got != 30 {
		t.Fatalf("first run: got %d allowed, want 30", got)
	}
	if err := l.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}

	restarted := newLimiter(t, cfg, store, c)
	if got := allowed(t, restarted, "token:a", 30); got != 20 {
		t.Errorf("after restart: got %d allowed, want the 20 left of 50", got)
	}
	d, _ := restarted.Allow(context.Background(), "token:a")
	h := http.Header{}
	d.SetHeaders(h)
	if d.Allowed || h.Get("Retry-After") != "43200" || h.Get("RateLimit-Remaining") != "0" || h.Get("RateLimit-Limit") != "50" {
		t.Errorf("quota refusal headers: got %v", h)
	}

	c.t = c.t.Add(12 * time.Hour)
	if got := allowed(t, restarted, "token:a", 5); got != 5 {
		t.Errorf("next day: got %d allowed, want 5", got)
	}
}

func TestHeaders(t *testing.T) {
	c := &clock{t: time.Date(2026, 3, 1, 23, 59, 0, 0, time.UTC)}
	l := newLimiter(t, ratelimit.DefaultPrincipal, &memStore{counts: map[string]int{}}, c)
	d, _ := l.Allow(context.Background(), "k")
	h := http.Header{}
	d.SetHeaders(h)
	want := map[string]string{"RateLimit-Limit": "20", "RateLimit-Remaining": "19", "RateLimit-Reset": "1", "RateLimit-Policy": "20;w=1, 1000;w=86400", "Retry-After": ""}
	for k, v := range want {
		if got := h.Get(k); got != v {
			t.Errorf("%s: got %q, want %q", k, got, v)
		}
	}
}

func TestMaxKeys(t *testing.T) {
	c := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	l := newLimiter(t, ratelimit.Config{Rate: 1, Burst: 1, MaxKeys: 2}, nil, c)
	for _, k := range []string{"a", "b"} {
		allowed(t, l, k, 1)
	}
	if got := allowed(t, l, "c", 1) + allowed(t, l, "d", 1); got != 1 {
		t.Errorf("keys beyond MaxKeys: got %d allowed, want 1 from the shared bucket", got)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, cfg := range []ratelimit.Config{{Rate: 0, Burst: 1}, {Rate: 1, Burst: 0}, {Rate: 1, Burst: 1, Daily: -1}, {Rate: 1e-300, Burst: 1}} {
		if err := cfg.Validate(); err == nil {
			t.Errorf("Validate(%+v): got no error", cfg)
		}
	}
	if err := (ratelimit.Config{Rate: 1.0 / 86400, Burst: 1}).Validate(); err != nil {
		t.Errorf("Validate of one request a day: %v", err)
	}
}
