package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/whispersync/whispersync/audit"
	_ "modernc.org/sqlite"
)

// buildBinary compiles the command once per test run.
var buildBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "whispersync-bin")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "whispersync")
	// #nosec G204 -- builds this package into a folder the test created
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// process is a running `whispersync serve`.
type process struct {
	cmd  *exec.Cmd
	base string
}

var servingLine = regexp.MustCompile(`serving (http://[0-9.:]+)`)

func startServe(t *testing.T, bin string, env map[string]string) *process {
	t.Helper()
	// Plain HTTP and no practical rate limit: the test is about durability.
	cmd := exec.Command(bin, "serve", "--listen", "127.0.0.1:0", "--insecure-http", "--rate", "1e6", "--burst", "1000000", "--daily-quota", "0")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stderr)
	for lines.Scan() {
		if m := servingLine.FindStringSubmatch(lines.Text()); m != nil {
			go func() {
				for lines.Scan() {
				}
			}()
			return &process{cmd: cmd, base: m[1]}
		}
	}
	// The process is discarded: only its failure to listen is reported.
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	t.Fatal("serve exited before it listened")
	return nil
}

func (p *process) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// A killed process exits with an *exec.ExitError; anything else means
	// waiting for it failed.
	if err := p.cmd.Wait(); err != nil {
		if _, ok := errors.AsType[*exec.ExitError](err); !ok {
			t.Fatal(err)
		}
	}
}

// TestKillNineLosesNothing uploads memos to a real server process, kills
// it with SIGKILL twice, once while uploads arrive and once while the
// worker runs, and checks that every acknowledged memo is processed exactly
// once and that the audit chain still verifies.
func TestKillNineLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	env := testEnv(t)
	code, token, stderr := run(t, env, "tokens", "create", "--user", "alice")
	if code != 0 {
		t.Fatalf("tokens create: %s", stderr)
	}
	token = strings.TrimSpace(token)

	memos, err := filepath.Glob(filepath.Join(corpusDir, "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var bodies [][]byte
	for copyN := range 4 {
		for _, path := range memos {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			bodies = append(bodies, fmt.Appendf(data, "\nCopy %d.", copyN))
		}
	}

	srv := startServe(t, bin, env)
	var (
		mu    sync.Mutex
		acked []string
		sent  atomic.Int64
		wg    sync.WaitGroup
	)
	next := atomic.Int64{}
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(bodies) {
					return
				}
				req, _ := http.NewRequest("POST", srv.base+"/v1/memos", bytes.NewReader(bodies[i]))
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := http.DefaultClient.Do(req)
				sent.Add(1)
				if err != nil {
					continue // the server died before it acknowledged
				}
				var body struct {
					MemoID string `json:"memo_id"`
				}
				decodeErr := json.NewDecoder(resp.Body).Decode(&body)
				_ = resp.Body.Close()
				// A reply cut short by the kill acknowledges nothing.
				if decodeErr == nil && resp.StatusCode == http.StatusAccepted {
					mu.Lock()
					acked = append(acked, body.MemoID)
					mu.Unlock()
				}
			}
		}()
	}
	for sent.Load() < int64(len(bodies)/2) {
		time.Sleep(time.Millisecond)
	}
	srv.kill(t)
	wg.Wait()
	if len(acked) == 0 {
		t.Fatal("no upload was acknowledged before the kill")
	}

	// Second life: the worker picks up the queue; kill it mid-way.
	srv = startServe(t, bin, env)
	waitFor(t, func() bool { return countStatus(t, srv.base, token, "processed") > 0 })
	srv.kill(t)

	// Third life: everything acknowledged must end up processed or in
	// review, once. A memo stored but not acknowledged may stay queued
	// until the idle worker recovers it.
	srv = startServe(t, bin, env)
	waitFor(t, func() bool { return queuedAmong(t, srv.base, token, acked) == 0 })
	listed := listMemos(t, srv.base, token)
	srv.kill(t)

	byID := map[string]string{}
	for _, m := range listed {
		byID[m.ID] = m.Status
	}
	for _, id := range acked {
		status, ok := byID[id]
		if !ok {
			t.Errorf("acknowledged memo %s is lost", id)
		} else if status != "processed" && status != "review" {
			t.Errorf("acknowledged memo %s: got status %s, want processed or review", id, status)
		}
	}

	db, err := sql.Open("sqlite", filepath.Join(env["WHISPERSYNC_DATA_DIR"], "whispersync.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, table := range []string{"journal", "memories", "ideas"} {
		var total, distinct int
		err := db.QueryRow(`SELECT count(*), count(DISTINCT json_extract(attrs, '$.memo')) FROM items WHERE tbl = ?`, table).Scan(&total, &distinct)
		if err != nil {
			t.Fatal(err)
		}
		if total != distinct {
			t.Errorf("%s: %d outputs for %d memos, want one output per memo", table, total, distinct)
		}
	}
	report, err := audit.Verify(filepath.Join(env["WHISPERSYNC_DATA_DIR"], "audit"))
	if err != nil {
		t.Errorf("audit verify after kill -9: %v (%+v)", err, report)
	}
}

type listedMemo struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

func listMemos(t *testing.T, base, token string) []listedMemo {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/v1/memos", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Memos []listedMemo `json:"memos"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return body.Memos
}

func queuedAmong(t *testing.T, base, token string, ids []string) int {
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	n := 0
	for _, m := range listMemos(t, base, token) {
		if want[m.ID] && m.Status == "queued" {
			n++
		}
	}
	return n
}

func countStatus(t *testing.T, base, token, status string) int {
	n := 0
	for _, m := range listMemos(t, base, token) {
		if m.Status == status {
			n++
		}
	}
	return n
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatal("condition not met within 2 minutes")
		case <-time.After(50 * time.Millisecond):
		}
	}
}
