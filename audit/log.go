package audit

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/whispersync/whispersync"
)

// DefaultSegmentMaxBytes is the default size at which a new segment starts.
const DefaultSegmentMaxBytes = 64 << 20

// MinHMACKeyBytes is the shortest accepted Options.HMACKey.
const MinHMACKeyBytes = 32

// maxBatchEvents bounds the events that one write and fsync commit, so that
// a burst of appenders cannot grow the write buffer without limit.
const maxBatchEvents = 4096

// ErrClosed is returned by Append after Close.
var ErrClosed = errors.New("audit: log closed")

// Options configures Open.
type Options struct {
	// HMACKey is the key of the HMAC-SHA256 that replaces each value of
	// AuditEvent.Hashed, at least MinHMACKeyBytes long. Keep it for the life
	// of the log, because searches match entries by the HMAC of a value.
	HMACKey []byte
	// SegmentMaxBytes is the size in bytes at which a new segment starts.
	// Zero means DefaultSegmentMaxBytes. An entry longer than this gets a
	// segment of its own.
	SegmentMaxBytes int64
	// Now returns the time stamped on events that carry none. Nil means
	// time.Now.
	Now func() time.Time
	// Logger receives write failures and recoveries. Nil means
	// slog.Default().
	Logger *slog.Logger

	// DigestKey signs the digests. Nil means no digests are written. Keep
	// it apart from the log, such as derived from the key ring, so that
	// whoever can rewrite the log cannot sign a digest for it.
	DigestKey ed25519.PrivateKey
	// DigestDir holds the digest files. Empty means the folder digests in
	// the log's folder.
	DigestDir string
	// DigestInterval is how often a digest is signed while the log is open.
	// Zero means DefaultDigestInterval. Open and Close sign one too when
	// entries are not covered yet.
	DigestInterval time.Duration
	// AnchorFile, when set, names a file outside the data directory that
	// each signed digest updates, so that VerifySigned can tell a log rolled
	// back to an earlier digest. Keep it beside the key file.
	AnchorFile string
	// IdentityFile, when set, binds the data directory to its log: it names
	// the file (see IdentityFileName) that holds the directory's identity,
	// under which the anchor file keeps the log's record. It needs
	// AnchorFile, DigestKey and IdentityKey. Open then rejects, with
	// ErrBroken, a log that is missing, another log than the one recorded,
	// or one rolled back behind its record, instead of starting a new log.
	// Reset is the deliberate way out. A directory without the file gets a
	// new identity when it has no log yet, and keeps its log when that log
	// was anchored by a release before identities.
	IdentityFile string
	// IdentityKey authenticates IdentityFile (see IdentityKey). An identity
	// that no record names yet, such as a restore's, is accepted only when
	// it verifies, so that an attacker who can write the data directory
	// cannot start a new log by making up an identity.
	IdentityKey []byte
	// HasData is set when the data directory already contains data. A
	// directory with data but neither an identity file nor a log has lost
	// its log, and Open rejects it.
	HasData bool

	// openFile opens segment files for the writer. Tests set it to inject
	// failures.
	openFile func(name string, flag int) (segmentFile, error)
}

// Log is an open audit log. Its methods are safe for concurrent use.
type Log struct {
	dir      string
	macs     sync.Pool // of hash.Hash, HMAC-SHA256 keyed with Options.HMACKey
	maxBytes int64
	now      func() time.Time
	logger   *slog.Logger
	openFile func(name string, flag int) (segmentFile, error)

	requests  chan *request
	closing   chan struct{}
	closeOnce sync.Once
	done      chan struct{} // closed when the writer goroutine has returned
	closeErr  error         // set by the writer before done is closed
	failed    atomic.Bool
	failures  atomic.Uint64

	digestDir      string
	digestKey      ed25519.PrivateKey
	anchorFile     string
	logDir         string  // the absolute path of dir, for the anchor's records
	id             string  // the data directory's identity; empty without Options.IdentityFile
	anchored       *anchor // the log's record as the anchor file holds it, when known
	reset          *ResetNote
	digestInterval time.Duration
	digestRequests chan chan error

	// Owned by the writer goroutine.
	file    segmentFile
	segment int               // number of the segment being written
	size    int64             // bytes in that segment
	seq     uint64            // seq of the last durable entry
	head    [sha256.Size]byte // hash of the last durable entry
	err     error             // the first write or fsync failure, after which nothing is written
	buf     []byte
	batch   []*request
	digests digestState
}

var _ whispersync.Auditor = (*Log)(nil)

type request struct {
	records []record
	done    chan error
}

// Open opens the log in dir, creating dir and the first segment when they do
// not exist, and starts its writer. It truncates an incomplete last line and
// returns an error when a complete line of the last segment, or its link to
// the segment before, fails its check. Call Close when done.
//
// NOTE: one Log at a time may own dir. Nothing locks the folder yet, so a
// second Log, in this process or another, would fork the chain.
func Open(dir string, opts Options) (*Log, error) {
	if len(opts.HMACKey) < MinHMACKeyBytes {
		return nil, fmt.Errorf("audit: open: HMAC key has %d bytes, want at least %d", len(opts.HMACKey), MinHMACKeyBytes)
	}
	l := &Log{
		dir:      dir,
		maxBytes: opts.SegmentMaxBytes,
		now:      opts.Now,
		logger:   opts.Logger,
		openFile: opts.openFile,
		requests: make(chan *request),
		closing:  make(chan struct{}),
		done:     make(chan struct{}),

		digestDir:      opts.DigestDir,
		digestKey:      opts.DigestKey,
		anchorFile:     opts.AnchorFile,
		digestInterval: opts.DigestInterval,
		digestRequests: make(chan chan error),
	}
	if l.digestDir == "" {
		l.digestDir = filepath.Join(dir, "digests")
	}
	if l.digestInterval <= 0 {
		l.digestInterval = DefaultDigestInterval
	}
	key := append([]byte(nil), opts.HMACKey...)
	l.macs.New = func() any { return hmac.New(sha256.New, key) }
	if l.maxBytes <= 0 {
		l.maxBytes = DefaultSegmentMaxBytes
	}
	if l.now == nil {
		l.now = time.Now
	}
	if l.logger == nil {
		l.logger = slog.Default()
	}
	l.logger = l.logger.With("component", "audit")
	if l.openFile == nil {
		l.openFile = openSegmentFile
	}

	if abs, err := filepath.Abs(dir); err == nil {
		l.logDir = abs
	}
	if opts.IdentityFile != "" {
		// Before anything is created, so that a rejected directory stays
		// as it was found.
		if err := l.bind(opts); err != nil {
			return nil, fmt.Errorf("audit: open %s: %w", dir, err)
		}
	}

	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("audit: open: %w", err)
	}
	if err := l.recoverChain(); err != nil {
		return nil, fmt.Errorf("audit: open %s: %w", dir, err)
	}
	if l.digestKey != nil {
		if err := l.openDigests(); err != nil {
			return nil, errors.Join(fmt.Errorf("audit: open %s: %w", dir, err), l.file.Close())
		}
		l.refreshAnchor()
	}

	go l.run()
	if l.reset != nil && l.seq == 0 {
		// A log that Reset started records why before anything else.
		if err := l.Append(context.Background(), resetEvent(l.reset, dir)); err != nil {
			return nil, errors.Join(err, l.Close())
		}
	}
	return l, nil
}

// recoverChain finds the chain head and opens the last segment for appending.
func (l *Log) recoverChain() error {
	segments, err := listSegments(l.dir)
	if err != nil {
		return err
	}
	if len(segments) == 0 {
		l.segment = 1
		return l.createSegment()
	}

	l.segment = segments[len(segments)-1]
	c := newChain()
	if len(segments) > 1 {
		c, err = l.previousHead(segments[len(segments)-2])
		if err != nil {
			return err
		}
	} else if l.segment != 1 {
		// Earlier segments were removed, so the first entry cannot be
		// linked. Verify reports it.
		c = &chain{}
	}

	path := filepath.Join(l.dir, segmentName(l.segment))
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	_, complete, problem := checkSegment(segmentName(l.segment), data, c)
	if problem != nil {
		return fmt.Errorf("%s: %w", problem, ErrBroken)
	}
	if complete < len(data) {
		if err := truncate(path, int64(complete)); err != nil {
			return err
		}
		l.logger.Warn("audit log recovery removed an incomplete last line",
			"segment", segmentName(l.segment), "bytes", len(data)-complete)
	}
	l.size = int64(complete)
	l.seq, l.head = c.seq, c.hash

	f, err := l.openFile(path, os.O_WRONLY|os.O_APPEND)
	if err != nil {
		return err
	}
	l.file = f
	return nil
}

// previousHead returns a chain checker positioned after the last entry of
// segment n, which precedes the last segment. It reads only the end of the
// segment and checks the hash of that entry alone.
func (l *Log) previousHead(n int) (*chain, error) {
	name := segmentName(n)
	text, err := readLastLine(filepath.Join(l.dir, name))
	if err != nil {
		return nil, err
	}
	if text == nil {
		return nil, fmt.Errorf("segment %s is empty but not the last: %w", name, ErrBroken)
	}
	var checker lineChecker
	last := checker.check(text)
	c := &chain{}
	if reason := c.next(last); reason != "" {
		return nil, fmt.Errorf("segment %s last line (seq %d): %s: %w", name, last.seq, reason, ErrBroken)
	}
	return c, nil
}

func truncate(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if err := f.Truncate(size); err != nil {
		return errors.Join(err, f.Close())
	}
	if err := f.Sync(); err != nil {
		return errors.Join(err, f.Close())
	}
	return f.Close()
}

// createSegment creates the file of segment l.segment and makes its name
// durable.
func (l *Log) createSegment() error {
	f, err := l.openFile(filepath.Join(l.dir, segmentName(l.segment)), os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_EXCL)
	if err != nil {
		return err
	}
	if err := syncDir(l.dir); err != nil {
		_ = f.Close() // nothing was written to the new segment
		return err
	}
	l.file, l.size = f, 0
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		_ = d.Close() // opened only to sync, so the sync error is the one to report
		return err
	}
	return d.Close()
}

// Append writes events to the log and returns once they are durable. Events
// without a time get the current time. Append returns an error, and the
// caller must not carry out the audited action, when the events could not be
// written, when an earlier write failed, when ctx ends first, or after
// Close. An error for a failed log is a *whispersync.Error with code
// whispersync.EUNAVAILABLE.
func (l *Log) Append(ctx context.Context, events ...whispersync.AuditEvent) error {
	if len(events) == 0 {
		return nil
	}
	if l.failed.Load() {
		l.failures.Add(1)
		return l.unavailable(errors.New("an earlier write failed"))
	}

	req := &request{records: make([]record, len(events)), done: make(chan error, 1)}
	now := l.now()
	mac := l.macs.Get().(hash.Hash)
	defer l.macs.Put(mac)
	for i, ev := range events {
		if ev.Action == "" || ev.Outcome == "" {
			return whispersync.Errorf(whispersync.EINVALID, "audit: append: event %d has no action or outcome: set both", i)
		}
		if ev.Time.IsZero() {
			ev.Time = now
		}
		r, err := newRecord(ev, mac)
		if err != nil {
			return fmt.Errorf("audit: append: event %d: %w", i, err)
		}
		req.records[i] = r
	}

	select {
	case l.requests <- req:
	case <-l.closing:
		return ErrClosed
	case <-ctx.Done():
		return fmt.Errorf("audit: append: %w", ctx.Err())
	}
	select {
	case err := <-req.done:
		if err != nil {
			l.failures.Add(1)
			return l.unavailable(err)
		}
		return nil
	case <-ctx.Done():
		// The events may still become durable, but the caller must act as
		// if they were not.
		return fmt.Errorf("audit: append: %w", ctx.Err())
	}
}

func (l *Log) unavailable(cause error) error {
	return &whispersync.Error{
		Code:    whispersync.EUNAVAILABLE,
		Message: "the audit log cannot record the action, so it was not carried out; try again later or ask the operator to check the audit log",
		Err:     fmt.Errorf("audit: append: %w", cause),
	}
}

// Failures returns the number of Append calls that returned an error
// because a write or fsync failed, or because an earlier one had.
func (l *Log) Failures() uint64 { return l.failures.Load() }

// Close stops the writer after the batch in progress and closes the segment
// file. Append returns ErrClosed afterwards. Close is safe to call more than
// once.
func (l *Log) Close() error {
	l.closeOnce.Do(func() { close(l.closing) })
	<-l.done
	return l.closeErr
}

// openDigests reads the digest state and signs a digest at once when no
// digest covers the newest entries, such as after a crash, or when there is
// no digest at all, so that a log never lacks its first digest.
func (l *Log) openDigests() error {
	if err := l.loadDigests(); err != nil {
		return err
	}
	if l.digests.last == nil || len(l.digests.pending) > 0 {
		return l.signDigest()
	}
	return nil
}

// SignDigest signs a digest of the entries appended since the last one,
// now, instead of at the next interval. It is an error when the log has no
// Options.DigestKey.
func (l *Log) SignDigest(ctx context.Context) error {
	if l.digestKey == nil {
		return errors.New("audit: sign digest: the log has no digest key")
	}
	done := make(chan error, 1)
	select {
	case l.digestRequests <- done:
	case <-l.closing:
		return ErrClosed
	case <-ctx.Done():
		return fmt.Errorf("audit: sign digest: %w", ctx.Err())
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("audit: sign digest: %w", ctx.Err())
	}
}

// run is the writer goroutine. It takes every waiting request, commits their
// events with one write and one fsync per segment, and replies to each
// request. It signs a digest every digest interval when entries were
// appended, and at close.
func (l *Log) run() {
	defer close(l.done)
	var tick <-chan time.Time
	if l.digestKey != nil {
		t := time.NewTicker(l.digestInterval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case req := <-l.requests:
			l.commit(l.gather(req))
		case done := <-l.digestRequests:
			done <- l.signDigest()
		case <-tick:
			l.signPending()
		case <-l.closing:
			if l.digestKey != nil {
				l.signPending()
			}
			if err := l.file.Close(); err != nil && l.err == nil {
				l.closeErr = fmt.Errorf("audit: close: %w", err)
			}
			return
		}
	}
}

// signPending signs a digest when entries are not covered yet. A failure is
// logged, not returned: the entries stay unsigned until the next digest,
// which covers them, and Verify reports them as unsigned meanwhile.
func (l *Log) signPending() {
	if len(l.digests.pending) == 0 || l.err != nil {
		return
	}
	if err := l.signDigest(); err != nil {
		l.logger.Error("audit digest failed; the entries stay unsigned until the next digest", "error", err)
	}
}

// gather returns first and the requests already waiting behind it, up to
// maxBatchEvents events.
func (l *Log) gather(first *request) []*request {
	batch := append(l.batch[:0], first)
	events := len(first.records)
	for events < maxBatchEvents {
		select {
		case req := <-l.requests:
			batch = append(batch, req)
			events += len(req.records)
		default:
			return batch
		}
	}
	return batch
}

// commit writes the batch and replies to each request. After a failure it
// writes nothing and replies to every request with the first failure.
func (l *Log) commit(batch []*request) {
	err := l.err
	if err == nil {
		err = l.write(batch)
		if err != nil {
			l.err = err
			l.failed.Store(true)
			l.logger.Error("audit log write failed; rejecting every append until the log is reopened",
				"segment", segmentName(l.segment), "error", err)
		}
	}
	for _, req := range batch {
		req.done <- err
	}
	clear(batch)
	l.batch = batch[:0]
}

// write chains and writes the records of batch, rotating segments as needed,
// and fsyncs every segment it wrote to. It advances the chain head only when
// all of it is durable.
func (l *Log) write(batch []*request) error {
	seq, head := l.seq, l.head
	buf := l.buf[:0]
	defer func() { l.buf = buf[:0] }()

	for _, req := range batch {
		for _, r := range req.records {
			seq++
			hash := chainHash(&head, seq, r.canonical)

			start := len(buf)
			buf = appendLine(buf, seq, &head, &hash, r.members)
			if n := int64(len(buf)); l.size+int64(start) > 0 && l.size+n > l.maxBytes {
				// The line does not fit: flush what fits and start a new
				// segment with this line.
				if err := l.flush(buf[:start]); err != nil {
					return err
				}
				if err := l.rotate(); err != nil {
					return err
				}
				buf = append(buf[:0], buf[start:]...)
			}
			if l.digestKey != nil {
				l.digests.track(l.segment, seq, &hash)
			}
			head = hash
		}
	}

	if err := l.flush(buf); err != nil {
		return err
	}
	l.seq, l.head = seq, head
	return nil
}

// flush writes data to the current segment and fsyncs it.
func (l *Log) flush(data []byte) error {
	if len(data) == 0 {
		return nil
	}
	if _, err := l.file.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", segmentName(l.segment), err)
	}
	if err := l.file.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", segmentName(l.segment), err)
	}
	l.size += int64(len(data))
	return nil
}

// rotate closes the current segment, which flush made durable, and creates
// the next.
func (l *Log) rotate() error {
	if err := l.file.Close(); err != nil {
		return fmt.Errorf("close %s: %w", segmentName(l.segment), err)
	}
	l.segment++
	if err := l.createSegment(); err != nil {
		return fmt.Errorf("create %s: %w", segmentName(l.segment), err)
	}
	return nil
}
