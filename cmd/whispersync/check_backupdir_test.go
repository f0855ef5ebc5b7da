package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckBackupDirKeyVersions checks that the restore check
// reads the key versions that the backups of the --backup-dir location
// need, not those of the location set in the environment.
func TestCheckBackupDirKeyVersions(t *testing.T) {
	env := testEnv(t)
	elsewhere := filepath.Join(t.TempDir(), "backups")
	withDir := map[string]string{"WHISPERSYNC_BACKUP_DIR": elsewhere}
	for k, v := range env {
		withDir[k] = v
	}
	steps := [][]string{
		{"process", "--quiet", "../../examples/memos/work"},
		{"backup", "create"},
		{"backup", "drill"},
		{"keys", "rotate"},
	}
	for _, args := range steps {
		if code, _, stderr := run(t, withDir, args...); code != 0 {
			t.Fatalf("%s: exit %d, stderr %s", strings.Join(args, " "), code, stderr)
		}
	}
	// A key file whose list of backup locations predates this location,
	// as one written before the list existed, lets version 1 go.
	if err := os.WriteFile(env["WHISPERSYNC_KEY_FILE"]+".backup-locations", []byte("[]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := run(t, env, "keys", "retire", "1"); code != 0 {
		t.Fatalf("keys retire 1: exit %d, stderr %s", code, stderr)
	}

	code, stdout, _ := run(t, env, "check", "--insecure-http", "--backup-dir", elsewhere)
	if code != 1 {
		t.Errorf("check: exit %d, want 1", code)
	}
	var restore string
	for line := range strings.SplitSeq(stdout, "\n") {
		if strings.Contains(line, "A restore was verified recently") {
			restore = line
		}
	}
	if !strings.HasPrefix(restore, "FAIL") || !strings.Contains(restore, "version 1") {
		t.Errorf("restore check with --backup-dir %s: got %q, want a failure naming version 1", elsewhere, restore)
	}
}
