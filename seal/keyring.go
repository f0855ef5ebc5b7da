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
// Rotate and Retire hold an advisory lock on the key file while they change
// it, so several processes can share one key file; a process notices
// versions that another one added before it wraps a new data key and when a
// wrapped key names a version it does not know.
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
	// stamp identifies the key file contents last read or written, so a
	// change by another process is noticed.
	stamp fileStamp
	// deriveKey is the HKDF pseudorandom key of DeriveKey: extracted from
	// the oldest KEK version, and stored in the key file (deriveStored)
	// once that version is retired.
	deriveKey    []byte
	deriveStored bool
	closed       bool
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
	kf, stamp, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	switch {
	case protected && kf.Passphrase == nil:
		return nil, whispersync.Errorf(whispersync.EINVALID, "key file %s is not protected by a passphrase: open it without one", path)
	case !protected && kf.Passphrase != nil:
		return nil, whispersync.Errorf(whispersync.EINVALID, "key file %s is protected by a passphrase: open it with the passphrase", path)
	}

	kr := &Keyring{path: path, rand: randReader, current: kf.CurrentVersion, stamp: stamp}
	if protected {
		pk := derivePassphraseKey(passphrase, kf.Passphrase)
		if !hmac.Equal(pk.check, kf.Passphrase.Check) {
			zero(pk.wrap)
			return nil, whispersync.Errorf(whispersync.EUNAUTHORIZED, "wrong passphrase for key file %s: enter the passphrase the key file was created with", path)
		}
		kr.passphrase, kr.wrapKey = kf.Passphrase, pk.wrap
	}
	kr.keys, err = kr.decodeKeys(kf)
	if err == nil {
		kr.deriveKey, kr.deriveStored, err = kr.decodeDeriveKey(kf, kr.keys)
	}
	if err != nil {
		_ = kr.Close() // Close zeroes the keys read so far and never fails
		return nil, err
	}
	return kr, nil
}

// decodeDeriveKey returns the derivation key stored in kf, or else the one
// extracted from the oldest KEK of keys.
func (kr *Keyring) decodeDeriveKey(kf *keyFile, keys map[uint32]*kek) ([]byte, bool, error) {
	switch {
	case kf.DeriveKey != nil:
		return slices.Clone(kf.DeriveKey), true, nil
	case kf.SealedDeriveKey != nil:
		sealed := kf.SealedDeriveKey
		key, err := newGCM(kr.wrapKey).Open(nil, sealed[:nonceSize], sealed[nonceSize:], sealedDeriveKeyAD)
		if err != nil {
			return nil, false, corrupt(kr.path, "the derivation key fails authentication under the passphrase")
		}
		return key, true, nil
	}
	oldest := keys[slices.Min(slices.Collect(maps.Keys(keys)))]
	prk, err := hkdf.Extract(sha256.New, oldest.key, nil)
	if err != nil {
		panic("seal: " + err.Error())
	}
	return prk, false, nil
}

// decodeKeys returns the KEKs of kf, unsealing them with kr.wrapKey in a
// passphrase-protected file. It zeroes the key material of kf.
func (kr *Keyring) decodeKeys(kf *keyFile) (map[uint32]*kek, error) {
	keys := make(map[uint32]*kek, len(kf.Keys))
	for _, e := range kf.Keys {
		key := e.Key
		if kr.wrapKey != nil {
			sealed := e.SealedKey
			var err error
			key, err = newGCM(kr.wrapKey).Open(nil, sealed[:nonceSize], sealed[nonceSize:], sealedKeyAD(e.Version))
			zero(e.SealedKey)
			if err != nil {
				for _, k := range keys {
					zero(k.key)
				}
				return nil, corrupt(kr.path, fmt.Sprintf("key version %d fails authentication under the passphrase", e.Version))
			}
		}
		keys[e.Version] = &kek{version: e.Version, createdAt: e.CreatedAt, key: key, aead: newGCM(key)}
	}
	return keys, nil
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
	kr.deriveKey, _, _ = kr.decodeDeriveKey(&keyFile{}, kr.keys) // never fails without a stored key
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

	kf, err := kr.encode(slices.Collect(maps.Values(kr.keys)), next)
	if err == nil {
		err = kr.write(kf, exclusive)
	}
	if err != nil {
		zero(key)
		return 0, err
	}
	kr.keys[version] = next
	kr.current = version
	return version, nil
}

// encode returns the key file of the keys all plus next, with next as the
// current version.
func (kr *Keyring) encode(all []*kek, next *kek) (*keyFile, error) {
	all = append(slices.Clip(all), next)
	slices.SortFunc(all, func(a, b *kek) int { return int(int64(a.version) - int64(b.version)) })

	kf := &keyFile{Format: keyFileFormat, FormatVersion: keyFileFormatVersion, CurrentVersion: next.version, Passphrase: kr.passphrase}
	if kr.deriveStored {
		kf.FormatVersion = keyFileFormatVersionDerive
		if kr.wrapKey == nil {
			kf.DeriveKey = kr.deriveKey
		} else {
			sealed := make([]byte, nonceSize, nonceSize+len(kr.deriveKey)+tagSize)
			if _, err := io.ReadFull(kr.rand, sealed); err != nil {
				return nil, fmt.Errorf("seal: generate nonce: %w", err)
			}
			kf.SealedDeriveKey = newGCM(kr.wrapKey).Seal(sealed, sealed, kr.deriveKey, sealedDeriveKeyAD)
		}
	}
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
// the oldest KEK version, so it stays the same across rotations and
// retirements (the key file keeps the HKDF pseudorandom key when that
// version is retired). Different
// purposes give independent keys. The caller owns, and should zero, the
// result. DeriveKey panics on a closed key ring.
func (kr *Keyring) DeriveKey(purpose string) []byte {
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	if kr.closed {
		panic("seal: DeriveKey on a closed key ring")
	}
	key, err := hkdf.Expand(sha256.New, kr.deriveKey, "whispersync derived key v1\x00"+purpose, 32)
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
	// A version another process added must wrap new keys here too, or
	// retiring the old one would strand them.
	if err := kr.Refresh(); err != nil {
		return whispersync.DataKey{}, err
	}
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	if kr.closed {
		return whispersync.DataKey{}, errClosed
	}

	plaintext := make([]byte, dataKeySize)
	if _, err := io.ReadFull(kr.rand, plaintext); err != nil {
		return whispersync.DataKey{}, fmt.Errorf("seal: generate data key: %w", err)
	}
	wrapped, err := kr.wrap(kr.keys[kr.current], keyID, plaintext, encryptionContext)
	if err != nil {
		zero(plaintext)
		return whispersync.DataKey{}, err
	}
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
	k, err := kr.version(w.kekVersion)
	if err != nil {
		return nil, err
	}
	ad := appendContext(slices.Clip(w.header), encryptionContext)
	plaintext, err := k.aead.Open(nil, w.nonce, w.sealed, ad)
	if err != nil {
		return nil, ErrDecrypt
	}
	return plaintext, nil
}

// version returns KEK version v, reading the key file again when v is
// unknown, since another process may have added it.
func (kr *Keyring) version(v uint32) (*kek, error) {
	for attempt := 0; ; attempt++ {
		kr.mu.RLock()
		k, closed := kr.keys[v], kr.closed
		kr.mu.RUnlock()
		switch {
		case closed:
			return nil, errClosed
		case k != nil:
			return k, nil
		case attempt > 0:
			return nil, ErrDecrypt
		}
		if err := kr.Refresh(); err != nil {
			return nil, err
		}
	}
}

// Close zeroes the KEKs held in memory. Later calls fail, except Close.
func (kr *Keyring) Close() error {
	kr.mu.Lock()
	defer kr.mu.Unlock()
	for _, k := range kr.keys {
		zero(k.key)
	}
	zero(kr.wrapKey)
	zero(kr.deriveKey)
	kr.closed = true
	return nil
}

var errClosed = errors.New("seal: key ring is closed")
