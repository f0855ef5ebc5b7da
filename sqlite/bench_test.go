package sqlite

import (
	"fmt"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/whispersync/whispersync"
)

// concurrentWriters is the number of goroutines of the concurrent
// benchmarks, whatever GOMAXPROCS is.
const concurrentWriters = 32

func openBench(b *testing.B) *DB {
	b.Helper()
	db, err := Open(b.Context(), filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatalf("open: %v", err)
	}
	b.Cleanup(func() {
		if err := db.Close(); err != nil {
			b.Errorf("close: %v", err)
		}
	})
	return db
}

// runConcurrent runs op from concurrentWriters goroutines, b.N times in all.
func runConcurrent(b *testing.B, op func(i int64) error) {
	b.Helper()
	b.SetParallelism(max(1, concurrentWriters/runtime.GOMAXPROCS(0)))
	var next atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := op(next.Add(1)); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// reportCommits reports how many callers shared each commit.
func reportCommits(b *testing.B, db *DB, commits0, writes0 int64) {
	commits := db.stats.commits.Load() - commits0
	writes := db.stats.writes.Load() - writes0
	if commits > 0 {
		b.ReportMetric(float64(writes)/float64(commits), "callers/commit")
	}
}

func BenchmarkPutItem(b *testing.B) {
	data := make([]byte, 512) // a small sealed payload
	attrs := map[string]string{"status": "queued", "bucket": "work"}
	b.Run("serial", func(b *testing.B) {
		db := openBench(b)
		tables := db.Tables()
		c0, w0 := db.stats.commits.Load(), db.stats.writes.Load()
		i := 0
		for b.Loop() {
			i++
			item := whispersync.Item{Owner: "u", Key: fmt.Sprintf("memo#%d", i), Attrs: attrs, Data: data}
			if err := tables.PutItem(b.Context(), "memos", item, whispersync.Always); err != nil {
				b.Fatal(err)
			}
		}
		reportCommits(b, db, c0, w0)
	})
	b.Run(fmt.Sprintf("concurrent%d", concurrentWriters), func(b *testing.B) {
		db := openBench(b)
		tables := db.Tables()
		c0, w0 := db.stats.commits.Load(), db.stats.writes.Load()
		b.ResetTimer()
		runConcurrent(b, func(i int64) error {
			item := whispersync.Item{Owner: "u", Key: fmt.Sprintf("memo#%d", i), Attrs: attrs, Data: data}
			return tables.PutItem(b.Context(), "memos", item, whispersync.Always)
		})
		reportCommits(b, db, c0, w0)
	})
}

func BenchmarkTransactWrite10(b *testing.B) {
	data := make([]byte, 512)
	writes := func(i int64) []whispersync.Write {
		ws := make([]whispersync.Write, 10)
		for j := range ws {
			ws[j] = whispersync.Write{Table: "journal", Item: whispersync.Item{Owner: "u", Key: fmt.Sprintf("entry#%d-%d", i, j), Data: data}}
		}
		return ws
	}
	b.Run("serial", func(b *testing.B) {
		db := openBench(b)
		tables := db.Tables()
		var i int64
		for b.Loop() {
			i++
			if err := tables.TransactWrite(b.Context(), writes(i)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run(fmt.Sprintf("concurrent%d", concurrentWriters), func(b *testing.B) {
		db := openBench(b)
		tables := db.Tables()
		c0, w0 := db.stats.commits.Load(), db.stats.writes.Load()
		b.ResetTimer()
		runConcurrent(b, func(i int64) error {
			return tables.TransactWrite(b.Context(), writes(i))
		})
		reportCommits(b, db, c0, w0)
	})
}

// BenchmarkQueueSendReceiveDelete measures one message's round trip:
// three durable writes.
func BenchmarkQueueSendReceiveDelete(b *testing.B) {
	body := make([]byte, 256) // a sealed memo reference
	roundTrip := func(q *Queue) error {
		if _, err := q.SendMessage(b.Context(), body); err != nil {
			return err
		}
		msgs, err := q.ReceiveMessage(b.Context(), 1, time.Minute)
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if err := q.DeleteMessage(b.Context(), m.ReceiptHandle); err != nil {
				return err
			}
		}
		return nil
	}
	b.Run("serial", func(b *testing.B) {
		q := openBench(b).Queue("memos", QueueOptions{})
		for b.Loop() {
			if err := roundTrip(q); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run(fmt.Sprintf("concurrent%d", concurrentWriters), func(b *testing.B) {
		db := openBench(b)
		q := db.Queue("memos", QueueOptions{})
		c0, w0 := db.stats.commits.Load(), db.stats.writes.Load()
		b.ResetTimer()
		runConcurrent(b, func(int64) error { return roundTrip(q) })
		reportCommits(b, db, c0, w0)
	})
}
