package backup

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"testing"
)

func TestStreamRoundTrip(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	for _, size := range []int{0, 1, chunkSize - 1, chunkSize, chunkSize + 1, 3*chunkSize + 17} {
		plain := bytes.Repeat([]byte{'x'}, size)
		var sealed bytes.Buffer
		sum, n, err := sealStream(&sealed, bytes.NewReader(plain), key, "label")
		want := sha256.Sum256(plain)
		if err != nil || n != int64(size) || !bytes.Equal(sum, want[:]) {
			t.Fatalf("seal %d bytes: got %d, %v", size, n, err)
		}
		var out bytes.Buffer
		if _, _, err := openStream(&out, bytes.NewReader(sealed.Bytes()), key, "label"); err != nil || !bytes.Equal(out.Bytes(), plain) {
			t.Errorf("open %d bytes: got %d bytes, %v", size, out.Len(), err)
		}
		if _, _, err := openStream(&out, bytes.NewReader(sealed.Bytes()), key, "other"); !errors.Is(err, ErrCorrupt) {
			t.Errorf("open %d bytes under another label: got %v, want ErrCorrupt", size, err)
		}
	}
}

func TestStreamTamper(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	var sealed bytes.Buffer
	if _, _, err := sealStream(&sealed, bytes.NewReader(bytes.Repeat([]byte{'y'}, 2*chunkSize+5)), key, "l"); err != nil {
		t.Fatal(err)
	}
	good := sealed.Bytes()
	chunk := 4 + chunkSize + 16
	tests := map[string][]byte{
		"flipped salt":    flip(good, 6),
		"flipped chunk":   flip(good, headerSize+10),
		"last chunk cut":  good[:headerSize+2*chunk],
		"trailing bytes":  append(bytes.Clone(good), 0),
		"truncated chunk": good[:len(good)-1],
	}
	for name, b := range tests {
		if _, _, err := openStream(&bytes.Buffer{}, bytes.NewReader(b), key, "l"); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: got %v, want ErrCorrupt", name, err)
		}
	}
}

func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 1
	return c
}
