package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/whispersync/whispersync/app"
	"github.com/whispersync/whispersync/detect"
	"github.com/whispersync/whispersync/secrets"
)

// #nosec G101 -- usage examples that name secrets, with no value in them
const secretsExamples = `  printf %s "$ELEVENLABS_KEY" | whispersync secrets set elevenlabs-api-key --type provider --provider local
  whispersync secrets set smtp-password --from-file /run/secrets/smtp --contact ops@example.org
  whispersync secrets set session-salt --generate --rotate-every 2160h
  whispersync secrets list
  whispersync secrets get smtp-password --stage AWSPREVIOUS
  whispersync secrets rotate session-salt
  whispersync secrets rotate github-token --from-file new-token.txt
  printf %s "$NEW_WEBHOOK" | whispersync secrets rotate slack-webhook-url --stdin
  whispersync secrets delete oidc-client-secret
`

const secretsSynopsis = `secrets set|get|list|rotate|delete [flags] [NAME]

Keeps the credentials WhisperSync uses to reach other services (API keys,
tokens, webhook URLs, passwords) encrypted in the data directory. Values are
read from stdin (a pipe, never a terminal) or --from-file, never from the
command line; one final line break is dropped. get prints the value on
stdout; no other command prints a value.

Each secret has a current (AWSCURRENT) and a previous (AWSPREVIOUS) version
and a rotation period (default 720h). rotate without a value runs the hook of
the secret's type: generate draws a random value, provider asks the named
provider. A notify secret cannot rotate by itself: rotate records a
secrets.rotation_due finding asking the contact for a new value, which
findings list shows and the notifiers send, and exits 1 because the secret
keeps its value until a new one is stored with --stdin or --from-file.
list marks overdue secrets; serve rotates due ones and records the findings
of due notify secrets.`

func runSecrets(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlags("secrets", secretsSynopsis, secretsExamples)
	asJSON := fs.Bool("json", false, "list: print JSON")
	fromFile := fs.String("from-file", "", "set, rotate: read the value from FILE instead of stdin")
	generate := fs.Bool("generate", false, "set: store a random value (type generate)")
	typ := fs.String("type", "", "set: generate, provider or notify (default notify for a new secret)")
	provider := fs.String("provider", "", "set: the provider of a provider secret, such as local")
	contact := fs.String("contact", "", "set: who rotates a notify secret, such as an e-mail address")
	description := fs.String("description", "", "set: what the secret is for")
	every := fs.Duration("rotate-every", 0, "set: rotation period, such as 720h (default 720h for a new secret)")
	stage := fs.String("stage", secrets.StageCurrent, "get: AWSCURRENT or AWSPREVIOUS")
	fromStdin := fs.Bool("stdin", false, "rotate: read the new value from stdin instead of running the hook")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usagef("secrets needs an action: set, get, list, rotate or delete\nhint: whispersync secrets list")
	}
	action := pos[0]
	switch {
	case action == "list" && len(pos) != 1:
		return usagef("secrets list takes no arguments")
	case action != "list" && len(pos) < 2:
		return usagef("secrets %s needs a secret name\nhint: whispersync secrets list shows the names", action)
	case len(pos) > 2:
		// Never echo the extra argument: it may be a value typed by mistake.
		return usagef("secrets %s takes one name; values are never read from the command line: pipe the value on stdin or use --from-file FILE", action)
	}
	if *generate && (*typ != "" && *typ != secrets.TypeGenerate || *fromFile != "") {
		return usagef("--generate draws the value itself: drop --from-file and --type, or use --type generate")
	}

	a, err := m.open(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	by := secrets.Actor{Principal: m.operator().Principal, Source: m.operator().Source}

	switch action {
	case "set":
		opts := secrets.SetOptions{Type: *typ, Provider: *provider, Contact: *contact, Description: *description, RotationPeriod: *every}
		var value []byte
		if *generate {
			opts.Type = secrets.TypeGenerate
		} else if value, err = m.readSecretValue(pos[1], *fromFile); err != nil {
			return err
		}
		defer clear(value)
		sec, err := a.Secrets.Set(ctx, by, pos[1], value, opts)
		if err != nil {
			// Set checks only the name, the value and the flags.
			return flagError(err)
		}
		fmt.Fprintf(m.Stderr, "whispersync: stored secret %s version %d (%s, rotation every %s)\n", sec.Name, sec.Current(), sec.Type, sec.RotationPeriod)
		return nil
	case "get":
		value, _, err := a.Secrets.Get(ctx, by, pos[1], *stage)
		if err != nil {
			// Get checks only the name and --stage.
			return flagError(err)
		}
		defer clear(value)
		_, err = m.Stdout.Write(append(value, '\n'))
		return err
	case "list":
		return m.secretsList(ctx, a.Secrets, by, *asJSON)
	case "rotate":
		var value []byte
		if *fromFile != "" || *fromStdin {
			if value, err = m.readSecretValue(pos[1], *fromFile); err != nil {
				return err
			}
			defer clear(value)
		}
		sec, err := a.Secrets.Rotate(ctx, by, pos[1], value)
		if errors.Is(err, secrets.ErrOwnerRotates) {
			id := detect.FindingID(app.TypeSecretRotationDue, "secret:"+pos[1])
			fmt.Fprintf(m.Stderr, "whispersync: recorded finding %s (%s): whispersync findings show %s; the notifiers send it with the next digest (whispersync notify publish, or serve)\n", id, app.TypeSecretRotationDue, id)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(m.Stderr, "whispersync: rotated secret %s to version %d\n", sec.Name, sec.Current())
		return nil
	case "delete":
		if err := a.Secrets.Delete(ctx, by, pos[1]); err != nil {
			return err
		}
		fmt.Fprintf(m.Stderr, "whispersync: deleted secret %s and its versions\n", pos[1])
		return nil
	}
	return usagef("unknown secrets action %q: use set, get, list, rotate or delete", action)
}

func (m *Main) secretsList(ctx context.Context, store *secrets.Store, by secrets.Actor, asJSON bool) error {
	list, err := store.List(ctx, by)
	if err != nil {
		return err
	}
	if asJSON {
		if list == nil {
			list = []secrets.Secret{}
		}
		return m.printJSON(list)
	}
	fmt.Fprintf(m.Stdout, "%-28s %-9s %7s  %-20s %-20s %s\n", "NAME", "TYPE", "VERSION", "ROTATED", "NEXT ROTATION", "STATE")
	overdue := 0
	for _, s := range list {
		state := "ok"
		if s.Overdue {
			state = "OVERDUE"
			overdue++
		}
		fmt.Fprintf(m.Stdout, "%-28s %-9s %7d  %-20s %-20s %s\n", s.Name, s.Type, s.Current(), s.RotatedAt.Local().Format(time.DateTime), s.NextRotation.Local().Format(time.DateTime), state)
	}
	if overdue > 0 {
		fmt.Fprintf(m.Stderr, "whispersync: %d secrets are overdue for rotation: run whispersync secrets rotate NAME\n", overdue)
	}
	return nil
}

// readSecretValue reads a value from file, or else from stdin, which must
// not be a terminal (the value would be echoed there). One final line break
// is dropped, since shells and editors add it.
func (m *Main) readSecretValue(name, file string) ([]byte, error) {
	var r io.Reader = m.Stdin
	source := "stdin"
	if file != "" {
		f, err := os.Open(file)
		if err != nil {
			return nil, fmt.Errorf("read the value of %s: %w", name, err)
		}
		defer f.Close()
		r, source = f, file
	} else if isTerminal(m.Stdin) {
		return nil, usagef("secrets reads the value of %s from a pipe or --from-file, not from a terminal, where it would be echoed\nhint: whispersync secrets set %s --from-file FILE", name, name)
	}
	value, err := io.ReadAll(io.LimitReader(r, secrets.MaxValueSize+2))
	if err != nil {
		return nil, fmt.Errorf("read the value of %s from %s: %w", name, source, err)
	}
	trimmed := bytes.TrimSuffix(value, []byte("\n"))
	trimmed = bytes.TrimSuffix(trimmed, []byte("\r"))
	out := bytes.Clone(trimmed)
	clear(value)
	return out, nil
}

// isTerminal reports whether r is a character device, such as a terminal.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}
