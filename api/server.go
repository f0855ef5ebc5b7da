// Package api serves the WhisperSync HTTP API. Every route is listed in
// routes; every request passes the edge filter (size limits, method
// allowlist, path normalization, scanner traffic, the block list), CORS,
// and, but for the health check and login, authentication, a rate limit
// per principal and a scope check; every failure has the same JSON error
// body.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"expvar"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/app"
	"github.com/whispersync/whispersync/auth"
	"github.com/whispersync/whispersync/connlog"
	"github.com/whispersync/whispersync/internal/ids"
	"github.com/whispersync/whispersync/metrics"
	"github.com/whispersync/whispersync/pipeline"
	"github.com/whispersync/whispersync/ratelimit"
	"github.com/whispersync/whispersync/web"
)

// MaxBodyBytes bounds a request body: a transcript of 100,000 characters of
// up to 4 bytes each, with room for multipart framing.
const MaxBodyBytes = 1 << 20

// Options configure a Server. The zero value gets the defaults of each
// field.
type Options struct {
	Logger *slog.Logger
	// TLS reports that the server is reached over HTTPS, so responses carry
	// Strict-Transport-Security.
	TLS  bool
	CORS CORS
	// Principal limits each authenticated principal; default
	// ratelimit.DefaultPrincipal.
	Principal ratelimit.Config
	// Anonymous limits unauthenticated requests per client address;
	// default ratelimit.DefaultAnonymous.
	Anonymous ratelimit.Config
	// OIDC, when set, accepts bearer JWTs it verifies.
	OIDC *auth.Verifier
	Edge EdgeLimits
	// Metrics counts requests and exports the security metrics; default
	// metrics over the app's stores.
	Metrics *metrics.Metrics
	// Series holds the dashboard's time series; default one in memory.
	Series *metrics.Series
	// ConnLog, when set, receives a record of every request.
	ConnLog *connlog.Log
	// AdminUsers are the users whose login sessions may see the security
	// dashboard and the metrics.
	AdminUsers []string
}

// Server is the HTTP API over one open data directory.
type Server struct {
	app       *app.App
	log       *slog.Logger
	mux       *http.ServeMux
	opts      Options
	cors      cors
	principal *ratelimit.Limiter
	anonymous *ratelimit.Limiter
	blocks    blocklist
	metrics   *metrics.Metrics
	series    *metrics.Series

	touchMu sync.Mutex
	touched map[string]time.Time
}

// Counters for the security dashboard, published through expvar.
var (
	edgeRejections = expvar.NewMap("whispersync_edge_rejections")
	rateRejections = expvar.NewMap("whispersync_rate_limited")
)

// NewServer returns the API of a. It fails on a configuration that cannot
// be safe, such as a wildcard CORS origin with credentials.
func NewServer(a *app.App, opts Options) (*Server, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Principal == (ratelimit.Config{}) {
		opts.Principal = ratelimit.DefaultPrincipal
	}
	if opts.Anonymous == (ratelimit.Config{}) {
		opts.Anonymous = ratelimit.DefaultAnonymous
	}
	if opts.CORS.Origins == nil {
		opts.CORS = DefaultCORS
	}
	opts.Edge = opts.Edge.withDefaults()
	if opts.Metrics == nil {
		opts.Metrics = metrics.New(metrics.AppSources(a))
	}
	if opts.Series == nil {
		opts.Series, _ = metrics.NewSeries("") // in memory: cannot fail
	}

	c, err := opts.CORS.compile()
	if err != nil {
		return nil, err
	}
	principal, err := ratelimit.New(opts.Principal, a.Identity())
	if err != nil {
		return nil, fmt.Errorf("api: principal rate limit: %w", err)
	}
	anonymous, err := ratelimit.New(opts.Anonymous, nil)
	if err != nil {
		return nil, fmt.Errorf("api: anonymous rate limit: %w", err)
	}

	s := &Server{
		app: a, log: opts.Logger, mux: http.NewServeMux(), opts: opts, cors: c,
		principal: principal, anonymous: anonymous, touched: make(map[string]time.Time),
		metrics: opts.Metrics, series: opts.Series,
	}
	if err := s.ReloadBlocklist(context.Background()); err != nil {
		return nil, err
	}
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	s.mux.HandleFunc("GET /healthz", s.handleHealth)
	s.mux.HandleFunc("POST /v1/login", s.handleLogin)

	s.mux.Handle("GET /v1/session", s.authed("", s.handleSession))
	s.mux.Handle("POST /v1/logout", s.authed("", s.handleLogout))
	s.mux.Handle("POST /v1/password", s.authed("", s.handlePassword))

	s.mux.Handle("POST /v1/memos", s.authed(whispersync.ScopeMemosWrite, s.handleUpload))
	s.mux.Handle("GET /v1/memos", s.authed(whispersync.ScopeMemosRead, s.handleListMemos))
	s.mux.Handle("GET /v1/memos/{id}", s.authed(whispersync.ScopeMemosRead, s.handleGetMemo))
	s.mux.Handle("GET /v1/journal", s.authed(whispersync.ScopeMemosRead, s.handleJournal))
	s.mux.Handle("GET /v1/memories/search", s.authed(whispersync.ScopeMemosRead, s.handleSearchMemories))
	s.mux.Handle("GET /v1/ideas", s.authed(whispersync.ScopeMemosRead, s.handleListIdeas))
	s.mux.Handle("GET /v1/ideas/{id}", s.authed(whispersync.ScopeMemosRead, s.handleGetIdea))
	s.mux.Handle("GET /v1/review", s.authed(whispersync.ScopeMemosRead, s.handleListReview))
	s.mux.Handle("POST /v1/review/{id}", s.authed(whispersync.ScopeMemosWrite, s.handleAssign))

	s.mux.Handle("GET /v1/privacy/export", s.authed(whispersync.ScopeMemosRead, s.handleExport))
	s.mux.Handle("POST /v1/privacy/erase", s.authed(whispersync.ScopeMemosWrite, s.handleEraseSelf))

	s.mux.Handle("POST /v1/admin/users/{name}/erase", s.authed(whispersync.ScopeAdmin, s.handleEraseUser))
	s.mux.Handle("POST /v1/admin/users/{name}/lock", s.authed(whispersync.ScopeAdmin, s.handleLock(true)))
	s.mux.Handle("POST /v1/admin/users/{name}/unlock", s.authed(whispersync.ScopeAdmin, s.handleLock(false)))
	s.mux.Handle("POST /v1/admin/users/{name}/tokens", s.authed(whispersync.ScopeAdmin, s.handleCreateToken))
	s.mux.Handle("GET /v1/admin/users/{name}/tokens", s.authed(whispersync.ScopeAdmin, s.handleListTokens))
	s.mux.Handle("POST /v1/admin/users/{name}/tokens/{id}/revoke", s.authed(whispersync.ScopeAdmin, s.handleRevokeToken))
	s.mux.Handle("POST /v1/admin/backups", s.authed(whispersync.ScopeAdmin, s.handleCreateBackup))
	s.mux.Handle("GET /v1/admin/keys", s.authed(whispersync.ScopeAdmin, s.handleKeyStatus))
	s.mux.Handle("GET /v1/admin/findings", s.authed(whispersync.ScopeAdmin, s.handleListFindings))
	s.mux.Handle("GET /v1/admin/blocklist", s.authed(whispersync.ScopeAdmin, s.handleListBlocks))
	s.mux.Handle("POST /v1/admin/blocklist", s.authed(whispersync.ScopeAdmin, s.handleBlock))
	s.mux.Handle("POST /v1/admin/blocklist/remove", s.authed(whispersync.ScopeAdmin, s.handleUnblock))
	s.mux.Handle("GET /v1/admin/dlq", s.authed(whispersync.ScopeAdmin, s.handleListDLQ))
	s.mux.Handle("POST /v1/admin/dlq/redrive", s.authed(whispersync.ScopeAdmin, s.handleRedrive))
	s.mux.Handle("GET /v1/admin/metrics", s.authed(whispersync.ScopeAdmin, s.handleMetrics))
	s.dashboardRoutes()

	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.error(w, r, whispersync.Errorf(whispersync.ENOTFOUND, "no route for %s %s: see the API section of the README", r.Method, r.URL.Path))
	})
}

// Run flushes daily request counts and reloads the block list every few
// seconds until ctx ends, then flushes once more.
func (s *Server) Run(ctx context.Context) {
	go s.principal.Run(ctx, 5*time.Second, func(err error) { s.log.Error("flush daily request counts failed", "err", err) })
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.ReloadBlocklist(ctx); err != nil {
				s.log.Error("reload block list failed", "err", err)
			}
		}
	}
}

// Flush writes the daily request counts to the database.
func (s *Server) Flush(ctx context.Context) error {
	return s.principal.Flush(ctx)
}

// ServeHTTP adds a correlation id, security headers and panic recovery to
// every request, then applies the edge filter and CORS.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := ids.New("req")
	ctx := context.WithValue(r.Context(), requestIDKey{}, id)
	r = r.WithContext(ctx)
	h := w.Header()
	h.Set("X-Request-Id", id)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
	if s.opts.TLS {
		h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
	}

	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("handler panic", "request_id", id, "method", r.Method, "path", r.URL.Path, "panic", v)
			s.error(w, r, errors.New("handler panic"))
		}
	}()
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	var in *countingBody
	if r.Body != nil && r.Body != http.NoBody {
		in = &countingBody{ReadCloser: r.Body}
		r.Body = in
	}
	s.serve(rec, r)
	s.observe(r, rec, in, start)
	s.log.Debug("request", "request_id", id, "method", r.Method, "path", r.URL.Path, "status", rec.status, "duration", time.Since(start))
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if err := s.filter(r); err != nil {
		edgeRejections.Add(whispersync.ErrorCode(err), 1)
		if whispersync.ErrorCode(err) == errMethodNotAllowed {
			w.Header().Set("Allow", "GET, HEAD, POST, OPTIONS")
		}
		s.error(w, r, err)
		return
	}
	if s.blocks.blockedIP(clientIP(r)) {
		edgeRejections.Add("blocked_ip", 1)
		s.error(w, r, whispersync.Errorf(whispersync.EFORBIDDEN, "requests from this address are blocked: contact the operator"))
		return
	}
	if done, err := s.cors.handle(w, r); done {
		if err != nil {
			edgeRejections.Add("cors", 1)
			s.error(w, r, err)
		}
		return
	}
	// A credential counts only where a route checks it. Otherwise any
	// Authorization header would lift the per-address limit.
	if !hasCredentials(r) || s.public(r) {
		if !s.limit(w, r, s.anonymous, "anonymous", "ip:"+clientKey(clientIP(r))) {
			return
		}
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.opts.Edge.MaxBodyBytes)
	s.mux.ServeHTTP(w, r)
}

// publicPatterns lists the routes served without authentication, and "/",
// the 404 handler of unknown paths.
var publicPatterns = map[string]bool{
	"/":                       true,
	"GET /healthz":            true,
	"POST /v1/login":          true,
	"GET /ui/{$}":             true,
	"GET " + web.LoginPath:    true,
	"GET " + web.AssetsPrefix: true,
}

// public reports whether r goes to a route that does not authenticate.
func (s *Server) public(r *http.Request) bool {
	_, pattern := s.mux.Handler(r)
	return pattern == "" || publicPatterns[pattern]
}

// auditRefusal records a request refused by the daily quota.
func (s *Server) auditRefusal(r *http.Request, key string) {
	a := s.actor(r)
	if a.Principal == "" {
		a.Principal = key
	}
	err := s.app.Audit.Append(r.Context(), whispersync.AuditEvent{
		Time: time.Now().UTC(), Principal: a.Principal, Action: "ratelimit.reject", Resource: r.Method + " " + r.URL.Path,
		Outcome: whispersync.OutcomeDenied, Source: a.Source, RequestID: a.RequestID, Detail: map[string]string{"limit": "daily"},
	})
	if err != nil {
		s.log.Error("audit quota refusal failed", "request_id", a.RequestID, "err", err)
	}
}

// limit applies l to key, writes the RateLimit headers, and returns 429
// when the request is refused.
func (s *Server) limit(w http.ResponseWriter, r *http.Request, l *ratelimit.Limiter, kind, key string) bool {
	if p, ok := r.Context().Value(principalKey{}).(*auth.Principal); ok && p.Kind == auth.KindSession && p.User != nil {
		// All sessions of a user share one limit. Otherwise each login
		// would bring a fresh burst and a fresh daily quota.
		key = "sessions:" + p.User.ID
	}
	d, err := l.Allow(r.Context(), key)
	if err != nil {
		s.error(w, r, &whispersync.Error{Code: whispersync.EUNAVAILABLE, Message: "the rate limiter cannot read its counts: try again later", Err: err})
		return false
	}
	d.SetHeaders(w.Header())
	if !d.Allowed {
		rateRejections.Add(kind, 1)
		if d.Daily && d.FirstDaily {
			// Only the first daily-quota rejection of a day is audited,
			// which feeds the quota detector. Later ones are only counted,
			// like burst rejections, so retries cannot flood the audit log.
			s.auditRefusal(r, key)
		}
		s.error(w, r, auth.Retry(d.RetryAfter, "rate limit exceeded: %d requests, try again in %d s", d.Limit, int(d.RetryAfter.Seconds()+0.999)))
		return false
	}
	return true
}

type statusRecorder struct {
	http.ResponseWriter
	status  int
	written int64
}

func (r *statusRecorder) Write(p []byte) (int, error) {
	n, err := r.ResponseWriter.Write(p)
	r.written += int64(n)
	return n, err
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// Unwrap gives http.ResponseController the connection's writer, so a
// handler can extend its write deadline.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

type requestIDKey struct{}

type principalKey struct{}

func (s *Server) actor(r *http.Request) pipeline.Actor {
	a := pipeline.Actor{Source: r.RemoteAddr}
	a.RequestID, _ = r.Context().Value(requestIDKey{}).(string)
	if p, ok := r.Context().Value(principalKey{}).(*auth.Principal); ok {
		a.Principal = p.Name()
	}
	return a
}

func principal(r *http.Request) *auth.Principal {
	return r.Context().Value(principalKey{}).(*auth.Principal)
}

// owner is the user whose items a request may touch: always the
// authenticated principal's, never a value from the request.
func owner(r *http.Request) string {
	return principal(r).User.ID
}

// errorBody is the one error shape of the API.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code          string `json:"code"`
	Message       string `json:"message"`
	Rule          string `json:"rule,omitempty"`
	MemoID        string `json:"memo_id,omitempty"`
	CorrelationID string `json:"correlation_id"`
	// RetryAfter is in seconds, with the Retry-After header.
	RetryAfter int `json:"retry_after,omitempty"`
}

// Edge error codes, beyond the domain's.
const (
	errMethodNotAllowed = "method_not_allowed"
	errURITooLong       = "uri_too_long"
	errUnsupportedMedia = "unsupported_media_type"
	errHeadersTooLarge  = "headers_too_large"
)

var statusOf = map[string]int{
	whispersync.EINVALID:      http.StatusBadRequest,
	whispersync.EREJECTED:     http.StatusUnprocessableEntity,
	whispersync.ENOTFOUND:     http.StatusNotFound,
	whispersync.EUNAUTHORIZED: http.StatusUnauthorized,
	whispersync.EFORBIDDEN:    http.StatusForbidden,
	whispersync.ECONFLICT:     http.StatusConflict,
	whispersync.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	whispersync.EUNAVAILABLE:  http.StatusServiceUnavailable,
	whispersync.EINTERNAL:     http.StatusInternalServerError,
	auth.ERATELIMITED:         http.StatusTooManyRequests,
	errMethodNotAllowed:       http.StatusMethodNotAllowed,
	errURITooLong:             http.StatusRequestURITooLong,
	errUnsupportedMedia:       http.StatusUnsupportedMediaType,
	errHeadersTooLarge:        http.StatusRequestHeaderFieldsTooLarge,
}

// error writes err as the JSON error body. Internal causes go to the log
// only, under the correlation id the client receives.
func (s *Server) error(w http.ResponseWriter, r *http.Request, err error) {
	code := whispersync.ErrorCode(err)
	id, _ := r.Context().Value(requestIDKey{}).(string)
	if code == whispersync.EINTERNAL || code == whispersync.EUNAVAILABLE {
		s.log.Error("request failed", "request_id", id, "method", r.Method, "path", r.URL.Path, "err", err)
	}
	body := errorBody{Error: errorDetail{Code: code, Message: whispersync.ErrorMessage(err), CorrelationID: id}}
	var e *whispersync.Error
	if errors.As(err, &e) {
		body.Error.Rule = e.Rule
	}
	var rej rejection
	if errors.As(err, &rej) {
		body.Error.MemoID = rej.memoID
	}
	var retry *auth.RetryError
	if errors.As(err, &retry) {
		body.Error.RetryAfter = max(1, int((retry.After+time.Second-1)/time.Second))
		w.Header().Set("Retry-After", strconv.Itoa(body.Error.RetryAfter))
	}
	if code == whispersync.EUNAUTHORIZED {
		w.Header().Set("WWW-Authenticate", `Bearer realm="whispersync"`)
	}
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	s.json(w, status, body)
}

func (s *Server) json(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		s.log.Debug("write response failed", "err", err)
	}
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	s.json(w, http.StatusOK, map[string]string{"status": "ok"})
}

// handleMetrics reports the security counters: failed authentication
// attempts by kind, edge rejections by reason and rate-limited requests.
func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	out := map[string]map[string]int64{}
	for name, m := range map[string]*expvar.Map{"auth_failures": auth.Failures, "edge_rejections": edgeRejections, "rate_limited": rateRejections} {
		counts := map[string]int64{}
		m.Do(func(kv expvar.KeyValue) {
			if v, ok := kv.Value.(*expvar.Int); ok {
				counts[kv.Key] = v.Value()
			}
		})
		out[name] = counts
	}
	s.json(w, http.StatusOK, out)
}
