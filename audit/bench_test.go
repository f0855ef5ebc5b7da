package audit_test

import (
	"context"
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

// BenchmarkAppendBatch measures one goroutine appending 100 events per call.
func BenchmarkAppendBatch(b *testing.B) {
	l := openLog(b, b.TempDir(), testOptions())
	batch := make([]whispersync.AuditEvent, 100)
	for i := range batch {
		batch[i] = benchmarkEvent()
	}
	for b.Loop() {
		if err := l.Append(context.Background(), batch...); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*float64(len(batch))/b.Elapsed().Seconds(), "events/s")
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
