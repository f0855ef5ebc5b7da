package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// runInput runs the CLI in-process with stdin.
func runInput(t *testing.T, env map[string]string, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	m := &Main{Stdin: strings.NewReader(stdin), Stdout: &stdout, Stderr: &stderr, Getenv: func(k string) string { return env[k] }}
	code := m.Run(context.Background(), args)
	return code, stdout.String(), stderr.String()
}

func TestUsersCommand(t *testing.T) {
	env := testEnv(t)
	code, stdout, stderr := run(t, env, "users", "create", "alice")
	if code != 0 || len(strings.TrimSpace(stdout)) != 24 {
		t.Fatalf("users create: exit %d, stdout %q, stderr %q, want a generated 24-character password", code, stdout, stderr)
	}
	if code, _, stderr := run(t, env, "users", "create", "alice"); code != 1 || !strings.Contains(stderr, "users passwd") {
		t.Errorf("users create of an existing user: exit %d, stderr %q, want 1 with a hint", code, stderr)
	}
	if code, stdout, _ := runInput(t, env, "a long enough passphrase\n", "users", "create", "bob", "--password-stdin"); code != 0 || stdout != "" {
		t.Errorf("users create --password-stdin: exit %d, stdout %q, want 0 and nothing printed", code, stdout)
	}
	if code, _, stderr := runInput(t, env, "short\n", "users", "passwd", "bob", "--password-stdin"); code != 1 || !strings.Contains(stderr, "at least 12") {
		t.Errorf("users passwd with a short password: exit %d, stderr %q", code, stderr)
	}
	if code, _, _ := run(t, env, "users", "lock", "bob"); code != 0 {
		t.Errorf("users lock: exit %d", code)
	}
	_, stdout, _ = run(t, env, "users", "list", "--json")
	var users []userView
	if err := json.Unmarshal([]byte(stdout), &users); err != nil {
		t.Fatalf("users list --json: %v in %q", err, stdout)
	}
	for _, u := range users {
		if u.Name == "bob" && (u.LockedAt.IsZero() || !u.Password) {
			t.Errorf("bob after lock: got %+v, want locked with a password", u)
		}
	}
	if code, _, _ := run(t, env, "users", "unlock", "bob"); code != 0 {
		t.Errorf("users unlock: exit %d", code)
	}
	if code, _, _ := run(t, env, "users", "lock", "nobody"); code != 1 {
		t.Errorf("users lock of an unknown user: exit %d, want 1", code)
	}
	if code, _, _ := run(t, env, "users"); code != 2 {
		t.Errorf("users without an action: exit %d, want 2", code)
	}
}

func TestBlocklistCommand(t *testing.T) {
	env := testEnv(t)
	for _, v := range []string{"203.0.113.7", "2001:db8::/32", "token:t_abc"} {
		if code, _, stderr := run(t, env, "blocklist", "add", v, "--reason", "test", "--expires", "1h"); code != 0 {
			t.Errorf("blocklist add %s: exit %d, stderr %q", v, code, stderr)
		}
	}
	if code, _, _ := run(t, env, "blocklist", "add", "not-an-address"); code != 2 {
		t.Errorf("blocklist add of garbage: exit %d, want 2", code)
	}
	_, stdout, _ := run(t, env, "blocklist", "list")
	for _, v := range []string{"203.0.113.7", "2001:db8::/32", "token:t_abc"} {
		if !strings.Contains(stdout, v) {
			t.Errorf("blocklist list: %q lacks %s", stdout, v)
		}
	}
	if code, _, _ := run(t, env, "blocklist", "remove", "203.0.113.7"); code != 0 {
		t.Errorf("blocklist remove: exit %d", code)
	}
	if code, _, _ := run(t, env, "blocklist", "remove", "203.0.113.7"); code != 1 {
		t.Errorf("blocklist remove again: exit %d, want 1", code)
	}
}

func TestServiceAccountsCommand(t *testing.T) {
	env := testEnv(t)
	code, stdout, stderr := run(t, env, "serviceaccounts", "create", "capture", "--user", "alice", "--scope", "memos:write")
	if code != 0 || !strings.Contains(stdout, "client_id=sa_") || !strings.Contains(stdout, "client_secret=wsa_") {
		t.Fatalf("serviceaccounts create: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	id := strings.TrimPrefix(strings.SplitN(stdout, "\n", 2)[0], "client_id=")
	if code, _, _ := run(t, env, "serviceaccounts", "create", "bad", "--cert-sha256", "xyz"); code != 2 {
		t.Errorf("serviceaccounts create with a bad fingerprint: exit %d, want 2", code)
	}
	if code, _, _ := run(t, env, "serviceaccounts", "disable", id); code != 0 {
		t.Errorf("serviceaccounts disable: exit %d", code)
	}
	if _, stdout, _ := run(t, env, "serviceaccounts", "list"); !strings.Contains(stdout, "disabled") || strings.Contains(stdout, "wsa_") {
		t.Errorf("serviceaccounts list: got %q, want the account disabled and no secret", stdout)
	}
}

func TestServeRejectsPlainHTTPOffLoopback(t *testing.T) {
	env := testEnv(t)
	code, _, stderr := run(t, env, "serve", "--insecure-http", "--listen", "0.0.0.0:0")
	if code != 2 || !strings.Contains(stderr, "loopback") {
		t.Errorf("serve --insecure-http on 0.0.0.0: exit %d, stderr %q, want 2 naming loopback", code, stderr)
	}
	code, _, stderr = run(t, env, "serve", "--cors-origins", "*", "--cors-credentials")
	if code != 2 || !strings.Contains(stderr, "credentials") {
		t.Errorf("serve with CORS * and credentials: exit %d, stderr %q, want 2", code, stderr)
	}
}
