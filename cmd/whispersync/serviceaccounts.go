package main

import (
	"context"
	"fmt"
	"strings"
	"time"
)

const serviceAccountsExamples = `  whispersync serviceaccounts create capture --user alice --scope memos:write
  whispersync serviceaccounts create webhook --user alice --cert-sha256 "$(openssl x509 -in client.crt -noout -fingerprint -sha256 | cut -d= -f2)"
  whispersync serviceaccounts list
  whispersync serviceaccounts disable sa_06h45xd870000e9qgnh9820e7r
`

func runServiceAccounts(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlags("serviceaccounts", "serviceaccounts create NAME --user NAME [--scope SCOPES] [--cert-sha256 HEX] | list | disable CLIENT_ID\n\nService accounts authenticate machine clients with HTTP Basic: the client id\nas user name and the secret as password. create prints the client id and the\nsecret, which is stored as a hash and cannot be shown again. With\n--cert-sha256 the client must also present that certificate over mutual TLS.", serviceAccountsExamples)
	userName := fs.String("user", defaultUser(m.Getenv), "the user whose data the account acts on (env WHISPERSYNC_USER)")
	scope := fs.String("scope", "memos:write", "comma-separated scopes: memos:read, memos:write, admin")
	cert := fs.String("cert-sha256", "", "SHA-256 fingerprint of the client certificate to require")
	asJSON := fs.Bool("json", false, "list: print JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usagef("serviceaccounts needs an action: create, list or disable\nhint: whispersync serviceaccounts create capture --user alice")
	}
	if pos[0] != "list" && len(pos) != 2 {
		return usagef("serviceaccounts %s needs one argument: a name for create, a client id for disable", pos[0])
	}

	a, err := m.open(ctx)
	if err != nil {
		return err
	}
	defer a.Close()

	switch pos[0] {
	case "create":
		user, err := m.user(ctx, a, *userName)
		if err != nil {
			return err
		}
		secret, sa, err := a.CreateServiceAccount(ctx, m.operator(), user, pos[1], splitList(*scope), *cert)
		if err != nil {
			// Creating an account checks only its name, --scope and
			// --cert-sha256.
			return flagError(err)
		}
		fmt.Fprintf(m.Stdout, "client_id=%s\nclient_secret=%s\n", sa.ClientID, secret)
		return nil
	case "disable":
		if err := a.DisableServiceAccount(ctx, m.operator(), pos[1]); err != nil {
			return err
		}
		fmt.Fprintf(m.Stderr, "whispersync: disabled %s\n", pos[1])
		return nil
	case "list":
		accounts, err := a.Identity().ListServiceAccounts(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			return m.printJSON(accounts)
		}
		for _, sa := range accounts {
			state := "active"
			if !sa.DisabledAt.IsZero() {
				state = "disabled"
			}
			mtls := ""
			if sa.CertSHA256 != "" {
				mtls = "mTLS"
			}
			fmt.Fprintf(m.Stdout, "%s  %-8s  %-20s  %-24s  %-4s  created %s\n", sa.ClientID, state, sa.Name, strings.Join(sa.Scopes, ","), mtls, sa.CreatedAt.Local().Format(time.DateTime))
		}
		return nil
	}
	return usagef("unknown serviceaccounts action %q: use create, list or disable", pos[0])
}
