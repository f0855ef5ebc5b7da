package audit

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// ErrBroken is wrapped by the errors of Verify and Open when an entry fails
// its check.
var ErrBroken = errors.New("audit chain broken")

// Report is the result of Verify.
type Report struct {
	// Segments is the number of segment files found.
	Segments int
	// Entries is the number of entries that passed, up to the first problem.
	Entries uint64
	// Head is the hash of the last entry that passed, 64 zeros when none did.
	Head string
	// Incomplete is set when the last segment ends with an incomplete line,
	// which a crash during a write leaves and Open removes. It is no
	// problem, because no Append acknowledged it.
	Incomplete bool
	// Problem is the first entry that breaks the chain, nil when none does.
	Problem *Problem

	// The members below are set by VerifySigned only.

	// Digests is the number of digest files checked.
	Digests int
	// SignedThrough is the seq of the last entry the newest digest covers.
	SignedThrough uint64
	// LastDigest is when the newest digest was signed.
	LastDigest time.Time
	// Unsigned counts the entries after SignedThrough.
	Unsigned uint64
	// From is the first seq whose entry was checked when
	// VerifyOptions.From was set, 0 otherwise.
	From uint64
}

// Verify checks every segment of the log in dir: that the segments are
// numbered from 1 without gaps, that seq counts from 1 without gaps, that
// each prev is the hash of the entry before, and that each hash is right. It
// returns the report and, when the chain is broken, an error wrapping
// ErrBroken that names the first bad entry. Other errors are I/O failures.
//
// Verify reads a log that is being appended to as it was when each segment
// was read. It reads one segment into memory at a time.
func Verify(dir string) (Report, error) {
	report := Report{Head: zeroHash}
	segments, err := listSegments(dir)
	if err != nil {
		return report, fmt.Errorf("audit: verify: %w", err)
	}
	report.Segments = len(segments)
	if err := walk(dir, segments, 1, newChain(), &report); err != nil {
		return report, fmt.Errorf("audit: verify: %w", err)
	}
	if report.Problem != nil {
		return report, fmt.Errorf("audit: verify %s: %s: %w", dir, report.Problem, ErrBroken)
	}
	return report, nil
}

// walk checks the segments numbered in segments, which must count up from
// first without gaps, against c. It sets report's entries, head and first
// problem, and returns only I/O errors.
func walk(dir string, segments []int, first int, c *chain, report *Report) error {
	for i, n := range segments {
		name := segmentName(n)
		if n != first+i {
			report.Problem = &Problem{Segment: segmentName(first + i), Reason: "segment is missing"}
			return nil
		}
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return err
		}

		entries, complete, problem := checkSegment(name, data, c)
		report.Entries += uint64(entries) // #nosec G115 -- a count of lines, never negative
		report.Head = hex.EncodeToString(c.hash[:])
		if problem != nil {
			report.Problem = problem
			return nil
		}
		if complete < len(data) {
			if i < len(segments)-1 {
				report.Problem = &Problem{Segment: name, Line: entries + 1, Reason: "incomplete line in a segment that is not the last"}
				return nil
			}
			report.Incomplete = true
		}
	}
	return nil
}

// Read calls fn for each complete entry of the log in dir, in order, and
// stops at the first error that fn returns, which Read returns. It checks
// neither hashes nor links, which is the work of Verify, and skips an
// incomplete last line.
func Read(dir string, fn func(Entry) error) error {
	segments, err := listSegments(dir)
	if err != nil {
		return fmt.Errorf("audit: read: %w", err)
	}
	for _, n := range segments {
		name := segmentName(n)
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return fmt.Errorf("audit: read: %w", err)
		}

		rest := data[:bytes.LastIndexByte(data, '\n')+1]
		for lineNo := 1; len(rest) > 0; lineNo++ {
			end := bytes.IndexByte(rest, '\n')
			l, err := parseLine(rest[:end])
			rest = rest[end+1:]
			if err != nil {
				return fmt.Errorf("audit: read %s line %d: %w", name, lineNo, err)
			}
			e, err := l.entry()
			if err != nil {
				return fmt.Errorf("audit: read %s line %d: %w", name, lineNo, err)
			}
			if err := fn(e); err != nil {
				return err
			}
		}
	}
	return nil
}
