package app_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/app"
	"github.com/whispersync/whispersync/detect"
	"github.com/whispersync/whispersync/pipeline"
	"github.com/whispersync/whispersync/respond"
	"github.com/whispersync/whispersync/secrets"
)

const hookSigningKey = "app-test-hook-signing-canary"

// hookReceiver is a local HTTPS webhook receiver that verifies each
// delivery's signature and responds with status.
type hookReceiver struct {
	srv *httptest.Server

	mu      sync.Mutex
	status  int
	digests []respond.Digest
	bad     int
}

func newHookReceiver(t *testing.T) *hookReceiver {
	h := &hookReceiver{status: http.StatusOK}
	h.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		if err := respond.VerifySignature([]byte(hookSigningKey), r.Header, body, time.Now()); err != nil {
			h.bad++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if h.status != http.StatusOK {
			w.WriteHeader(h.status)
			return
		}
		var d respond.Digest
		if err := json.Unmarshal(body, &d); err != nil {
			h.bad++
		}
		h.digests = append(h.digests, d)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookReceiver) setStatus(s int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.status = s
}

func (h *hookReceiver) take() ([]respond.Digest, int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	d, bad := h.digests, h.bad
	h.digests, h.bad = nil, 0
	return d, bad
}

func respondApp(t *testing.T, h *hookReceiver) (*app.App, *syncBuffer) {
	t.Helper()
	base := t.TempDir()
	logs := &syncBuffer{}
	pool := x509.NewCertPool()
	pool.AddCert(h.srv.Certificate())
	a, err := app.Open(t.Context(), app.Config{
		DataDir: filepath.Join(base, "data"),
		KeyFile: filepath.Join(base, "config", "keyring.json"),
		Logger:  slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Response: respond.Config{
			Webhook:       &respond.WebhookConfig{URL: h.srv.URL + "/hook", KeySecret: "hook-signing-key"},
			AllowHosts:    []string{"127.0.0.1"},
			AllowLoopback: true,
			TLS:           &tls.Config{RootCAs: pool},
			Retry:         respond.Retry{Attempts: 2, Base: time.Millisecond, Max: time.Millisecond},
		},
	})
	if err != nil {
		t.Fatalf("app.Open: %v", err)
	}
	t.Cleanup(func() {
		if err := a.Close(); err != nil {
			t.Errorf("close app: %v", err)
		}
	})
	if _, err := a.Secrets.Set(t.Context(), secrets.Actor{Principal: "operator:test"}, "hook-signing-key", []byte(hookSigningKey), secrets.SetOptions{}); err != nil {
		t.Fatalf("set secret: %v", err)
	}
	return a, logs
}

func finding(typ string, sev detect.Severity, principal string, count int, at time.Time) detect.Finding {
	return detect.Finding{
		ID: detect.FindingID(typ, principal), Type: typ, Severity: sev, Principal: principal,
		Evidence: map[string]string{"last_seq": "7"}, FirstSeen: at, LastSeen: at, Count: count,
	}
}

func putFindings(t *testing.T, a *app.App, fs ...detect.Finding) {
	t.Helper()
	for _, f := range fs {
		if err := a.Findings().Put(t.Context(), f); err != nil {
			t.Fatalf("put finding: %v", err)
		}
	}
}

func digestIDs(ds []respond.Digest) []string {
	var ids []string
	for _, d := range ds {
		for _, f := range d.Findings {
			ids = append(ids, f.Type+" "+f.Principal)
		}
	}
	slices.Sort(ids)
	return ids
}

func TestRespondActsAndPublishes(t *testing.T) {
	ctx := t.Context()
	h := newHookReceiver(t)
	a, logs := respondApp(t, h)
	op := pipeline.Actor{Principal: "operator:test", Source: "cli"}
	user, _, err := a.User(ctx, "mallory", true)
	if err != nil {
		t.Fatal(err)
	}
	_, token, err := a.CreateToken(ctx, op, user, "laptop", []string{whispersync.ScopeMemosRead}, 0)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	brute := finding(detect.TypeBruteForce, detect.High, "source:203.0.113.9", 1, now)
	bulk := finding(detect.TypeBulkRead, detect.High, "token:"+token.ID, 1, now)
	network := finding(detect.TypeNewNetwork, detect.Medium, "token:"+token.ID, 1, now)
	putFindings(t, a, brute, bulk, network)

	// First run: every finding is new and the first digest is due.
	res, err := a.Respond(ctx, now)
	if err != nil {
		t.Fatalf("respond: %v", err)
	}
	var actions []string
	for _, r := range res.Actions {
		actions = append(actions, string(r.Kind)+" "+r.Target)
	}
	slices.Sort(actions)
	wantActions := []string{"block ip:203.0.113.9", "lock user:" + user.ID, "revoke principal:token:" + token.ID}
	if !slices.Equal(actions, wantActions) {
		t.Errorf("actions: got %v, want %v", actions, wantActions)
	}
	if locked, _ := a.Identity().LockedAt(ctx, user.ID); locked.IsZero() {
		t.Error("lock: the account is not locked")
	}
	ds, bad := h.take()
	want := []string{"auth.brute_force source:203.0.113.9", "auth.new_network token:" + token.ID, "data.bulk_read token:" + token.ID}
	if bad != 0 || len(ds) != 1 || !slices.Equal(digestIDs(ds), want) {
		t.Fatalf("first digest: got %d digests with %v (%d bad), want one with %v", len(ds), digestIDs(ds), bad, want)
	}
	if len(ds[0].Actions) != 3 {
		t.Errorf("digest actions: got %d, want 3", len(ds[0].Actions))
	}

	// Nothing changed: nothing is sent and nothing is done again.
	res, err = a.Respond(ctx, now.Add(5*time.Minute))
	if err != nil || len(res.Actions) != 0 || len(res.Published) != 0 {
		t.Errorf("unchanged run: got %+v, %v; want no action and no publication", res, err)
	}
	if ds, _ := h.take(); len(ds) != 0 {
		t.Errorf("unchanged run: got %d digests, want 0", len(ds))
	}

	// A medium finding whose count changed waits for the next digest; a
	// high one goes out at once.
	network.Count = 2
	putFindings(t, a, network)
	if _, err := a.Respond(ctx, now.Add(6*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if ds, _ := h.take(); len(ds) != 0 {
		t.Errorf("medium before the interval: got %v, want nothing", digestIDs(ds))
	}
	brute.Count = 2
	putFindings(t, a, brute)
	res, _ = a.Respond(ctx, now.Add(7*time.Minute))
	if ds, _ := h.take(); !res.Urgent || !slices.Equal(digestIDs(ds), []string{"auth.brute_force source:203.0.113.9"}) {
		t.Errorf("high before the interval: got %v (urgent %t), want the brute force alone, urgent", digestIDs(ds), res.Urgent)
	}
	if len(res.Actions) != 0 {
		t.Errorf("actions already in force: got %v, want none repeated", res.Actions)
	}
	if _, err := a.Respond(ctx, now.Add(16*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if ds, _ := h.take(); !slices.Equal(digestIDs(ds), []string{"auth.new_network token:" + token.ID}) {
		t.Errorf("next digest: got %v, want the new network finding", digestIDs(ds))
	}

	// Every action can be undone, once.
	all, err := a.Responses().Responses(ctx)
	if err != nil || len(all) != 3 {
		t.Fatalf("responses: got %d, %v; want 3", len(all), err)
	}
	for _, r := range all {
		if _, err := a.UndoResponse(ctx, op, r.ID); err != nil {
			t.Errorf("undo %s %s: %v", r.Kind, r.Target, err)
		}
	}
	if locked, _ := a.Identity().LockedAt(ctx, user.ID); !locked.IsZero() {
		t.Error("undo lock: the account is still locked")
	}
	if blocks, _ := a.Identity().ListBlocks(ctx); len(blocks) != 0 {
		t.Errorf("undo blocks: got %v, want an empty block list", blocks)
	}
	if _, err := a.UndoResponse(ctx, op, all[0].ID); whispersync.ErrorCode(err) != whispersync.ECONFLICT {
		t.Errorf("second undo: got %v, want ECONFLICT", err)
	}
	if strings.Contains(logs.String(), hookSigningKey) {
		t.Error("logs hold the signing key")
	}
}

func TestRespondDeliveryFailureBecomesFinding(t *testing.T) {
	ctx := t.Context()
	h := newHookReceiver(t)
	h.setStatus(http.StatusInternalServerError)
	a, logs := respondApp(t, h)
	now := time.Now().UTC()
	putFindings(t, a, finding(detect.TypeChainBroken, detect.High, "audit", 1, now))

	res, err := a.Respond(ctx, now)
	if err != nil {
		t.Fatalf("respond: %v", err)
	}
	if res.Failed["webhook"] == "" || len(res.Published) != 0 {
		t.Errorf("result: got %+v, want webhook failed and nothing published", res)
	}
	f, err := a.Findings().Get(ctx, detect.FindingID(detect.TypeDeliveryFailed, "notifier:webhook"))
	if err != nil {
		t.Fatalf("delivery failed finding: %v", err)
	}
	if f.Severity != detect.Medium || !strings.Contains(f.Evidence["error"], "status 500") {
		t.Errorf("delivery failed finding: got %+v, want medium with the status", f)
	}
	for _, s := range []string{logs.String(), f.Evidence["error"], res.Failed["webhook"]} {
		if strings.Contains(s, hookSigningKey) {
			t.Errorf("the signing key leaked into %q", s)
		}
	}

	// Once the receiver recovers, both findings go out.
	h.setStatus(http.StatusOK)
	if _, err := a.Respond(ctx, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	ds, _ := h.take()
	if got := digestIDs(ds); !slices.Equal(got, []string{"audit.chain_broken audit", "response.delivery_failed notifier:webhook"}) {
		t.Errorf("after recovery: got %v, want both findings", got)
	}
}

func TestDetectionFactsCountNotifiers(t *testing.T) {
	h := newHookReceiver(t)
	a, _ := respondApp(t, h)
	if f := a.DetectionFacts(t.Context()); f == nil || f.Notifiers != 1 {
		t.Errorf("facts: got %+v, want 1 notifier", f)
	}
}
