package secrets_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/whispersync/whispersync/secrets"
)

func TestFindingSink(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	mustSet(t, f, "github-token", secrets.SetOptions{Contact: "ops@example.org", RotationPeriod: 24 * time.Hour})
	var got []secrets.Finding
	f.store.SetFindingSink(func(_ context.Context, sf secrets.Finding) error {
		got = append(got, sf)
		return nil
	})

	// Rotate without a value and the schedule both hand the finding on,
	// also for a version already recorded.
	if _, err := f.store.Rotate(ctx, operator, "github-token", nil); !errors.Is(err, secrets.ErrOwnerRotates) || !strings.Contains(err.Error(), "was not rotated") {
		t.Fatalf("Rotate: got %v, want ErrOwnerRotates saying the secret was not rotated", err)
	}
	f.advance(25 * time.Hour)
	if _, err := f.store.CheckRotations(ctx, operator); err != nil {
		t.Fatal(err)
	}
	want := secrets.Finding{Secret: "github-token", Version: 1, Contact: "ops@example.org", Resource: "secret:github-token", Severity: "medium", Due: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)}
	if len(got) != 2 {
		t.Fatalf("sink: got %d findings, want 2", len(got))
	}
	for _, sf := range got {
		if sf.Secret != want.Secret || sf.Version != want.Version || sf.Contact != want.Contact || sf.Resource != want.Resource || sf.Severity != want.Severity || !sf.Due.Equal(want.Due) {
			t.Errorf("sink: got %+v, want %+v", sf, want)
		}
		if strings.Contains(fmt.Sprint(sf), planted) {
			t.Errorf("sink: the finding holds the value: %+v", sf)
		}
	}

	// A failing sink fails the rotation, so the finding is not lost
	// silently.
	f.store.SetFindingSink(func(context.Context, secrets.Finding) error { return errors.New("findings store down") })
	if _, err := f.store.Rotate(ctx, operator, "github-token", nil); err == nil || errors.Is(err, secrets.ErrOwnerRotates) {
		t.Errorf("Rotate with a failing sink: got %v, want the sink's error", err)
	}
	res, err := f.store.CheckRotations(ctx, operator)
	if err != nil || len(res.Failed) != 1 {
		t.Errorf("CheckRotations with a failing sink: got %+v, %v, want github-token failed", res, err)
	}
	f.store.SetFindingSink(nil)
	if _, err := f.store.Rotate(ctx, operator, "github-token", nil); !errors.Is(err, secrets.ErrOwnerRotates) {
		t.Errorf("Rotate without a sink: got %v, want ErrOwnerRotates", err)
	}
}
