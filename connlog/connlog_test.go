package connlog_test

import (
	"bufio"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/whispersync/whispersync/connlog"
)

var quiet = slog.New(slog.DiscardHandler)

// clock is a settable time source.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

func TestAppendWritesOneLinePerRecord(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "connections")
	c := &clock{now: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	l, err := connlog.Open(connlog.Options{Dir: dir, Now: c.Now, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	want := []connlog.Record{
		{Peer: "127.0.0.1:5000", TLS: "TLS 1.3", Proto: "HTTP/1.1", Route: "GET /healthz", BytesOut: 16, DurationMS: 1.5, Status: 200, RequestID: "req_1"},
		{Peer: "127.0.0.1:5001", Proto: "HTTP/1.1", BytesIn: 42, Status: 401},
	}
	for _, r := range want {
		if err := l.Append(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	name := filepath.Join(dir, "conn-2026-12-01.jsonl")
	info, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Mode().Perm(); got != 0o600 {
		t.Errorf("file mode: got %o, want 600", got)
	}
	if info, err := os.Stat(dir); err != nil || info.Mode().Perm() != 0o700 {
		t.Errorf("folder mode: got %v (%v), want 700", info.Mode().Perm(), err)
	}
	got := readRecords(t, name)
	if len(got) != len(want) {
		t.Fatalf("records: got %d, want %d", len(got), len(want))
	}
	for i := range want {
		want[i].Time = c.now
		if got[i] != want[i] {
			t.Errorf("record %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestAppendRotatesDailyAndKeepsOldFiles(t *testing.T) {
	dir := t.TempDir()
	c := &clock{now: time.Date(2026, 12, 1, 23, 59, 0, 0, time.UTC)}
	l, err := connlog.Open(connlog.Options{Dir: dir, Now: c.Now, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Append(connlog.Record{Status: 200}); err != nil {
		t.Fatal(err)
	}
	c.now = c.now.Add(2 * time.Minute)
	if err := l.Append(connlog.Record{Status: 204}); err != nil {
		t.Fatal(err)
	}
	files, err := l.Files()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"conn-2026-12-01.jsonl", "conn-2026-12-02.jsonl"}
	if !slices.Equal(files, want) {
		t.Errorf("files: got %v, want %v", files, want)
	}
	if got := readRecords(t, filepath.Join(dir, want[1])); len(got) != 1 || got[0].Status != 204 {
		t.Errorf("records of the second day: got %+v, want one with status 204", got)
	}
}

func TestRetentionDeletesOldDays(t *testing.T) {
	tests := []struct {
		name      string
		retention time.Duration
		days      int // days the clock advances after each append
		// want are the files left when the clock reads 2026-12-29 12:00.
		want []string
	}{
		{"default keeps 30 days", 0, 1, []string{
			"conn-2026-11-29.jsonl", "conn-2026-11-30.jsonl", "conn-2026-12-01.jsonl", "conn-2026-12-02.jsonl", "conn-2026-12-03.jsonl", "conn-2026-12-04.jsonl", "conn-2026-12-05.jsonl",
			"conn-2026-12-06.jsonl", "conn-2026-12-07.jsonl", "conn-2026-12-08.jsonl", "conn-2026-12-09.jsonl", "conn-2026-12-10.jsonl", "conn-2026-12-11.jsonl", "conn-2026-12-12.jsonl",
			"conn-2026-12-13.jsonl", "conn-2026-12-14.jsonl", "conn-2026-12-15.jsonl", "conn-2026-12-16.jsonl", "conn-2026-12-17.jsonl", "conn-2026-12-18.jsonl", "conn-2026-12-19.jsonl",
			"conn-2026-12-20.jsonl", "conn-2026-12-21.jsonl", "conn-2026-12-22.jsonl", "conn-2026-12-23.jsonl", "conn-2026-12-24.jsonl", "conn-2026-12-25.jsonl", "conn-2026-12-26.jsonl",
			"conn-2026-12-27.jsonl", "conn-2026-12-28.jsonl", "conn-2026-12-29.jsonl",
		}},
		{"two days", 48 * time.Hour, 1, []string{"conn-2026-12-27.jsonl", "conn-2026-12-28.jsonl", "conn-2026-12-29.jsonl"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			c := &clock{now: time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)}
			l, err := connlog.Open(connlog.Options{Dir: dir, Now: c.Now, Retention: tt.retention, Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			for c.now.Before(time.Date(2026, 12, 30, 0, 0, 0, 0, time.UTC)) {
				if err := l.Append(connlog.Record{Status: 200}); err != nil {
					t.Fatal(err)
				}
				c.now = c.now.AddDate(0, 0, tt.days)
			}
			files, err := l.Files()
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(files, tt.want) {
				t.Errorf("files kept: got %v, want %v", files, tt.want)
			}
		})
	}
}

func TestOpenPrunesFilesLeftBehind(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"conn-2026-01-01.jsonl", "conn-2026-11-30.jsonl", "notes.txt", "conn-garbage.jsonl"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c := &clock{now: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	l, err := connlog.Open(connlog.Options{Dir: dir, Now: c.Now, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	want := []string{"conn-2026-11-30.jsonl", "conn-garbage.jsonl", "notes.txt"}
	if !slices.Equal(got, want) {
		t.Errorf("files after open: got %v, want %v", got, want)
	}
}

func readRecords(t *testing.T, name string) []connlog.Record {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []connlog.Record
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r connlog.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		out = append(out, r)
	}
	return out
}
