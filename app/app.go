// Package app opens a WhisperSync data directory: it wires the embedded
// stores, the key ring, the audit log, the classifier and the pipeline, for
// the CLI and the HTTP server alike.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/audit"
	"github.com/whispersync/whispersync/classify"
	"github.com/whispersync/whispersync/pipeline"
	"github.com/whispersync/whispersync/respond"
	"github.com/whispersync/whispersync/seal"
	"github.com/whispersync/whispersync/secrets"
	"github.com/whispersync/whispersync/sqlite"
)

// Config locates a data directory and its key-encryption key.
type Config struct {
	// DataDir holds the database, the objects and the audit log.
	DataDir string
	// KeyFile holds the key-encryption keys. It must live outside DataDir,
	// so that a copy of the data directory alone reveals nothing.
	KeyFile string
	// PassphraseFile, when set, holds the passphrase that protects the key
	// file; it overrides WHISPERSYNC_PASSPHRASE_FILE and a systemd
	// credential.
	PassphraseFile string
	// MaxReceives is how often a message is delivered before it moves to
	// the dead-letter queue; default 5.
	MaxReceives int
	Logger      *slog.Logger
	// Notice receives one-line messages for people, such as "created data
	// directory …"; nil drops them.
	Notice func(string)
	// AuditDigestInterval is how often the audit log signs a digest; zero
	// means hourly.
	AuditDigestInterval time.Duration
	// Backup configures backups, Residency the allowed regions.
	Backup    BackupConfig
	Residency ResidencyConfig
	// Response configures notifiers and automatic actions.
	Response respond.Config
}

// App is an open data directory.
type App struct {
	DB       *sqlite.DB
	Objects  *sqlite.ObjectStore
	Keyring  *seal.Keyring
	Sealer   *seal.Sealer
	Audit    *audit.Log
	Queue    *sqlite.Queue
	Accounts whispersync.Accounts
	Pipeline *pipeline.Pipeline
	Logger   *slog.Logger
	// Secrets is the encrypted secret store.
	Secrets *secrets.Store

	// auth caches the reads of token authentication and failure checks.
	auth authCache
	// lock is the data directory's lock file, held while the App is open.
	lock     *os.File
	keys     *keyState
	ops      ops
	response respond.Config
}

// Open opens or creates the data directory and key file named by cfg. It
// also sets GOMAXPROCS to the runtime's default plus one for each goroutine
// that mostly waits in fsync, unless the GOMAXPROCS environment variable is
// set (see TuneProcs).
func Open(ctx context.Context, cfg Config) (*App, error) {
	if cfg.DataDir == "" || cfg.KeyFile == "" {
		return nil, errors.New("app: the data directory and the key file must both be set")
	}
	TuneProcs()
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	notice := cfg.Notice
	if notice == nil {
		notice = func(string) {}
	}
	// Checked before anything is created, so a refused directory stays as
	// it is.
	if err := checkObjectLayout(cfg.DataDir); err != nil {
		return nil, err
	}
	if inside(cfg.DataDir, cfg.KeyFile) {
		return nil, whispersync.Errorf(whispersync.EINVALID, "key file %s is inside the data directory %s: keep it elsewhere (--key-file or WHISPERSYNC_KEY_FILE), so a copy of the data directory alone reveals nothing", cfg.KeyFile, cfg.DataDir)
	}

	if _, err := os.Stat(cfg.DataDir); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("app: create data directory: %w", err)
		}
		notice("created data directory " + cfg.DataDir)
	}
	if err := checkKeyFileExpected(cfg); err != nil {
		return nil, err
	}
	kr, created, source, err := openKeyring(cfg)
	if err != nil {
		return nil, fmt.Errorf("app: open key file: %w", err)
	}
	if created {
		notice("created key file " + cfg.KeyFile + ": back it up apart from the data directory; without it the data cannot be read")
	}

	a := &App{Keyring: kr, Logger: cfg.Logger, response: cfg.Response}
	if err := a.open(ctx, cfg); err != nil {
		return nil, errors.Join(err, a.Close())
	}
	if err := a.openKeys(ctx, source); err != nil {
		return nil, errors.Join(err, a.Close())
	}
	a.Secrets.SetFindingSink(a.recordSecretFinding)
	if err := a.openOps(ctx, cfg); err != nil {
		return nil, errors.Join(err, a.Close())
	}
	return a, nil
}

func (a *App) open(ctx context.Context, cfg Config) error {
	var err error
	if a.lock, err = lockDataDir(cfg.DataDir); err != nil {
		return err
	}
	if err := checkRestoreComplete(cfg.DataDir); err != nil {
		return err
	}
	_, objectsErr := os.Stat(filepath.Join(cfg.DataDir, "objects.db"))
	a.DB, err = sqlite.Open(ctx, filepath.Join(cfg.DataDir, "whispersync.db"))
	if err != nil {
		return fmt.Errorf("app: open database: %w", err)
	}
	if errors.Is(objectsErr, os.ErrNotExist) {
		if err := a.checkNoData(ctx, cfg.DataDir); err != nil {
			return err
		}
	}
	a.Objects, err = sqlite.OpenObjectStore(ctx, filepath.Join(cfg.DataDir, "objects.db"))
	if err != nil {
		return fmt.Errorf("app: open object store: %w", err)
	}
	a.Audit, err = a.openAudit(ctx, cfg)
	if err != nil {
		return fmt.Errorf("app: open audit log: %w", err)
	}
	a.Accounts = a.DB.Accounts()
	a.Queue = a.DB.Queue("memos", sqlite.QueueOptions{MaxReceives: cfg.MaxReceives})
	a.Sealer = seal.NewSealer(a.Keyring, a.DB.Tables(), seal.SealerOptions{Logger: a.Logger.With("component", "seal")})

	model, err := classify.New(classify.Options{})
	if err != nil {
		return fmt.Errorf("app: build classifier: %w", err)
	}
	a.Pipeline, err = pipeline.New(pipeline.Config{
		Objects:    a.Objects,
		Tables:     a.DB.Tables(),
		Queue:      a.Queue,
		Sealer:     a.Sealer,
		Classifier: model,
		Personalize: func(corrections []pipeline.Correction) (whispersync.Classifier, error) {
			examples := make([]classify.Example, len(corrections))
			for i, c := range corrections {
				examples[i] = classify.Example{Text: c.Text, Buckets: c.Buckets}
			}
			return classify.New(classify.Options{Examples: examples})
		},
		Auditor:     a.Audit,
		Logger:      a.Logger.With("component", "pipeline"),
		WriteSender: a.Queue,
	})
	return err
}

// Close closes everything Open opened.
func (a *App) Close() error {
	a.stopKeySchedule()
	var errs []error
	if a.Audit != nil {
		errs = append(errs, a.Audit.Close())
	}
	if a.Objects != nil {
		errs = append(errs, a.Objects.Close())
	}
	if a.DB != nil {
		errs = append(errs, a.DB.Close())
	}
	if a.lock != nil {
		// Closing the file releases the lock.
		errs = append(errs, a.lock.Close())
		a.lock = nil
	}
	return errors.Join(errs...)
}

// User returns the user called name, creating it when create is set.
func (a *App) User(ctx context.Context, name string, create bool) (*whispersync.User, bool, error) {
	u, err := a.Accounts.FindUserByName(ctx, name)
	if err == nil {
		return u, false, nil
	}
	if !whispersync.IsNotFound(err) || !create {
		return nil, false, err
	}
	u, err = a.Accounts.CreateUser(ctx, name)
	if whispersync.IsConflict(err) {
		u, err = a.Accounts.FindUserByName(ctx, name)
		return u, false, err
	}
	if err != nil {
		return nil, false, err
	}
	if err := a.Audit.Append(ctx, whispersync.AuditEvent{Principal: "operator", Action: "user.create", Resource: "user:" + u.ID, Outcome: whispersync.OutcomeSuccess}); err != nil {
		return nil, false, err
	}
	return u, true, nil
}

// Recover queues again the memos whose message a crash may have lost, and
// removes the objects of memos a crash kept from being recorded. It must
// run before any submit, as serve and process call it at start-up.
func (a *App) Recover(ctx context.Context) error {
	if _, err := a.Pipeline.SweepOrphans(ctx); err != nil {
		return err
	}
	_, err := a.Pipeline.Recover(ctx, 0)
	return err
}

// checkKeyFileExpected refuses to create a new key file for a data
// directory that already holds a database: its data is sealed under another
// key file, and data written under a new one would be split across two keys.
func checkKeyFileExpected(cfg Config) error {
	if _, err := os.Stat(cfg.KeyFile); !errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, "whispersync.db")); err != nil {
		return nil
	}
	return whispersync.Errorf(whispersync.EINVALID, "key file %s not found, but the data directory %s already holds data sealed under a key file: restore the key file from your backup, or point --key-file (WHISPERSYNC_KEY_FILE) at it", cfg.KeyFile, cfg.DataDir)
}

// inside reports whether path lies in dir, after resolving both to absolute
// paths with symbolic links followed as far as they exist, so a link cannot
// smuggle a key file into the data directory.
func inside(dir, path string) bool {
	d, err1 := resolve(dir)
	p, err2 := resolve(path)
	if err1 != nil || err2 != nil {
		return false
	}
	rel, err := filepath.Rel(d, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// resolve returns path made absolute with the symbolic links of its longest
// existing prefix resolved; the parts that do not exist yet are kept as
// they are.
func resolve(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	var rest []string
	for p := abs; ; p = filepath.Dir(p) {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Join(append([]string{real}, rest...)...), nil
		}
		if p == filepath.Dir(p) {
			return abs, nil
		}
		rest = append([]string{filepath.Base(p)}, rest...)
	}
}
