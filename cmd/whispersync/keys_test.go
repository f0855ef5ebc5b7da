package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runStdin runs the CLI in-process with stdin.
func runStdin(t *testing.T, env map[string]string, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	m := &Main{Stdin: strings.NewReader(stdin), Stdout: &stdout, Stderr: &stderr, Getenv: func(k string) string { return env[k] }}
	code := m.Run(context.Background(), args)
	return code, stdout.String(), stderr.String()
}

func mustRun(t *testing.T, env map[string]string, stdin string, args ...string) (string, string) {
	t.Helper()
	code, stdout, stderr := runStdin(t, env, stdin, args...)
	if code != 0 {
		t.Fatalf("%v: exit status %d, stderr:\n%s", args, code, stderr)
	}
	return stdout, stderr
}

type keyStatusJSON struct {
	Versions []struct {
		Version  int  `json:"version"`
		Current  bool `json:"current"`
		DataKeys int  `json:"data_keys"`
	} `json:"versions"`
	NextRotation string `json:"next_rotation"`
}

func keyStatus(t *testing.T, env map[string]string) keyStatusJSON {
	t.Helper()
	stdout, _ := mustRun(t, env, "", "keys", "status", "--json")
	var st keyStatusJSON
	if err := json.Unmarshal([]byte(stdout), &st); err != nil {
		t.Fatalf("keys status --json: %v\n%s", err, stdout)
	}
	return st
}

func TestKeysRotateRetire(t *testing.T) {
	env := testEnv(t)
	processJSON(t, env, "../../examples/memos/work")

	st := keyStatus(t, env)
	if len(st.Versions) != 1 || st.Versions[0].DataKeys == 0 || st.NextRotation == "" {
		t.Fatalf("keys status before rotating: got %+v, want version 1 wrapping data keys and a next rotation", st)
	}
	if code, _, stderr := run(t, env, "keys", "retire", "1"); code != 1 || !strings.Contains(stderr, "rotate first") {
		t.Errorf("keys retire of the current version: got %d, %q, want status 1 and the fix", code, stderr)
	}

	_, stderr := mustRun(t, env, "", "keys", "rotate")
	if !strings.Contains(stderr, "rewrap to version 2") || !strings.Contains(stderr, "version 2 is current") {
		t.Errorf("keys rotate: stderr %q, want progress and the result", stderr)
	}
	st = keyStatus(t, env)
	if len(st.Versions) != 2 || st.Versions[0].DataKeys != 0 || !st.Versions[1].Current {
		t.Errorf("keys status after rotating: got %+v, want version 1 with no data keys", st.Versions)
	}
	mustRun(t, env, "", "keys", "retire", "1")
	stdout, _ := mustRun(t, env, "", "memos", "list", "--json")
	if !strings.Contains(stdout, "processed") {
		t.Errorf("memos list after retiring version 1: got %.200s, want the processed memos", stdout)
	}
	if code, _, stderr := run(t, env, "keys", "retire", "nine"); code != 2 || !strings.Contains(stderr, `"nine"`) {
		t.Errorf("keys retire nine: got %d, %q, want a usage error naming the value", code, stderr)
	}

	stdout, _ = mustRun(t, env, "", "keys", "schedule", "--kek", "720h", "--data-keys", "0", "--json")
	if !strings.Contains(stdout, `"kek_rotation": "720h0m0s"`) || !strings.Contains(stdout, `"data_key_rotation": "0s"`) {
		t.Errorf("keys schedule --json: got %s", stdout)
	}
	if code, _, stderr := run(t, env, "keys", "schedule", "--kek", "yearly"); code != 2 || !strings.Contains(stderr, "8760h") {
		t.Errorf("keys schedule with a bad duration: got %d, %q, want a usage error with an example", code, stderr)
	}
	if code, _, stderr := run(t, env, "keys", "schedule", "--kek", "-1h"); code != 2 {
		t.Errorf("keys schedule with a negative period: got %d, %q, want a usage error", code, stderr)
	}
}

func TestKeysSecretsConfigHelp(t *testing.T) {
	env := testEnv(t)
	for _, cmd := range []string{"keys", "secrets", "config"} {
		code, _, stderr := run(t, env, cmd, "--help")
		if code != 0 || !strings.Contains(stderr, "Examples:") || !strings.Contains(stderr, "whispersync "+cmd) {
			t.Errorf("%s --help: got %d, %q, want usage with examples", cmd, code, stderr)
		}
		if code, _, stderr := run(t, env, cmd); code != 2 || !strings.Contains(stderr, "hint:") {
			t.Errorf("%s without an action: got %d, %q, want a usage error with a hint", cmd, code, stderr)
		}
	}
}

// TestSecretsNeverLeak plants secret values and a passphrase, drives every
// secret, key and config command, and scans every output and every file of
// the data directory and the key folder for them.
func TestSecretsNeverLeak(t *testing.T) {
	const (
		plantedValue   = "PLANTED-value-7c1e94b2aa"
		plantedRotated = "PLANTED-rotated-e3f08d11"
		passphrase     = "PLANTED-passphrase-5d2c"
	)
	env := testEnv(t)
	keyDir := filepath.Dir(env["WHISPERSYNC_KEY_FILE"])
	secretDir := t.TempDir()
	passphraseFile := filepath.Join(secretDir, "passphrase")
	if err := os.WriteFile(passphraseFile, []byte(passphrase+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("WHISPERSYNC_PASSPHRASE_FILE", passphraseFile)
	valueFile := filepath.Join(secretDir, "value")
	if err := os.WriteFile(valueFile, []byte(plantedRotated), 0o600); err != nil {
		t.Fatal(err)
	}

	var outputs []string
	record := func(stdin string, args ...string) (int, string) {
		code, stdout, stderr := runStdin(t, env, stdin, args...)
		outputs = append(outputs, stderr)
		return code, stdout
	}
	keep := func(stdin string, args ...string) {
		t.Helper()
		code, stdout := record(stdin, args...)
		outputs = append(outputs, stdout)
		if code != 0 {
			t.Fatalf("%v: exit status %d", args, code)
		}
	}
	keep(plantedValue+"\n", "secrets", "set", "smtp-password", "--contact", "ops@example.org")
	keep("", "secrets", "set", "session-salt", "--generate")
	keep("", "secrets", "set", "elevenlabs-api-key", "--type", "provider", "--provider", "local", "--from-file", valueFile)
	keep("", "secrets", "rotate", "elevenlabs-api-key")
	keep("", "secrets", "rotate", "session-salt")
	if code, _ := record("", "secrets", "rotate", "smtp-password"); code != 1 {
		t.Errorf("secrets rotate of a notify secret without a value: got %d, want 1", code)
	}
	keep(plantedRotated, "secrets", "rotate", "smtp-password", "--stdin")
	keep("", "secrets", "list")
	keep("", "secrets", "list", "--json")
	keep("", "config", "show")
	keep("", "config", "show", "--json")
	keep("", "keys", "status", "--json")
	keep("", "keys", "rotate")
	keep("", "-v", "keys", "status")
	if code, _ := record("", "secrets", "set", "github-token", plantedValue); code != 2 {
		t.Errorf("secrets set with a value on the command line: got %d, want a usage error", code)
	}
	if code, _ := record("", "secrets", "set", plantedValue); code != 2 {
		t.Errorf("secrets set with a value as the name: got %d, want a usage error", code)
	}

	code, stdout := record("", "secrets", "get", "smtp-password")
	if code != 0 || stdout != plantedRotated+"\n" {
		t.Errorf("secrets get: got %d, %q, want the rotated value", code, stdout)
	}
	code, stdout = record("", "secrets", "get", "smtp-password", "--stage", "AWSPREVIOUS")
	if code != 0 || stdout != plantedValue+"\n" {
		t.Errorf("secrets get --stage AWSPREVIOUS: got %d, %q, want the first value", code, stdout)
	}
	mustRun(t, env, "", "secrets", "delete", "session-salt")

	for i, out := range outputs {
		for _, p := range []string{plantedValue, plantedRotated, passphrase} {
			if strings.Contains(out, p) {
				t.Errorf("output %d contains a planted secret: %.300s", i, out)
			}
		}
	}
	for _, root := range []string{env["WHISPERSYNC_DATA_DIR"], keyDir} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(path) // #nosec G122 -- the test walks folders it created
			if err != nil {
				return err
			}
			for _, p := range []string{plantedValue, plantedRotated, passphrase} {
				if bytes.Contains(data, []byte(p)) {
					t.Errorf("file %s contains a planted secret", path)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}
