package audit_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/audit"
)

var testKey = bytes.Repeat([]byte{0x42}, 32)

var fixedNow = time.Date(2026, 3, 14, 15, 9, 26, 535897932, time.UTC)

func testOptions() audit.Options {
	return audit.Options{
		HMACKey: testKey,
		Now:     func() time.Time { return fixedNow },
		Logger:  slog.New(slog.DiscardHandler),
	}
}

// closeLog closes l and fails the test when that fails.
func closeLog(t testing.TB, l *audit.Log) {
	t.Helper()
	if err := l.Close(); err != nil {
		t.Errorf("close audit log: %v", err)
	}
}

func openLog(t testing.TB, dir string, opts audit.Options) *audit.Log {
	t.Helper()
	l, err := audit.Open(dir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { closeLog(t, l) })
	return l
}

func event(i int) whispersync.AuditEvent {
	return whispersync.AuditEvent{
		Principal: fmt.Sprintf("user-%d", i),
		Action:    "memo.read",
		Resource:  fmt.Sprintf("memo/%d", i),
		Outcome:   whispersync.OutcomeSuccess,
		Source:    "127.0.0.1",
		RequestID: fmt.Sprintf("req-%d", i),
		Detail:    map[string]string{"n": fmt.Sprint(i), "kind": "test"},
	}
}

func appendEvents(t testing.TB, l *audit.Log, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		if err := l.Append(context.Background(), event(i)); err != nil {
			t.Fatalf("Append(%d): %v", i, err)
		}
	}
}

func readAll(t *testing.T, dir string) []audit.Entry {
	t.Helper()
	var entries []audit.Entry
	err := audit.Read(dir, func(e audit.Entry) error {
		entries = append(entries, e)
		return nil
	})
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return entries
}

func verifyOK(t *testing.T, dir string, want uint64) audit.Report {
	t.Helper()
	report, err := audit.Verify(dir)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if report.Problem != nil {
		t.Fatalf("Verify problem: got %v, want nil", report.Problem)
	}
	if report.Entries != want {
		t.Fatalf("Verify entries: got %d, want %d", report.Entries, want)
	}
	return report
}

func segmentFiles(t *testing.T, dir string) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(paths)
	return paths
}

func TestAppendReadVerify(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "audit")
	l := openLog(t, dir, testOptions())
	appendEvents(t, l, 0, 10)
	stamped := time.Date(2025, 1, 2, 3, 4, 5, 6, time.FixedZone("CET", 3600))
	err := l.Append(context.Background(),
		whispersync.AuditEvent{Principal: "a", Action: "login", Outcome: whispersync.OutcomeDenied, Time: stamped},
		whispersync.AuditEvent{Principal: "b", Action: "login", Outcome: whispersync.OutcomeFailure},
	)
	if err != nil {
		t.Fatalf("Append(two events): %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	report := verifyOK(t, dir, 12)
	entries := readAll(t, dir)
	if len(entries) != 12 {
		t.Fatalf("Read: got %d entries, want 12", len(entries))
	}
	if report.Head != entries[11].Hash {
		t.Errorf("report head: got %s, want the hash of the last entry %s", report.Head, entries[11].Hash)
	}
	if report.Segments != 1 {
		t.Errorf("report segments: got %d, want 1", report.Segments)
	}

	first := entries[0]
	if first.Seq != 1 || first.Prev != strings.Repeat("0", 64) {
		t.Errorf("first entry: got seq %d prev %s, want seq 1 and 64 zeros", first.Seq, first.Prev)
	}
	if !first.Time.Equal(fixedNow) {
		t.Errorf("first entry time: got %v, want %v from Options.Now", first.Time, fixedNow)
	}
	want := event(0)
	if first.Principal != want.Principal || first.Action != want.Action || first.Resource != want.Resource ||
		first.Outcome != want.Outcome || first.Source != want.Source || first.RequestID != want.RequestID {
		t.Errorf("first entry: got %+v, want the fields of %+v", first, want)
	}
	if first.Detail["n"] != "0" || first.Detail["kind"] != "test" {
		t.Errorf("first entry detail: got %v, want n=0 kind=test", first.Detail)
	}
	for i := 1; i < len(entries); i++ {
		if entries[i].Seq != uint64(i+1) {
			t.Errorf("entry %d seq: got %d, want %d", i, entries[i].Seq, i+1)
		}
		if entries[i].Prev != entries[i-1].Hash {
			t.Errorf("entry %d prev: got %s, want %s", i, entries[i].Prev, entries[i-1].Hash)
		}
	}
	if got := entries[10].Time; !got.Equal(stamped) || got.Location() != time.UTC {
		t.Errorf("stamped entry time: got %v, want %v in UTC", got, stamped)
	}
}

// TestCanonicalEncoding recomputes every hash with an independent
// implementation of the encoding in the package doc.
func TestCanonicalEncoding(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, testOptions())
	appendEvents(t, l, 0, 3)
	err := l.Append(context.Background(), whispersync.AuditEvent{
		Principal: "p", Action: "search", Outcome: whispersync.OutcomeSuccess,
		Detail: map[string]string{"b": "2", "a": "1", "": "<&>"},
		Hashed: map[string]string{"term": "x"},
	})
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	closeLog(t, l)

	data, err := os.ReadFile(filepath.Join(dir, "00000001.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	for i, text := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(text), &m); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if got, want := docHash(t, m), unquote(t, m["hash"]); got != want {
			t.Errorf("line %d hash: got %s from the documented encoding, want %s", i+1, got, want)
		}
	}
}

// docHash computes the hash of a line as the package doc specifies it.
func docHash(t *testing.T, m map[string]json.RawMessage) string {
	t.Helper()
	str := func(b []byte, s string) []byte {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		return append(b, s...)
	}
	strMap := func(b []byte, raw json.RawMessage) []byte {
		var m map[string]string
		if raw != nil {
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatal(err)
			}
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = binary.BigEndian.AppendUint32(b, uint32(len(keys)))
		for _, k := range keys {
			b = str(str(b, k), m[k])
		}
		return b
	}

	b := []byte("whispersync-audit-v1\x00")
	prev, err := hex.DecodeString(unquote(t, m["prev"]))
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, prev...)
	var seq uint64
	if err := json.Unmarshal(m["seq"], &seq); err != nil {
		t.Fatal(err)
	}
	b = binary.BigEndian.AppendUint64(b, seq)
	for _, name := range []string{"time", "principal", "action", "resource", "outcome", "source", "request_id"} {
		s := ""
		if m[name] != nil {
			s = unquote(t, m[name])
		}
		b = str(b, s)
	}
	b = strMap(b, m["detail"])
	b = strMap(b, m["hashed"])
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func unquote(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRotationKeepsChain(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions()
	opts.SegmentMaxBytes = 2000
	l := openLog(t, dir, opts)
	appendEvents(t, l, 0, 40)
	// One Append whose batch spans several segments.
	var many []whispersync.AuditEvent
	for i := 40; i < 80; i++ {
		many = append(many, event(i))
	}
	if err := l.Append(context.Background(), many...); err != nil {
		t.Fatalf("Append(40 events): %v", err)
	}
	closeLog(t, l)

	report := verifyOK(t, dir, 80)
	files := segmentFiles(t, dir)
	if len(files) < 5 || report.Segments != len(files) {
		t.Fatalf("segments: got %d files and report %d, want the same number and at least 5", len(files), report.Segments)
	}
	for i, path := range files {
		if want := fmt.Sprintf("%08d.jsonl", i+1); filepath.Base(path) != want {
			t.Errorf("segment %d name: got %s, want %s", i, filepath.Base(path), want)
		}
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if info.Size() > opts.SegmentMaxBytes {
			t.Errorf("segment %s size: got %d, want at most %d", filepath.Base(path), info.Size(), opts.SegmentMaxBytes)
		}
	}
	if n := len(readAll(t, dir)); n != 80 {
		t.Errorf("Read: got %d entries, want 80", n)
	}
}

func TestOversizedEntryGetsOwnSegment(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions()
	opts.SegmentMaxBytes = 100
	l := openLog(t, dir, opts)
	appendEvents(t, l, 0, 3)
	closeLog(t, l)

	verifyOK(t, dir, 3)
	if n := len(segmentFiles(t, dir)); n != 3 {
		t.Errorf("segments: got %d, want 3, one per entry larger than the limit", n)
	}
}

func TestReopenContinuesChain(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions()
	opts.SegmentMaxBytes = 1500
	for round := range 3 {
		l := openLog(t, dir, opts)
		appendEvents(t, l, round*10, round*10+10)
		if err := l.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		verifyOK(t, dir, uint64(round*10+10))
	}
	if n := len(segmentFiles(t, dir)); n < 2 {
		t.Errorf("segments: got %d, want the reopens to span several", n)
	}
}

// TestReopenAfterEmptySegment covers a crash just after a new segment was
// created and before anything was written to it.
func TestReopenAfterEmptySegment(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, testOptions())
	appendEvents(t, l, 0, 5)
	closeLog(t, l)
	if err := os.WriteFile(filepath.Join(dir, "00000002.jsonl"), nil, 0o600); err != nil {
		t.Fatal(err)
	}

	l = openLog(t, dir, testOptions())
	appendEvents(t, l, 5, 8)
	closeLog(t, l)
	verifyOK(t, dir, 8)
	entries := readAll(t, dir)
	if entries[5].Seq != 6 || entries[5].Prev != entries[4].Hash {
		t.Errorf("entry after the empty segment: got seq %d prev %s, want seq 6 prev %s", entries[5].Seq, entries[5].Prev, entries[4].Hash)
	}
}

func TestTornTailRecovery(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, testOptions())
	appendEvents(t, l, 0, 5)
	closeLog(t, l)
	path := filepath.Join(dir, "00000001.jsonl")
	complete, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	torn := append(bytes.Clone(complete), `{"seq":6,"time":"2026-03-14T15:09`...)
	if err := os.WriteFile(path, torn, 0o600); err != nil {
		t.Fatal(err)
	}

	report := verifyOK(t, dir, 5)
	if !report.Incomplete {
		t.Errorf("report incomplete: got false, want true")
	}

	l = openLog(t, dir, testOptions())
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, complete) {
		t.Errorf("segment after Open: got %d bytes, want the %d bytes of complete lines", len(data), len(complete))
	}
	appendEvents(t, l, 5, 7)
	closeLog(t, l)
	report = verifyOK(t, dir, 7)
	if report.Incomplete {
		t.Errorf("report incomplete after recovery: got true, want false")
	}
}

func TestOpenRejectsBrokenLastSegment(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(lines []string) []string
	}{
		{"edited entry", func(lines []string) []string {
			lines[2] = strings.Replace(lines[2], "user-2", "user-9", 1)
			return lines
		}},
		{"malformed line", func(lines []string) []string {
			lines[4] = "{not json"
			return lines
		}},
		{"deleted entry", func(lines []string) []string {
			return slices.Delete(lines, 1, 2)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			l := openLog(t, dir, testOptions())
			appendEvents(t, l, 0, 5)
			closeLog(t, l)
			path := filepath.Join(dir, "00000001.jsonl")
			writeLines(t, path, tt.tamper(readLines(t, path)))

			_, err := audit.Open(dir, testOptions())
			if !errors.Is(err, audit.ErrBroken) {
				t.Fatalf("Open: got %v, want an error wrapping ErrBroken", err)
			}
		})
	}
}

func TestOpenRejectsBrokenLinkToPreviousSegment(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions()
	opts.SegmentMaxBytes = 1000
	l := openLog(t, dir, opts)
	appendEvents(t, l, 0, 10)
	closeLog(t, l)
	files := segmentFiles(t, dir)
	last := files[len(files)-1]
	lines := readLines(t, last)
	writeLines(t, last, lines[1:])

	if _, err := audit.Open(dir, opts); !errors.Is(err, audit.ErrBroken) {
		t.Fatalf("Open: got %v, want an error wrapping ErrBroken", err)
	}
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

func writeLines(t *testing.T, path string, lines []string) {
	t.Helper()
	text := strings.Join(lines, "\n")
	if len(lines) > 0 {
		text += "\n"
	}
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// rehash replaces the hash of a line by the one the documented encoding
// gives, as an attacker who knows the format would.
func rehash(t *testing.T, text string) string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(text), &m); err != nil {
		t.Fatal(err)
	}
	old := unquote(t, m["hash"])
	return strings.Replace(text, old, docHash(t, m), 1)
}

func TestVerifyDetectsTampering(t *testing.T) {
	tests := []struct {
		name    string
		tamper  func(t *testing.T, dir string, files []string)
		segment string
		line    int
		seq     uint64
		reason  string
	}{
		{
			name: "edited principal",
			tamper: func(t *testing.T, dir string, files []string) {
				lines := readLines(t, files[0])
				lines[3] = strings.Replace(lines[3], `"user-3"`, `"admin"`, 1)
				writeLines(t, files[0], lines)
			},
			segment: "00000001.jsonl", line: 4, seq: 4, reason: "edited",
		},
		{
			name: "edited time",
			tamper: func(t *testing.T, dir string, files []string) {
				lines := readLines(t, files[0])
				lines[2] = strings.Replace(lines[2], "2026-03-14", "2026-03-15", 1)
				writeLines(t, files[0], lines)
			},
			segment: "00000001.jsonl", line: 3, seq: 3, reason: "edited",
		},
		{
			name: "edited and rehashed",
			tamper: func(t *testing.T, dir string, files []string) {
				lines := readLines(t, files[0])
				lines[2] = rehash(t, strings.Replace(lines[2], `"user-2"`, `"admin"`, 1))
				writeLines(t, files[0], lines)
			},
			segment: "00000001.jsonl", line: 4, seq: 4, reason: "replaced",
		},
		{
			name: "added member",
			tamper: func(t *testing.T, dir string, files []string) {
				lines := readLines(t, files[0])
				lines[1] = strings.Replace(lines[1], `{"seq":2,`, `{"seq":2,"note":"x",`, 1)
				writeLines(t, files[0], lines)
			},
			segment: "00000001.jsonl", line: 2, reason: "malformed",
		},
		{
			name: "deleted entry",
			tamper: func(t *testing.T, dir string, files []string) {
				lines := readLines(t, files[0])
				writeLines(t, files[0], slices.Delete(lines, 2, 3))
			},
			segment: "00000001.jsonl", line: 3, seq: 4, reason: "deleted",
		},
		{
			name: "inserted copy",
			tamper: func(t *testing.T, dir string, files []string) {
				lines := readLines(t, files[0])
				writeLines(t, files[0], slices.Insert(lines, 2, lines[1]))
			},
			segment: "00000001.jsonl", line: 3, seq: 2, reason: "inserted",
		},
		{
			name: "swapped entries",
			tamper: func(t *testing.T, dir string, files []string) {
				lines := readLines(t, files[0])
				lines[1], lines[2] = lines[2], lines[1]
				writeLines(t, files[0], lines)
			},
			segment: "00000001.jsonl", line: 2, seq: 3, reason: "moved",
		},
		{
			name: "first entry deleted",
			tamper: func(t *testing.T, dir string, files []string) {
				lines := readLines(t, files[0])
				writeLines(t, files[0], lines[1:])
			},
			segment: "00000001.jsonl", line: 1, seq: 2, reason: "want 1",
		},
		{
			name: "last entry of a segment deleted",
			tamper: func(t *testing.T, dir string, files []string) {
				lines := readLines(t, files[0])
				writeLines(t, files[0], lines[:len(lines)-1])
			},
			segment: "00000002.jsonl", line: 1, reason: "deleted",
		},
		{
			name: "middle segment deleted",
			tamper: func(t *testing.T, dir string, files []string) {
				if err := os.Remove(files[1]); err != nil {
					t.Fatal(err)
				}
			},
			segment: "00000002.jsonl", line: 0, reason: "missing",
		},
		{
			name: "middle segment emptied",
			tamper: func(t *testing.T, dir string, files []string) {
				writeLines(t, files[1], nil)
			},
			segment: "00000003.jsonl", line: 1, reason: "deleted",
		},
		{
			name: "first segment deleted",
			tamper: func(t *testing.T, dir string, files []string) {
				if err := os.Remove(files[0]); err != nil {
					t.Fatal(err)
				}
			},
			segment: "00000001.jsonl", line: 0, reason: "missing",
		},
		{
			name: "incomplete line in a middle segment",
			tamper: func(t *testing.T, dir string, files []string) {
				data, err := os.ReadFile(files[0])
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(files[0], data[:len(data)-1], 0o600); err != nil {
					t.Fatal(err)
				}
			},
			segment: "00000001.jsonl", reason: "incomplete",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			opts := testOptions()
			opts.SegmentMaxBytes = 2000
			l := openLog(t, dir, opts)
			appendEvents(t, l, 0, 30)
			closeLog(t, l)
			files := segmentFiles(t, dir)
			if len(files) < 3 {
				t.Fatalf("segments: got %d, want at least 3", len(files))
			}
			tt.tamper(t, dir, files)

			report, err := audit.Verify(dir)
			if !errors.Is(err, audit.ErrBroken) {
				t.Fatalf("Verify: got %v, want an error wrapping ErrBroken", err)
			}
			p := report.Problem
			if p == nil {
				t.Fatalf("report problem: got nil, want one")
			}
			if p.Segment != tt.segment {
				t.Errorf("problem segment: got %s, want %s (%v)", p.Segment, tt.segment, p)
			}
			if tt.line > 0 && p.Line != tt.line {
				t.Errorf("problem line: got %d, want %d (%v)", p.Line, tt.line, p)
			}
			if tt.seq > 0 && p.Seq != tt.seq {
				t.Errorf("problem seq: got %d, want %d (%v)", p.Seq, tt.seq, p)
			}
			if !strings.Contains(p.Reason, tt.reason) {
				t.Errorf("problem reason: got %q, want it to contain %q", p.Reason, tt.reason)
			}
		})
	}
}

func TestVerifyEmptyLog(t *testing.T) {
	dir := t.TempDir()
	report := verifyOK(t, dir, 0)
	if report.Head != strings.Repeat("0", 64) {
		t.Errorf("report head: got %s, want 64 zeros", report.Head)
	}
	if _, err := audit.Verify(filepath.Join(dir, "missing")); err == nil || errors.Is(err, audit.ErrBroken) {
		t.Errorf("Verify(missing folder): got %v, want an I/O error", err)
	}
}

func TestHashedValuesNeverStored(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, testOptions())
	const secret = "plaintext-search-term-canary"
	err := l.Append(context.Background(), whispersync.AuditEvent{
		Principal: "u1", Action: "memo.search", Outcome: whispersync.OutcomeSuccess,
		Hashed: map[string]string{"query": secret},
	})
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	closeLog(t, l)

	for _, path := range segmentFiles(t, dir) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(data, []byte(secret)) {
			t.Errorf("segment %s: contains the plaintext hashed value", filepath.Base(path))
		}
	}
	entries := readAll(t, dir)
	want := audit.HashValue(testKey, secret)
	if got := entries[0].Hashed["query"]; got != want {
		t.Errorf("hashed query: got %s, want %s", got, want)
	}
	if other := audit.HashValue(bytes.Repeat([]byte{1}, 32), secret); other == want {
		t.Errorf("HashValue: got the same HMAC under two keys, want the key to matter")
	}
}

func TestInvalidUTF8IsStoredVerifiably(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, testOptions())
	err := l.Append(context.Background(), whispersync.AuditEvent{
		Principal: "bad\xffname", Action: "login", Outcome: whispersync.OutcomeFailure,
		Detail: map[string]string{"k\xfe": "v\xc0\xaf"},
	})
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	closeLog(t, l)

	verifyOK(t, dir, 1)
	e := readAll(t, dir)[0]
	if e.Principal != "bad\uFFFDname" {
		t.Errorf("principal: got %q, want %q", e.Principal, "bad\uFFFDname")
	}
	if e.Detail["k\uFFFD"] != "v\uFFFD\uFFFD" {
		t.Errorf("detail: got %q, want one U+FFFD per invalid byte", e.Detail)
	}
}

func TestConcurrentAppends(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions()
	opts.SegmentMaxBytes = 16 << 10
	l := openLog(t, dir, opts)

	const goroutines, perGoroutine = 32, 40
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range perGoroutine {
				ev := event(i)
				ev.Principal = fmt.Sprintf("g%d", g)
				if err := l.Append(context.Background(), ev); err != nil {
					t.Errorf("Append(goroutine %d, event %d): %v", g, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	closeLog(t, l)

	verifyOK(t, dir, goroutines*perGoroutine)
	seen := map[string]bool{}
	for _, e := range readAll(t, dir) {
		key := e.Principal + "/" + e.RequestID
		if seen[key] {
			t.Errorf("event %s: written twice", key)
		}
		seen[key] = true
	}
	if len(seen) != goroutines*perGoroutine {
		t.Errorf("distinct events: got %d, want %d", len(seen), goroutines*perGoroutine)
	}
}

// faultyFile fails its nth Write or Sync.
type faultyFile struct {
	audit.SegmentFile
	mu                      sync.Mutex
	writes, syncs           int
	failWriteAt, failSyncAt int
}

func (f *faultyFile) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writes++
	if f.writes == f.failWriteAt {
		// A short write, as a full disk produces.
		n, _ := f.SegmentFile.Write(p[:len(p)/2])
		return n, errors.New("no space left on device")
	}
	return f.SegmentFile.Write(p)
}

func (f *faultyFile) Sync() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.syncs++
	if f.syncs == f.failSyncAt {
		return errors.New("input/output error")
	}
	return f.SegmentFile.Sync()
}

func TestFailClosed(t *testing.T) {
	tests := []struct {
		name                    string
		failWriteAt, failSyncAt int
	}{
		{"write fails", 4, 0},
		{"fsync fails", 0, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			faulty := &faultyFile{failWriteAt: tt.failWriteAt, failSyncAt: tt.failSyncAt}
			opts := audit.WithOpenFile(testOptions(), func(name string, flag int) (audit.SegmentFile, error) {
				f, err := os.OpenFile(name, flag, 0o600)
				if err != nil {
					return nil, err
				}
				faulty.SegmentFile = f
				return faulty, nil
			})
			l := openLog(t, dir, opts)
			appendEvents(t, l, 0, 3)

			err := l.Append(context.Background(), event(3))
			if code := whispersync.ErrorCode(err); code != whispersync.EUNAVAILABLE {
				t.Fatalf("Append after the failure: got %v (code %q), want code %q", err, code, whispersync.EUNAVAILABLE)
			}
			if failures := l.Failures(); failures != 1 {
				t.Errorf("failures: got %d, want 1", failures)
			}

			// The file works again, but the log stays closed to appends.
			for i := 4; i < 6; i++ {
				if err := l.Append(context.Background(), event(i)); whispersync.ErrorCode(err) != whispersync.EUNAVAILABLE {
					t.Errorf("Append(%d) after the failure: got %v, want code %q", i, err, whispersync.EUNAVAILABLE)
				}
			}
			if failures := l.Failures(); failures != 3 {
				t.Errorf("failures: got %d, want 3", failures)
			}
			if msg := whispersync.ErrorMessage(err); strings.Contains(msg, "device") || strings.Contains(msg, "input/output") {
				t.Errorf("user message: got %q, want no operator detail", msg)
			}
			closeLog(t, l)

			// Reopening recovers: a short write leaves an incomplete line
			// that Open removes.
			l = openLog(t, dir, testOptions())
			appendEvents(t, l, 10, 12)
			closeLog(t, l)
			report, err := audit.Verify(dir)
			if err != nil {
				t.Fatalf("Verify after reopen: %v", err)
			}
			if report.Entries < 5 {
				t.Errorf("entries after reopen: got %d, want at least 5", report.Entries)
			}
		})
	}
}

func TestFailClosedOnRotation(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions()
	opts.SegmentMaxBytes = 1000
	opens := 0
	opts = audit.WithOpenFile(opts, func(name string, flag int) (audit.SegmentFile, error) {
		opens++
		if opens > 1 {
			return nil, errors.New("too many open files")
		}
		return os.OpenFile(name, flag, 0o600)
	})
	l := openLog(t, dir, opts)
	var err error
	for i := 0; i < 20 && err == nil; i++ {
		err = l.Append(context.Background(), event(i))
	}
	if whispersync.ErrorCode(err) != whispersync.EUNAVAILABLE {
		t.Fatalf("Append when the next segment cannot be created: got %v, want code %q", err, whispersync.EUNAVAILABLE)
	}
	if err := l.Append(context.Background(), event(99)); err == nil {
		t.Errorf("Append after the failure: got nil, want an error")
	}
}

func TestAppendRejectsInvalidEvent(t *testing.T) {
	l := openLog(t, t.TempDir(), testOptions())
	tests := []struct {
		name string
		ev   whispersync.AuditEvent
	}{
		{"no action", whispersync.AuditEvent{Principal: "u", Outcome: whispersync.OutcomeSuccess}},
		{"no outcome", whispersync.AuditEvent{Principal: "u", Action: "a"}},
		{"time after year 9999", whispersync.AuditEvent{Action: "a", Outcome: "success", Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}},
	}
	for _, tt := range tests {
		if err := l.Append(context.Background(), tt.ev); err == nil {
			t.Errorf("Append(%s): got nil, want an error", tt.name)
		}
	}
	if err := l.Append(context.Background(), event(0)); err != nil {
		t.Errorf("Append after invalid events: got %v, want nil", err)
	}
	if failures := l.Failures(); failures != 0 {
		t.Errorf("failures: got %d, want 0 for invalid events", failures)
	}
}

func TestAppendAfterClose(t *testing.T) {
	l := openLog(t, t.TempDir(), testOptions())
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := l.Append(context.Background(), event(0)); !errors.Is(err, audit.ErrClosed) {
		t.Errorf("Append after Close: got %v, want ErrClosed", err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: got %v, want nil", err)
	}
}

func TestAppendCanceledContext(t *testing.T) {
	l := openLog(t, t.TempDir(), testOptions())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := l.Append(ctx, event(0))
	if err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("Append(canceled context): got %v, want nil or context.Canceled", err)
	}
}

func TestOpenRejectsShortKey(t *testing.T) {
	_, err := audit.Open(t.TempDir(), audit.Options{HMACKey: make([]byte, 31)})
	if err == nil {
		t.Fatal("Open(31-byte key): got nil, want an error")
	}
}

func TestFileModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "audit")
	opts := testOptions()
	opts.SegmentMaxBytes = 500
	l := openLog(t, dir, opts)
	appendEvents(t, l, 0, 4)
	closeLog(t, l)

	info, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		t.Errorf("folder mode: got %v, want no group or other access", perm)
	}
	for _, path := range segmentFiles(t, dir) {
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if perm := info.Mode().Perm(); perm != 0o600 {
			t.Errorf("segment %s mode: got %v, want 0600", filepath.Base(path), perm)
		}
	}
}
