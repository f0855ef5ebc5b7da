package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"strings"
)

var base32NoPad = base32.StdEncoding.WithPadding(base32.NoPadding)

// Secret prefixes, so that secret scanners recognize a leaked secret and a
// secret of one kind is never tried as another.
const (
	SessionPrefix       = "wss_"
	ServiceSecretPrefix = "wsa_"
)

// NewSecret returns prefix followed by 32 random bytes in URL-safe base64,
// and the SHA-256 hash under which it is stored. The secret has 256 bits of
// entropy, so a fast hash suffices: there is nothing to guess from it.
func NewSecret(prefix string) (secret string, hash []byte) {
	var raw [32]byte
	rand.Read(raw[:]) // never fails, by its documentation
	secret = prefix + base64.RawURLEncoding.EncodeToString(raw[:])
	return secret, HashSecret(secret)
}

// HashSecret returns the SHA-256 hash of secret.
func HashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// SecretMatches compares secret with a stored hash in constant time.
func SecretMatches(secret string, hash []byte) bool {
	return subtle.ConstantTimeCompare(HashSecret(secret), hash) == 1
}

// LooksLike reports whether secret has prefix and a plausible length, so
// that garbage is refused before any lookup.
func LooksLike(secret, prefix string) bool {
	return strings.HasPrefix(secret, prefix) && len(secret) <= 200
}
