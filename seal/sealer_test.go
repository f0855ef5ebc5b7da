package seal_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/mock"
	"github.com/whispersync/whispersync/seal"
)

var quiet = slog.New(slog.DiscardHandler)

// countingKeys counts the calls to a KeyService.
type countingKeys struct {
	whispersync.KeyService
	generated, decrypted atomic.Int64
}

func (c *countingKeys) GenerateDataKey(ctx context.Context, keyID string, ec map[string]string) (whispersync.DataKey, error) {
	c.generated.Add(1)
	return c.KeyService.GenerateDataKey(ctx, keyID, ec)
}

func (c *countingKeys) Decrypt(ctx context.Context, ciphertext []byte, ec map[string]string) ([]byte, error) {
	c.decrypted.Add(1)
	return c.KeyService.Decrypt(ctx, ciphertext, ec)
}

type fixture struct {
	keys   *countingKeys
	tables *mock.Tables
	sealer *seal.Sealer
}

func newFixture(t *testing.T, opts seal.SealerOptions) *fixture {
	t.Helper()
	kr, _, err := seal.OpenKeyFile(filepath.Join(t.TempDir(), "keyring.json"))
	if err != nil {
		t.Fatalf("OpenKeyFile: %v", err)
	}
	t.Cleanup(func() { closeKeyring(t, kr) })
	f := &fixture{keys: &countingKeys{KeyService: kr}, tables: mock.NewTables()}
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	f.sealer = seal.NewSealer(f.keys, f.tables, opts)
	t.Cleanup(f.sealer.Close)
	return f
}

// fresh returns a Sealer over the same keys and tables with an empty cache.
func (f *fixture) fresh() *seal.Sealer {
	return seal.NewSealer(f.keys, f.tables, seal.SealerOptions{Logger: quiet})
}

var memo = seal.Identity{Owner: "user-1", Kind: "memo", ID: "m-1", Version: 3}

func mustSeal(t *testing.T, s *seal.Sealer, id seal.Identity, class string, plaintext []byte) []byte {
	t.Helper()
	sealed, err := s.Seal(context.Background(), id, class, plaintext)
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	return sealed
}

// assertDecryptFailure checks that err is the one opaque failure of Open.
func assertDecryptFailure(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, seal.ErrDecrypt) {
		t.Errorf("%s: got %v, want ErrDecrypt", what, err)
		return
	}
	if code := whispersync.ErrorCode(err); code != whispersync.EINTERNAL {
		t.Errorf("%s: code got %q, want %q", what, code, whispersync.EINTERNAL)
	}
	if msg, want := whispersync.ErrorMessage(err), "stored data failed authentication: it was altered or belongs to another record"; msg != want {
		t.Errorf("%s: message got %q, want %q", what, msg, want)
	}
}

func TestSealOpenRoundTrip(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, seal.SealerOptions{})
	for _, class := range []string{whispersync.KeyClassData, whispersync.KeyClassPII} {
		for _, size := range []int{0, 1, 2048, 1 << 20} {
			plaintext := bytes.Repeat([]byte("x"), size)
			sealed := mustSeal(t, f.sealer, memo, class, plaintext)
			if size >= 16 && bytes.Contains(sealed, plaintext[:16]) {
				t.Errorf("Seal of %d bytes under %s: ciphertext contains the plaintext", size, class)
			}
			for name, s := range map[string]*seal.Sealer{"same sealer": f.sealer, "fresh sealer": f.fresh()} {
				got, err := s.Open(ctx, memo, sealed)
				if err != nil {
					t.Fatalf("Open of %d bytes under %s with %s: %v", size, class, name, err)
				}
				if !bytes.Equal(got, plaintext) {
					t.Errorf("Open of %d bytes under %s with %s: got %d other bytes", size, class, name, len(got))
				}
			}
		}
	}
	if n := f.keys.generated.Load(); n != 2 {
		t.Errorf("data keys generated for one user and two classes: got %d, want 2", n)
	}
}

func TestSealDistinctCiphertexts(t *testing.T) {
	f := newFixture(t, seal.SealerOptions{})
	a := mustSeal(t, f.sealer, memo, whispersync.KeyClassData, []byte("same"))
	b := mustSeal(t, f.sealer, memo, whispersync.KeyClassData, []byte("same"))
	if bytes.Equal(a, b) {
		t.Errorf("two seals of one plaintext: both %x, want distinct nonces", a)
	}
}

func TestOpenMovedCiphertext(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, seal.SealerOptions{})
	sealed := mustSeal(t, f.sealer, memo, whispersync.KeyClassData, []byte("private"))

	other := seal.Identity{Owner: "user-2", Kind: "memo", ID: "m-1", Version: 3}
	// Give the other owner keys of its own, so the failure is not a
	// missing key.
	mustSeal(t, f.sealer, other, whispersync.KeyClassData, nil)

	tests := []struct {
		name string
		id   seal.Identity
	}{
		{"other owner", other},
		{"other kind", seal.Identity{Owner: "user-1", Kind: "output", ID: "m-1", Version: 3}},
		{"other id", seal.Identity{Owner: "user-1", Kind: "memo", ID: "m-2", Version: 3}},
		{"other version", seal.Identity{Owner: "user-1", Kind: "memo", ID: "m-1", Version: 4}},
		{"shifted boundary", seal.Identity{Owner: "user-1", Kind: "mem", ID: "om-1", Version: 3}},
	}
	for _, tt := range tests {
		got, err := f.sealer.Open(ctx, tt.id, sealed)
		if err == nil {
			t.Errorf("Open for %s: got %q, want an error", tt.name, got)
			continue
		}
		assertDecryptFailure(t, "Open for "+tt.name, err)
	}
}

func TestOpenTamperedRecord(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, seal.SealerOptions{})
	sealed := mustSeal(t, f.sealer, memo, whispersync.KeyClassPII, []byte("Ana laughed at the lake."))
	mustSeal(t, f.sealer, memo, whispersync.KeyClassData, nil) // so a flipped class finds a key

	for i := range sealed {
		for _, mask := range []byte{0x01, 0x80} {
			tampered := bytes.Clone(sealed)
			tampered[i] ^= mask
			got, err := f.sealer.Open(ctx, memo, tampered)
			if err == nil {
				t.Errorf("Open with byte %d xor %#x: got %q, want an error", i, mask, got)
				continue
			}
			assertDecryptFailure(t, fmt.Sprintf("Open with byte %d xor %#x", i, mask), err)
		}
	}
	for _, n := range []int{0, 4, 5, len(sealed) - 17, len(sealed) - 1} {
		_, err := f.sealer.Open(ctx, memo, sealed[:n])
		assertDecryptFailure(t, fmt.Sprintf("Open of the first %d bytes", n), err)
	}
	_, err := f.sealer.Open(ctx, memo, append(bytes.Clone(sealed), 0))
	assertDecryptFailure(t, "Open with a trailing byte", err)
}

func TestOpenTamperedDataKey(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, seal.SealerOptions{})
	sealed := mustSeal(t, f.sealer, memo, whispersync.KeyClassData, []byte("private"))
	item, err := f.tables.GetItem(ctx, seal.DataKeysTable, memo.Owner, "data#1")
	if err != nil {
		t.Fatalf("GetItem of the wrapped data key: %v", err)
	}

	for i := range item.Data {
		tampered := item
		tampered.Data = bytes.Clone(item.Data)
		tampered.Data[i] ^= 0x01
		if err := f.tables.PutItem(ctx, seal.DataKeysTable, tampered, whispersync.Always); err != nil {
			t.Fatal(err)
		}
		_, err := f.fresh().Open(ctx, memo, sealed)
		assertDecryptFailure(t, fmt.Sprintf("Open with wrapped key byte %d flipped", i), err)
	}

	// A wrapped key moved from another owner must not unwrap either.
	mustSeal(t, f.sealer, seal.Identity{Owner: "user-2", Kind: "memo", ID: "x"}, whispersync.KeyClassData, nil)
	moved, err := f.tables.GetItem(ctx, seal.DataKeysTable, "user-2", "data#1")
	if err != nil {
		t.Fatal(err)
	}
	moved.Owner = memo.Owner
	if err := f.tables.PutItem(ctx, seal.DataKeysTable, moved, whispersync.Always); err != nil {
		t.Fatal(err)
	}
	_, err = f.fresh().Open(ctx, memo, sealed)
	assertDecryptFailure(t, "Open with another owner's wrapped key", err)
}

func TestSealValidation(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, seal.SealerOptions{})
	tests := []struct {
		name  string
		id    seal.Identity
		class string
	}{
		{"no owner", seal.Identity{Kind: "memo", ID: "1"}, whispersync.KeyClassData},
		{"no kind", seal.Identity{Owner: "u", ID: "1"}, whispersync.KeyClassData},
		{"no id", seal.Identity{Owner: "u", Kind: "memo"}, whispersync.KeyClassData},
		{"unknown class", memo, "secret"},
		{"empty class", memo, ""},
	}
	for _, tt := range tests {
		if _, err := f.sealer.Seal(ctx, tt.id, tt.class, []byte("x")); whispersync.ErrorCode(err) != whispersync.EINVALID {
			t.Errorf("Seal with %s: got %v, want EINVALID", tt.name, err)
		}
	}
	if _, err := f.sealer.BlindIndex(ctx, "", "term"); whispersync.ErrorCode(err) != whispersync.EINVALID {
		t.Errorf("BlindIndex with no owner: got %v, want EINVALID", err)
	}
	if _, err := f.sealer.KeyedHash(ctx, "u", "", nil); whispersync.ErrorCode(err) != whispersync.EINVALID {
		t.Errorf("KeyedHash with no purpose: got %v, want EINVALID", err)
	}
	if n := f.keys.generated.Load(); n != 0 {
		t.Errorf("data keys generated by rejected calls: got %d, want 0", n)
	}
}

func TestBlindIndexAndKeyedHash(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, seal.SealerOptions{})
	index := func(owner, term string) string {
		t.Helper()
		got, err := f.sealer.BlindIndex(ctx, owner, term)
		if err != nil {
			t.Fatalf("BlindIndex: %v", err)
		}
		return got
	}
	hash := func(owner, purpose, data string) string {
		t.Helper()
		got, err := f.sealer.KeyedHash(ctx, owner, purpose, []byte(data))
		if err != nil {
			t.Fatalf("KeyedHash: %v", err)
		}
		return got
	}

	if a, b := index("user-1", "lake"), index("user-1", "lake"); a != b {
		t.Errorf("BlindIndex of one term twice: got %q and %q, want equal", a, b)
	}
	if got, err := f.fresh().BlindIndex(ctx, "user-1", "lake"); err != nil || got != index("user-1", "lake") {
		t.Errorf("BlindIndex from a fresh sealer: got %q, %v, want the same index", got, err)
	}
	distinct := map[string]string{
		"other term":    index("user-1", "lakes"),
		"other owner":   index("user-2", "lake"),
		"keyed hash":    hash("user-1", "blind index", "lake"),
		"other purpose": hash("user-1", "title", "lake"),
	}
	base := index("user-1", "lake")
	for name, got := range distinct {
		if got == base {
			t.Errorf("BlindIndex against %s: both %q, want distinct values", name, got)
		}
	}
	if a, b := hash("user-1", "content", "x"), hash("user-1", "title", "x"); a == b {
		t.Errorf("KeyedHash for two purposes: both %q, want distinct", a)
	}
	if got := len(base); got != 43 {
		t.Errorf("BlindIndex length: got %d, want 43 (unpadded base64url of 32 bytes)", got)
	}
}

func TestShredUser(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, seal.SealerOptions{})
	other := seal.Identity{Owner: "user-2", Kind: "memo", ID: "m-1"}
	data := mustSeal(t, f.sealer, memo, whispersync.KeyClassData, []byte("work"))
	pii := mustSeal(t, f.sealer, memo, whispersync.KeyClassPII, []byte("Ana"))
	kept := mustSeal(t, f.sealer, other, whispersync.KeyClassData, []byte("kept"))
	indexBefore, err := f.sealer.BlindIndex(ctx, memo.Owner, "ana")
	if err != nil {
		t.Fatal(err)
	}

	if err := f.sealer.ShredUser(ctx, memo.Owner); err != nil {
		t.Fatalf("ShredUser: %v", err)
	}

	for name, sealed := range map[string][]byte{"data": data, "pii": pii} {
		for sname, s := range map[string]*seal.Sealer{"same sealer": f.sealer, "fresh sealer": f.fresh()} {
			_, err := s.Open(ctx, memo, sealed)
			assertDecryptFailure(t, "Open of a shredded "+name+" record with "+sname, err)
		}
	}
	left, err := f.tables.Query(ctx, whispersync.Query{Table: seal.DataKeysTable, Owner: memo.Owner})
	if err != nil || len(left) != 0 {
		t.Errorf("data keys left after shredding: got %d, %v, want none", len(left), err)
	}
	if got, err := f.sealer.Open(ctx, other, kept); err != nil || string(got) != "kept" {
		t.Errorf("Open of another user's record: got %q, %v, want %q", got, err, "kept")
	}
	if indexAfter, err := f.sealer.BlindIndex(ctx, memo.Owner, "ana"); err != nil || indexAfter == indexBefore {
		t.Errorf("BlindIndex after shredding: got %q, %v, want a new index under a new key", indexAfter, err)
	}
	if err := f.sealer.ShredUser(ctx, ""); whispersync.ErrorCode(err) != whispersync.EINVALID {
		t.Errorf("ShredUser with no owner: got %v, want EINVALID", err)
	}
}

func TestCacheBounds(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	f := newFixture(t, seal.SealerOptions{CacheKeys: 1, CacheMaxAge: time.Minute, Now: clock})
	a := seal.Identity{Owner: "a", Kind: "memo", ID: "1"}
	b := seal.Identity{Owner: "b", Kind: "memo", ID: "1"}
	sealedA := mustSeal(t, f.sealer, a, whispersync.KeyClassData, []byte("a"))
	sealedB := mustSeal(t, f.sealer, b, whispersync.KeyClassData, []byte("b"))

	open := func(id seal.Identity, sealed []byte) {
		t.Helper()
		if _, err := f.sealer.Open(ctx, id, sealed); err != nil {
			t.Fatalf("Open: %v", err)
		}
	}
	unwraps := func() int64 { return f.keys.decrypted.Load() }

	open(b, sealedB)
	if got := unwraps(); got != 0 {
		t.Errorf("unwraps for the cached key: got %d, want 0", got)
	}
	open(a, sealedA) // a was evicted when b's key came in
	if got := unwraps(); got != 1 {
		t.Errorf("unwraps after a count eviction: got %d, want 1", got)
	}
	open(a, sealedA)
	if got := unwraps(); got != 1 {
		t.Errorf("unwraps for a key cached again: got %d, want 1", got)
	}

	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	open(a, sealedA)
	if got := unwraps(); got != 2 {
		t.Errorf("unwraps after the maximum age passed: got %d, want 2", got)
	}
}

func TestConcurrentSealOpen(t *testing.T) {
	ctx := context.Background()
	// A small cache makes evictions race with use.
	f := newFixture(t, seal.SealerOptions{CacheKeys: 2})
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 40 {
				id := seal.Identity{Owner: fmt.Sprintf("user-%d", (g+i)%5), Kind: "memo", ID: fmt.Sprint(g, "-", i)}
				class := []string{whispersync.KeyClassData, whispersync.KeyClassPII}[i%2]
				plaintext := []byte(id.ID)
				sealed, err := f.sealer.Seal(ctx, id, class, plaintext)
				if err != nil {
					t.Errorf("Seal: %v", err)
					return
				}
				got, err := f.sealer.Open(ctx, id, sealed)
				if err != nil || !bytes.Equal(got, plaintext) {
					t.Errorf("Open: got %q, %v, want %q", got, err, plaintext)
					return
				}
				if i%10 == 0 {
					if _, err := f.sealer.BlindIndex(ctx, id.Owner, "term"); err != nil {
						t.Errorf("BlindIndex: %v", err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	if n := f.keys.generated.Load(); n < 10 {
		t.Errorf("data keys generated for 5 users and 2 classes: got %d, want at least 10", n)
	}
}

// TestFirstKeyRace makes two sealers miss the same key at once, so both
// generate one and one store fails its IfAbsent condition. Both must end up
// sealing under the stored key.
func TestFirstKeyRace(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, seal.SealerOptions{})
	// Hold both stores until both sealers reached them: each has then
	// read the key as missing and generated its own.
	var puts atomic.Int64
	arrived := make(chan struct{}, 2)
	release := make(chan struct{})
	f.tables.Fault = func(op, table string) error {
		if op == "PutItem" && table == seal.DataKeysTable && puts.Add(1) <= 2 {
			arrived <- struct{}{}
			<-release
		}
		return nil
	}

	sealers := []*seal.Sealer{f.fresh(), f.fresh()}
	sealed := make([][]byte, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range sealers {
		wg.Go(func() {
			sealed[i], errs[i] = sealers[i].Seal(ctx, memo, whispersync.KeyClassData, []byte("first"))
		})
	}
	<-arrived
	<-arrived
	close(release)
	wg.Wait()

	for i, err := range errs {
		if err != nil {
			t.Fatalf("Seal %d: %v", i, err)
		}
	}
	if n := f.keys.generated.Load(); n != 2 {
		t.Errorf("data keys generated: got %d, want 2 (both sealers missed)", n)
	}
	items, err := f.tables.Query(ctx, whispersync.Query{Table: seal.DataKeysTable, Owner: memo.Owner})
	if err != nil || len(items) != 1 {
		t.Fatalf("stored data keys: got %d, %v, want 1", len(items), err)
	}
	for i, s := range sealed {
		if got, err := f.fresh().Open(ctx, memo, s); err != nil || string(got) != "first" {
			t.Errorf("Open of sealer %d's record with the stored key: got %q, %v, want %q", i, got, err, "first")
		}
	}
}

func TestSealErrors(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, seal.SealerOptions{})
	outage := whispersync.Errorf(whispersync.EUNAVAILABLE, "tables unavailable")
	f.tables.Fault = func(op, table string) error { return outage }
	if _, err := f.sealer.Seal(ctx, memo, whispersync.KeyClassData, nil); !errors.Is(err, outage) {
		t.Errorf("Seal during a table outage: got %v, want the outage error", err)
	}
	if err := f.sealer.ShredUser(ctx, memo.Owner); !errors.Is(err, outage) {
		t.Errorf("ShredUser during a table outage: got %v, want the outage error", err)
	}

	broken := seal.NewSealer(f.keys, mock.NewTables(), seal.SealerOptions{Rand: eofReader{}, Logger: quiet})
	if _, err := broken.Seal(ctx, memo, whispersync.KeyClassData, nil); err == nil || errors.Is(err, seal.ErrDecrypt) {
		t.Errorf("Seal without randomness: got %v, want a nonce error", err)
	}
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }
