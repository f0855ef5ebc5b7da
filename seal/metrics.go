package seal

import (
	"cmp"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
)

// Operations counted in Metrics.KeyUsage. The first three are calls to the
// key service under a KEK version; the others use an unwrapped data key.
const (
	OpGenerateDataKey = "generate_data_key"
	OpDecrypt         = "decrypt"
	OpReEncrypt       = "re_encrypt"
	OpSeal            = "seal"
	OpOpen            = "open"
	OpBlindIndex      = "blind_index"
	OpKeyedHash       = "keyed_hash"
)

// KeyUsage counts one operation under one key. KeyID names a KEK version
// ("alias/whispersync:v2") or a data-key class ("data-key/pii"); counts are
// not kept per user, to keep the number of series small.
type KeyUsage struct {
	KeyID     string `json:"key_id"`
	Operation string `json:"operation"`
	Count     uint64 `json:"count"`
}

// Metrics is a snapshot of a Sealer's counters since it was made.
type Metrics struct {
	KeyUsage []KeyUsage `json:"key_usage"`
	// CacheHits and CacheMisses count data-key lookups answered from the
	// cache or by the key service; CacheEvictions counts keys zeroed for
	// age, uses, room or shredding.
	CacheHits      uint64 `json:"cache_hits"`
	CacheMisses    uint64 `json:"cache_misses"`
	CacheEvictions uint64 `json:"cache_evictions"`
	CachedKeys     int    `json:"cached_keys"`
}

// HitRate is CacheHits divided by all lookups, or 0 before the first.
func (m Metrics) HitRate() float64 {
	total := m.CacheHits + m.CacheMisses
	if total == 0 {
		return 0
	}
	return float64(m.CacheHits) / float64(total)
}

type usageKey struct{ keyID, op string }

// usageCounters counts operations by key id; the read lock keeps the hot
// path to an atomic add once a series exists.
type usageCounters struct {
	mu sync.RWMutex
	m  map[usageKey]*atomic.Uint64
}

func (u *usageCounters) count(keyID, op string) {
	k := usageKey{keyID, op}
	u.mu.RLock()
	c := u.m[k]
	u.mu.RUnlock()
	if c == nil {
		u.mu.Lock()
		if u.m == nil {
			u.m = make(map[usageKey]*atomic.Uint64)
		}
		if c = u.m[k]; c == nil {
			c = new(atomic.Uint64)
			u.m[k] = c
		}
		u.mu.Unlock()
	}
	c.Add(1)
}

func (u *usageCounters) snapshot() []KeyUsage {
	u.mu.RLock()
	defer u.mu.RUnlock()
	out := make([]KeyUsage, 0, len(u.m))
	for k, c := range u.m {
		out = append(out, KeyUsage{KeyID: k.keyID, Operation: k.op, Count: c.Load()})
	}
	slices.SortFunc(out, func(a, b KeyUsage) int {
		return cmp.Or(cmp.Compare(a.KeyID, b.KeyID), cmp.Compare(a.Operation, b.Operation))
	})
	return out
}

// Metrics returns the key usage and cache counters, for the metrics
// endpoint and keys status.
func (s *Sealer) Metrics() Metrics {
	hits, misses, evictions, size := s.cache.stats()
	return Metrics{KeyUsage: s.metrics.snapshot(), CacheHits: hits, CacheMisses: misses, CacheEvictions: evictions, CachedKeys: size}
}

func kekSuffix(version int) string { return ":v" + strconv.Itoa(version) }

func dataKeyUsageID(class string) string { return "data-key/" + class }
