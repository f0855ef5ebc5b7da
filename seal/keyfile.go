package seal

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/whispersync/whispersync"
)

const (
	keyFileFormat        = "whispersync-keyring"
	keyFileFormatVersion = 1
	// keyFileFormatVersionDerive adds the derivation key, written once the
	// oldest KEK version is retired; until then format version 1 is written,
	// so older programs keep reading the file.
	keyFileFormatVersionDerive = 2
	// maxKeyFileSize bounds what is read; a key file with thousands of
	// rotations is still far below it.
	maxKeyFileSize = 1 << 20

	kdfArgon2id = "argon2id"
	saltSize    = 16
)

// keyFile is the JSON form of a key file. Byte slices are base64, as
// encoding/json writes them.
type keyFile struct {
	Format         string         `json:"format"`
	FormatVersion  int            `json:"format_version"`
	CurrentVersion uint32         `json:"current_version"`
	Passphrase     *passphraseKDF `json:"passphrase,omitempty"`
	Keys           []keyFileEntry `json:"keys"`
	// DeriveKey is the HKDF-SHA256 pseudorandom key from which DeriveKey
	// expands its keys, kept when the KEK it was extracted from is retired;
	// SealedDeriveKey is its sealed form in a passphrase-protected file.
	DeriveKey       []byte `json:"derive_key,omitempty"`
	SealedDeriveKey []byte `json:"sealed_derive_key,omitempty"`
}

// passphraseKDF records how the passphrase key was derived, and a check
// value that distinguishes a wrong passphrase from a damaged key entry.
type passphraseKDF struct {
	KDF       string `json:"kdf"`
	Time      uint32 `json:"time"`
	MemoryKiB uint32 `json:"memory_kib"`
	Threads   uint8  `json:"threads"`
	Salt      []byte `json:"salt"`
	Check     []byte `json:"check"`
}

// keyFileEntry is one KEK version. Key holds the KEK in a plaintext key
// file; SealedKey holds nonce and AES-256-GCM ciphertext of the KEK under the
// passphrase key in a passphrase-protected one.
type keyFileEntry struct {
	Version   uint32    `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	Key       []byte    `json:"key,omitempty"`
	SealedKey []byte    `json:"sealed_key,omitempty"`
}

// argon2idParams are the Argon2id costs for new passphrase-protected key
// files: the second recommended option of RFC 9106, section 4 (t=3, 64 MiB,
// p=4). Tests lower them.
var argon2idParams = passphraseKDF{KDF: kdfArgon2id, Time: 3, MemoryKiB: 64 * 1024, Threads: 4}

// Upper bounds on the costs read from a key file, so a crafted file cannot
// make the process allocate or compute without end.
const (
	maxArgon2Time      = 64
	maxArgon2MemoryKiB = 4 * 1024 * 1024
)

// passphraseKey is the key derived from a passphrase: wrap seals the KEKs,
// and check is stored in the file to recognize the passphrase.
type passphraseKey struct {
	wrap  []byte
	check []byte
}

func derivePassphraseKey(passphrase []byte, p *passphraseKDF) passphraseKey {
	master := argon2.IDKey(passphrase, p.Salt, p.Time, p.MemoryKiB, p.Threads, 32)
	defer zero(master)
	wrap, err := hkdf.Key(sha256.New, master, nil, "whispersync keyring passphrase wrap v1", 32)
	if err != nil {
		panic("seal: " + err.Error())
	}
	mac := hmac.New(sha256.New, master)
	mac.Write([]byte("whispersync keyring passphrase check v1"))
	return passphraseKey{wrap: wrap, check: mac.Sum(nil)}
}

// sealedDeriveKeyAD binds the sealed derivation key to its role, so it
// cannot be swapped with a KEK entry.
var sealedDeriveKeyAD = []byte("whispersync keyring v2 derive key")

// sealedKeyAD binds a sealed KEK to its version, so entries cannot be
// swapped.
func sealedKeyAD(version uint32) []byte {
	return binary.BigEndian.AppendUint32([]byte("whispersync keyring v1 key "), version)
}

// readKeyFile opens path, checks that only its owner can read it, and
// parses it.
func readKeyFile(path string) (*keyFile, fileStamp, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fileStamp{}, fmt.Errorf("seal: open key file: %w", err)
	}
	defer f.Close()

	info, err := f.Stat()
	if err != nil {
		return nil, fileStamp{}, fmt.Errorf("seal: open key file: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, fileStamp{}, whispersync.Errorf(whispersync.EINVALID, "key file %s is not a regular file: point the key file setting at a file", path)
	}
	// NOTE: Windows has no Unix permission bits; there the file's ACL is
	// the operator's to check.
	if runtime.GOOS != "windows" && info.Mode().Perm()&0o077 != 0 {
		return nil, fileStamp{}, whispersync.Errorf(whispersync.EINVALID, "key file %s can be read or written by group or others (mode %04o): run chmod 600 %s", path, info.Mode().Perm(), path)
	}

	data, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize+1))
	if err != nil {
		return nil, fileStamp{}, fmt.Errorf("seal: read key file: %w", err)
	}
	defer zero(data)
	if len(data) > maxKeyFileSize {
		return nil, fileStamp{}, corrupt(path, "larger than 1 MiB")
	}
	kf, err := parseKeyFile(path, data)
	return kf, fileStamp{info}, err
}

// fileStamp identifies one state of the key file: writers replace the file
// by renaming a new one over it, so a new inode, size or modification time
// means new contents.
type fileStamp struct{ info os.FileInfo }

func (s fileStamp) same(info os.FileInfo) bool {
	return s.info != nil && info != nil && os.SameFile(s.info, info) && s.info.Size() == info.Size() && s.info.ModTime().Equal(info.ModTime())
}

func parseKeyFile(path string, data []byte) (*keyFile, error) {
	var kf keyFile
	if err := json.Unmarshal(data, &kf); err != nil {
		return nil, corrupt(path, "not valid JSON")
	}
	if kf.Format != keyFileFormat {
		return nil, corrupt(path, fmt.Sprintf("format %q, want %q", kf.Format, keyFileFormat))
	}
	if kf.FormatVersion > keyFileFormatVersionDerive {
		return nil, whispersync.Errorf(whispersync.EINVALID, "key file %s has format version %d, but this program reads up to version %d: upgrade whispersync", path, kf.FormatVersion, keyFileFormatVersionDerive)
	}
	hasDerive := kf.DeriveKey != nil || kf.SealedDeriveKey != nil
	if hasDerive != (kf.FormatVersion == keyFileFormatVersionDerive) ||
		kf.Passphrase == nil && kf.SealedDeriveKey != nil || kf.Passphrase != nil && kf.DeriveKey != nil ||
		kf.DeriveKey != nil && len(kf.DeriveKey) != sha256.Size ||
		kf.SealedDeriveKey != nil && len(kf.SealedDeriveKey) != nonceSize+sha256.Size+tagSize {
		return nil, corrupt(path, "invalid derivation key")
	}
	if kf.FormatVersion < 1 {
		return nil, corrupt(path, fmt.Sprintf("format version %d", kf.FormatVersion))
	}
	if p := kf.Passphrase; p != nil {
		if p.KDF != kdfArgon2id || p.Time < 1 || p.Time > maxArgon2Time || p.MemoryKiB < 8*uint32(p.Threads) || p.MemoryKiB > maxArgon2MemoryKiB || p.Threads < 1 || len(p.Salt) < saltSize || len(p.Check) != sha256.Size {
			return nil, corrupt(path, "invalid passphrase parameters")
		}
	}

	seen := make(map[uint32]bool, len(kf.Keys))
	for _, e := range kf.Keys {
		if e.Version == 0 || seen[e.Version] {
			return nil, corrupt(path, fmt.Sprintf("key version %d is zero or repeated", e.Version))
		}
		seen[e.Version] = true
		if kf.Passphrase == nil && (len(e.Key) != dataKeySize || e.SealedKey != nil) ||
			kf.Passphrase != nil && (len(e.SealedKey) != nonceSize+dataKeySize+tagSize || e.Key != nil) {
			return nil, corrupt(path, fmt.Sprintf("key version %d has no valid key material", e.Version))
		}
	}
	if !seen[kf.CurrentVersion] {
		return nil, corrupt(path, fmt.Sprintf("current version %d is not among the keys", kf.CurrentVersion))
	}
	return &kf, nil
}

func corrupt(path, reason string) error {
	return whispersync.Errorf(whispersync.EINVALID, "key file %s is corrupt (%s): restore it from your backup of the key file", path, reason)
}

// writeKeyFile writes kf to path durably: a temporary file in the same
// folder is written and synced, then moved over path, then the folder is
// synced. With exclusive set, an existing file at path is left alone and
// fs.ErrExist is returned.
func writeKeyFile(path string, kf *keyFile, exclusive bool) error {
	data, err := json.MarshalIndent(kf, "", "  ")
	if err != nil {
		return fmt.Errorf("seal: encode key file: %w", err)
	}
	defer zero(data)
	data = append(data, '\n')

	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".keyring-*.tmp")
	if err != nil {
		return fmt.Errorf("seal: write key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		_ = tmp.Close() // nothing was written yet
		return fmt.Errorf("seal: write key file: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("seal: write key file: %w", errors.Join(err, tmp.Close()))
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("seal: sync key file: %w", errors.Join(err, tmp.Close()))
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("seal: write key file: %w", err)
	}

	if exclusive {
		// A hard link fails when path exists, so two processes that create
		// the key file at once cannot overwrite each other's key.
		err = os.Link(tmp.Name(), path)
		if errors.Is(err, fs.ErrExist) {
			return fs.ErrExist
		}
	} else {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("seal: install key file: %w", err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("seal: sync key folder: %w", err)
	}
	defer d.Close()
	// NOTE: some platforms (Windows among them) cannot sync a folder; the
	// rename is then durable only when the file system makes it so.
	if err := d.Sync(); err != nil && runtime.GOOS != "windows" {
		return fmt.Errorf("seal: sync key folder: %w", err)
	}
	return nil
}
