package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/whispersync/whispersync/extract"
)

const journalExamples = `  whispersync journal show
  whispersync journal show --week 2026-W49 --user alice
  whispersync journal show --week 2026-W49 --json
`

func runJournal(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlags("journal", "journal show [--week YYYY-Www] [--user NAME] [--json]\n\nShows the work journal of one ISO week: entries, action items and a summary.", journalExamples)
	userName := fs.String("user", defaultUser(m.Getenv), "whose journal (env WHISPERSYNC_USER)")
	week := fs.String("week", "", "ISO week, such as 2026-W49 (default: this week)")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || pos[0] != "show" {
		return usagef("journal needs the action show\nhint: whispersync journal show --week %s", extract.Week(time.Now()))
	}

	if *week == "" {
		*week = extract.Week(time.Now())
	}

	a, user, err := m.openUser(ctx, *userName, true)
	if err != nil {
		return err
	}
	defer a.Close()
	j, err := a.Pipeline.Journal(ctx, m.operator(), user.ID, *week)
	if err != nil {
		// The week is the one value the journal checks.
		return flagError(err)
	}
	if *asJSON {
		return m.printJSON(j)
	}

	fmt.Fprintf(m.Stdout, "Work journal %s: %d entries\n", j.Week, len(j.Entries))
	for _, e := range j.Entries {
		fmt.Fprintf(m.Stdout, "\n%s  %s  [%s]  sentiment %s\n  %s\n", e.Date, e.Memo, strings.Join(e.Categories, ", "), e.Sentiment, e.Summary)
		for _, item := range e.ActionItems {
			fmt.Fprintf(m.Stdout, "  - [ ] %s\n", item)
		}
	}
	if len(j.Entries) == 0 {
		fmt.Fprintln(m.Stdout, "no entries: process work memos first, or pick another week with --week")
	}
	return nil
}
