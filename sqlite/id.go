package sqlite

import (
	"crypto/rand"
	"encoding/base32"
	"strings"
	"time"
)

// idEncoding spells random bytes in lowercase base32 without padding: URL-safe
// and free of characters that look alike in most fonts.
var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// randomID returns prefix followed by the base32 spelling of n random bytes.
// Ten bytes give sixteen characters and 80 bits of randomness.
func randomID(prefix string, n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails, by its documentation
	var s strings.Builder
	s.WriteString(prefix)
	s.WriteString(idEncoding.EncodeToString(b))
	return s.String()
}

// unixNano returns t as Unix nanoseconds, and 0 for the zero time, whose
// nanoseconds do not fit in an int64.
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fromUnixNano reverses unixNano, in UTC.
func fromUnixNano(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}
