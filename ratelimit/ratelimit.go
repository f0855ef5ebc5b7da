// Package ratelimit limits requests per key (a principal, a client
// address): a token bucket for the rate and burst, and an optional daily
// quota that survives a restart.
//
// Buckets live in memory. Daily counts are read from a Store the first time
// a key is seen on a day, counted in memory and written back by Flush, which
// Run calls every few seconds and once more when it stops: a crash loses at
// most the counts since the last flush.
package ratelimit

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Config is one limit.
type Config struct {
	// Rate is the sustained rate in requests per second.
	Rate float64
	// Burst is how many requests may arrive at once.
	Burst int
	// Daily is the number of requests per UTC day; 0 for none.
	Daily int
	// MaxKeys bounds how many keys are tracked at once; keys beyond it
	// share one bucket, so a flood of addresses cannot exhaust memory.
	// Default 100,000.
	MaxKeys int
}

// DefaultPrincipal is the default limit of an authenticated principal.
var DefaultPrincipal = Config{Rate: 10, Burst: 20, Daily: 1000}

// DefaultAnonymous is the default limit of unauthenticated requests per
// client address.
var DefaultAnonymous = Config{Rate: 5, Burst: 10}

// Validate reports a configuration that cannot work.
// minRate is the slowest rate accepted: one request a day. A slower rate
// makes Retry-After values of years.
const minRate = 1.0 / (24 * 60 * 60)

func (c Config) Validate() error {
	switch {
	case c.Rate <= 0 || math.IsInf(c.Rate, 0) || math.IsNaN(c.Rate):
		return fmt.Errorf("ratelimit: rate %v: use a positive number of requests per second", c.Rate)
	case c.Rate < minRate:
		return fmt.Errorf("ratelimit: rate %v: use at least %.7f requests per second, one a day", c.Rate, minRate)
	case c.Burst < 1:
		return fmt.Errorf("ratelimit: burst %d: use at least 1", c.Burst)
	case c.Daily < 0:
		return fmt.Errorf("ratelimit: daily quota %d: use 0 for none or a positive number", c.Daily)
	}
	return nil
}

// Store keeps daily counts.
type Store interface {
	// LoadQuota returns the count of key on day (YYYY-MM-DD), 0 if none.
	LoadQuota(ctx context.Context, key, day string) (int, error)
	// SaveQuotas records the counts of keys on day.
	SaveQuotas(ctx context.Context, day string, counts map[string]int) error
}

// Decision is the outcome of one request.
type Decision struct {
	Allowed bool
	// Limit, Remaining and Reset describe the limit closest to refusing:
	// the burst or the daily quota.
	Limit     int
	Remaining int
	Reset     time.Duration
	// RetryAfter is set when the request is refused.
	RetryAfter time.Duration
	// Daily is set when the daily quota, not the burst, refused the request.
	Daily bool
	// FirstDaily is set on the key's first daily-quota rejection of the
	// day since the limiter started, so a caller can report it only once.
	FirstDaily bool
	// Policy is the RateLimit-Policy header value, such as "20;w=1, 1000;w=86400".
	Policy string
}

// SetHeaders writes d as RateLimit-* headers, and Retry-After when the
// request is refused. Times are whole seconds, rounded up.
func (d Decision) SetHeaders(h http.Header) {
	h.Set("RateLimit-Limit", strconv.Itoa(d.Limit))
	h.Set("RateLimit-Remaining", strconv.Itoa(d.Remaining))
	h.Set("RateLimit-Reset", strconv.Itoa(seconds(d.Reset)))
	h.Set("RateLimit-Policy", d.Policy)
	if !d.Allowed {
		h.Set("Retry-After", strconv.Itoa(seconds(d.RetryAfter)))
	}
}

// seconds rounds d up to whole seconds, at least 1 for a positive d.
func seconds(d time.Duration) int {
	return int((d + time.Second - 1) / time.Second)
}

// Limiter applies one Config to many keys. Its methods are safe for
// concurrent use.
type Limiter struct {
	cfg    Config
	store  Store
	now    func() time.Time
	policy string

	mu       sync.Mutex
	buckets  map[string]*bucket
	overflow *rate.Limiter
	day      string
	counts   map[string]*count
}

type bucket struct {
	lim      *rate.Limiter
	lastSeen time.Time
}

type count struct {
	n     int
	dirty bool
	// rejected is set once the daily quota rejected a request of the key.
	rejected bool
}

// New returns a limiter; store may be nil when cfg has no daily quota, and
// then daily counts start at zero on every start.
func New(cfg Config, store Store) (*Limiter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.MaxKeys <= 0 {
		cfg.MaxKeys = 100_000
	}
	policy := fmt.Sprintf("%d;w=1", cfg.Burst)
	if cfg.Daily > 0 {
		policy += fmt.Sprintf(", %d;w=86400", cfg.Daily)
	}
	return &Limiter{
		cfg: cfg, store: store, now: time.Now, policy: policy,
		buckets:  make(map[string]*bucket),
		overflow: rate.NewLimiter(rate.Limit(cfg.Rate), cfg.Burst),
		counts:   make(map[string]*count),
	}, nil
}

// SetClock replaces time.Now, for tests.
func (l *Limiter) SetClock(now func() time.Time) { l.now = now }

// Allow decides on one request of key. It fails only when the store cannot
// be read; callers should then refuse the request.
func (l *Limiter) Allow(ctx context.Context, key string) (Decision, error) {
	now := l.now()
	day := now.UTC().Format(time.DateOnly)
	d := Decision{Allowed: true, Limit: l.cfg.Burst, Policy: l.policy}

	l.mu.Lock()
	defer l.mu.Unlock()
	lim := l.bucket(key, now)
	r := lim.ReserveN(now, 1)
	if delay := r.DelayFrom(now); delay > 0 {
		r.CancelAt(now)
		d.Allowed = false
		d.RetryAfter = delay
	}
	tokens := lim.TokensAt(now)
	d.Remaining = max(0, int(tokens))
	d.Reset = time.Duration((float64(l.cfg.Burst) - tokens) / l.cfg.Rate * float64(time.Second))
	if l.cfg.Daily == 0 || !d.Allowed {
		return d, nil
	}

	c, err := l.count(ctx, key, day)
	if err != nil {
		// Give the token back: the request is not served.
		r.CancelAt(now)
		return Decision{}, err
	}
	untilMidnight := time.Date(now.UTC().Year(), now.UTC().Month(), now.UTC().Day()+1, 0, 0, 0, 0, time.UTC).Sub(now)
	if c.n >= l.cfg.Daily {
		r.CancelAt(now)
		first := !c.rejected
		c.rejected = true
		return Decision{Limit: l.cfg.Daily, Remaining: 0, Reset: untilMidnight, RetryAfter: untilMidnight, Daily: true, FirstDaily: first, Policy: l.policy}, nil
	}
	c.n++
	c.dirty = true
	if left := l.cfg.Daily - c.n; left < d.Remaining {
		d.Limit, d.Remaining, d.Reset = l.cfg.Daily, left, untilMidnight
	}
	return d, nil
}

// bucket returns key's token bucket. The caller holds l.mu.
func (l *Limiter) bucket(key string, now time.Time) *rate.Limiter {
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= l.cfg.MaxKeys {
			l.evictIdle(now)
			if len(l.buckets) >= l.cfg.MaxKeys {
				return l.overflow
			}
		}
		b = &bucket{lim: rate.NewLimiter(rate.Limit(l.cfg.Rate), l.cfg.Burst)}
		l.buckets[key] = b
	}
	b.lastSeen = now
	return b.lim
}

// evictIdle removes buckets that have refilled completely, which changes
// no decision. The caller holds l.mu.
func (l *Limiter) evictIdle(now time.Time) {
	full := time.Duration(float64(l.cfg.Burst) / l.cfg.Rate * float64(time.Second))
	for k, b := range l.buckets {
		if now.Sub(b.lastSeen) > full {
			delete(l.buckets, k)
		}
	}
}

// count returns key's daily count, loading it on first use of the day. The
// caller holds l.mu.
func (l *Limiter) count(ctx context.Context, key, day string) (*count, error) {
	if day != l.day {
		l.day = day
		l.counts = make(map[string]*count)
	}
	c, ok := l.counts[key]
	if ok {
		return c, nil
	}
	c = &count{}
	if l.store != nil {
		n, err := l.store.LoadQuota(ctx, key, day)
		if err != nil {
			return nil, fmt.Errorf("ratelimit: load daily count: %w", err)
		}
		c.n = n
	}
	l.counts[key] = c
	return c, nil
}

// Flush writes the daily counts changed since the last flush to the store,
// and removes idle buckets.
func (l *Limiter) Flush(ctx context.Context) error {
	l.mu.Lock()
	day := l.day
	dirty := make(map[string]int)
	for k, c := range l.counts {
		if c.dirty {
			dirty[k] = c.n
			c.dirty = false
		}
	}
	l.evictIdle(l.now())
	l.mu.Unlock()

	if l.store == nil || len(dirty) == 0 {
		return nil
	}
	if err := l.store.SaveQuotas(ctx, day, dirty); err != nil {
		l.mu.Lock()
		if l.day == day {
			for k := range dirty {
				if c, ok := l.counts[k]; ok {
					c.dirty = true
				}
			}
		}
		l.mu.Unlock()
		return fmt.Errorf("ratelimit: save daily counts: %w", err)
	}
	return nil
}

// Run flushes every interval until ctx is done, then once more on a fresh
// context so the last counts are kept. onError receives flush failures.
func (l *Limiter) Run(ctx context.Context, interval time.Duration, onError func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if err := l.Flush(ctx); err != nil && onError != nil {
				onError(err)
			}
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if err := l.Flush(final); err != nil && onError != nil {
				onError(err)
			}
			return
		}
	}
}
