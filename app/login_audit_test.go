package app_test

import (
	"errors"
	"expvar"
	"path/filepath"
	"testing"

	"github.com/whispersync/whispersync/app"
	"github.com/whispersync/whispersync/audit"
	"github.com/whispersync/whispersync/auth"
	"github.com/whispersync/whispersync/pipeline"
)

// A failed login names the account it was against, so that guesses at one
// account from many addresses add up to one brute-force finding.
func TestFailedLoginNamesTheAccount(t *testing.T) {
	dir := t.TempDir()
	a, err := app.Open(t.Context(), app.Config{DataDir: filepath.Join(dir, "data"), KeyFile: filepath.Join(dir, "config", "keyring.json")})
	if err != nil {
		t.Fatal(err)
	}
	operator := pipeline.Actor{Principal: "operator:test", Source: "cli"}
	user, _, err := a.User(t.Context(), "erin", true)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.SetPassword(t.Context(), operator, user, "a long and correct passphrase"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Login(t.Context(), pipeline.Actor{Source: "192.0.2.10:5000"}, "erin", "wrong guess"); err == nil {
		t.Fatal("login with a wrong password succeeded")
	}
	if _, _, err := a.Login(t.Context(), pipeline.Actor{Source: "192.0.2.11:5000"}, "nobody", "wrong guess"); err == nil {
		t.Fatal("login of an unknown user succeeded")
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}

	var resources []string
	err = audit.Read(filepath.Join(dir, "data", "audit"), func(e audit.Entry) error {
		if e.Action == "auth.password" {
			resources = append(resources, e.Resource)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(resources) != 2 || resources[0] != "user:"+user.ID || resources[1] != "user" {
		t.Errorf("failed login resources: got %v, want [user:%s user]", resources, user.ID)
	}
}

// TestLockoutRefusalIsCounted checks that an attempt refused because an
// earlier failure's wait still lasts is counted as a failed attempt.
func TestLockoutRefusalIsCounted(t *testing.T) {
	dir := t.TempDir()
	a, err := app.Open(t.Context(), app.Config{DataDir: filepath.Join(dir, "data"), KeyFile: filepath.Join(dir, "config", "keyring.json")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := a.Close(); err != nil {
			t.Error(err)
		}
	})
	operator := pipeline.Actor{Principal: "operator:test", Source: "cli"}
	user, _, err := a.User(t.Context(), "frank", true)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.SetPassword(t.Context(), operator, user, "a long and correct passphrase"); err != nil {
		t.Fatal(err)
	}
	counted := func() int64 {
		if v, ok := auth.Failures.Get("lockout").(*expvar.Int); ok {
			return v.Value()
		}
		return 0
	}

	guesser := pipeline.Actor{Source: "192.0.2.20:5000"}
	before := counted()
	rejected := false
	for range 10 {
		_, _, err := a.Login(t.Context(), guesser, "frank", "wrong guess")
		var retry *auth.RetryError
		if errors.As(err, &retry) {
			rejected = true
			break
		}
	}
	if !rejected {
		t.Fatal("10 quick wrong guesses: none was refused with a wait")
	}
	if got := counted() - before; got < 1 {
		t.Errorf("lockout refusals counted: got %d, want at least 1", got)
	}
}
