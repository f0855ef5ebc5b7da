package audit_test

import (
	"errors"
	"os"
	"testing"

	"github.com/whispersync/whispersync/audit"
)

// TestOpenRejectsCopiedIdentity is a wiped log whose
// identity file was replaced by the unrecorded identity of another data
// directory sharing the key file, such as that of a restore killed before
// it opened its target. The copy must not start a new log in place of the
// recorded one.
func TestOpenRejectsCopiedIdentity(t *testing.T) {
	anchorFile := anchorPath(t)
	d := newDataDir(t, anchorFile)
	d.write(t, 20)

	restored := newDataDir(t, anchorFile)
	if _, err := audit.NewIdentity(restored.identity(), identityKey); err != nil {
		t.Fatal(err)
	}
	copied, err := os.ReadFile(restored.identity())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(d.log()); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(d.identity(), copied, 0o600); err != nil {
		t.Fatal(err)
	}

	l, err := d.open()
	if err == nil {
		closeLog(t, l)
	}
	wantRejected(t, err, anchorFile, "copied from another data directory")
	if _, statErr := os.Stat(d.log()); !errors.Is(statErr, os.ErrNotExist) {
		t.Errorf("a rejected open created %s", d.log())
	}

	// In the directory it was written for, the identity starts its log.
	restored.hasData = true
	restored.write(t, 3)
	if _, err := restored.verify(); err != nil {
		t.Errorf("the restored directory: %v", err)
	}
}
