package audit_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/whispersync/whispersync/audit"
)

// anchoredLog writes n entries, n > 10, with digests 1 (empty, at open), 2
// (entries 1 to 10) and 3 (the rest, at close), keeping the anchor in
// anchorFile.
func anchoredLog(t *testing.T, anchorFile string, n int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "audit")
	opts := signedOptions()
	opts.AnchorFile = anchorFile
	l, err := audit.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	appendEvents(t, l, 0, 10)
	if err := l.SignDigest(context.Background()); err != nil {
		t.Fatal(err)
	}
	appendEvents(t, l, 10, n)
	closeLog(t, l)
	return dir
}

func TestAnchorDetectsRollback(t *testing.T) {
	anchorFile := filepath.Join(t.TempDir(), "keyring.json.audit-anchor")
	dir := anchoredLog(t, anchorFile, 20)
	if _, err := verifySigned(dir, audit.VerifyOptions{AnchorFile: anchorFile}); err != nil {
		t.Fatalf("intact anchored log: %v", err)
	}

	// Roll back to digest 2: drop the entries digest 3 covers, and digest 3.
	forge(t, dir, func(lines []string) []string { return lines[:10] })
	if err := os.Remove(digestPath(dir, 3)); err != nil {
		t.Fatal(err)
	}
	if _, err := verifySigned(dir, audit.VerifyOptions{}); err != nil {
		t.Fatalf("without the anchor the rollback is expected to go unseen, got %v", err)
	}
	report, err := verifySigned(dir, audit.VerifyOptions{AnchorFile: anchorFile})
	if !errors.Is(err, audit.ErrBroken) {
		t.Fatalf("rolled-back log with the anchor: got %v, want ErrBroken", err)
	}
	if report.Problem == nil || !strings.Contains(report.Problem.Reason, "roll the log back") {
		t.Errorf("problem: got %+v, want one naming the rollback", report.Problem)
	}
}

func TestAnchorOfAnotherLogIsIgnored(t *testing.T) {
	anchorFile := filepath.Join(t.TempDir(), "keyring.json.audit-anchor")
	first := anchoredLog(t, anchorFile, 20)
	// A second data directory sharing the key file, with a different log.
	other := filepath.Join(t.TempDir(), "audit")
	opts := signedOptions()
	opts.AnchorFile = anchorFile
	opts.Now = (&clock{t: fixedNow.Add(time.Hour)}).Now
	l, err := audit.Open(other, opts)
	if err != nil {
		t.Fatal(err)
	}
	appendEvents(t, l, 0, 25)
	if err := l.SignDigest(context.Background()); err != nil {
		t.Fatal(err)
	}
	appendEvents(t, l, 25, 40)
	closeLog(t, l)
	if _, err := verifySigned(first, audit.VerifyOptions{AnchorFile: anchorFile}); err != nil {
		t.Errorf("log whose anchor was replaced by another log's: got %v, want no problem", err)
	}
}
