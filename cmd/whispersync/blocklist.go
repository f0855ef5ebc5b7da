package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/whispersync/whispersync/auth"
)

const blocklistExamples = `  whispersync blocklist add 203.0.113.7 --reason "credential stuffing"
  whispersync blocklist add 198.51.100.0/24 --expires 24h
  whispersync blocklist add token:t_06h45xd870000e9qgnh9820e7r
  whispersync blocklist list
  whispersync blocklist remove 203.0.113.7

  # While serve runs, with an admin token created before it started
  # (ADMIN_TOKEN=$(whispersync tokens create --user admin --scope admin)):
  CA=~/.local/share/whispersync/tls/localhost.crt
  curl --cacert $CA -H "Authorization: Bearer $ADMIN_TOKEN" -H 'Content-Type: application/json' \
       -d '{"value":"203.0.113.7","reason":"credential stuffing","expires":"24h"}' https://localhost:8080/v1/admin/blocklist
  curl --cacert $CA -H "Authorization: Bearer $ADMIN_TOKEN" https://localhost:8080/v1/admin/blocklist
  curl --cacert $CA -H "Authorization: Bearer $ADMIN_TOKEN" -H 'Content-Type: application/json' \
       -d '{"value":"203.0.113.7"}' https://localhost:8080/v1/admin/blocklist/remove
`

func runBlocklist(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlags("blocklist", "blocklist add|list|remove [VALUE] [--reason TEXT] [--expires DURATION]\n\nThe block list refuses requests from IP addresses or prefixes, and from\nprincipals (token:ID, session:ID, service:CLIENT_ID, oidc:SUBJECT,\nuser:NAME), with 403.\n\nserve holds the data directory while it runs, so this command then stops\nwith \"in use\". Change the list through serve's admin API instead, with a\ntoken of scope admin: POST /v1/admin/blocklist adds an entry,\nPOST /v1/admin/blocklist/remove removes one, GET /v1/admin/blocklist lists\nthem. serve applies each change at once.", blocklistExamples)
	reason := fs.String("reason", "", "why the entry was added")
	expires := fs.Duration("expires", 0, "lifetime, such as 24h (default: until removed)")
	asJSON := fs.Bool("json", false, "list: print JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usagef("blocklist needs an action: add, list or remove\nhint: whispersync blocklist add 203.0.113.7")
	}
	if *expires < 0 {
		return usagef("--expires must not be negative, got %s", *expires)
	}
	if pos[0] != "list" && len(pos) != 2 {
		return usagef("blocklist %s needs one IP address, prefix or principal", pos[0])
	}

	a, err := m.open(ctx)
	if err != nil {
		return err
	}
	defer a.Close()

	switch pos[0] {
	case "add":
		b := auth.Block{Kind: blockKind(pos[1]), Value: pos[1], Reason: *reason, CreatedAt: time.Now().UTC()}
		if *expires > 0 {
			b.ExpiresAt = b.CreatedAt.Add(*expires)
		}
		stored, err := a.Block(ctx, m.operator(), b)
		if err != nil {
			return flagError(err)
		}
		fmt.Fprintf(m.Stderr, "whispersync: blocked %s\n", stored.Value)
		return nil
	case "remove":
		removed, err := a.Unblock(ctx, m.operator(), blockKind(pos[1]), pos[1])
		if err != nil {
			return err
		}
		fmt.Fprintf(m.Stderr, "whispersync: unblocked %s\n", removed)
		return nil
	case "list":
		blocks, err := a.Identity().ListBlocks(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			if blocks == nil {
				blocks = []auth.Block{}
			}
			return m.printJSON(blocks)
		}
		if len(blocks) == 0 {
			fmt.Fprintln(m.Stdout, "the block list is empty")
		}
		for _, b := range blocks {
			until := "until removed"
			if !b.ExpiresAt.IsZero() {
				until = "until " + b.ExpiresAt.Local().Format(time.DateTime)
			}
			fmt.Fprintf(m.Stdout, "%-9s  %-40s  %s  %s\n", b.Kind, terminalSafe(b.Value), until, terminalSafe(b.Reason))
		}
		return nil
	}
	return usagef("unknown blocklist action %q: use add, list or remove", pos[0])
}

// terminalSafe returns s unchanged when every rune is printable, and
// quoted with escapes otherwise. Values and reasons come from the admin API
// and automatic responses, so they may carry terminal escapes or line breaks.
func terminalSafe(s string) string {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}

// blockKind distinguishes a principal name (KIND:ID) from an address; an IPv6
// address has colons too, but no letters before its first one that name
// a principal kind.
func blockKind(value string) string {
	kind, _, ok := strings.Cut(value, ":")
	switch {
	case ok && (kind == auth.KindToken || kind == auth.KindSession || kind == auth.KindService || kind == auth.KindOIDC || kind == "user"):
		return "principal"
	}
	return "ip"
}
