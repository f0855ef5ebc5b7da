package app_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/audit"
)

// outcomes returns the outcomes the audit log holds for action, in order.
func outcomes(t *testing.T, dataDir, action string) []string {
	t.Helper()
	var got []string
	err := audit.Read(filepath.Join(dataDir, "audit"), func(e audit.Entry) error {
		if e.Action == action {
			got = append(got, e.Outcome)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestTokenNameRejectsControlCharacters(t *testing.T) {
	ctx := context.Background()
	a := openApp(t, newDirs(t))
	user, _, err := a.User(ctx, "alice", true)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"\x1b[31mred", "two\nlines", "bell\a"} {
		if _, _, err := a.CreateToken(ctx, operator, user, name, []string{"memos:read"}, time.Hour); whispersync.ErrorCode(err) != whispersync.EINVALID {
			t.Errorf("token name %q: got %v, want invalid", name, err)
		}
	}
	_, tok, err := a.CreateToken(ctx, operator, user, "laptop", []string{"memos:read", "memos:read"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(tok.Scopes) != 1 {
		t.Errorf("scopes of a token asked with a repeated scope: got %v, want one", tok.Scopes)
	}
}

func TestTokenListIsAudited(t *testing.T) {
	ctx := context.Background()
	d := newDirs(t)
	a := openApp(t, d)
	user, _, err := a.User(ctx, "alice", true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.ListTokens(ctx, operator, user); err != nil {
		t.Fatal(err)
	}
	if got := outcomes(t, d.data, "token.list"); len(got) != 1 || got[0] != whispersync.OutcomeSuccess {
		t.Errorf("token.list audit entries: got %v, want one success", got)
	}
}

func TestFailedBackupIsAuditedAsFailure(t *testing.T) {
	env := newOpsEnv(t)
	// A file where the backup folder should be makes every backup fail.
	if err := os.WriteFile(env.cfg.Backup.Dir, []byte("not a folder"), 0o600); err != nil {
		t.Fatal(err)
	}
	a := env.open(t, env.cfg.DataDir)
	if _, err := a.CreateBackup(t.Context(), operator, nil); err == nil {
		t.Fatal("backup into a file: got nil error")
	}
	got := outcomes(t, env.cfg.DataDir, "backup.create")
	if len(got) == 0 || got[len(got)-1] != whispersync.OutcomeFailure {
		t.Errorf("backup.create audit entries: got %v, want the last to be a failure", got)
	}
}
