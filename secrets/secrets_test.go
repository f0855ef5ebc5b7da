package secrets_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/mock"
	"github.com/whispersync/whispersync/seal"
	"github.com/whispersync/whispersync/secrets"
)

// planted is a value no output may contain.
const planted = "sk-PLANTED-9f3c1a7e-do-not-leak"

type recordingAuditor struct {
	mu     sync.Mutex
	events []whispersync.AuditEvent
	fail   error
}

func (a *recordingAuditor) Append(_ context.Context, events ...whispersync.AuditEvent) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.fail != nil {
		return a.fail
	}
	a.events = append(a.events, events...)
	return nil
}

type fixture struct {
	store    *secrets.Store
	sealer   *seal.Sealer
	tables   *mock.Tables
	auditor  *recordingAuditor
	provider *secrets.LocalProvider
	logs     *bytes.Buffer
	now      time.Time
	mu       sync.Mutex
}

func (f *fixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	kr, _, err := seal.OpenKeyFile(filepath.Join(t.TempDir(), "keyring.json"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = kr.Close() })
	f := &fixture{tables: mock.NewTables(), auditor: &recordingAuditor{}, provider: secrets.NewLocalProvider(), logs: new(bytes.Buffer), now: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}
	logger := slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f.sealer = seal.NewSealer(kr, f.tables, seal.SealerOptions{Logger: logger})
	f.store, err = secrets.New(secrets.Options{
		Tables: f.tables, Sealer: f.sealer, Auditor: f.auditor, Now: f.clock, Logger: logger,
		Providers: map[string]secrets.Provider{"local": f.provider},
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

var operator = secrets.Actor{Principal: "operator:tester", Source: "test"}

func TestSetGetStages(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	for i, v := range []string{"one", "two", "three"} {
		sec, err := f.store.Set(ctx, operator, "smtp-password", []byte(v), secrets.SetOptions{})
		if err != nil {
			t.Fatalf("Set %s: %v", v, err)
		}
		if sec.Current() != i+1 {
			t.Errorf("Set %s: current version got %d, want %d", v, sec.Current(), i+1)
		}
	}
	for stage, want := range map[string]string{"": "three", secrets.StageCurrent: "three", secrets.StagePrevious: "two"} {
		got, _, err := f.store.Get(ctx, operator, "smtp-password", stage)
		if err != nil || string(got) != want {
			t.Errorf("Get at stage %q: got %q, %v, want %q", stage, got, err, want)
		}
	}
	versions, err := f.tables.Query(ctx, whispersync.Query{Table: secrets.VersionsTable, Owner: secrets.SystemOwner})
	if err != nil || len(versions) != 2 {
		t.Errorf("stored versions: got %d, %v, want 2 (current and previous)", len(versions), err)
	}
	sec, err := f.store.Describe(ctx, operator, "smtp-password")
	if err != nil {
		t.Fatal(err)
	}
	if sec.Type != secrets.TypeNotify || sec.RotationPeriod != secrets.DefaultRotation {
		t.Errorf("defaults: got type %q, period %s, want notify and 720h", sec.Type, sec.RotationPeriod)
	}
	if _, _, err := f.store.Get(ctx, operator, "smtp-password", "AWSPENDING"); whispersync.ErrorCode(err) != whispersync.EINVALID {
		t.Errorf("Get at an unknown stage: got %v, want EINVALID", err)
	}
}

func TestRotateHooks(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	mustSet(t, f, "audit-salt", secrets.SetOptions{Type: secrets.TypeGenerate})
	mustSet(t, f, "elevenlabs-api-key", secrets.SetOptions{Type: secrets.TypeProvider, Provider: "local"})
	mustSet(t, f, "github-token", secrets.SetOptions{Type: secrets.TypeNotify, Contact: "ops@example.org"})

	if _, err := f.store.Rotate(ctx, operator, "audit-salt", nil); err != nil {
		t.Fatalf("Rotate generate: %v", err)
	}
	got, _, err := f.store.Get(ctx, operator, "audit-salt", "")
	if err != nil || len(got) != 43 || string(got) == planted {
		t.Errorf("generated value: got %d bytes, %v, want 43 new bytes", len(got), err)
	}

	if _, err := f.store.Rotate(ctx, operator, "elevenlabs-api-key", nil); err != nil {
		t.Fatalf("Rotate provider: %v", err)
	}
	got, _, _ = f.store.Get(ctx, operator, "elevenlabs-api-key", "")
	if !strings.HasPrefix(string(got), "local-") || fmt.Sprint(f.provider.Rotated()) != "[elevenlabs-api-key]" {
		t.Errorf("provider rotation: got value prefix %q and calls %v, want local- and one call", got[:min(6, len(got))], f.provider.Rotated())
	}

	for range 2 {
		_, err := f.store.Rotate(ctx, operator, "github-token", nil)
		if whispersync.ErrorCode(err) != whispersync.EINVALID || !strings.Contains(err.Error(), "--from-file") {
			t.Errorf("Rotate notify without a value: got %v, want EINVALID naming --from-file", err)
		}
	}
	findings, err := f.store.Findings(ctx)
	if err != nil || len(findings) != 1 || findings[0].Resource != "secret:github-token" {
		t.Errorf("findings: got %+v, %v, want one for secret:github-token", findings, err)
	}
	if sec, err := f.store.Rotate(ctx, operator, "github-token", []byte("new-token")); err != nil || sec.Current() != 2 {
		t.Errorf("manual Rotate: got %+v, %v, want version 2", sec, err)
	}
}

func TestOverdueAndCheckRotations(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	mustSet(t, f, "generated", secrets.SetOptions{Type: secrets.TypeGenerate})
	mustSet(t, f, "slack-webhook-url", secrets.SetOptions{})
	mustSet(t, f, "weekly", secrets.SetOptions{Type: secrets.TypeGenerate, RotationPeriod: 7 * 24 * time.Hour})

	f.advance(8 * 24 * time.Hour)
	list, err := f.store.List(ctx, operator)
	if err != nil {
		t.Fatal(err)
	}
	overdue := map[string]bool{}
	for _, s := range list {
		overdue[s.Name] = s.Overdue
	}
	if !overdue["weekly"] || overdue["generated"] || f.store.OverdueRotations() != 1 {
		t.Errorf("overdue after 8 days: got %v and count %d, want only weekly", overdue, f.store.OverdueRotations())
	}

	f.advance(30 * 24 * time.Hour)
	res, err := f.store.CheckRotations(ctx, operator)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(res.Rotated) != "[generated weekly]" || fmt.Sprint(res.Notified) != "[slack-webhook-url]" || res.Overdue != 1 {
		t.Errorf("CheckRotations: got %+v, want generated and weekly rotated, slack-webhook-url notified, 1 overdue", res)
	}
	if f.store.OverdueRotations() != 1 {
		t.Errorf("OverdueRotations: got %d, want 1", f.store.OverdueRotations())
	}
}

func TestValidation(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	tests := []struct {
		name  string
		value []byte
		opts  secrets.SetOptions
		code  string
	}{
		{"", []byte("v"), secrets.SetOptions{}, whispersync.EINVALID},
		{"Upper", []byte("v"), secrets.SetOptions{}, whispersync.EINVALID},
		{"-lead", []byte("v"), secrets.SetOptions{}, whispersync.EINVALID},
		{"has/slash", []byte("v"), secrets.SetOptions{}, whispersync.EINVALID},
		{strings.Repeat("a", 129), []byte("v"), secrets.SetOptions{}, whispersync.EINVALID},
		{"ok", nil, secrets.SetOptions{}, whispersync.EINVALID},
		{"ok", make([]byte, secrets.MaxValueSize+1), secrets.SetOptions{}, whispersync.ETOOLARGE},
		{"ok", []byte("v"), secrets.SetOptions{Type: "lambda"}, whispersync.EINVALID},
		{"ok", []byte("v"), secrets.SetOptions{Type: secrets.TypeProvider, Provider: "nowhere"}, whispersync.EINVALID},
		{"ok", []byte("v"), secrets.SetOptions{Type: secrets.TypeGenerate, Provider: "local"}, whispersync.EINVALID},
		{"ok", []byte("v"), secrets.SetOptions{RotationPeriod: -time.Hour}, whispersync.EINVALID},
	}
	for _, tt := range tests {
		_, err := f.store.Set(ctx, operator, tt.name, tt.value, tt.opts)
		if got := whispersync.ErrorCode(err); got != tt.code {
			t.Errorf("Set(%.20q, %d bytes, %+v): got %v, want code %s", tt.name, len(tt.value), tt.opts, err, tt.code)
		}
	}
	if _, _, err := f.store.Get(ctx, operator, "missing", ""); !whispersync.IsNotFound(err) || !strings.Contains(err.Error(), "secrets set missing") {
		t.Errorf("Get of a missing secret: got %v, want ENOTFOUND with the fix", err)
	}
}

func TestDelete(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	mustSet(t, f, "oidc-client-secret", secrets.SetOptions{})
	mustSet(t, f, "oidc-client-secret", secrets.SetOptions{})
	if err := f.store.Delete(ctx, operator, "oidc-client-secret"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, _, err := f.store.Get(ctx, operator, "oidc-client-secret", ""); !whispersync.IsNotFound(err) {
		t.Errorf("Get after Delete: got %v, want ENOTFOUND", err)
	}
	for _, table := range []string{secrets.Table, secrets.VersionsTable} {
		if items, _ := f.tables.Query(ctx, whispersync.Query{Table: table, Owner: secrets.SystemOwner}); len(items) != 0 {
			t.Errorf("%s after Delete: got %d items, want none", table, len(items))
		}
	}
}

func TestAuditFailsClosed(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.auditor.fail = errors.New("disk full")
	_, err := f.store.Set(ctx, operator, "smtp-password", []byte(planted), secrets.SetOptions{})
	if whispersync.ErrorCode(err) != whispersync.EUNAVAILABLE {
		t.Errorf("Set without an audit trail: got %v, want EUNAVAILABLE", err)
	}
	if items, _ := f.tables.Query(ctx, whispersync.Query{Table: secrets.Table, Owner: secrets.SystemOwner}); len(items) != 0 {
		t.Errorf("secrets stored without an audit trail: got %d, want none", len(items))
	}
}

// TestNoValueLeaks plants a value and scans every output of the store:
// logs, audit events, errors, and every stored byte.
func TestNoValueLeaks(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	var outputs []string
	_, err := f.store.Set(ctx, operator, "smtp-password", []byte(planted), secrets.SetOptions{Contact: "ops@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.store.Rotate(ctx, operator, "smtp-password", nil)
	outputs = append(outputs, fmt.Sprint(err))
	_, err = f.store.Set(ctx, operator, "smtp-password", []byte(planted+planted), secrets.SetOptions{Type: "bogus"})
	outputs = append(outputs, fmt.Sprint(err))
	list, err := f.store.List(ctx, operator)
	if err != nil {
		t.Fatal(err)
	}
	listJSON, _ := json.Marshal(list)
	auditJSON, _ := json.Marshal(f.auditor.events)
	outputs = append(outputs, f.logs.String(), string(listJSON), string(auditJSON))
	for _, table := range []string{secrets.Table, secrets.VersionsTable, secrets.FindingsTable, seal.DataKeysTable} {
		items, _ := f.tables.Query(ctx, whispersync.Query{Table: table, Owner: secrets.SystemOwner})
		for _, it := range items {
			outputs = append(outputs, it.Key, fmt.Sprint(it.Attrs), string(it.Data))
		}
	}
	for i, out := range outputs {
		if strings.Contains(out, planted) {
			t.Errorf("output %d contains the planted value: %.200s", i, out)
		}
	}
	if len(f.auditor.events) < 3 {
		t.Errorf("audit events: got %d, want one per operation", len(f.auditor.events))
	}
}

func mustSet(t *testing.T, f *fixture, name string, opts secrets.SetOptions) {
	t.Helper()
	if _, err := f.store.Set(context.Background(), operator, name, []byte(planted), opts); err != nil {
		t.Fatalf("Set %s: %v", name, err)
	}
}

func FuzzValidateName(f *testing.F) {
	for _, s := range []string{"elevenlabs-api-key", "a", "", "A", "a/b", "a#1", "-x", "x.y_z-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		err := secrets.ValidateName(name)
		if err != nil && len(name) >= 20 && strings.Contains(err.Error(), name) {
			t.Errorf("ValidateName(%q): the error repeats the name: %v", name, err)
		}
		if err == nil && strings.ContainsAny(name, "#/ \n") {
			t.Errorf("ValidateName(%q): accepted a name with a separator", name)
		}
	})
}
