package seal_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/mock"
	"github.com/whispersync/whispersync/seal"
)

var update = flag.Bool("update", false, "rewrite the known-answer files in testdata")

const (
	vectorsFile          = "testdata/vectors_v1.json"
	keyFileGolden        = "testdata/keyring_v1.json"
	passphraseFileGolden = "testdata/keyring_passphrase_v1.json"
	goldenPassphrase     = "correct horse battery staple"
)

// hexBytes is a byte slice written as hex in the vector files.
type hexBytes []byte

func (h hexBytes) MarshalText() ([]byte, error) { return []byte(hex.EncodeToString(h)), nil }

func (h *hexBytes) UnmarshalText(text []byte) error {
	b, err := hex.DecodeString(string(text))
	*h = b
	return err
}

type vectors struct {
	WrappedKeys  []wrappedKeyVector `json:"wrapped_keys"`
	Envelopes    []envelopeVector   `json:"envelopes"`
	DerivedKeys  []derivedKeyVector `json:"derived_keys"`
	BlindIndexes []macVector        `json:"blind_indexes"`
	KeyedHashes  []macVector        `json:"keyed_hashes"`
}

// wrappedKeyVector is a data key wrapped under a KEK of the golden key files.
type wrappedKeyVector struct {
	Name       string            `json:"name"`
	KEKVersion int               `json:"kek_version"`
	KeyID      string            `json:"key_id"`
	Context    map[string]string `json:"context"`
	DataKey    hexBytes          `json:"data_key"`
	Nonce      hexBytes          `json:"nonce"`
	Wrapped    hexBytes          `json:"wrapped"`
}

// envelopeVector is a record sealed under generation 1 of a data key.
type envelopeVector struct {
	Name      string        `json:"name"`
	DataKey   hexBytes      `json:"data_key"`
	Class     string        `json:"class"`
	Identity  seal.Identity `json:"identity"`
	Nonce     hexBytes      `json:"nonce"`
	Plaintext string        `json:"plaintext"`
	Sealed    hexBytes      `json:"sealed"`
}

type derivedKeyVector struct {
	Purpose string   `json:"purpose"`
	Key     hexBytes `json:"key"`
}

// macVector is a blind index (Purpose empty) or a keyed hash under the
// owner's data key of the matching class.
type macVector struct {
	DataKey hexBytes `json:"data_key"`
	Owner   string   `json:"owner"`
	Purpose string   `json:"purpose,omitempty"`
	Input   string   `json:"input"`
	Output  string   `json:"output"`
}

// The golden key files hold these KEKs as versions 1 and 2.
var (
	goldenKEK1 = sequence(0x00, 32)
	goldenKEK2 = sequence(0x20, 32)
)

func sequence(start byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = start + byte(i)
	}
	return b
}

func concat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// fixedKeys is a KeyService whose every data key is key. Its wrapped keys
// are plain labels that bind owner and class, so tests can reason about the
// envelope alone.
type fixedKeys struct{ key []byte }

func (f fixedKeys) GenerateDataKey(_ context.Context, keyID string, ec map[string]string) (whispersync.DataKey, error) {
	return whispersync.DataKey{KeyID: keyID, Plaintext: bytes.Clone(f.key), Ciphertext: []byte("fixed:" + ec["owner"] + "/" + ec["class"])}, nil
}

func (f fixedKeys) Decrypt(_ context.Context, ciphertext []byte, ec map[string]string) ([]byte, error) {
	if string(ciphertext) != "fixed:"+ec["owner"]+"/"+ec["class"] {
		return nil, seal.ErrDecrypt
	}
	return bytes.Clone(f.key), nil
}

func loadVectors(t testing.TB) vectors {
	t.Helper()
	data, err := os.ReadFile(vectorsFile)
	if err != nil {
		t.Fatalf("read vectors: %v", err)
	}
	var v vectors
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("parse vectors: %v", err)
	}
	return v
}

// copyKeyFile copies a golden key file into a temporary folder with mode
// 0600, since the repository does not keep file modes.
func copyKeyFile(t testing.TB, golden string) string {
	t.Helper()
	data, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("read golden key file: %v", err)
	}
	path := filepath.Join(t.TempDir(), filepath.Base(golden))
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatalf("copy golden key file: %v", err)
	}
	return path
}

func openGolden(t testing.TB) *seal.Keyring {
	t.Helper()
	kr, _, err := seal.OpenKeyFile(copyKeyFile(t, keyFileGolden))
	if err != nil {
		t.Fatalf("OpenKeyFile(golden): %v", err)
	}
	t.Cleanup(func() { closeKeyring(t, kr) })
	return kr
}

func TestKeyFileVectors(t *testing.T) {
	if *update {
		writeVectors(t)
	}
	v := loadVectors(t)
	ctx := context.Background()

	open := map[string]func(path string) (*seal.Keyring, bool, error){
		"plaintext": seal.OpenKeyFile,
		"passphrase": func(path string) (*seal.Keyring, bool, error) {
			return seal.OpenPassphrase(path, []byte(goldenPassphrase))
		},
	}
	files := map[string]string{"plaintext": keyFileGolden, "passphrase": passphraseFileGolden}
	for name, openFn := range open {
		t.Run(name, func(t *testing.T) {
			kr, created, err := openFn(copyKeyFile(t, files[name]))
			if err != nil {
				t.Fatalf("open golden key file: %v", err)
			}
			defer kr.Close()
			if created {
				t.Errorf("created: got true, want false for an existing file")
			}

			versions := kr.Versions()
			if len(versions) != 2 || versions[0].Version != 1 || versions[1].Version != 2 || versions[0].Current || !versions[1].Current {
				t.Errorf("Versions: got %+v, want versions 1 and 2 with 2 current", versions)
			}
			for _, w := range v.WrappedKeys {
				got, err := kr.Decrypt(ctx, w.Wrapped, w.Context)
				if err != nil {
					t.Errorf("Decrypt(%s): %v", w.Name, err)
					continue
				}
				if !bytes.Equal(got, w.DataKey) {
					t.Errorf("Decrypt(%s): got %x, want %x", w.Name, got, w.DataKey)
				}
			}
			for _, d := range v.DerivedKeys {
				if got := kr.DeriveKey(d.Purpose); !bytes.Equal(got, d.Key) {
					t.Errorf("DeriveKey(%q): got %x, want %x", d.Purpose, got, d.Key)
				}
			}
		})
	}
}

func TestWrappedKeyVectorsGenerate(t *testing.T) {
	ctx := context.Background()
	for _, w := range loadVectors(t).WrappedKeys {
		if w.KEKVersion != 2 {
			continue // only the current version wraps new keys
		}
		t.Run(w.Name, func(t *testing.T) {
			defer seal.SetRand(bytes.NewReader(concat(w.DataKey, w.Nonce)))()
			kr := openGolden(t)
			dk, err := kr.GenerateDataKey(ctx, w.KeyID, w.Context)
			if err != nil {
				t.Fatalf("GenerateDataKey: %v", err)
			}
			if !bytes.Equal(dk.Ciphertext, w.Wrapped) {
				t.Errorf("wrapped key: got %x, want %x", dk.Ciphertext, w.Wrapped)
			}
			if !bytes.Equal(dk.Plaintext, w.DataKey) {
				t.Errorf("data key: got %x, want %x", dk.Plaintext, w.DataKey)
			}
		})
	}
}

// TestWrappedKeyLayout rebuilds each vector from the layout documented in
// the package doc with crypto/aes alone.
func TestWrappedKeyLayout(t *testing.T) {
	keks := map[int][]byte{1: goldenKEK1, 2: goldenKEK2}
	for _, w := range loadVectors(t).WrappedKeys {
		header := []byte("WSDK\x01")
		header = binary.BigEndian.AppendUint32(header, uint32(w.KEKVersion))
		header = append(header, byte(len(w.KeyID)))
		header = append(header, w.KeyID...)
		ad := bytes.Clone(header)
		ad = binary.BigEndian.AppendUint32(ad, uint32(len(w.Context)))
		for _, k := range []string{"class", "owner"} { // the vectors use no other keys
			if v, ok := w.Context[k]; ok {
				ad = binary.BigEndian.AppendUint32(ad, uint32(len(k)))
				ad = append(ad, k...)
				ad = binary.BigEndian.AppendUint32(ad, uint32(len(v)))
				ad = append(ad, v...)
			}
		}
		want := rawGCM(t, keks[w.KEKVersion]).Seal(concat(header, w.Nonce), w.Nonce, w.DataKey, ad)
		if !bytes.Equal(w.Wrapped, want) {
			t.Errorf("%s: vector %x, want %x from the documented layout", w.Name, w.Wrapped, want)
		}
	}
}

func TestEnvelopeVectors(t *testing.T) {
	ctx := context.Background()
	for _, e := range loadVectors(t).Envelopes {
		t.Run(e.Name, func(t *testing.T) {
			s := seal.NewSealer(fixedKeys{e.DataKey}, mock.NewTables(), seal.SealerOptions{Rand: bytes.NewReader(e.Nonce), Logger: quiet})
			sealed, err := s.Seal(ctx, e.Identity, e.Class, []byte(e.Plaintext))
			if err != nil {
				t.Fatalf("Seal: %v", err)
			}
			if !bytes.Equal(sealed, e.Sealed) {
				t.Errorf("Seal: got %x, want %x", sealed, e.Sealed)
			}
			opened, err := s.Open(ctx, e.Identity, e.Sealed)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if string(opened) != e.Plaintext {
				t.Errorf("Open: got %q, want %q", opened, e.Plaintext)
			}
		})
	}
}

// TestEnvelopeLayout rebuilds each vector from the layout documented in the
// package doc with crypto/aes alone.
func TestEnvelopeLayout(t *testing.T) {
	for _, e := range loadVectors(t).Envelopes {
		header := []byte("WSEV\x01")
		header = append(header, byte(len(e.Class)))
		header = append(header, e.Class...)
		header = binary.BigEndian.AppendUint16(header, uint16(len(e.Identity.Owner)))
		header = append(header, e.Identity.Owner...)
		header = binary.BigEndian.AppendUint32(header, 1)
		header = append(header, e.Nonce...)
		ad := bytes.Clone(header)
		for _, s := range []string{e.Identity.Owner, e.Identity.Kind, e.Identity.ID} {
			ad = binary.BigEndian.AppendUint32(ad, uint32(len(s)))
			ad = append(ad, s...)
		}
		ad = binary.BigEndian.AppendUint64(ad, uint64(int64(e.Identity.Version)))
		want := rawGCM(t, e.DataKey).Seal(bytes.Clone(header), e.Nonce, []byte(e.Plaintext), ad)
		if !bytes.Equal(e.Sealed, want) {
			t.Errorf("%s: vector %x, want %x from the documented layout", e.Name, e.Sealed, want)
		}
	}
}

func TestMACVectors(t *testing.T) {
	ctx := context.Background()
	v := loadVectors(t)
	for _, m := range v.BlindIndexes {
		s := seal.NewSealer(fixedKeys{m.DataKey}, mock.NewTables(), seal.SealerOptions{Logger: quiet})
		got, err := s.BlindIndex(ctx, m.Owner, m.Input)
		if err != nil || got != m.Output {
			t.Errorf("BlindIndex(%q, %q): got %q, %v, want %q", m.Owner, m.Input, got, err, m.Output)
		}
	}
	for _, m := range v.KeyedHashes {
		s := seal.NewSealer(fixedKeys{m.DataKey}, mock.NewTables(), seal.SealerOptions{Logger: quiet})
		got, err := s.KeyedHash(ctx, m.Owner, m.Purpose, []byte(m.Input))
		if err != nil || got != m.Output {
			t.Errorf("KeyedHash(%q, %q, %q): got %q, %v, want %q", m.Owner, m.Purpose, m.Input, got, err, m.Output)
		}
	}
}

// FuzzUnwrap feeds arbitrary wrapped keys to Keyring.Decrypt, which must
// never panic and must accept nothing but a 32-byte key.
func FuzzUnwrap(f *testing.F) {
	v := loadVectors(f)
	for _, w := range v.WrappedKeys {
		f.Add([]byte(w.Wrapped), w.Context["owner"], w.Context["class"])
	}
	kr := openGolden(f)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, wrapped []byte, owner, class string) {
		key, err := kr.Decrypt(ctx, wrapped, map[string]string{"owner": owner, "class": class})
		if err == nil && len(key) != 32 {
			t.Errorf("Decrypt: got a %d-byte key, want 32 bytes", len(key))
		}
	})
}

// FuzzOpen feeds arbitrary ciphertexts to Sealer.Open, which must never
// panic.
func FuzzOpen(f *testing.F) {
	v := loadVectors(f)
	ctx := context.Background()
	s := seal.NewSealer(fixedKeys{v.Envelopes[0].DataKey}, mock.NewTables(), seal.SealerOptions{Logger: quiet})
	for _, e := range v.Envelopes {
		f.Add([]byte(e.Sealed), e.Identity.Owner, e.Identity.Kind, e.Identity.ID, e.Identity.Version)
		// Create the owner's keys, so that Open gets as far as AES-GCM.
		if _, err := s.Seal(ctx, e.Identity, e.Class, nil); err != nil {
			f.Fatalf("Seal: %v", err)
		}
	}
	f.Fuzz(func(t *testing.T, sealed []byte, owner, kind, id string, version int) {
		_, _ = s.Open(ctx, seal.Identity{Owner: owner, Kind: kind, ID: id, Version: version}, sealed)
	})
}

func rawGCM(t testing.TB, key []byte) cipher.AEAD {
	t.Helper()
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatalf("aes.NewCipher: %v", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatalf("cipher.NewGCM: %v", err)
	}
	return aead
}

// writeVectors rewrites the golden key files and the vector file from the
// current code, with fixed keys and nonces.
func writeVectors(t *testing.T) {
	ctx := context.Background()
	var v vectors
	wrapped := []wrappedKeyVector{
		{Name: "version 1, data class", KEKVersion: 1, KeyID: seal.DefaultKeyID, Context: map[string]string{"owner": "user-1", "class": "data"}, DataKey: sequence(0x80, 32), Nonce: sequence(0xa0, 12)},
		{Name: "version 2, pii class", KEKVersion: 2, KeyID: seal.DefaultKeyID, Context: map[string]string{"owner": "user-1", "class": "pii"}, DataKey: sequence(0xb0, 32), Nonce: sequence(0xd0, 12)},
		{Name: "version 2, empty context", KEKVersion: 2, KeyID: "k", Context: map[string]string{}, DataKey: sequence(0xe0, 32), Nonce: sequence(0x10, 12)},
	}

	// The plaintext key file: version 1, one wrapped key, version 2, then
	// the other wrapped keys, all from one stream of known bytes.
	stream := [][]byte{goldenKEK1, wrapped[0].DataKey, wrapped[0].Nonce, goldenKEK2}
	for _, w := range wrapped[1:] {
		stream = append(stream, w.DataKey, w.Nonce)
	}
	restore := seal.SetRand(bytes.NewReader(concat(stream...)))
	path := filepath.Join(t.TempDir(), "keyring.json")
	kr, _, err := seal.OpenKeyFile(path)
	if err != nil {
		t.Fatalf("OpenKeyFile: %v", err)
	}
	for i := range wrapped {
		if i == 1 {
			if _, err := kr.Rotate(); err != nil {
				t.Fatalf("Rotate: %v", err)
			}
		}
		dk, err := kr.GenerateDataKey(ctx, wrapped[i].KeyID, wrapped[i].Context)
		if err != nil {
			t.Fatalf("GenerateDataKey: %v", err)
		}
		wrapped[i].Wrapped = dk.Ciphertext
	}
	restore()
	copyFile(t, path, keyFileGolden)
	v.WrappedKeys = wrapped
	for _, purpose := range []string{"audit hmac salt", "secret store"} {
		v.DerivedKeys = append(v.DerivedKeys, derivedKeyVector{Purpose: purpose, Key: kr.DeriveKey(purpose)})
	}
	closeKeyring(t, kr)

	// The passphrase key file holds the same KEKs: salt, version 1 and its
	// sealing nonce, then version 2 and the nonces of both entries.
	defer seal.SetArgon2idCost(1, 64, 1)()
	restore = seal.SetRand(bytes.NewReader(concat(sequence(0x40, 16), goldenKEK1, sequence(0x50, 12), goldenKEK2, sequence(0x60, 12), sequence(0x70, 12))))
	path = filepath.Join(t.TempDir(), "keyring.json")
	kr, _, err = seal.OpenPassphrase(path, []byte(goldenPassphrase))
	if err != nil {
		t.Fatalf("OpenPassphrase: %v", err)
	}
	if _, err := kr.Rotate(); err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	restore()
	closeKeyring(t, kr)
	copyFile(t, path, passphraseFileGolden)

	dataKey := sequence(0x90, 32)
	envelopes := []envelopeVector{
		{Name: "data class", Class: whispersync.KeyClassData, Identity: seal.Identity{Owner: "user-1", Kind: "memo", ID: "m-1", Version: 1}, Nonce: sequence(0xc0, 12), Plaintext: "Call the plumber about the kitchen sink."},
		{Name: "pii class", Class: whispersync.KeyClassPII, Identity: seal.Identity{Owner: "user-2", Kind: "memory", ID: "2026-01-01/3", Version: 7}, Nonce: sequence(0xcc, 12), Plaintext: "Ana laughed at the lake."},
		{Name: "empty plaintext", Class: whispersync.KeyClassData, Identity: seal.Identity{Owner: "u", Kind: "k", ID: "i", Version: -1}, Nonce: sequence(0xf0, 12), Plaintext: ""},
	}
	for i, e := range envelopes {
		s := seal.NewSealer(fixedKeys{dataKey}, mock.NewTables(), seal.SealerOptions{Rand: bytes.NewReader(e.Nonce), Logger: quiet})
		sealed, err := s.Seal(ctx, e.Identity, e.Class, []byte(e.Plaintext))
		if err != nil {
			t.Fatalf("Seal: %v", err)
		}
		envelopes[i].DataKey, envelopes[i].Sealed = dataKey, sealed
	}
	v.Envelopes = envelopes

	s := seal.NewSealer(fixedKeys{dataKey}, mock.NewTables(), seal.SealerOptions{Logger: quiet})
	for _, term := range []string{"ana", "lake", ""} {
		index, err := s.BlindIndex(ctx, "user-1", term)
		if err != nil {
			t.Fatalf("BlindIndex: %v", err)
		}
		v.BlindIndexes = append(v.BlindIndexes, macVector{DataKey: dataKey, Owner: "user-1", Input: term, Output: index})
	}
	for _, purpose := range []string{"content", "title"} {
		hash, err := s.KeyedHash(ctx, "user-1", purpose, []byte("call the plumber"))
		if err != nil {
			t.Fatalf("KeyedHash: %v", err)
		}
		v.KeyedHashes = append(v.KeyedHashes, macVector{DataKey: dataKey, Owner: "user-1", Purpose: purpose, Input: "call the plumber", Output: hash})
	}

	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatalf("encode vectors: %v", err)
	}
	if err := os.WriteFile(vectorsFile, append(data, '\n'), 0o600); err != nil {
		t.Fatalf("write vectors: %v", err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatalf("read %s: %v", from, err)
	}
	if err := os.WriteFile(to, data, 0o600); err != nil {
		t.Fatalf("write %s: %v", to, err)
	}
}
