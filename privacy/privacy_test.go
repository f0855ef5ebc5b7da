package privacy_test

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/whispersync/whispersync/privacy"
)

func TestReceiptSignature(t *testing.T) {
	key := privacy.SigningKey(bytes.Repeat([]byte{1}, 32))
	r := privacy.Receipt{ID: "er_1", Pseudonym: "erased-00", ErasedAt: time.Unix(0, 0).UTC(), Erased: map[string]int64{"items": 3}, KeysDestroyed: true}
	if err := r.Sign(key); err != nil {
		t.Fatal(err)
	}
	if err := r.Verify(nil); err != nil {
		t.Errorf("verify: %v", err)
	}
	other := privacy.SigningKey(bytes.Repeat([]byte{2}, 32))
	tampered := r
	tampered.Erased = map[string]int64{"items": 2}
	tests := map[string]error{
		"changed count": tampered.Verify(nil),
		"other key":     r.Verify(other.Public().(ed25519.PublicKey)),
	}
	for name, err := range tests {
		if !errors.Is(err, privacy.ErrBadSignature) {
			t.Errorf("%s: got %v, want ErrBadSignature", name, err)
		}
	}
}

func TestLedger(t *testing.T) {
	l := privacy.OpenLedger(filepath.Join(t.TempDir(), "config", "erasures.jsonl"))
	if e, err := l.Entries(); err != nil || len(e) != 0 {
		t.Fatalf("empty ledger: got %v, %v", e, err)
	}
	for _, id := range []string{"u_1", "u_2"} {
		if err := l.Append(privacy.Entry{UserID: id, Pseudonym: privacy.Pseudonym([]byte("k"), id)}); err != nil {
			t.Fatal(err)
		}
	}
	e, err := l.Entries()
	if err != nil || len(e) != 2 || e[1].UserID != "u_2" {
		t.Errorf("entries: got %+v, %v; want u_1 and u_2", e, err)
	}
	if privacy.Pseudonym([]byte("k"), "u_1") == privacy.Pseudonym([]byte("k"), "u_2") {
		t.Errorf("pseudonyms of two users are equal")
	}
}
