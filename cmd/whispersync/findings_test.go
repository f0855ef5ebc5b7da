package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestFindingsScanListArchive(t *testing.T) {
	env := testEnv(t)
	processJSON(t, env, "../../examples/memos/work")
	if code, _, stderr := run(t, env, "findings", "scan"); code != 0 {
		t.Fatalf("findings scan: exit status %d, stderr:\n%s", code, stderr)
	}
	code, stdout, stderr := run(t, env, "findings", "list", "--all", "--json")
	if code != 0 {
		t.Fatalf("findings list: exit status %d, stderr:\n%s", code, stderr)
	}
	var found []map[string]any
	if err := json.Unmarshal([]byte(stdout), &found); err != nil {
		t.Fatalf("findings list --json output %q: %v", stdout, err)
	}
	if code, _, _ := run(t, env, "findings", "show", "f_0000"); code != 1 {
		t.Errorf("findings show of an unknown id: exit status %d, want 1", code)
	}
	if code, _, _ := run(t, env, "findings", "archive"); code != 2 {
		t.Errorf("findings archive without an id: exit status %d, want 2", code)
	}
}

func TestCheckReportsFailures(t *testing.T) {
	env := testEnv(t)
	processJSON(t, env, "../../examples/memos/work")
	if code, _, stderr := run(t, env, "findings", "scan"); code != 0 {
		t.Fatalf("findings scan: exit status %d, stderr:\n%s", code, stderr)
	}

	code, stdout, stderr := run(t, env, "check", "--json", "--cors-origins", "*")
	if code != 1 {
		t.Fatalf("check: exit status %d, want 1 (no backups, no notifier), stderr:\n%s", code, stderr)
	}
	var results []struct {
		ID          string `json:"id"`
		Status      string `json:"status"`
		Remediation string `json:"remediation"`
	}
	if err := json.Unmarshal([]byte(stdout), &results); err != nil {
		t.Fatalf("check --json output %q: %v", stdout, err)
	}
	status := map[string]string{}
	for _, r := range results {
		status[r.ID] = r.Status
		if r.Status == "fail" && r.Remediation == "" {
			t.Errorf("%s: fails without a remediation", r.ID)
		}
	}
	for id, want := range map[string]string{"cors": "fail", "backup.schedule": "fail", "audit.signed": "pass", "audit.verify": "pass", "tls": "pass", "detection": "pass", "datadir.mode": "pass"} {
		if status[id] != want {
			t.Errorf("%s: got %q, want %q", id, status[id], want)
		}
	}

	code, stdout, _ = run(t, env, "check")
	if code != 1 || !strings.Contains(stdout, "fix: ") {
		t.Errorf("check: got exit status %d and output\n%s\nwant 1 and remediations", code, stdout)
	}
}
