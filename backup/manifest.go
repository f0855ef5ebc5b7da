package backup

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/whispersync/whispersync/internal/atomicfile"
)

// manifestFormat is the version of the manifest document.
const manifestFormat = 1

// Manifest describes one backup: the sealed database snapshot and the
// object versions it holds. It names ids, sizes and checksums only, never
// user content, and carries an HMAC under a key derived from the backup
// key, so a changed manifest fails Verify.
type Manifest struct {
	Format    int       `json:"format"`
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"created_at"`
	// Classes lists the data classifications whose objects were selected;
	// empty means every object.
	Classes  []string `json:"classes,omitempty"`
	Database Part     `json:"database"`
	// Keys records what restoring the backup needs of the key file. It is
	// nil in backups made before it was recorded.
	Keys    *KeyNeeds `json:"keys,omitempty"`
	Objects []Object  `json:"objects"`
	// Blobs is the sealed size of every blob the backup refers to, by
	// SHA-256 of its plaintext.
	Blobs map[string]int64 `json:"blobs"`
	MAC   string           `json:"mac"`
}

// KeyNeeds lists the key-file contents that a restore of a backup needs.
type KeyNeeds struct {
	// KEKVersions are the key-encryption key versions that wrap the data
	// keys of the database snapshot, oldest first.
	KEKVersions []int `json:"kek_versions"`
}

// needs reports whether restoring the backup of k may need KEK version v:
// it does when k names v, and may when k was not recorded.
func (k *KeyNeeds) needs(v int) bool {
	return k == nil || slices.Contains(k.KEKVersions, v)
}

// Part is one sealed file of a backup.
type Part struct {
	// SHA256 and Size describe the plaintext.
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// Object is one object version in a backup: the blob of its stored file
// and, when it has one, of its tags file.
type Object struct {
	Key          string `json:"key"`
	VersionID    string `json:"version_id"`
	DeleteMarker bool   `json:"delete_marker,omitempty"`
	Record       string `json:"record"`
	Tags         string `json:"tags,omitempty"`
}

// Size returns the total plaintext size of the database and the sealed
// size of the blobs.
func (m *Manifest) Size() int64 {
	n := m.Database.Size
	for _, s := range m.Blobs {
		n += s
	}
	return n
}

func manifestKey(backupKey []byte) []byte {
	k, err := hkdf.Key(sha256.New, backupKey, nil, "whispersync backup manifest v1", 32)
	if err != nil {
		panic("backup: " + err.Error())
	}
	return k
}

// sign sets the MAC of m.
func (m *Manifest) sign(backupKey []byte) error {
	m.MAC = ""
	doc, err := json.Marshal(m)
	if err != nil {
		return err
	}
	mac := hmac.New(sha256.New, manifestKey(backupKey))
	mac.Write(doc)
	m.MAC = hex.EncodeToString(mac.Sum(nil))
	return nil
}

// check verifies the MAC of m.
func (m *Manifest) check(backupKey []byte) error {
	want, err := hex.DecodeString(m.MAC)
	if err != nil {
		return fmt.Errorf("manifest %s: %w", m.ID, ErrCorrupt)
	}
	c := *m
	c.MAC = ""
	doc, err := json.Marshal(&c)
	if err != nil {
		return err
	}
	mac := hmac.New(sha256.New, manifestKey(backupKey))
	mac.Write(doc)
	if !hmac.Equal(mac.Sum(nil), want) {
		return fmt.Errorf("manifest %s: %w", m.ID, ErrCorrupt)
	}
	return nil
}

func readManifest(path string, backupKey []byte) (*Manifest, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("manifest %s: %w", path, ErrCorrupt)
	}
	if m.Format != manifestFormat {
		return nil, fmt.Errorf("manifest %s has format %d, this version reads %d", path, m.Format, manifestFormat)
	}
	if err := m.check(backupKey); err != nil {
		return nil, err
	}
	return &m, nil
}

func writeManifest(path string, m *Manifest) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, data)
}
