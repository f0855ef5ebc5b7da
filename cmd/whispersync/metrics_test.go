package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestServeMetricsListenMustBeLoopback(t *testing.T) {
	env := testEnv(t)
	code, _, stderr := run(t, env, "serve", "--metrics-listen", "0.0.0.0:9090")
	if code != 2 || !strings.Contains(stderr, "loopback") {
		t.Errorf("serve --metrics-listen 0.0.0.0:9090: exit %d, stderr %q, want 2 naming loopback", code, stderr)
	}
}

func TestServeMetricsListenerAndConnectionLog(t *testing.T) {
	env := testEnv(t)
	// A free loopback port: the listener is closed again at once.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	metricsAddr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	var stderr syncBuffer
	m := &Main{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: &stderr, Getenv: func(k string) string { return env[k] }, Ready: func(a string) { addr <- a }}
	done := make(chan int, 1)
	go func() {
		done <- m.Run(ctx, []string{"serve", "--listen", "127.0.0.1:0", "--insecure-http", "--metrics-listen", metricsAddr})
	}()
	var base string
	select {
	case a := <-addr:
		base = "http://" + a
	case code := <-done:
		t.Fatalf("serve exited with %d:\n%s", code, stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not start within 30 s")
	}

	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close() // read nothing: only the request counts
	resp, err = http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close() // only the status matters
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("/metrics on the main listener without credentials: got %d, want 401", resp.StatusCode)
	}
	resp, err = http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	if err := errors.Join(err, resp.Body.Close()); err != nil {
		t.Fatalf("read /metrics: %v", err)
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `whispersync_http_request_duration_seconds_count{route="GET /healthz",status="200"} 1`) {
		t.Errorf("/metrics on the metrics listener: got %d, want 200 counting the health check:\n%s", resp.StatusCode, body)
	}

	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve: exit status %d, stderr:\n%s", code, stderr.String())
	}
	dir := filepath.Join(env["WHISPERSYNC_DATA_DIR"], "connections")
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 1 {
		t.Fatalf("connection log: got %v (%v), want one file", entries, err)
	}
	data, err := os.ReadFile(filepath.Join(dir, entries[0].Name()))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"route":"GET /healthz"`) || !strings.Contains(string(data), `"status":401`) {
		t.Errorf("connection log: got %s, want the health check and the refused /metrics", data)
	}
	if _, err := os.Stat(filepath.Join(env["WHISPERSYNC_DATA_DIR"], "metrics", "series.json")); err != nil {
		t.Errorf("dashboard series file: %v", err)
	}
}
