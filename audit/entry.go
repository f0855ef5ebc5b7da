package audit

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/whispersync/whispersync"
)

// Entry is one line of the log, as Read returns it.
type Entry struct {
	Seq       uint64            `json:"seq"`
	Time      time.Time         `json:"time"`
	Principal string            `json:"principal"`
	Action    string            `json:"action"`
	Resource  string            `json:"resource,omitempty"`
	Outcome   string            `json:"outcome"`
	Source    string            `json:"source,omitempty"`
	RequestID string            `json:"request_id,omitempty"`
	Detail    map[string]string `json:"detail,omitempty"`
	// Hashed maps each key of AuditEvent.Hashed to the hex HMAC-SHA256 of
	// its value, as HashValue computes it.
	Hashed map[string]string `json:"hashed,omitempty"`
	// Prev is the hash of the previous entry, 64 zeros for the first.
	Prev string `json:"prev"`
	// Hash is the hash of this entry, 64 lowercase hex digits.
	Hash string `json:"hash"`
}

// HashValue returns the hex HMAC-SHA256 of value under key, the form in
// which the log stores a value of AuditEvent.Hashed. Search for an entry by
// a hashed value with the HMAC of the value, never the value itself.
func HashValue(key []byte, value string) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(value))
	return hex.EncodeToString(mac.Sum(nil))
}

// maxLineBytes is the longest line of a segment. It keeps every length in
// the canonical encoding far below the 4 GiB that its 4-byte counts can
// express.
const maxLineBytes = 1 << 20

// lineOverhead bounds the bytes of a line outside its body members: seq,
// prev, hash and the JSON around them.
const lineOverhead = 256

// chainTag starts the canonical encoding. It names the format so that a
// later version cannot produce the same bytes.
const chainTag = "whispersync-audit-v1\x00"

// zeroHash is the prev of the first entry.
var zeroHash = strings.Repeat("0", hex.EncodedLen(sha256.Size))

// body is every member of a line except seq, prev and hash, in line order.
type body struct {
	Time      string            `json:"time"`
	Principal string            `json:"principal"`
	Action    string            `json:"action"`
	Resource  string            `json:"resource,omitempty"`
	Outcome   string            `json:"outcome"`
	Source    string            `json:"source,omitempty"`
	RequestID string            `json:"request_id,omitempty"`
	Detail    map[string]string `json:"detail,omitempty"`
	Hashed    map[string]string `json:"hashed,omitempty"`
}

// line is the JSON schema of one line of a segment.
type line struct {
	Seq uint64 `json:"seq"`
	body
	Prev string `json:"prev"`
	Hash string `json:"hash"`
}

// appendCanonical appends the canonical encoding of the body members, which
// follows prev and seq in the hashed bytes.
func (b *body) appendCanonical(dst []byte) []byte {
	for _, s := range [...]string{b.Time, b.Principal, b.Action, b.Resource, b.Outcome, b.Source, b.RequestID} {
		dst = appendString(dst, s)
	}
	dst = appendMap(dst, b.Detail)
	return appendMap(dst, b.Hashed)
}

func appendString(dst []byte, s string) []byte {
	dst = appendCount(dst, len(s))
	return append(dst, s...)
}

func appendMap(dst []byte, m map[string]string) []byte {
	dst = appendCount(dst, len(m))
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		dst = appendString(dst, k)
		dst = appendString(dst, m[k])
	}
	return dst
}

// chainHash returns the hash of the entry with the given prev, seq and
// canonical body encoding.
func chainHash(prev *[sha256.Size]byte, seq uint64, canonicalBody []byte) [sha256.Size]byte {
	h := sha256.New()
	h.Write([]byte(chainTag))
	h.Write(prev[:])
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], seq)
	h.Write(n[:])
	h.Write(canonicalBody)
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

// record is an event prepared for the writer: its body as JSON members
// without the braces, and its canonical encoding.
type record struct {
	members   []byte
	canonical []byte
}

// bodyMemberNames are the JSON names of the string members of a body, in
// line and canonical order. The members marked optional are omitted when
// empty.
var bodyMemberNames = [...]struct {
	name     string
	optional bool
}{
	{`"time":`, false},
	{`"principal":`, false},
	{`"action":`, false},
	{`"resource":`, true},
	{`"outcome":`, false},
	{`"source":`, true},
	{`"request_id":`, true},
}

// newRecord prepares ev for the writer. It replaces the values of ev.Hashed
// by their HMACs under mac, a keyed HMAC-SHA256 that it resets before each
// use.
func newRecord(ev whispersync.AuditEvent, mac hash.Hash) (record, error) {
	t := ev.Time.UTC()
	if t.Year() < 0 || t.Year() > 9999 {
		return record{}, fmt.Errorf("event time %v is outside the years 0 to 9999", t)
	}
	fields := [...]string{
		t.Format(time.RFC3339Nano),
		validUTF8(ev.Principal),
		validUTF8(ev.Action),
		validUTF8(ev.Resource),
		validUTF8(ev.Outcome),
		validUTF8(ev.Source),
		validUTF8(ev.RequestID),
	}
	detail := sortedPairs(ev.Detail, validUTF8)
	hashed := sortedPairs(ev.Hashed, func(v string) string {
		mac.Reset()
		mac.Write([]byte(v))
		var sum [sha256.Size]byte
		return hex.EncodeToString(mac.Sum(sum[:0]))
	})

	var members, canonical []byte
	for i, f := range fields {
		canonical = appendString(canonical, f)
		if f == "" && bodyMemberNames[i].optional {
			continue
		}
		if i > 0 {
			members = append(members, ',')
		}
		members = append(members, bodyMemberNames[i].name...)
		members = appendJSONString(members, f)
	}
	for _, m := range [...]struct {
		name  string
		pairs [][2]string
	}{{`,"detail":{`, detail}, {`,"hashed":{`, hashed}} {
		canonical = appendCount(canonical, len(m.pairs))
		if len(m.pairs) == 0 {
			continue
		}
		members = append(members, m.name...)
		for i, pair := range m.pairs {
			canonical = appendString(appendString(canonical, pair[0]), pair[1])
			if i > 0 {
				members = append(members, ',')
			}
			members = appendJSONString(members, pair[0])
			members = append(members, ':')
			members = appendJSONString(members, pair[1])
		}
		members = append(members, '}')
	}

	if len(members)+lineOverhead > maxLineBytes {
		return record{}, whispersync.Errorf(whispersync.EINVALID, "audit event is %d bytes encoded, more than the limit of %d: shorten its detail", len(members), maxLineBytes-lineOverhead)
	}
	return record{members: members, canonical: canonical}, nil
}

// sortedPairs returns the pairs of m with valid UTF-8 keys and values mapped
// by value, in increasing byte order of the keys. When two keys become one,
// one of their values is kept.
func sortedPairs(m map[string]string, value func(string) string) [][2]string {
	if len(m) == 0 {
		return nil
	}
	pairs := make([][2]string, 0, len(m))
	for k, v := range m {
		pairs = append(pairs, [2]string{validUTF8(k), value(v)})
	}
	slices.SortFunc(pairs, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
	return slices.CompactFunc(pairs, func(a, b [2]string) bool { return a[0] == b[0] })
}

// appendJSONString appends s, which must be valid UTF-8, as a JSON string.
// It escapes only what JSON requires: quotation mark, reverse solidus and
// control characters.
func appendJSONString(dst []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\t':
			dst = append(dst, '\\', 't')
		case '\r':
			dst = append(dst, '\\', 'r')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// validUTF8 replaces each byte of s that is not part of valid UTF-8 by
// U+FFFD, as encoding/json does when it writes a string. Two keys of a map
// can become one, and then one of their values is kept.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b []byte
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = utf8.AppendRune(b, utf8.RuneError)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return string(b)
}

// appendLine appends the complete line, with its newline, for a record with
// the given seq, prev and hash.
func appendLine(dst []byte, seq uint64, prev, hash *[sha256.Size]byte, members []byte) []byte {
	dst = append(dst, `{"seq":`...)
	dst = strconv.AppendUint(dst, seq, 10)
	dst = append(dst, ',')
	dst = append(dst, members...)
	dst = append(dst, `,"prev":"`...)
	dst = hex.AppendEncode(dst, prev[:])
	dst = append(dst, `","hash":"`...)
	dst = hex.AppendEncode(dst, hash[:])
	return append(dst, "\"}\n"...)
}

func (l *line) entry() (Entry, error) {
	t, err := time.Parse(time.RFC3339Nano, l.Time)
	if err != nil {
		return Entry{}, fmt.Errorf("time: %w", err)
	}
	return Entry{
		Seq:       l.Seq,
		Time:      t,
		Principal: l.Principal,
		Action:    l.Action,
		Resource:  l.Resource,
		Outcome:   l.Outcome,
		Source:    l.Source,
		RequestID: l.RequestID,
		Detail:    l.Detail,
		Hashed:    l.Hashed,
		Prev:      l.Prev,
		Hash:      l.Hash,
	}, nil
}
