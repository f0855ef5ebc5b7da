package sqlite

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"sync"
	"time"
)

// A version id is 128 bits: 48 bits of Unix time in milliseconds, a 32-bit
// counter that orders ids issued within one millisecond, and 48 random bits
// that keep ids from separate store instances apart. It is written in
// lowercase base32hex without padding (26 characters). That alphabet is in
// ASCII order, so ids sort as strings in the order they were issued.
const versionIDLength = 26

var versionEncoding = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)

// versionClock issues version ids. It never issues an id at or below one it
// has issued or observed, even when the wall clock steps back.
type versionClock struct {
	mu      sync.Mutex
	millis  uint64
	counter uint32
}

// next returns a new version id.
func (c *versionClock) next(now time.Time) string {
	c.mu.Lock()
	nowMillis := uint64(now.UnixMilli()) & (1<<48 - 1)
	if nowMillis > c.millis {
		c.millis, c.counter = nowMillis, 0
	} else {
		c.counter++
		if c.counter == 0 {
			c.millis++
		}
	}
	millis, counter := c.millis, c.counter
	c.mu.Unlock()

	var id [16]byte
	binary.BigEndian.PutUint64(id[0:8], millis<<16)
	binary.BigEndian.PutUint32(id[6:10], counter)
	rand.Read(id[10:])
	return versionEncoding.EncodeToString(id[:])
}

// observe makes every later id sort after id, a stored version id. Ignores
// ids that versionClock does not issue.
func (c *versionClock) observe(id string) {
	millis, counter, ok := parseVersionID(id)
	if !ok {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if millis > c.millis || (millis == c.millis && counter > c.counter) {
		c.millis, c.counter = millis, counter
	}
}

// parseVersionID returns the time and counter of a version id, and false when
// id is not one that versionClock issues.
func parseVersionID(id string) (millis uint64, counter uint32, ok bool) {
	if len(id) != versionIDLength {
		return 0, 0, false
	}
	raw, err := versionEncoding.DecodeString(id)
	if err != nil || len(raw) != 16 || versionEncoding.EncodeToString(raw) != id {
		// The re-encoding check rejects the ids whose last character
		// carries nonzero padding bits, so each id has one spelling.
		return 0, 0, false
	}
	millis = binary.BigEndian.Uint64(raw[0:8]) >> 16
	counter = binary.BigEndian.Uint32(raw[6:10])
	return millis, counter, true
}

func validVersionID(id string) bool {
	_, _, ok := parseVersionID(id)
	return ok
}
