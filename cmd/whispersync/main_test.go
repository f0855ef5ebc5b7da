package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// run runs the CLI in-process and returns its exit status, stdout and
// stderr.
func run(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	m := &Main{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr, Getenv: func(k string) string { return env[k] }}
	code := m.Run(context.Background(), args)
	return code, stdout.String(), stderr.String()
}

// testEnv returns an environment with a fresh data directory and key file.
func testEnv(t *testing.T) map[string]string {
	base := t.TempDir()
	return map[string]string{
		"WHISPERSYNC_DATA_DIR": filepath.Join(base, "data"),
		"WHISPERSYNC_KEY_FILE": filepath.Join(base, "config", "keyring.json"),
		"HOME":                 base,
		"USER":                 "tester",
	}
}

type labels map[string]struct {
	Bucket      string   `json:"bucket"`
	Buckets     []string `json:"buckets"`
	People      []string `json:"people"`
	ActionItems []string `json:"action_items"`
}

const corpusDir = "../../testdata/corpus/dev"

func readLabels(t *testing.T) labels {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(corpusDir, "labels.json"))
	if err != nil {
		t.Fatal(err)
	}
	var l labels
	if err := json.Unmarshal(data, &l); err != nil {
		t.Fatal(err)
	}
	return l
}

func processJSON(t *testing.T, env map[string]string, args ...string) []processResult {
	t.Helper()
	code, stdout, stderr := run(t, env, append([]string{"process", "--json"}, args...)...)
	if code != 0 {
		t.Fatalf("process: exit status %d, stderr:\n%s", code, stderr)
	}
	var results []processResult
	sc := bufio.NewScanner(strings.NewReader(stdout))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r processResult
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("process output line %q: %v", sc.Text(), err)
		}
		results = append(results, r)
	}
	return results
}

func TestProcessCorpus(t *testing.T) {
	env := testEnv(t)
	want := readLabels(t)
	results := processJSON(t, env, corpusDir)
	if len(results) != len(want) {
		t.Fatalf("results: got %d, want %d", len(results), len(want))
	}
	correct := 0
	for _, r := range results {
		l := want[filepath.Base(r.Source)]
		if r.Status == "rejected" || r.Status == "duplicate" {
			t.Errorf("%s: got status %s, want processed or review", r.Source, r.Status)
		}
		if r.MemoID == "" {
			t.Errorf("%s: missing memo_id", r.Source)
		}
		if r.Confidence < 0 || r.Confidence > 1 {
			t.Errorf("%s: confidence %v outside [0, 1]", r.Source, r.Confidence)
		}
		if string(r.Bucket) == l.Bucket {
			correct++
		}
	}
	if acc := float64(correct) / float64(len(results)); acc < 0.9 {
		t.Errorf("bucket accuracy end to end: got %.3f, want at least 0.90", acc)
	}

	// A second run finds every memo a duplicate.
	again := processJSON(t, env, corpusDir)
	for _, r := range again {
		if r.Status != "duplicate" {
			t.Errorf("%s on the second run: got %s, want duplicate", r.Source, r.Status)
		}
	}
}

func TestProcessRejectsAndKeepsSource(t *testing.T) {
	env := testEnv(t)
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.txt")
	content := []byte("notes '; DROP TABLE memos; -- from the form")
	if err := os.WriteFile(bad, content, 0o600); err != nil {
		t.Fatal(err)
	}
	results := processJSON(t, env, bad)
	if len(results) != 1 {
		t.Fatalf("results: got %d, want 1", len(results))
	}
	r := results[0]
	if r.Status != "rejected" || r.Error == nil || r.Error.Code != "rejected" || r.Error.Rule != "sql_injection" {
		t.Fatalf("result: got %+v, want rejected by sql_injection", r)
	}
	if !strings.Contains(r.Error.Message, "sql") && !strings.Contains(r.Error.Message, "SQL") {
		t.Errorf("error message %q does not name the rule", r.Error.Message)
	}
	after, err := os.ReadFile(bad)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(after, content) {
		t.Error("the rejected source file was modified")
	}
}

func TestProcessTableAndHelp(t *testing.T) {
	env := testEnv(t)
	code, stdout, stderr := run(t, env, "process", "../../examples/memos")
	if code != 0 {
		t.Fatalf("process examples: exit status %d, stderr:\n%s", code, stderr)
	}
	for _, want := range []string{"SOURCE", "processed", "rejected", "rule: script_tag"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("process table lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "created key file") || !strings.Contains(stderr, "created data directory") {
		t.Errorf("first run notices missing from stderr:\n%s", stderr)
	}

	for _, c := range commands() {
		code, _, stderr := run(t, env, c.name, "--help")
		if code != 0 {
			t.Errorf("%s --help: exit status %d", c.name, code)
		}
		if !strings.Contains(stderr, "Examples:") || !strings.Contains(stderr, "whispersync "+c.name) {
			t.Errorf("%s --help lacks usage or examples:\n%s", c.name, stderr)
		}
	}
	if code, _, _ := run(t, env, "no-such-command"); code != 2 {
		t.Errorf("unknown command: exit status %d, want 2", code)
	}
}

func TestKeyFileInsideDataDirIsRefused(t *testing.T) {
	env := testEnv(t)
	env["WHISPERSYNC_KEY_FILE"] = filepath.Join(env["WHISPERSYNC_DATA_DIR"], "keyring.json")
	code, _, stderr := run(t, env, "memos", "list")
	if code != 1 || !strings.Contains(stderr, "inside the data directory") {
		t.Errorf("key file inside data directory: exit %d, stderr %q", code, stderr)
	}
}

func TestReadCommands(t *testing.T) {
	env := testEnv(t)
	results := processJSON(t, env, "--user", "alice", corpusDir)
	byName := map[string]processResult{}
	for _, r := range results {
		byName[filepath.Base(r.Source)] = r
	}

	code, stdout, _ := run(t, env, "memos", "list", "--user", "alice")
	if code != 0 || strings.Count(stdout, "\n") != len(results) {
		t.Errorf("memos list: exit %d, %d lines, want %d", code, strings.Count(stdout, "\n"), len(results))
	}
	code, stdout, _ = run(t, env, "memos", "list", "--user", "bob")
	if code != 0 || stdout != "" {
		t.Errorf("memos list for another user: exit %d, output %q, want none", code, stdout)
	}

	beach := byName["beach-day-sandcastle.txt"]
	code, stdout, stderr := run(t, env, "memos", "show", "--user", "alice", "--json", beach.MemoID)
	if code != 0 || !strings.Contains(stdout, `"status": "processed"`) {
		t.Errorf("memos show: exit %d, stdout %s, stderr %s", code, stdout, stderr)
	}
	code, _, stderr = run(t, env, "memos", "show", "--user", "bob", beach.MemoID)
	if code != 1 || !strings.Contains(stderr, "not found") {
		t.Errorf("memos show of another user's memo: exit %d, stderr %q", code, stderr)
	}

	code, stdout, _ = run(t, env, "memories", "search", "--user", "alice", "--json", "sandcastle")
	if code != 0 || !strings.Contains(stdout, beach.MemoID) {
		t.Errorf("memories search sandcastle: exit %d, output %s", code, stdout)
	}
	code, stdout, _ = run(t, env, "ideas", "list", "--user", "alice")
	if code != 0 || strings.Count(stdout, "\n") < 10 {
		t.Errorf("ideas list: exit %d, output:\n%s", code, stdout)
	}
	idea := byName["classroom-seating-chart-tool.txt"]
	out := filepath.Join(t.TempDir(), "project")
	if code, _, stderr := run(t, env, "ideas", "export", "--user", "alice", idea.MemoID, "--to", out); code != 0 {
		t.Errorf("ideas export: exit %d, stderr %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(out, "README.md")); err != nil {
		t.Errorf("exported project has no README: %v", err)
	}

	code, stdout, _ = run(t, env, "review", "list", "--user", "alice", "--json")
	var review []struct {
		ID string `json:"id"`
	}
	if code != 0 || json.Unmarshal([]byte(stdout), &review) != nil {
		t.Fatalf("review list: exit %d, output %s", code, stdout)
	}
	if len(review) == 0 {
		t.Fatal("review list: got none, want the unclear memos")
	}
	code, stdout, stderr = run(t, env, "review", "assign", "--user", "alice", review[0].ID, "memory")
	if code != 0 || !strings.Contains(stdout, "assigned to memory") {
		t.Errorf("review assign: exit %d, stdout %s, stderr %s", code, stdout, stderr)
	}

	week := byName["bakery-supplier-switch.txt"]
	code, stdout, _ = run(t, env, "memos", "show", "--user", "alice", "--json", week.MemoID)
	var shown struct {
		CreatedAt time.Time `json:"created_at"`
	}
	if code != 0 || json.Unmarshal([]byte(stdout), &shown) != nil {
		t.Fatalf("memos show: exit %d", code)
	}
	y, w := shown.CreatedAt.ISOWeek()
	code, stdout, _ = run(t, env, "journal", "show", "--user", "alice", "--week", fmt.Sprintf("%d-W%02d", y, w))
	if code != 0 || !strings.Contains(stdout, week.MemoID) {
		t.Errorf("journal show: exit %d, output:\n%s", code, stdout)
	}
	if code, _, stderr := run(t, env, "journal", "show", "--week", "2026-49"); code != 2 || !strings.Contains(stderr, "2026-W49") {
		t.Errorf("journal with a bad week: exit %d, stderr %q", code, stderr)
	}

	code, stdout, _ = run(t, env, "dlq", "list")
	if code != 0 || !strings.Contains(stdout, "empty") {
		t.Errorf("dlq list: exit %d, output %q", code, stdout)
	}
}

// clients holds, per base URL of a test server, a client that trusts the
// server's generated certificate.
var clients sync.Map

// server starts serve in-process over HTTPS with the certificate it
// generates, and returns its base URL. The rate limit is raised: tests
// poll faster than a client should.
func server(t *testing.T, env map[string]string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	var stderr syncBuffer
	m := &Main{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: &stderr, Getenv: func(k string) string { return env[k] }, Ready: func(a string) { addr <- a }}
	done := make(chan int, 1)
	go func() {
		done <- m.Run(ctx, []string{"serve", "--listen", "127.0.0.1:0", "--rate", "1000", "--burst", "1000"})
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve: exit status %d, stderr:\n%s", code, stderr.String())
		}
	})
	select {
	case a := <-addr:
		pem, err := os.ReadFile(filepath.Join(env["WHISPERSYNC_DATA_DIR"], "tls", "localhost.crt"))
		if err != nil {
			t.Fatal(err)
		}
		roots := x509.NewCertPool()
		roots.AppendCertsFromPEM(pem)
		base := "https://" + a
		clients.Store(base, &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}})
		t.Cleanup(func() { clients.Delete(base) })
		return base
	case code := <-done:
		t.Fatalf("serve exited with %d:\n%s", code, stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not start within 30 s")
	}
	return ""
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func request(t *testing.T, method, url, token, contentType string, body io.Reader) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	client := http.DefaultClient
	if c, ok := clients.Load(req.URL.Scheme + "://" + req.URL.Host); ok {
		client = c.(*http.Client)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	data, _ := io.ReadAll(resp.Body)
	if len(data) > 0 {
		if err := json.Unmarshal(data, &v); err != nil {
			t.Fatalf("%s %s: body is not JSON: %s", method, url, data)
		}
	}
	return resp.StatusCode, v
}

func TestServeEndToEnd(t *testing.T) {
	env := testEnv(t)
	_, aliceToken, _ := run(t, env, "tokens", "create", "--user", "alice")
	aliceToken = strings.TrimSpace(aliceToken)
	_, bobToken, _ := run(t, env, "tokens", "create", "--user", "bob")
	bobToken = strings.TrimSpace(bobToken)
	_, readOnly, _ := run(t, env, "tokens", "create", "--user", "alice", "--scope", "memos:read")
	readOnly = strings.TrimSpace(readOnly)
	if !strings.HasPrefix(aliceToken, "wst_") {
		t.Fatalf("tokens create printed %q, want only the token", aliceToken)
	}
	processed := processJSON(t, env, "--user", "alice", corpusDir)
	base := server(t, env)

	// What process stored is what the API reads back.
	code, listing := request(t, "GET", base+"/v1/memos", aliceToken, "", nil)
	if code != 200 || len(listing["memos"].([]any)) != len(processed) {
		t.Fatalf("GET /v1/memos after process: got %d with %d memos, want 200 with %d", code, len(listing["memos"].([]any)), len(processed))
	}
	code, ideas := request(t, "GET", base+"/v1/ideas", aliceToken, "", nil)
	if code != 200 || len(ideas["ideas"].([]any)) < 12 {
		t.Errorf("GET /v1/ideas after process: got %d with %v, want the corpus ideas", code, len(ideas["ideas"].([]any)))
	}
	bakery := ""
	for _, r := range processed {
		if filepath.Base(r.Source) == "bakery-supplier-switch.txt" {
			bakery = r.MemoID
		}
	}
	code, work := request(t, "GET", base+"/v1/memos/"+bakery, aliceToken, "", nil)
	if code != 200 || work["bucket"] != "work" || len(work["action_items"].([]any)) == 0 {
		t.Errorf("GET /v1/memos/{bakery}: got %d %v, want a work memo with action items", code, work)
	}

	if code, _ := request(t, "GET", base+"/healthz", "", "", nil); code != 200 {
		t.Errorf("healthz: got %d, want 200", code)
	}
	code, body := request(t, "GET", base+"/v1/memos", "", "", nil)
	if code != 401 || body["error"].(map[string]any)["correlation_id"] == "" {
		t.Errorf("no token: got %d %v, want 401 with a correlation id", code, body)
	}
	if code, _ := request(t, "GET", base+"/v1/memos", "wst_guess", "", nil); code != 401 {
		t.Errorf("wrong token: got %d, want 401", code)
	}
	memo, err := os.ReadFile("../../examples/memos/memories/lake-sunset.txt")
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := request(t, "POST", base+"/v1/memos", readOnly, "text/plain", bytes.NewReader(memo)); code != 403 {
		t.Errorf("upload with a read-only token: got %d, want 403", code)
	}

	code, body = request(t, "POST", base+"/v1/memos", aliceToken, "text/plain", bytes.NewReader(memo))
	if code != 202 {
		t.Fatalf("upload: got %d %v, want 202", code, body)
	}
	id := body["memo_id"].(string)

	var status string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		_, body = request(t, "GET", base+"/v1/memos/"+id, aliceToken, "", nil)
		if status = body["status"].(string); status != "queued" {
			break
		}
	}
	if status != "processed" || body["bucket"] != "memory" {
		t.Fatalf("memo after processing: got %v, want processed memory", body)
	}
	if code, _ := request(t, "GET", base+"/v1/memos/"+id, bobToken, "", nil); code != 404 {
		t.Errorf("bob reads alice's memo: got %d, want 404", code)
	}
	code, body = request(t, "GET", base+"/v1/memories/search?q=skip+stones+orange", aliceToken, "", nil)
	if code != 200 || len(body["memories"].([]any)) != 1 {
		t.Errorf("search: got %d %v, want one memory", code, body)
	}
	code, body = request(t, "GET", base+"/v1/memories/search?q=skip+stones+orange", bobToken, "", nil)
	if code != 200 || len(body["memories"].([]any)) != 0 {
		t.Errorf("bob searches alice's memories: got %d %v, want none", code, body)
	}

	code, body = request(t, "POST", base+"/v1/memos", aliceToken, "text/plain", strings.NewReader("hello ${jndi:ldap://x}"))
	if code != 422 || body["error"].(map[string]any)["rule"] != "template_injection" {
		t.Errorf("template injection upload: got %d %v, want 422 template_injection", code, body)
	}
	code, _ = request(t, "POST", base+"/v1/memos", aliceToken, "text/plain", bytes.NewReader(bytes.Repeat([]byte("a"), 2<<20)))
	if code != 413 {
		t.Errorf("oversized upload: got %d, want 413", code)
	}

	// Multipart upload of an idea.
	var form bytes.Buffer
	boundary := "wsboundary"
	idea, _ := os.ReadFile("../../examples/memos/github_ideas/recipe-scaler.txt")
	fmt.Fprintf(&form, "--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"idea.txt\"\r\nContent-Type: text/plain\r\n\r\n%s\r\n--%s--\r\n", boundary, idea, boundary)
	code, body = request(t, "POST", base+"/v1/memos", aliceToken, "multipart/form-data; boundary="+boundary, &form)
	if code != 202 {
		t.Errorf("multipart upload: got %d %v, want 202", code, body)
	}
	if code, _ := request(t, "GET", base+"/v1/admin/dlq", aliceToken, "", nil); code != 403 {
		t.Errorf("dlq without admin scope: got %d, want 403", code)
	}
	if code, _ := request(t, "GET", base+"/v1/nothing", aliceToken, "", nil); code != 404 {
		t.Errorf("unknown route: got %d, want 404", code)
	}
}

func TestMissingKeyFileWithExistingDataIsRefused(t *testing.T) {
	env := testEnv(t)
	if code, _, stderr := run(t, env, "memos", "list"); code != 0 {
		t.Fatalf("first run: exit %d, stderr %s", code, stderr)
	}
	env["WHISPERSYNC_KEY_FILE"] = filepath.Join(t.TempDir(), "mistyped.json")
	code, _, stderr := run(t, env, "memos", "list")
	if code != 1 || !strings.Contains(stderr, "restore the key file") {
		t.Errorf("missing key file: exit %d, stderr %q, want a refusal naming the fix", code, stderr)
	}
	if _, err := os.Stat(env["WHISPERSYNC_KEY_FILE"]); err == nil {
		t.Error("a new key file was created for existing data")
	}
}

func TestPassphraseFileFlag(t *testing.T) {
	env := testEnv(t)
	pass := filepath.Join(t.TempDir(), "passphrase")
	if err := os.WriteFile(pass, []byte("correct horse battery staple\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := run(t, env, "--passphrase-file", pass, "memos", "list"); code != 0 {
		t.Fatalf("first run with a passphrase: exit %d, stderr %s", code, stderr)
	}
	key, err := os.ReadFile(env["WHISPERSYNC_KEY_FILE"])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(key), "argon2id") {
		t.Errorf("key file is not passphrase-protected:\n%s", key)
	}
	if code, _, _ := run(t, env, "memos", "list"); code == 0 {
		t.Error("a passphrase-protected key file opened without the passphrase")
	}
	if code, _, stderr := run(t, env, "--passphrase-file", pass, "memos", "list"); code != 0 {
		t.Errorf("second run with the passphrase: exit %d, stderr %s", code, stderr)
	}
}

func TestKeyFileSymlinkIntoDataDir(t *testing.T) {
	env := testEnv(t)
	if code, _, stderr := run(t, env, "memos", "list"); code != 0 {
		t.Fatalf("first run: exit %d, stderr %s", code, stderr)
	}
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(env["WHISPERSYNC_DATA_DIR"], link); err != nil {
		t.Fatal(err)
	}
	env["WHISPERSYNC_KEY_FILE"] = filepath.Join(link, "keyring.json")
	code, _, stderr := run(t, env, "memos", "list")
	if code != 1 || !strings.Contains(stderr, "inside the data directory") {
		t.Errorf("key file through a symlink: exit %d, stderr %q, want a refusal", code, stderr)
	}
}

func TestSecretRotationLeavesFindingsReadable(t *testing.T) {
	env := testEnv(t)
	var stdout, stderr bytes.Buffer
	m := &Main{Stdin: strings.NewReader("first-value"), Stdout: &stdout, Stderr: &stderr, Getenv: func(k string) string { return env[k] }}
	if code := m.Run(context.Background(), []string{"secrets", "set", "n1"}); code != 0 {
		t.Fatalf("secrets set: exit %d, stderr %s", code, stderr.String())
	}
	// A secret of the notify type records a finding for its owner.
	m.Stdin = strings.NewReader("")
	m.Run(context.Background(), []string{"secrets", "rotate", "n1"})
	if code, _, stderr := run(t, env, "findings", "list"); code != 0 {
		t.Errorf("findings list after a secret rotation: exit %d, stderr %s", code, stderr)
	}
}

func TestCheckFailsNotifierWithMissingSecret(t *testing.T) {
	env := testEnv(t)
	env["WHISPERSYNC_NOTIFY_SLACK"] = "secret:nosuch"
	if code, _, stderr := run(t, env, "memos", "list"); code != 0 {
		t.Fatalf("first run: exit %d, stderr %s", code, stderr)
	}
	_, stdout, _ := run(t, env, "check", "--json")
	var results []struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	if err := json.Unmarshal([]byte(stdout), &results); err != nil {
		t.Fatalf("check --json: %v\n%s", err, stdout)
	}
	for _, r := range results {
		if r.ID == "notifiers" && r.Status != "fail" {
			t.Errorf("notifier check with a missing secret: got %q, want fail", r.Status)
		}
	}
}

func TestCheckFindsBackupInDefaultLocation(t *testing.T) {
	env := testEnv(t)
	delete(env, "WHISPERSYNC_BACKUP_DIR")
	if code, _, stderr := run(t, env, "backup", "create"); code != 0 {
		t.Fatalf("backup create: exit %d, stderr %s", code, stderr)
	}
	_, stdout, _ := run(t, env, "check", "--json")
	var results []struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	if err := json.Unmarshal([]byte(stdout), &results); err != nil {
		t.Fatalf("check --json: %v\n%s", err, stdout)
	}
	found := false
	for _, r := range results {
		found = found || r.ID == "backup.schedule"
		if r.ID == "backup.schedule" && r.Status != "pass" {
			t.Errorf("backup check after a backup in the default location: got %q, want pass", r.Status)
		}
	}
	if !found {
		t.Error("check --json has no backup.schedule result")
	}
}
