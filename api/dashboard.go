package api

import (
	"crypto/tls"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/auth"
	"github.com/whispersync/whispersync/connlog"
	"github.com/whispersync/whispersync/metrics"
	"github.com/whispersync/whispersync/web"
)

// dashboardRoutes lists the routes of the security dashboard and the
// Prometheus metrics.
func (s *Server) dashboardRoutes() {
	s.mux.Handle("GET /metrics", s.admin(s.metrics.Handler().ServeHTTP))
	s.mux.Handle("GET /v1/admin/dashboard/series", s.admin(s.handleSeries))

	s.mux.HandleFunc("GET /ui/{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, web.DashboardPath, http.StatusSeeOther)
	})
	s.mux.HandleFunc("GET "+web.LoginPath, web.Login)
	s.mux.HandleFunc("GET "+web.AssetsPrefix, web.Assets)
	s.mux.HandleFunc("GET "+web.DashboardPath, s.handleDashboardPage)
}

// Metrics returns the server's metrics, to serve them on another listener
// too.
func (s *Server) Metrics() *metrics.Metrics { return s.metrics }

// Series returns the dashboard's time series, which the caller samples
// with Series.Run.
func (s *Server) Series() *metrics.Series { return s.series }

// isAdmin reports whether p may see the dashboard and the metrics: a
// credential with the admin scope, or a login session of one of the
// configured admin users. Sessions never carry the admin scope itself.
func (s *Server) isAdmin(p *auth.Principal) bool {
	if p.HasScope(whispersync.ScopeAdmin) {
		return true
	}
	return p.Kind == auth.KindSession && slices.Contains(s.opts.AdminUsers, p.User.Name)
}

// admin wraps h like authed with the admin scope, and also admits the
// sessions of admin users.
func (s *Server) admin(h http.HandlerFunc) http.Handler {
	return s.authed("", func(w http.ResponseWriter, r *http.Request) {
		if !s.isAdmin(principal(r)) {
			s.auditDenied(r, "auth.scope")
			s.error(w, r, whispersync.Errorf(whispersync.EFORBIDDEN, "this needs the admin scope, or a session of a user named in serve --admin-users"))
			return
		}
		h(w, r)
	})
}

// handleDashboardPage sends a browser without credentials to the login
// page, and serves the page to admins.
func (s *Server) handleDashboardPage(w http.ResponseWriter, r *http.Request) {
	if !hasCredentials(r) {
		http.Redirect(w, r, web.LoginPath, http.StatusSeeOther)
		return
	}
	s.admin(web.Dashboard).ServeHTTP(w, r)
}

func (s *Server) handleSeries(w http.ResponseWriter, r *http.Request) {
	s.json(w, http.StatusOK, s.series.Snapshot(time.Now()))
}

// countingBody counts the request body bytes a handler reads.
type countingBody struct {
	io.ReadCloser
	n int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	return n, err
}

// observe records a handled request in the metrics and the connection
// log. The route is the matched pattern, never the path, which may name a
// memo.
func (s *Server) observe(r *http.Request, rec *statusRecorder, in *countingBody, start time.Time) {
	d := time.Since(start)
	s.metrics.ObserveRequest(r.Pattern, rec.status, d)
	if s.opts.ConnLog == nil {
		return
	}
	entry := connlog.Record{
		Time: start, Peer: r.RemoteAddr, Proto: r.Proto, Route: r.Pattern, BytesOut: rec.written,
		DurationMS: float64(d.Microseconds()) / 1000, Status: rec.status,
	}
	entry.RequestID, _ = r.Context().Value(requestIDKey{}).(string)
	if in != nil {
		entry.BytesIn = in.n
	}
	if r.TLS != nil {
		entry.TLS = tls.VersionName(r.TLS.Version)
	}
	if err := s.opts.ConnLog.Append(entry); err != nil {
		s.log.Error("write connection log failed", "request_id", entry.RequestID, "err", err)
	}
}
