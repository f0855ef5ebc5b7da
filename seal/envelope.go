package seal

import (
	"encoding/binary"
	"math"
)

const (
	envelopeMagic         = "WSEV"
	envelopeFormatVersion = 1
	maxOwnerLength        = math.MaxUint16
)

// Identity names the record a ciphertext belongs to. It is bound to the
// ciphertext as additional data, so a ciphertext opens only for the
// identity it was sealed for.
type Identity struct {
	Owner   string
	Kind    string
	ID      string
	Version int
}

// dataKeyID names one data key: its owner, its class and its generation.
type dataKeyID struct {
	owner      string
	class      string
	generation uint32
}

// envelope is a parsed sealed record. Its slices alias the input.
type envelope struct {
	key dataKeyID
	// header runs from the magic through the nonce.
	header     []byte
	nonce      []byte
	ciphertext []byte
}

// appendEnvelopeHeader appends the header of a sealed record. The caller
// must have validated the class and the owner, which bounds their lengths.
// A length that does not fit its field panics.
func appendEnvelopeHeader(b []byte, key dataKeyID, nonce []byte) []byte {
	classLength, ownerLength := len(key.class), len(key.owner)
	if classLength > math.MaxUint8 || ownerLength > maxOwnerLength {
		panic("seal: envelope header: class or owner longer than its length field")
	}
	b = append(b, envelopeMagic...)
	b = append(b, envelopeFormatVersion)
	b = append(b, byte(classLength))
	b = append(b, key.class...)
	b = binary.BigEndian.AppendUint16(b, uint16(ownerLength))
	b = append(b, key.owner...)
	b = binary.BigEndian.AppendUint32(b, key.generation)
	return append(b, nonce...)
}

// parseEnvelope splits b into its fields. It checks the layout only; the
// tag check in AES-GCM authenticates every byte.
func parseEnvelope(b []byte) (envelope, bool) {
	rest, ok := cutPrefix(b, len(envelopeMagic)+1)
	if !ok || string(b[:4]) != envelopeMagic || b[4] != envelopeFormatVersion {
		return envelope{}, false
	}
	var env envelope

	n, rest, ok := cutLength(rest, 1)
	if !ok || n == 0 {
		return envelope{}, false
	}
	class, rest, ok := cutBytes(rest, n)
	if !ok {
		return envelope{}, false
	}
	env.key.class = string(class)

	n, rest, ok = cutLength(rest, 2)
	if !ok || n == 0 {
		return envelope{}, false
	}
	owner, rest, ok := cutBytes(rest, n)
	if !ok {
		return envelope{}, false
	}
	env.key.owner = string(owner)

	generation, rest, ok := cutBytes(rest, 4)
	if !ok {
		return envelope{}, false
	}
	env.key.generation = binary.BigEndian.Uint32(generation)

	env.nonce, rest, ok = cutBytes(rest, nonceSize)
	if !ok || len(rest) < tagSize {
		return envelope{}, false
	}
	env.header = b[:len(b)-len(rest)]
	env.ciphertext = rest
	return env, true
}

func cutPrefix(b []byte, n int) ([]byte, bool) {
	if len(b) < n {
		return nil, false
	}
	return b[n:], true
}

func cutBytes(b []byte, n int) (field, rest []byte, ok bool) {
	if len(b) < n {
		return nil, nil, false
	}
	return b[:n], b[n:], true
}

// cutLength reads a big-endian length of size 1 or 2 bytes.
func cutLength(b []byte, size int) (n int, rest []byte, ok bool) {
	field, rest, ok := cutBytes(b, size)
	if !ok {
		return 0, nil, false
	}
	if size == 1 {
		return int(field[0]), rest, true
	}
	return int(binary.BigEndian.Uint16(field)), rest, true
}

// appendIdentity appends the canonical encoding of id.
func appendIdentity(b []byte, id Identity) []byte {
	b = appendString(b, id.Owner)
	b = appendString(b, id.Kind)
	b = appendString(b, id.ID)
	// #nosec G115 -- reinterprets the bits on purpose: every int fits in the
	// 8 bytes in two's complement, so negative versions encode distinctly too.
	return binary.BigEndian.AppendUint64(b, uint64(int64(id.Version)))
}
