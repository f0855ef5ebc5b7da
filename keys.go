package whispersync

import "context"

// Key classes. Every user has one data key per class, so a leak of one class
// does not expose the other, and personal-data tables can be rotated and
// shredded on their own.
const (
	// KeyClassData protects transcripts, outputs and queue payloads.
	KeyClassData = "data"
	// KeyClassPII protects personal-data tables: memories, people, theory of
	// mind and memory chains, and the blind search index.
	KeyClassPII = "pii"
)

// DataKey is a fresh data key: its plaintext, for immediate use and then
// zeroing, and its ciphertext, wrapped under a key-encryption key, to store.
type DataKey struct {
	KeyID      string
	Plaintext  []byte
	Ciphertext []byte
}

// KeyService wraps and unwraps data keys with the semantics of AWS KMS:
//
//   - GenerateDataKey returns a new 256-bit data key, plaintext and wrapped
//     under the current version of the named key-encryption key.
//   - Decrypt unwraps a wrapped data key. The encryption context given must
//     equal the one used to generate it; any difference, or any change to
//     the ciphertext, fails with one opaque error.
//   - Wrapped keys name their key-encryption key version, so older versions
//     keep decrypting after a rotation until they are retired.
type KeyService interface {
	GenerateDataKey(ctx context.Context, keyID string, encryptionContext map[string]string) (DataKey, error)
	Decrypt(ctx context.Context, ciphertext []byte, encryptionContext map[string]string) ([]byte, error)
}
