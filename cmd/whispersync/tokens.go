package main

import (
	"context"
	"fmt"
	"strings"
	"time"
)

const tokensExamples = `  whispersync tokens create --user alice > alice.token
  whispersync tokens create --user capture --scope memos:write --expires 720h
  whispersync tokens list --user alice
  whispersync tokens revoke --user alice t_01jf7x3k9q2w8e5r6t7y8u9i0o
`

func runTokens(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlags("tokens", "tokens create|list|revoke [--user NAME] [--scope SCOPES] [--expires DURATION] [--name NAME] [ID]\n\nAPI tokens authenticate clients of `whispersync serve`. create prints only the\nnew token on stdout; it is stored as a hash and cannot be shown again.", tokensExamples)
	userName := fs.String("user", defaultUser(m.Getenv), "the token's user (env WHISPERSYNC_USER); created on first use")
	scope := fs.String("scope", "memos:read,memos:write", "comma-separated scopes: memos:read, memos:write, admin")
	expires := fs.Duration("expires", 0, "lifetime, such as 720h (default: no expiry)")
	name := fs.String("name", "", "a label to recognize the token by: printable characters, at most 128")
	asJSON := fs.Bool("json", false, "list: print JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usagef("tokens needs an action: create, list or revoke\nhint: whispersync tokens create --user alice")
	}
	if *expires < 0 {
		return usagef("--expires must not be negative, got %s", *expires)
	}

	a, user, err := m.openUser(ctx, *userName, true)
	if err != nil {
		return err
	}
	defer a.Close()

	switch pos[0] {
	case "create":
		secret, _, err := a.CreateToken(ctx, m.operator(), user, *name, strings.Split(*scope, ","), *expires)
		if err != nil {
			// Creating a token checks only --name, --scope and --expires.
			return flagError(err)
		}
		fmt.Fprintln(m.Stdout, secret)
		return nil
	case "list":
		tokens, err := a.ListTokens(ctx, m.operator(), user)
		if err != nil {
			return err
		}
		if *asJSON {
			return m.printJSON(tokens)
		}
		for _, t := range tokens {
			state := "active"
			switch {
			case !t.RevokedAt.IsZero():
				state = "revoked"
			case !t.ExpiresAt.IsZero() && time.Now().After(t.ExpiresAt):
				state = "expired"
			}
			expiry := "never"
			if !t.ExpiresAt.IsZero() {
				expiry = t.ExpiresAt.Local().Format(time.DateTime)
			}
			fmt.Fprintf(m.Stdout, "%s  %-7s  %-28s  created %s  expires %-19s  %s\n", t.ID, state, strings.Join(t.Scopes, ","), t.CreatedAt.Local().Format(time.DateTime), expiry, terminalSafe(t.Name))
		}
		return nil
	case "revoke":
		if len(pos) != 2 {
			return usagef("tokens revoke needs one token id\nhint: whispersync tokens list shows the ids")
		}
		if err := a.RevokeToken(ctx, m.operator(), user, pos[1]); err != nil {
			return err
		}
		fmt.Fprintf(m.Stderr, "whispersync: revoked %s\n", pos[1])
		return nil
	}
	return usagef("unknown tokens action %q: use create, list or revoke", pos[0])
}
