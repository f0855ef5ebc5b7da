package app_test

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/app"
	"github.com/whispersync/whispersync/auth"
	"github.com/whispersync/whispersync/pipeline"
)

// slowLockout makes every wait after the free attempts an hour long, so
// the tests below count attempts without depending on how fast they run.
var slowLockout = auth.Lockout{FreeAttempts: 3, BaseDelay: time.Hour, MaxDelay: time.Hour, LockAfter: 10, LockFor: time.Hour}

func openAttackApp(t *testing.T) (*app.App, *whispersync.User) {
	t.Helper()
	saved := app.Lockout
	app.Lockout = slowLockout
	t.Cleanup(func() { app.Lockout = saved })
	dir := t.TempDir()
	a, err := app.Open(t.Context(), app.Config{DataDir: filepath.Join(dir, "data"), KeyFile: filepath.Join(dir, "config", "keyring.json")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	user, _, err := a.User(t.Context(), "erin", true)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.SetPassword(t.Context(), pipeline.Actor{Principal: "operator:test", Source: "cli"}, user, "a long and correct passphrase"); err != nil {
		t.Fatal(err)
	}
	return a, user
}

// race starts n attempts at once and counts their results by error code.
func race(n int, attempt func(i int) error) map[string]int {
	var (
		mu    sync.Mutex
		wg    sync.WaitGroup
		codes = map[string]int{}
	)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			code := whispersync.ErrorCode(attempt(i))
			mu.Lock()
			codes[code]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	return codes
}

// Concurrent wrong passwords against one account, each from its own
// address, get only the free attempts checked, as sequential guesses do.
// Every other attempt must wait.
func TestLoginConcurrentGuessesLockout(t *testing.T) {
	a, _ := openAttackApp(t)
	const n = 16
	codes := race(n, func(i int) error {
		_, _, err := a.Login(t.Context(), pipeline.Actor{Source: fmt.Sprintf("192.0.2.%d:4000", i+1)}, "erin", fmt.Sprintf("wrong guess %02d", i))
		return err
	})
	if codes[whispersync.EUNAUTHORIZED] != slowLockout.FreeAttempts || codes[auth.ERATELIMITED] != n-slowLockout.FreeAttempts {
		t.Errorf("results of %d concurrent wrong passwords: got %v, want %d %s and %d %s",
			n, codes, slowLockout.FreeAttempts, whispersync.EUNAUTHORIZED, n-slowLockout.FreeAttempts, auth.ERATELIMITED)
	}
}

// A stolen session cannot guess the current password faster by changing
// the password from many requests at once.
func TestPasswordChangeConcurrentGuessesLockout(t *testing.T) {
	a, user := openAttackApp(t)
	const n = 16
	codes := race(n, func(i int) error {
		return a.ChangePassword(t.Context(), pipeline.Actor{Principal: "session:s_test", Source: fmt.Sprintf("192.0.2.%d:4000", i+1)}, user, fmt.Sprintf("wrong guess %02d", i), "another long passphrase")
	})
	if codes[whispersync.EUNAUTHORIZED] != slowLockout.FreeAttempts || codes[auth.ERATELIMITED] != n-slowLockout.FreeAttempts {
		t.Errorf("results of %d concurrent wrong current passwords: got %v, want %d %s and %d %s",
			n, codes, slowLockout.FreeAttempts, whispersync.EUNAUTHORIZED, n-slowLockout.FreeAttempts, auth.ERATELIMITED)
	}
}

// Changing a password checks the failures of the client address as a login
// does, so an address that must wait cannot try a current password either.
func TestPasswordChangeAddressWait(t *testing.T) {
	a, user := openAttackApp(t)
	from := pipeline.Actor{Principal: "session:s_test", Source: "192.0.2.50:4000"}
	for i := range slowLockout.FreeAttempts {
		if _, _, err := a.Login(t.Context(), from, fmt.Sprintf("nobody%d", i), "wrong guess"); whispersync.ErrorCode(err) != whispersync.EUNAUTHORIZED {
			t.Fatalf("login %d: got %v, want %s", i, err, whispersync.EUNAUTHORIZED)
		}
	}
	err := a.ChangePassword(t.Context(), from, user, "a long and correct passphrase", "another long passphrase")
	if whispersync.ErrorCode(err) != auth.ERATELIMITED {
		t.Errorf("password change from an address that must wait: got %v, want %s", err, auth.ERATELIMITED)
	}
}
