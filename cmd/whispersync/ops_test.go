package main

import (
	"archive/zip"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBackupRestoreFromTheCommandLine(t *testing.T) {
	env := testEnv(t)
	env["WHISPERSYNC_BACKUP_DIR"] = filepath.Join(t.TempDir(), "backups")
	processJSON(t, env, "--user", "alice", "../../examples/memos")
	_, before, _ := run(t, env, "memos", "list", "--user", "alice")

	code, out, stderr := run(t, env, "backup", "create", "--json")
	if code != 0 {
		t.Fatalf("backup create: exit %d, stderr %s", code, stderr)
	}
	var manifest struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(out), &manifest); err != nil || manifest.ID == "" {
		t.Fatalf("backup create --json: got %q, want a manifest with an id", out)
	}
	if code, _, stderr := run(t, env, "backup", "verify", manifest.ID); code != 0 {
		t.Errorf("backup verify: exit %d, stderr %s", code, stderr)
	}

	target := filepath.Join(t.TempDir(), "restored")
	if code, _, stderr := run(t, env, "backup", "restore", "--to", target); code != 0 {
		t.Fatalf("backup restore: exit %d, stderr %s", code, stderr)
	}
	restored := map[string]string{}
	for k, v := range env {
		restored[k] = v
	}
	restored["WHISPERSYNC_DATA_DIR"] = target
	_, after, stderr := run(t, restored, "memos", "list", "--user", "alice")
	if after != before || before == "" {
		t.Errorf("memos after restore differ:\nbefore:\n%s\nafter:\n%s\nstderr: %s", before, after, stderr)
	}

	notEmpty := t.TempDir()
	if err := os.WriteFile(filepath.Join(notEmpty, "keep.txt"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := run(t, env, "backup", "restore", "--to", notEmpty); code == 0 {
		t.Error("restore into a non-empty folder succeeded")
	}
}

func TestPrivacyExportAndEraseFromTheCommandLine(t *testing.T) {
	env := testEnv(t)
	processJSON(t, env, "--user", "alice", "../../examples/memos/memories")
	processJSON(t, env, "--user", "bob", "../../examples/memos/work")

	export := filepath.Join(t.TempDir(), "alice.zip")
	if code, _, stderr := run(t, env, "privacy", "export", "--user", "alice", "--to", export); code != 0 {
		t.Fatalf("privacy export: exit %d, stderr %s", code, stderr)
	}
	archive, err := zip.OpenReader(export)
	if err != nil {
		t.Fatalf("export is not a zip: %v", err)
	}
	if err := archive.Close(); err != nil {
		t.Errorf("close export: %v", err)
	}

	if code, _, _ := run(t, env, "privacy", "erase", "--user", "alice"); code == 0 {
		t.Error("erase without --yes and without a confirmation on stdin succeeded")
	}
	code, receipt, stderr := run(t, env, "privacy", "erase", "--user", "alice", "--yes")
	if code != 0 || !strings.Contains(receipt, "signature") {
		t.Fatalf("privacy erase --yes: exit %d, stdout %s, stderr %s", code, receipt, stderr)
	}
	_, bobMemos, _ := run(t, env, "memos", "list", "--user", "bob")
	if strings.Count(bobMemos, "\n") != 3 {
		t.Errorf("bob's memos after erasing alice: got\n%s\nwant 3 lines", bobMemos)
	}
	assertNowhere(t, env["WHISPERSYNC_DATA_DIR"], "sandcastle", "grandpa", "snowman", "Walter")
}

// assertNowhere fails when a file under dir contains one of the words, in
// any letter case.
func assertNowhere(t *testing.T, dir string, words ...string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path) // #nosec G122 -- the test walks folders it created
		if err != nil {
			return err
		}
		lower := strings.ToLower(string(data))
		for _, w := range words {
			if strings.Contains(lower, strings.ToLower(w)) {
				t.Errorf("%s contains %q", path, w)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestBackupClassesAreChecked(t *testing.T) {
	env := testEnv(t)
	env["WHISPERSYNC_BACKUP_DIR"] = filepath.Join(t.TempDir(), "backups")
	env["WHISPERSYNC_BACKUP_CLASSES"] = "sensitive,bogus"
	code, _, stderr := run(t, env, "backup", "create")
	if code != 2 {
		t.Errorf("backup create with an unknown class: exit %d, want 2", code)
	}
	for _, want := range []string{`"bogus"`, "public, internal, personal, sensitive"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr %q: want it to contain %s", stderr, want)
		}
	}
	if _, err := os.Stat(env["WHISPERSYNC_BACKUP_DIR"]); err == nil {
		t.Error("backup create with an unknown class created the backup location")
	}

	env["WHISPERSYNC_BACKUP_CLASSES"] = "personal, sensitive"
	if code, _, stderr := run(t, env, "backup", "create"); code != 0 {
		t.Errorf("backup create with two classes and a space: exit %d, stderr %s", code, stderr)
	}
}
