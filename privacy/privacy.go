// Package privacy holds the records of data-subject requests: the erasure
// ledger, which outlives the erased data so an erasure can be applied again
// to a restored copy, the signed erasure receipt, and pseudonyms that stand
// for an erased user in everything written after the erasure.
package privacy

import (
	"bufio"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/whispersync/whispersync"
)

// Pseudonym returns the stable stand-in for userID under key (a key
// derived from the key ring): "erased-" and 16 hex digits of an HMAC, so
// the same user always gets the same pseudonym and it reveals nothing
// without the key.
func Pseudonym(key []byte, userID string) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("whispersync pseudonym v1\x00" + userID))
	return "erased-" + hex.EncodeToString(mac.Sum(nil)[:8])
}

// Entry is one erasure in the ledger. It names the erased user by id only:
// the ledger must not keep personal data of the user it protects.
type Entry struct {
	ReceiptID string    `json:"receipt_id"`
	UserID    string    `json:"user_id"`
	Pseudonym string    `json:"pseudonym"`
	ErasedAt  time.Time `json:"erased_at"`
}

// Ledger is the erasure ledger: a file of JSON lines, kept beside the key
// file rather than in the data directory, so that restoring an old data
// directory does not take it back in time.
type Ledger struct {
	path string
}

// OpenLedger returns the ledger kept in path.
func OpenLedger(path string) *Ledger { return &Ledger{path: path} }

// Path returns the ledger file's path.
func (l *Ledger) Path() string { return l.path }

// Append adds e durably.
func (l *Ledger) Append(e Entry) error {
	line, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(l.path), 0o700); err != nil {
		return fmt.Errorf("privacy: ledger: %w", err)
	}
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("privacy: ledger: %w", err)
	}
	_, err = f.Write(append(line, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if err := errors.Join(err, f.Close()); err != nil {
		return fmt.Errorf("privacy: ledger: %w", err)
	}
	return nil
}

// Entries returns the ledger's entries, oldest first.
func (l *Ledger) Entries() ([]Entry, error) {
	f, err := os.Open(l.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("privacy: ledger: %w", err)
	}
	defer f.Close()
	var entries []Entry
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		var e Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil || e.UserID == "" {
			return nil, whispersync.Errorf(whispersync.EINVALID, "erasure ledger %s line %d is damaged: restore the file from the copy kept with the key file", l.path, n)
		}
		entries = append(entries, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("privacy: ledger: %w", err)
	}
	return entries, nil
}

// Receipt is the signed statement that a user's data was erased. It names
// the user by pseudonym only.
type Receipt struct {
	ID        string    `json:"id"`
	Pseudonym string    `json:"pseudonym"`
	ErasedAt  time.Time `json:"erased_at"`
	// Erased counts what was deleted, by kind, such as "items" or
	// "object_versions".
	Erased map[string]int64 `json:"erased"`
	// KeysDestroyed states that the user's data keys and backup key were
	// destroyed, so no backup can reveal the data any more.
	KeysDestroyed bool `json:"keys_destroyed"`
	// PublicKey is the base64 Ed25519 key that verifies Signature.
	PublicKey string `json:"public_key"`
	// Signature is the base64 Ed25519 signature of the receipt's JSON
	// encoding with an empty Signature.
	Signature string `json:"signature,omitempty"`
}

// SigningKey returns the Ed25519 key that signs receipts, made from a
// 32-byte seed derived from the key ring.
func SigningKey(seed []byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(seed)
}

// Sign sets the public key and signature of r.
func (r *Receipt) Sign(key ed25519.PrivateKey) error {
	r.PublicKey = base64.StdEncoding.EncodeToString(key.Public().(ed25519.PublicKey))
	r.Signature = ""
	msg, err := json.Marshal(r)
	if err != nil {
		return err
	}
	r.Signature = base64.StdEncoding.EncodeToString(ed25519.Sign(key, msg))
	return nil
}

// ErrBadSignature is returned by Verify for a receipt that was changed
// after signing or signed by another key.
var ErrBadSignature = errors.New("privacy: receipt signature does not verify")

// Verify checks r's signature against pub; a nil pub trusts the public key
// in the receipt, which proves only that the receipt is unchanged.
func (r Receipt) Verify(pub ed25519.PublicKey) error {
	if pub == nil {
		k, err := base64.StdEncoding.DecodeString(r.PublicKey)
		if err != nil || len(k) != ed25519.PublicKeySize {
			return ErrBadSignature
		}
		pub = k
	}
	sig, err := base64.StdEncoding.DecodeString(r.Signature)
	if err != nil {
		return ErrBadSignature
	}
	r.Signature = ""
	msg, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if !ed25519.Verify(pub, msg, sig) {
		return ErrBadSignature
	}
	return nil
}
