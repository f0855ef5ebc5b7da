package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/whispersync/whispersync/api"
	"github.com/whispersync/whispersync/app"
	"github.com/whispersync/whispersync/auth"
	"github.com/whispersync/whispersync/connlog"
	"github.com/whispersync/whispersync/metrics"
	"github.com/whispersync/whispersync/pipeline"
	"github.com/whispersync/whispersync/ratelimit"
	"github.com/whispersync/whispersync/tlsconfig"
)

const serveExamples = `  whispersync serve
  whispersync serve --listen 0.0.0.0:8443 --tls-cert /etc/whispersync/cert.pem --tls-key /etc/whispersync/key.pem
  whispersync serve --insecure-http --listen 127.0.0.1:8080
  whispersync serve --admin-users alice --metrics-listen 127.0.0.1:9090
  whispersync serve --oidc-issuer https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123 --oidc-client-id 4v1h2example
  TOKEN=$(whispersync tokens create --user alice)
  curl --cacert ~/.local/share/whispersync/tls/localhost.crt -H "Authorization: Bearer $TOKEN" \
       -H 'Content-Type: text/plain' --data-binary @memo.txt https://localhost:8080/v1/memos
`

// serveFlags are the options of serve.
type serveFlags struct {
	listen, certFile, keyFile string
	insecureHTTP              bool
	workers                   int
	corsOrigins               string
	corsCredentials           bool
	rate, anonRate            float64
	burst, anonBurst, daily   int
	oidcIssuer, oidcClients   string
	oidcTokenUse, oidcScopes  string
	oidcResourceServer        string
	metricsListen, adminUsers string
	connRetention             time.Duration
}

func runServe(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlags("serve", "serve [--listen ADDR] [--tls-cert FILE --tls-key FILE | --insecure-http] [flags]\n\nRuns the HTTP API and the worker that processes queued memos, until\ninterrupted. It speaks HTTPS, with the given certificate or a self-signed\nlocalhost certificate generated into the data directory; SIGHUP reloads the\ncertificate. Plain HTTP needs --insecure-http and a loopback address.", serveExamples)
	var f serveFlags
	fs.StringVar(&f.listen, "listen", "127.0.0.1:8080", "address to listen on")
	fs.StringVar(&f.certFile, "tls-cert", "", "PEM certificate (chain) file; default: a generated self-signed localhost certificate")
	fs.StringVar(&f.keyFile, "tls-key", "", "PEM private key file of --tls-cert")
	fs.BoolVar(&f.insecureHTTP, "insecure-http", false, "speak plain HTTP; allowed only on a loopback address")
	fs.IntVar(&f.workers, "workers", 8, "how many memos the worker processes at once")
	fs.StringVar(&f.corsOrigins, "cors-origins", strings.Join(api.DefaultCORS.Origins, ","), "comma-separated web origins allowed to call the API from a browser")
	fs.BoolVar(&f.corsCredentials, "cors-credentials", false, "let browsers send cookies cross-origin (refused with origin *)")
	fs.Float64Var(&f.rate, "rate", ratelimit.DefaultPrincipal.Rate, "requests per second per principal")
	fs.IntVar(&f.burst, "burst", ratelimit.DefaultPrincipal.Burst, "burst of requests per principal")
	fs.IntVar(&f.daily, "daily-quota", ratelimit.DefaultPrincipal.Daily, "requests per principal per UTC day, 0 for none")
	fs.Float64Var(&f.anonRate, "ip-rate", ratelimit.DefaultAnonymous.Rate, "unauthenticated requests per second per client address")
	fs.IntVar(&f.anonBurst, "ip-burst", ratelimit.DefaultAnonymous.Burst, "burst of unauthenticated requests per client address")
	fs.StringVar(&f.oidcIssuer, "oidc-issuer", "", "accept bearer JWTs from this OIDC issuer (https URL)")
	fs.StringVar(&f.oidcClients, "oidc-client-id", "", "comma-separated app client ids accepted as aud or client_id")
	fs.StringVar(&f.oidcTokenUse, "oidc-token-use", "access", "required token_use claim (Cognito: access or id), empty for any")
	fs.StringVar(&f.oidcScopes, "oidc-default-scopes", "memos:read,memos:write", "scopes of an OIDC token without a scope claim")
	fs.StringVar(&f.oidcResourceServer, "oidc-resource-server", "whispersync", "resource server identifier whose custom scopes (IDENTIFIER/memos:read) count; others are ignored")
	fs.StringVar(&f.metricsListen, "metrics-listen", "", "also serve /metrics without authentication on this loopback address, such as 127.0.0.1:9090")
	fs.StringVar(&f.adminUsers, "admin-users", "", "comma-separated users whose login sessions may open the security dashboard")
	fs.DurationVar(&f.connRetention, "connection-log-retention", connlog.DefaultRetention, "how long the connection log under DATA_DIR/connections is kept")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	// Handle SIGHUP before anything else. Its default action ends the
	// process without a shutdown, which loses the unsaved daily request
	// counts, and a reload request may arrive while serve starts.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	if f.metricsListen != "" {
		if err := checkLoopback(f.metricsListen); err != nil {
			return usagef("--metrics-listen %s: serves metrics without authentication, so only on a loopback address such as 127.0.0.1:9090", f.metricsListen)
		}
	}
	if f.workers < 1 {
		return usagef("--workers must be at least 1, got %d", f.workers)
	}
	if f.connRetention < 24*time.Hour {
		return usagef("--connection-log-retention %s is under a day: the log keeps one file a day", f.connRetention)
	}
	if f.insecureHTTP {
		if f.certFile != "" || f.keyFile != "" {
			return usagef("--insecure-http and --tls-cert/--tls-key exclude each other")
		}
		if err := checkLoopback(f.listen); err != nil {
			return err
		}
	} else if _, _, err := net.SplitHostPort(f.listen); err != nil {
		return usagef("invalid --listen address %q: use HOST:PORT, such as 127.0.0.1:8080", f.listen)
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
	conns, err := connlog.Open(connlog.Options{Dir: filepath.Join(m.DataDir, "connections"), Retention: f.connRetention, Logger: log.With("component", "connlog")})
	if err != nil {
		return err
	}
	defer conns.Close()
	series, err := metrics.NewSeries(filepath.Join(m.DataDir, "metrics", "series.json"))
	if err != nil {
		return err
	}
	handler, err := newAPI(a, f, log, api.Options{ConnLog: conns, Series: series, Metrics: metrics.New(metrics.AppSources(a))})
	if err != nil {
		return err
	}

	var certs *tlsconfig.Certificates
	if !f.insecureHTTP {
		var generated string
		certs, generated, err = tlsconfig.Load(tlsconfig.Options{CertFile: f.certFile, KeyFile: f.keyFile, DataDir: m.DataDir})
		if err != nil {
			return err
		}
		if generated != "" {
			fmt.Fprintf(m.Stderr, "whispersync: using the self-signed certificate %s: clients must trust it (curl --cacert %s)\n", generated, generated)
		}
	}
	return m.serveHTTP(ctx, a, f, handler, certs, hup, log)
}

// newAPI builds the API server from the flags and opts, which carries the
// metrics, the series and the connection log.
func newAPI(a *app.App, f serveFlags, log *slog.Logger, opts api.Options) (*api.Server, error) {
	opts.Logger = log.With("component", "api")
	opts.TLS = !f.insecureHTTP
	opts.CORS = api.DefaultCORS
	opts.Principal = ratelimit.Config{Rate: f.rate, Burst: f.burst, Daily: f.daily}
	opts.Anonymous = ratelimit.Config{Rate: f.anonRate, Burst: f.anonBurst}
	opts.AdminUsers = splitList(f.adminUsers)
	// An empty list allows no origin, while nil would mean the default.
	opts.CORS.Origins = append([]string{}, splitList(f.corsOrigins)...)
	opts.CORS.AllowCredentials = f.corsCredentials
	if err := opts.CORS.Validate(); err != nil {
		return nil, usagef("%s", strings.TrimPrefix(err.Error(), "api: "))
	}
	for _, c := range []ratelimit.Config{opts.Principal, opts.Anonymous} {
		if err := c.Validate(); err != nil {
			return nil, usagef("%s", strings.TrimPrefix(err.Error(), "ratelimit: "))
		}
	}
	if f.oidcIssuer != "" {
		v, err := auth.NewVerifier(auth.OIDCConfig{
			Issuer: f.oidcIssuer, ClientIDs: splitList(f.oidcClients), TokenUse: f.oidcTokenUse,
			DefaultScopes: splitList(f.oidcScopes), ResourceServer: f.oidcResourceServer, Logger: log.With("component", "oidc"),
		})
		if err != nil {
			return nil, usagef("%s", strings.TrimPrefix(err.Error(), "auth: "))
		}
		opts.OIDC = v
	}
	return api.NewServer(a, opts)
}

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// serveHTTP runs the listener, the worker and the API's background work
// until ctx ends, then shuts them down in order.
func (m *Main) serveHTTP(ctx context.Context, a *app.App, f serveFlags, handler *api.Server, certs *tlsconfig.Certificates, hup <-chan os.Signal, log *slog.Logger) error {
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", f.listen, err)
	}
	if f.insecureHTTP {
		if err := checkBoundLoopback(f.listen, ln.Addr()); err != nil {
			_ = ln.Close()
			return err
		}
	}
	ln = api.LimitListener(ln, api.DefaultMaxConnsPerClient, api.DefaultMaxConns)
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    api.ServerMaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	scheme := "http"
	if certs != nil {
		scheme = "https"
		srv.TLSConfig = certs.ServerConfig()
		ln = tls.NewListener(ln, srv.TLSConfig)
	}

	if f.metricsListen != "" {
		stop, err := serveMetrics(ctx, f.metricsListen, handler.Metrics(), log)
		if err != nil {
			return err
		}
		defer stop()
		fmt.Fprintf(m.Stderr, "whispersync: serving metrics on http://%s/metrics\n", f.metricsListen)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := a.Pipeline.Run(ctx, pipeline.WorkerOptions{Concurrency: f.workers}); err != nil {
			log.Error("worker stopped", "err", err)
		}
	})
	wg.Go(func() { handler.Run(ctx) })
	wg.Go(guard(log, "backup schedule", func() { a.RunBackupSchedule(ctx) }))
	wg.Go(guard(log, "detection", func() { a.RunDetection(ctx, m.DataDir, 0) }))
	wg.Go(guard(log, "dashboard series", func() {
		handler.Series().Run(ctx, handler.Metrics(), metrics.DefaultSampleInterval, log.With("component", "metrics"))
	}))
	a.StartKeySchedule(ctx)
	wg.Go(func() { reloadOnHangup(ctx, certs, hup, log) })

	fmt.Fprintf(m.Stderr, "whispersync: serving %s://%s (data directory %s)\n", scheme, ln.Addr(), m.DataDir)
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
	if ferr := handler.Flush(context.Background()); ferr != nil {
		log.Error("flush daily request counts failed", "err", ferr)
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	fmt.Fprintln(m.Stderr, "whispersync: stopped")
	return err
}

// serveMetrics serves m on addr, a loopback address, without
// authentication, until the returned function is called.
func serveMetrics(ctx context.Context, addr string, m *metrics.Metrics, log *slog.Logger) (func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics listener stopped", "err", err)
		}
	}()
	return func() {
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(shutdown); err != nil {
			log.Warn("stop metrics listener failed", "err", err)
		}
		<-done
	}, nil
}

// reloadOnHangup reloads the certificate on every SIGHUP until ctx ends.
// Without a certificate (plain HTTP) it only logs the signal.
func reloadOnHangup(ctx context.Context, certs *tlsconfig.Certificates, hup <-chan os.Signal, log *slog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			if certs == nil {
				log.Warn("SIGHUP ignored: plain HTTP has no certificate to reload")
				continue
			}
			if err := certs.Reload(); err != nil {
				log.Error("reload TLS certificate failed, keeping the current one", "err", err)
				continue
			}
			log.Info("reloaded TLS certificate", "not_after", certs.Leaf().NotAfter)
		}
	}
}

// checkLoopback accepts only addresses on the loopback interface, for
// plain HTTP.
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
		return usagef("--listen %s is not a loopback address: --insecure-http serves plain HTTP only on 127.0.0.1 or ::1; drop it to serve HTTPS", addr)
	}
	return nil
}

// checkBoundLoopback accepts only a loopback address bound for plain
// HTTP, because checkLoopback accepts the name localhost before it is resolved.
func checkBoundLoopback(listen string, bound net.Addr) error {
	if tcp, ok := bound.(*net.TCPAddr); ok && tcp.IP.IsLoopback() {
		return nil
	}
	return usagef("--listen %s resolved to %s, which is not a loopback address: --insecure-http serves plain HTTP only on 127.0.0.1 or ::1", listen, bound)
}

// guard runs a background job so that a panic in it is logged with its
// stack and stops only that job, not the server and the memos in flight.
func guard(log *slog.Logger, job string, run func()) func() {
	return func() {
		defer func() {
			if v := recover(); v != nil {
				log.Error("background job failed and stopped", "job", job, "panic", v, "stack", string(debug.Stack()))
			}
		}()
		run()
	}
}
