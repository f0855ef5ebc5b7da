package seal_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/seal"
	"github.com/whispersync/whispersync/storagetest"
)

// cheapArgon2id keeps passphrase tests fast; the golden passphrase file
// pins the derivation itself.
func cheapArgon2id(t *testing.T) {
	t.Cleanup(seal.SetArgon2idCost(1, 64, 1))
}

func TestKeyringContract(t *testing.T) {
	t.Run("KeyFile", func(t *testing.T) {
		storagetest.KeyService(t, func(t *testing.T) whispersync.KeyService {
			kr, _, err := seal.OpenKeyFile(filepath.Join(t.TempDir(), "keys", "keyring.json"))
			if err != nil {
				t.Fatalf("OpenKeyFile: %v", err)
			}
			t.Cleanup(func() { closeKeyring(t, kr) })
			return kr
		})
	})
	t.Run("Passphrase", func(t *testing.T) {
		cheapArgon2id(t)
		storagetest.KeyService(t, func(t *testing.T) whispersync.KeyService {
			kr, _, err := seal.OpenPassphrase(filepath.Join(t.TempDir(), "keyring.json"), []byte("hunter2 hunter2"))
			if err != nil {
				t.Fatalf("OpenPassphrase: %v", err)
			}
			t.Cleanup(func() { closeKeyring(t, kr) })
			return kr
		})
	})
}

func TestOpenKeyFileCreates(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "config", "whispersync")
	path := filepath.Join(dir, "keyring.json")

	kr, created, err := seal.OpenKeyFile(path)
	if err != nil {
		t.Fatalf("OpenKeyFile: %v", err)
	}
	if !created {
		t.Errorf("created: got false, want true for a missing file")
	}
	assertMode(t, path, 0o600)
	assertMode(t, dir, 0o700)
	if v := kr.Versions(); len(v) != 1 || v[0].Version != 1 || !v[0].Current || v[0].CreatedAt.IsZero() {
		t.Errorf("Versions: got %+v, want one current version 1 with a creation time", v)
	}
	dk, err := kr.GenerateDataKey(ctx, "k", nil)
	if err != nil {
		t.Fatalf("GenerateDataKey: %v", err)
	}
	closeKeyring(t, kr)

	again, created, err := seal.OpenKeyFile(path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer again.Close()
	if created {
		t.Errorf("created on reopen: got true, want false")
	}
	got, err := again.Decrypt(ctx, dk.Ciphertext, nil)
	if err != nil || !bytes.Equal(got, dk.Plaintext) {
		t.Errorf("Decrypt after reopen: got %x, %v, want %x", got, err, dk.Plaintext)
	}
	assertNoTempFiles(t, dir)
}

// TestOpenKeyFileConcurrentCreate opens one missing key file from many
// goroutines: exactly one creates it, and all end up with the same KEK.
func TestOpenKeyFileConcurrentCreate(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keyring.json")
	const n = 8
	rings := make([]*seal.Keyring, n)
	created := make([]bool, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			var err error
			rings[i], created[i], err = seal.OpenKeyFile(path)
			if err != nil {
				t.Errorf("OpenKeyFile: %v", err)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	creators := 0
	for _, c := range created {
		if c {
			creators++
		}
	}
	if creators != 1 {
		t.Errorf("openers that created the file: got %d, want 1", creators)
	}
	dk, err := rings[0].GenerateDataKey(ctx, "k", nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, kr := range rings {
		if got, err := kr.Decrypt(ctx, dk.Ciphertext, nil); err != nil || !bytes.Equal(got, dk.Plaintext) {
			t.Errorf("Decrypt with key ring %d: got %x, %v, want %x", i, got, err, dk.Plaintext)
		}
		closeKeyring(t, kr)
	}
	assertNoTempFiles(t, filepath.Dir(path))
}

func TestOpenKeyFileInsecureMode(t *testing.T) {
	for _, mode := range []os.FileMode{0o640, 0o604, 0o620, 0o644} {
		path := copyKeyFile(t, keyFileGolden)
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		kr, _, err := seal.OpenKeyFile(path)
		if err == nil {
			closeKeyring(t, kr)
			t.Errorf("OpenKeyFile with mode %04o: got no error, want a rejection", mode)
			continue
		}
		if want := "chmod 600 " + path; !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "key file "+path) {
			t.Errorf("OpenKeyFile with mode %04o: got %q, want the file named and %q", mode, err, want)
		}
	}
}

func TestOpenKeyFileCorrupt(t *testing.T) {
	tests := []struct {
		name, content, want string
	}{
		{"not json", "{", "not valid JSON"},
		{"empty", "", "not valid JSON"},
		{"other format", `{"format":"age","format_version":1}`, "format"},
		{"newer version", `{"format":"whispersync-keyring","format_version":3,"current_version":1,"keys":[]}`, "upgrade whispersync"},
		{"version 2 without derivation key", `{"format":"whispersync-keyring","format_version":2,"current_version":1,"keys":[{"version":1,"key":"` + b64(goldenKEK1) + `"}]}`, "derivation key"},
		{"short derivation key", `{"format":"whispersync-keyring","format_version":2,"current_version":1,"derive_key":"AAEC","keys":[{"version":1,"key":"` + b64(goldenKEK1) + `"}]}`, "derivation key"},
		{"no keys", `{"format":"whispersync-keyring","format_version":1,"current_version":1,"keys":[]}`, "current version 1"},
		{"short key", `{"format":"whispersync-keyring","format_version":1,"current_version":1,"keys":[{"version":1,"key":"AAEC"}]}`, "key material"},
		{"repeated version", `{"format":"whispersync-keyring","format_version":1,"current_version":1,"keys":[{"version":1,"key":"` + b64(goldenKEK1) + `"},{"version":1,"key":"` + b64(goldenKEK2) + `"}]}`, "repeated"},
		{"version zero", `{"format":"whispersync-keyring","format_version":1,"current_version":0,"keys":[{"version":0,"key":"` + b64(goldenKEK1) + `"}]}`, "zero"},
		{"absurd argon2 cost", `{"format":"whispersync-keyring","format_version":1,"current_version":1,"passphrase":{"kdf":"argon2id","time":1000000,"memory_kib":64,"threads":1,"salt":"` + b64(goldenKEK1) + `","check":"` + b64(goldenKEK1) + `"},"keys":[]}`, "passphrase parameters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "keyring.json")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			kr, _, err := seal.OpenKeyFile(path)
			if err == nil {
				closeKeyring(t, kr)
				t.Fatalf("OpenKeyFile: got no error, want one containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("OpenKeyFile: got %q, want the path and %q", err, tt.want)
			}
			if code := whispersync.ErrorCode(err); code != whispersync.EINVALID {
				t.Errorf("error code: got %q, want %q", code, whispersync.EINVALID)
			}
		})
	}
}

func TestOpenPassphrase(t *testing.T) {
	cheapArgon2id(t)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keyring.json")

	kr, created, err := seal.OpenPassphrase(path, []byte("open sesame"))
	if err != nil || !created {
		t.Fatalf("OpenPassphrase: got created %v, error %v, want a new key file", created, err)
	}
	assertMode(t, path, 0o600)
	if _, err := kr.Rotate(); err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	dk, err := kr.GenerateDataKey(ctx, "k", map[string]string{"owner": "u"})
	if err != nil {
		t.Fatalf("GenerateDataKey: %v", err)
	}
	closeKeyring(t, kr)

	again, created, err := seal.OpenPassphrase(path, []byte("open sesame"))
	if err != nil || created {
		t.Fatalf("reopen: got created %v, error %v, want the existing file", created, err)
	}
	defer again.Close()
	if v := again.Versions(); len(v) != 2 || !v[1].Current {
		t.Errorf("Versions after reopen: got %+v, want 2 versions with version 2 current", v)
	}
	got, err := again.Decrypt(ctx, dk.Ciphertext, map[string]string{"owner": "u"})
	if err != nil || !bytes.Equal(got, dk.Plaintext) {
		t.Errorf("Decrypt after reopen: got %x, %v, want %x", got, err, dk.Plaintext)
	}
}

func TestOpenPassphraseWrong(t *testing.T) {
	path := copyKeyFile(t, passphraseFileGolden)
	kr, _, err := seal.OpenPassphrase(path, []byte("correct horse battery stapler"))
	if err == nil {
		closeKeyring(t, kr)
		t.Fatal("OpenPassphrase with a wrong passphrase: got no error, want one")
	}
	if code := whispersync.ErrorCode(err); code != whispersync.EUNAUTHORIZED {
		t.Errorf("error code: got %q, want %q", code, whispersync.EUNAUTHORIZED)
	}
	if !strings.Contains(err.Error(), "wrong passphrase") || !strings.Contains(err.Error(), path) {
		t.Errorf("error: got %q, want it to name the file and say the passphrase is wrong", err)
	}
}

func TestOpenPassphraseNoKeyMaterial(t *testing.T) {
	data, err := os.ReadFile(passphraseFileGolden)
	if err != nil {
		t.Fatal(err)
	}
	for _, kek := range [][]byte{goldenKEK1, goldenKEK2} {
		if bytes.Contains(data, []byte(b64(kek))) || bytes.Contains(data, kek) {
			t.Errorf("passphrase key file: contains KEK %x, want only sealed keys", kek)
		}
	}
}

func TestKeyFileProtectionMismatch(t *testing.T) {
	cheapArgon2id(t)
	if kr, _, err := seal.OpenPassphrase(copyKeyFile(t, keyFileGolden), []byte("x")); err == nil || !strings.Contains(err.Error(), "not protected by a passphrase") {
		if kr != nil {
			closeKeyring(t, kr)
		}
		t.Errorf("OpenPassphrase of a plaintext key file: got %v, want a protection mismatch", err)
	}
	if kr, _, err := seal.OpenKeyFile(copyKeyFile(t, passphraseFileGolden)); err == nil || !strings.Contains(err.Error(), "protected by a passphrase") {
		if kr != nil {
			closeKeyring(t, kr)
		}
		t.Errorf("OpenKeyFile of a passphrase key file: got %v, want a protection mismatch", err)
	}
	if _, _, err := seal.OpenPassphrase(filepath.Join(t.TempDir(), "k.json"), nil); whispersync.ErrorCode(err) != whispersync.EINVALID {
		t.Errorf("OpenPassphrase with an empty passphrase: got %v, want EINVALID", err)
	}
}

func TestRotatePersists(t *testing.T) {
	ctx := context.Background()
	path := copyKeyFile(t, keyFileGolden)
	kr, _, err := seal.OpenKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	derived := kr.DeriveKey("audit hmac salt")
	version, err := kr.Rotate()
	if err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	if version != 3 {
		t.Errorf("Rotate: got version %d, want 3", version)
	}
	if got := kr.DeriveKey("audit hmac salt"); !bytes.Equal(got, derived) {
		t.Errorf("DeriveKey after Rotate: got %x, want %x unchanged", got, derived)
	}
	if other := kr.DeriveKey("secret store"); bytes.Equal(other, derived) {
		t.Errorf("DeriveKey for two purposes: both %x, want independent keys", other)
	}
	dk, err := kr.GenerateDataKey(ctx, "k", nil)
	if err != nil {
		t.Fatal(err)
	}
	closeKeyring(t, kr)
	assertMode(t, path, 0o600)

	again, _, err := seal.OpenKeyFile(path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer again.Close()
	if v := again.Versions(); len(v) != 3 || !v[2].Current || v[2].Version != 3 {
		t.Errorf("Versions after reopen: got %+v, want version 3 current", v)
	}
	if got, err := again.Decrypt(ctx, dk.Ciphertext, nil); err != nil || !bytes.Equal(got, dk.Plaintext) {
		t.Errorf("Decrypt of a key wrapped under version 3: got %x, %v, want %x", got, err, dk.Plaintext)
	}
	assertNoTempFiles(t, filepath.Dir(path))
}

func TestKeyringDecryptErrors(t *testing.T) {
	ctx := context.Background()
	kr := openGolden(t)
	w := loadVectors(t).WrappedKeys[0]

	unknownVersion := bytes.Clone(w.Wrapped)
	unknownVersion[8] = 9 // KEK version 9 does not exist
	for name, blob := range map[string][]byte{"unknown version": unknownVersion, "empty": nil} {
		if _, err := kr.Decrypt(ctx, blob, w.Context); err != seal.ErrDecrypt {
			t.Errorf("Decrypt with %s: got %v, want ErrDecrypt itself", name, err)
		}
	}
	if _, err := kr.GenerateDataKey(ctx, "", nil); whispersync.ErrorCode(err) != whispersync.EINVALID {
		t.Errorf("GenerateDataKey with an empty key id: got %v, want EINVALID", err)
	}
	if _, err := kr.GenerateDataKey(ctx, strings.Repeat("k", 256), nil); whispersync.ErrorCode(err) != whispersync.EINVALID {
		t.Errorf("GenerateDataKey with a 256-byte key id: got %v, want EINVALID", err)
	}
}

func TestKeyringClose(t *testing.T) {
	ctx := context.Background()
	kr := openGolden(t)
	w := loadVectors(t).WrappedKeys[0]
	if err := kr.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := kr.Decrypt(ctx, w.Wrapped, w.Context); err == nil || errors.Is(err, seal.ErrDecrypt) {
		t.Errorf("Decrypt after Close: got %v, want a closed key ring error", err)
	}
	if _, err := kr.GenerateDataKey(ctx, "k", nil); err == nil {
		t.Errorf("GenerateDataKey after Close: got no error, want one")
	}
	if _, err := kr.Rotate(); err == nil {
		t.Errorf("Rotate after Close: got no error, want one")
	}
}

// closeKeyring closes kr and fails the test when that fails.
func closeKeyring(t testing.TB, kr *seal.Keyring) {
	t.Helper()
	if err := kr.Close(); err != nil {
		t.Errorf("close key ring: %v", err)
	}
}

func assertMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Mode().Perm(); got != want {
		t.Errorf("mode of %s: got %04o, want %04o", path, got, want)
	}
}

func assertNoTempFiles(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("folder %s: contains temporary file %s, want none", dir, e.Name())
		}
	}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
