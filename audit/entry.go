package audit

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/whispersync/whispersync"
)

// Entry is one line of the log, as Read returns it.
type Entry struct {
	Seq       uint64
	Time      time.Time
	Principal string
	Action    string
	Resource  string
	Outcome   string
	Source    string
	RequestID string
	Detail    map[string]string
	// Hashed maps each key of AuditEvent.Hashed to the hex HMAC-SHA256 of
	// its value, as HashValue computes it.
	Hashed map[string]string
	// Prev is the hash of the previous entry, 64 zeros for the first.
	Prev string
	// Hash is the hash of this entry, 64 lowercase hex digits.
	Hash string
}

// HashValue returns the hex HMAC-SHA256 of value under key, the form in
// which the log stores a value of AuditEvent.Hashed. Search for an entry by
// a hashed value with the HMAC of the value, never the value itself.
func HashValue(key []byte, value string) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(value))
	return hex.EncodeToString(mac.Sum(nil))
}

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
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(s)))
	return append(dst, s...)
}

func appendMap(dst []byte, m map[string]string) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(m)))
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

// newRecord prepares ev for the writer. It replaces the values of ev.Hashed
// by their HMACs under key.
func newRecord(ev whispersync.AuditEvent, key []byte) (record, error) {
	t := ev.Time.UTC()
	if t.Year() < 0 || t.Year() > 9999 {
		return record{}, fmt.Errorf("event time %v is outside the years 0 to 9999", t)
	}
	b := body{
		Time:      t.Format(time.RFC3339Nano),
		Principal: validUTF8(ev.Principal),
		Action:    validUTF8(ev.Action),
		Resource:  validUTF8(ev.Resource),
		Outcome:   validUTF8(ev.Outcome),
		Source:    validUTF8(ev.Source),
		RequestID: validUTF8(ev.RequestID),
	}
	if len(ev.Detail) > 0 {
		b.Detail = make(map[string]string, len(ev.Detail))
		for k, v := range ev.Detail {
			b.Detail[validUTF8(k)] = validUTF8(v)
		}
	}
	if len(ev.Hashed) > 0 {
		b.Hashed = make(map[string]string, len(ev.Hashed))
		for k, v := range ev.Hashed {
			b.Hashed[validUTF8(k)] = HashValue(key, v)
		}
	}

	members, err := json.Marshal(&b)
	if err != nil {
		return record{}, fmt.Errorf("encode entry: %w", err)
	}
	return record{
		members:   members[1 : len(members)-1],
		canonical: b.appendCanonical(nil),
	}, nil
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
func appendLine(dst []byte, seq uint64, prev, hash string, members []byte) []byte {
	dst = append(dst, `{"seq":`...)
	dst = strconv.AppendUint(dst, seq, 10)
	dst = append(dst, ',')
	dst = append(dst, members...)
	dst = append(dst, `,"prev":"`...)
	dst = append(dst, prev...)
	dst = append(dst, `","hash":"`...)
	dst = append(dst, hash...)
	return append(dst, "\"}\n"...)
}

// parseLine decodes one line (without its newline) strictly: unknown members
// and trailing data are errors, because the hash would not cover them.
func parseLine(data []byte) (*line, error) {
	var l line
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("data after the JSON object")
	}
	return &l, nil
}

// computeHash returns the hex hash that l should carry, or an error when its
// prev is not a hash.
func (l *line) computeHash() (string, error) {
	var prev [sha256.Size]byte
	if len(l.Prev) != hex.EncodedLen(sha256.Size) {
		return "", fmt.Errorf("prev is not a SHA-256 hash")
	}
	if _, err := hex.Decode(prev[:], []byte(l.Prev)); err != nil {
		return "", fmt.Errorf("prev is not a SHA-256 hash")
	}
	sum := chainHash(&prev, l.Seq, l.appendCanonical(nil))
	return hex.EncodeToString(sum[:]), nil
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
