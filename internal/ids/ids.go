// Package ids makes record identifiers that sort by creation time.
package ids

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"sync"
	"time"
)

// encoding is lowercase Crockford-style base32 without padding, whose
// alphabet is in ASCII order, so ids compare like their creation times.
var encoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

var (
	mu   sync.Mutex
	last uint64
)

// New returns prefix + "_" + 26 characters: 48 bits of milliseconds since the
// Unix epoch, a 16-bit sequence that keeps ids made in the same millisecond
// ordered, and 64 random bits.
func New(prefix string) string {
	mu.Lock()
	stamp := uint64(time.Now().UnixMilli()) << 16
	if stamp <= last {
		stamp = last + 1
	}
	last = stamp
	mu.Unlock()

	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], stamp)
	if _, err := rand.Read(b[8:]); err != nil {
		// crypto/rand does not fail on supported platforms.
		panic(err)
	}
	return prefix + "_" + encoding.EncodeToString(b[:])
}

// Valid reports whether s has the form New returns for prefix.
func Valid(prefix, s string) bool {
	if len(s) != len(prefix)+1+26 || s[:len(prefix)+1] != prefix+"_" {
		return false
	}
	_, err := encoding.DecodeString(s[len(prefix)+1:])
	return err == nil
}
