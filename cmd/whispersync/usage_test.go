package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/whispersync/whispersync/app"
)

// TestEveryHelpStartsWithSynopsis checks that each command's help begins
// with a usage line naming the command, not with its description.
func TestEveryHelpStartsWithSynopsis(t *testing.T) {
	env := testEnv(t)
	for _, c := range commands() {
		code, _, stderr := run(t, env, c.name, "--help")
		first, _, _ := strings.Cut(stderr, "\n")
		if code != 0 || !strings.HasPrefix(first, "Usage: whispersync "+c.name+" ") {
			t.Errorf("%s --help: exit %d, first line %q, want a synopsis of %s", c.name, code, first, c.name)
		}
	}
}

func TestHelpTextsMatchTheCode(t *testing.T) {
	env := testEnv(t)
	_, _, findings := run(t, env, "findings", "--help")
	if !strings.Contains(findings, every(app.DefaultDetectionInterval)) || strings.Contains(findings, "15 minutes") {
		t.Errorf("findings --help: got\n%s\nwant the detection interval %q", findings, every(app.DefaultDetectionInterval))
	}
	if got := every(15 * time.Minute); got != "every 15 minutes" {
		t.Errorf("every(15m): got %q", got)
	}

	_, _, blocklist := run(t, env, "blocklist", "--help")
	for _, want := range []string{"in use", "POST /v1/admin/blocklist", "/v1/admin/blocklist/remove", "--scope admin"} {
		if !strings.Contains(blocklist, want) {
			t.Errorf("blocklist --help: got\n%s\nwant %q", blocklist, want)
		}
	}
	if strings.Contains(blocklist, "within 5 seconds") {
		t.Errorf("blocklist --help still says a running serve picks up CLI changes:\n%s", blocklist)
	}

	_, _, journal := run(t, env, "journal", "--help")
	for line := range strings.SplitSeq(journal, "\n") {
		if strings.Contains(line, "ISO week, such as") && strings.Count(line, "default") != 1 {
			t.Errorf("journal --help: %q names the default %d times, want once", line, strings.Count(line, "default"))
		}
	}

	code, stdout, _ := run(t, env, "help")
	first, _, _ := strings.Cut(stdout, "\n")
	if code != 0 || !strings.Contains(first, "[--passphrase-file FILE]") {
		t.Errorf("whispersync help: usage line %q, want --passphrase-file", first)
	}

	_, _, secrets := run(t, env, "secrets", "--help")
	if !strings.Contains(secrets, "secrets.rotation_due") || !strings.Contains(secrets, "exits 1") {
		t.Errorf("secrets --help: got\n%s\nwant what rotate of a notify secret records and its exit status", secrets)
	}
}

// curlCommands returns the curl command lines of text, with backslash
// continuations joined.
func curlCommands(text string) []string {
	var out []string
	joined := strings.ReplaceAll(text, "\\\n", " ")
	for line := range strings.SplitSeq(joined, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "curl ") {
			out = append(out, line)
		}
	}
	return out
}

// TestCurlExamplesSendAContentType checks every curl example that sends a
// body, in every help text and in the README: the API answers 415 to
// curl's default application/x-www-form-urlencoded.
func TestCurlExamplesSendAContentType(t *testing.T) {
	env := testEnv(t)
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	texts := map[string]string{"README.md": string(readme)}
	for _, c := range commands() {
		_, _, texts[c.name+" --help"] = run(t, env, c.name, "--help")
	}
	body := regexp.MustCompile(`(^|\s)(--data-binary|--data|-d|-F|--form)\s`)
	withType := regexp.MustCompile(`-H\s+["']Content-Type: `)
	found := 0
	for where, text := range texts {
		for _, cmd := range curlCommands(text) {
			if !body.MatchString(cmd) {
				continue
			}
			found++
			if !withType.MatchString(cmd) && !strings.Contains(cmd, "-F ") {
				t.Errorf("%s: %q sends a body without a Content-Type", where, strings.TrimSpace(cmd))
			}
		}
	}
	if found < 3 {
		t.Errorf("found %d curl examples with a body, want at least the upload and the block-list ones", found)
	}
}

func TestBadFlagValuesAreUsageErrors(t *testing.T) {
	env := testEnv(t)
	for _, args := range [][]string{
		{"journal", "show", "--week", "2026-W99"},
		{"memories", "search", "--sentiment", "happy"},
		{"memories", "search", "--from", "2026-13-01"},
		{"memories", "search", "--from", "2026-05-02", "--to", "2026-05-01"},
		{"memos", "list", "--status", "bogus"},
		{"memos", "list", "--limit", "-1"},
		{"tokens", "create", "--scope", "bogus"},
		{"tokens", "create", "--name", "a\tb"},
		{"tokens", "create", "--expires", "1x"},
		{"secrets", "get", "some-secret", "--stage", "BAD"},
		{"serviceaccounts", "create", "capture", "--user", "alice", "--scope", "bogus"},
		{"serviceaccounts", "create", "capture", "--user", "alice", "--cert-sha256", "zz"},
		{"process", "--workers", "0", "../../examples/memos/inbox/mic-check.txt"},
	} {
		if code, _, stderr := run(t, env, args...); code != 2 {
			t.Errorf("%q: exit %d, stderr %q, want 2", args, code, stderr)
		}
	}
	// A serve that accepted the value would stop at once on the cancelled
	// context, with status 0.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	serve := &Main{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: io.Discard, Getenv: func(k string) string { return env[k] }}
	if code := serve.Run(ctx, []string{"serve", "--workers", "0", "--insecure-http", "--listen", "127.0.0.1:0"}); code != 2 {
		t.Errorf("serve --workers 0: exit %d, want 2", code)
	}
	for _, args := range [][]string{
		{"secrets", "set", "new-secret", "--type", "bogus"},
		{"secrets", "set", "new-secret", "--type", "provider", "--provider", "nosuch"},
	} {
		if code, _, stderr := runStdin(t, env, "value", args...); code != 2 {
			t.Errorf("%q: exit %d, stderr %q, want 2", args, code, stderr)
		}
	}
}

func TestTokensListShowsExpiry(t *testing.T) {
	env := testEnv(t)
	mustRun(t, env, "", "tokens", "create", "--user", "alice", "--expires", "48h", "--name", "laptop")
	mustRun(t, env, "", "tokens", "create", "--user", "alice", "--name", "desktop")
	stdout, _ := mustRun(t, env, "", "tokens", "list", "--user", "alice")
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 2 {
		t.Fatalf("tokens list: got %q, want two lines", stdout)
	}
	want := map[string]string{"laptop": time.Now().Add(48 * time.Hour).Format(time.DateOnly), "desktop": "expires never"}
	for _, line := range lines {
		name := line[strings.LastIndex(line, " ")+1:]
		if !strings.Contains(line, "expires ") || !strings.Contains(line, want[name]) {
			t.Errorf("tokens list: line %q, want expires and %q", line, want[name])
		}
	}
}

func TestJSONDurationsAreStrings(t *testing.T) {
	env := testEnv(t)
	stdout, _ := mustRun(t, env, "", "keys", "schedule", "--json")
	if !strings.Contains(stdout, `"kek_rotation": "8760h0m0s"`) || !strings.Contains(stdout, `"data_key_rotation": "2160h0m0s"`) {
		t.Errorf("keys schedule --json: got %s, want durations as strings", stdout)
	}
	mustRun(t, env, "value", "secrets", "set", "api-key", "--rotate-every", "48h")
	stdout, _ = mustRun(t, env, "", "secrets", "list", "--json")
	if !strings.Contains(stdout, `"rotation_period": "48h0m0s"`) {
		t.Errorf("secrets list --json: got %s, want the rotation period as a string", stdout)
	}
	stdout, _ = mustRun(t, env, "", "notify", "list", "--json")
	if !strings.Contains(stdout, `"interval": "0s"`) {
		t.Errorf("notify list --json: got %s, want the interval as a string", stdout)
	}
}

func TestMarshalCLIJSON(t *testing.T) {
	type Inner struct {
		Every time.Duration `json:"every"`
	}
	type inner struct {
		Hidden time.Duration `json:"hidden"`
	}
	type Outer struct {
		Name   string          `json:"name"`
		Wait   time.Duration   `json:"wait"`
		Skip   time.Duration   `json:"skip,omitempty"`
		AsText time.Duration   `json:"as_text,string"`
		Ptr    *time.Duration  `json:"ptr"`
		List   []time.Duration `json:"list"`
		Inner  `json:"-"`
		*Inner2
		inner
		Nested Inner          `json:"nested"`
		Any    any            `json:"any"`
		ByName map[string]any `json:"by_name"`
		When   time.Time      `json:"when"`
		Count  int64          `json:"count"`
		Tag    string         `json:"tag"`
	}
	d := 90 * time.Second
	v := Outer{
		Name: "<b>", Wait: time.Hour, AsText: time.Second, Ptr: &d, List: []time.Duration{time.Minute, 0},
		Inner2: &Inner2{Period: 2 * time.Hour}, inner: inner{Hidden: time.Millisecond}, Nested: Inner{Every: 3 * time.Hour},
		Any: Inner{Every: time.Nanosecond}, ByName: map[string]any{"b": time.Duration(5), "a": 7},
		When: time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC), Count: 42,
	}
	got, err := marshalCLIJSON(v)
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "name": "\u003cb\u003e",
  "wait": "1h0m0s",
  "as_text": "1000000000",
  "ptr": "1m30s",
  "list": [
    "1m0s",
    "0s"
  ],
  "period": "2h0m0s",
  "hidden": "1ms",
  "nested": {
    "every": "3h0m0s"
  },
  "any": {
    "every": "1ns"
  },
  "by_name": {
    "a": 7,
    "b": "5ns"
  },
  "when": "2026-12-05T00:00:00Z",
  "count": 42,
  "tag": ""
}
`
	if string(got) != want {
		t.Errorf("marshalCLIJSON: got\n%s\nwant\n%s", got, want)
	}
	if !json.Valid(got) {
		t.Error("marshalCLIJSON: invalid JSON")
	}
	got, err = marshalCLIJSON([]string(nil))
	if err != nil || string(got) != "null\n" {
		t.Errorf("marshalCLIJSON(nil slice): got %q, %v", got, err)
	}
}

// Inner2 is embedded through a pointer in TestMarshalCLIJSON.
type Inner2 struct {
	Period time.Duration `json:"period"`
}

func TestIdeasExportRefusesANonEmptyFolder(t *testing.T) {
	env := testEnv(t)
	processJSON(t, env, "../../examples/memos/github_ideas/plant-watering.txt")
	stdout, _ := mustRun(t, env, "", "ideas", "list", "--json")
	var ideas []struct {
		Memo string `json:"memo"`
	}
	if err := json.Unmarshal([]byte(stdout), &ideas); err != nil || len(ideas) != 1 {
		t.Fatalf("ideas list --json: %v\n%s", err, stdout)
	}
	dir := filepath.Join(t.TempDir(), "project")
	if _, stderr := mustRun(t, env, "", "ideas", "export", ideas[0].Memo, "--to", dir); !strings.Contains(stderr, "wrote project") {
		t.Errorf("first export: stderr %q, want wrote project", stderr)
	}
	before, err := os.ReadDir(dir)
	if err != nil || len(before) == 0 {
		t.Fatalf("first export wrote nothing: %v", err)
	}
	code, _, stderr := run(t, env, "ideas", "export", ideas[0].Memo, "--to", dir)
	if code != 1 || strings.Contains(stderr, "wrote") || !strings.Contains(stderr, dir+" is not empty") || !strings.Contains(stderr, "--to") {
		t.Errorf("export into the same folder again: exit %d, stderr %q, want 1, the folder named and the fix", code, stderr)
	}
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.Mkdir(empty, 0o700); err != nil {
		t.Fatal(err)
	}
	mustRun(t, env, "", "ideas", "export", ideas[0].Memo, "--to", empty)
}

func TestSecretRotationDueIsAFinding(t *testing.T) {
	env := testEnv(t)
	mustRun(t, env, "https://hooks.slack.com/services/T1/B1/x", "secrets", "set", "slack-webhook", "--contact", "ops@example.org")
	for range 2 {
		code, _, stderr := run(t, env, "secrets", "rotate", "slack-webhook")
		if code != 1 || !strings.Contains(stderr, "recorded finding f_") || !strings.Contains(stderr, "was not rotated") {
			t.Errorf("secrets rotate of a notify secret: exit %d, stderr %q, want 1, the finding and the fix", code, stderr)
		}
	}
	stdout, _ := mustRun(t, env, "", "findings", "list", "--json")
	var found []struct {
		Type      string            `json:"type"`
		Principal string            `json:"principal"`
		Count     int               `json:"count"`
		Evidence  map[string]string `json:"evidence"`
	}
	if err := json.Unmarshal([]byte(stdout), &found); err != nil {
		t.Fatalf("findings list --json: %v\n%s", err, stdout)
	}
	if len(found) != 1 || found[0].Type != app.TypeSecretRotationDue || found[0].Principal != "secret:slack-webhook" || found[0].Count != 1 || found[0].Evidence["contact"] != "ops@example.org" {
		t.Errorf("findings list --json: got %+v, want one secrets.rotation_due finding for secret:slack-webhook, count 1", found)
	}
	if stdout, _ := mustRun(t, env, "", "findings", "list"); !strings.Contains(stdout, "secret:slack-webhook") {
		t.Errorf("findings list: got %q, want the secret's finding", stdout)
	}
	if strings.Contains(stdout, "hooks.slack.com") {
		t.Errorf("findings list --json shows the secret's value: %s", stdout)
	}
}
