package secrets_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/seal"
	"github.com/whispersync/whispersync/secrets"
)

// TestDamagedMetadata checks the errors of metadata that does not open or
// does not decode. Both name the secret, and a decoding failure reveals
// nothing of the stored content.
func TestDamagedMetadata(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	mustSet(t, f, "alpha", secrets.SetOptions{})
	mustSet(t, f, "beta", secrets.SetOptions{})
	alpha, err := f.tables.GetItem(ctx, secrets.Table, secrets.SystemOwner, "alpha")
	if err != nil {
		t.Fatal(err)
	}
	beta, err := f.tables.GetItem(ctx, secrets.Table, secrets.SystemOwner, "beta")
	if err != nil {
		t.Fatal(err)
	}

	// beta's metadata under alpha's name belongs to another record.
	alpha.Data = beta.Data
	if err := f.tables.PutItem(ctx, secrets.Table, alpha, whispersync.Always); err != nil {
		t.Fatal(err)
	}
	_, err = f.store.Describe(ctx, operator, "alpha")
	if !errors.Is(err, seal.ErrDecrypt) {
		t.Errorf("metadata of another secret: got %v, want an error wrapping ErrDecrypt", err)
	}
	if err == nil || !strings.HasPrefix(err.Error(), "secrets: open alpha: ") {
		t.Errorf("metadata of another secret: got %v, want an error starting %q", err, "secrets: open alpha: ")
	}

	alpha.Data, err = f.sealer.Seal(ctx, seal.Identity{Owner: secrets.SystemOwner, Kind: secrets.Table, ID: "alpha"}, whispersync.KeyClassData, []byte(`{"name": `+planted))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.tables.PutItem(ctx, secrets.Table, alpha, whispersync.Always); err != nil {
		t.Fatal(err)
	}
	_, err = f.store.Describe(ctx, operator, "alpha")
	if err == nil || err.Error() != "secrets: decode alpha: invalid metadata" {
		t.Errorf("metadata that is not JSON: got %v, want secrets: decode alpha: invalid metadata", err)
	}
}
