package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/whispersync/whispersync"
)

// Argon2id parameters: the OWASP password storage recommendation of 19 MiB
// of memory, 2 passes and 1 lane, about 30 ms on one core.
const (
	argonMemoryKiB = 19 * 1024
	argonTime      = 2
	argonThreads   = 1
	argonSaltBytes = 16
	argonKeyBytes  = 32
)

// Bounds of a hash's parameters that VerifyPassword accepts, so a tampered
// hash cannot make a login allocate gigabytes.
const (
	maxArgonMemoryKiB = 256 * 1024
	maxArgonTime      = 10
)

// Password lengths, in characters and bytes. Long passphrases are welcome;
// the byte bound only keeps hashing cost predictable.
const (
	MinPasswordChars = 12
	MaxPasswordBytes = 1024
)

// ErrPasswordMismatch is the one error for a wrong password.
var ErrPasswordMismatch = errors.New("auth: password mismatch")

// CheckPassword enforces the password policy: at least MinPasswordChars
// characters, at most MaxPasswordBytes bytes of valid UTF-8.
func CheckPassword(password string) error {
	switch {
	case !utf8.ValidString(password):
		return whispersync.Errorf(whispersync.EINVALID, "the password is not valid UTF-8: use UTF-8 text")
	case utf8.RuneCountInString(password) < MinPasswordChars:
		return whispersync.Errorf(whispersync.EINVALID, "the password has %d characters: use at least %d, or let `whispersync users create` generate one", utf8.RuneCountInString(password), MinPasswordChars)
	case len(password) > MaxPasswordBytes:
		return whispersync.Errorf(whispersync.EINVALID, "the password has %d bytes: keep it within %d", len(password), MaxPasswordBytes)
	}
	return nil
}

// HashPassword returns the argon2id hash of password in the PHC string
// format: $argon2id$v=19$m=MEMORY,t=TIME,p=THREADS$SALT$KEY, with salt and
// key in unpadded base64.
func HashPassword(password string) (string, error) {
	if err := CheckPassword(password); err != nil {
		return "", err
	}
	salt := make([]byte, argonSaltBytes)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("auth: password salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemoryKiB, argonThreads, argonKeyBytes)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemoryKiB, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// VerifyPassword checks password against a hash from HashPassword. A wrong
// password is ErrPasswordMismatch; a malformed hash is another error.
func VerifyPassword(hash, password string) error {
	var version int
	var memory, time uint32
	var threads uint8
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return errors.New("auth: verify password: not an argon2id hash")
	}
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return errors.New("auth: verify password: unsupported argon2 version")
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &memory, &time, &threads); err != nil {
		return fmt.Errorf("auth: verify password: parameters: %w", err)
	}
	if memory == 0 || memory > maxArgonMemoryKiB || time == 0 || time > maxArgonTime || threads == 0 {
		return errors.New("auth: verify password: parameters out of bounds")
	}

	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return fmt.Errorf("auth: verify password: salt: %w", err)
	}
	want, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(want) < 16 || len(want) > 64 {
		return errors.New("auth: verify password: malformed key")
	}
	keyLen := uint32(len(want)) // #nosec G115 -- between 16 and 64, checked above
	if len(password) > MaxPasswordBytes {
		return ErrPasswordMismatch
	}

	got := argon2.IDKey([]byte(password), salt, time, memory, threads, keyLen)
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return ErrPasswordMismatch
	}
	return nil
}

// GeneratePassword returns a random password of 24 characters from a
// 32-letter alphabet without look-alikes: 120 bits.
func GeneratePassword() string {
	return randomString(15)
}

// randomString spells n random bytes in lowercase base32 without padding.
func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails, by its documentation
	return strings.ToLower(base32NoPad.EncodeToString(b))
}
