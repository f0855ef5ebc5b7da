package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/app"
	"github.com/whispersync/whispersync/auth"
)

const usersExamples = `  whispersync users create alice              # prints a generated password
  printf '%s\n' "$PASSWORD" | whispersync users create alice --password-stdin
  whispersync users passwd alice --password-stdin < password.txt
  whispersync users lock alice
  whispersync users unlock alice
  whispersync users list
`

func runUsers(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlags("users", "users create|passwd|lock|unlock|list [NAME] [--password-stdin]\n\nUsers log in to the web UI with a password, stored as an argon2id hash.\ncreate and passwd read the password from stdin with --password-stdin, or\ngenerate one and print it on stdout. A locked user cannot authenticate in any\nway, and unlocking also clears the failed-login counter.", usersExamples)
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of stdin")
	asJSON := fs.Bool("json", false, "list: print JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usagef("users needs an action: create, passwd, lock, unlock or list\nhint: whispersync users create alice")
	}
	action := pos[0]
	if action != "list" && len(pos) != 2 {
		return usagef("users %s needs one user name\nhint: whispersync users %s alice", action, action)
	}

	a, err := m.open(ctx)
	if err != nil {
		return err
	}
	defer a.Close()

	switch action {
	case "create", "passwd":
		password, generated, err := m.password(*fromStdin)
		if err != nil {
			return err
		}
		user, created, err := a.User(ctx, pos[1], action == "create")
		if err != nil {
			return err
		}
		if action == "create" && !created {
			if _, err := a.Identity().Password(ctx, user.ID); err == nil {
				return whispersync.Errorf(whispersync.ECONFLICT, "user %s exists and has a password: change it with `whispersync users passwd %s`", user.Name, user.Name)
			}
		}
		if err := a.SetPassword(ctx, m.operator(), user, password); err != nil {
			return err
		}
		if generated {
			fmt.Fprintln(m.Stdout, password)
		}
		fmt.Fprintf(m.Stderr, "whispersync: set the password of %s\n", user.Name)
		return nil
	case "lock", "unlock":
		user, _, err := a.User(ctx, pos[1], false)
		if err != nil {
			return err
		}
		if err := a.SetLocked(ctx, m.operator(), user, action == "lock"); err != nil {
			return err
		}
		fmt.Fprintf(m.Stderr, "whispersync: %sed %s\n", action, user.Name)
		return nil
	case "list":
		return m.listUsers(ctx, a, *asJSON)
	}
	return usagef("unknown users action %q: use create, passwd, lock, unlock or list", action)
}

// password reads the password from stdin, or generates one.
func (m *Main) password(fromStdin bool) (string, bool, error) {
	if !fromStdin {
		return auth.GeneratePassword(), true, nil
	}
	line, err := bufio.NewReader(io.LimitReader(m.Stdin, auth.MaxPasswordBytes+2)).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", false, fmt.Errorf("read password from stdin: %w", err)
	}
	password := strings.TrimRight(line, "\r\n")
	if err := auth.CheckPassword(password); err != nil {
		return "", false, err
	}
	return password, false, nil
}

type userView struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Password  bool      `json:"password"`
	LockedAt  time.Time `json:"locked_at,omitzero"`
	CreatedAt time.Time `json:"created_at"`
}

func (m *Main) listUsers(ctx context.Context, a *app.App, asJSON bool) error {
	users, err := a.Accounts.ListUsers(ctx)
	if err != nil {
		return err
	}
	views := make([]userView, len(users))
	for i, u := range users {
		v := userView{ID: u.ID, Name: u.Name, CreatedAt: u.CreatedAt}
		if _, err := a.Identity().Password(ctx, u.ID); err == nil {
			v.Password = true
		} else if !whispersync.IsNotFound(err) {
			return err
		}
		if v.LockedAt, err = a.Identity().LockedAt(ctx, u.ID); err != nil {
			return err
		}
		views[i] = v
	}
	if asJSON {
		return m.printJSON(views)
	}
	for _, v := range views {
		state := "active"
		if !v.LockedAt.IsZero() {
			state = "locked"
		}
		login := "no password"
		if v.Password {
			login = "password"
		}
		fmt.Fprintf(m.Stdout, "%-20s  %s  %-6s  %-11s  created %s\n", v.Name, v.ID, state, login, v.CreatedAt.Local().Format(time.DateTime))
	}
	return nil
}
