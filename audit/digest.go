package audit

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// DefaultDigestInterval is how often an open log signs a digest when
// Options.DigestInterval is zero.
const DefaultDigestInterval = time.Hour

// digestTag starts the bytes that a digest signature covers.
const digestTag = "whispersync-audit-digest-v1\x00"

const digestExt = ".json"

// maxDigestBytes bounds a digest file. A digest lists the segments written
// in one interval, so even a busy log stays far below it.
const maxDigestBytes = 4 << 20

// Digest is the signed statement that the log held a given chain head at a
// given time. Digest n covers the entries after the last entry of digest
// n-1, up to and including LastSeq.
type Digest struct {
	// Version is the digest format, 1.
	Version int `json:"version"`
	// Number counts digests from 1, without gaps.
	Number uint64 `json:"number"`
	// Time is when the digest was signed.
	Time time.Time `json:"time"`
	// FirstSeq and LastSeq bound the entries covered. A digest written when
	// nothing was appended since the one before covers no entry, and its
	// FirstSeq is LastSeq+1.
	FirstSeq uint64 `json:"first_seq"`
	LastSeq  uint64 `json:"last_seq"`
	// LastHash is the hash of entry LastSeq, the chain head when the digest
	// was signed; 64 zeros for an empty log.
	LastHash string `json:"last_hash"`
	// Segments lists the segments that hold the covered entries, in order.
	Segments []DigestSegment `json:"segments"`
	// Previous is the SHA-256 of the signed bytes of digest Number-1, in
	// hex; 64 zeros for digest 1.
	Previous string `json:"previous"`
	// PublicKey names the signing key (Ed25519, base64). Verification uses
	// the key it is given, never this one.
	PublicKey string `json:"public_key"`
}

// DigestSegment is the part of one segment that a digest covers.
type DigestSegment struct {
	Name     string `json:"name"`
	FirstSeq uint64 `json:"first_seq"`
	LastSeq  uint64 `json:"last_seq"`
	LastHash string `json:"last_hash"`
}

// digestFile is the JSON schema of a digest file: the digest as the exact
// bytes that were signed, and the signature.
type digestFile struct {
	Digest    json.RawMessage `json:"digest"`
	Signature string          `json:"signature"`
}

// signedDigest is a digest read from its file.
type signedDigest struct {
	Digest
	name    string
	payload []byte // the signed bytes
}

// digestName returns the file name of digest number n.
func digestName(n uint64) string { return fmt.Sprintf("%08d%s", n, digestExt) }

// listDigests returns the numbers of the digest files in dir in increasing
// order; a missing dir has none.
func listDigests(dir string) ([]uint64, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var numbers []uint64
	for _, e := range entries {
		digits, ok := strings.CutSuffix(e.Name(), digestExt)
		if !ok || len(digits) != 8 || !e.Type().IsRegular() || digits[0] == '+' || digits[0] == '-' {
			continue
		}
		n, err := strconv.ParseUint(digits, 10, 64)
		if err != nil || n < 1 {
			continue
		}
		numbers = append(numbers, n)
	}
	slices.Sort(numbers)
	return numbers, nil
}

// readDigest reads digest file n and checks its signature under pub.
func readDigest(dir string, n uint64, pub ed25519.PublicKey) (*signedDigest, error) {
	name := digestName(n)
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return nil, err
	}
	if len(data) > maxDigestBytes {
		return nil, fmt.Errorf("digest %s is larger than %d bytes", name, maxDigestBytes)
	}
	var f digestFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("digest %s is malformed: %w", name, err)
	}
	sig, err := base64.StdEncoding.DecodeString(f.Signature)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return nil, fmt.Errorf("digest %s has a malformed signature", name)
	}
	if !ed25519.Verify(pub, append([]byte(digestTag), f.Digest...), sig) {
		return nil, fmt.Errorf("digest %s: signature does not verify under the audit signing key: the digest was edited or signed by another key", name)
	}
	d := &signedDigest{name: name, payload: f.Digest}
	if err := json.Unmarshal(f.Digest, &d.Digest); err != nil {
		return nil, fmt.Errorf("digest %s is malformed: %w", name, err)
	}
	if d.Version != 1 || d.Number != n {
		return nil, fmt.Errorf("digest %s says version %d number %d, want version 1 number %d", name, d.Version, d.Number, n)
	}
	return d, nil
}

// payloadHash is the value of Previous in the digest after d.
func (d *signedDigest) payloadHash() string {
	sum := sha256.Sum256(d.payload)
	return hex.EncodeToString(sum[:])
}

// writeDigest signs d and writes it durably as a new file of dir: a
// temporary file, fsync, a rename that never replaces a file, and an fsync
// of dir.
func writeDigest(dir string, d *Digest, key ed25519.PrivateKey) (*signedDigest, error) {
	payload, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	sig := ed25519.Sign(key, append([]byte(digestTag), payload...))
	data, err := json.Marshal(digestFile{Digest: payload, Signature: base64.StdEncoding.EncodeToString(sig)})
	if err != nil {
		return nil, err
	}
	data = append(data, '\n')

	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	name := digestName(d.Number)
	tmp, err := os.CreateTemp(dir, "."+name+".*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	if _, err := tmp.Write(data); err != nil {
		return nil, errors.Join(err, tmp.Close())
	}
	if err := tmp.Sync(); err != nil {
		return nil, errors.Join(err, tmp.Close())
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	// A hard link fails when the name exists, so no digest is ever
	// replaced, even by a second writer.
	if err := os.Link(tmp.Name(), filepath.Join(dir, name)); err != nil {
		return nil, err
	}
	if err := syncDir(dir); err != nil {
		return nil, err
	}
	return &signedDigest{Digest: *d, name: name, payload: payload}, nil
}

// digestState is what the writer remembers between digests.
type digestState struct {
	// first is the payload hash of digest 1, for the anchor.
	first   string
	last    *signedDigest
	pending []DigestSegment // segments holding entries after last
}

// track records that entry seq with hash went to segment.
func (s *digestState) track(segment int, seq uint64, hash *[sha256.Size]byte) {
	name := segmentName(segment)
	if n := len(s.pending); n == 0 || s.pending[n-1].Name != name {
		s.pending = append(s.pending, DigestSegment{Name: name, FirstSeq: seq})
	}
	p := &s.pending[len(s.pending)-1]
	p.LastSeq = seq
	p.LastHash = hex.EncodeToString(hash[:])
}

// PublicKey returns the public half of an Ed25519 signing key, the key
// that Verify needs.
func PublicKey(key ed25519.PrivateKey) ed25519.PublicKey {
	return key.Public().(ed25519.PublicKey)
}

// SigningKey returns the Ed25519 key whose 32-byte seed is seed, such as a
// key derived from the key ring. It panics when seed is not 32 bytes.
func SigningKey(seed []byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(seed)
}

// loadDigests prepares the digest state of a log opened at seq and head:
// it reads the newest digest, refuses a log that ends before it, and lists
// the segments of the entries after it.
func (l *Log) loadDigests() error {
	numbers, err := listDigests(l.digestDir)
	if err != nil {
		return err
	}
	if len(numbers) == 0 {
		if l.seq > 0 {
			l.digests.pending, err = l.segmentsAfter(0)
		}
		return err
	}
	last, err := readDigest(l.digestDir, numbers[len(numbers)-1], PublicKey(l.digestKey))
	if err != nil {
		return fmt.Errorf("%w: %w", err, ErrBroken)
	}
	if last.LastSeq > l.seq {
		return fmt.Errorf("the log ends at seq %d, but digest %s covers up to seq %d: entries were cut off the tail: %w", l.seq, last.name, last.LastSeq, ErrBroken)
	}
	l.digests.last = last
	if first, err := readDigest(l.digestDir, numbers[0], PublicKey(l.digestKey)); err == nil {
		l.digests.first = first.payloadHash()
	}
	if last.LastSeq < l.seq {
		l.digests.pending, err = l.segmentsAfter(last.LastSeq)
	}
	return err
}

// segmentsAfter lists the segments holding the entries after seq, reading
// only the last line of each segment. The current segment's head is l.head.
func (l *Log) segmentsAfter(seq uint64) ([]DigestSegment, error) {
	numbers, err := listSegments(l.dir)
	if err != nil {
		return nil, err
	}
	var segments []DigestSegment
	first := uint64(1)
	for _, n := range numbers {
		var lastSeq uint64
		var lastHash string
		if n == l.segment {
			lastSeq, lastHash = l.seq, hex.EncodeToString(l.head[:])
		} else {
			text, err := readLastLine(filepath.Join(l.dir, segmentName(n)))
			if err != nil {
				return nil, err
			}
			if text == nil {
				continue
			}
			var checker lineChecker
			checked := checker.check(text)
			if checked.malformed || checked.reason != "" {
				return nil, fmt.Errorf("segment %s last line: %s: %w", segmentName(n), checked.reason, ErrBroken)
			}
			lastSeq, lastHash = checked.seq, hex.EncodeToString(checked.hash[:])
		}
		if lastSeq > seq && lastSeq >= first {
			segments = append(segments, DigestSegment{Name: segmentName(n), FirstSeq: max(first, seq+1), LastSeq: lastSeq, LastHash: lastHash})
		}
		first = lastSeq + 1
	}
	return segments, nil
}

// signDigest writes the next digest, covering the entries since the last
// one. It runs on the writer goroutine, or in Open before it starts.
func (l *Log) signDigest() error {
	if l.err != nil {
		return fmt.Errorf("audit: sign digest: the log failed earlier: %w", l.err)
	}
	d := &Digest{
		Version:   1,
		Number:    1,
		Time:      l.now().UTC(),
		FirstSeq:  1,
		LastSeq:   l.seq,
		LastHash:  hex.EncodeToString(l.head[:]),
		Segments:  l.digests.pending,
		Previous:  zeroHash,
		PublicKey: base64.StdEncoding.EncodeToString(PublicKey(l.digestKey)),
	}
	if d.Segments == nil {
		d.Segments = []DigestSegment{}
	}
	if last := l.digests.last; last != nil {
		d.Number, d.FirstSeq, d.Previous = last.Number+1, last.LastSeq+1, last.payloadHash()
	}
	signed, err := writeDigest(l.digestDir, d, l.digestKey)
	if err != nil {
		return fmt.Errorf("audit: sign digest %s: %w", digestName(d.Number), err)
	}
	l.digests.last, l.digests.pending = signed, nil
	l.logger.Debug("audit digest signed", "digest", signed.name, "last_seq", d.LastSeq)
	if d.Number == 1 {
		l.digests.first = signed.payloadHash()
	}
	if l.anchorFile != "" {
		// The digest is already durable; a lagging anchor only weakens the
		// rollback check until the next digest, so it is logged, not fatal.
		rec := l.anchorRecord(signed)
		if err := updateAnchor(l.anchorFile, rec); err != nil {
			l.logger.Error("audit anchor update failed", "anchor", l.anchorFile, "digest", signed.name, "err", err)
		} else {
			l.anchored = &rec
		}
	}
	return nil
}
