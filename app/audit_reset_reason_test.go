package app_test

import (
	"path/filepath"
	"testing"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/app"
)

// TestResetReasonInvisibleCharacters checks that audit reset rejects a
// reason with a character that breaks or hides text where the entry is
// shown, though it is not a control character.
func TestResetReasonInvisibleCharacters(t *testing.T) {
	base := t.TempDir()
	cfg := app.Config{DataDir: filepath.Join(base, "data"), KeyFile: filepath.Join(base, "config", "keyring.json")}
	for _, reason := range []string{
		"INC-142\u2028audit.reset by root", // line separator
		"INC-142\u2029",                    // paragraph separator
		"INC-\u200b142",                    // zero-width space
		"INC-142\ufeff",                    // byte order mark
		"INC-142\U000E0041",                // tag character
	} {
		_, err := app.ResetAudit(t.Context(), cfg, operator, reason)
		if whispersync.ErrorCode(err) != whispersync.EINVALID {
			t.Errorf("reset with reason %q: got %v, want EINVALID", reason, err)
		}
	}
	_, err := app.ResetAudit(t.Context(), cfg, operator, "INC-142: disque perdu, « audit » introuvable")
	if whispersync.ErrorCode(err) == whispersync.EINVALID {
		t.Errorf("reset with a printable reason: got %v, want it accepted", err)
	}
}
