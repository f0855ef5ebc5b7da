// Package seal encrypts user content at rest with envelope encryption.
//
// Every user has one 256-bit data key per key class (whispersync.KeyClassData
// and whispersync.KeyClassPII). A data key is generated on first use by a
// whispersync.KeyService, which returns it both in plaintext and wrapped
// under a key-encryption key (KEK). Only the wrapped form is stored, in the
// table "data_keys". A Sealer encrypts records under the owner's data key
// with AES-256-GCM and binds each ciphertext to the record's identity, so a
// ciphertext copied to another record fails to open.
//
// # Key ring
//
// Keyring is the embedded KeyService: a set of versioned KEKs kept in a key
// file outside the data directory, either in plaintext under file mode 0600
// or sealed under a key derived from a passphrase with Argon2id. Rotate adds
// a new current KEK version, and every older version keeps decrypting the
// data keys it wrapped until Retire removes it. Both hold an advisory lock
// on the key file, and a Keyring reads the file again when another process
// changed it, so several processes can share one key file.
//
// # Rotation
//
// Sealer.Rewrap wraps every stored data key anew under the current KEK
// version through the optional ReEncrypter interface. The data keys'
// plaintext does not change, so no record is encrypted again. Sealer.CountWrapped says
// which versions still wrap data keys. With SealerOptions.DataKeyRotation
// set, Seal moves an owner to a new data key generation once the newest is
// older than that period; blind indexes and keyed hashes stay on generation
// 1 so they remain comparable. Unwrapped data keys are cached for a bounded
// age and number of uses and zeroed on eviction; Sealer.Metrics counts key
// usage and cache hits.
//
// # Key file format
//
// JSON with the format name "whispersync-keyring". Format version 1 lists
// the KEK versions and the current one. Format version 2 adds the HKDF
// pseudorandom key of DeriveKey, written only once the oldest version is
// retired, so programs that read only version 1 keep reading every file in
// which no version was retired.
//
// # Wrapped data key format, version 1
//
//	magic        4 bytes  "WSDK"
//	version      1 byte   1
//	KEK version  4 bytes  big-endian
//	key id       1 byte length (1 to 255), then the key id
//	nonce        12 bytes
//	sealed key   48 bytes AES-256-GCM of the 32-byte data key, with tag
//
// The additional data is the bytes from the magic through the key id,
// followed by the canonical encoding of the encryption context: the number
// of pairs, then each key and value sorted by key, every count and length a
// 4-byte big-endian integer.
//
// # Envelope format, version 1
//
//	magic        4 bytes  "WSEV"
//	version      1 byte   1
//	class        1 byte length (1 to 255), then the key class
//	owner        2 bytes big-endian length (1 to 65,535), then the owner id
//	generation   4 bytes  big-endian generation of the owner's data key
//	nonce        12 bytes
//	ciphertext   AES-256-GCM ciphertext with its 16-byte tag
//
// The class, owner and generation name the data key. The additional data is
// the whole header (magic through nonce) followed by the canonical encoding
// of the Identity: owner, kind and id, each with a 4-byte big-endian length,
// then the version as an 8-byte big-endian two's-complement integer.
//
// # Compatibility
//
// Both formats carry a version byte. Later versions of this package must
// keep opening every format version they ever wrote, and the known-answer
// vectors in testdata pin the bytes of version 1. Every failure to
// authenticate, whatever its cause, is the one error ErrDecrypt (which
// Sealer wraps in a whispersync.Error), so a failure does not reveal which
// check failed.
//
// # Limits
//
// Nonces are random, so a single data key must seal fewer than 2^32 records
// to keep the probability of a nonce collision below 2^-32 (NIST SP 800-38D,
// section 8.3).
package seal
