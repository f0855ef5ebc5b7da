package audit

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// IdentityFileName is the file in a data directory, beside its audit
// folder, that binds the directory to its log (see Options.IdentityFile).
// It is not part of a backup: a restore writes a new one.
const IdentityFileName = "audit-identity.json"

// identityTag starts the bytes that an identity's MAC covers.
const identityTag = "whispersync-audit-identity-v1\x00"

// identity is the content of an identity file.
type identity struct {
	// ID is 32 lowercase hex digits, random.
	ID string `json:"id"`
	// Dir is the data directory the identity was written for, as an
	// absolute path with symbolic links resolved. Open accepts an identity
	// that no record names yet only in that directory. So an identity
	// copied from another directory, such as a restore killed before it
	// opened its target, cannot start a new log in place of a deleted one.
	Dir string `json:"dir,omitempty"`
	// Reset, when set, is why the directory got this identity; the new
	// log's first entry records it.
	Reset *ResetNote `json:"reset,omitempty"`
}

// identityFile is the JSON schema of an identity file: the identity as the
// exact bytes that the MAC covers, and the MAC.
type identityFile struct {
	Identity json.RawMessage `json:"identity"`
	// MAC is the hex HMAC-SHA256 of identityTag and Identity under the
	// identity key, so that only a holder of the key file can make one.
	MAC string `json:"mac"`
}

// ResetNote records who started a data directory over with a new log, and
// why (see Reset).
type ResetNote struct {
	Principal string    `json:"principal"`
	Source    string    `json:"source,omitempty"`
	Reason    string    `json:"reason"`
	Time      time.Time `json:"time"`
	// Reset fills in the rest: the identity and the record in the anchor
	// file of the former log, and where that log was moved.
	FormerID      string `json:"former_id,omitempty"`
	FormerFirst   string `json:"former_first,omitempty"`
	FormerDigest  uint64 `json:"former_digest,omitempty"`
	FormerLastSeq uint64 `json:"former_last_seq,omitempty"`
	MovedTo       string `json:"moved_to,omitempty"`
}

// errIdentityForged is returned by readIdentity for a file whose MAC does
// not verify, errIdentityMalformed for one it cannot read.
var (
	errIdentityForged    = errors.New("its MAC does not verify under the key file")
	errIdentityMalformed = errors.New("the file is malformed")
)

// IdentityKey derives the key that authenticates identity files from
// secret, a key kept apart from the data directory. Every writer of
// identities for one key file must pass the same secret.
func IdentityKey(secret []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("whispersync audit identity key v1"))
	return m.Sum(nil)
}

func identityMAC(key, payload []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(identityTag))
	m.Write(payload)
	return hex.EncodeToString(m.Sum(nil))
}

// NewIdentity writes a new random identity, authenticated under key (see
// IdentityKey), to path durably, replacing the file there, and returns it.
// A restore calls it, so that the restored directory's log gets a record of
// its own in the anchor file instead of taking over its source's.
func NewIdentity(path string, key []byte) (string, error) {
	return writeIdentity(path, key, nil)
}

func writeIdentity(path string, key []byte, note *ResetNote) (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	id := hex.EncodeToString(b[:])
	payload, err := json.Marshal(identity{ID: id, Dir: dataDirOf(path), Reset: note})
	if err != nil {
		return "", err
	}
	data, err := json.Marshal(identityFile{Identity: payload, MAC: identityMAC(key, payload)})
	if err != nil {
		return "", err
	}
	if err := writeFileAtomic(path, append(data, '\n')); err != nil {
		return "", fmt.Errorf("audit: write identity %s: %w", path, err)
	}
	return id, nil
}

// readIdentity returns the identity in path, nil when there is no file.
// When key is set, the MAC must verify under it.
func readIdentity(path string, key []byte) (*identity, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var f identityFile
	var id identity
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("identity file %s: %w", path, errIdentityMalformed)
	}
	if err := json.Unmarshal(f.Identity, &id); err != nil || len(id.ID) != 32 || !isLowerHex(id.ID) {
		return nil, fmt.Errorf("identity file %s: %w", path, errIdentityMalformed)
	}
	if key != nil && !hmac.Equal([]byte(f.MAC), []byte(identityMAC(key, f.Identity))) {
		return nil, fmt.Errorf("identity file %s: %w", path, errIdentityForged)
	}
	return &id, nil
}

// dataDirOf returns the data directory that holds the identity file in
// path: absolute, with symbolic links resolved where the folder exists.
func dataDirOf(path string) string {
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return filepath.Dir(path)
	}
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		return real
	}
	return dir
}

func isLowerHex(s string) bool {
	for _, c := range []byte(s) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
