package main

import (
	"context"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/whispersync/whispersync/app"
	"github.com/whispersync/whispersync/pipeline"
)

func BenchmarkPhases(b *testing.B) {
	dir, _ := writeBenchCorpus(b, b.N)
	files, _ := collectFiles([]string{dir})
	base := b.TempDir()
	ctx := context.Background()
	a, err := app.Open(ctx, app.Config{DataDir: filepath.Join(base, "data"), KeyFile: filepath.Join(base, "keyring.json")})
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	user, _, _ := a.User(ctx, "bench", true)
	actor := pipeline.Actor{Principal: "x"}
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range benchWorkers() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(files) {
					return
				}
				if _, _, err := submitFile(ctx, a, actor, user.ID, files[i]); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	sub := time.Since(start)
	start = time.Now()
	if _, err := a.Pipeline.Drain(ctx, pipeline.WorkerOptions{Idle: 10 * time.Millisecond}); err != nil {
		b.Fatal(err)
	}
	dr := time.Since(start)
	b.Logf("submit %.0f/s, drain %.0f/s", float64(len(files))/sub.Seconds(), float64(len(files))/dr.Seconds())
}
