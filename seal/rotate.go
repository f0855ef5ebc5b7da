package seal

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"

	"github.com/whispersync/whispersync"
)

// ReEncrypter is a key service that can wrap a data key anew under the
// current version of its key-encryption key without handing the plaintext
// to the caller, like KMS ReEncrypt. Sealer.Rewrap needs one.
type ReEncrypter interface {
	whispersync.KeyService
	// ReEncrypt unwraps ciphertext with encryptionContext and wraps the
	// same data key under the current version, with the same key id and
	// context. It fails like Decrypt.
	ReEncrypt(ctx context.Context, ciphertext []byte, encryptionContext map[string]string) ([]byte, error)
	// CurrentVersion is the version that wraps new data keys.
	CurrentVersion() int
}

var _ ReEncrypter = (*Keyring)(nil)

// WrappedVersion returns the KEK version that wrapped a data key made by
// Keyring.GenerateDataKey, read from its header without unwrapping it. The
// result is unauthenticated: use it to plan work, never to decide trust.
func WrappedVersion(ciphertext []byte) (int, bool) {
	w, ok := parseWrappedKey(ciphertext)
	if !ok {
		return 0, false
	}
	return int(w.kekVersion), true
}

// Rotate adds a new KEK version, writes it to the key file and makes it
// current. Data keys wrapped under older versions keep decrypting until
// their version is retired. Rotate first reads versions that another
// process added, so none is lost.
func (kr *Keyring) Rotate() (version int, err error) {
	unlock, err := lockKeyFile(kr.path)
	if err != nil {
		return 0, err
	}
	defer unlock()
	kr.mu.Lock()
	defer kr.mu.Unlock()
	if kr.closed {
		return 0, errClosed
	}
	if err := kr.reloadLocked(); err != nil {
		return 0, err
	}
	v, err := kr.addVersion(false)
	return int(v), err
}

// Retire removes KEK version from the key file and from memory, so data
// keys it wrapped no longer decrypt. It refuses the current version. The
// caller checks first that no stored data key depends on the version (see
// Sealer.CountWrapped): Retire cannot know what other stores hold.
func (kr *Keyring) Retire(version int) error {
	unlock, err := lockKeyFile(kr.path)
	if err != nil {
		return err
	}
	defer unlock()
	kr.mu.Lock()
	defer kr.mu.Unlock()
	if kr.closed {
		return errClosed
	}
	if err := kr.reloadLocked(); err != nil {
		return err
	}

	if version < 1 || version > int(^uint32(0)) || kr.keys[uint32(version)] == nil {
		return whispersync.Errorf(whispersync.ENOTFOUND, "key-encryption key version %d does not exist in %s: run whispersync keys status for the versions", version, kr.path)
	}
	v := uint32(version)
	if v == kr.current {
		return whispersync.Errorf(whispersync.EINVALID, "key-encryption key version %d is the current version: run whispersync keys rotate first, then retire it", version)
	}
	var rest []*kek
	for _, k := range kr.keys {
		if k.version != v && k.version != kr.current {
			rest = append(rest, k)
		}
	}
	// The oldest version is the root of DeriveKey; its pseudorandom key
	// stays in the file so derived keys survive the retirement.
	storeDerive := kr.deriveStored || v == slices.Min(slices.Collect(maps.Keys(kr.keys)))
	was := kr.deriveStored
	kr.deriveStored = storeDerive
	kf, err := kr.encode(rest, kr.keys[kr.current])
	if err == nil {
		err = kr.write(kf, false)
	}
	if err != nil {
		kr.deriveStored = was
		return err
	}
	zero(kr.keys[v].key)
	delete(kr.keys, v)
	return nil
}

// CurrentVersion returns the version that wraps new data keys.
func (kr *Keyring) CurrentVersion() int {
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	return int(kr.current)
}

// Refresh reads the key file again when another process changed it, so
// versions added or retired there take effect here.
func (kr *Keyring) Refresh() error {
	info, err := os.Stat(kr.path)
	if err != nil {
		return fmt.Errorf("seal: check key file: %w", err)
	}
	kr.mu.RLock()
	same := kr.stamp.same(info)
	kr.mu.RUnlock()
	if same {
		return nil
	}
	kr.mu.Lock()
	defer kr.mu.Unlock()
	if kr.closed {
		return errClosed
	}
	return kr.reloadLocked()
}

// ReEncrypt unwraps a data key and wraps it under the current KEK version
// with the same key id and encryption context. The plaintext data key never
// leaves the key ring.
func (kr *Keyring) ReEncrypt(ctx context.Context, ciphertext []byte, encryptionContext map[string]string) ([]byte, error) {
	w, ok := parseWrappedKey(ciphertext)
	if !ok {
		return nil, ErrDecrypt
	}
	plaintext, err := kr.Decrypt(ctx, ciphertext, encryptionContext)
	if err != nil {
		return nil, err
	}
	defer zero(plaintext)
	if err := kr.Refresh(); err != nil {
		return nil, err
	}

	kr.mu.RLock()
	defer kr.mu.RUnlock()
	if kr.closed {
		return nil, errClosed
	}
	return kr.wrap(kr.keys[kr.current], w.keyID, plaintext, encryptionContext)
}

// wrap seals plaintext under k in the wrapped data key format. The caller
// holds kr.mu.
func (kr *Keyring) wrap(k *kek, keyID string, plaintext []byte, encryptionContext map[string]string) ([]byte, error) {
	wrapped := make([]byte, 0, wrappedFixedSize+len(keyID))
	wrapped = appendWrappedHeader(wrapped, k.version, keyID)
	headerEnd := len(wrapped)
	wrapped = wrapped[:headerEnd+nonceSize]
	if _, err := io.ReadFull(kr.rand, wrapped[headerEnd:]); err != nil {
		return nil, fmt.Errorf("seal: generate nonce: %w", err)
	}
	ad := appendContext(slices.Clip(wrapped[:headerEnd]), encryptionContext)
	return k.aead.Seal(wrapped, wrapped[headerEnd:], plaintext, ad), nil
}

// reloadLocked reads the key file and adopts its versions when it changed
// since kr last read or wrote it. The caller holds kr.mu for writing.
func (kr *Keyring) reloadLocked() error {
	if info, err := os.Stat(kr.path); err == nil && kr.stamp.same(info) {
		return nil
	}
	kf, stamp, err := readKeyFile(kr.path)
	if err != nil {
		return err
	}
	if (kf.Passphrase == nil) != (kr.passphrase == nil) ||
		kf.Passphrase != nil && string(kf.Passphrase.Salt) != string(kr.passphrase.Salt) {
		return whispersync.Errorf(whispersync.EINVALID, "key file %s was replaced by one with another protection: restart every whispersync process with the right key file", kr.path)
	}
	keys, err := kr.decodeKeys(kf)
	if err != nil {
		return err
	}

	// Keep the KEK values already in use, and zero those of versions
	// retired elsewhere.
	for v, k := range keys {
		if old := kr.keys[v]; old != nil {
			zero(k.key)
			keys[v] = old
		}
	}
	for v, old := range kr.keys {
		if keys[v] == nil {
			zero(old.key)
		}
	}

	derive, stored, err := kr.decodeDeriveKey(kf, keys)
	if err != nil {
		return err
	}
	if stored {
		zero(kr.deriveKey)
		kr.deriveKey, kr.deriveStored = derive, true
	} else {
		zero(derive)
	}
	kr.keys, kr.current, kr.stamp = keys, kf.CurrentVersion, stamp
	return nil
}

// write writes kf to the key file and remembers the file's new state.
func (kr *Keyring) write(kf *keyFile, exclusive bool) error {
	if err := writeKeyFile(kr.path, kf, exclusive); err != nil {
		return err
	}
	info, err := os.Stat(kr.path)
	if err != nil {
		return fmt.Errorf("seal: check key file: %w", err)
	}
	kr.stamp = fileStamp{info}
	return nil
}
