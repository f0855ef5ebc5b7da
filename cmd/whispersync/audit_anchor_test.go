package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// rollBackAudit removes the newest digest of the audit log in dataDir and
// the entries it covers, as an attacker who can write the data directory
// but not the key folder can.
func rollBackAudit(t *testing.T, dataDir string) {
	t.Helper()
	digests, err := filepath.Glob(filepath.Join(dataDir, "audit", "digests", "*.json"))
	if err != nil || len(digests) < 2 {
		t.Fatalf("audit digests: %v (found %d, want at least 2)", err, len(digests))
	}

	var f struct {
		Digest struct {
			LastSeq uint64 `json:"last_seq"`
		} `json:"digest"`
	}
	data, err := os.ReadFile(digests[len(digests)-2])
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}

	segments, err := filepath.Glob(filepath.Join(dataDir, "audit", "*.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	cut := 0
	for _, seg := range segments {
		data, err := os.ReadFile(seg)
		if err != nil {
			t.Fatal(err)
		}
		var remaining []string
		for line := range strings.Lines(string(data)) {
			var e struct {
				Seq uint64 `json:"seq"`
			}
			if err := json.Unmarshal([]byte(line), &e); err != nil {
				t.Fatal(err)
			}
			if e.Seq <= f.Digest.LastSeq {
				remaining = append(remaining, line)
			} else {
				cut++
			}
		}
		if err := os.WriteFile(seg, []byte(strings.Join(remaining, "")), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	if cut == 0 {
		t.Fatal("the newest digest covers no entry, so nothing was cut")
	}
	if err := os.Remove(digests[len(digests)-1]); err != nil {
		t.Fatal(err)
	}
}

// TestAuditWipedLogIsRejected deletes the audit folder. The next command
// used to start a new log and re-anchor it, and verify then printed OK.
func TestAuditWipedLogIsRejected(t *testing.T) {
	env := testEnv(t)
	processJSON(t, env, "../../examples/memos/work")
	dataDir := env["WHISPERSYNC_DATA_DIR"]
	anchorFile := env["WHISPERSYNC_KEY_FILE"] + ".audit-anchor"
	if err := os.RemoveAll(filepath.Join(dataDir, "audit")); err != nil {
		t.Fatal(err)
	}

	code, _, stderr := run(t, env, "memos", "list")
	if code != 1 {
		t.Fatalf("memos list after the audit folder was deleted: exit status %d, want 1", code)
	}
	if !strings.Contains(stderr, anchorFile) {
		t.Errorf("memos list error does not name the anchor file %s:\n%s", anchorFile, stderr)
	}
	if !strings.Contains(stderr, "whispersync audit reset") {
		t.Errorf("memos list error does not name the reset:\n%s", stderr)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "audit")); !os.IsNotExist(err) {
		t.Errorf("the rejected command created a new audit folder: %v", err)
	}
	if code, stdout, _ := run(t, env, "audit", "verify"); code != 1 {
		t.Errorf("audit verify after the audit folder was deleted: exit status %d, stdout:\n%s\nwant 1", code, stdout)
	}

	// Deleting the identity file too does not help.
	if err := os.Remove(filepath.Join(dataDir, "audit-identity.json")); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := run(t, env, "memos", "list"); code != 1 || !strings.Contains(stderr, "audit reset") {
		t.Errorf("memos list without the audit folder and the identity file: exit status %d, stderr:\n%s\nwant 1", code, stderr)
	}

	// The way out is explicit and recorded.
	if code, _, _ := run(t, env, "audit", "reset"); code != 2 {
		t.Errorf("audit reset without --reason: exit status %d, want 2", code)
	}
	code, stdout, stderr := run(t, env, "audit", "reset", "--reason", "INC-142 audit folder lost")
	if code != 0 {
		t.Fatalf("audit reset: exit status %d, stderr:\n%s", code, stderr)
	}
	if !strings.Contains(stdout, "new audit log") {
		t.Errorf("audit reset output: %q", stdout)
	}
	if code, stdout, _ := run(t, env, "audit", "verify"); code != 0 {
		t.Errorf("audit verify after the reset: exit status %d, stdout:\n%s", code, stdout)
	}
	_, stdout, _ = run(t, env, "audit", "search", "--action", "audit.reset", "--json")
	var e struct {
		Seq       uint64            `json:"seq"`
		Principal string            `json:"principal"`
		Detail    map[string]string `json:"detail"`
	}
	if err := json.Unmarshal([]byte(stdout), &e); err != nil {
		t.Fatalf("audit.reset entry %q: %v", stdout, err)
	}
	if e.Seq != 1 {
		t.Errorf("audit.reset entry seq: got %d, want 1", e.Seq)
	}
	if e.Principal != "operator:tester" {
		t.Errorf("audit.reset entry principal: got %q, want operator:tester", e.Principal)
	}
	if e.Detail["reason"] != "INC-142 audit folder lost" {
		t.Errorf("audit.reset entry reason: got %q", e.Detail["reason"])
	}
	if code, _, stderr := run(t, env, "memos", "list"); code != 0 {
		t.Errorf("memos list after the reset: exit status %d, stderr:\n%s", code, stderr)
	}
}

// TestAuditRestoreKeepsOriginalAnchored restores a backup with the same key
// file and opens the restored directory last: the anchor file used to name
// the restored directory's log only, so cutting the original's newest
// digest with its entries passed verify.
func TestAuditRestoreKeepsOriginalAnchored(t *testing.T) {
	env := testEnv(t)
	processJSON(t, env, "../../examples/memos/work")
	if code, _, stderr := run(t, env, "backup", "create"); code != 0 {
		t.Fatalf("backup create: exit status %d, stderr:\n%s", code, stderr)
	}
	target := filepath.Join(t.TempDir(), "restored")
	if code, _, stderr := run(t, env, "backup", "restore", "--to", target); code != 0 {
		t.Fatalf("backup restore: exit status %d, stderr:\n%s", code, stderr)
	}
	restored := map[string]string{}
	for k, v := range env {
		restored[k] = v
	}
	restored["WHISPERSYNC_DATA_DIR"] = target
	if code, _, stderr := run(t, restored, "memos", "list"); code != 0 {
		t.Fatalf("memos list in the restored directory: exit status %d, stderr:\n%s", code, stderr)
	}

	rollBackAudit(t, env["WHISPERSYNC_DATA_DIR"])
	code, stdout, _ := run(t, env, "audit", "verify")
	if code != 1 || !strings.Contains(stdout, "roll the log back") {
		t.Errorf("audit verify of the rolled-back original: exit status %d, stdout:\n%s\nwant 1 and the rollback", code, stdout)
	}
	code, _, stderr := run(t, env, "memos", "list")
	if code != 1 || !strings.Contains(stderr, "roll the log back") {
		t.Errorf("memos list in the rolled-back original: exit status %d, stderr:\n%s\nwant 1 and the rollback", code, stderr)
	}
	if code, stdout, _ := run(t, restored, "audit", "verify"); code != 0 {
		t.Errorf("audit verify of the restored directory: exit status %d, stdout:\n%s", code, stdout)
	}
}

// TestAuditRollbackThenCommandRejected cuts the newest digest with its
// entries and runs a command: the command used to sign a new digest under
// the removed one's number and re-anchor it, which hid the cut.
func TestAuditRollbackThenCommandRejected(t *testing.T) {
	env := testEnv(t)
	processJSON(t, env, "../../examples/memos/work")
	rollBackAudit(t, env["WHISPERSYNC_DATA_DIR"])
	run(t, env, "memos", "list")
	code, stdout, _ := run(t, env, "audit", "verify")
	if code != 1 {
		t.Errorf("audit verify after a rollback and a command: exit status %d, stdout:\n%s\nwant 1", code, stdout)
	}
}

// TestAuditEarlierAnchorIsMigrated opens a data directory of a release
// before identities: its single-record anchor keeps protecting the log.
func TestAuditEarlierAnchorIsMigrated(t *testing.T) {
	env := testEnv(t)
	processJSON(t, env, "../../examples/memos/work")
	dataDir := env["WHISPERSYNC_DATA_DIR"]
	anchorFile := env["WHISPERSYNC_KEY_FILE"] + ".audit-anchor"
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
	if err := os.Remove(filepath.Join(dataDir, "audit-identity.json")); err != nil {
		t.Fatal(err)
	}

	if code, _, stderr := run(t, env, "memos", "list"); code != 0 {
		t.Fatalf("memos list with an anchor of the earlier release: exit status %d, stderr:\n%s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "audit-identity.json")); err != nil {
		t.Errorf("identity file after the first open: %v", err)
	}
	if code, stdout, _ := run(t, env, "audit", "verify"); code != 0 {
		t.Errorf("audit verify after the migration: exit status %d, stdout:\n%s", code, stdout)
	}
	rollBackAudit(t, dataDir)
	if code, stdout, _ := run(t, env, "audit", "verify"); code != 1 {
		t.Errorf("audit verify of the migrated log rolled back: exit status %d, stdout:\n%s\nwant 1", code, stdout)
	}
}

func TestAuditResetHelp(t *testing.T) {
	env := testEnv(t)
	code, _, stderr := run(t, env, "audit", "--help")
	if code != 0 {
		t.Fatalf("audit --help: exit status %d", code)
	}
	sc := bufio.NewScanner(strings.NewReader(stderr))
	example := false
	for sc.Scan() {
		if strings.Contains(sc.Text(), "whispersync audit reset --reason") {
			example = true
		}
	}
	if !strings.Contains(stderr, "-reason") || !example {
		t.Errorf("audit --help does not document reset with an example:\n%s", stderr)
	}
}

// TestAuditResetRefusals checks that audit reset refuses a healthy log,
// which it would only hide, and a reason with terminal escapes.
func TestAuditResetRefusals(t *testing.T) {
	env := testEnv(t)
	processJSON(t, env, "../../examples/memos/work")
	code, _, stderr := run(t, env, "audit", "reset", "--reason", "just because")
	if code != 1 || !strings.Contains(stderr, "nothing to reset") {
		t.Errorf("audit reset of a healthy log: exit status %d, stderr:\n%s\nwant 1 and nothing to reset", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(env["WHISPERSYNC_DATA_DIR"], "audit")); err != nil {
		t.Errorf("the healthy log after the refused reset: %v", err)
	}

	if err := os.RemoveAll(filepath.Join(env["WHISPERSYNC_DATA_DIR"], "audit")); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := run(t, env, "audit", "reset", "--reason", "lost\x1b[2J"); code != 2 {
		t.Errorf("audit reset with a terminal escape in the reason: exit status %d, want 2", code)
	}
}
