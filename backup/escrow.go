package backup

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/internal/atomicfile"
)

// Escrow keeps one random key per user, the user's backup key, in a file
// beside the key file. Backups store every data key rewrapped under its
// owner's backup key, never in the form the key-encryption keys unwrap, so
// destroying one user's backup key makes that user's data in every backup
// unreadable, while the key file and every other user's data stay usable.
//
// The file holds each backup key sealed with AES-256-GCM under a key
// derived from the key ring, bound to the user id. It is rewritten whole
// (temp file, fsync, rename) under an exclusive lock of a sibling lock
// file, so concurrent processes do not lose each other's changes.
type Escrow struct {
	path string
	kek  []byte
}

// escrowFile is the JSON document of the escrow file.
type escrowFile struct {
	Format int               `json:"format"`
	Keys   map[string]string `json:"keys"`
}

// ErrShredded is returned for data of a user whose backup key was
// destroyed by an erasure.
var ErrShredded = errors.New("backup: the user's backup key was destroyed")

// wrappedMagic starts a data key rewrapped under a backup key: magic,
// 12-byte nonce, AES-256-GCM ciphertext with tag.
const wrappedMagic = "WSBE"

// OpenEscrow returns the escrow kept in path, sealed under kek (32 bytes,
// such as Keyring.DeriveKey("backup-escrow")). The file is created on the
// first backup.
func OpenEscrow(path string, kek []byte) *Escrow {
	return &Escrow{path: path, kek: bytes.Clone(kek)}
}

// Path returns the escrow file's path.
func (e *Escrow) Path() string { return e.path }

// Destroy removes owner's backup key for good. Removing a key that does
// not exist succeeds.
func (e *Escrow) Destroy(owner string) error {
	return e.update(func(keys map[string]string) bool {
		_, ok := keys[owner]
		delete(keys, owner)
		return ok
	})
}

// ensure returns the backup keys of owners, creating those that are
// missing.
func (e *Escrow) ensure(owners []string) (map[string][]byte, error) {
	err := e.update(func(keys map[string]string) bool {
		changed := false
		for _, o := range owners {
			if _, ok := keys[o]; ok {
				continue
			}
			// crypto/rand.Read is documented to never return an error.
			k := make([]byte, 32)
			rand.Read(k)
			sealed := e.seal(o, k)
			clear(k)
			keys[o] = sealed
			changed = true
		}
		return changed
	})
	if err != nil {
		return nil, err
	}
	return e.load()
}

// load returns every backup key in the file, unsealed.
func (e *Escrow) load() (map[string][]byte, error) {
	f, err := e.read()
	if err != nil {
		return nil, err
	}
	keys := make(map[string][]byte, len(f.Keys))
	for owner, sealed := range f.Keys {
		k, err := e.open(owner, sealed)
		if err != nil {
			return nil, fmt.Errorf("backup: escrow %s: key of %s: %w", e.path, owner, err)
		}
		keys[owner] = k
	}
	return keys, nil
}

func (e *Escrow) read() (escrowFile, error) {
	f := escrowFile{Format: 1, Keys: map[string]string{}}
	data, err := os.ReadFile(e.path)
	if errors.Is(err, os.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return f, fmt.Errorf("backup: read escrow: %w", err)
	}
	if err := json.Unmarshal(data, &f); err != nil || f.Format != 1 {
		return f, whispersync.Errorf(whispersync.EINVALID, "backup key escrow %s is damaged: restore it from the copy kept with the key file", e.path)
	}
	if f.Keys == nil {
		f.Keys = map[string]string{}
	}
	return f, nil
}

// update applies change to the sealed keys under the file lock and writes
// the file when change reports a change.
func (e *Escrow) update(change func(keys map[string]string) bool) error {
	if err := os.MkdirAll(filepath.Dir(e.path), 0o700); err != nil {
		return fmt.Errorf("backup: escrow: %w", err)
	}
	unlock, err := lockFile(e.path+".lock", true)
	if err != nil {
		return fmt.Errorf("backup: escrow: %w", err)
	}
	defer unlock()
	f, err := e.read()
	if err != nil {
		return err
	}
	if !change(f.Keys) {
		return nil
	}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(e.path, data); err != nil {
		return fmt.Errorf("backup: write escrow: %w", err)
	}
	return nil
}

func (e *Escrow) aead() cipher.AEAD {
	block, err := aes.NewCipher(e.kek)
	if err != nil {
		panic("backup: escrow key: " + err.Error())
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic("backup: " + err.Error())
	}
	return aead
}

func (e *Escrow) seal(owner string, key []byte) string {
	nonce := make([]byte, 12)
	rand.Read(nonce)
	out := e.aead().Seal(nonce, nonce, key, []byte("whispersync backup escrow v1\x00"+owner))
	return base64.StdEncoding.EncodeToString(out)
}

func (e *Escrow) open(owner, sealed string) ([]byte, error) {
	raw, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil || len(raw) < 12 {
		return nil, ErrCorrupt
	}
	k, err := e.aead().Open(nil, raw[:12], raw[12:], []byte("whispersync backup escrow v1\x00"+owner))
	if err != nil {
		return nil, ErrCorrupt
	}
	return k, nil
}

// wrapDataKey seals a stored data key item's payload under owner's backup
// key, bound to the item's owner and sort key.
func wrapDataKey(backupKey []byte, owner, key string, data []byte) ([]byte, error) {
	aead, err := newGCM(backupKey)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(wrappedMagic)+12+len(data)+aead.Overhead())
	out = append(out, wrappedMagic...)
	nonce := make([]byte, 12)
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	out = append(out, nonce...)
	return aead.Seal(out, nonce, data, dataKeyAD(owner, key)), nil
}

func unwrapDataKey(backupKey []byte, owner, key string, wrapped []byte) ([]byte, error) {
	aead, err := newGCM(backupKey)
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(wrapped, []byte(wrappedMagic)) || len(wrapped) < len(wrappedMagic)+12 {
		return nil, ErrCorrupt
	}
	rest := wrapped[len(wrappedMagic):]
	plain, err := aead.Open(nil, rest[:12], rest[12:], dataKeyAD(owner, key))
	if err != nil {
		return nil, ErrCorrupt
	}
	return plain, nil
}

func dataKeyAD(owner, key string) []byte {
	return []byte("whispersync backup data key v1\x00" + owner + "\x00" + key)
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// lockFile takes an exclusive flock on name, waiting for it when wait is
// set and failing with EUNAVAILABLE otherwise.
func lockFile(name string, wait bool) (unlock func(), err error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	how := syscall.LOCK_EX
	if !wait {
		how |= syscall.LOCK_NB
	}
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		_ = f.Close() // nothing was written to the lock file
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, &whispersync.Error{Code: whispersync.EUNAVAILABLE, Message: fmt.Sprintf("backup location is locked by another backup operation (lock file %s): wait for it to finish, then retry", name), Err: err}
		}
		return nil, err
	}
	// Closing releases the lock. Nothing is ever written to the file, so no
	// close error can lose data.
	return func() { _ = f.Close() }, nil
}
