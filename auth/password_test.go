package auth_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/whispersync/whispersync/auth"
)

func TestPasswordRoundTrip(t *testing.T) {
	pw := auth.GeneratePassword()
	if err := auth.CheckPassword(pw); err != nil {
		t.Fatalf("generated password fails the policy: %v", err)
	}
	hash, err := auth.HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash: got %q, want the argon2id PHC format", hash)
	}
	if err := auth.VerifyPassword(hash, pw); err != nil {
		t.Errorf("verify the right password: %v", err)
	}
	if err := auth.VerifyPassword(hash, pw+"x"); !errors.Is(err, auth.ErrPasswordMismatch) {
		t.Errorf("verify a wrong password: got %v, want ErrPasswordMismatch", err)
	}
	other, _ := auth.HashPassword(pw)
	if other == hash {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
}

func TestVerifyPasswordRejectsMalformedHash(t *testing.T) {
	hash, _ := auth.HashPassword("correct horse battery")
	parts := strings.Split(hash, "$")
	for _, h := range []string{
		"",
		"$2a$10$abcdefghijklmnopqrstuv",
		strings.Replace(hash, "argon2id", "argon2i", 1),
		strings.Replace(hash, "v=19", "v=16", 1),
		strings.Replace(hash, "m=19456", "m=4194304", 1),
		strings.Replace(hash, "t=2", "t=0", 1),
		"$argon2id$v=19$m=19456,t=2,p=1$" + parts[4] + "$",
	} {
		err := auth.VerifyPassword(h, "correct horse battery")
		if err == nil || errors.Is(err, auth.ErrPasswordMismatch) {
			t.Errorf("VerifyPassword(%q): got %v, want a malformed-hash error", h, err)
		}
	}
}

func TestCheckPassword(t *testing.T) {
	for _, pw := range []string{"", "short", strings.Repeat("x", 11), strings.Repeat("x", 1025), "twelve chars\xff"} {
		if err := auth.CheckPassword(pw); err == nil {
			t.Errorf("CheckPassword(%q): got no error", pw)
		}
	}
	if err := auth.CheckPassword("zwölf Zeichen"); err != nil {
		t.Errorf("CheckPassword of 13 characters: %v", err)
	}
}

func TestLockoutWait(t *testing.T) {
	l := auth.DefaultLockout
	last := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		failures int
		after    time.Duration
		want     time.Duration
	}{
		{0, 0, 0},
		{2, 0, 0},
		{3, 0, time.Second},
		{4, 0, 2 * time.Second},
		{5, time.Second, 3 * time.Second},
		{9, 0, 30 * time.Second},
		{9, time.Minute, 0},
		{10, 0, 15 * time.Minute},
		{10, 14 * time.Minute, time.Minute},
		{12, 16 * time.Minute, 0},
	}
	for _, tt := range tests {
		if got := l.Wait(tt.failures, last, last.Add(tt.after)); got != tt.want {
			t.Errorf("Wait(%d failures, %s after): got %s, want %s", tt.failures, tt.after, got, tt.want)
		}
	}
	if !l.Locked(10, last, last.Add(time.Minute)) || l.Locked(9, last, last) || l.Locked(10, last, last.Add(time.Hour)) {
		t.Error("Locked: wrong for 10 failures a minute ago, 9 failures, or an expired lock")
	}
}

func TestSecret(t *testing.T) {
	secret, hash := auth.NewSecret(auth.ServiceSecretPrefix)
	if !auth.LooksLike(secret, auth.ServiceSecretPrefix) || auth.LooksLike(secret, auth.SessionPrefix) {
		t.Errorf("LooksLike(%q): wrong prefix check", secret)
	}
	if !auth.SecretMatches(secret, hash) || auth.SecretMatches(secret+"x", hash) {
		t.Error("SecretMatches: wrong answer for the secret or a changed one")
	}
}
