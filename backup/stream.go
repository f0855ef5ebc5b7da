package backup

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Sealed stream format, version 1:
//
//	magic    4 bytes  "WSBK"
//	version  1 byte   1
//	salt     16 bytes random
//	chunks   each a 4-byte big-endian length, then that many bytes of
//	         AES-256-GCM ciphertext of at most chunkSize plaintext bytes
//
// The chunk key is HKDF-SHA256 of the backup key with the salt and the
// label (what the stream holds, such as "database" or "object:SHA"). The
// nonce of chunk i is i as an 8-byte big-endian integer, three zero bytes
// and a last byte that is 1 for the last chunk and 0 otherwise. So a
// reordered, dropped or missing final chunk fails to authenticate. The additional
// data of every chunk is the header (magic, version, salt).
const (
	streamMagic   = "WSBK"
	streamVersion = 1
	saltSize      = 16
	chunkSize     = 64 << 10
	headerSize    = len(streamMagic) + 1 + saltSize
)

// ErrCorrupt is wrapped by every failure to authenticate a sealed stream,
// a manifest or a checksum: the backup was damaged or altered, or sealed
// under another key.
var ErrCorrupt = errors.New("backup: corrupt or sealed under another key")

func chunkAEAD(key []byte, salt []byte, label string) (cipher.AEAD, error) {
	k, err := hkdf.Key(sha256.New, key, salt, "whispersync backup stream v1\x00"+label, 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func chunkNonce(i uint64, last bool) []byte {
	nonce := make([]byte, 12)
	binary.BigEndian.PutUint64(nonce, i)
	if last {
		nonce[11] = 1
	}
	return nonce
}

// sealStream reads src to its end and writes it to dst as a sealed stream
// under key and label. It returns the SHA-256 and size of the plaintext.
func sealStream(dst io.Writer, src io.Reader, key []byte, label string) (sum []byte, size int64, err error) {
	header := make([]byte, 0, headerSize)
	header = append(header, streamMagic...)
	header = append(header, streamVersion)
	salt := make([]byte, saltSize)
	if _, err := rand.Read(salt); err != nil {
		return nil, 0, err
	}
	header = append(header, salt...)
	aead, err := chunkAEAD(key, salt, label)
	if err != nil {
		return nil, 0, err
	}
	if _, err := dst.Write(header); err != nil {
		return nil, 0, err
	}

	h := sha256.New()
	// Read one chunk ahead, so the last chunk is known when it is sealed.
	cur, next := make([]byte, chunkSize), make([]byte, chunkSize)
	n, err := io.ReadFull(src, cur)
	out := make([]byte, 4, 4+chunkSize+aead.Overhead())
	for i := uint64(0); ; i++ {
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
			return nil, 0, err
		}
		last := err != nil
		var m int
		var nextErr error
		if !last {
			m, nextErr = io.ReadFull(src, next)
			if errors.Is(nextErr, io.EOF) {
				last = true
			}
		}
		h.Write(cur[:n])
		size += int64(n)
		out = aead.Seal(out[:4], chunkNonce(i, last), cur[:n], header)
		// #nosec G115 -- at most chunkSize plus the AEAD overhead, since n <= len(cur)
		binary.BigEndian.PutUint32(out, uint32(len(out)-4))
		if _, err := dst.Write(out); err != nil {
			return nil, 0, err
		}
		if last {
			clear(cur)
			clear(next)
			return h.Sum(nil), size, nil
		}
		cur, next, n, err = next, cur, m, nextErr
	}
}

// openStream reads a sealed stream from src and writes its plaintext to
// dst, chunk by chunk. On an error dst may have received part of the
// plaintext, which the caller discards. It returns the SHA-256 and size of
// the plaintext.
func openStream(dst io.Writer, src io.Reader, key []byte, label string) (sum []byte, size int64, err error) {
	header := make([]byte, headerSize)
	if _, err := io.ReadFull(src, header); err != nil {
		return nil, 0, fmt.Errorf("read header: %w", ErrCorrupt)
	}
	if !bytes.HasPrefix(header, []byte(streamMagic)) || header[len(streamMagic)] != streamVersion {
		return nil, 0, fmt.Errorf("unknown header: %w", ErrCorrupt)
	}
	aead, err := chunkAEAD(key, header[len(streamMagic)+1:], label)
	if err != nil {
		return nil, 0, err
	}

	h := sha256.New()
	var length [4]byte
	buf := make([]byte, chunkSize+aead.Overhead())
	// Opening in place would be cheaper, but a failed Open clears its
	// output, and a chunk is tried twice: as a middle and as the last one.
	out := make([]byte, 0, chunkSize)
	for i := uint64(0); ; i++ {
		if _, err := io.ReadFull(src, length[:]); err != nil {
			return nil, 0, fmt.Errorf("chunk %d: %w", i, ErrCorrupt)
		}
		n := binary.BigEndian.Uint32(length[:])
		if int(n) > len(buf) || int(n) < aead.Overhead() {
			return nil, 0, fmt.Errorf("chunk %d length: %w", i, ErrCorrupt)
		}
		if _, err := io.ReadFull(src, buf[:n]); err != nil {
			return nil, 0, fmt.Errorf("chunk %d: %w", i, ErrCorrupt)
		}
		// A chunk opens either as a middle chunk or as the last one.
		last := false
		plain, err := aead.Open(out[:0], chunkNonce(i, false), buf[:n], header)
		if err != nil {
			last = true
			if plain, err = aead.Open(out[:0], chunkNonce(i, true), buf[:n], header); err != nil {
				return nil, 0, fmt.Errorf("chunk %d: %w", i, ErrCorrupt)
			}
		}
		h.Write(plain)
		size += int64(len(plain))
		_, err = dst.Write(plain)
		clear(plain)
		if err != nil {
			return nil, 0, err
		}
		if last {
			if _, err := io.ReadFull(src, length[:1]); !errors.Is(err, io.EOF) {
				return nil, 0, fmt.Errorf("data after the last chunk: %w", ErrCorrupt)
			}
			return h.Sum(nil), size, nil
		}
	}
}
