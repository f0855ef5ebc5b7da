package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/agent/idea"
)

const ideasExamples = `  whispersync ideas list
  whispersync ideas show m_01jf7x3k9q2w8e5r6t7y8u9i0o
  whispersync ideas export m_01jf7x3k9q2w8e5r6t7y8u9i0o --to ~/projects/seating-chart
`

func runIdeas(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlags("ideas", "ideas list|show|export [--user NAME] [--json] [MEMO] [--to DIR]\n\nLists idea scaffolds, shows one, or writes one as a project folder\n(README, issues, .gitignore). Scaffolds are stored encrypted; export is\nthe only step that writes them in plaintext, to the folder you name.", ideasExamples)
	userName := fs.String("user", defaultUser(m.Getenv), "whose ideas (env WHISPERSYNC_USER)")
	asJSON := fs.Bool("json", false, "print JSON")
	to := fs.String("to", "", "export: the project folder to write (must be empty or absent)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usagef("ideas needs an action: list, show or export\nhint: whispersync ideas list")
	}

	a, user, err := m.openUser(ctx, *userName, true)
	if err != nil {
		return err
	}
	defer a.Close()
	actor := m.operator()

	switch pos[0] {
	case "list":
		ideas, err := a.Pipeline.ListIdeas(ctx, actor, user.ID)
		if err != nil {
			return err
		}
		if *asJSON {
			return m.printJSON(ideas)
		}
		for _, v := range ideas {
			fmt.Fprintf(m.Stdout, "%s  %-28s  %-20s  %s\n", v.Memo, v.Name, strings.Join(v.Stack, ", "), v.Description)
		}
		return nil
	case "show", "export":
		if len(pos) != 2 {
			return usagef("ideas %s needs one memo id\nhint: whispersync ideas list shows the ids", pos[0])
		}
		v, err := a.Pipeline.GetIdea(ctx, actor, user.ID, pos[1])
		if err != nil {
			return err
		}
		if pos[0] == "export" {
			if *to == "" {
				return usagef("ideas export needs --to DIR, the project folder to write")
			}
			if err := checkExportFolder(*to); err != nil {
				return err
			}
			if err := idea.WriteProject(*to, v.Scaffold); err != nil {
				return err
			}
			fmt.Fprintf(m.Stderr, "whispersync: wrote project %q to %s\n", v.Name, *to)
			return nil
		}
		if *asJSON {
			return m.printJSON(v)
		}
		fmt.Fprintf(m.Stdout, "%s\n%s\nstack: %s\n\n", v.Name, v.Description, strings.Join(v.Stack, ", "))
		for i, issue := range v.Issues {
			fmt.Fprintf(m.Stdout, "issue %d: %s\n", i+1, issue.Title)
		}
		return nil
	}
	return usagef("unknown ideas action %q: use list, show or export", pos[0])
}

// checkExportFolder refuses a project folder that exists and is not empty,
// as the help promises, even when it holds this very project: export then
// writes nothing, and saying "wrote" would be untrue.
func checkExportFolder(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("read the project folder %s: %w", dir, err)
	case len(entries) > 0:
		return whispersync.Errorf(whispersync.ECONFLICT, "project folder %s is not empty: name a new or empty folder with --to, or remove %s first", dir, dir)
	}
	return nil
}
