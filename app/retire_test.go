package app_test

import (
	"path/filepath"
	"testing"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/app"
	"github.com/whispersync/whispersync/audit"
	"github.com/whispersync/whispersync/pipeline"
)

func TestRefusedRetirementIsAuditedAsDenied(t *testing.T) {
	dir := t.TempDir()
	a, err := app.Open(t.Context(), app.Config{DataDir: filepath.Join(dir, "data"), KeyFile: filepath.Join(dir, "config", "keyring.json")})
	if err != nil {
		t.Fatal(err)
	}
	actor := pipeline.Actor{Principal: "operator:test", Source: "cli"}
	if err := a.RetireKEK(t.Context(), actor, 9); !whispersync.IsNotFound(err) {
		t.Errorf("retire a missing version: got %v, want not found", err)
	}
	if err := a.RetireKEK(t.Context(), actor, 1); whispersync.ErrorCode(err) != whispersync.EINVALID {
		t.Errorf("retire the current version: got %v, want invalid", err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}

	outcomes := map[string]string{}
	err = audit.Read(filepath.Join(dir, "data", "audit"), func(e audit.Entry) error {
		if e.Action == "key.retire" {
			outcomes[e.Resource] = e.Outcome
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, resource := range []string{"kek:v9", "kek:v1"} {
		if outcomes[resource] != whispersync.OutcomeDenied {
			t.Errorf("audit of refused retirement of %s: got %q, want denied", resource, outcomes[resource])
		}
	}
}
