package backup

import (
	"path/filepath"
	"testing"
	"time"
)

// TestManifestWithoutKeys checks that a manifest written before backups
// recorded their key versions still passes its check, and that such a
// backup counts as needing every key-encryption key version.
func TestManifestWithoutKeys(t *testing.T) {
	key := make([]byte, 32)
	m := &Manifest{Format: manifestFormat, ID: "20261201T030000Z-00aa", CreatedAt: time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC), Blobs: map[string]int64{}}
	if err := m.sign(key); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "manifest.json")
	if err := writeManifest(path, m); err != nil {
		t.Fatal(err)
	}
	got, err := readManifest(path, key)
	if err != nil {
		t.Fatalf("read a manifest without keys: %v", err)
	}
	if got.Keys != nil {
		t.Errorf("keys: got %+v, want nil", got.Keys)
	}
	if info := (Info{Keys: got.Keys}); !info.NeedsKEK(1) || !info.NeedsKEK(7) {
		t.Error("a backup without recorded keys: want it to need every version")
	}

	recorded := Info{Keys: &KeyNeeds{KEKVersions: []int{2, 3}}}
	if recorded.NeedsKEK(1) {
		t.Error("a backup that recorded versions 2 and 3: want it not to need version 1")
	}
	if !recorded.NeedsKEK(3) {
		t.Error("a backup that recorded versions 2 and 3: want it to need version 3")
	}
}
