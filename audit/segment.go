package audit

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// segmentFile is the part of *os.File that the writer uses. Tests replace it
// to inject write and fsync failures.
type segmentFile interface {
	Write(p []byte) (int, error)
	Sync() error
	Close() error
}

func openSegmentFile(name string, flag int) (segmentFile, error) {
	return os.OpenFile(name, flag, 0o600)
}

const segmentExt = ".jsonl"

// segmentName returns the file name of segment number n.
func segmentName(n int) string { return fmt.Sprintf("%08d%s", n, segmentExt) }

// listSegments returns the numbers of the segment files in dir in increasing
// order. It ignores every other file.
func listSegments(dir string) ([]int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var numbers []int
	for _, e := range entries {
		name := e.Name()
		digits, ok := strings.CutSuffix(name, segmentExt)
		if !ok || len(digits) != 8 || !e.Type().IsRegular() {
			continue
		}
		n, err := strconv.Atoi(digits)
		if err != nil || n < 1 || digits[0] == '+' || digits[0] == '-' {
			continue
		}
		numbers = append(numbers, n)
	}
	slices.Sort(numbers)
	return numbers, nil
}

// Problem is the first entry that breaks the chain.
type Problem struct {
	// Segment is the file name of the segment, such as 00000003.jsonl, or
	// of the digest, such as 00000002.json, for a problem with a digest.
	Segment string `json:"segment"`
	// Line is the line number in the segment, from 1. It is 0 when the
	// problem is a missing segment or lies in a digest.
	Line int `json:"line"`
	// Seq is the seq that the entry carries, 0 when the line is unreadable.
	Seq uint64 `json:"seq"`
	// Reason describes the problem.
	Reason string `json:"reason"`
}

func (p *Problem) String() string {
	return fmt.Sprintf("segment %s line %d (seq %d): %s", p.Segment, p.Line, p.Seq, p.Reason)
}

// chain checks entries in log order, across segments.
type chain struct {
	// started is false until the first entry when the checker starts in the
	// middle of the log, and then accepts whatever seq and prev that entry
	// carries.
	started bool
	seq     uint64            // seq of the last entry checked
	hash    [sha256.Size]byte // hash of the last entry checked

	// skipThrough is the seq of a trusted starting point whose hash is in
	// hash. Lines up to it are passed over, and the line with that seq must
	// have that hash; it is zero once that line was seen.
	skipThrough uint64
	skipped     int
	// checkpoints are the hashes that signed digests vouch for, in
	// increasing seq order; cp indexes the next one expected.
	checkpoints []checkpoint
	cp          int
	// segment is the file name of the segment being checked.
	segment string
}

// checkpoint is an entry hash that a signed digest vouches for.
type checkpoint struct {
	seq     uint64
	hash    [sha256.Size]byte
	from    uint64 // first seq of the range the checkpoint closes
	segment string // the segment that must hold the entry, "" for any
	digest  string
}

// newChain returns a checker for a log read from its first entry, whose
// prev is all zeros.
func newChain() *chain { return &chain{started: true} }

// checkedLine is the result of the checks on one line that need no other
// line: decoding it and recomputing its hash.
type checkedLine struct {
	seq        uint64
	prev, hash [sha256.Size]byte
	malformed  bool
	reason     string // why the line is malformed or its hash is wrong
}

// next checks that the line follows the entries checked so far and returns
// the reason if it does not. A broken link is reported before a wrong hash,
// so that a deleted or moved entry is named as such.
func (c *chain) next(l checkedLine) string {
	if c.skipThrough > 0 && !l.malformed && l.seq <= c.skipThrough {
		c.skipped++
		if l.seq < c.skipThrough {
			return ""
		}
		if l.hash != c.hash {
			return "hash differs from the one signed in the digest where the check starts: the entry was rewritten"
		}
		c.skipThrough = 0
		return ""
	}
	if c.skipThrough > 0 && !l.malformed {
		return fmt.Sprintf("entry %d, where the check starts, is missing: entries were deleted", c.skipThrough)
	}
	if l.malformed {
		return l.reason
	}
	if c.started {
		if l.seq != c.seq+1 {
			return fmt.Sprintf("seq is %d, want %d: an entry was deleted, inserted or moved", l.seq, c.seq+1)
		}
		if l.prev != c.hash {
			return fmt.Sprintf("prev does not match the hash of entry %d: an entry was replaced", c.seq)
		}
	}
	if l.reason != "" {
		return l.reason
	}
	for ; c.cp < len(c.checkpoints) && c.checkpoints[c.cp].seq == l.seq; c.cp++ {
		cp := &c.checkpoints[c.cp]
		if cp.hash != l.hash {
			return fmt.Sprintf("hash differs from the one signed in digest %s for seq %d to %d: an entry in that range was rewritten and the chain recomputed", cp.digest, cp.from, cp.seq)
		}
		if cp.segment != "" && cp.segment != c.segment {
			return fmt.Sprintf("digest %s signed this entry in segment %s: segments were renamed or merged", cp.digest, cp.segment)
		}
	}
	c.started, c.seq, c.hash = true, l.seq, l.hash
	return ""
}

// parallelMinLines is the least number of lines that checkSegment gives to
// each goroutine. The number is an estimate of where a goroutine starts to
// pay for itself, not a measurement.
const parallelMinLines = 2048

// checkSegment checks the complete lines of a segment's data against c and
// returns the number of entries checked, the length of the complete lines,
// and the first problem. Bytes after the last newline are an incomplete
// line, which the caller judges. Lines are decoded and hashed on every CPU,
// then linked in order.
func checkSegment(name string, data []byte, c *chain) (entries int, complete int, problem *Problem) {
	complete = bytes.LastIndexByte(data, '\n') + 1
	var lines [][]byte
	for rest := data[:complete]; len(rest) > 0; {
		end := bytes.IndexByte(rest, '\n')
		lines = append(lines, rest[:end])
		rest = rest[end+1:]
	}

	c.segment = name
	checked := make([]checkedLine, len(lines))
	workers := min(runtime.GOMAXPROCS(0), max(1, len(lines)/parallelMinLines))
	var wg sync.WaitGroup
	for w := range workers {
		from, to := w*len(lines)/workers, (w+1)*len(lines)/workers
		wg.Go(func() {
			var checker lineChecker
			for i := from; i < to; i++ {
				checked[i] = checker.check(lines[i])
			}
		})
	}
	wg.Wait()

	for i, l := range checked {
		if reason := c.next(l); reason != "" {
			return entries, complete, &Problem{Segment: name, Line: i + 1, Seq: l.seq, Reason: reason}
		}
		entries++
	}
	return entries, complete, nil
}

// readLastLine returns the last line of a segment that is not the last one,
// without its newline, or nil when the file is empty. It reads only the end
// of the file.
func readLastLine(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := info.Size()
	if size == 0 {
		return nil, nil
	}

	for window := int64(4096); ; window *= 2 {
		start := max(0, size-window)
		buf := make([]byte, size-start)
		if _, err := f.ReadAt(buf, start); err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		if buf[len(buf)-1] != '\n' {
			return nil, fmt.Errorf("%s ends with an incomplete line", filepath.Base(path))
		}
		buf = buf[:len(buf)-1]
		if i := bytes.LastIndexByte(buf, '\n'); i >= 0 {
			return buf[i+1:], nil
		}
		if start == 0 {
			return buf, nil
		}
	}
}
