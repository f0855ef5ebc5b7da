package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/pipeline"
)

const memosExamples = `  whispersync memos list
  whispersync memos list --user alice --status review --json
  whispersync memos show m_01jf7x3k9q2w8e5r6t7y8u9i0o
`

func runMemos(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlags("memos", "memos list|show [--user NAME] [--json] [ID]\n\nLists the user's memos, newest first, one per line, or shows one memo.", memosExamples)
	userName := fs.String("user", defaultUser(m.Getenv), "whose memos (env WHISPERSYNC_USER)")
	asJSON := fs.Bool("json", false, "print JSON")
	status := fs.String("status", "", "list only memos in this state: queued, processed, review or rejected")
	limit := fs.Int("limit", 0, "list at most this many memos (0: all)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usagef("memos needs an action: list or show\nhint: whispersync memos list")
	}

	a, user, err := m.openUser(ctx, *userName, true)
	if err != nil {
		return err
	}
	defer a.Close()

	switch pos[0] {
	case "list":
		memos, err := a.Pipeline.ListMemos(ctx, m.operator(), user.ID, pipeline.ListOptions{Status: whispersync.MemoStatus(*status), Limit: *limit})
		if err != nil {
			// The list checks only --status and --limit.
			return flagError(err)
		}
		if *asJSON {
			if memos == nil {
				memos = []pipeline.MemoView{}
			}
			return m.printJSON(memos)
		}
		for _, v := range memos {
			fmt.Fprintf(m.Stdout, "%s  %s  %-9s  %-7s  %.2f  %s\n", v.ID, v.CreatedAt.Local().Format("2006-01-02 15:04"), v.Status, orDash(string(v.Bucket)), v.Confidence, v.Source)
		}
		return nil
	case "show":
		if len(pos) != 2 {
			return usagef("memos show needs one memo id\nhint: whispersync memos list shows the ids")
		}
		v, err := a.Pipeline.GetMemo(ctx, m.operator(), user.ID, pos[1])
		if err != nil {
			return err
		}
		if *asJSON {
			return m.printJSON(v)
		}
		return printMemo(m, v)
	}
	return usagef("unknown memos action %q: use list or show", pos[0])
}

func printMemo(m *Main, v pipeline.MemoView) error {
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "id\t%s\n", v.ID)
	fmt.Fprintf(tw, "status\t%s\n", v.Status)
	fmt.Fprintf(tw, "source\t%s\n", v.Source)
	fmt.Fprintf(tw, "created\t%s\n", v.CreatedAt.Local().Format("2006-01-02 15:04:05"))
	if v.Bucket != "" {
		bucket := string(v.Bucket)
		if len(v.Buckets) > 1 {
			bucket += " (" + joinBuckets(v.Buckets) + ")"
		}
		fmt.Fprintf(tw, "bucket\t%s, confidence %.2f\n", bucket, v.Confidence)
		fmt.Fprintf(tw, "reason\t%s\n", v.Reason)
	}
	if len(v.People) > 0 {
		fmt.Fprintf(tw, "people\t%s\n", strings.Join(v.People, ", "))
	}
	for i, item := range v.ActionItems {
		label := ""
		if i == 0 {
			label = "action items"
		}
		fmt.Fprintf(tw, "%s\t- %s\n", label, item)
	}
	for i, o := range v.Outputs {
		label := ""
		if i == 0 {
			label = "outputs"
		}
		fmt.Fprintf(tw, "%s\t%s → %s %s\n", label, o.Agent, o.Table, o.Key)
	}
	if v.Error != nil {
		fmt.Fprintf(tw, "rejected\t%s (rule %s)\n", v.Error.Message, v.Error.Rule)
	}
	return tw.Flush()
}

// plural returns n with the singular or plural noun.
func plural(n int, singular, pluralForm string) string {
	if n == 1 {
		return "1 " + singular
	}
	return fmt.Sprintf("%d %s", n, pluralForm)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
