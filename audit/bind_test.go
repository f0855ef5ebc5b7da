package audit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/audit"
)

var identityKey = audit.IdentityKey(bytes.Repeat([]byte{0x2a}, 32))

// dataDir is a data directory of a test: its audit folder and identity
// file, sharing the key folder's anchor file with other data directories.
type dataDir struct {
	root, anchor string
	hasData      bool
	clock        *clock
}

// dataDirs counts the data directories of the tests, so that each signs
// its digests at other times and no two logs are alike.
var dataDirs atomic.Int64

func newDataDir(t *testing.T, anchorFile string) *dataDir {
	t.Helper()
	return &dataDir{root: t.TempDir(), anchor: anchorFile, clock: newClock()}
}

func newClock() *clock {
	return &clock{t: fixedNow.Add(time.Duration(dataDirs.Add(1)) * 24 * time.Hour)}
}

func (d *dataDir) log() string      { return filepath.Join(d.root, "audit") }
func (d *dataDir) identity() string { return filepath.Join(d.root, audit.IdentityFileName) }

func (d *dataDir) options() audit.Options {
	opts := signedOptions()
	opts.Now = d.clock.Now
	opts.AnchorFile = d.anchor
	opts.IdentityFile = d.identity()
	opts.IdentityKey = identityKey
	opts.HasData = d.hasData
	return opts
}

func (d *dataDir) open() (*audit.Log, error) { return audit.Open(d.log(), d.options()) }

// write opens the log, appends n entries with a digest after the first 10,
// and closes it, so that the log gains two digests. The data directory then
// contains data.
func (d *dataDir) write(t *testing.T, n int) {
	t.Helper()
	l, err := d.open()
	if err != nil {
		t.Fatalf("open %s: %v", d.log(), err)
	}
	appendEvents(t, l, 0, 10)
	if err := l.SignDigest(context.Background()); err != nil {
		t.Fatal(err)
	}
	appendEvents(t, l, 10, n)
	closeLog(t, l)
	d.hasData = true
}

func (d *dataDir) verify() (audit.Report, error) {
	return verifySigned(d.log(), audit.VerifyOptions{AnchorFile: d.anchor, IdentityFile: d.identity()})
}

// rollBack removes the newest digest and the entries it covers.
func (d *dataDir) rollBack(t *testing.T) {
	t.Helper()
	digests, err := filepath.Glob(filepath.Join(d.log(), "digests", "*.json"))
	if err != nil || len(digests) < 2 {
		t.Fatalf("digests of %s: %v (%d)", d.log(), err, len(digests))
	}
	var f struct {
		Digest audit.Digest `json:"digest"`
	}
	data, err := os.ReadFile(digests[len(digests)-2])
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	forge(t, d.log(), func(lines []string) []string { return lines[:f.Digest.LastSeq] })
	if err := os.Remove(digests[len(digests)-1]); err != nil {
		t.Fatal(err)
	}
}

// wantRejected checks that err is a rejection that names the anchor file and
// the way out.
func wantRejected(t *testing.T, err error, anchorFile, reason string) {
	t.Helper()
	if !errors.Is(err, audit.ErrBroken) {
		t.Fatalf("got %v, want a rejection wrapping ErrBroken", err)
	}
	msg := whispersync.ErrorMessage(err)
	for _, want := range []string{reason, "whispersync audit reset"} {
		if !strings.Contains(msg, want) {
			t.Errorf("rejection %q does not say %q", msg, want)
		}
	}
	if anchorFile != "" && !strings.Contains(msg, anchorFile) {
		t.Errorf("rejection %q does not name the anchor file %s", msg, anchorFile)
	}
}

func anchorPath(t *testing.T) string {
	return filepath.Join(t.TempDir(), "keyring.json.audit-anchor")
}

func TestOpenRejectsWipedLog(t *testing.T) {
	anchorFile := anchorPath(t)
	d := newDataDir(t, anchorFile)
	d.write(t, 20)
	if err := os.RemoveAll(d.log()); err != nil {
		t.Fatal(err)
	}

	_, err := d.open()
	wantRejected(t, err, anchorFile, "the log was deleted")
	if _, statErr := os.Stat(d.log()); !errors.Is(statErr, os.ErrNotExist) {
		t.Errorf("a rejected open created %s", d.log())
	}
	if _, err := d.verify(); !errors.Is(err, audit.ErrBroken) {
		t.Errorf("verify of a wiped log: got %v, want ErrBroken", err)
	}
}

func TestOpenRejectsWipedLogAndIdentity(t *testing.T) {
	anchorFile := anchorPath(t)
	d := newDataDir(t, anchorFile)
	d.write(t, 20)
	for _, p := range []string{d.log(), d.identity()} {
		if err := os.RemoveAll(p); err != nil {
			t.Fatal(err)
		}
	}
	_, err := d.open()
	wantRejected(t, err, anchorFile, "contains data")
}

func TestOpenRejectsMadeUpIdentity(t *testing.T) {
	anchorFile := anchorPath(t)
	d := newDataDir(t, anchorFile)
	d.write(t, 20)
	if err := os.RemoveAll(d.log()); err != nil {
		t.Fatal(err)
	}
	// An identity under another key, so that no record names it.
	if _, err := audit.NewIdentity(d.identity(), audit.IdentityKey([]byte("not the key file's secret"))); err != nil {
		t.Fatal(err)
	}
	_, err := d.open()
	wantRejected(t, err, "", "was not written by whispersync")
}

func TestOpenRejectsReplacedLog(t *testing.T) {
	anchorFile := anchorPath(t)
	d := newDataDir(t, anchorFile)
	d.write(t, 20)
	// Another log signed by the same key, which the attacker kept.
	other := newDataDir(t, anchorPath(t))
	other.write(t, 5)
	if err := os.RemoveAll(d.log()); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(other.log(), d.log()); err != nil {
		t.Fatal(err)
	}
	_, err := d.open()
	wantRejected(t, err, anchorFile, "the log was replaced")
	report, err := d.verify()
	if !errors.Is(err, audit.ErrBroken) || report.Problem == nil || !strings.Contains(report.Problem.Reason, "replaced") {
		t.Errorf("verify of a replaced log: got %v, %+v, want a replaced log", err, report.Problem)
	}
}

func TestOpenRejectsRolledBackLog(t *testing.T) {
	anchorFile := anchorPath(t)
	d := newDataDir(t, anchorFile)
	d.write(t, 20)
	d.rollBack(t)
	_, err := d.open()
	wantRejected(t, err, anchorFile, "roll the log back")
	// The rejected open left the record as it was.
	if _, err := d.verify(); !errors.Is(err, audit.ErrBroken) {
		t.Errorf("verify after the rejected open: got %v, want ErrBroken", err)
	}
}

// TestRestoredDirectoryKeepsOriginalAnchored is the shared key file after a
// restore: the restored directory gets a new identity and writes the anchor
// file last, and a rollback of the original is still seen.
func TestRestoredDirectoryKeepsOriginalAnchored(t *testing.T) {
	anchorFile := anchorPath(t)
	original := newDataDir(t, anchorFile)
	original.write(t, 25)

	restored := newDataDir(t, anchorFile)
	if _, err := audit.NewIdentity(restored.identity(), identityKey); err != nil {
		t.Fatal(err)
	}
	restored.hasData = true // a restore brings the database
	restored.write(t, 15)
	if _, err := restored.verify(); err != nil {
		t.Fatalf("restored directory: %v", err)
	}

	original.rollBack(t)
	report, err := original.verify()
	if !errors.Is(err, audit.ErrBroken) || report.Problem == nil || !strings.Contains(report.Problem.Reason, "roll the log back") {
		t.Errorf("verify of the rolled-back original after the restored directory wrote the anchor: got %v, %+v, want the rollback", err, report.Problem)
	}
	_, err = original.open()
	wantRejected(t, err, anchorFile, "roll the log back")
	if _, err := restored.verify(); err != nil {
		t.Errorf("restored directory after the original was rejected: %v", err)
	}
}

// TestAnchorKeepsEachLogsRecord is the same for logs opened without an
// identity file: each keeps its record, found by its first digest.
func TestAnchorKeepsEachLogsRecord(t *testing.T) {
	anchorFile := anchorPath(t)
	first := anchoredLog(t, anchorFile, 20)
	second := filepath.Join(t.TempDir(), "audit")
	opts := signedOptions()
	opts.AnchorFile = anchorFile
	opts.Now = (&clock{t: fixedNow.Add(time.Hour)}).Now
	l, err := audit.Open(second, opts)
	if err != nil {
		t.Fatal(err)
	}
	appendEvents(t, l, 0, 5)
	closeLog(t, l)

	forge(t, first, func(lines []string) []string { return lines[:10] })
	if err := os.Remove(digestPath(first, 3)); err != nil {
		t.Fatal(err)
	}
	report, err := verifySigned(first, audit.VerifyOptions{AnchorFile: anchorFile})
	if !errors.Is(err, audit.ErrBroken) || report.Problem == nil || !strings.Contains(report.Problem.Reason, "roll the log back") {
		t.Errorf("rolled-back log after another log wrote the anchor: got %v, %+v, want the rollback", err, report.Problem)
	}
	if _, err := verifySigned(second, audit.VerifyOptions{AnchorFile: anchorFile}); err != nil {
		t.Errorf("the other log: %v", err)
	}
}

func TestNewDataDirectoryGetsIdentity(t *testing.T) {
	d := newDataDir(t, anchorPath(t))
	d.write(t, 12)
	if _, err := os.Stat(d.identity()); err != nil {
		t.Fatalf("identity file: %v", err)
	}
	if _, err := d.verify(); err != nil {
		t.Fatalf("verify: %v", err)
	}
	// Reopening the same directory is fine, and so is a crash between a
	// digest and its record: the digest is then newer than the record.
	before, err := os.ReadFile(d.anchor)
	if err != nil {
		t.Fatal(err)
	}
	d.write(t, 12)
	if err := os.WriteFile(d.anchor, before, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := d.verify(); err != nil {
		t.Fatalf("verify with a lagging record: %v", err)
	}
	d.write(t, 12)
	if _, err := d.verify(); err != nil {
		t.Fatalf("verify after reopening: %v", err)
	}
}

func TestUnrecordedIdentityGetsRecord(t *testing.T) {
	// A crash after the identity and the first digest, before the record.
	d := newDataDir(t, anchorPath(t))
	d.write(t, 12)
	if err := os.Remove(d.anchor); err != nil {
		t.Fatal(err)
	}
	if _, err := d.verify(); !errors.Is(err, audit.ErrBroken) {
		t.Errorf("verify without a record: got %v, want ErrBroken", err)
	}
	l, err := d.open()
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	closeLog(t, l)
	if _, err := d.verify(); err != nil {
		t.Errorf("verify after the open recorded the log: %v", err)
	}
}

// legacyAnchor rewrites the anchor file as a release before records per
// log wrote it: the one record as top-level members.
func legacyAnchor(t *testing.T, anchorFile string) {
	t.Helper()
	data, err := os.ReadFile(anchorFile)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	delete(doc, "logs")
	if data, err = json.Marshal(doc); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(anchorFile, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestLegacyAnchorKeepsProtectingItsLog(t *testing.T) {
	anchorFile := anchorPath(t)
	dir := anchoredLog(t, anchorFile, 20)
	legacyAnchor(t, anchorFile)
	d := &dataDir{root: filepath.Dir(dir), anchor: anchorFile, hasData: true, clock: newClock()}

	// The first open binds the log to a new identity, which claims the
	// record.
	l, err := d.open()
	if err != nil {
		t.Fatalf("open a log of the earlier release: %v", err)
	}
	appendEvents(t, l, 20, 22)
	closeLog(t, l)
	if _, err := os.Stat(d.identity()); err != nil {
		t.Fatalf("identity file: %v", err)
	}
	if _, err := d.verify(); err != nil {
		t.Fatalf("verify: %v", err)
	}
	d.rollBack(t)
	if _, err := d.verify(); !errors.Is(err, audit.ErrBroken) {
		t.Errorf("verify of the migrated log rolled back: got %v, want ErrBroken", err)
	}
}

func TestLegacyAnchorRejectsEarlierRollback(t *testing.T) {
	anchorFile := anchorPath(t)
	dir := anchoredLog(t, anchorFile, 20)
	legacyAnchor(t, anchorFile)
	forge(t, dir, func(lines []string) []string { return lines[:10] })
	if err := os.Remove(digestPath(dir, 3)); err != nil {
		t.Fatal(err)
	}
	d := &dataDir{root: filepath.Dir(dir), anchor: anchorFile, hasData: true, clock: newClock()}
	_, err := d.open()
	wantRejected(t, err, anchorFile, "roll the log back")
}

func TestAnchorFileReadableByEarlierRelease(t *testing.T) {
	anchorFile := anchorPath(t)
	a := newDataDir(t, anchorFile)
	a.write(t, 12)
	b := newDataDir(t, anchorFile)
	b.write(t, 15)
	data, err := os.ReadFile(anchorFile)
	if err != nil {
		t.Fatal(err)
	}
	// The fields an earlier release reads name the record written last.
	var old struct {
		First   string `json:"first"`
		Number  uint64 `json:"digest"`
		LastSeq uint64 `json:"last_seq"`
		Hash    string `json:"hash"`
	}
	if err := json.Unmarshal(data, &old); err != nil || old.Number == 0 || old.First == "" {
		t.Fatalf("anchor for an earlier release: %+v, %v", old, err)
	}
	if old.LastSeq != 15 {
		t.Errorf("top-level last_seq: got %d, want 15, the log written last", old.LastSeq)
	}
}

func TestConcurrentLogsKeepTheirRecords(t *testing.T) {
	anchorFile := anchorPath(t)
	dirs := make([]*dataDir, 4)
	for i := range dirs {
		dirs[i] = newDataDir(t, anchorFile)
	}
	var wg sync.WaitGroup
	for _, d := range dirs {
		wg.Go(func() { d.write(t, 15) })
	}
	wg.Wait()
	for _, d := range dirs {
		d.rollBack(t)
		if _, err := d.verify(); !errors.Is(err, audit.ErrBroken) {
			t.Errorf("%s rolled back: got %v, want ErrBroken", d.root, err)
		}
	}
}

func TestResetStartsNewLog(t *testing.T) {
	anchorFile := anchorPath(t)
	d := newDataDir(t, anchorFile)
	d.write(t, 20)
	if err := os.RemoveAll(d.log()); err != nil {
		t.Fatal(err)
	}
	if _, err := d.open(); err == nil {
		t.Fatal("open of a wiped log: got no error")
	}

	note, err := audit.Reset(d.log(), d.options(), audit.ResetNote{Principal: "operator:test", Reason: "INC-7", Time: fixedNow})
	if err != nil {
		t.Fatalf("reset: %v", err)
	}
	if note.FormerDigest != 3 || note.FormerLastSeq != 20 {
		t.Errorf("reset note: got digest %d last seq %d, want the former record's 3 and 20", note.FormerDigest, note.FormerLastSeq)
	}
	l, err := d.open()
	if err != nil {
		t.Fatalf("open after reset: %v", err)
	}
	closeLog(t, l)
	entries := readAll(t, d.log())
	if len(entries) != 1 || entries[0].Action != "audit.reset" || entries[0].Detail["reason"] != "INC-7" || entries[0].Detail["former_digest"] != "00000003.json" {
		t.Fatalf("new log: got %+v, want one audit.reset entry with the reason and the former digest", entries)
	}
	if _, err := d.verify(); err != nil {
		t.Errorf("verify after reset: %v", err)
	}
	// The new log is protected in turn.
	if err := os.RemoveAll(d.log()); err != nil {
		t.Fatal(err)
	}
	_, err = d.open()
	wantRejected(t, err, anchorFile, "the log was deleted")
}

func TestResetMovesReplacedLogAside(t *testing.T) {
	anchorFile := anchorPath(t)
	d := newDataDir(t, anchorFile)
	d.write(t, 20)
	d.rollBack(t)
	note, err := audit.Reset(d.log(), d.options(), audit.ResetNote{Principal: "operator:test", Reason: "INC-8", Time: fixedNow})
	if err != nil {
		t.Fatalf("reset: %v", err)
	}
	if note.MovedTo == "" {
		t.Fatal("reset: the former log was not moved aside")
	}
	if _, err := os.Stat(filepath.Join(note.MovedTo, "00000001.jsonl")); err != nil {
		t.Errorf("former log: %v", err)
	}
	l, err := d.open()
	if err != nil {
		t.Fatalf("open after reset: %v", err)
	}
	closeLog(t, l)
	if n := len(readAll(t, d.log())); n != 1 {
		t.Errorf("new log: got %d entries, want the audit.reset entry alone", n)
	}
}
