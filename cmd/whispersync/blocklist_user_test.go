package main

import (
	"strings"
	"testing"
)

// TestBlocklistUserNames checks that the CLI stores a user block in the
// form the edge matches, whatever case or id names the user, and rejects
// unknown users.
func TestBlocklistUserNames(t *testing.T) {
	env := testEnv(t)
	if code, _, stderr := run(t, env, "users", "create", "alice"); code != 0 {
		t.Fatalf("users create: exit %d, stderr %q", code, stderr)
	}
	code, _, stderr := run(t, env, "blocklist", "add", "user:ALICE")
	if code != 0 {
		t.Fatalf("blocklist add user:ALICE: exit %d, stderr %q", code, stderr)
	}
	if !strings.Contains(stderr, "blocked user:alice") {
		t.Errorf("blocklist add user:ALICE: stderr %q, want it to name user:alice", stderr)
	}
	_, stdout, _ := run(t, env, "blocklist", "list")
	if !strings.Contains(stdout, "user:alice") || strings.Contains(stdout, "user:ALICE") {
		t.Errorf("blocklist list: %q, want user:alice only", stdout)
	}
	if code, _, stderr := run(t, env, "blocklist", "remove", "user:Alice"); code != 0 || !strings.Contains(stderr, "unblocked user:alice") {
		t.Errorf("blocklist remove user:Alice: exit %d, stderr %q, want user:alice removed", code, stderr)
	}
	if code, _, _ := run(t, env, "blocklist", "add", "user:nobody"); code != 1 {
		t.Errorf("blocklist add of an unknown user: exit %d, want 1", code)
	}
	if code, _, _ := run(t, env, "blocklist", "add", "203.0.113.7", "--reason", "line\x1b[2J"); code != 2 {
		t.Errorf("blocklist add with a terminal escape in the reason: exit %d, want 2", code)
	}
}
