package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/app"
	"github.com/whispersync/whispersync/pipeline"
)

const processExamples = `  whispersync process examples/memos
  whispersync process --user alice --json ~/VoiceMemos/work note.txt
  whispersync --data-dir /srv/whispersync process --workers 32 archive/
`

// maxFileBytes bounds what process reads of one file. A transcript is at
// most 100,000 characters of at most 4 bytes each, plus a byte-order mark.
const maxFileBytes = 100_000*4 + 3

// processResult is one line of process --json.
type processResult struct {
	Source      string               `json:"source"`
	MemoID      string               `json:"memo_id,omitempty"`
	Status      string               `json:"status"`
	Bucket      whispersync.Bucket   `json:"bucket,omitempty"`
	Buckets     []whispersync.Bucket `json:"buckets"`
	Confidence  float64              `json:"confidence"`
	Reason      string               `json:"reason,omitempty"`
	People      []string             `json:"people"`
	ActionItems []string             `json:"action_items"`
	Error       *resultError         `json:"error,omitempty"`
}

type resultError struct {
	Code    string `json:"code"`
	Rule    string `json:"rule,omitempty"`
	Message string `json:"message"`
}

func runProcess(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlags("process", "process [--user NAME] [--json] [--workers N] PATH...\n\nProcesses transcript files, and the .txt files of folders (recursively), through\nthe whole pipeline: validation, encryption, queue, classification and the agents.\nThe source files are never modified.", processExamples)
	userName := fs.String("user", defaultUser(m.Getenv), "whose memos these are (env WHISPERSYNC_USER); created on first use")
	asJSON := fs.Bool("json", false, "print one JSON object per file (JSON Lines) instead of a table")
	workers := fs.Int("workers", 64, "how many files are read and submitted at once")
	quiet := fs.Bool("quiet", false, "print no progress")
	paths, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(paths) == 0 {
		return usagef("process needs at least one file or folder\nhint: whispersync process examples/memos")
	}
	if *workers < 1 {
		return usagef("--workers must be at least 1, got %d", *workers)
	}
	files, err := collectFiles(paths)
	if err != nil {
		return err
	}

	a, user, err := m.openUser(ctx, *userName, true)
	if err != nil {
		return err
	}
	defer a.Close()

	start := time.Now()
	progress := newProgress(m.Stderr, len(files), *quiet || len(files) < 50)
	results, err := processFiles(ctx, m, a, user.ID, files, *workers, progress)
	progress.finish()
	if err != nil {
		return err
	}
	elapsed := time.Since(start)

	if *asJSON {
		enc := json.NewEncoder(m.Stdout)
		for _, r := range results {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}
	return printProcessTable(m.Stdout, results, elapsed)
}

// collectFiles expands paths into files: a file is taken as given, a folder
// contributes its .txt files, recursively, skipping hidden entries.
func collectFiles(paths []string) ([]string, error) {
	var files []string
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, usagef("cannot read %s: %v\nhint: check the path", p, underlying(err))
		}
		if !info.IsDir() {
			files = append(files, p)
			continue
		}
		var found []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if path != p && strings.HasPrefix(d.Name(), ".") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() && strings.EqualFold(filepath.Ext(path), ".txt") {
				found = append(found, path)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("walk %s: %w", p, err)
		}
		sort.Strings(found)
		files = append(files, found...)
	}
	return files, nil
}

func underlying(err error) error {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Err
	}
	return err
}

// processFiles submits every file, runs the worker until the queue is empty
// and returns one result per file, in the order of files.
func processFiles(ctx context.Context, m *Main, a *app.App, owner string, files []string, workers int, progress *progress) ([]processResult, error) {
	actor := m.operator()
	results := make([]processResult, len(files))
	receipts := make([]pipeline.Receipt, len(files))

	// Memos that an earlier run stored but never queued, because it was
	// killed in between, are queued again first.
	if err := a.Recover(ctx); err != nil {
		return nil, err
	}

	// The worker runs while files are still being submitted, so reading
	// and fsyncing overlap with classification.
	workerCtx, stopWorker := context.WithCancel(ctx)
	var submitted atomic.Bool
	workerDone := make(chan error, 1)
	// Measured on 2 cores: more memos in flight hide fsync latency, up to
	// about 96; beyond that the runs got no faster (docs/benchmarks.md).
	opts := pipeline.WorkerOptions{Concurrency: 96, Idle: 20 * time.Millisecond, OnDone: func(string, string, whispersync.MemoStatus) { progress.processed.Add(1) }}
	go func() {
		_, err := a.Pipeline.DrainAfter(workerCtx, opts, submitted.Load)
		workerDone <- err
	}()

	var (
		wg       sync.WaitGroup
		next     atomic.Int64
		firstErr error
		errOnce  sync.Once
	)
	for range min(workers, len(files)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(files) || ctx.Err() != nil {
					return
				}
				r, receipt, err := submitFile(ctx, a, actor, owner, files[i])
				if err != nil {
					errOnce.Do(func() { firstErr = err })
					return
				}
				results[i], receipts[i] = r, receipt
				progress.submitted.Add(1)
				if receipt.Status != pipeline.ReceiptQueued {
					progress.processed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	submitted.Store(true)
	if firstErr != nil {
		stopWorker()
		<-workerDone
		return nil, firstErr
	}
	err := <-workerDone
	stopWorker()
	if err != nil {
		return nil, fmt.Errorf("process queue: %w", err)
	}

	if err := readBack(ctx, a, actor, owner, results, receipts); err != nil {
		return nil, err
	}
	return results, nil
}

// readBackChunk is how many memos one audited batch read covers, and
// readBackReaders how many batches are read at once.
const (
	readBackChunk   = 256
	readBackReaders = 4
)

// readBack fills each result with its memo as stored, reading memos in
// audited batches, several batches at once.
func readBack(ctx context.Context, a *app.App, actor pipeline.Actor, owner string, results []processResult, receipts []pipeline.Receipt) error {
	var todo []int
	for i := range results {
		if results[i].MemoID != "" && results[i].Status != pipeline.ReceiptRejected {
			todo = append(todo, i)
		}
	}
	var (
		wg    sync.WaitGroup
		slots = make(chan struct{}, readBackReaders)
		errs  = make([]error, (len(todo)+readBackChunk-1)/readBackChunk)
	)
	for n, start := 0, 0; start < len(todo); n, start = n+1, start+readBackChunk {
		chunk := todo[start:min(start+readBackChunk, len(todo))]
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			ids := make([]string, len(chunk))
			for j, i := range chunk {
				ids[j] = results[i].MemoID
			}
			views, err := a.Pipeline.GetMemos(ctx, actor, owner, ids)
			if err != nil {
				errs[n] = err
				return
			}
			for j, i := range chunk {
				fill(&results[i], views[j], receipts[i].Status == pipeline.ReceiptDuplicate)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// submitFile reads one file and hands it to intake. Files too large to be a
// transcript are rejected without reading them whole.
func submitFile(ctx context.Context, a *app.App, actor pipeline.Actor, owner, path string) (processResult, pipeline.Receipt, error) {
	r := processResult{Source: path, Buckets: []whispersync.Bucket{}, People: []string{}, ActionItems: []string{}}
	raw, err := readLimited(path, maxFileBytes)
	if err != nil {
		r.Status = pipeline.ReceiptRejected
		r.Error = &resultError{Code: whispersync.EREJECTED, Rule: "unreadable", Message: err.Error()}
		return r, pipeline.Receipt{Status: pipeline.ReceiptRejected}, nil
	}
	if len(raw) > maxFileBytes-1 {
		r.Status = pipeline.ReceiptRejected
		r.Error = &resultError{Code: whispersync.EREJECTED, Rule: "too_long", Message: fmt.Sprintf("transcript rejected by rule too_long: the file is larger than %d bytes, so it has more than the 100,000 characters a transcript may have; it was left in place unread: split it into several files", maxFileBytes-1)}
		return r, pipeline.Receipt{Status: pipeline.ReceiptRejected}, nil
	}
	receipt, err := a.Pipeline.Submit(ctx, pipeline.Submission{Actor: actor, Owner: owner, Source: path, Raw: raw})
	if err != nil {
		return r, receipt, fmt.Errorf("submit %s: %w", path, err)
	}
	r.MemoID, r.Status = receipt.MemoID, receipt.Status
	if receipt.Err != nil {
		r.Error = &resultError{Code: receipt.Err.Code, Rule: receipt.Err.Rule, Message: receipt.Err.Message}
	}
	return r, receipt, nil
}

// readLimited reads up to limit bytes of path; more than limit-1 bytes means
// the file is too large.
func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", path, underlying(err))
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, limit))
}

func fill(r *processResult, v pipeline.MemoView, duplicate bool) {
	switch {
	case duplicate:
		r.Status = pipeline.ReceiptDuplicate
	case v.Status == whispersync.StatusProcessed:
		r.Status = "processed"
	case v.Status == whispersync.StatusReview:
		r.Status = "review"
	default:
		r.Status = string(v.Status)
	}
	r.Bucket, r.Buckets, r.Confidence, r.Reason = v.Bucket, v.Buckets, v.Confidence, v.Reason
	r.People, r.ActionItems = v.People, v.ActionItems
	if r.Bucket == "" {
		r.Bucket = whispersync.BucketUnclear
	}
}

func printProcessTable(w io.Writer, results []processResult, elapsed time.Duration) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tSTATUS\tBUCKET\tCONF\tPEOPLE\tACTIONS\tMEMO")
	counts := map[string]int{}
	for _, r := range results {
		counts[r.Status]++
		bucket := string(r.Bucket)
		if len(r.Buckets) > 1 {
			bucket += " (" + joinBuckets(r.Buckets) + ")"
		}
		conf := fmt.Sprintf("%.2f", r.Confidence)
		if r.Status == pipeline.ReceiptRejected {
			bucket, conf = "-", "-"
			if r.Error != nil {
				bucket = "rule: " + r.Error.Rule
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", r.Source, r.Status, bucket, conf, abbreviate(strings.Join(r.People, ", "), 30), len(r.ActionItems), r.MemoID)
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	var parts []string
	for _, s := range []string{"processed", "review", "rejected", "duplicate"} {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
		}
	}
	rate := float64(len(results)) / max(elapsed.Seconds(), 1e-9)
	fmt.Fprintf(w, "\n%d files: %s in %s (%.0f memos/s)\n", len(results), strings.Join(parts, ", "), elapsed.Round(time.Millisecond), rate)
	for _, r := range results {
		if r.Error != nil {
			fmt.Fprintf(w, "rejected %s: %s\n", r.Source, r.Error.Message)
		}
	}
	if counts["review"] > 0 {
		fmt.Fprintln(w, "memos in review wait for your verdict: whispersync review list")
	}
	return nil
}

func joinBuckets(bs []whispersync.Bucket) string {
	s := make([]string, len(bs))
	for i, b := range bs {
		s[i] = string(b)
	}
	return strings.Join(s, "+")
}

func abbreviate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// progress reports submitted and processed counts on stderr about once a
// second while a large batch runs.
type progress struct {
	submitted, processed atomic.Int64
	total                int
	stop                 chan struct{}
	done                 chan struct{}
}

func newProgress(w io.Writer, total int, silent bool) *progress {
	p := &progress{total: total, stop: make(chan struct{}), done: make(chan struct{})}
	if silent {
		close(p.done)
		return p
	}
	go func() {
		defer close(p.done)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-tick.C:
				// Messages left by an earlier run count as processed too, so
				// the count is capped at the total.
				fmt.Fprintf(w, "whispersync: %d/%d submitted, %d/%d processed\n", p.submitted.Load(), p.total, min(p.processed.Load(), int64(p.total)), p.total)
			}
		}
	}()
	return p
}

func (p *progress) finish() {
	select {
	case <-p.done:
	default:
		close(p.stop)
		<-p.done
	}
}
