package seal

import (
	"container/list"
	"crypto/cipher"
	"sync"
	"sync/atomic"
	"time"
)

// dataKey is an unwrapped data key in the cache.
type dataKey struct {
	id dataKeyID
	// mu is held for reading while the key is in use and for writing while
	// it is zeroed, so eviction never zeroes a key under a running
	// operation.
	mu       sync.RWMutex
	raw      []byte
	aead     cipher.AEAD
	loadedAt time.Time
	// uses counts lookups served from the cache.
	uses   atomic.Int64
	zeroed bool
}

func newDataKey(id dataKeyID, raw []byte, now time.Time) *dataKey {
	return &dataKey{id: id, raw: raw, aead: newGCM(raw), loadedAt: now}
}

func (k *dataKey) destroy() {
	k.mu.Lock()
	zero(k.raw)
	k.zeroed = true
	k.mu.Unlock()
}

// keyCache is a least-recently-used cache of unwrapped data keys, bounded in
// count, in age and in uses per key. Evicted keys are zeroed.
type keyCache struct {
	maxKeys int
	maxAge  time.Duration
	maxUses int64
	now     func() time.Time

	hits, misses, evictions atomic.Uint64

	mu      sync.Mutex
	entries map[dataKeyID]*list.Element
	order   *list.List // of *dataKey, most recently used first
	// epoch counts shreds. A key loaded across a shred is not cached, so a
	// shredded key cannot come back through a load that was under way.
	epoch uint64
}

func newKeyCache(maxKeys int, maxAge time.Duration, maxUses int64, now func() time.Time) *keyCache {
	return &keyCache{maxKeys: maxKeys, maxAge: maxAge, maxUses: maxUses, now: now, entries: make(map[dataKeyID]*list.Element), order: list.New()}
}

// get returns the cached key, or nil when it is missing, too old or used up.
func (c *keyCache) get(id dataKeyID) *dataKey {
	c.mu.Lock()
	e, ok := c.entries[id]
	if !ok {
		c.mu.Unlock()
		c.misses.Add(1)
		return nil
	}
	k := e.Value.(*dataKey)
	if c.now().Sub(k.loadedAt) >= c.maxAge || k.uses.Add(1) > c.maxUses {
		c.remove(e)
		c.mu.Unlock()
		k.destroy()
		c.misses.Add(1)
		return nil
	}
	c.order.MoveToFront(e)
	c.mu.Unlock()
	c.hits.Add(1)
	return k
}

// stats returns the counters and the number of cached keys.
func (c *keyCache) stats() (hits, misses, evictions uint64, size int) {
	c.mu.Lock()
	size = c.order.Len()
	c.mu.Unlock()
	return c.hits.Load(), c.misses.Load(), c.evictions.Load(), size
}

// currentEpoch returns the epoch to pass to put for a load that starts now.
func (c *keyCache) currentEpoch() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.epoch
}

// put caches k unless a shred happened since epoch was read. It returns the
// key to use and whether that key is cached. The key to use is the cached
// one when another goroutine cached the same key first. An uncached key is
// the caller's to destroy.
func (c *keyCache) put(k *dataKey, epoch uint64) (*dataKey, bool) {
	var evicted []*dataKey
	defer func() {
		for _, old := range evicted {
			old.destroy()
		}
	}()

	c.mu.Lock()
	defer c.mu.Unlock()
	if epoch != c.epoch {
		return k, false
	}
	if e, ok := c.entries[k.id]; ok {
		evicted = append(evicted, k)
		c.order.MoveToFront(e)
		return e.Value.(*dataKey), true
	}

	now := c.now()
	for e := c.order.Front(); e != nil; {
		next := e.Next()
		if old := e.Value.(*dataKey); now.Sub(old.loadedAt) >= c.maxAge {
			c.remove(e)
			evicted = append(evicted, old)
		}
		e = next
	}
	for c.order.Len() >= c.maxKeys {
		e := c.order.Back()
		c.remove(e)
		evicted = append(evicted, e.Value.(*dataKey))
	}
	c.entries[k.id] = c.order.PushFront(k)
	return k, true
}

// evictOwner removes and zeroes every key of owner and starts a new epoch.
func (c *keyCache) evictOwner(owner string) {
	c.evict(func(id dataKeyID) bool { return id.owner == owner })
}

// evictAll removes and zeroes every key and starts a new epoch.
func (c *keyCache) evictAll() {
	c.evict(func(dataKeyID) bool { return true })
}

func (c *keyCache) evict(match func(dataKeyID) bool) {
	var evicted []*dataKey
	c.mu.Lock()
	c.epoch++
	for id, e := range c.entries {
		if match(id) {
			c.remove(e)
			evicted = append(evicted, e.Value.(*dataKey))
		}
	}
	c.mu.Unlock()

	for _, k := range evicted {
		k.destroy()
	}
}

// remove unlinks e, which the caller zeroes; c.mu is held.
func (c *keyCache) remove(e *list.Element) {
	c.evictions.Add(1)
	delete(c.entries, e.Value.(*dataKey).id)
	c.order.Remove(e)
}
