package seal_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/mock"
	"github.com/whispersync/whispersync/seal"
)

func openKeyFile(t testing.TB, path string) *seal.Keyring {
	t.Helper()
	kr, _, err := seal.OpenKeyFile(path)
	if err != nil {
		t.Fatalf("OpenKeyFile: %v", err)
	}
	t.Cleanup(func() { closeKeyring(t, kr) })
	return kr
}

// TestRotateSharedKeyFile plays two processes on one key file: each sees
// the versions the other adds, before wrapping and when unwrapping.
func TestRotateSharedKeyFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keyring.json")
	a, b := openKeyFile(t, path), openKeyFile(t, path)

	if v, err := a.Rotate(); err != nil || v != 2 {
		t.Fatalf("Rotate in a: got %d, %v, want version 2", v, err)
	}
	if v, err := b.Rotate(); err != nil || v != 3 {
		t.Fatalf("Rotate in b after a rotated: got %d, %v, want version 3", v, err)
	}
	dk, err := a.GenerateDataKey(ctx, "k", nil)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := seal.WrappedVersion(dk.Ciphertext); v != 3 {
		t.Errorf("version wrapping a's new data key: got %d, want 3 from b's rotation", v)
	}
	if got, err := b.Decrypt(ctx, dk.Ciphertext, nil); err != nil || !bytes.Equal(got, dk.Plaintext) {
		t.Errorf("Decrypt in b: got %x, %v, want %x", got, err, dk.Plaintext)
	}
	if got := len(openKeyFile(t, path).Versions()); got != 3 {
		t.Errorf("versions in the file: got %d, want 3, none lost", got)
	}
}

func TestRetire(t *testing.T) {
	ctx := context.Background()
	for _, protected := range []bool{false, true} {
		t.Run(fmt.Sprintf("passphrase=%v", protected), func(t *testing.T) {
			cheapArgon2id(t)
			path := filepath.Join(t.TempDir(), "keyring.json")
			open := func() *seal.Keyring {
				if protected {
					kr, _, err := seal.OpenPassphrase(path, []byte("hunter2 hunter2"))
					if err != nil {
						t.Fatalf("OpenPassphrase: %v", err)
					}
					t.Cleanup(func() { closeKeyring(t, kr) })
					return kr
				}
				return openKeyFile(t, path)
			}
			kr := open()
			derived := kr.DeriveKey("audit-hmac")
			old, err := kr.GenerateDataKey(ctx, "k", nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := kr.Rotate(); err != nil {
				t.Fatal(err)
			}
			rewrapped, err := kr.ReEncrypt(ctx, old.Ciphertext, nil)
			if err != nil {
				t.Fatalf("ReEncrypt: %v", err)
			}

			if err := kr.Retire(2); whispersync.ErrorCode(err) != whispersync.EINVALID {
				t.Errorf("Retire of the current version: got %v, want EINVALID", err)
			}
			if err := kr.Retire(7); whispersync.ErrorCode(err) != whispersync.ENOTFOUND {
				t.Errorf("Retire of a missing version: got %v, want ENOTFOUND", err)
			}
			if err := kr.Retire(1); err != nil {
				t.Fatalf("Retire(1): %v", err)
			}

			for name, k := range map[string]*seal.Keyring{"same key ring": kr, "reopened": open()} {
				if _, err := k.Decrypt(ctx, old.Ciphertext, nil); err != seal.ErrDecrypt {
					t.Errorf("%s: Decrypt under the retired version: got %v, want ErrDecrypt", name, err)
				}
				if got, err := k.Decrypt(ctx, rewrapped, nil); err != nil || !bytes.Equal(got, old.Plaintext) {
					t.Errorf("%s: Decrypt of the rewrapped key: got %x, %v, want %x", name, got, err, old.Plaintext)
				}
				if got := k.DeriveKey("audit-hmac"); !bytes.Equal(got, derived) {
					t.Errorf("%s: DeriveKey after retiring the oldest version: got %x, want %x unchanged", name, got, derived)
				}
				if v := k.Versions(); len(v) != 1 || v[0].Version != 2 {
					t.Errorf("%s: Versions: got %+v, want only version 2", name, v)
				}
			}
		})
	}
}

// TestReEncryptLayout is the known-answer test of a rewrapped key: the
// bytes follow the documented wrapped key format under the new version, and
// flipping any bit makes it fail to unwrap.
func TestReEncryptLayout(t *testing.T) {
	ctx := context.Background()
	w := loadVectors(t).WrappedKeys[0]
	nonce := sequence(0xa0, 12)
	restore := seal.SetRand(bytes.NewReader(nonce))
	kr := openGolden(t)
	restore()

	got, err := kr.ReEncrypt(ctx, w.Wrapped, w.Context)
	if err != nil {
		t.Fatalf("ReEncrypt: %v", err)
	}
	current := kr.CurrentVersion()
	header := []byte("WSDK\x01")
	header = binary.BigEndian.AppendUint32(header, uint32(current))
	header = append(header, byte(len(w.KeyID)))
	header = append(header, w.KeyID...)
	ad := binary.BigEndian.AppendUint32(bytes.Clone(header), uint32(len(w.Context)))
	for _, k := range []string{"class", "owner"} {
		if v, ok := w.Context[k]; ok {
			ad = binary.BigEndian.AppendUint32(ad, uint32(len(k)))
			ad = append(ad, k...)
			ad = binary.BigEndian.AppendUint32(ad, uint32(len(v)))
			ad = append(ad, v...)
		}
	}
	keks := map[int][]byte{1: goldenKEK1, 2: goldenKEK2}
	want := rawGCM(t, keks[current]).Seal(concat(header, nonce), nonce, w.DataKey, ad)
	if !bytes.Equal(got, want) {
		t.Errorf("ReEncrypt: got %x, want %x from the documented layout", got, want)
	}

	for i := range len(got) * 8 {
		tampered := bytes.Clone(got)
		tampered[i/8] ^= 1 << (i % 8)
		if _, err := kr.Decrypt(ctx, tampered, w.Context); err != seal.ErrDecrypt {
			t.Fatalf("Decrypt with bit %d flipped: got %v, want ErrDecrypt", i, err)
		}
	}
}

// TestRewrapUnderConcurrentWrites rotates and rewraps while writers seal
// records for many owners, then retires the old version: every record
// still opens, and no data key was lost.
func TestRewrapUnderConcurrentWrites(t *testing.T) {
	ctx := context.Background()
	kr := openKeyFile(t, filepath.Join(t.TempDir(), "keyring.json"))
	tables := mock.NewTables()
	s := seal.NewSealer(kr, tables, seal.SealerOptions{Logger: quiet})

	type record struct {
		id     seal.Identity
		sealed []byte
	}
	var (
		mu      sync.Mutex
		records []record
		owners  []string
		stop    atomic.Bool
		wg      sync.WaitGroup
	)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 40 || !stop.Load(); i++ {
				id := seal.Identity{Owner: fmt.Sprintf("user-%d-%d", w, i%25), Kind: "memo", ID: fmt.Sprint(i)}
				class := []string{whispersync.KeyClassData, whispersync.KeyClassPII}[i%2]
				// The owner is listed before its first key is stored. So a
				// key stored before the rewrap pass takes its list of
				// owners is always in that list, as in a store.
				if i < 25 {
					mu.Lock()
					owners = append(owners, id.Owner)
					mu.Unlock()
				}
				sealed, err := s.Seal(ctx, id, class, []byte(id.ID))
				if err != nil {
					t.Errorf("Seal during rotation: %v", err)
					return
				}
				mu.Lock()
				records = append(records, record{id, sealed})
				mu.Unlock()
			}
		}()
	}

	for len(snapshot(&mu, &owners)) < 20 {
		time.Sleep(time.Millisecond)
	}
	if _, err := kr.Rotate(); err != nil {
		t.Fatal(err)
	}
	var reported atomic.Int64
	p, err := s.Rewrap(ctx, seal.RewrapOptions{Owners: snapshot(&mu, &owners), Progress: func(seal.RewrapProgress) error {
		reported.Add(1)
		return nil
	}})
	stop.Store(true)
	wg.Wait()
	if err != nil {
		t.Fatalf("Rewrap: %v", err)
	}
	if p.Target != 2 || int(reported.Load()) != p.Owners {
		t.Errorf("Rewrap progress: got target %d and %d reports, want target 2 and one report per owner (%d)", p.Target, reported.Load(), p.Owners)
	}
	// Owners first seen after the pass began were created under version 2.
	deps, err := s.CountWrapped(ctx, owners)
	if err != nil {
		t.Fatal(err)
	}
	if len(deps) != 1 || deps[0].Version != 2 {
		t.Fatalf("CountWrapped after Rewrap: got %+v, want only version 2", deps)
	}
	if err := kr.Retire(1); err != nil {
		t.Fatalf("Retire(1): %v", err)
	}

	fresh := seal.NewSealer(kr, tables, seal.SealerOptions{Logger: quiet})
	for _, r := range records {
		if got, err := fresh.Open(ctx, r.id, r.sealed); err != nil || string(got) != r.id.ID {
			t.Fatalf("Open %+v after retiring version 1: got %q, %v", r.id, got, err)
		}
	}
}

func snapshot(mu *sync.Mutex, s *[]string) []string {
	mu.Lock()
	defer mu.Unlock()
	return append([]string(nil), *s...)
}

func TestRewrapResumes(t *testing.T) {
	ctx := context.Background()
	kr := openKeyFile(t, filepath.Join(t.TempDir(), "keyring.json"))
	s := seal.NewSealer(kr, mock.NewTables(), seal.SealerOptions{Logger: quiet})
	owners := []string{"a", "b", "c"}
	for _, o := range owners {
		mustSeal(t, s, seal.Identity{Owner: o, Kind: "memo", ID: "1"}, whispersync.KeyClassData, []byte("x"))
	}
	if _, err := kr.Rotate(); err != nil {
		t.Fatal(err)
	}

	crash := fmt.Errorf("killed")
	p, err := s.Rewrap(ctx, seal.RewrapOptions{Owners: owners, Progress: func(p seal.RewrapProgress) error {
		if p.Owner == "b" {
			return crash
		}
		return nil
	}})
	if err != crash || p.Owner != "b" || p.Rewrapped != 2 {
		t.Fatalf("interrupted Rewrap: got %+v, %v, want stopped after owner b with 2 rewrapped", p, err)
	}
	p, err = s.Rewrap(ctx, seal.RewrapOptions{Owners: owners, After: p.Owner})
	if err != nil || p.Rewrapped != 1 || p.OwnersDone != 3 {
		t.Fatalf("resumed Rewrap: got %+v, %v, want 1 rewrapped and 3 owners done", p, err)
	}
	deps, err := s.CountWrapped(ctx, owners)
	if err != nil || len(deps) != 1 || deps[0].Version != 2 || deps[0].DataKeys != 3 {
		t.Errorf("CountWrapped: got %+v, %v, want 3 data keys under version 2", deps, err)
	}
}

func TestRewrapNeedsReEncrypter(t *testing.T) {
	s := seal.NewSealer(fixedKeys{make([]byte, 32)}, mock.NewTables(), seal.SealerOptions{Logger: quiet})
	if _, err := s.Rewrap(context.Background(), seal.RewrapOptions{Owners: []string{"a"}}); whispersync.ErrorCode(err) != whispersync.EINVALID {
		t.Errorf("Rewrap with a key service that cannot rewrap: got %v, want EINVALID", err)
	}
}

func TestDataKeyRotation(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	f := newFixture(t, seal.SealerOptions{Now: clock, DataKeyRotation: 24 * time.Hour})
	first := mustSeal(t, f.sealer, memo, whispersync.KeyClassPII, []byte("first"))
	index, err := f.sealer.BlindIndex(ctx, memo.Owner, "ana")
	if err != nil {
		t.Fatal(err)
	}

	mu.Lock()
	now = now.Add(25 * time.Hour)
	mu.Unlock()
	second := mustSeal(t, f.sealer, memo, whispersync.KeyClassPII, []byte("second"))

	items, err := f.tables.Query(ctx, whispersync.Query{Table: seal.DataKeysTable, Owner: memo.Owner})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, it := range items {
		keys = append(keys, it.Key)
	}
	if fmt.Sprint(keys) != "[pii#1 pii#2]" {
		t.Errorf("data keys after the rotation period: got %v, want [pii#1 pii#2]", keys)
	}
	for want, sealed := range map[string][]byte{"first": first, "second": second} {
		if got, err := f.fresh().Open(ctx, memo, sealed); err != nil || string(got) != want {
			t.Errorf("Open of the %s generation: got %q, %v", want, got, err)
		}
	}
	if again, err := f.sealer.BlindIndex(ctx, memo.Owner, "ana"); err != nil || again != index {
		t.Errorf("BlindIndex after a new generation: got %q, %v, want %q unchanged", again, err, index)
	}

	// Another process keeps using the newest generation it finds.
	other := seal.NewSealer(f.keys, f.tables, seal.SealerOptions{Now: clock, DataKeyRotation: 24 * time.Hour, Logger: quiet})
	mustSeal(t, other, memo, whispersync.KeyClassPII, []byte("third"))
	if items, _ := f.tables.Query(ctx, whispersync.Query{Table: seal.DataKeysTable, Owner: memo.Owner}); len(items) != 2 {
		t.Errorf("data keys after a second sealer sealed: got %d, want 2", len(items))
	}
}

func TestCacheMaxUsesAndMetrics(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, seal.SealerOptions{CacheMaxUses: 2})
	sealed := mustSeal(t, f.sealer, memo, whispersync.KeyClassData, []byte("x"))
	for range 3 {
		if _, err := f.sealer.Open(ctx, memo, sealed); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.keys.decrypted.Load(); got != 1 {
		t.Errorf("unwraps after the cached key served its uses: got %d, want 1", got)
	}

	m := f.sealer.Metrics()
	if m.CacheHits != 2 || m.CacheMisses != 2 || m.CacheEvictions != 1 {
		t.Errorf("cache counters: got hits %d, misses %d, evictions %d, want 2, 2, 1", m.CacheHits, m.CacheMisses, m.CacheEvictions)
	}
	counts := map[string]uint64{}
	for _, u := range m.KeyUsage {
		counts[u.KeyID+" "+u.Operation] = u.Count
	}
	want := map[string]uint64{
		"data-key/data seal": 1,
		"data-key/data open": 3,
		seal.DefaultKeyID + ":v1 " + seal.OpGenerateDataKey: 1,
		seal.DefaultKeyID + ":v1 " + seal.OpDecrypt:         1,
	}
	for k, n := range want {
		if counts[k] != n {
			t.Errorf("key usage %q: got %d, want %d (all: %v)", k, counts[k], n, counts)
		}
	}
}

func FuzzParseKeyFile(f *testing.F) {
	for _, golden := range []string{keyFileGolden, passphraseFileGolden} {
		data, err := os.ReadFile(golden)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"format":"whispersync-keyring","format_version":2,"current_version":1,"derive_key":"` + b64(goldenKEK1) + `","keys":[{"version":1,"key":"` + b64(goldenKEK1) + `"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = seal.ParseKeyFile(data)
	})
}

func FuzzParseItemKey(f *testing.F) {
	for _, k := range []string{"data#1", "pii#4294967295", "pii#0", "x#1", "data#", "#"} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, key string) {
		class, gen, ok := seal.ParseItemKey(key)
		if ok && (gen == 0 || fmt.Sprintf("%s#%d", class, gen) != key) {
			t.Errorf("ParseItemKey(%q): got %q, %d, want a canonical key to round-trip", key, class, gen)
		}
	})
}
