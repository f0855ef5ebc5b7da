package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/pipeline"
)

func TestTokenCacheRevokeTakesEffect(t *testing.T) {
	ctx := context.Background()
	a := openApp(t, newDirs(t))
	user, _, err := a.User(ctx, "alice", true)
	if err != nil {
		t.Fatal(err)
	}
	secret, tok, err := a.CreateToken(ctx, operator, user, "laptop", []string{"memos:read"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// Twice, so the second call is served from the cache.
	for range 2 {
		if _, err := a.AuthenticateToken(ctx, secret); err != nil {
			t.Fatalf("authenticate new token: %v", err)
		}
	}

	if err := a.SetLocked(ctx, operator, user, true); err != nil {
		t.Fatal(err)
	}
	if _, err := a.AuthenticateToken(ctx, secret); whispersync.ErrorCode(err) != whispersync.EUNAUTHORIZED {
		t.Errorf("token of a locked account: got %v, want unauthorized", err)
	}
	if err := a.SetLocked(ctx, operator, user, false); err != nil {
		t.Fatal(err)
	}
	if _, err := a.AuthenticateToken(ctx, secret); err != nil {
		t.Errorf("token after unlock: %v", err)
	}

	if err := a.RevokeToken(ctx, operator, user, tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := a.AuthenticateToken(ctx, secret); whispersync.ErrorCode(err) != whispersync.EUNAUTHORIZED {
		t.Errorf("revoked token: got %v, want unauthorized", err)
	}
}

func TestGuessingCacheSeesNewFailures(t *testing.T) {
	ctx := context.Background()
	a := openApp(t, newDirs(t))
	const source = "192.0.2.7:4711"
	for range 2 {
		if err := a.CheckGuessing(ctx, source); err != nil {
			t.Fatalf("address without failures: %v", err)
		}
	}
	actor := pipeline.Actor{Principal: "anonymous", Source: source}
	for range 10 {
		a.AuthFailure(ctx, actor, "token", "token", nil, "ip:192.0.2.7")
	}
	if err := a.CheckGuessing(ctx, source); err == nil {
		t.Error("address after 10 failures: got no wait, want one")
	}
}
