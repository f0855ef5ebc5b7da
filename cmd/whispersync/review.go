package main

import (
	"context"
	"fmt"

	"github.com/whispersync/whispersync"
)

const reviewExamples = `  whispersync review list
  whispersync review assign m_01jf7x3k9q2w8e5r6t7y8u9i0o memory
  whispersync review list --user alice --json
`

func runReview(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlags("review", "review list | review assign MEMO BUCKET [--user NAME] [--json]\n\nMemos that are unclear, or classified with low confidence, wait here.\nassign settles one with work, memory, idea or mixed, runs its agent and\nrecords the correction as a training signal.", reviewExamples)
	userName := fs.String("user", defaultUser(m.Getenv), "whose review queue (env WHISPERSYNC_USER)")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usagef("review needs an action: list or assign\nhint: whispersync review list")
	}
	var bucket whispersync.Bucket
	switch pos[0] {
	case "list":
	case "assign":
		if len(pos) != 3 {
			return usagef("review assign needs a memo id and a bucket\nhint: whispersync review assign MEMO work")
		}
		if bucket, err = whispersync.ParseBucket(pos[2]); err != nil {
			return usagef("%s", whispersync.ErrorMessage(err))
		}
	default:
		return usagef("unknown review action %q: use list or assign", pos[0])
	}

	a, user, err := m.openUser(ctx, *userName, true)
	if err != nil {
		return err
	}
	defer a.Close()

	if pos[0] == "assign" {
		v, err := a.Pipeline.Assign(ctx, m.operator(), user.ID, pos[1], bucket)
		if err != nil {
			return err
		}
		if *asJSON {
			return m.printJSON(v)
		}
		fmt.Fprintf(m.Stdout, "%s assigned to %s; %s written\n", v.ID, v.Bucket, plural(len(v.Outputs), "output", "outputs"))
		return nil
	}
	memos, err := a.Pipeline.ListReview(ctx, m.operator(), user.ID)
	if err != nil {
		return err
	}
	if *asJSON {
		return m.printJSON(memos)
	}
	for _, v := range memos {
		fmt.Fprintf(m.Stdout, "%s  %-7s  %.2f  %s  %s\n", v.ID, orDash(string(v.Bucket)), v.Confidence, v.Source, v.Reason)
	}
	if len(memos) == 0 {
		fmt.Fprintln(m.Stdout, "no memos wait for review")
	}
	return nil
}
