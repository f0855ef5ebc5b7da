package respond_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/whispersync/whispersync/detect"
	"github.com/whispersync/whispersync/respond"
	"github.com/whispersync/whispersync/safehttp"
)

// Canaries: secret values that must never appear in an error or a log.
const (
	slackPath    = "/services/T0CANARY/B0CANARY/slackCanaryToken"
	smtpPassword = "smtp-canary-password" // #nosec G101 -- a canary for leak checks, not a credential
	hookKey      = "hook-canary-signing-key"
)

// receiver is a local HTTPS server that records each request and responds
// with the next status of statuses, then 200.
type receiver struct {
	srv *httptest.Server

	mu       sync.Mutex
	statuses []int
	got      []received
}

type received struct {
	Path   string
	Header http.Header
	Body   []byte
}

func newReceiver(t *testing.T, statuses ...int) *receiver {
	t.Helper()
	r := &receiver{statuses: statuses}
	r.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, received{Path: req.URL.Path, Header: req.Header.Clone(), Body: body})
		status := http.StatusOK
		if len(r.statuses) > 0 {
			status, r.statuses = r.statuses[0], r.statuses[1:]
		}
		r.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) Received() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

// env is a configuration whose channels reach local receivers, with
// secrets served from a map.
type env struct {
	cfg     respond.Config
	secrets map[string]string
	logs    *bytes.Buffer
	log     *slog.Logger
}

func newEnv(t *testing.T, srv *httptest.Server) *env {
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	logs := &bytes.Buffer{}
	return &env{
		cfg: respond.Config{
			AllowHosts:    []string{"127.0.0.1"},
			AllowLoopback: true,
			TLS:           &tls.Config{RootCAs: pool},
			Retry:         respond.Retry{Attempts: 3, Base: time.Millisecond, Max: 2 * time.Millisecond},
		},
		secrets: map[string]string{},
		logs:    logs,
		log:     slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
}

func (e *env) secret(_ context.Context, name string) ([]byte, error) {
	v, ok := e.secrets[name]
	if !ok {
		return nil, fmt.Errorf("no secret %s", name)
	}
	return []byte(v), nil
}

func (e *env) notifier(t *testing.T, channel string) respond.Notifier {
	t.Helper()
	for _, n := range respond.Notifiers(e.cfg, e.secret) {
		if n.Channel() == channel {
			return n
		}
	}
	t.Fatalf("no %s notifier", channel)
	return nil
}

// assertNoSecrets fails when a canary appears in err or in the logs.
func (e *env) assertNoSecrets(t *testing.T, err error) {
	t.Helper()
	for _, canary := range []string{"slackCanaryToken", smtpPassword, hookKey} {
		if err != nil && strings.Contains(err.Error(), canary) {
			t.Errorf("error %q holds the secret %s", err, canary)
		}
		if strings.Contains(e.logs.String(), canary) {
			t.Errorf("logs hold the secret %s", canary)
		}
	}
}

var t0 = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

func digest() respond.Digest {
	return respond.Digest{SentAt: t0, Findings: []detect.Finding{{
		ID: detect.FindingID(detect.TypeBruteForce, "source:203.0.113.9"), Type: detect.TypeBruteForce, Severity: detect.High,
		Principal: "source:203.0.113.9", Evidence: map[string]string{"last_seq": "42", "source": "203.0.113.9:51234"},
		FirstSeen: t0.Add(-time.Hour), LastSeen: t0.Add(-time.Minute), Count: 3,
	}}}
}

func TestSlackSendsBlockKit(t *testing.T) {
	r := newReceiver(t)
	e := newEnv(t, r.srv)
	e.cfg.Slack = &respond.SlackConfig{URLSecret: "slack-webhook"}
	e.secrets["slack-webhook"] = r.srv.URL + slackPath

	if err := respond.Deliver(context.Background(), e.notifier(t, "slack"), digest(), e.cfg.Retry, e.log); err != nil {
		t.Fatalf("deliver: %v", err)
	}
	got := r.Received()
	if len(got) != 1 {
		t.Fatalf("requests: got %d, want 1", len(got))
	}
	if got[0].Path != slackPath {
		t.Errorf("path: got %q, want %q", got[0].Path, slackPath)
	}
	var msg struct {
		Text   string `json:"text"`
		Blocks []struct {
			Type string `json:"type"`
			Text struct {
				Text string `json:"text"`
			} `json:"text"`
			Fields []struct {
				Text string `json:"text"`
			} `json:"fields"`
			Elements []struct {
				Text string `json:"text"`
			} `json:"elements"`
		} `json:"blocks"`
	}
	if err := json.Unmarshal(got[0].Body, &msg); err != nil {
		t.Fatalf("decode message: %v", err)
	}
	if len(msg.Blocks) < 3 || msg.Blocks[0].Type != "header" || msg.Blocks[1].Type != "section" || msg.Blocks[2].Type != "context" {
		t.Fatalf("blocks: got %s, want a header, a section and a context", got[0].Body)
	}
	if want := "WhisperSync: 1 finding, 1 high"; msg.Blocks[0].Text.Text != want {
		t.Errorf("header: got %q, want %q", msg.Blocks[0].Text.Text, want)
	}
	var fields []string
	for _, f := range msg.Blocks[1].Fields {
		fields = append(fields, f.Text)
	}
	for _, want := range []string{"*Severity*\nhigh", "*Type*\nauth.brute_force", "*Principal*\nsource:203.0.113.9", "*Count*\n3", "*First seen*\n2026-03-02T08:30:00Z", "*Last seen*\n2026-03-02T09:29:00Z"} {
		if !strings.Contains(strings.Join(fields, "|"), want) {
			t.Errorf("fields: got %q, want one %q", fields, want)
		}
	}
	if ev := msg.Blocks[2].Elements[0].Text; !strings.Contains(ev, "last_seq=42") || !strings.Contains(ev, "source=203.0.113.9:51234") {
		t.Errorf("evidence: got %q, want last_seq and source", ev)
	}
	e.assertNoSecrets(t, nil)
}

func TestEmailSendsOverSTARTTLS(t *testing.T) {
	r := newReceiver(t) // only for its certificate
	e := newEnv(t, r.srv)
	sink := newSMTPSink(t, r.srv.TLS.Certificates[0], false)
	e.cfg.Email = &respond.EmailConfig{Addr: sink.Addr(), From: "whispersync@example.com", To: []string{"oncall@example.com", "sec@example.com"}, User: "alerts", PasswordSecret: "smtp-password"}
	e.secrets["smtp-password"] = smtpPassword

	if err := respond.Deliver(context.Background(), e.notifier(t, "email"), digest(), e.cfg.Retry, e.log); err != nil {
		t.Fatalf("deliver: %v", err)
	}
	mails := sink.Mails()
	if len(mails) != 1 {
		t.Fatalf("mails: got %d, want 1", len(mails))
	}
	m := mails[0]
	if !m.TLS {
		t.Error("STARTTLS: the session was not upgraded")
	}
	if m.User != "alerts" || m.Pass != smtpPassword {
		t.Errorf("auth: got %q/%q, want alerts and the stored password", m.User, m.Pass)
	}
	if m.From != "whispersync@example.com" || strings.Join(m.To, ",") != "oncall@example.com,sec@example.com" {
		t.Errorf("envelope: got %s → %v", m.From, m.To)
	}
	if got, want := headerOf(m.Data, "Subject"), "[WhisperSync] 1 finding, 1 high"; got != want {
		t.Errorf("subject: got %q, want %q", got, want)
	}
	for _, want := range []string{"principal:  source:203.0.113.9", "count:      3", "first seen: 2026-03-02T08:30:00Z", "last seen:  2026-03-02T09:29:00Z", "evidence:   last_seq=42, source=203.0.113.9:51234"} {
		if !strings.Contains(m.Data, want) {
			t.Errorf("body: got\n%s\nwant a line %q", m.Data, want)
		}
	}
	e.assertNoSecrets(t, nil)
}

func TestEmailRefusesRelayWithoutSTARTTLS(t *testing.T) {
	r := newReceiver(t)
	e := newEnv(t, r.srv)
	sink := newSMTPSink(t, r.srv.TLS.Certificates[0], true)
	e.cfg.Email = &respond.EmailConfig{Addr: sink.Addr(), From: "whispersync@example.com", To: []string{"oncall@example.com"}, User: "alerts", PasswordSecret: "smtp-password"}
	e.secrets["smtp-password"] = smtpPassword

	err := respond.Deliver(context.Background(), e.notifier(t, "email"), digest(), e.cfg.Retry, e.log)
	if err == nil || !respond.IsPermanent(err) || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("deliver: got %v, want a permanent STARTTLS error", err)
	}
	if n := len(sink.Mails()); n != 0 {
		t.Errorf("mails: got %d, want 0", n)
	}
	e.assertNoSecrets(t, err)
}

func TestWebhookSignature(t *testing.T) {
	r := newReceiver(t)
	e := newEnv(t, r.srv)
	e.cfg.Webhook = &respond.WebhookConfig{URL: r.srv.URL + "/hook", KeySecret: "hook-signing-key"}
	e.secrets["hook-signing-key"] = hookKey

	if err := respond.Deliver(context.Background(), e.notifier(t, "webhook"), digest(), e.cfg.Retry, e.log); err != nil {
		t.Fatalf("deliver: %v", err)
	}
	got := r.Received()
	if len(got) != 1 {
		t.Fatalf("requests: got %d, want 1", len(got))
	}
	req := got[0]
	now := time.Now()
	if err := respond.VerifySignature([]byte(hookKey), req.Header, req.Body, now); err != nil {
		t.Fatalf("verify: %v", err)
	}
	var d respond.Digest
	if err := json.Unmarshal(req.Body, &d); err != nil || len(d.Findings) != 1 || d.Findings[0].Principal != "source:203.0.113.9" {
		t.Errorf("body: got %s (%v), want the digest", req.Body, err)
	}

	tampered := bytes.Replace(req.Body, []byte("203.0.113.9"), []byte("203.0.113.8"), 1)
	otherTime := req.Header.Clone()
	otherTime.Set(respond.HeaderTimestamp, fmt.Sprint(now.Unix()-1))
	for _, tc := range []struct {
		name   string
		key    string
		header http.Header
		body   []byte
		now    time.Time
		want   error
	}{
		{"tampered body", hookKey, req.Header, tampered, now, respond.ErrBadSignature},
		{"wrong key", "another key", req.Header, req.Body, now, respond.ErrBadSignature},
		{"changed timestamp", hookKey, otherTime, req.Body, now, respond.ErrBadSignature},
		{"replay after six minutes", hookKey, req.Header, req.Body, now.Add(6 * time.Minute), respond.ErrStale},
		{"timestamp from the future", hookKey, req.Header, req.Body, now.Add(-6 * time.Minute), respond.ErrStale},
		{"no headers", hookKey, http.Header{}, req.Body, now, respond.ErrBadSignature},
	} {
		if err := respond.VerifySignature([]byte(tc.key), tc.header, tc.body, tc.now); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
}

// TestSignKnownAnswer pins the scheme receivers implement.
func TestSignKnownAnswer(t *testing.T) {
	// HMAC-SHA256(key "key", "1700000000.{}"), computed with openssl dgst.
	const want = "v1=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae"
	if got := respond.Sign([]byte("key"), 1700000000, []byte("{}")); got != want {
		t.Errorf("Sign: got %s, want %s", got, want)
	}
}

func TestDeliverRetriesAfterServerError(t *testing.T) {
	r := newReceiver(t, http.StatusInternalServerError, http.StatusServiceUnavailable)
	e := newEnv(t, r.srv)
	e.cfg.Webhook = &respond.WebhookConfig{URL: r.srv.URL + "/hook", KeySecret: "hook-signing-key"}
	e.secrets["hook-signing-key"] = hookKey

	if err := respond.Deliver(context.Background(), e.notifier(t, "webhook"), digest(), e.cfg.Retry, e.log); err != nil {
		t.Fatalf("deliver: %v", err)
	}
	got := r.Received()
	if len(got) != 3 {
		t.Fatalf("requests: got %d, want 3 (two 5xx, then 200)", len(got))
	}
	if err := respond.VerifySignature([]byte(hookKey), got[2].Header, got[2].Body, time.Now()); err != nil {
		t.Errorf("verify the retried delivery: %v", err)
	}
	e.assertNoSecrets(t, nil)
}

func TestDeliverFailures(t *testing.T) {
	for _, tc := range []struct {
		name      string
		statuses  []int
		allow     []string
		attempts  int
		permanent bool
	}{
		{"5xx every time", []int{500, 500, 500, 500}, nil, 3, false},
		{"4xx is not retried", []int{404}, nil, 1, true},
		{"host not in the allowlist", nil, []string{"hooks.slack.com"}, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newReceiver(t, tc.statuses...)
			e := newEnv(t, r.srv)
			if tc.allow != nil {
				e.cfg.AllowHosts = tc.allow
			}
			e.cfg.Slack = &respond.SlackConfig{URLSecret: "slack-webhook"}
			e.secrets["slack-webhook"] = r.srv.URL + slackPath

			err := respond.Deliver(context.Background(), e.notifier(t, "slack"), digest(), e.cfg.Retry, e.log)
			if err == nil {
				t.Fatal("deliver: got nil, want an error")
			}
			if got := len(r.Received()); got != tc.attempts {
				t.Errorf("requests: got %d, want %d", got, tc.attempts)
			}
			if respond.IsPermanent(err) != tc.permanent {
				t.Errorf("permanent: got %t, want %t (%v)", respond.IsPermanent(err), tc.permanent, err)
			}
			if tc.allow != nil && !errors.Is(err, safehttp.ErrRefused) {
				t.Errorf("error: got %v, want safehttp.ErrRefused", err)
			}
			e.assertNoSecrets(t, err)
		})
	}
}

func TestHTTPChannelsNeedAnAllowlist(t *testing.T) {
	r := newReceiver(t)
	e := newEnv(t, r.srv)
	e.cfg.AllowHosts = nil
	e.cfg.Slack = &respond.SlackConfig{URLSecret: "slack-webhook"}
	e.secrets["slack-webhook"] = r.srv.URL + slackPath
	err := respond.Deliver(context.Background(), e.notifier(t, "slack"), digest(), e.cfg.Retry, e.log)
	if err == nil || !respond.IsPermanent(err) || len(r.Received()) != 0 {
		t.Errorf("deliver without allowlist: got %v and %d requests, want a permanent error and none", err, len(r.Received()))
	}
}
