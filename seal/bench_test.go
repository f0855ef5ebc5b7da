package seal_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/mock"
	"github.com/whispersync/whispersync/seal"
)

var benchSizes = []int{2 << 10, 1 << 20}

// BenchmarkSeal measures Sealer.Seal with the data key cached, so the cost
// above BenchmarkAESGCM is the envelope: header, identity, nonce and cache.
func BenchmarkSeal(b *testing.B) {
	ctx := context.Background()
	s := seal.NewSealer(fixedKeys{make([]byte, 32)}, mock.NewTables(), seal.SealerOptions{Logger: quiet})
	for _, size := range benchSizes {
		b.Run(sizeName(size), func(b *testing.B) {
			plaintext := make([]byte, size)
			if _, err := s.Seal(ctx, memo, whispersync.KeyClassData, plaintext); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(size))
			for b.Loop() {
				if _, err := s.Seal(ctx, memo, whispersync.KeyClassData, plaintext); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkOpen measures Sealer.Open with the data key cached.
func BenchmarkOpen(b *testing.B) {
	ctx := context.Background()
	s := seal.NewSealer(fixedKeys{make([]byte, 32)}, mock.NewTables(), seal.SealerOptions{Logger: quiet})
	for _, size := range benchSizes {
		b.Run(sizeName(size), func(b *testing.B) {
			sealed, err := s.Seal(ctx, memo, whispersync.KeyClassData, make([]byte, size))
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(size))
			for b.Loop() {
				if _, err := s.Open(ctx, memo, sealed); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAESGCM is the baseline: AES-256-GCM with a random nonce and a
// fresh output buffer, as Seal does it.
func BenchmarkAESGCM(b *testing.B) {
	aead := rawGCM(b, make([]byte, 32))
	for _, size := range benchSizes {
		b.Run(sizeName(size), func(b *testing.B) {
			plaintext := make([]byte, size)
			nonce := make([]byte, 12)
			b.SetBytes(int64(size))
			for b.Loop() {
				rand.Read(nonce)
				aead.Seal(nil, nonce, plaintext, nil)
			}
		})
	}
}

// BenchmarkSealOverhead alternates Seal and raw AES-256-GCM in one loop and
// reports the ratio of their times, which stays meaningful on a machine
// whose load changes during the run.
func BenchmarkSealOverhead(b *testing.B) {
	ctx := context.Background()
	s := seal.NewSealer(fixedKeys{make([]byte, 32)}, mock.NewTables(), seal.SealerOptions{Logger: quiet})
	aead := rawGCM(b, make([]byte, 32))
	for _, size := range benchSizes {
		b.Run(sizeName(size), func(b *testing.B) {
			plaintext := make([]byte, size)
			nonce := make([]byte, 12)
			if _, err := s.Seal(ctx, memo, whispersync.KeyClassData, plaintext); err != nil {
				b.Fatal(err)
			}
			var sealTime, rawTime time.Duration
			for b.Loop() {
				start := time.Now()
				if _, err := s.Seal(ctx, memo, whispersync.KeyClassData, plaintext); err != nil {
					b.Fatal(err)
				}
				middle := time.Now()
				rand.Read(nonce)
				aead.Seal(nil, nonce, plaintext, nil)
				sealTime += middle.Sub(start)
				rawTime += time.Since(middle)
			}
			b.ReportMetric(float64(sealTime)/float64(rawTime), "seal/raw")
		})
	}
}

func sizeName(size int) string {
	if size >= 1<<20 {
		return fmt.Sprintf("%dMiB", size>>20)
	}
	return fmt.Sprintf("%dKiB", size>>10)
}
