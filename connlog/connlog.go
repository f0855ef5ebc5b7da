// Package connlog keeps the connection log, in the role of a VPC flow log:
// one JSON line per request the server handles, with the peer address, the
// TLS version, the bytes in and out, the duration and the status.
//
// # Format
//
// Records go to one file per UTC day, conn-YYYY-MM-DD.jsonl, in the log's
// folder (mode 0700); files are created with mode 0600 and only appended
// to. A file whose day is older than the retention is deleted when the log
// opens and whenever it starts a new day.
//
// # What is not recorded
//
// A record holds no user content and no credential: no path (it may name a
// memo), no query, no header and no body, only the route pattern that
// matched, such as "GET /v1/memos/{id}".
package connlog

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// DefaultRetention is how long records are kept: 30 days.
const DefaultRetention = 30 * 24 * time.Hour

// Record describes one request and its connection.
type Record struct {
	Time time.Time `json:"time"`
	// Peer is the remote address, host and port.
	Peer string `json:"peer"`
	// TLS is the negotiated version, such as "TLS 1.3", or "" for plain
	// HTTP.
	TLS string `json:"tls,omitempty"`
	// Proto is the HTTP version, such as "HTTP/2.0".
	Proto string `json:"proto"`
	// Route is the pattern that matched, or "" when none did.
	Route string `json:"route,omitempty"`
	// BytesIn counts request body bytes read, BytesOut response body
	// bytes written; headers are not counted.
	BytesIn  int64 `json:"bytes_in"`
	BytesOut int64 `json:"bytes_out"`
	// DurationMS is the time from the request's arrival to the end of the
	// response, in milliseconds.
	DurationMS float64 `json:"duration_ms"`
	Status     int     `json:"status"`
	RequestID  string  `json:"request_id,omitempty"`
}

// Options configure a Log.
type Options struct {
	// Dir is the folder of the files, such as DATA_DIR/connections.
	Dir string
	// Retention is how long a day's file is kept after that day ends;
	// default DefaultRetention.
	Retention time.Duration
	// Now returns the current time; default time.Now. Tests inject a
	// clock.
	Now    func() time.Time
	Logger *slog.Logger
}

// Log appends records to the file of the current day. It is safe for
// concurrent use.
type Log struct {
	opts Options

	mu   sync.Mutex
	day  string
	file *os.File
}

const (
	prefix = "conn-"
	suffix = ".jsonl"
	layout = "2006-01-02"
)

// Open creates the folder if needed and deletes the files past retention.
func Open(opts Options) (*Log, error) {
	if opts.Dir == "" {
		return nil, errors.New("connlog: open: no folder given")
	}
	if opts.Retention <= 0 {
		opts.Retention = DefaultRetention
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("connlog: open: %w", err)
	}
	l := &Log{opts: opts}
	if err := l.Prune(); err != nil {
		return nil, err
	}
	return l, nil
}

// Append writes r as one line to the file of the current day by the log's
// clock, which also fills a zero r.Time. Starting a new day's file prunes
// old files.
func (l *Log) Append(r Record) error {
	now := l.opts.Now().UTC()
	if r.Time.IsZero() {
		r.Time = now
	}
	r.Time = r.Time.UTC()
	line, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("connlog: append: %w", err)
	}
	line = append(line, '\n')

	l.mu.Lock()
	defer l.mu.Unlock()
	day := now.Format(layout)
	if l.file == nil || day != l.day {
		if err := l.rotate(day); err != nil {
			return err
		}
	}
	if _, err := l.file.Write(line); err != nil {
		return fmt.Errorf("connlog: append: %w", err)
	}
	return nil
}

// rotate closes the current file and opens the file of day. It holds mu.
func (l *Log) rotate(day string) error {
	if l.file != nil {
		if err := l.file.Close(); err != nil {
			l.opts.Logger.Warn("close connection log file failed", "day", l.day, "err", err)
		}
		l.file = nil
	}
	name := filepath.Join(l.opts.Dir, prefix+day+suffix)
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600) // #nosec G304 -- name is built from the folder and a formatted date
	if err != nil {
		return fmt.Errorf("connlog: open file of %s: %w", day, err)
	}
	l.file, l.day = f, day
	if err := l.prune(); err != nil {
		l.opts.Logger.Warn("prune connection log failed", "err", err)
	}
	return nil
}

// Prune deletes the files whose day ended more than the retention ago.
func (l *Log) Prune() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.prune()
}

func (l *Log) prune() error {
	entries, err := os.ReadDir(l.opts.Dir)
	if err != nil {
		return fmt.Errorf("connlog: prune: %w", err)
	}
	cutoff := l.opts.Now().UTC().Add(-l.opts.Retention)
	var errs []error
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !strings.HasPrefix(name, prefix) || !strings.HasSuffix(name, suffix) {
			continue
		}
		day, err := time.Parse(layout, strings.TrimSuffix(strings.TrimPrefix(name, prefix), suffix))
		if err != nil {
			continue
		}
		if day.Add(24 * time.Hour).Before(cutoff) {
			if err := os.Remove(filepath.Join(l.opts.Dir, name)); err != nil {
				errs = append(errs, err)
				continue
			}
			l.opts.Logger.Info("deleted connection log past retention", "file", name)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("connlog: prune: %w", err)
	}
	return nil
}

// Files returns the names of the log's files, oldest first.
func (l *Log) Files() ([]string, error) {
	entries, err := os.ReadDir(l.opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("connlog: list files: %w", err)
	}
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) && strings.HasSuffix(e.Name(), suffix) {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// Close closes the current file.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.file == nil {
		return nil
	}
	err := l.file.Close()
	l.file = nil
	if err != nil {
		return fmt.Errorf("connlog: close: %w", err)
	}
	return nil
}
