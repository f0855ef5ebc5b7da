package main

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/whispersync/whispersync/app"
	"github.com/whispersync/whispersync/detect"
)

const findingsExamples = `  whispersync findings scan
  whispersync findings list
  whispersync findings list --all --json
  whispersync findings show f_3a9c…
  whispersync findings archive f_3a9c…
`

func runFindings(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlags("findings", "findings scan|list|show|archive|reopen [--all] [--json] [ID]\n\nThreat detection turns the audit trail, the dead-letter queue, key usage and\naudit verification into findings: one per type and principal, with a count.\nscan runs the detectors over what is new since the last run (serve does so\n"+every(app.DefaultDetectionInterval)+"); archive hides a finding until it occurs again.\nA secret that only its owner can rotate is a secrets.rotation_due finding.", findingsExamples)
	all := fs.Bool("all", false, "list: include archived findings")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usagef("findings needs an action: scan, list, show, archive or reopen\nhint: whispersync findings list")
	}
	needID := pos[0] == "show" || pos[0] == "archive" || pos[0] == "reopen"
	if needID && len(pos) != 2 {
		return usagef("findings %s needs one finding id\nhint: whispersync findings list shows the ids", pos[0])
	}
	a, err := m.open(ctx)
	if err != nil {
		return err
	}
	defer a.Close()

	switch pos[0] {
	case "scan":
		res, err := a.ScanFindings(ctx, m.DataDir, detect.Thresholds{})
		if err != nil {
			return err
		}
		if *asJSON {
			return m.printJSON(res)
		}
		fmt.Fprintf(m.Stdout, "read %d audit entries; %d findings raised or updated\n", res.Entries, len(res.Changed))
		m.printFindings(res.Changed)
		return nil
	case "list":
		found, err := a.Findings().List(ctx)
		if err != nil {
			return err
		}
		var shown []detect.Finding
		for _, f := range found {
			if *all || !f.Archived {
				shown = append(shown, f)
			}
		}
		if *asJSON {
			if shown == nil {
				shown = []detect.Finding{}
			}
			return m.printJSON(shown)
		}
		if len(shown) == 0 {
			fmt.Fprintln(m.Stdout, "no findings")
		}
		m.printFindings(shown)
		return nil
	case "show":
		f, err := a.Findings().Get(ctx, pos[1])
		if err != nil {
			return err
		}
		if *asJSON {
			return m.printJSON(f)
		}
		m.printFinding(f)
		return nil
	case "archive", "reopen":
		f, err := a.ArchiveFinding(ctx, m.operator(), pos[1], pos[0] == "archive")
		if err != nil {
			return err
		}
		if *asJSON {
			return m.printJSON(f)
		}
		verb := map[string]string{"archive": "archived", "reopen": "reopened"}[pos[0]]
		fmt.Fprintf(m.Stderr, "whispersync: %s %s\n", verb, f.ID)
		return nil
	}
	return usagef("unknown findings action %q: use scan, list, show, archive or reopen", pos[0])
}

func (m *Main) printFindings(found []detect.Finding) {
	for _, f := range found {
		state := ""
		if f.Archived {
			state = "  (archived)"
		}
		fmt.Fprintf(m.Stdout, "%s  %-6s  %-26s %-32s count %-5d last %s%s\n", f.ID, f.Severity, f.Type, f.Principal, f.Count, f.LastSeen.Local().Format(time.DateTime), state)
	}
}

func (m *Main) printFinding(f detect.Finding) {
	fmt.Fprintf(m.Stdout, "id          %s\ntype        %s\nseverity    %s\nprincipal   %s\ncount       %d\nfirst seen  %s\nlast seen   %s\narchived    %t\nevidence\n",
		f.ID, f.Type, f.Severity, f.Principal, f.Count, f.FirstSeen.Local().Format(time.DateTime), f.LastSeen.Local().Format(time.DateTime), f.Archived)
	keys := make([]string, 0, len(f.Evidence))
	for k := range f.Evidence {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(m.Stdout, "  %-14s %s\n", k, f.Evidence[k])
	}
}

// every returns how often an interval recurs, in words: "every minute",
// "every 15 minutes", or "every 1m30s" for an interval of no whole minutes.
func every(d time.Duration) string {
	switch {
	case d == time.Minute:
		return "every minute"
	case d > 0 && d%time.Minute == 0:
		return fmt.Sprintf("every %d minutes", d/time.Minute)
	}
	return "every " + d.String()
}
