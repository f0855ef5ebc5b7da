package sqlite

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"

	"github.com/whispersync/whispersync"
)

// maxBatch bounds how many callers one transaction serves, so that the
// latency of a commit stays bounded under a flood of writers.
const maxBatch = 256

// A writeFunc applies one caller's writes inside the shared transaction,
// through tx. It runs on the committer goroutine and must use the context it
// is given, not the caller's: cancelling a statement inside SQLite can roll
// back the whole transaction, and with it other callers' writes. An error it
// returns rolls back its own writes and nothing else.
type writeFunc func(ctx context.Context, tx *statements) error

// writeRequest is one caller's batch of writes waiting for the committer.
type writeRequest struct {
	ctx  context.Context
	fn   writeFunc
	done chan error
}

// commitStats counts the committer's work, so tests and benchmarks can show
// how many callers share a commit.
type commitStats struct {
	commits atomic.Int64
	writes  atomic.Int64
}

// write hands fn to the committer and returns once the transaction that
// holds its writes is durable, or fn's own error after its writes were
// rolled back. A caller whose context ends before fn runs gets the
// context's error and fn never runs. Once fn has run, write waits for the
// commit, so the outcome it reports is the one on disk.
func (db *DB) write(ctx context.Context, fn writeFunc) error {
	req := &writeRequest{ctx: ctx, fn: fn, done: make(chan error, 1)}

	db.mu.RLock()
	if db.closed {
		db.mu.RUnlock()
		return whispersync.Errorf(whispersync.EUNAVAILABLE, "database is closed: open it again")
	}
	select {
	case db.requests <- req:
	case <-ctx.Done():
		db.mu.RUnlock()
		return ctx.Err()
	}
	db.mu.RUnlock()

	return <-req.done
}

// commitLoop is the committer: it serves requests until Close closes the
// channel, then signals that it is done.
func (db *DB) commitLoop() {
	defer close(db.committed)
	batch := make([]*writeRequest, 0, maxBatch)
	for first := range db.requests {
		batch = append(batch[:0], first)
		// Whatever arrived while the previous commit was syncing joins
		// this one. Nothing waits on purpose, so a lone writer pays
		// for one commit and no more.
	gather:
		for len(batch) < maxBatch {
			select {
			case req, ok := <-db.requests:
				if !ok {
					break gather
				}
				batch = append(batch, req)
			default:
				break gather
			}
		}
		db.commit(batch)
		clear(batch)
	}
}

// commit applies the batch in one transaction and answers every caller.
func (db *DB) commit(batch []*writeRequest) {
	errs := make([]error, len(batch))
	if err := db.apply(batch, errs); err != nil {
		// The transaction is gone: every caller whose own writes
		// succeeded learns that they were not committed.
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
	}
	for i, req := range batch {
		req.done <- errs[i]
	}
}

// apply runs each request inside its own savepoint and commits. It records
// each request's own failure in errs and returns an error when the
// transaction as a whole failed.
func (db *DB) apply(batch []*writeRequest, errs []error) error {
	ctx := context.Background()
	tx := db.tx
	if _, err := tx.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	for i, req := range batch {
		if err := req.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		if _, err := tx.ExecContext(ctx, "SAVEPOINT caller"); err != nil {
			db.rollback(ctx)
			return fmt.Errorf("savepoint: %w", err)
		}
		if errs[i] = req.fn(ctx, tx); errs[i] != nil {
			// Some errors, such as a full disk, have already rolled
			// back the whole transaction. Then the savepoint is gone
			// and this fails, which fails the batch.
			if _, err := tx.ExecContext(ctx, "ROLLBACK TO caller"); err != nil {
				db.rollback(ctx)
				return fmt.Errorf("roll back to savepoint: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, "RELEASE caller"); err != nil {
			db.rollback(ctx)
			return fmt.Errorf("release savepoint: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, "COMMIT"); err != nil {
		db.rollback(ctx)
		return fmt.Errorf("commit: %w", err)
	}
	db.stats.commits.Add(1)
	db.stats.writes.Add(int64(len(batch)))
	return nil
}

// rollback ends a failed transaction. When SQLite has rolled it back
// already, as after a full disk, ROLLBACK fails harmlessly. Any other
// failure leaves the connection inside a transaction, and the next BEGIN
// fails and reports it.
func (db *DB) rollback(ctx context.Context) {
	if _, err := db.tx.ExecContext(ctx, "ROLLBACK"); err != nil {
		slog.WarnContext(ctx, "roll back failed transaction", "component", "sqlite", "err", err)
	}
}
