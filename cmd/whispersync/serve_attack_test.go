package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/whispersync/whispersync/auth"
	"github.com/whispersync/whispersync/sqlite"
)

// serveWith starts serve in-process with args and returns its address, a
// function that stops it and returns its exit status and stderr, and one
// that returns its stderr so far.
func serveWith(t *testing.T, env map[string]string, args ...string) (string, func() (int, string), func() string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	var stderr syncBuffer
	m := &Main{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: &stderr, Getenv: func(k string) string { return env[k] }, Ready: func(a string) { addr <- a }}
	done := make(chan int, 1)
	go func() { done <- m.Run(ctx, append([]string{"serve", "--listen", "127.0.0.1:0"}, args...)) }()
	stopped := false
	stop := func() (int, string) {
		if stopped {
			return 0, stderr.String()
		}
		stopped = true
		cancel()
		return <-done, stderr.String()
	}
	t.Cleanup(func() { stop() })
	select {
	case a := <-addr:
		return a, stop, stderr.String
	case code := <-done:
		t.Fatalf("serve exited with %d:\n%s", code, stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not start within 30 s")
	}
	return "", stop, stderr.String
}

// TestAttackHangupOnPlainHTTP sends SIGHUP to a serve without TLS: it has
// no certificate to reload and must keep serving, not end without a
// shutdown.
func TestAttackHangupOnPlainHTTP(t *testing.T) {
	env := testEnv(t)
	addr, stop, stderrOf := serveWith(t, env, "--insecure-http")
	self, err := os.FindProcess(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if err := self.Signal(syscall.SIGHUP); err != nil {
		t.Skipf("cannot send SIGHUP here: %v", err)
	}
	// Wait until serve has seen the signal; without its handler the
	// signal ends the test binary.
	for !strings.Contains(stderrOf(), "SIGHUP ignored") {
		select {
		case <-t.Context().Done():
			t.Fatal("serve never logged the SIGHUP")
		case <-time.After(10 * time.Millisecond):
		}
	}
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("health after SIGHUP: got %d, want 200", resp.StatusCode)
	}
	if code, stderr := stop(); code != 0 || !strings.Contains(stderr, "whispersync: stopped") {
		t.Errorf("serve after SIGHUP: exit %d, stderr:\n%s\nwant a clean stop", code, stderr)
	}
}

// TestAttackEmptyCORSOrigins starts serve with --cors-origins= (no browser
// origin): the default origin must not come back.
func TestAttackEmptyCORSOrigins(t *testing.T) {
	env := testEnv(t)
	addr, _, _ := serveWith(t, env, "--cors-origins=")
	pem, err := os.ReadFile(filepath.Join(env["WHISPERSYNC_DATA_DIR"], "tls", "localhost.crt"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}}
	req, _ := http.NewRequest(http.MethodOptions, "https://"+addr+"/v1/memos", nil)
	req.Header.Set("Origin", "https://whispersync.app")
	req.Header.Set("Access-Control-Request-Method", "GET")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight of the default origin with no origins configured: got %d, allow-origin %q, want 403 and none", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
}

// TestAttackPlainHTTPBoundAddress checks the address a plain HTTP
// listener actually bound, whatever name it was given.
func TestAttackPlainHTTPBoundAddress(t *testing.T) {
	for addr, ok := range map[net.Addr]bool{
		&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}: true,
		&net.TCPAddr{IP: net.IPv6loopback, Port: 8080}:       true,
		&net.TCPAddr{IP: net.IPv4(192, 0, 2, 7), Port: 8080}: false,
		&net.TCPAddr{IP: net.IPv4zero, Port: 8080}:           false,
		&net.UnixAddr{Name: "/tmp/x", Net: "unix"}:           false,
	} {
		if err := checkBoundLoopback("localhost:8080", addr); (err == nil) != ok {
			t.Errorf("bound %s: got %v, want accepted %v", addr, err, ok)
		}
	}
}

// TestAttackBlocklistListEscapes lists entries whose value and reason
// carry terminal escapes and line breaks: they are printed quoted.
func TestAttackBlocklistListEscapes(t *testing.T) {
	env := testEnv(t)
	value := "user:x\x1b[31mred"
	reason := "spam\x1b]0;title\a\r\nforged line\u202e"
	if code, _, _ := run(t, env, "blocklist", "add", "203.0.113.9", "--reason", reason); code != 2 {
		t.Errorf("blocklist add with escapes in the reason: exit %d, want 2", code)
	}

	// An entry stored before values were checked still lists safely.
	if code, _, stderr := run(t, env, "blocklist", "list"); code != 0 {
		t.Fatalf("blocklist list on a new data directory: exit %d: %s", code, stderr)
	}
	db, err := sqlite.Open(t.Context(), filepath.Join(env["WHISPERSYNC_DATA_DIR"], "whispersync.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Identity().AddBlock(t.Context(), auth.Block{Kind: "principal", Value: value, Reason: reason, CreatedAt: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	code, stdout, stderr := run(t, env, "blocklist", "list")
	if code != 0 {
		t.Fatalf("blocklist list: exit %d: %s", code, stderr)
	}
	if strings.ContainsAny(stdout, "\x1b\a\r\u202e") || strings.Count(stdout, "\n") != 1 {
		t.Errorf("listing carries control characters or extra lines: %q", stdout)
	}
	if !strings.Contains(stdout, `\x1b[31mred`) {
		t.Errorf("listing does not show the value escaped: %q", stdout)
	}
}
