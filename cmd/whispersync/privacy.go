package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
)

const privacyExamples = `  whispersync privacy export --user alice --to alice-export.zip
  whispersync privacy erase --user alice
  whispersync privacy erase --user alice --yes > alice-erasure-receipt.json
`

func runPrivacy(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlags("privacy", "privacy export|erase --user NAME [--to FILE] [--yes]\n\nAnswers data-subject requests. export writes everything held about a user as\na zip of JSON and the original transcripts. erase deletes the user's data in\nevery table, object version, queue and cache, destroys the user's keys so no\nbackup can reveal the data, records the erasure in the ledger that every\nrestore applies again, and prints a signed receipt.", privacyExamples)
	userName := fs.String("user", "", "the user the request is about")
	to := fs.String("to", "", "export: the zip file to write (mode 0600); it must not exist")
	yes := fs.Bool("yes", false, "erase: do not ask for confirmation")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("privacy needs one action: export or erase\nhint: whispersync privacy export --user alice --to alice.zip")
	}
	if *userName == "" {
		return usagef("privacy %s needs --user NAME", pos[0])
	}
	switch pos[0] {
	case "export":
		if *to == "" {
			return usagef("privacy export needs --to FILE")
		}
	case "erase":
	default:
		return usagef("unknown privacy action %q: use export or erase", pos[0])
	}

	a, user, err := m.openUser(ctx, *userName, false)
	if err != nil {
		return err
	}
	defer a.Close()

	if pos[0] == "export" {
		f, err := os.OpenFile(*to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fmt.Errorf("create %s: %w", *to, err)
		}
		err = a.ExportUser(ctx, m.operator(), user, f)
		if err = errors.Join(err, f.Close()); err != nil {
			// A partial export contains user content, so the operator learns
			// when it could not be removed.
			return errors.Join(err, os.Remove(*to))
		}
		fmt.Fprintf(m.Stderr, "whispersync: wrote everything held about %s to %s\n", *userName, *to)
		return nil
	}

	if !*yes {
		fmt.Fprintf(m.Stderr, "Erase every memo, output, object and key of user %s for good? Backups will no longer reveal them. Type the user name to confirm: ", *userName)
		line, _ := bufio.NewReader(m.Stdin).ReadString('\n')
		if strings.TrimSpace(line) != *userName {
			return errors.New("erasure not confirmed: nothing was changed")
		}
	}
	receipt, err := a.EraseUser(ctx, m.operator(), user)
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stderr, "whispersync: erased user %s, now named %s in the audit trail\n", *userName, receipt.Pseudonym)
	return m.printJSON(receipt)
}
