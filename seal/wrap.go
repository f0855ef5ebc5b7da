package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"maps"
	"math"
	"slices"
)

// ErrDecrypt is the one error returned when a wrapped data key or a sealed
// record fails to decrypt: its bytes, its encryption context, its identity or
// its key are wrong. It does not reveal which, on purpose.
var ErrDecrypt = errors.New("seal: decryption failed")

const (
	dataKeySize = 32
	nonceSize   = 12
	tagSize     = 16

	wrappedMagic         = "WSDK"
	wrappedFormatVersion = 1
	maxKeyIDLength       = 255
	// wrappedFixedSize counts every byte of a wrapped data key except the
	// key id.
	wrappedFixedSize = len(wrappedMagic) + 1 + 4 + 1 + nonceSize + dataKeySize + tagSize
)

// wrappedKey is a parsed wrapped data key. Its slices alias the input.
type wrappedKey struct {
	kekVersion uint32
	keyID      string
	// header runs from the magic through the key id, and is bound as
	// additional data.
	header []byte
	nonce  []byte
	sealed []byte
}

// appendWrappedHeader appends the header of a wrapped data key. It panics
// unless keyID is 1 to maxKeyIDLength bytes long.
func appendWrappedHeader(b []byte, kekVersion uint32, keyID string) []byte {
	idLength := len(keyID)
	if idLength == 0 || idLength > maxKeyIDLength {
		panic("seal: wrapped key header: key id length out of range")
	}
	b = append(b, wrappedMagic...)
	b = append(b, wrappedFormatVersion)
	b = binary.BigEndian.AppendUint32(b, kekVersion)
	b = append(b, byte(idLength))
	return append(b, keyID...)
}

// parseWrappedKey splits b into its fields. It accepts exactly one layout
// and length, so trailing bytes are rejected.
func parseWrappedKey(b []byte) (wrappedKey, bool) {
	if len(b) < wrappedFixedSize+1 || string(b[:4]) != wrappedMagic || b[4] != wrappedFormatVersion {
		return wrappedKey{}, false
	}
	idLength := int(b[9])
	if idLength == 0 || len(b) != wrappedFixedSize+idLength {
		return wrappedKey{}, false
	}
	headerEnd := 10 + idLength
	return wrappedKey{
		kekVersion: binary.BigEndian.Uint32(b[5:9]),
		keyID:      string(b[10:headerEnd]),
		header:     b[:headerEnd],
		nonce:      b[headerEnd : headerEnd+nonceSize],
		sealed:     b[headerEnd+nonceSize:],
	}, true
}

// appendContext appends the canonical encoding of an encryption context:
// the pair count, then each key and value in key order, all length-prefixed,
// so that no two different contexts encode to the same bytes. A nil and an
// empty context encode alike.
func appendContext(b []byte, encryptionContext map[string]string) []byte {
	b = appendLength(b, len(encryptionContext))
	for _, k := range slices.Sorted(maps.Keys(encryptionContext)) {
		b = appendString(b, k)
		b = appendString(b, encryptionContext[k])
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = appendLength(b, len(s))
	return append(b, s...)
}

// appendLength appends n as a 4-byte count. It panics when n does not fit,
// because two inputs could then encode alike. Real owners, ids and contexts
// stay far below 4 GiB.
func appendLength(b []byte, n int) []byte {
	if n < 0 || n > math.MaxUint32 {
		panic("seal: length does not fit in 4 bytes")
	}
	return binary.BigEndian.AppendUint32(b, uint32(n))
}

// newGCM returns AES-256-GCM under key, which must be 32 bytes long.
func newGCM(key []byte) cipher.AEAD {
	block, err := aes.NewCipher(key)
	if err != nil {
		panic("seal: " + err.Error())
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic("seal: " + err.Error())
	}
	return aead
}

// zero overwrites b. The AES key schedules inside cipher.AEAD values cannot
// be reached and are left to the garbage collector.
func zero(b []byte) {
	clear(b)
}
