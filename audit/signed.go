package audit

import (
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"time"
)

// VerifyOptions configures VerifySigned.
type VerifyOptions struct {
	// Key is the public half of the digest signing key. Required.
	Key ed25519.PublicKey
	// DigestDir holds the digest files. Empty means the folder digests in
	// the log's folder.
	DigestDir string
	// From, when set, limits the entry checks to the entries after the
	// newest digest signed before From; that digest's chain head is the
	// trusted starting point. The digests themselves are always checked
	// from the first.
	From time.Time
	// MaxUnsigned, when set, makes entries that no digest covers a problem
	// once the newest digest is older than MaxUnsigned: a writer signs at
	// every digest interval, so an older newest digest means a digest file
	// was deleted or the writer stopped signing.
	MaxUnsigned time.Duration
	// Now returns the current time for MaxUnsigned. Nil means time.Now.
	Now func() time.Time
	// AnchorFile, when set, is the anchor the writer keeps (see
	// Options.AnchorFile); a digest chain shorter than the log's record
	// there, or a different digest under its number, is a problem.
	AnchorFile string
	// IdentityFile, when set with AnchorFile, names the data directory's
	// identity file (see Options.IdentityFile). The log's record is then the
	// one under that identity, whichever log wrote the anchor file last, and
	// a missing record, a log other than the recorded one, or a removed
	// identity file is a problem. Without it the record is found by the
	// log's first digest.
	IdentityFile string
}

// VerifySigned checks the log in dir as Verify does, and checks it against
// its signed digests: that the digests are numbered from 1 without gaps,
// each signature verifies under opts.Key, each digest links to the one
// before by hash and covers the entries after it, and that every entry hash
// a digest vouches for is the hash of that entry in the log. So besides what
// Verify detects, it detects entries rewritten together with every later
// hash, and entries or segments cut off the tail up to the newest digest.
//
// Entries after the newest digest are reported in Report.Unsigned; nothing
// but the chain vouches for them yet.
func VerifySigned(dir string, opts VerifyOptions) (Report, error) {
	report := Report{Head: zeroHash}
	if len(opts.Key) != ed25519.PublicKeySize {
		return report, fmt.Errorf("audit: verify: the digest public key has %d bytes, want %d", len(opts.Key), ed25519.PublicKeySize)
	}
	if opts.DigestDir == "" {
		opts.DigestDir = filepath.Join(dir, "digests")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}

	digests, problem, err := readDigestChain(opts.DigestDir, opts.Key)
	if err != nil {
		return report, fmt.Errorf("audit: verify: %w", err)
	}
	report.Digests = len(digests)
	if problem != nil {
		report.Problem = problem
		return report, fmt.Errorf("audit: verify %s: %s: %w", dir, problem, ErrBroken)
	}
	newest := digests[len(digests)-1]
	report.SignedThrough, report.LastDigest = newest.LastSeq, newest.Time
	if opts.AnchorFile != "" {
		records, err := readAnchor(opts.AnchorFile)
		if err != nil {
			return report, fmt.Errorf("audit: verify: %w", err)
		}
		rec, problem, err := verifyRecord(digests, records, opts)
		if err != nil {
			return report, fmt.Errorf("audit: verify: %w", err)
		}
		if problem == nil {
			problem = checkAnchor(digests, rec, opts.AnchorFile)
		}
		if problem != nil {
			report.Problem = problem
			return report, fmt.Errorf("audit: verify %s: %s: %w", dir, problem, ErrBroken)
		}
	}

	start := startingPoint(digests, opts.From)
	segments, err := listSegments(dir)
	if err != nil {
		return report, fmt.Errorf("audit: verify: %w", err)
	}
	report.Segments = len(segments)
	c := newChain()
	first := 1
	if start != nil && start.LastSeq > 0 {
		segments = segmentsFrom(dir, segments, start.LastSeq)
		if len(segments) > 0 {
			first = segments[0]
		}
		c.seq, c.skipThrough = start.LastSeq, start.LastSeq
		if _, err := hex.Decode(c.hash[:], []byte(start.LastHash)); err != nil {
			return report, fmt.Errorf("audit: verify: digest %s: malformed last_hash", start.name)
		}
		report.From = start.LastSeq + 1
	}
	c.checkpoints = checkpoints(digests, c.seq)

	if err := walk(dir, segments, first, c, &report); err != nil {
		return report, fmt.Errorf("audit: verify: %w", err)
	}
	report.Entries -= uint64(c.skipped) // #nosec G115 -- a count of lines, never negative
	if report.Problem == nil && c.skipThrough > 0 {
		report.Problem = &Problem{Seq: c.skipThrough, Reason: fmt.Sprintf(
			"entry %d, which digest %s signed, is missing: entries were cut off the tail", c.skipThrough, start.name)}
	}
	if report.Problem == nil && c.cp < len(c.checkpoints) {
		cp := c.checkpoints[c.cp]
		name := ""
		if len(segments) > 0 {
			name = segmentName(segments[len(segments)-1])
		}
		report.Problem = &Problem{Segment: name, Seq: c.seq + 1, Reason: fmt.Sprintf(
			"the log ends at seq %d, but digest %s signed entries up to seq %d: entries were cut off the tail", c.seq, cp.digest, cp.seq)}
	}
	if report.Problem == nil && c.seq > newest.LastSeq {
		report.Unsigned = c.seq - newest.LastSeq
		if age := opts.Now().Sub(newest.Time); opts.MaxUnsigned > 0 && age > opts.MaxUnsigned {
			report.Problem = &Problem{Segment: newest.name, Seq: newest.LastSeq + 1, Reason: fmt.Sprintf(
				"%d entries after seq %d are unsigned and the newest digest is %s old, more than %s: a digest was deleted or the log stopped signing",
				report.Unsigned, newest.LastSeq, age.Round(time.Second), opts.MaxUnsigned)}
		}
	}

	if report.Problem != nil {
		return report, fmt.Errorf("audit: verify %s: %s: %w", dir, report.Problem, ErrBroken)
	}
	return report, nil
}

// readDigestChain reads every digest in dir and checks the signatures and
// links between them. A problem is a broken chain; an error is an I/O
// failure.
func readDigestChain(dir string, key ed25519.PublicKey) ([]*signedDigest, *Problem, error) {
	numbers, err := listDigests(dir)
	if err != nil {
		return nil, nil, err
	}
	if len(numbers) == 0 {
		return nil, &Problem{Segment: "digests", Reason: "no digest found: the digest files were deleted, or the log was written without a digest key"}, nil
	}
	var digests []*signedDigest
	var prev *signedDigest
	for i, n := range numbers {
		if n != uint64(i)+1 { // #nosec G115 -- an index, never negative
			return digests, &Problem{Segment: digestName(uint64(i) + 1), Reason: "digest is missing"}, nil // #nosec G115
		}
		d, err := readDigest(dir, n, key)
		if err != nil {
			return digests, &Problem{Segment: digestName(n), Reason: err.Error()}, nil
		}
		if reason := d.follows(prev); reason != "" {
			return digests, &Problem{Segment: d.name, Seq: d.FirstSeq, Reason: reason}, nil
		}
		digests = append(digests, d)
		prev = d
	}
	return digests, nil, nil
}

// follows checks that d continues prev, which is nil for the first digest,
// and that its segments lie inside the range it covers.
func (d *signedDigest) follows(prev *signedDigest) string {
	wantPrevious, wantFirst := zeroHash, uint64(1)
	var after time.Time
	if prev != nil {
		wantPrevious, wantFirst, after = prev.payloadHash(), prev.LastSeq+1, prev.Time
	}
	switch {
	case d.Previous != wantPrevious:
		return "previous does not match the digest before: a digest was replaced or removed"
	case d.FirstSeq != wantFirst:
		return fmt.Sprintf("first_seq is %d, want %d", d.FirstSeq, wantFirst)
	case d.LastSeq+1 < d.FirstSeq:
		return fmt.Sprintf("last_seq %d is before first_seq %d", d.LastSeq, d.FirstSeq)
	case d.Time.Before(after):
		return "the digest is older than the one before"
	case !isHexHash([]byte(d.LastHash)):
		return "last_hash is not a SHA-256 hash in lowercase hex"
	}
	next := d.FirstSeq
	for _, s := range d.Segments {
		if s.FirstSeq != next || s.LastSeq < s.FirstSeq || s.LastSeq > d.LastSeq || !isHexHash([]byte(s.LastHash)) {
			return fmt.Sprintf("segment %s has a range or hash that does not fit the digest", s.Name)
		}
		next = s.LastSeq + 1
	}
	if next != d.LastSeq+1 {
		return "the segments do not cover the digest's range"
	}
	return ""
}

// startingPoint returns the newest digest signed before from, nil when from
// is zero or no digest is that old.
func startingPoint(digests []*signedDigest, from time.Time) *signedDigest {
	if from.IsZero() {
		return nil
	}
	var start *signedDigest
	for _, d := range digests {
		if !d.Time.Before(from) {
			break
		}
		start = d
	}
	return start
}

// checkpoints lists the entry hashes that digests vouch for after seq: the
// last entry of each segment and of each digest.
func checkpoints(digests []*signedDigest, after uint64) []checkpoint {
	var cps []checkpoint
	add := func(seq uint64, hash string, from uint64, segment string, digest string) {
		if seq <= after || seq == 0 {
			return
		}
		cp := checkpoint{seq: seq, from: from, segment: segment, digest: digest}
		_, _ = hex.Decode(cp.hash[:], []byte(hash)) // follows checked the form
		cps = append(cps, cp)
	}
	for _, d := range digests {
		for _, s := range d.Segments {
			add(s.LastSeq, s.LastHash, s.FirstSeq, s.Name, d.name)
		}
		add(d.LastSeq, d.LastHash, d.FirstSeq, "", d.name)
	}
	return cps
}

// segmentsFrom returns the segments from the one that holds entry seq,
// judged by the last line of each segment. A segment whose last line cannot
// be read starts the list, so that the walk reports it.
func segmentsFrom(dir string, segments []int, seq uint64) []int {
	for i, n := range segments {
		text, err := readLastLine(filepath.Join(dir, segmentName(n)))
		if err != nil {
			return segments[i:]
		}
		if text == nil {
			continue
		}
		var checker lineChecker
		if last := checker.check(text); last.malformed || last.seq >= seq {
			return segments[i:]
		}
	}
	return nil
}

// verifyRecord finds the log's record among the anchor's records: the one
// under the data directory's identity when opts has an identity file, else
// the one of the log's first digest. It returns a problem when the
// identity has no record or the identity file was removed.
func verifyRecord(digests []*signedDigest, records []anchor, opts VerifyOptions) (*anchor, *Problem, error) {
	first := digests[0].payloadHash()
	if opts.IdentityFile == "" {
		return recordByFirst(records, first), nil, nil
	}
	id, err := readIdentity(opts.IdentityFile, nil)
	if err != nil {
		return nil, nil, err
	}
	if id == nil {
		rec := recordByFirst(records, first)
		if rec != nil && rec.ID != "" {
			return nil, &Problem{Reason: fmt.Sprintf(
				"the identity file %s is missing, but the anchor %s records this log under identity %s: the identity file was removed",
				opts.IdentityFile, opts.AnchorFile, rec.ID)}, nil
		}
		// A log of a release before identities.
		return rec, nil, nil
	}
	rec := recordByID(records, id.ID)
	if rec == nil {
		return nil, &Problem{Reason: fmt.Sprintf(
			"the anchor %s has no record of the log bound to this data directory by %s, so a rollback could not be told: open the data directory once with whispersync, which records its log, then verify again",
			opts.AnchorFile, opts.IdentityFile)}, nil
	}
	return rec, nil, nil
}
