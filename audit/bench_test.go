package audit_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/audit"
)

func benchmarkEvent() whispersync.AuditEvent {
	ev := event(7)
	ev.Hashed = map[string]string{"query": "a search term"}
	return ev
}

// BenchmarkAppend measures appends from one goroutine, each waiting for its
// own fsync.
func BenchmarkAppend(b *testing.B) {
	l := openLog(b, b.TempDir(), testOptions())
	ev := benchmarkEvent()
	for b.Loop() {
		if err := l.Append(context.Background(), ev); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkAppendConcurrent measures 32 goroutines appending one event at a
// time, which the writer batches into shared fsyncs.
func BenchmarkAppendConcurrent(b *testing.B) {
	l := openLog(b, b.TempDir(), testOptions())
	ev := benchmarkEvent()
	b.SetParallelism(32) // 32 goroutines per GOMAXPROCS, at least 32
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := l.Append(context.Background(), ev); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkAppendBatch measures one goroutine appending 100 or 1,000
// events per call, each call waiting for its fsync, to a log that signs
// digests.
func BenchmarkAppendBatch(b *testing.B) {
	for _, size := range []int{100, 1000} {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			opts := testOptions()
			opts.DigestKey = digestKey
			l := openLog(b, b.TempDir(), opts)
			batch := make([]whispersync.AuditEvent, size)
			for i := range batch {
				batch[i] = benchmarkEvent()
			}
			for b.Loop() {
				if err := l.Append(context.Background(), batch...); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)*float64(len(batch))/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkVerify measures Verify over a log of 100,000 entries.
func BenchmarkVerify(b *testing.B) {
	const entries = 100_000
	dir := b.TempDir()
	l := openLog(b, dir, testOptions())
	batch := make([]whispersync.AuditEvent, 1000)
	for i := range batch {
		batch[i] = benchmarkEvent()
	}
	for range entries / len(batch) {
		if err := l.Append(context.Background(), batch...); err != nil {
			b.Fatal(err)
		}
	}
	closeLog(b, l)

	b.ResetTimer()
	for b.Loop() {
		report, err := audit.Verify(dir)
		if err != nil {
			b.Fatal(err)
		}
		if report.Entries != entries {
			b.Fatalf("entries: got %d, want %d", report.Entries, entries)
		}
	}
	b.ReportMetric(float64(b.N)*entries/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkVerifySigned measures VerifySigned over a log of 100,000
// entries in segments of about 4 MB, with a digest every 10,000 entries.
func BenchmarkVerifySigned(b *testing.B) {
	const entries = 100_000
	dir := b.TempDir()
	opts := testOptions()
	opts.DigestKey = digestKey
	opts.SegmentMaxBytes = 4 << 20
	l := openLog(b, dir, opts)
	batch := make([]whispersync.AuditEvent, 1000)
	for i := range batch {
		batch[i] = benchmarkEvent()
	}
	for i := range entries / len(batch) {
		if err := l.Append(context.Background(), batch...); err != nil {
			b.Fatal(err)
		}
		if i%10 == 9 {
			if err := l.SignDigest(context.Background()); err != nil {
				b.Fatal(err)
			}
		}
	}
	closeLog(b, l)

	b.ResetTimer()
	for b.Loop() {
		report, err := audit.VerifySigned(dir, audit.VerifyOptions{Key: audit.PublicKey(digestKey)})
		if err != nil {
			b.Fatal(err)
		}
		if report.Entries != entries {
			b.Fatalf("entries: got %d, want %d", report.Entries, entries)
		}
	}
	b.ReportMetric(float64(b.N)*entries/b.Elapsed().Seconds(), "events/s")
}
