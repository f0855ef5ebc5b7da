package api_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/whispersync/whispersync/api"
	"github.com/whispersync/whispersync/web"
)

// chromiumPath is Debian's chromium, which scripts/install-tools installs;
// WHISPERSYNC_CHROMIUM names another binary.
func chromiumPath(t *testing.T) string {
	t.Helper()
	path := os.Getenv("WHISPERSYNC_CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := os.Stat(path); err != nil { // #nosec G703 -- the developer names the binary in the environment
		t.Fatalf("chromium: %v: run scripts/install-tools, which installs Debian's chromium package, or set WHISPERSYNC_CHROMIUM", err)
	}
	return path
}

// chartResult is what the page reports about one chart.
type chartResult struct {
	ID     string `json:"id"`
	Paths  int    `json:"paths"`
	Points int    `json:"points"`
	Moves  int    `json:"moves"`
	Stroke string `json:"stroke"`
}

func TestDashboardInHeadlessChromium(t *testing.T) {
	exe := chromiumPath(t)
	h := newHarness(t, api.Options{AdminUsers: []string{"root"}})
	if err := h.app.SetPassword(t.Context(), operator, h.user("root"), testPassword); err != nil {
		t.Fatal(err)
	}
	h.upload(h.token("alice"), "work/garage-day.txt")

	// Five minutes of history: a failed login, then a sample, each minute.
	// Each guesses another name, since failures against one user delay
	// the next attempt.
	start := time.Now().Add(-5 * time.Minute)
	for i := range 5 {
		h.forgive()
		body := fmt.Sprintf(`{"user":"guess%d","password":"wrong"}`, i)
		if r := h.req(http.MethodPost, "/v1/login", strings.NewReader(body), "Content-Type", "application/json"); r.status != http.StatusUnauthorized {
			t.Fatalf("failed login: got %d, want 401", r.status)
		}
		sm, err := h.srv.Metrics().Sample(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if err := h.srv.Series().Record(start.Add(time.Duration(i)*time.Minute), sm); err != nil {
			t.Fatal(err)
		}
	}
	h.forgive()

	// Chromium trusts only the test server's key, by the hash of its
	// public key.
	spki := sha256.Sum256(h.ts.Certificate().RawSubjectPublicKeyInfo)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("ignore-certificate-errors-spki-list", base64.StdEncoding.EncodeToString(spki[:])),
		chromedp.UserDataDir(t.TempDir()),
	)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(alloc)
	defer cancelBrowser()
	// The first Run starts the browser, which lives as long as its context.
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	ctx, cancel := context.WithTimeout(browser, 60*time.Second)
	defer cancel()

	err := chromedp.Do(ctx,
		chromedp.Navigate(h.ts.URL+web.DashboardPath),
		chromedp.WaitVisible(chromedp.CSS("#login")),
		chromedp.SendKeys(chromedp.CSS("#user"), "root"),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.Click(chromedp.CSS("#submit")),
		chromedp.WaitVisible(chromedp.CSS(`body[data-loaded="true"] svg.chart`)),
	)
	if err != nil {
		t.Fatalf("log in and open the dashboard: %v", err)
	}
	location, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(location, web.DashboardPath) {
		t.Errorf("location after login: got %s, want the dashboard", location)
	}

	charts, err := chromedp.Run(ctx, chromedp.Evaluate[[]chartResult](`[...document.querySelectorAll("svg.chart")].map((svg) => {
		const paths = [...svg.querySelectorAll("path.line")];
		return {
			id: svg.dataset.chart,
			paths: paths.length,
			points: paths.reduce((n, p) => n + Number(p.dataset.points), 0),
			moves: paths.reduce((n, p) => n + (p.getAttribute("d").match(/[ML]/g) || []).length, 0),
			stroke: paths.length ? getComputedStyle(paths[0]).stroke : "",
		};
	})`))
	if err != nil {
		t.Fatalf("read the charts: %v", err)
	}
	byID := map[string]chartResult{}
	for _, c := range charts {
		byID[c.ID] = c
	}
	if len(charts) != 9 {
		t.Errorf("charts: got %d %+v, want 9", len(charts), charts)
	}
	for _, id := range []string{"auth_failures", "key_usage", "requests", "findings", "dead_letters", "queue_depth", "cache_hit_ratio"} {
		c := byID[id]
		if c.Paths == 0 || c.Points < 5 || c.Moves < 5 {
			t.Errorf("chart %s: got %+v, want lines through at least 5 points", id, c)
		}
	}
	// The style sheet is a file of the same origin: the policy lets it
	// apply, which the stroke colour shows.
	if got := byID["auth_failures"].Stroke; got != "rgb(37, 99, 235)" {
		t.Errorf("auth_failures stroke: got %q, want rgb(37, 99, 235) from style.css", got)
	}

	// A failed login a minute adds one attempt per point.
	values, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`fetch("/v1/admin/dashboard/series").then((r) => r.json()).then((s) => s.ranges[0].points.map((p) => p.v.auth_failures))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("fetch the series from the page: %v", err)
	}
	if len(values) < 5 || values[len(values)-1] != 1 {
		t.Errorf("auth_failures per minute: got %v, want 5 points ending in 1", values)
	}
}
