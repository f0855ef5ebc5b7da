package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/app"
	"github.com/whispersync/whispersync/pipeline"
	"github.com/whispersync/whispersync/respond"
)

// Main is the program. Tests build one with their own streams and
// environment and call Run, in process.
type Main struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string

	// Global flags.
	DataDir        string
	KeyFile        string
	PassphraseFile string
	Verbose        bool

	// Ready, when set, receives the HTTP address once serve listens.
	Ready func(addr string)

	// setDefaultLogger makes Run install the CLI's logger as the process's
	// default, for the packages that log through slog.Default.
	setDefaultLogger bool
}

// NewMain returns a Main on the process's streams and environment.
func NewMain() *Main {
	return &Main{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, setDefaultLogger: true}
}

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, m *Main, args []string) error
}

func commands() []command {
	return []command{
		{"process", "process transcript files and folders through the pipeline", runProcess},
		{"serve", "run the HTTP API and the worker", runServe},
		{"memos", "list and show memos", runMemos},
		{"journal", "show the work journal of a week", runJournal},
		{"memories", "search the memory archive", runMemories},
		{"ideas", "list, show and export idea scaffolds", runIdeas},
		{"review", "list memos waiting for review and assign their bucket", runReview},
		{"dlq", "list and redrive the dead-letter queue", runDLQ},
		{"tokens", "create, list and revoke API tokens", runTokens},
		{"users", "create users, set passwords, lock and unlock accounts", runUsers},
		{"serviceaccounts", "create, list and disable service accounts for machine clients", runServiceAccounts},
		{"blocklist", "block IP addresses and principals at the API edge", runBlocklist},
		{"audit", "verify the audit log against its signed digests, and search it", runAudit},
		{"findings", "run the threat detectors and list, show and archive findings", runFindings},
		{"notify", "list and test the notifiers, and publish findings", runNotify},
		{"responses", "list and undo automatic responses to findings", runResponses},
		{"check", "evaluate the pre-deployment security checklist", runCheck},
		{"keys", "show, rotate, retire and schedule the encryption keys", runKeys},
		{"secrets", "set, get, list, rotate and delete stored secrets", runSecrets},
		{"config", "show the configuration in effect, secrets redacted", runConfig},
		{"backup", "create, list, verify, restore and drill encrypted backups", runBackup},
		{"privacy", "export or erase everything held about a user", runPrivacy},
	}
}

const globalUsage = `Usage: whispersync [--data-dir DIR] [--key-file FILE] [--passphrase-file FILE] [-v] COMMAND [ARGS]

WhisperSync turns voice-memo transcripts into a work journal, a searchable
memory archive and project scaffolds for ideas, encrypted and audited.

Global flags (before the command):
  --data-dir DIR   data directory (env WHISPERSYNC_DATA_DIR; default %s)
  --key-file FILE  key-encryption key file, kept outside the data directory
                   (env WHISPERSYNC_KEY_FILE; default %s)
  --passphrase-file FILE
                   file holding the passphrase that protects the key file
                   (env WHISPERSYNC_PASSPHRASE_FILE; or the systemd
                   credential whispersync-passphrase)
  -v               log debug details to stderr

Commands:
%s
Example:
  whispersync process examples/memos
  whispersync memos list

Run 'whispersync COMMAND --help' for a command's flags and examples.
`

// Run runs the command line args and returns the exit status: 0 on success,
// 1 when the command failed, 2 for a usage error.
func (m *Main) Run(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("whispersync", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.StringVar(&m.DataDir, "data-dir", m.env("WHISPERSYNC_DATA_DIR", defaultDataDir(m.Getenv)), "")
	fs.StringVar(&m.KeyFile, "key-file", m.env("WHISPERSYNC_KEY_FILE", defaultKeyFile(m.Getenv)), "")
	fs.StringVar(&m.PassphraseFile, "passphrase-file", m.Getenv("WHISPERSYNC_PASSPHRASE_FILE"), "")
	fs.BoolVar(&m.Verbose, "v", false, "")
	fs.Usage = func() { m.usage(m.Stderr) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if m.setDefaultLogger {
		slog.SetDefault(m.logger())
	}
	if fs.NArg() == 0 {
		m.usage(m.Stderr)
		return 2
	}
	name, rest := fs.Arg(0), fs.Args()[1:]
	if name == "help" {
		if len(rest) == 0 {
			m.usage(m.Stdout)
			return 0
		}
		name, rest = rest[0], []string{"--help"}
	}
	for _, c := range commands() {
		if c.name != name {
			continue
		}
		err := c.run(ctx, m, rest)
		return m.report(err)
	}
	fmt.Fprintf(m.Stderr, "whispersync: unknown command %q\nhint: run 'whispersync help' for the list of commands\n", name)
	return 2
}

func (m *Main) usage(w io.Writer) {
	var b strings.Builder
	for _, c := range commands() {
		fmt.Fprintf(&b, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, globalUsage, defaultDataDir(m.Getenv), defaultKeyFile(m.Getenv), b.String())
}

// usageError is a mistake on the command line; it exits with status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// flagError turns err into a usage error when it is EINVALID. Callers use
// it where an EINVALID error can only come from a value on the command
// line, such as a flag that the pipeline checks, so that a mistyped value
// exits with status 2 wherever it is checked.
func flagError(err error) error {
	if err != nil && whispersync.ErrorCode(err) == whispersync.EINVALID {
		return usageError{whispersync.ErrorMessage(err)}
	}
	return err
}

// report prints err for people and returns the exit status.
func (m *Main) report(err error) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(m.Stderr, "whispersync: %s\n", ue.msg)
		return 2
	}
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(m.Stderr, "whispersync: interrupted")
		return 130
	}
	msg := whispersync.ErrorMessage(err)
	if whispersync.ErrorCode(err) == whispersync.EINTERNAL {
		// The operator runs the CLI, so the cause is theirs to see.
		msg = err.Error()
	}
	fmt.Fprintf(m.Stderr, "whispersync: %s\n", msg)
	return 1
}

func (m *Main) env(key, fallback string) string {
	if v := m.Getenv(key); v != "" {
		return v
	}
	return fallback
}

// defaultDataDir follows the XDG base directory layout.
func defaultDataDir(getenv func(string) string) string {
	if d := getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "whispersync")
	}
	return filepath.Join(home(getenv), ".local", "share", "whispersync")
}

// defaultKeyFile sits in the configuration folder, apart from the data.
func defaultKeyFile(getenv func(string) string) string {
	if d := getenv("XDG_CONFIG_HOME"); d != "" {
		return filepath.Join(d, "whispersync", "keyring.json")
	}
	return filepath.Join(home(getenv), ".config", "whispersync", "keyring.json")
}

func home(getenv func(string) string) string {
	if h := getenv("HOME"); h != "" {
		return h
	}
	return "."
}

func (m *Main) logger() *slog.Logger {
	level := slog.LevelWarn
	if m.Verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(m.Stderr, &slog.HandlerOptions{Level: level}))
}

// open opens the data directory, printing notices about what it created.
func (m *Main) open(ctx context.Context) (*app.App, error) {
	cfg, err := m.config()
	if err != nil {
		return nil, err
	}
	if cfg.Response, err = respond.ParseConfig(m.Getenv); err != nil {
		return nil, err
	}
	return app.Open(ctx, cfg)
}

// user returns the user called name, creating it on first use.
func (m *Main) user(ctx context.Context, a *app.App, name string) (*whispersync.User, error) {
	u, created, err := a.User(ctx, name, true)
	if err != nil {
		return nil, err
	}
	if created {
		fmt.Fprintf(m.Stderr, "whispersync: created user %s\n", name)
	}
	return u, nil
}

// openUser opens the data directory and finds the user called name, creating
// a missing user when create is set. The caller closes the returned app.
func (m *Main) openUser(ctx context.Context, name string, create bool) (*app.App, *whispersync.User, error) {
	a, err := m.open(ctx)
	if err != nil {
		return nil, nil, err
	}
	var u *whispersync.User
	if create {
		u, err = m.user(ctx, a, name)
	} else {
		u, _, err = a.User(ctx, name, false)
	}
	if err != nil {
		// The user lookup failed; its error is the one to report.
		_ = a.Close()
		return nil, nil, err
	}
	return a, u, nil
}

// operator is the CLI's principal in the audit trail.
func (m *Main) operator() pipeline.Actor {
	name := m.Getenv("USER")
	if name == "" {
		if u, err := user.Current(); err == nil {
			name = u.Username
		} else {
			name = "uid-" + strconv.Itoa(os.Getuid())
		}
	}
	return pipeline.Actor{Principal: "operator:" + name, Source: "cli"}
}

func defaultUser(getenv func(string) string) string {
	if u := getenv("WHISPERSYNC_USER"); u != "" {
		return u
	}
	return "default"
}

// newFlags returns a flag set whose usage prints synopsis, the flags and
// the examples.
func (m *Main) newFlags(name, synopsis, examples string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(m.Stderr, "Usage: whispersync %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
		fmt.Fprintf(m.Stderr, "\nExamples:\n%s", examples)
	}
	return fs
}

// parse parses args with flags allowed before and after the positional
// arguments, which it returns. --help gives flag.ErrHelp and other mistakes
// a usage error.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err.Error()}
		}
		if fs.NArg() == 0 {
			return positional, nil
		}
		// A "--" stops flag parsing for good.
		if len(args) > fs.NArg() && args[len(args)-fs.NArg()-1] == "--" {
			return append(positional, fs.Args()...), nil
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}
