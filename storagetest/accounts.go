package storagetest

import (
	"context"
	"crypto/sha256"
	"errors"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/whispersync/whispersync"
)

// Accounts runs the contract tests of whispersync.Accounts. open returns a
// new, empty store for each subtest and arranges its cleanup with
// t.Cleanup.
//
// Beyond the interface documentation, the contract fixes these choices:
//
//   - User names are unique regardless of ASCII case, so "Alice" cannot
//     pose as "alice", and FindUserByName ignores ASCII case too. An empty
//     name, or one with spaces or control characters, is EINVALID.
//   - User ids are random and URL-safe: ASCII letters, digits, '_' and '-'.
//   - ListUsers orders by name. ListTokens of an unknown user is empty.
//   - A token's hash is a SHA-256 sum of 32 bytes. A token without id or user,
//     or with another hash length, is EINVALID. A token of an unknown user
//     is ENOTFOUND, and one whose id or hash is stored already is ECONFLICT.
//   - CreateToken sets a zero CreatedAt to the current time.
//   - RevokeToken of a token that belongs to another user is ENOTFOUND, as
//     for an unknown token. Revoking again keeps the first revocation time.
//   - TouchToken never moves LastUsed back. An unknown token is ENOTFOUND.
//
// Times round-trip to the second at least, and the tests use whole seconds.
func Accounts(t *testing.T, open func(t *testing.T) whispersync.Accounts) {
	tests := []struct {
		name string
		run  func(t *testing.T, a whispersync.Accounts)
	}{
		{"CreateFindUser", testAccountsCreateFindUser},
		{"UserNameTaken", testAccountsUserNameTaken},
		{"UserNotFound", testAccountsUserNotFound},
		{"InvalidUserName", testAccountsInvalidUserName},
		{"ListUsers", testAccountsListUsers},
		{"UserIDs", testAccountsUserIDs},
		{"ConcurrentCreateUser", testAccountsConcurrentCreateUser},
		{"TokenRoundTrip", testAccountsTokenRoundTrip},
		{"TokenCreatedAtKept", testAccountsTokenCreatedAtKept},
		{"TokenHashUnknown", testAccountsTokenHashUnknown},
		{"TokenDuplicate", testAccountsTokenDuplicate},
		{"TokenOfUnknownUser", testAccountsTokenOfUnknownUser},
		{"InvalidToken", testAccountsInvalidToken},
		{"ListTokensPerUser", testAccountsListTokensPerUser},
		{"RevokeToken", testAccountsRevokeToken},
		{"RevokeOtherUsersToken", testAccountsRevokeOtherUsersToken},
		{"TouchToken", testAccountsTouchToken},
		{"ExpiredTokenFound", testAccountsExpiredTokenFound},
		{"CanceledContext", testAccountsCanceledContext},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.run(t, open(t))
		})
	}
}

var urlSafeID = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// when is a fixed time on a whole second.
var when = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func testAccountsCreateFindUser(t *testing.T, a whispersync.Accounts) {
	before := time.Now().Truncate(time.Second)
	u := mustCreateUser(t, a, "alice")
	after := time.Now().Add(time.Second)
	if u.Name != "alice" || !urlSafeID.MatchString(u.ID) || u.CreatedAt.Before(before) || u.CreatedAt.After(after) {
		t.Errorf("created user: got %+v, want name alice, a URL-safe id and a creation time between %v and %v", u, before, after)
	}

	byID, err := a.FindUserByID(t.Context(), u.ID)
	if err != nil {
		t.Fatalf("find by id: %v", err)
	}
	wantUser(t, "user found by id", byID, u)
	byName, err := a.FindUserByName(t.Context(), "alice")
	if err != nil {
		t.Fatalf("find by name: %v", err)
	}
	wantUser(t, "user found by name", byName, u)
}

func testAccountsUserNameTaken(t *testing.T, a whispersync.Accounts) {
	alice := mustCreateUser(t, a, "alice")
	for _, name := range []string{"alice", "Alice", "ALICE"} {
		_, err := a.CreateUser(t.Context(), name)
		wantCode(t, "create user "+name, err, whispersync.ECONFLICT)
	}
	got, err := a.FindUserByName(t.Context(), "ALICE")
	if err != nil {
		t.Fatalf("find by name in other case: %v", err)
	}
	wantUser(t, "user found by name in other case", got, alice)
	if users := mustListUsers(t, a); len(users) != 1 {
		t.Errorf("users: got %d, want 1", len(users))
	}
}

func testAccountsUserNotFound(t *testing.T, a whispersync.Accounts) {
	mustCreateUser(t, a, "alice")
	_, err := a.FindUserByID(t.Context(), "u_aaaaaaaaaaaaaaaa")
	wantCode(t, "find by unknown id", err, whispersync.ENOTFOUND)
	_, err = a.FindUserByName(t.Context(), "bob")
	wantCode(t, "find by unknown name", err, whispersync.ENOTFOUND)
	_, err = a.FindUserByName(t.Context(), "alic")
	wantCode(t, "find by a prefix of a name", err, whispersync.ENOTFOUND)
}

func testAccountsInvalidUserName(t *testing.T, a whispersync.Accounts) {
	for _, name := range []string{"", " ", "alice smith", " alice", "alice\n", "al\x00ice", "tab\tname"} {
		_, err := a.CreateUser(t.Context(), name)
		wantCode(t, "create user "+name, err, whispersync.EINVALID)
	}
	if users := mustListUsers(t, a); len(users) != 0 {
		t.Errorf("users after invalid names: got %d, want 0", len(users))
	}
}

func testAccountsListUsers(t *testing.T, a whispersync.Accounts) {
	if users := mustListUsers(t, a); len(users) != 0 {
		t.Errorf("users of an empty store: got %d, want 0", len(users))
	}
	for _, name := range []string{"carol", "alice", "bob"} {
		mustCreateUser(t, a, name)
	}
	var names []string
	for _, u := range mustListUsers(t, a) {
		names = append(names, u.Name)
	}
	if want := []string{"alice", "bob", "carol"}; !slices.Equal(names, want) {
		t.Errorf("user names: got %q, want %q", names, want)
	}
}

func testAccountsUserIDs(t *testing.T, a whispersync.Accounts) {
	seen := map[string]bool{}
	for _, name := range []string{"u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8"} {
		u := mustCreateUser(t, a, name)
		if seen[u.ID] || !urlSafeID.MatchString(u.ID) {
			t.Errorf("id of %s: got %q, want a new URL-safe id", name, u.ID)
		}
		seen[u.ID] = true
	}
}

func testAccountsConcurrentCreateUser(t *testing.T, a whispersync.Accounts) {
	const workers = 8
	var wg sync.WaitGroup
	results := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			_, err := a.CreateUser(t.Context(), "alice")
			results <- err
		})
	}
	wg.Wait()
	close(results)
	var created int
	for err := range results {
		switch {
		case err == nil:
			created++
		case !whispersync.IsConflict(err):
			t.Errorf("create user: got %v, want nil or a conflict", err)
		}
	}
	if created != 1 {
		t.Errorf("creators of alice: got %d, want 1", created)
	}
}

func testAccountsTokenRoundTrip(t *testing.T, a whispersync.Accounts) {
	u := mustCreateUser(t, a, "alice")
	tok := &whispersync.Token{
		ID:        "t_laptop",
		UserID:    u.ID,
		Name:      "laptop",
		Hash:      tokenHash("secret-1"),
		Scopes:    []string{whispersync.ScopeMemosWrite, whispersync.ScopeMemosRead},
		ExpiresAt: when.Add(90 * 24 * time.Hour),
	}
	before := time.Now().Truncate(time.Second)
	mustCreateToken(t, a, tok)
	if tok.CreatedAt.Before(before) || tok.CreatedAt.After(time.Now().Add(time.Second)) {
		t.Errorf("created at: got %v, want the time of creation", tok.CreatedAt)
	}

	got := mustFindToken(t, a, tok.Hash)
	wantToken(t, "token found by hash", got, tok)
}

func testAccountsTokenCreatedAtKept(t *testing.T, a whispersync.Accounts) {
	u := mustCreateUser(t, a, "alice")
	tok := &whispersync.Token{ID: "t_1", UserID: u.ID, Hash: tokenHash("s"), Scopes: []string{whispersync.ScopeAdmin}, CreatedAt: when}
	mustCreateToken(t, a, tok)
	if got := mustFindToken(t, a, tok.Hash); !got.CreatedAt.Equal(when) {
		t.Errorf("created at: got %v, want %v", got.CreatedAt, when)
	}
}

func testAccountsTokenHashUnknown(t *testing.T, a whispersync.Accounts) {
	u := mustCreateUser(t, a, "alice")
	mustCreateToken(t, a, &whispersync.Token{ID: "t_1", UserID: u.ID, Hash: tokenHash("s")})
	_, err := a.FindTokenByHash(t.Context(), tokenHash("other"))
	wantCode(t, "find by unknown hash", err, whispersync.ENOTFOUND)
}

func testAccountsTokenDuplicate(t *testing.T, a whispersync.Accounts) {
	u := mustCreateUser(t, a, "alice")
	mustCreateToken(t, a, &whispersync.Token{ID: "t_1", UserID: u.ID, Name: "first", Hash: tokenHash("s")})

	err := a.CreateToken(t.Context(), &whispersync.Token{ID: "t_2", UserID: u.ID, Hash: tokenHash("s")})
	wantCode(t, "create token with a stored hash", err, whispersync.ECONFLICT)
	err = a.CreateToken(t.Context(), &whispersync.Token{ID: "t_1", UserID: u.ID, Hash: tokenHash("s2")})
	wantCode(t, "create token with a stored id", err, whispersync.ECONFLICT)

	tokens := mustListTokens(t, a, u.ID)
	if len(tokens) != 1 || tokens[0].Name != "first" {
		t.Errorf("tokens: got %+v, want only the first", tokens)
	}
}

func testAccountsTokenOfUnknownUser(t *testing.T, a whispersync.Accounts) {
	err := a.CreateToken(t.Context(), &whispersync.Token{ID: "t_1", UserID: "u_aaaaaaaaaaaaaaaa", Hash: tokenHash("s")})
	wantCode(t, "create token of unknown user", err, whispersync.ENOTFOUND)
	_, err = a.FindTokenByHash(t.Context(), tokenHash("s"))
	wantCode(t, "find the rejected token", err, whispersync.ENOTFOUND)
}

func testAccountsInvalidToken(t *testing.T, a whispersync.Accounts) {
	u := mustCreateUser(t, a, "alice")
	tests := []struct {
		name string
		tok  whispersync.Token
	}{
		{"no id", whispersync.Token{UserID: u.ID, Hash: tokenHash("s")}},
		{"no user", whispersync.Token{ID: "t_1", Hash: tokenHash("s")}},
		{"no hash", whispersync.Token{ID: "t_1", UserID: u.ID}},
		{"short hash", whispersync.Token{ID: "t_1", UserID: u.ID, Hash: tokenHash("s")[:16]}},
		{"plain secret", whispersync.Token{ID: "t_1", UserID: u.ID, Hash: []byte("ws_secret")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantCode(t, "create token", a.CreateToken(t.Context(), &tt.tok), whispersync.EINVALID)
		})
	}
	if tokens := mustListTokens(t, a, u.ID); len(tokens) != 0 {
		t.Errorf("tokens after invalid ones: got %d, want 0", len(tokens))
	}
}

func testAccountsListTokensPerUser(t *testing.T, a whispersync.Accounts) {
	alice := mustCreateUser(t, a, "alice")
	bob := mustCreateUser(t, a, "bob")
	mustCreateToken(t, a, &whispersync.Token{ID: "t_a1", UserID: alice.ID, Hash: tokenHash("a1"), CreatedAt: when})
	mustCreateToken(t, a, &whispersync.Token{ID: "t_b1", UserID: bob.ID, Hash: tokenHash("b1"), CreatedAt: when})
	mustCreateToken(t, a, &whispersync.Token{ID: "t_a2", UserID: alice.ID, Hash: tokenHash("a2"), CreatedAt: when.Add(time.Hour)})

	tests := []struct {
		user string
		want []string
	}{
		{alice.ID, []string{"t_a1", "t_a2"}},
		{bob.ID, []string{"t_b1"}},
		{"u_unknownunknownx", nil},
	}
	for _, tt := range tests {
		var got []string
		for _, tok := range mustListTokens(t, a, tt.user) {
			if tok.UserID != tt.user {
				t.Errorf("tokens of %s: got token %q of user %s", tt.user, tok.ID, tok.UserID)
			}
			got = append(got, tok.ID)
		}
		slices.Sort(got)
		if !slices.Equal(got, tt.want) {
			t.Errorf("tokens of %s: got %q, want %q", tt.user, got, tt.want)
		}
	}
}

func testAccountsRevokeToken(t *testing.T, a whispersync.Accounts) {
	u := mustCreateUser(t, a, "alice")
	tok := &whispersync.Token{ID: "t_1", UserID: u.ID, Hash: tokenHash("s")}
	mustCreateToken(t, a, tok)
	if err := a.RevokeToken(t.Context(), u.ID, tok.ID); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	first := mustFindToken(t, a, tok.Hash).RevokedAt
	if first.IsZero() {
		t.Fatalf("revoked at: got zero, want the revocation time")
	}

	if err := a.RevokeToken(t.Context(), u.ID, tok.ID); err != nil {
		t.Fatalf("revoke again: %v", err)
	}
	if again := mustFindToken(t, a, tok.Hash).RevokedAt; !again.Equal(first) {
		t.Errorf("revoked at after revoking again: got %v, want %v", again, first)
	}
	if tokens := mustListTokens(t, a, u.ID); len(tokens) != 1 || tokens[0].RevokedAt.IsZero() {
		t.Errorf("listed tokens: got %+v, want the revoked token", tokens)
	}
}

func testAccountsRevokeOtherUsersToken(t *testing.T, a whispersync.Accounts) {
	alice := mustCreateUser(t, a, "alice")
	bob := mustCreateUser(t, a, "bob")
	tok := &whispersync.Token{ID: "t_alice", UserID: alice.ID, Hash: tokenHash("s")}
	mustCreateToken(t, a, tok)

	wantCode(t, "revoke of alice's token by bob", a.RevokeToken(t.Context(), bob.ID, tok.ID), whispersync.ENOTFOUND)
	wantCode(t, "revoke of an unknown token", a.RevokeToken(t.Context(), alice.ID, "t_unknown"), whispersync.ENOTFOUND)
	if got := mustFindToken(t, a, tok.Hash); !got.RevokedAt.IsZero() {
		t.Errorf("alice's token: got revoked at %v, want not revoked", got.RevokedAt)
	}
}

func testAccountsTouchToken(t *testing.T, a whispersync.Accounts) {
	u := mustCreateUser(t, a, "alice")
	tok := &whispersync.Token{ID: "t_1", UserID: u.ID, Hash: tokenHash("s")}
	mustCreateToken(t, a, tok)
	if got := mustFindToken(t, a, tok.Hash); !got.LastUsed.IsZero() {
		t.Errorf("last used of a new token: got %v, want zero", got.LastUsed)
	}

	steps := []struct {
		touch, want time.Time
	}{
		{when, when},
		{when.Add(-time.Hour), when},
		{when.Add(time.Minute), when.Add(time.Minute)},
	}
	for _, s := range steps {
		if err := a.TouchToken(t.Context(), tok.ID, s.touch); err != nil {
			t.Fatalf("touch at %v: %v", s.touch, err)
		}
		if got := mustFindToken(t, a, tok.Hash).LastUsed; !got.Equal(s.want) {
			t.Errorf("last used after touch at %v: got %v, want %v", s.touch, got, s.want)
		}
	}
	wantCode(t, "touch of an unknown token", a.TouchToken(t.Context(), "t_unknown", when), whispersync.ENOTFOUND)
}

func testAccountsExpiredTokenFound(t *testing.T, a whispersync.Accounts) {
	u := mustCreateUser(t, a, "alice")
	tok := &whispersync.Token{ID: "t_1", UserID: u.ID, Hash: tokenHash("s"), CreatedAt: when.Add(-48 * time.Hour), ExpiresAt: when.Add(-24 * time.Hour)}
	mustCreateToken(t, a, tok)
	wantToken(t, "expired token", mustFindToken(t, a, tok.Hash), tok)
}

func testAccountsCanceledContext(t *testing.T, a whispersync.Accounts) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := a.CreateUser(ctx, "alice")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("create user with canceled context: got %v, want context.Canceled", err)
	}
	if users := mustListUsers(t, a); len(users) != 0 {
		t.Errorf("users after canceled create: got %d, want 0", len(users))
	}
}

func tokenHash(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

func mustCreateUser(t *testing.T, a whispersync.Accounts, name string) *whispersync.User {
	t.Helper()
	u, err := a.CreateUser(t.Context(), name)
	if err != nil {
		t.Fatalf("create user %q: %v", name, err)
	}
	return u
}

func mustListUsers(t *testing.T, a whispersync.Accounts) []*whispersync.User {
	t.Helper()
	users, err := a.ListUsers(t.Context())
	if err != nil {
		t.Fatalf("list users: %v", err)
	}
	return users
}

func mustCreateToken(t *testing.T, a whispersync.Accounts, tok *whispersync.Token) {
	t.Helper()
	if err := a.CreateToken(t.Context(), tok); err != nil {
		t.Fatalf("create token %q: %v", tok.ID, err)
	}
}

func mustFindToken(t *testing.T, a whispersync.Accounts, hash []byte) *whispersync.Token {
	t.Helper()
	tok, err := a.FindTokenByHash(t.Context(), hash)
	if err != nil {
		t.Fatalf("find token by hash: %v", err)
	}
	return tok
}

func mustListTokens(t *testing.T, a whispersync.Accounts, userID string) []*whispersync.Token {
	t.Helper()
	tokens, err := a.ListTokens(t.Context(), userID)
	if err != nil {
		t.Fatalf("list tokens of %s: %v", userID, err)
	}
	return tokens
}

func wantUser(t *testing.T, what string, got, want *whispersync.User) {
	t.Helper()
	if got.ID != want.ID || got.Name != want.Name || !got.CreatedAt.Equal(want.CreatedAt) {
		t.Errorf("%s: got %+v, want %+v", what, got, want)
	}
}

func wantToken(t *testing.T, what string, got, want *whispersync.Token) {
	t.Helper()
	if got.ID != want.ID || got.UserID != want.UserID || got.Name != want.Name ||
		string(got.Hash) != string(want.Hash) || !slices.Equal(got.Scopes, want.Scopes) ||
		!got.CreatedAt.Equal(want.CreatedAt) || !got.ExpiresAt.Equal(want.ExpiresAt) ||
		!got.RevokedAt.Equal(want.RevokedAt) || !got.LastUsed.Equal(want.LastUsed) {
		t.Errorf("%s: got %+v, want %+v", what, got, want)
	}
}
