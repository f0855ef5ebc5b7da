package seal

import (
	"context"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/whispersync/whispersync"
)

// randReader is the randomness of new key rings; tests replace it to get
// known-answer vectors.
var randReader io.Reader = rand.Reader

// Keyring is the embedded whispersync.KeyService: versioned 256-bit
// key-encryption keys (KEKs) kept in a key file. It is safe for concurrent
// use within one process.
//
// NOTE: two processes that rotate the same key file at once can lose one of
// the new versions; rotate from one process at a time.
type Keyring struct {
	path string
	rand io.Reader

	mu      sync.RWMutex
	keys    map[uint32]*kek
	current uint32
	// passphrase is set for a passphrase-protected key file; its key seals
	// the KEKs that Rotate adds.
	passphrase *passphraseKDF
	wrapKey    []byte
	closed     bool
}

type kek struct {
	version   uint32
	createdAt time.Time
	key       []byte
	aead      cipher.AEAD
}

// KeyVersion describes one KEK version of a key ring.
type KeyVersion struct {
	Version   int
	CreatedAt time.Time
	Current   bool
}

var _ whispersync.KeyService = (*Keyring)(nil)

// OpenKeyFile opens the key ring in the plaintext key file at path, or
// creates the file with one fresh KEK when it is missing, in which case
// created is true. A new file gets mode 0600 and a new parent folder 0700.
// A file that group or others can read or write is rejected.
//
// The key file must live outside the data directory, so that a copy of the
// data (a backup, a stolen disk image) does not carry the key that opens it.
func OpenKeyFile(path string) (kr *Keyring, created bool, err error) {
	return openKeyring(path, nil, false)
}

// OpenPassphrase is OpenKeyFile for a key file whose KEKs are sealed under a
// key derived from passphrase with Argon2id. A wrong passphrase is an
// EUNAUTHORIZED error. The caller should zero passphrase after the call.
func OpenPassphrase(path string, passphrase []byte) (*Keyring, bool, error) {
	if len(passphrase) == 0 {
		return nil, false, whispersync.Errorf(whispersync.EINVALID, "passphrase for key file %s is empty: enter a passphrase", path)
	}
	return openKeyring(path, passphrase, true)
}

func openKeyring(path string, passphrase []byte, protected bool) (*Keyring, bool, error) {
	if path == "" {
		return nil, false, whispersync.Errorf(whispersync.EINVALID, "key file path is empty: set the path of the key file")
	}
	kr, err := loadKeyring(path, passphrase, protected)
	if !errors.Is(err, fs.ErrNotExist) {
		return kr, false, err
	}

	kr, err = createKeyring(path, passphrase, protected)
	if errors.Is(err, fs.ErrExist) {
		// Another process created the file first: use its keys.
		kr, err = loadKeyring(path, passphrase, protected)
		return kr, false, err
	}
	return kr, err == nil, err
}

func loadKeyring(path string, passphrase []byte, protected bool) (*Keyring, error) {
	kf, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	switch {
	case protected && kf.Passphrase == nil:
		return nil, whispersync.Errorf(whispersync.EINVALID, "key file %s is not protected by a passphrase: open it without one", path)
	case !protected && kf.Passphrase != nil:
		return nil, whispersync.Errorf(whispersync.EINVALID, "key file %s is protected by a passphrase: open it with the passphrase", path)
	}

	kr := &Keyring{path: path, rand: randReader, keys: make(map[uint32]*kek, len(kf.Keys)), current: kf.CurrentVersion}
	if protected {
		pk := derivePassphraseKey(passphrase, kf.Passphrase)
		if !hmac.Equal(pk.check, kf.Passphrase.Check) {
			zero(pk.wrap)
			return nil, whispersync.Errorf(whispersync.EUNAUTHORIZED, "wrong passphrase for key file %s: enter the passphrase the key file was created with", path)
		}
		kr.passphrase, kr.wrapKey = kf.Passphrase, pk.wrap
	}

	for _, e := range kf.Keys {
		key := e.Key
		if protected {
			sealed := e.SealedKey
			key, err = newGCM(kr.wrapKey).Open(nil, sealed[:nonceSize], sealed[nonceSize:], sealedKeyAD(e.Version))
			zero(e.SealedKey)
			if err != nil {
				_ = kr.Close() // Close zeroes the keys read so far and never fails
				return nil, corrupt(path, fmt.Sprintf("key version %d fails authentication under the passphrase", e.Version))
			}
		}
		kr.keys[e.Version] = &kek{version: e.Version, createdAt: e.CreatedAt, key: key, aead: newGCM(key)}
	}
	return kr, nil
}

func createKeyring(path string, passphrase []byte, protected bool) (*Keyring, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("seal: create key folder: %w", err)
	}

	kr := &Keyring{path: path, rand: randReader, keys: make(map[uint32]*kek)}
	if protected {
		p := argon2idParams
		p.Salt = make([]byte, saltSize)
		if _, err := io.ReadFull(kr.rand, p.Salt); err != nil {
			return nil, fmt.Errorf("seal: generate salt: %w", err)
		}
		pk := derivePassphraseKey(passphrase, &p)
		p.Check = pk.check
		kr.passphrase, kr.wrapKey = &p, pk.wrap
	}

	if _, err := kr.addVersion(true); err != nil {
		_ = kr.Close() // Close zeroes the keys and never fails
		return nil, err
	}
	return kr, nil
}

// addVersion generates a KEK with the next version, writes the key file with
// it as the current version, and then adopts it. The caller holds kr.mu for
// writing, unless kr is not shared yet.
func (kr *Keyring) addVersion(exclusive bool) (uint32, error) {
	version := uint32(1)
	if len(kr.keys) > 0 {
		version = slices.Max(slices.Collect(maps.Keys(kr.keys))) + 1
	}
	key := make([]byte, dataKeySize)
	if _, err := io.ReadFull(kr.rand, key); err != nil {
		return 0, fmt.Errorf("seal: generate key-encryption key: %w", err)
	}
	next := &kek{version: version, createdAt: time.Now().UTC().Truncate(time.Second), key: key, aead: newGCM(key)}

	kf, err := kr.encode(next)
	if err == nil {
		err = writeKeyFile(kr.path, kf, exclusive)
	}
	if err != nil {
		zero(key)
		return 0, err
	}
	kr.keys[version] = next
	kr.current = version
	return version, nil
}

// encode returns the key file of kr's keys plus next as the current one.
func (kr *Keyring) encode(next *kek) (*keyFile, error) {
	all := slices.Collect(maps.Values(kr.keys))
	all = append(all, next)
	slices.SortFunc(all, func(a, b *kek) int { return int(int64(a.version) - int64(b.version)) })

	kf := &keyFile{Format: keyFileFormat, FormatVersion: keyFileFormatVersion, CurrentVersion: next.version, Passphrase: kr.passphrase}
	for _, k := range all {
		e := keyFileEntry{Version: k.version, CreatedAt: k.createdAt}
		if kr.wrapKey == nil {
			e.Key = k.key
		} else {
			e.SealedKey = make([]byte, nonceSize, nonceSize+dataKeySize+tagSize)
			if _, err := io.ReadFull(kr.rand, e.SealedKey); err != nil {
				return nil, fmt.Errorf("seal: generate nonce: %w", err)
			}
			e.SealedKey = newGCM(kr.wrapKey).Seal(e.SealedKey, e.SealedKey, k.key, sealedKeyAD(k.version))
		}
		kf.Keys = append(kf.Keys, e)
	}
	return kf, nil
}

// Rotate adds a new KEK version, writes it to the key file and makes it
// current. Data keys wrapped under older versions keep decrypting.
func (kr *Keyring) Rotate() (version int, err error) {
	kr.mu.Lock()
	defer kr.mu.Unlock()
	if kr.closed {
		return 0, errClosed
	}
	v, err := kr.addVersion(false)
	return int(v), err
}

// Versions lists the KEK versions, oldest first.
func (kr *Keyring) Versions() []KeyVersion {
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	var versions []KeyVersion
	for _, k := range kr.keys {
		versions = append(versions, KeyVersion{Version: int(k.version), CreatedAt: k.createdAt, Current: k.version == kr.current})
	}
	slices.SortFunc(versions, func(a, b KeyVersion) int { return a.Version - b.Version })
	return versions
}

// DeriveKey returns a 32-byte key for purpose, derived with HKDF-SHA256 from
// the oldest KEK version, so it stays the same across rotations. Different
// purposes give independent keys. The caller owns, and should zero, the
// result. DeriveKey panics on a closed key ring.
func (kr *Keyring) DeriveKey(purpose string) []byte {
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	if kr.closed {
		panic("seal: DeriveKey on a closed key ring")
	}
	oldest := kr.keys[slices.Min(slices.Collect(maps.Keys(kr.keys)))]
	key, err := hkdf.Key(sha256.New, oldest.key, nil, "whispersync derived key v1\x00"+purpose, 32)
	if err != nil {
		panic("seal: " + err.Error())
	}
	return key
}

// GenerateDataKey returns a new 256-bit data key, in plaintext and wrapped
// under the current KEK version with keyID and encryptionContext bound to it.
// keyID is a label of 1 to 255 bytes, such as "alias/whispersync".
func (kr *Keyring) GenerateDataKey(ctx context.Context, keyID string, encryptionContext map[string]string) (whispersync.DataKey, error) {
	if err := ctx.Err(); err != nil {
		return whispersync.DataKey{}, err
	}
	if len(keyID) == 0 || len(keyID) > maxKeyIDLength {
		return whispersync.DataKey{}, whispersync.Errorf(whispersync.EINVALID, "key id %q must be 1 to %d bytes long", keyID, maxKeyIDLength)
	}
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	if kr.closed {
		return whispersync.DataKey{}, errClosed
	}
	current := kr.keys[kr.current]

	plaintext := make([]byte, dataKeySize)
	wrapped := make([]byte, 0, wrappedFixedSize+len(keyID))
	wrapped = appendWrappedHeader(wrapped, current.version, keyID)
	headerEnd := len(wrapped)
	wrapped = wrapped[:headerEnd+nonceSize]
	if _, err := io.ReadFull(kr.rand, plaintext); err != nil {
		return whispersync.DataKey{}, fmt.Errorf("seal: generate data key: %w", err)
	}
	if _, err := io.ReadFull(kr.rand, wrapped[headerEnd:]); err != nil {
		zero(plaintext)
		return whispersync.DataKey{}, fmt.Errorf("seal: generate nonce: %w", err)
	}

	ad := appendContext(slices.Clip(wrapped[:headerEnd]), encryptionContext)
	wrapped = current.aead.Seal(wrapped, wrapped[headerEnd:], plaintext, ad)
	return whispersync.DataKey{KeyID: keyID, Plaintext: plaintext, Ciphertext: wrapped}, nil
}

// Decrypt unwraps a data key made by GenerateDataKey. Any change to the
// ciphertext, any difference in the encryption context, and an unknown KEK
// version all return ErrDecrypt.
func (kr *Keyring) Decrypt(ctx context.Context, ciphertext []byte, encryptionContext map[string]string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	w, ok := parseWrappedKey(ciphertext)
	if !ok {
		return nil, ErrDecrypt
	}
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	if kr.closed {
		return nil, errClosed
	}
	k := kr.keys[w.kekVersion]
	if k == nil {
		return nil, ErrDecrypt
	}

	ad := appendContext(slices.Clip(w.header), encryptionContext)
	plaintext, err := k.aead.Open(nil, w.nonce, w.sealed, ad)
	if err != nil {
		return nil, ErrDecrypt
	}
	return plaintext, nil
}

// Close zeroes the KEKs held in memory. Later calls fail, except Close.
func (kr *Keyring) Close() error {
	kr.mu.Lock()
	defer kr.mu.Unlock()
	for _, k := range kr.keys {
		zero(k.key)
	}
	zero(kr.wrapKey)
	kr.closed = true
	return nil
}

var errClosed = errors.New("seal: key ring is closed")
