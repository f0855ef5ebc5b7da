package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/whispersync/whispersync/api"
	"github.com/whispersync/whispersync/pipeline"
)

const serveExamples = `  whispersync serve
  whispersync serve --listen 127.0.0.1:9000 --workers 8
  TOKEN=$(whispersync tokens create --user alice)
  curl -H "Authorization: Bearer $TOKEN" --data-binary @memo.txt http://127.0.0.1:8080/v1/memos
`

func runServe(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlags("serve", "serve [--listen ADDR] [--workers N]\n\nRuns the HTTP API and the worker that processes queued memos, until\ninterrupted. It speaks plain HTTP and so listens only on loopback addresses.", serveExamples)
	listen := fs.String("listen", "127.0.0.1:8080", "address to listen on; must be a loopback address")
	workers := fs.Int("workers", 8, "how many memos the worker processes at once")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if err := checkLoopback(*listen); err != nil {
		return err
	}

	a, err := m.open(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	log := m.logger()
	if err := a.Recover(ctx); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *listen, err)
	}
	srv := &http.Server{
		Handler:           api.NewServer(a, log.With("component", "api")),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := a.Pipeline.Run(ctx, pipeline.WorkerOptions{Concurrency: *workers}); err != nil {
			log.Error("worker stopped", "err", err)
		}
	}()

	fmt.Fprintf(m.Stderr, "whispersync: serving http://%s (data directory %s)\n", ln.Addr(), m.DataDir)
	if m.Ready != nil {
		m.Ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	select {
	case err = <-errc:
	case <-ctx.Done():
		shutdown, stop := context.WithTimeout(context.Background(), 10*time.Second)
		defer stop()
		err = srv.Shutdown(shutdown)
	}
	cancel()
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	fmt.Fprintln(m.Stderr, "whispersync: stopped")
	return err
}

// checkLoopback accepts only addresses on the loopback interface, since the
// server speaks plain HTTP.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return usagef("invalid --listen address %q: use HOST:PORT, such as 127.0.0.1:8080", addr)
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return usagef("--listen %s is not a loopback address: serve speaks plain HTTP, so it listens only on 127.0.0.1 or ::1; put a TLS-terminating proxy in front for other clients", addr)
	}
	return nil
}
