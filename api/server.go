// Package api serves the WhisperSync HTTP API: every route is listed in
// routes, every request but the health check is authenticated by a bearer
// token, and every failure has the same JSON error body.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/app"
	"github.com/whispersync/whispersync/internal/ids"
	"github.com/whispersync/whispersync/pipeline"
)

// MaxBodyBytes bounds a request body: a transcript of 100,000 characters of
// up to 4 bytes each, with room for multipart framing.
const MaxBodyBytes = 1 << 20

// Server is the HTTP API over one open data directory.
type Server struct {
	app *app.App
	log *slog.Logger
	mux *http.ServeMux
}

// NewServer returns the API of a.
func NewServer(a *app.App, log *slog.Logger) *Server {
	if log == nil {
		log = slog.Default()
	}
	s := &Server{app: a, log: log, mux: http.NewServeMux()}
	s.routes()
	return s
}

func (s *Server) routes() {
	s.mux.HandleFunc("GET /healthz", s.handleHealth)

	s.mux.Handle("POST /v1/memos", s.authed(whispersync.ScopeMemosWrite, s.handleUpload))
	s.mux.Handle("GET /v1/memos", s.authed(whispersync.ScopeMemosRead, s.handleListMemos))
	s.mux.Handle("GET /v1/memos/{id}", s.authed(whispersync.ScopeMemosRead, s.handleGetMemo))
	s.mux.Handle("GET /v1/journal", s.authed(whispersync.ScopeMemosRead, s.handleJournal))
	s.mux.Handle("GET /v1/memories/search", s.authed(whispersync.ScopeMemosRead, s.handleSearchMemories))
	s.mux.Handle("GET /v1/ideas", s.authed(whispersync.ScopeMemosRead, s.handleListIdeas))
	s.mux.Handle("GET /v1/ideas/{id}", s.authed(whispersync.ScopeMemosRead, s.handleGetIdea))
	s.mux.Handle("GET /v1/review", s.authed(whispersync.ScopeMemosRead, s.handleListReview))
	s.mux.Handle("POST /v1/review/{id}", s.authed(whispersync.ScopeMemosWrite, s.handleAssign))

	s.mux.Handle("GET /v1/admin/dlq", s.authed(whispersync.ScopeAdmin, s.handleListDLQ))
	s.mux.Handle("POST /v1/admin/dlq/redrive", s.authed(whispersync.ScopeAdmin, s.handleRedrive))

	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.error(w, r, whispersync.Errorf(whispersync.ENOTFOUND, "no route for %s %s: see the API section of the README", r.Method, r.URL.Path))
	})
}

// ServeHTTP adds a correlation id, security headers and panic recovery to
// every request.
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
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")

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
	s.mux.ServeHTTP(rec, r)
	s.log.Debug("request", "request_id", id, "method", r.Method, "path", r.URL.Path, "status", rec.status, "duration", time.Since(start))
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

type requestIDKey struct{}

type principalKey struct{}

// principal is the authenticated caller of a request.
type principal struct {
	token *whispersync.Token
	user  *whispersync.User
}

func (s *Server) actor(r *http.Request) pipeline.Actor {
	a := pipeline.Actor{Source: r.RemoteAddr}
	a.RequestID, _ = r.Context().Value(requestIDKey{}).(string)
	if p, ok := r.Context().Value(principalKey{}).(principal); ok {
		a.Principal = "token:" + p.token.ID
	}
	return a
}

func owner(r *http.Request) string {
	return r.Context().Value(principalKey{}).(principal).user.ID
}

// authed wraps h so it runs only for a bearer token that carries scope.
// Failures are audited.
func (s *Server) authed(scope string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secret, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		token, user, err := s.app.Authenticate(r.Context(), strings.TrimSpace(secret))
		if !ok && err == nil {
			err = whispersync.Errorf(whispersync.EUNAUTHORIZED, "missing bearer token")
		}
		if err != nil {
			s.auditFailure(r, "auth.token", whispersync.OutcomeFailure, map[string]string{"token": secret})
			w.Header().Set("WWW-Authenticate", `Bearer realm="whispersync"`)
			s.error(w, r, err)
			return
		}
		if !token.HasScope(scope) {
			ctx := context.WithValue(r.Context(), principalKey{}, principal{token: token, user: user})
			s.auditFailure(r.WithContext(ctx), "auth.scope", whispersync.OutcomeDenied, nil)
			s.error(w, r, whispersync.Errorf(whispersync.EFORBIDDEN, "this token lacks the %s scope: create one with `whispersync tokens create --scope %s`", scope, scope))
			return
		}
		if err := s.app.Accounts.TouchToken(r.Context(), token.ID, time.Now().UTC()); err != nil {
			s.log.Warn("record token use failed", "token", token.ID, "err", err)
		}
		h(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, principal{token: token, user: user})))
	})
}

func (s *Server) auditFailure(r *http.Request, action, outcome string, hashed map[string]string) {
	a := s.actor(r)
	if a.Principal == "" {
		a.Principal = "anonymous"
	}
	err := s.app.Audit.Append(r.Context(), whispersync.AuditEvent{
		Time: time.Now().UTC(), Principal: a.Principal, Action: action, Resource: r.Method + " " + r.URL.Path,
		Outcome: outcome, Source: a.Source, RequestID: a.RequestID, Hashed: hashed,
	})
	if err != nil {
		s.log.Error("audit authentication failure failed", "request_id", a.RequestID, "err", err)
	}
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
}

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
}

// error writes err as the JSON error body. Internal causes go to the log
// only, under the correlation id the client sees.
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
