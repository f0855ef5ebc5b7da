package main

import (
	"context"
	"fmt"
	"time"
)

const dlqExamples = `  whispersync dlq list
  whispersync dlq redrive
  whispersync dlq redrive MESSAGE_ID
`

func runDLQ(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlags("dlq", "dlq list|redrive [--json] [MESSAGE_ID...]\n\nMessages that failed five receives wait in the dead-letter queue. redrive\nmoves them (all, or the ids given) back to the queue; the next worker run\nprocesses them.", dlqExamples)
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usagef("dlq needs an action: list or redrive\nhint: whispersync dlq list")
	}
	a, err := m.open(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	actor := m.operator()

	switch pos[0] {
	case "list":
		letters, err := a.DeadLetters(ctx, actor)
		if err != nil {
			return err
		}
		if *asJSON {
			return m.printJSON(letters)
		}
		for _, l := range letters {
			fmt.Fprintf(m.Stdout, "%s  dead since %s  receives %d  %s\n", l.ID, l.DeadAt.Local().Format(time.DateTime), l.ReceiveCount, l.LastError)
		}
		if len(letters) == 0 {
			fmt.Fprintln(m.Stdout, "the dead-letter queue is empty")
		}
		return nil
	case "redrive":
		n, err := a.Redrive(ctx, actor, pos[1:]...)
		if err != nil {
			return err
		}
		if *asJSON {
			return m.printJSON(map[string]int{"redriven": n})
		}
		fmt.Fprintf(m.Stdout, "moved %d messages back to the queue\n", n)
		return nil
	}
	return usagef("unknown dlq action %q: use list or redrive", pos[0])
}
