package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/whispersync/whispersync/app"
)

// writeBenchCorpus writes n distinct transcripts, built from the
// development corpus with a numbered sentence appended, into a new folder.
func writeBenchCorpus(b *testing.B, n int) (string, [][]byte) {
	b.Helper()
	paths, err := filepath.Glob(filepath.Join(corpusDir, "*.txt"))
	if err != nil || len(paths) == 0 {
		b.Fatalf("read corpus: %v", err)
	}
	var base [][]byte
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		base = append(base, data)
	}
	dir := b.TempDir()
	bodies := make([][]byte, n)
	for i := range n {
		bodies[i] = fmt.Appendf(append([]byte(nil), base[i%len(base)]...), "\nNote number %d.", i)
		sub := filepath.Join(dir, fmt.Sprintf("%03d", i/1000))
		if err := os.MkdirAll(sub, 0o700); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("memo-%05d.txt", i)), bodies[i], 0o600); err != nil {
			b.Fatal(err)
		}
	}
	return dir, bodies
}

// BenchmarkProcess measures `whispersync process` end to end, every control
// on: intake, sealing, durable object writes, the SQLite queue, the
// classifier, the agents and the audit log. Run it with -benchtime=10000x
// for a 10,000-memo corpus; b.N is the number of memos.
func BenchmarkProcess(b *testing.B) {
	dir, _ := writeBenchCorpus(b, b.N)
	files, err := collectFiles([]string{dir})
	if err != nil {
		b.Fatal(err)
	}
	base := b.TempDir()
	ctx := context.Background()
	a, err := app.Open(ctx, app.Config{DataDir: filepath.Join(base, "data"), KeyFile: filepath.Join(base, "keyring.json")})
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	user, _, err := a.User(ctx, "bench", true)
	if err != nil {
		b.Fatal(err)
	}
	m := &Main{Getenv: func(string) string { return "" }}

	b.ResetTimer()
	start := time.Now()
	results, err := processFiles(ctx, m, a, user.ID, files, benchWorkers(), newProgress(nil, len(files), true))
	elapsed := time.Since(start)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	for _, r := range results {
		if r.Status != "processed" && r.Status != "review" {
			b.Fatalf("%s: status %s", r.Source, r.Status)
		}
	}
	b.ReportMetric(float64(len(files))/elapsed.Seconds(), "memos/s")
}

// BenchmarkFloorSQLite is the floor BenchmarkProcess is compared with: the
// rows the pipeline stores for a memo (memo, content hash, outbox, queue
// message, agent output, search index row, memo update) inserted into SQLite
// with the same durability settings (WAL, synchronous=FULL), one
// transaction per memo from 16 goroutines, with no encryption, files,
// classification or audit. b.N is the number of memos.
func BenchmarkFloorSQLite(b *testing.B) {
	// The same runtime setting as the app's, which BenchmarkProcess gets
	// from app.Open.
	app.TuneProcs()
	_, bodies := writeBenchCorpus(b, b.N)
	db, err := sql.Open("sqlite", "file:"+filepath.Join(b.TempDir(), "floor.db")+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE items (tbl TEXT, owner TEXT, key TEXT, attrs TEXT, data BLOB, revision INTEGER, PRIMARY KEY (tbl, owner, key))`); err != nil {
		b.Fatal(err)
	}
	tables := []string{"memos", "memo_hashes", "queue", "journal", "memory_index", "memos_update"}

	b.ResetTimer()
	start := time.Now()
	var (
		next atomic.Int64
		wg   sync.WaitGroup
		fail atomic.Value
	)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(bodies) {
					return
				}
				if err := insertFloorRows(db, tables, i, bodies[i]); err != nil {
					fail.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if err, _ := fail.Load().(error); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(len(bodies))/elapsed.Seconds(), "memos/s")
}

func insertFloorRows(db *sql.DB, tables []string, i int, body []byte) error {
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for j, table := range tables {
		data := make([]byte, len(body)+28)
		rand.Read(data)
		if _, err := tx.Exec(`INSERT INTO items VALUES (?, ?, ?, '{}', ?, 1)`, table, "u_bench", fmt.Sprintf("m%08d#%d", i, j), data); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func benchWorkers() int {
	n, err := strconv.Atoi(os.Getenv("BENCH_WORKERS"))
	if err != nil {
		return 64
	}
	return n
}
