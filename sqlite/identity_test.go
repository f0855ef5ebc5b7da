package sqlite_test

import (
	"testing"
	"time"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/auth"
)

func TestIdentity(t *testing.T) {
	db := openDB(t)
	ctx := t.Context()
	u, err := db.Accounts().CreateUser(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	id := db.Identity()

	if _, err := id.Password(ctx, u.ID); !whispersync.IsNotFound(err) {
		t.Errorf("password before set: got %v, want not found", err)
	}
	for _, h := range []string{"$argon2id$first", "$argon2id$second"} {
		if err := id.SetPassword(ctx, u.ID, h); err != nil {
			t.Fatal(err)
		}
	}
	if p, err := id.Password(ctx, u.ID); err != nil || p.Hash != "$argon2id$second" {
		t.Errorf("password: got %+v, %v, want the second hash", p, err)
	}

	sess := &auth.Session{ID: "s1", UserID: u.ID, Hash: auth.HashSecret("wss_x"), CSRF: "c", CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}
	if err := id.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	if got, err := id.FindSession(ctx, sess.Hash); err != nil || got.UserID != u.ID || got.CSRF != "c" {
		t.Errorf("find session: got %+v, %v", got, err)
	}
	if err := id.SetLocked(ctx, u.ID, true); err != nil {
		t.Fatal(err)
	}
	if at, _ := id.LockedAt(ctx, u.ID); at.IsZero() {
		t.Error("locked at: got zero after locking")
	}
	if _, err := id.FindSession(ctx, sess.Hash); !whispersync.IsNotFound(err) {
		t.Errorf("session after lock: got %v, want not found", err)
	}
	if err := id.SetLocked(ctx, u.ID, false); err != nil {
		t.Fatal(err)
	}
	if at, _ := id.LockedAt(ctx, u.ID); !at.IsZero() {
		t.Errorf("locked at after unlock: got %s, want zero", at)
	}

	sa := &auth.ServiceAccount{ClientID: "sa_1", Name: "capture", UserID: u.ID, SecretHash: auth.HashSecret("wsa_x"), Scopes: []string{"memos:write"}, CreatedAt: time.Now()}
	if err := id.CreateServiceAccount(ctx, sa); err != nil {
		t.Fatal(err)
	}
	if err := id.CreateServiceAccount(ctx, sa); !whispersync.IsConflict(err) {
		t.Errorf("create again: got %v, want conflict", err)
	}
	if err := id.DisableServiceAccount(ctx, "sa_1"); err != nil {
		t.Fatal(err)
	}
	if got, err := id.FindServiceAccount(ctx, "sa_1"); err != nil || got.DisabledAt.IsZero() || got.Scopes[0] != "memos:write" {
		t.Errorf("find service account: got %+v, %v", got, err)
	}

	if err := id.SaveQuotas(ctx, "2026-03-01", map[string]int{"token:a": 7}); err != nil {
		t.Fatal(err)
	}
	if err := id.SaveQuotas(ctx, "2026-03-01", map[string]int{"token:a": 5}); err != nil {
		t.Fatal(err)
	}
	if n, err := id.LoadQuota(ctx, "token:a", "2026-03-01"); err != nil || n != 7 {
		t.Errorf("quota: got %d, %v, want 7 (never lowered)", n, err)
	}

	if err := id.AddBlock(ctx, auth.Block{Kind: "ip", Value: "192.0.2.0/24", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if blocks, err := id.ListBlocks(ctx); err != nil || len(blocks) != 1 {
		t.Errorf("list blocks: got %v, %v", blocks, err)
	}
	if err := id.RemoveBlock(ctx, "ip", "192.0.2.0/24"); err != nil {
		t.Fatal(err)
	}
	if err := id.RemoveBlock(ctx, "ip", "192.0.2.0/24"); !whispersync.IsNotFound(err) {
		t.Errorf("remove again: got %v, want not found", err)
	}

	for want := 1; want <= 3; want++ {
		if n, err := id.RecordFailure(ctx, "user:alice", time.Now()); err != nil || n != want {
			t.Errorf("record failure: got %d, %v, want %d", n, err, want)
		}
	}
	if err := id.ClearFailures(ctx, "user:alice"); err != nil {
		t.Fatal(err)
	}
	if n, _, err := id.Failures(ctx, "user:alice"); err != nil || n != 0 {
		t.Errorf("failures after clear: got %d, %v, want 0", n, err)
	}
}
