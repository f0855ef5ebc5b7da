package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/whispersync/whispersync/detect"
	"github.com/whispersync/whispersync/respond"
)

const notifyExamples = `  whispersync notify list
  whispersync notify test
  whispersync notify test --channel slack
  whispersync notify publish
`

func runNotify(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlags("notify", "notify list|test|publish [--channel NAME] [--json]\n\nNotifiers deliver findings to people over Slack, e-mail (SMTP with STARTTLS)\nand a signed webhook, configured by the WHISPERSYNC_NOTIFY_* settings, whose\ncredentials live in the secret store. list shows the channels; test sends a\ntest message; publish takes the automatic actions and publishes what is due,\nas serve does after each detection run.", notifyExamples)
	channel := fs.String("channel", "", "test: only this channel (slack, email or webhook)")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("notify needs one action: list, test or publish\nhint: whispersync notify list")
	}
	a, err := m.open(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	cfg := a.ResponseConfig()

	switch pos[0] {
	case "list":
		if *asJSON {
			return m.printJSON(cfg)
		}
		if len(cfg.Channels()) == 0 {
			fmt.Fprintln(m.Stdout, "no notifier configured: set WHISPERSYNC_NOTIFY_SLACK, WHISPERSYNC_NOTIFY_SMTP or WHISPERSYNC_NOTIFY_HOOK")
		}
		if c := cfg.Slack; c != nil {
			fmt.Fprintf(m.Stdout, "slack    incoming webhook, URL in secret %s\n", c.URLSecret)
		}
		if c := cfg.Email; c != nil {
			auth := "no authentication"
			if c.User != "" {
				auth = "user " + c.User + ", password in secret " + c.PasswordSecret
			}
			fmt.Fprintf(m.Stdout, "email    %s with STARTTLS, from %s to %s, %s\n", c.Addr, c.From, strings.Join(c.To, ", "), auth)
		}
		if c := cfg.Webhook; c != nil {
			fmt.Fprintf(m.Stdout, "webhook  %s, signing key in secret %s\n", c.URL, c.KeySecret)
		}
		fmt.Fprintf(m.Stdout, "allowed hosts  %s\ndigest every   %s (high findings at once)\n", strings.Join(cfg.AllowHosts, ", "), cfg.PublishInterval())
		policy := cfg.Policy()
		for _, sev := range []detect.Severity{detect.High, detect.Medium, detect.Low} {
			actions := "none"
			if len(policy[sev]) > 0 {
				var names []string
				for _, a := range policy[sev] {
					names = append(names, string(a))
				}
				actions = strings.Join(names, ", ")
			}
			fmt.Fprintf(m.Stdout, "on %-6s      %s\n", sev, actions)
		}
		return nil
	case "test":
		return m.notifyTest(ctx, a.Notifiers(), *channel, cfg.Retry)
	case "publish":
		res, err := a.Respond(ctx, time.Now().UTC())
		if err != nil {
			return err
		}
		if *asJSON {
			return m.printJSON(res)
		}
		fmt.Fprintf(m.Stdout, "%d automatic actions; %d findings published to %d channels\n", len(res.Actions), len(res.Published), len(res.Delivered))
		m.printResponses(res.Actions)
		for ch, msg := range res.Failed {
			fmt.Fprintf(m.Stderr, "whispersync: %s: delivery failed: %s\n", ch, msg)
		}
		return nil
	}
	return usagef("unknown notify action %q: use list, test or publish", pos[0])
}

// notifyTest sends a low test finding to each channel, or to the one
// named, with the usual retries.
func (m *Main) notifyTest(ctx context.Context, notifiers []respond.Notifier, only string, retry respond.Retry) error {
	now := time.Now().UTC()
	d := respond.Digest{SentAt: now, Findings: []detect.Finding{{
		ID: detect.FindingID("response.test", "notifier:test"), Type: "response.test", Severity: detect.Low,
		Principal: "notifier:test", Evidence: map[string]string{"note": "sent by whispersync notify test"},
		FirstSeen: now, LastSeen: now, Count: 1,
	}}}
	var failed []string
	sent := 0
	for _, n := range notifiers {
		if only != "" && n.Channel() != only {
			continue
		}
		sent++
		if err := respond.Deliver(ctx, n, d, retry, m.logger()); err != nil {
			fmt.Fprintf(m.Stdout, "%-8s failed: %s\n", n.Channel(), err)
			failed = append(failed, n.Channel())
			continue
		}
		fmt.Fprintf(m.Stdout, "%-8s delivered\n", n.Channel())
	}
	if sent == 0 && only != "" {
		return usagef("no notifier named %q is configured\nhint: whispersync notify list shows the configured channels", only)
	}
	if sent == 0 {
		return usagef("no notifier is configured\nhint: set WHISPERSYNC_NOTIFY_SLACK, WHISPERSYNC_NOTIFY_SMTP or WHISPERSYNC_NOTIFY_HOOK (docs/security.md)")
	}
	if len(failed) > 0 {
		return errors.New("delivery failed on " + strings.Join(failed, ", "))
	}
	return nil
}

const responsesExamples = `  whispersync responses list
  whispersync responses undo r_06h4…
`

func runResponses(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlags("responses", "responses list|undo [--json] [ID]\n\nAutomatic responses are the actions taken on findings by severity: lock an\naccount, suspend its tokens, block an address. Each is audited; undo\nreverses one (unlocks the account or removes the block-list entry).", responsesExamples)
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 || (pos[0] == "undo") != (len(pos) == 2) || len(pos) > 2 {
		return usagef("responses needs list, or undo and one response id\nhint: whispersync responses list shows the ids")
	}
	a, err := m.open(ctx)
	if err != nil {
		return err
	}
	defer a.Close()

	switch pos[0] {
	case "list":
		all, err := a.Responses().Responses(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			if all == nil {
				all = []respond.Response{}
			}
			return m.printJSON(all)
		}
		if len(all) == 0 {
			fmt.Fprintln(m.Stdout, "no automatic responses")
		}
		m.printResponses(all)
		return nil
	case "undo":
		r, err := a.UndoResponse(ctx, m.operator(), pos[1])
		if err != nil {
			return err
		}
		if *asJSON {
			return m.printJSON(r)
		}
		fmt.Fprintf(m.Stderr, "whispersync: undid %s %s\n", r.Kind, r.Target)
		return nil
	}
	return usagef("unknown responses action %q: use list or undo", pos[0])
}

func (m *Main) printResponses(all []respond.Response) {
	for _, r := range all {
		state := ""
		if !r.UndoneAt.IsZero() {
			state = "  (undone by " + r.UndoneBy + ")"
		}
		fmt.Fprintf(m.Stdout, "%s  %-6s  %-40s finding %s  at %s%s\n", r.ID, r.Kind, r.Target, r.FindingID, r.At.Local().Format(time.DateTime), state)
	}
}
