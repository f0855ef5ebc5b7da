package storagetest

import (
	"bytes"
	"context"
	"sync"
	"testing"

	"github.com/whispersync/whispersync"
)

// rotator is the optional ability of a key service to add a new current
// key-encryption key version.
type rotator interface {
	Rotate() (int, error)
}

// KeyService runs the contract tests of whispersync.KeyService against the
// services that open returns, one fresh service per subtest. A service that
// also has a Rotate() (int, error) method is tested for decryption across a
// rotation.
func KeyService(t *testing.T, open func(t *testing.T) whispersync.KeyService) {
	const keyID = "alias/storagetest"
	encryptionContext := map[string]string{"owner": "user-1", "class": whispersync.KeyClassData}

	t.Run("RoundTrip", func(t *testing.T) {
		ctx := context.Background()
		svc := open(t)
		dk, err := svc.GenerateDataKey(ctx, keyID, encryptionContext)
		if err != nil {
			t.Fatalf("GenerateDataKey: %v", err)
		}
		if len(dk.Plaintext) != 32 {
			t.Errorf("plaintext length: got %d, want 32", len(dk.Plaintext))
		}
		if dk.KeyID == "" {
			t.Errorf("key id: got empty, want the key-encryption key's id")
		}
		if len(dk.Ciphertext) == 0 || bytes.Contains(dk.Ciphertext, dk.Plaintext) {
			t.Errorf("ciphertext: got %x, want a wrapped key that does not contain the plaintext", dk.Ciphertext)
		}

		got, err := svc.Decrypt(ctx, dk.Ciphertext, map[string]string{"class": whispersync.KeyClassData, "owner": "user-1"})
		if err != nil {
			t.Fatalf("Decrypt: %v", err)
		}
		if !bytes.Equal(got, dk.Plaintext) {
			t.Errorf("Decrypt: got %x, want %x", got, dk.Plaintext)
		}
	})

	t.Run("EmptyContext", func(t *testing.T) {
		ctx := context.Background()
		svc := open(t)
		dk, err := svc.GenerateDataKey(ctx, keyID, nil)
		if err != nil {
			t.Fatalf("GenerateDataKey: %v", err)
		}
		got, err := svc.Decrypt(ctx, dk.Ciphertext, map[string]string{})
		if err != nil {
			t.Fatalf("Decrypt with an empty context: %v", err)
		}
		if !bytes.Equal(got, dk.Plaintext) {
			t.Errorf("Decrypt: got %x, want %x", got, dk.Plaintext)
		}
	})

	t.Run("ContextMismatch", func(t *testing.T) {
		ctx := context.Background()
		svc := open(t)
		dk, err := svc.GenerateDataKey(ctx, keyID, map[string]string{"owner": "ab", "class": "c"})
		if err != nil {
			t.Fatalf("GenerateDataKey: %v", err)
		}
		tests := []struct {
			name string
			ctx  map[string]string
		}{
			{"changed value", map[string]string{"owner": "ab", "class": "d"}},
			{"moved byte between values", map[string]string{"owner": "a", "class": "bc"}},
			{"extra pair", map[string]string{"owner": "ab", "class": "c", "kind": "memo"}},
			{"missing pair", map[string]string{"owner": "ab"}},
			{"renamed key", map[string]string{"owner": "ab", "klass": "c"}},
			{"nil", nil},
		}
		var messages []string
		for _, tt := range tests {
			got, err := svc.Decrypt(ctx, dk.Ciphertext, tt.ctx)
			if err == nil {
				t.Errorf("Decrypt with %s: got key %x, want an error", tt.name, got)
				continue
			}
			messages = append(messages, err.Error())
		}
		requireOneMessage(t, messages)
	})

	t.Run("Tampered", func(t *testing.T) {
		ctx := context.Background()
		svc := open(t)
		dk, err := svc.GenerateDataKey(ctx, keyID, encryptionContext)
		if err != nil {
			t.Fatalf("GenerateDataKey: %v", err)
		}
		var messages []string
		for i := range dk.Ciphertext {
			for _, mask := range []byte{0x01, 0x80} {
				tampered := bytes.Clone(dk.Ciphertext)
				tampered[i] ^= mask
				if got, err := svc.Decrypt(ctx, tampered, encryptionContext); err == nil {
					t.Errorf("Decrypt with byte %d xor %#x: got key %x, want an error", i, mask, got)
				} else {
					messages = append(messages, err.Error())
				}
			}
		}
		for _, n := range []int{0, 1, len(dk.Ciphertext) / 2, len(dk.Ciphertext) - 1} {
			if got, err := svc.Decrypt(ctx, dk.Ciphertext[:n], encryptionContext); err == nil {
				t.Errorf("Decrypt of the first %d bytes: got key %x, want an error", n, got)
			}
		}
		if got, err := svc.Decrypt(ctx, append(bytes.Clone(dk.Ciphertext), 0), encryptionContext); err == nil {
			t.Errorf("Decrypt with a trailing byte: got key %x, want an error", got)
		}
		requireOneMessage(t, messages)
	})

	t.Run("DistinctKeys", func(t *testing.T) {
		ctx := context.Background()
		svc := open(t)
		a, err := svc.GenerateDataKey(ctx, keyID, encryptionContext)
		if err != nil {
			t.Fatalf("GenerateDataKey: %v", err)
		}
		b, err := svc.GenerateDataKey(ctx, keyID, encryptionContext)
		if err != nil {
			t.Fatalf("GenerateDataKey: %v", err)
		}
		if bytes.Equal(a.Plaintext, b.Plaintext) {
			t.Errorf("two data keys: both are %x, want distinct keys", a.Plaintext)
		}
		if bytes.Equal(a.Ciphertext, b.Ciphertext) {
			t.Errorf("two wrapped keys: both are %x, want distinct ciphertexts", a.Ciphertext)
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		ctx := context.Background()
		svc := open(t)
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 10 {
					dk, err := svc.GenerateDataKey(ctx, keyID, encryptionContext)
					if err != nil {
						t.Errorf("GenerateDataKey: %v", err)
						return
					}
					got, err := svc.Decrypt(ctx, dk.Ciphertext, encryptionContext)
					if err != nil || !bytes.Equal(got, dk.Plaintext) {
						t.Errorf("Decrypt: got %x, %v, want %x", got, err, dk.Plaintext)
						return
					}
				}
			})
		}
		wg.Wait()
	})

	t.Run("Rotation", func(t *testing.T) {
		ctx := context.Background()
		svc := open(t)
		r, ok := svc.(rotator)
		if !ok {
			t.Skip("the key service has no Rotate method")
		}
		before, err := svc.GenerateDataKey(ctx, keyID, encryptionContext)
		if err != nil {
			t.Fatalf("GenerateDataKey: %v", err)
		}
		v1, err := r.Rotate()
		if err != nil {
			t.Fatalf("Rotate: %v", err)
		}
		after, err := svc.GenerateDataKey(ctx, keyID, encryptionContext)
		if err != nil {
			t.Fatalf("GenerateDataKey after Rotate: %v", err)
		}
		v2, err := r.Rotate()
		if err != nil {
			t.Fatalf("second Rotate: %v", err)
		}
		if v2 <= v1 {
			t.Errorf("versions of two rotations: got %d then %d, want increasing", v1, v2)
		}

		for name, dk := range map[string]whispersync.DataKey{"before rotation": before, "after rotation": after} {
			got, err := svc.Decrypt(ctx, dk.Ciphertext, encryptionContext)
			if err != nil {
				t.Errorf("Decrypt of the key wrapped %s: %v", name, err)
				continue
			}
			if !bytes.Equal(got, dk.Plaintext) {
				t.Errorf("Decrypt of the key wrapped %s: got %x, want %x", name, got, dk.Plaintext)
			}
		}
	})
}

// requireOneMessage fails the test unless every failure had the same
// message, because a decryption failure must not tell which check failed.
func requireOneMessage(t *testing.T, messages []string) {
	t.Helper()
	for _, m := range messages {
		if m != messages[0] {
			t.Errorf("decryption error messages: got %q and %q, want one opaque message", messages[0], m)
			return
		}
	}
}
