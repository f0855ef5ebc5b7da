package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAuditVerifyAndSearch(t *testing.T) {
	env := testEnv(t)
	processJSON(t, env, "../../examples/memos/work")

	code, stdout, stderr := run(t, env, "audit", "verify")
	if code != 0 || !strings.HasPrefix(stdout, "OK") {
		t.Fatalf("audit verify: exit status %d, stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}

	code, stdout, stderr = run(t, env, "audit", "search", "--action", "memo.*", "--json")
	if code != 0 {
		t.Fatalf("audit search: exit status %d, stderr:\n%s", code, stderr)
	}
	n := 0
	sc := bufio.NewScanner(strings.NewReader(stdout))
	for sc.Scan() {
		var e struct {
			Action string `json:"action"`
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("search output line %q: %v", sc.Text(), err)
		}
		if !strings.HasPrefix(e.Action, "memo.") {
			t.Errorf("search action: got %q, want memo.*", e.Action)
		}
		n++
	}
	if n == 0 {
		t.Error("search --action memo.*: got no entries, want the memos created")
	}

	digests := filepath.Join(env["WHISPERSYNC_DATA_DIR"], "audit", "digests")
	if err := os.Remove(filepath.Join(digests, "00000001.json")); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ = run(t, env, "audit", "verify", "--json")
	var result struct {
		OK      bool `json:"ok"`
		Problem *struct {
			Reason string `json:"reason"`
		} `json:"problem"`
	}
	if err := json.Unmarshal([]byte(stdout), &result); err != nil {
		t.Fatalf("verify --json output %q: %v", stdout, err)
	}
	if code != 1 || result.OK || result.Problem == nil || !strings.Contains(result.Problem.Reason, "missing") {
		t.Errorf("verify after deleting a digest: got exit status %d, %+v, want 1 and a missing digest", code, result)
	}
}

func TestAuditUsage(t *testing.T) {
	env := testEnv(t)
	for _, args := range [][]string{{"audit"}, {"audit", "fly"}, {"audit", "search", "--from", "yesterday"}, {"audit", "verify", "--max-unsigned", "-1h"}} {
		if code, _, _ := run(t, env, args...); code != 2 {
			t.Errorf("%v: exit status %d, want 2", args, code)
		}
	}
}

func TestAuditVerifyNotesIncompleteLastLine(t *testing.T) {
	env := testEnv(t)
	processJSON(t, env, "../../examples/memos/work")
	segments, err := filepath.Glob(filepath.Join(env["WHISPERSYNC_DATA_DIR"], "audit", "*.jsonl"))
	if err != nil || len(segments) == 0 {
		t.Fatalf("find audit segments: %v (found %d)", err, len(segments))
	}
	last := segments[len(segments)-1]
	f, err := os.OpenFile(last, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(`{"seq":9999`); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	_, stdout, _ := run(t, env, "audit", "verify")
	if !strings.Contains(stdout, "incomplete line") {
		t.Errorf("audit verify with a torn last line: got\n%s\nwant a note about the incomplete line", stdout)
	}
}
