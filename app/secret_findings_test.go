package app_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/whispersync/whispersync/app"
	"github.com/whispersync/whispersync/detect"
	"github.com/whispersync/whispersync/secrets"
)

// TestSecretRotationDueReachesTheNotifiers checks that a notify secret due
// for rotation becomes a finding that the findings store lists and Respond
// publishes, once per version, whether a person asked for the rotation or
// the schedule found it due.
func TestSecretRotationDueReachesTheNotifiers(t *testing.T) {
	ctx := t.Context()
	h := newHookReceiver(t)
	a, _ := respondApp(t, h)
	op := secrets.Actor{Principal: "operator:test", Source: "cli"}
	if _, err := a.Secrets.Set(ctx, op, "slack-webhook", []byte("https://hooks.slack.com/services/T1/B1/x"), secrets.SetOptions{Contact: "ops@example.org"}); err != nil {
		t.Fatal(err)
	}

	_, err := a.Secrets.Rotate(ctx, op, "slack-webhook", nil)
	if !errors.Is(err, secrets.ErrOwnerRotates) {
		t.Fatalf("Rotate of a notify secret: got %v, want ErrOwnerRotates", err)
	}
	id := detect.FindingID(app.TypeSecretRotationDue, "secret:slack-webhook")
	f, err := a.Findings().Get(ctx, id)
	if err != nil || f.Count != 1 || f.Severity != detect.Medium || f.Evidence["version"] != "1" || f.Evidence["contact"] != "ops@example.org" {
		t.Fatalf("finding after Rotate: got %+v, %v, want count 1 for version 1", f, err)
	}

	res, err := a.Respond(ctx, time.Now().UTC())
	if err != nil {
		t.Fatal(err)
	}
	ds, bad := h.take()
	if bad != 0 || !slices.Contains(digestIDs(ds), app.TypeSecretRotationDue+" secret:slack-webhook") || !slices.Contains(res.Published, id) {
		t.Fatalf("digest: got %v (%d bad), published %v, want the secret's finding", digestIDs(ds), bad, res.Published)
	}

	// The schedule finding the same version due again publishes nothing new.
	if _, err := a.Secrets.Rotate(ctx, op, "slack-webhook", nil); !errors.Is(err, secrets.ErrOwnerRotates) {
		t.Fatal(err)
	}
	if f, _ := a.Findings().Get(ctx, id); f.Count != 1 {
		t.Errorf("the same version due again: count %d, want 1", f.Count)
	}

	// A new version that falls due counts again, through the schedule.
	if _, err := a.Secrets.Set(ctx, op, "slack-webhook", []byte("https://hooks.slack.com/services/T1/B1/y"), secrets.SetOptions{RotationPeriod: time.Nanosecond}); err != nil {
		t.Fatal(err)
	}
	check, err := a.Secrets.CheckRotations(ctx, op)
	if err != nil || !slices.Contains(check.Notified, "slack-webhook") {
		t.Fatalf("CheckRotations: got %+v, %v, want slack-webhook notified", check, err)
	}
	f, err = a.Findings().Get(ctx, id)
	if err != nil || f.Count != 2 {
		t.Errorf("a new version due: got count %d, %v, want 2", f.Count, err)
	}
	if f.Evidence["version"] != "2" {
		t.Errorf("a new version due: got version %q in the evidence, want 2", f.Evidence["version"])
	}
}
