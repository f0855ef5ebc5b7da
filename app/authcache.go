package app

import (
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
