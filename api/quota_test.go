package api_test

import (
	"net/http"
	"path/filepath"
	"testing"

	"github.com/whispersync/whispersync/api"
	"github.com/whispersync/whispersync/app"
	"github.com/whispersync/whispersync/audit"
	"github.com/whispersync/whispersync/ratelimit"
)

func TestDailyQuotaRefusalIsAudited(t *testing.T) {
	dir := t.TempDir()
	a, err := app.Open(t.Context(), app.Config{DataDir: filepath.Join(dir, "data"), KeyFile: filepath.Join(dir, "config", "keyring.json"), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := a.Close(); err != nil {
			t.Errorf("close app: %v", err)
		}
	})
	h := serveApp(t, a, api.Options{Principal: ratelimit.Config{Rate: 1000, Burst: 1000, Daily: 2}})
	token := h.token("alice")
	for range 2 {
		if r := h.get("/v1/memos", token); r.status != http.StatusOK {
			t.Fatalf("request within the quota: got %d, want 200", r.status)
		}
	}
	if r := h.get("/v1/memos", token); r.status != http.StatusTooManyRequests {
		t.Fatalf("request over the quota: got %d, want 429", r.status)
	}

	refusals := 0
	err = audit.Read(filepath.Join(dir, "data", "audit"), func(e audit.Entry) error {
		if e.Action == "ratelimit.reject" && e.Detail["limit"] == "daily" {
			refusals++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if refusals != 1 {
		t.Errorf("audited daily-quota refusals: got %d, want 1", refusals)
	}
}
