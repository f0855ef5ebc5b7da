package filestore_test

import (
	"fmt"
	"sync"
	"testing"
)

// benchBodySize is the size of a sealed transcript of a short memo.
const benchBodySize = 2 << 10

// BenchmarkPutObject puts to a new key each time, as intake does.
func BenchmarkPutObject(b *testing.B) {
	s := open(b, b.TempDir())
	body := make([]byte, benchBodySize)
	b.SetBytes(benchBodySize)
	i := 0
	for b.Loop() {
		if _, err := s.PutObject(b.Context(), fmt.Sprintf("bench/k%d", i), body, nil); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkPutObjectExistingKey puts new versions of one key, so no folder
// is created.
func BenchmarkPutObjectExistingKey(b *testing.B) {
	s := open(b, b.TempDir())
	body := make([]byte, benchBodySize)
	b.SetBytes(benchBodySize)
	for b.Loop() {
		if _, err := s.PutObject(b.Context(), "bench/k", body, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPutObjectParallel8 puts from 8 goroutines, as pipeline workers
// do, each to its own keys.
func BenchmarkPutObjectParallel8(b *testing.B) {
	putParallel(b, 8, func(w, i int) string { return fmt.Sprintf("bench/w%d/k%d", w, i) })
}

// BenchmarkPutObjectSharedFolder puts new keys below one owner's folder from
// many goroutines, as intake does for one busy user, so every put adds an
// entry to the same folder.
func BenchmarkPutObjectSharedFolder(b *testing.B) {
	for _, workers := range []int{8, 32} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			putParallel(b, workers, func(w, i int) string { return fmt.Sprintf("transcripts/owner/w%d-k%d", w, i) })
		})
	}
}

// putParallel runs b.N puts of new keys from the given number of
// goroutines. The function key names the i-th key of goroutine w.
func putParallel(b *testing.B, workers int, key func(w, i int) string) {
	s := open(b, b.TempDir())
	body := make([]byte, benchBodySize)
	b.SetBytes(benchBodySize)
	b.ResetTimer()

	var wg sync.WaitGroup
	for w := range workers {
		n := b.N / workers
		if w < b.N%workers {
			n++
		}
		wg.Go(func() {
			for i := range n {
				if _, err := s.PutObject(b.Context(), key(w, i), body, nil); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func BenchmarkGetObject(b *testing.B) {
	s := open(b, b.TempDir())
	body := make([]byte, benchBodySize)
	for range 4 {
		if _, err := s.PutObject(b.Context(), "bench/k", body, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(benchBodySize)
	for b.Loop() {
		if _, err := s.GetObject(b.Context(), "bench/k", ""); err != nil {
			b.Fatal(err)
		}
	}
}
