package audit_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/whispersync/whispersync/audit"
)

var digestKey = audit.SigningKey(bytes.Repeat([]byte{0x17}, 32))

// clock returns a time one second later on every call.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

func signedOptions() audit.Options {
	opts := testOptions()
	opts.Now = (&clock{t: fixedNow}).Now
	opts.DigestKey = digestKey
	opts.SegmentMaxBytes = 2000
	return opts
}

// signedLog writes 30 entries in several segments with digests 1 (empty,
// at open), 2 (entries 1 to 10), 3 (11 to 20) and 4 (21 to 30, at close).
func signedLog(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "audit")
	l, err := audit.Open(dir, signedOptions())
	if err != nil {
		t.Fatal(err)
	}
	appendEvents(t, l, 0, 10)
	if err := l.SignDigest(context.Background()); err != nil {
		t.Fatalf("SignDigest: %v", err)
	}
	appendEvents(t, l, 10, 20)
	if err := l.SignDigest(context.Background()); err != nil {
		t.Fatalf("SignDigest: %v", err)
	}
	appendEvents(t, l, 20, 30)
	closeLog(t, l)
	return dir
}

func verifySigned(dir string, opts audit.VerifyOptions) (audit.Report, error) {
	if opts.Key == nil {
		opts.Key = audit.PublicKey(digestKey)
	}
	return audit.VerifySigned(dir, opts)
}

func TestVerifySignedIntactLog(t *testing.T) {
	dir := signedLog(t)
	report, err := verifySigned(dir, audit.VerifyOptions{})
	if err != nil {
		t.Fatalf("VerifySigned: %v", err)
	}
	if report.Entries != 30 || report.Digests != 4 || report.SignedThrough != 30 || report.Unsigned != 0 {
		t.Errorf("report: got entries %d digests %d signed through %d unsigned %d, want 30 4 30 0",
			report.Entries, report.Digests, report.SignedThrough, report.Unsigned)
	}
	if report.Segments < 3 {
		t.Errorf("segments: got %d, want at least 3 for this test to mean anything", report.Segments)
	}
}

// allLines returns the lines of every segment and how many each held.
func allLines(t *testing.T, dir string) ([]string, []int) {
	t.Helper()
	var lines []string
	var counts []int
	for _, f := range segmentFiles(t, dir) {
		l := readLines(t, f)
		lines = append(lines, l...)
		counts = append(counts, len(l))
	}
	return lines, counts
}

// forge rewrites the log as an attacker who knows the format but not the
// signing key would: it changes the lines with mutate, then recomputes
// seq, prev and hash of every line so that the chain alone verifies.
func forge(t *testing.T, dir string, mutate func([]string) []string) {
	t.Helper()
	lines, counts := allLines(t, dir)
	lines = mutate(lines)
	prev := strings.Repeat("0", 64)
	for i, text := range lines {
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(text), &m); err != nil {
			t.Fatal(err)
		}
		oldSeq, oldPrev, oldHash := string(m["seq"]), unquote(t, m["prev"]), unquote(t, m["hash"])
		m["seq"] = json.RawMessage(fmt.Sprint(i + 1))
		m["prev"] = json.RawMessage(`"` + prev + `"`)
		hash := docHash(t, m)
		text = strings.Replace(text, `{"seq":`+oldSeq+`,`, fmt.Sprintf(`{"seq":%d,`, i+1), 1)
		text = strings.Replace(text, `"prev":"`+oldPrev+`"`, `"prev":"`+prev+`"`, 1)
		text = strings.Replace(text, `"hash":"`+oldHash+`"`, `"hash":"`+hash+`"`, 1)
		lines[i], prev = text, hash
	}

	files := segmentFiles(t, dir)
	for i, f := range files {
		n := min(counts[i], len(lines))
		if i == len(files)-1 {
			n = len(lines)
		}
		writeLines(t, f, lines[:n])
		lines = lines[n:]
	}
	if _, err := audit.Verify(dir); err != nil {
		t.Fatalf("the forged chain should verify without digests: %v", err)
	}
}

func digestPath(dir string, n int) string {
	return filepath.Join(dir, "digests", fmt.Sprintf("%08d.json", n))
}

func TestVerifySignedDetectsTampering(t *testing.T) {
	otherKey := audit.SigningKey(bytes.Repeat([]byte{0x18}, 32))
	tests := []struct {
		name   string
		tamper func(t *testing.T, dir string)
		opts   audit.VerifyOptions
		reason string
	}{
		{
			name: "edited entry, chain recomputed",
			tamper: func(t *testing.T, dir string) {
				forge(t, dir, func(lines []string) []string {
					lines[4] = strings.Replace(lines[4], `"user-4"`, `"admin"`, 1)
					return lines
				})
			},
			reason: "rewritten",
		},
		{
			name: "deleted entry, chain recomputed",
			tamper: func(t *testing.T, dir string) {
				forge(t, dir, func(lines []string) []string { return append(lines[:11:11], lines[12:]...) })
			},
			reason: "rewritten",
		},
		{
			name: "inserted entry, chain recomputed",
			tamper: func(t *testing.T, dir string) {
				forge(t, dir, func(lines []string) []string {
					extra := strings.Replace(lines[14], `"user-14"`, `"intruder"`, 1)
					return append(lines[:15:15], append([]string{extra}, lines[15:]...)...)
				})
			},
			reason: "rewritten",
		},
		{
			name: "reordered entries, chain recomputed",
			tamper: func(t *testing.T, dir string) {
				forge(t, dir, func(lines []string) []string {
					lines[2], lines[3] = lines[3], lines[2]
					return lines
				})
			},
			reason: "rewritten",
		},
		{
			name: "edited entry",
			tamper: func(t *testing.T, dir string) {
				f := segmentFiles(t, dir)[0]
				lines := readLines(t, f)
				lines[1] = strings.Replace(lines[1], `"user-1"`, `"admin"`, 1)
				writeLines(t, f, lines)
			},
			reason: "edited",
		},
		{
			name: "tail cut off",
			tamper: func(t *testing.T, dir string) {
				forge(t, dir, func(lines []string) []string { return lines[:27] })
			},
			reason: "cut off the tail",
		},
		{
			name: "last segment deleted",
			tamper: func(t *testing.T, dir string) {
				files := segmentFiles(t, dir)
				if err := os.Remove(files[len(files)-1]); err != nil {
					t.Fatal(err)
				}
			},
			reason: "cut off the tail",
		},
		{
			name: "digest deleted",
			tamper: func(t *testing.T, dir string) {
				if err := os.Remove(digestPath(dir, 2)); err != nil {
					t.Fatal(err)
				}
			},
			reason: "digest is missing",
		},
		{
			name: "every digest deleted",
			tamper: func(t *testing.T, dir string) {
				if err := os.RemoveAll(filepath.Join(dir, "digests")); err != nil {
					t.Fatal(err)
				}
			},
			reason: "no digest found",
		},
		{
			name: "digest edited",
			tamper: func(t *testing.T, dir string) {
				data, err := os.ReadFile(digestPath(dir, 3))
				if err != nil {
					t.Fatal(err)
				}
				data = bytes.Replace(data, []byte(`"last_seq":20`), []byte(`"last_seq":19`), 1)
				if err := os.WriteFile(digestPath(dir, 3), data, 0o600); err != nil {
					t.Fatal(err)
				}
			},
			reason: "signature does not verify",
		},
		{
			name: "digests signed by another key",
			tamper: func(t *testing.T, dir string) {
				forge(t, dir, func(lines []string) []string { return lines[:25] })
				if err := os.RemoveAll(filepath.Join(dir, "digests")); err != nil {
					t.Fatal(err)
				}
				opts := signedOptions()
				opts.DigestKey = otherKey
				l, err := audit.Open(dir, opts)
				if err != nil {
					t.Fatal(err)
				}
				closeLog(t, l)
			},
			reason: "signature does not verify",
		},
		{
			name: "newest digest deleted, unsigned entries overdue",
			tamper: func(t *testing.T, dir string) {
				if err := os.Remove(digestPath(dir, 4)); err != nil {
					t.Fatal(err)
				}
			},
			opts:   audit.VerifyOptions{MaxUnsigned: 2 * time.Hour, Now: func() time.Time { return fixedNow.Add(3 * time.Hour) }},
			reason: "stopped signing",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := signedLog(t)
			tt.tamper(t, dir)
			report, err := verifySigned(dir, tt.opts)
			if !errors.Is(err, audit.ErrBroken) {
				t.Fatalf("VerifySigned error: got %v, want ErrBroken", err)
			}
			if report.Problem == nil || !strings.Contains(report.Problem.Reason, tt.reason) {
				t.Errorf("problem: got %v, want a reason with %q", report.Problem, tt.reason)
			}
		})
	}
}

func TestVerifySignedUnsignedEntries(t *testing.T) {
	dir := signedLog(t)
	if err := os.Remove(digestPath(dir, 4)); err != nil {
		t.Fatal(err)
	}
	report, err := verifySigned(dir, audit.VerifyOptions{MaxUnsigned: 2 * time.Hour, Now: func() time.Time { return fixedNow.Add(time.Hour) }})
	if err != nil {
		t.Fatalf("VerifySigned: %v", err)
	}
	if report.Unsigned != 10 || report.SignedThrough != 20 {
		t.Errorf("unsigned, signed through: got %d, %d, want 10, 20", report.Unsigned, report.SignedThrough)
	}
}

func TestVerifySignedFrom(t *testing.T) {
	dir := signedLog(t)
	var d struct {
		Digest audit.Digest `json:"digest"`
	}
	data, err := os.ReadFile(digestPath(dir, 3))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatal(err)
	}

	// An edit before the starting point is outside the check.
	f := segmentFiles(t, dir)[0]
	lines := readLines(t, f)
	lines[1] = strings.Replace(lines[1], `"user-1"`, `"admin"`, 1)
	writeLines(t, f, lines)

	report, err := verifySigned(dir, audit.VerifyOptions{From: d.Digest.Time})
	if err != nil {
		t.Fatalf("VerifySigned from digest 3: %v", err)
	}
	if report.From != 11 || report.Entries != 20 {
		t.Errorf("from, entries: got %d, %d, want 11, 20", report.From, report.Entries)
	}
	if _, err := verifySigned(dir, audit.VerifyOptions{}); !errors.Is(err, audit.ErrBroken) {
		t.Errorf("VerifySigned of the whole log: got %v, want ErrBroken", err)
	}

	// The entry where the check starts must still be the signed one.
	forge(t, dir, func(lines []string) []string {
		lines[9] = strings.Replace(lines[9], `"user-9"`, `"admin"`, 1)
		return lines
	})
	if _, err := verifySigned(dir, audit.VerifyOptions{From: d.Digest.Time}); !errors.Is(err, audit.ErrBroken) {
		t.Errorf("VerifySigned from a rewritten starting point: got %v, want ErrBroken", err)
	}
}

func TestOpenSignsUncoveredEntries(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "audit")
	unsigned := testOptions()
	l := openLog(t, dir, unsigned)
	appendEvents(t, l, 0, 5)
	closeLog(t, l)

	l, err := audit.Open(dir, signedOptions())
	if err != nil {
		t.Fatal(err)
	}
	appendEvents(t, l, 5, 8)
	closeLog(t, l)
	report, err := verifySigned(dir, audit.VerifyOptions{})
	if err != nil {
		t.Fatalf("VerifySigned: %v", err)
	}
	if report.Digests != 2 || report.SignedThrough != 8 {
		t.Errorf("digests, signed through: got %d, %d, want 2, 8", report.Digests, report.SignedThrough)
	}
}

func TestOpenRefusesLogShorterThanDigest(t *testing.T) {
	dir := signedLog(t)
	forge(t, dir, func(lines []string) []string { return lines[:25] })
	_, err := audit.Open(dir, signedOptions())
	if !errors.Is(err, audit.ErrBroken) {
		t.Fatalf("Open: got %v, want ErrBroken", err)
	}
}

func TestDigestFileModes(t *testing.T) {
	dir := signedLog(t)
	for path, want := range map[string]os.FileMode{filepath.Join(dir, "digests"): 0o700, digestPath(dir, 1): 0o600} {
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := info.Mode().Perm(); got != want {
			t.Errorf("%s mode: got %o, want %o", path, got, want)
		}
	}
}

func TestVerifySignedRejectsShortKey(t *testing.T) {
	if _, err := audit.VerifySigned(t.TempDir(), audit.VerifyOptions{Key: ed25519.PublicKey{1}}); err == nil {
		t.Error("VerifySigned with a 1-byte key: got nil error")
	}
}
