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

// TestCheckUnreadableManifest checks that the restore check fails when a
// manifest of the backup location fails its check, since the key versions
// that backup needs are then unknown.
func TestCheckUnreadableManifest(t *testing.T) {
	env := testEnv(t)
	for _, args := range [][]string{
		{"process", "--quiet", "../../examples/memos/work"},
		{"backup", "create"},
		{"backup", "drill"},
	} {
		if code, _, stderr := run(t, env, args...); code != 0 {
			t.Fatalf("%s: exit %d, stderr %s", strings.Join(args, " "), code, stderr)
		}
	}
	manifests, err := filepath.Glob(filepath.Join(env["WHISPERSYNC_DATA_DIR"]+"-backups", "sets", "*", "manifest.json"))
	if err != nil || len(manifests) != 1 {
		t.Fatalf("manifests: got %v, %v, want one", manifests, err)
	}
	data, err := os.ReadFile(manifests[0])
	if err != nil {
		t.Fatal(err)
	}
	altered := strings.Replace(string(data), `"kek_versions": [`, `"kek_versions": [7, `, 1)
	if altered == string(data) {
		t.Fatalf("manifest %s names no key versions to alter", manifests[0])
	}
	if err := os.WriteFile(manifests[0], []byte(altered), 0o600); err != nil { // #nosec G703 -- the manifest is in the test's own temporary folder
		t.Fatal(err)
	}

	_, stdout, _ := run(t, env, "check", "--insecure-http")
	var restore string
	for line := range strings.SplitSeq(stdout, "\n") {
		if strings.Contains(line, "A restore was verified recently") {
			restore = line
		}
	}
	if !strings.HasPrefix(restore, "FAIL") {
		t.Errorf("restore check with an altered manifest: got %q, want a failure", restore)
	}
}
