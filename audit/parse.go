package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"unicode/utf8"
)

// Lines are decoded on two paths. The fast path reads lines in the exact
// form that the writer produces (member order and spelling, map keys in
// increasing order, strings without escapes) as slices of the line, without
// copies. Every other line goes through encoding/json. Both paths give the
// same values, which FuzzParseLineFast checks.

// parseLine decodes one line (without its newline) strictly: unknown members
// and trailing data are errors, because the hash would not cover them.
func parseLine(data []byte) (*line, error) {
	var v lineView
	if v.parse(data) {
		return v.line(), nil
	}

	var l line
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("data after the JSON object")
	}
	return &l, nil
}

// lineChecker decodes and hashes lines, reusing its buffers. It is not safe
// for concurrent use.
type lineChecker struct {
	view      lineView
	canonical []byte
}

// check decodes a line (without its newline) and recomputes its hash.
func (c *lineChecker) check(text []byte) checkedLine {
	if len(text) > maxLineBytes {
		return checkedLine{malformed: true, reason: fmt.Sprintf("malformed entry: line is longer than %d bytes", maxLineBytes)}
	}
	v := &c.view
	if !v.parse(text) || !isHexHash(v.prev) || !isHexHash(v.hash) {
		return checkSlow(text)
	}

	// isHexHash accepted both above, so decoding cannot fail.
	var prev, hash [sha256.Size]byte
	_, _ = hex.Decode(prev[:], v.prev)
	_, _ = hex.Decode(hash[:], v.hash)
	c.canonical = v.appendCanonical(c.canonical[:0])
	checked := checkedLine{seq: v.seq, prev: prev, hash: chainHash(&prev, v.seq, c.canonical)}
	if checked.hash != hash {
		checked.reason = reasonEdited
	}
	return checked
}

const reasonEdited = "hash does not match the entry: the entry was edited"

// checkSlow decodes a line with encoding/json and recomputes its hash.
func checkSlow(text []byte) checkedLine {
	l, err := parseLine(text)
	if err != nil {
		return checkedLine{malformed: true, reason: "malformed entry: " + err.Error()}
	}
	checked := checkedLine{seq: l.Seq}
	if !isHexHash([]byte(l.Prev)) {
		// Reported as malformed so that no link check can pass it.
		checked.malformed, checked.reason = true, "malformed entry: prev is not a SHA-256 hash in lowercase hex"
		return checked
	}
	_, _ = hex.Decode(checked.prev[:], []byte(l.Prev)) // isHexHash accepted it
	checked.hash = chainHash(&checked.prev, l.Seq, l.appendCanonical(nil))
	if hex.EncodeToString(checked.hash[:]) != l.Hash {
		checked.reason = reasonEdited
	}
	return checked
}

// isHexHash reports whether s is 64 lowercase hex digits.
func isHexHash(s []byte) bool {
	if len(s) != hex.EncodedLen(sha256.Size) {
		return false
	}
	for _, c := range s {
		if !lowerHex[c] {
			return false
		}
	}
	return true
}

// lowerHex marks the bytes that are lowercase hex digits. A table lookup
// is cheaper than the comparisons on the verification path, which checks
// two hashes per entry.
var lowerHex = func() (t [256]bool) {
	for _, c := range "0123456789abcdef" {
		t[c] = true
	}
	return t
}()

// lineView is a line decoded by the fast path. Its slices point into the
// line.
type lineView struct {
	seq uint64
	// fields are time, principal, action, resource, outcome, source and
	// request_id, in canonical order.
	fields         [7][]byte
	detail, hashed [][2][]byte // key and value pairs in increasing key order
	prev, hash     []byte
}

// parse decodes data when it has the writer's form and reports whether it
// did. It reuses the pair slices of v.
func (v *lineView) parse(data []byte) bool {
	*v = lineView{detail: v.detail[:0], hashed: v.hashed[:0]}
	p := fastParser{data: data}
	ok := p.literal(`{"seq":`) && p.uint(&v.seq) &&
		p.literal(`,"time":`) && p.string(&v.fields[0]) &&
		p.literal(`,"principal":`) && p.string(&v.fields[1]) &&
		p.literal(`,"action":`) && p.string(&v.fields[2]) &&
		p.optionalString(`,"resource":`, &v.fields[3]) &&
		p.literal(`,"outcome":`) && p.string(&v.fields[4]) &&
		p.optionalString(`,"source":`, &v.fields[5]) &&
		p.optionalString(`,"request_id":`, &v.fields[6]) &&
		p.optionalMap(`,"detail":`, &v.detail) &&
		p.optionalMap(`,"hashed":`, &v.hashed) &&
		p.literal(`,"prev":`) && p.string(&v.prev) &&
		p.literal(`,"hash":`) && p.string(&v.hash) &&
		p.literal(`}`)
	return ok && len(p.data) == 0
}

// appendCanonical appends the canonical encoding of the body members, as
// body.appendCanonical does for a decoded line.
func (v *lineView) appendCanonical(dst []byte) []byte {
	for _, f := range v.fields {
		dst = appendBytes(dst, f)
	}
	for _, m := range [...][][2][]byte{v.detail, v.hashed} {
		dst = appendCount(dst, len(m))
		for _, pair := range m {
			dst = appendBytes(dst, pair[0])
			dst = appendBytes(dst, pair[1])
		}
	}
	return dst
}

func (v *lineView) line() *line {
	toMap := func(pairs [][2][]byte) map[string]string {
		if len(pairs) == 0 {
			return nil
		}
		m := make(map[string]string, len(pairs))
		for _, pair := range pairs {
			m[string(pair[0])] = string(pair[1])
		}
		return m
	}
	return &line{
		Seq: v.seq,
		body: body{
			Time:      string(v.fields[0]),
			Principal: string(v.fields[1]),
			Action:    string(v.fields[2]),
			Resource:  string(v.fields[3]),
			Outcome:   string(v.fields[4]),
			Source:    string(v.fields[5]),
			RequestID: string(v.fields[6]),
			Detail:    toMap(v.detail),
			Hashed:    toMap(v.hashed),
		},
		Prev: string(v.prev),
		Hash: string(v.hash),
	}
}

// fastParser consumes data from the front.
type fastParser struct {
	data []byte
}

func (p *fastParser) literal(s string) bool {
	if len(p.data) < len(s) || string(p.data[:len(s)]) != s {
		return false
	}
	p.data = p.data[len(s):]
	return true
}

// uint decodes a JSON number that is a non-negative integer without a
// leading zero and fits in a uint64.
func (p *fastParser) uint(v *uint64) bool {
	i, n := 0, uint64(0)
	for ; i < len(p.data) && '0' <= p.data[i] && p.data[i] <= '9'; i++ {
		d := uint64(p.data[i] - '0')
		if n > (1<<64-1-d)/10 {
			return false
		}
		n = n*10 + d
	}
	if i == 0 || (i > 1 && p.data[0] == '0') {
		return false
	}
	*v, p.data = n, p.data[i:]
	return true
}

// string decodes a JSON string that encoding/json would decode to the same
// bytes: no escapes, no control characters and valid UTF-8.
func (p *fastParser) string(s *[]byte) bool {
	if len(p.data) == 0 || p.data[0] != '"' {
		return false
	}
	end := bytes.IndexByte(p.data[1:], '"')
	if end < 0 {
		return false
	}
	text := p.data[1 : 1+end]
	for _, c := range text {
		if c == '\\' || c < 0x20 {
			return false
		}
	}
	if !utf8.Valid(text) {
		return false
	}
	*s, p.data = text, p.data[end+2:]
	return true
}

func (p *fastParser) optionalString(key string, s *[]byte) bool {
	if !p.literal(key) {
		return true
	}
	return p.string(s)
}

// optionalMap decodes a JSON object of strings after key, whose keys must be
// in strictly increasing byte order, as encoding/json writes them. A line
// with repeated or unordered keys takes the slow path.
func (p *fastParser) optionalMap(key string, pairs *[][2][]byte) bool {
	if !p.literal(key) {
		return true
	}
	if !p.literal("{") {
		return false
	}
	if p.literal("}") {
		return true
	}
	for {
		var k, v []byte
		if !p.string(&k) || !p.literal(":") || !p.string(&v) {
			return false
		}
		if n := len(*pairs); n > 0 && bytes.Compare((*pairs)[n-1][0], k) >= 0 {
			return false
		}
		*pairs = append(*pairs, [2][]byte{k, v})
		if p.literal("}") {
			return true
		}
		if !p.literal(",") {
			return false
		}
	}
}

func appendBytes(dst, b []byte) []byte {
	dst = appendCount(dst, len(b))
	return append(dst, b...)
}

// appendCount appends n as a 4-byte count. It panics when n does not fit,
// because two entries could then hash alike. Entries are limited to
// maxLineBytes, so real counts stay far below 4 GiB.
func appendCount(dst []byte, n int) []byte {
	if n < 0 || n > math.MaxUint32 {
		panic("audit: count does not fit in 4 bytes")
	}
	return binary.BigEndian.AppendUint32(dst, uint32(n))
}
