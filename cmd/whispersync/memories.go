package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/whispersync/whispersync/agent/memory"
)

const memoriesExamples = `  whispersync memories search beach
  whispersync memories search "first bike" --person Maya --sentiment positive
  whispersync memories search --theme family --from 2026-01-01 --json
`

func runMemories(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlags("memories", "memories search [QUERY] [--person NAME] [--theme THEME] [--sentiment LABEL] [--from DATE] [--to DATE] [--json]\n\nSearches the memory archive. Every word of QUERY must occur; filters narrow further.", memoriesExamples)
	userName := fs.String("user", defaultUser(m.Getenv), "whose memories (env WHISPERSYNC_USER)")
	person := fs.String("person", "", "only memories that mention this person")
	theme := fs.String("theme", "", "only memories with this theme, such as family or travel")
	sentiment := fs.String("sentiment", "", "only memories with this sentiment: positive, negative, neutral or mixed")
	from := fs.String("from", "", "only memories from this date on (YYYY-MM-DD)")
	to := fs.String("to", "", "only memories up to this date (YYYY-MM-DD)")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 || pos[0] != "search" {
		return usagef("memories needs the action search\nhint: whispersync memories search beach")
	}
	filter := memory.Filter{Person: *person, Theme: *theme, Sentiment: *sentiment}
	if filter.From, err = parseDate("--from", *from); err != nil {
		return err
	}
	if filter.To, err = parseDate("--to", *to); err != nil {
		return err
	}

	a, user, err := m.openUser(ctx, *userName, true)
	if err != nil {
		return err
	}
	defer a.Close()
	hits, err := a.Pipeline.SearchMemories(ctx, m.operator(), user.ID, strings.Join(pos[1:], " "), filter)
	if err != nil {
		// The search checks only its words and the filters.
		return flagError(err)
	}
	if *asJSON {
		return m.printJSON(hits)
	}
	for _, h := range hits {
		fmt.Fprintf(m.Stdout, "%s  %s  %s\n  %s\n", h.Date, h.Memo, strings.Join(h.People, ", "), h.Summary)
	}
	fmt.Fprintln(m.Stdout, plural(len(hits), "memory", "memories")+" found")
	return nil
}

func parseDate(flagName, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return time.Time{}, usagef("invalid %s date %q: use YYYY-MM-DD, such as 2026-12-04", flagName, s)
	}
	return t, nil
}
