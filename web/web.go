// Package web holds the pages of the WhisperSync web UI: a login page and
// the security dashboard. Every file is embedded in the binary and served
// from the server's own origin under a strict Content-Security-Policy:
// scripts and styles only from files of that origin, no inline script or
// style, no other site contacted. Charts are drawn as inline SVG by the
// dashboard's script.
//
// The package serves files only; the api package decides who may see a
// page and serves the data the scripts fetch.
package web

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed static
var files embed.FS

// CSP is the Content-Security-Policy of every UI response.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Paths of the pages.
const (
	LoginPath     = "/ui/login"
	DashboardPath = "/ui/dashboard"
	// AssetsPrefix is the path prefix of scripts and style sheets.
	AssetsPrefix = "/ui/assets/"
)

var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
}

// serve writes the embedded file name with its content type and the UI's
// security policy.
func serve(w http.ResponseWriter, name string) {
	data, err := fs.ReadFile(files, "static/"+name)
	ctype, known := contentTypes[path.Ext(name)]
	if err != nil || !known {
		http.NotFound(w, nil)
		return
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Content-Security-Policy", CSP)
	w.WriteHeader(http.StatusOK)
	// #nosec G705 -- data is a file embedded at build time. The request only
	// selects which one, and Assets rejects names with a path separator.
	_, _ = w.Write(data)
}

// Login serves the login page.
func Login(w http.ResponseWriter, r *http.Request) { serve(w, "login.html") }

// Dashboard serves the dashboard page. It holds no data: its script
// fetches the series with the session's cookie.
func Dashboard(w http.ResponseWriter, r *http.Request) { serve(w, "dashboard.html") }

// Assets serves the scripts and style sheets under AssetsPrefix.
func Assets(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, AssetsPrefix)
	if name == "" || strings.ContainsAny(name, "/\\") || path.Ext(name) == ".html" {
		http.NotFound(w, r)
		return
	}
	serve(w, name)
}
