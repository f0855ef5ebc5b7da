package seal_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/mock"
	"github.com/whispersync/whispersync/seal"
	"github.com/whispersync/whispersync/sqlite"
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

// BenchmarkRewrap measures the rewrap pass of a rotation: every stored data
// key of 500 owners (two classes each) is unwrapped and wrapped anew under
// the new KEK version and written back, in memory and in SQLite, where each
// write is a durable commit. It reports data keys rewrapped per second.
func BenchmarkRewrap(b *testing.B) {
	const owners = 500
	ctx := context.Background()
	stores := map[string]func(b *testing.B) whispersync.Tables{
		"memory": func(*testing.B) whispersync.Tables { return mock.NewTables() },
		"sqlite": func(b *testing.B) whispersync.Tables {
			db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = db.Close() })
			return db.Tables()
		},
	}
	for _, name := range []string{"memory", "sqlite"} {
		b.Run(name, func(b *testing.B) {
			kr, _, err := seal.OpenKeyFile(filepath.Join(b.TempDir(), "keyring.json"))
			if err != nil {
				b.Fatal(err)
			}
			defer kr.Close()
			s := seal.NewSealer(kr, stores[name](b), seal.SealerOptions{Logger: quiet})
			ids := make([]string, owners)
			for i := range ids {
				ids[i] = fmt.Sprintf("u_%04d", i)
				for _, class := range []string{whispersync.KeyClassData, whispersync.KeyClassPII} {
					if _, err := s.Seal(ctx, seal.Identity{Owner: ids[i], Kind: "memo", ID: "1"}, class, nil); err != nil {
						b.Fatal(err)
					}
				}
			}
			keys := 0
			var elapsed time.Duration
			for b.Loop() {
				b.StopTimer()
				if _, err := kr.Rotate(); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				start := time.Now()
				p, err := s.Rewrap(ctx, seal.RewrapOptions{Owners: ids})
				if err != nil {
					b.Fatal(err)
				}
				elapsed += time.Since(start)
				keys += p.Rewrapped
			}
			b.ReportMetric(float64(keys)/elapsed.Seconds(), "keys/s")
		})
	}
}
