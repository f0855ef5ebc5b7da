package app

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/whispersync/whispersync"
)

// Bounds of the authentication cache. Entries are dropped as a whole when
// the cache is full, and each entry is trusted for authCacheTTL at most.
const (
	authCacheEntries = 4096
	authCacheTTL     = 10 * time.Second
)

// authCache keeps the results of the two database reads that every
// authenticated request makes: the token with its user and lock state, and
// whether a client address has failed attempts on record. It is exact, not
// merely short-lived, because every change to that state goes through this
// App (the data directory lock keeps other processes out). Each change
// bumps a generation and empties the affected entries, and a read stores its
// result only if no change happened while it was reading.
type authCache struct {
	mu         sync.Mutex
	generation uint64
	tokens     map[string]tokenEntry
	// clean holds failure counter keys with no failure on record.
	clean map[string]time.Time
	// attempts contains a gate per failure counter key while password
	// attempts under it are checked, so they run one at a time.
	attempts map[string]*attemptGate
}

// attemptGate admits one password attempt under a key at a time. refs
// counts the holder and the waiters, so the gate is dropped when none is
// left.
type attemptGate struct {
	slot chan struct{}
	refs int
}

type tokenEntry struct {
	token    whispersync.Token
	user     whispersync.User
	lockedAt time.Time
	loaded   time.Time
}

// begin returns the generation a read starts at.
func (c *authCache) begin() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.generation
}

// token returns the cached entry of a token hash.
func (c *authCache) token(hash []byte, now time.Time) (tokenEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.tokens[string(hash)]
	if !ok || now.Sub(e.loaded) > authCacheTTL {
		return tokenEntry{}, false
	}
	return e, true
}

// putToken stores e unless the state changed since generation.
func (c *authCache) putToken(generation uint64, hash []byte, e tokenEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if generation != c.generation {
		return
	}
	if c.tokens == nil || len(c.tokens) >= authCacheEntries {
		c.tokens = make(map[string]tokenEntry)
	}
	c.tokens[string(hash)] = e
}

// isClean reports whether key had no failed attempt on record when it was
// last read.
func (c *authCache) isClean(key string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	at, ok := c.clean[key]
	return ok && now.Sub(at) <= authCacheTTL
}

// putClean records that key had no failed attempt, unless the state changed
// since generation.
func (c *authCache) putClean(generation uint64, key string, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if generation != c.generation {
		return
	}
	if c.clean == nil || len(c.clean) >= authCacheEntries {
		c.clean = make(map[string]time.Time)
	}
	c.clean[key] = now
}

// invalidate removes every entry: a token was revoked, an account locked,
// unlocked or erased, or a failed attempt recorded.
func (c *authCache) invalidate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.generation++
	clear(c.tokens)
	clear(c.clean)
}

// serialize waits until no other password attempt under any of keys is in
// progress, and returns the function that lets the next one in. The
// caller then checks the failure counters, verifies the password and
// records the outcome as one step per key. So concurrent guesses cannot all
// pass the check before the first failure is recorded.
func (c *authCache) serialize(ctx context.Context, keys ...string) (release func(), err error) {
	keys = slices.Compact(slices.Sorted(slices.Values(keys)))
	var acquired []string
	release = func() {
		for _, k := range acquired {
			c.leave(k, true)
		}
	}
	for _, k := range keys {
		g := c.enter(k)
		select {
		case g.slot <- struct{}{}:
			acquired = append(acquired, k)
		case <-ctx.Done():
			c.leave(k, false)
			release()
			return nil, ctx.Err()
		}
	}
	return release, nil
}

// enter returns the gate of key, counting the caller.
func (c *authCache) enter(key string) *attemptGate {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.attempts == nil {
		c.attempts = make(map[string]*attemptGate)
	}
	g := c.attempts[key]
	if g == nil {
		g = &attemptGate{slot: make(chan struct{}, 1)}
		c.attempts[key] = g
	}
	g.refs++
	return g
}

// leave uncounts the caller from key's gate, opening it if the caller acquired
// it, and drops the gate when no one is left.
func (c *authCache) leave(key string, acquired bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.attempts[key]
	if acquired {
		<-g.slot
	}
	if g.refs--; g.refs == 0 {
		delete(c.attempts, key)
	}
}
