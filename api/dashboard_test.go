package api_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/api"
	"github.com/whispersync/whispersync/connlog"
	"github.com/whispersync/whispersync/web"
)

func TestMetricsNeedAnAdmin(t *testing.T) {
	h := newHarness(t, api.Options{AdminUsers: []string{"root"}})
	admin := h.token("ops", whispersync.ScopeAdmin)
	reader := h.token("alice", whispersync.ScopeMemosRead)
	rootSession := login(t, h, "root")
	bobSession := login(t, h, "bob")

	for _, path := range []string{"/metrics", "/v1/admin/dashboard/series", web.DashboardPath} {
		tests := []struct {
			name string
			do   func() response
			want int
		}{
			{"admin token", func() response { return h.get(path, admin) }, http.StatusOK},
			{"admin user's session", func() response { return rootSession.do(h, "GET", path, "") }, http.StatusOK},
			{"memos:read token", func() response { return h.get(path, reader) }, http.StatusForbidden},
			{"other user's session", func() response { return bobSession.do(h, "GET", path, "") }, http.StatusForbidden},
		}
		for _, tt := range tests {
			h.forgive()
			if r := tt.do(); r.status != tt.want {
				t.Errorf("%s with %s: got %d %.200s, want %d", path, tt.name, r.status, r.raw, tt.want)
			}
		}
	}
	h.forgive()
	if r := h.req("GET", "/metrics", nil); r.status != http.StatusUnauthorized {
		t.Errorf("/metrics without credentials: got %d, want 401", r.status)
	}
	if r := h.req("GET", web.DashboardPath, nil); r.status != http.StatusOK || !strings.Contains(r.raw, `id="login"`) {
		t.Errorf("dashboard without credentials: got %d, want the login page after a redirect", r.status)
	}
}

func TestMetricsCountFailedLoginsAndRequests(t *testing.T) {
	h := newHarness(t, api.Options{})
	admin := h.token("ops", whispersync.ScopeAdmin)
	h.req("POST", "/v1/login", strings.NewReader(`{"user":"ops","password":"wrong"}`), "Content-Type", "application/json")
	h.forgive()
	h.get("/healthz", "")

	r := h.get("/metrics", admin)
	for _, want := range []string{
		`whispersync_auth_failures_total{reason="password"}`,
		`whispersync_http_request_duration_seconds_count{route="GET /healthz",status="200"} 1`,
		`whispersync_dead_letters 0`,
		`whispersync_data_key_cache_hit_ratio`,
	} {
		if !strings.Contains(r.raw, want) {
			t.Errorf("metrics: missing %s", want)
		}
	}
}

func TestDashboardSeriesServesRecordedSamples(t *testing.T) {
	h := newHarness(t, api.Options{})
	admin := h.token("ops", whispersync.ScopeAdmin)
	now := time.Now()
	for i := range 3 {
		sm, err := h.srv.Metrics().Sample(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if err := h.srv.Series().Record(now.Add(time.Duration(i-2)*time.Minute), sm); err != nil {
			t.Fatal(err)
		}
	}
	r := h.get("/v1/admin/dashboard/series", admin)
	var snap struct {
		Ranges []struct {
			Name   string           `json:"name"`
			Points []map[string]any `json:"points"`
		} `json:"ranges"`
	}
	if err := json.Unmarshal([]byte(r.raw), &snap); err != nil {
		t.Fatalf("series: %v in %s", err, r.raw)
	}
	if len(snap.Ranges) != 3 || snap.Ranges[0].Name != "hour" || len(snap.Ranges[0].Points) != 3 {
		t.Errorf("series: got %s, want hour, day and week with 3 points in the hour", r.raw)
	}
}

func TestUIPagesHaveAStrictPolicy(t *testing.T) {
	h := newHarness(t, api.Options{})
	for _, path := range []string{web.LoginPath, web.AssetsPrefix + "login.js", web.AssetsPrefix + "dashboard.js", web.AssetsPrefix + "style.css"} {
		r := h.req("GET", path, nil)
		if r.status != http.StatusOK {
			t.Errorf("%s: got %d, want 200", path, r.status)
		}
		csp := r.header.Get("Content-Security-Policy")
		if csp != web.CSP || strings.Contains(csp, "unsafe") {
			t.Errorf("%s: policy %q, want %q", path, csp, web.CSP)
		}
	}
	for _, path := range []string{web.AssetsPrefix + "login.html", web.AssetsPrefix + "missing.js"} {
		if r := h.req("GET", path, nil); r.status != http.StatusNotFound {
			t.Errorf("%s: got %d, want 404", path, r.status)
		}
	}
}

func TestConnectionLogRecordsRequestsWithoutContent(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "connections")
	cl, err := connlog.Open(connlog.Options{Dir: dir, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, api.Options{ConnLog: cl})
	token := h.token("alice")
	id := h.upload(token, "work/garage-day.txt")
	h.get("/v1/memos/"+id, token)
	if err := cl.Close(); err != nil {
		t.Fatal(err)
	}

	files, err := cl.Files()
	if err != nil || len(files) != 1 {
		t.Fatalf("connection log files: got %v (%v), want 1", files, err)
	}
	data, err := os.ReadFile(filepath.Join(dir, files[0]))
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{token, id, "garage", "Bearer"} {
		if strings.Contains(string(data), secret) {
			t.Errorf("connection log holds %q:\n%s", secret, data)
		}
	}
	var got []connlog.Record
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for sc.Scan() {
		var rec connlog.Record
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatal(err)
		}
		got = append(got, rec)
	}
	if len(got) != 2 {
		t.Fatalf("records: got %d, want 2", len(got))
	}
	up, get := got[0], got[1]
	if up.Route != "POST /v1/memos" || up.Status != http.StatusAccepted || up.BytesIn == 0 || up.BytesOut == 0 || up.TLS != "TLS 1.3" || up.Peer == "" || up.RequestID == "" {
		t.Errorf("upload record: got %+v, want the route, 202, bytes both ways, TLS 1.3, peer and request id", up)
	}
	if get.Route != "GET /v1/memos/{id}" || get.Status != http.StatusOK || get.BytesIn != 0 {
		t.Errorf("read record: got %+v, want the route pattern, 200 and no bytes in", get)
	}
}
