package app

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/audit"
	"github.com/whispersync/whispersync/pipeline"
	"github.com/whispersync/whispersync/seal"
)

// Key-ring derivations of the audit log's keys. They are kept in the key
// file, apart from the data directory, so that whoever can rewrite the log
// can neither sign a digest for it nor compute the HMAC of a guessed value.
const (
	auditHMACPurpose   = "audit-hmac"
	auditDigestPurpose = "audit-digest-ed25519"
)

// DefaultMaxUnsigned is how old the newest audit digest may be while
// entries after it are unsigned before verification fails: two digest
// intervals, so a writer that signs every interval never trips it.
const DefaultMaxUnsigned = 2 * audit.DefaultDigestInterval

// AuditAnchorFile is the file beside the key file that records the newest
// signed audit digest, so a log rolled back inside the data directory is
// detected.
func AuditAnchorFile(keyFile string) string { return keyFile + ".audit-anchor" }

// AuditDir is the folder of the audit log of a data directory.
func AuditDir(dataDir string) string { return filepath.Join(dataDir, "audit") }

// AuditIdentityFile is the file in a data directory that binds it to its
// audit log, under whose identity the anchor file keeps the log's record.
func AuditIdentityFile(dataDir string) string {
	return filepath.Join(dataDir, audit.IdentityFileName)
}

// auditIdentityPurpose is the key-ring derivation from which the key that
// authenticates audit identity files is derived: the backup key, because
// a restore, which holds only that key, gives the restored directory its
// identity (see backup.Repository.Restore).
const auditIdentityPurpose = "backup"

// auditOptions returns the options of the audit log of cfg.DataDir under
// the keys of kr. hasData reports whether the data directory contains data.
func auditOptions(kr *seal.Keyring, cfg Config, logger *slog.Logger, hasData bool) audit.Options {
	seed := kr.DeriveKey(auditDigestPurpose)
	defer clear(seed)
	secret := kr.DeriveKey(auditIdentityPurpose)
	defer clear(secret)
	return audit.Options{
		HMACKey:        kr.DeriveKey(auditHMACPurpose),
		DigestKey:      audit.SigningKey(seed),
		DigestInterval: cfg.AuditDigestInterval,
		AnchorFile:     AuditAnchorFile(cfg.KeyFile),
		IdentityFile:   AuditIdentityFile(cfg.DataDir),
		IdentityKey:    audit.IdentityKey(secret),
		HasData:        hasData,
		Logger:         logger.With("component", "audit"),
	}
}

// openAudit opens the audit log of the data directory. It rejects a log
// that is missing, replaced or rolled back behind its record in the anchor
// file (see audit.Options.IdentityFile).
func (a *App) openAudit(ctx context.Context, cfg Config) (*audit.Log, error) {
	empty, err := a.DB.Empty(ctx)
	if err != nil {
		return nil, err
	}
	return audit.Open(AuditDir(cfg.DataDir), auditOptions(a.Keyring, cfg, a.Logger, !empty))
}

// ResetAudit starts the audit log of cfg.DataDir over, for a log that is
// lost or cannot be trusted, so that opening the data directory fails. It
// moves the log aside, drops its record from the anchor file, gives the
// data directory a new identity and opens a new log. That log's first entry
// records actor, reason and the former log (see audit.Reset). ResetAudit
// needs the data directory to itself and an existing key file.
func ResetAudit(ctx context.Context, cfg Config, actor pipeline.Actor, reason string) (audit.ResetNote, error) {
	if strings.TrimSpace(reason) == "" {
		return audit.ResetNote{}, whispersync.Errorf(whispersync.EINVALID, "say why the audit log is reset: --reason TEXT, such as an incident number")
	}
	if err := checkPrintable("audit reset reason", reason, maxBlockReason); err != nil {
		return audit.ResetNote{}, err
	}
	if _, err := os.Stat(cfg.DataDir); err != nil {
		return audit.ResetNote{}, whispersync.Errorf(whispersync.ENOTFOUND, "data directory %s not found: check --data-dir (WHISPERSYNC_DATA_DIR)", cfg.DataDir)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	kr, err := openExistingKeyring(cfg)
	if err != nil {
		return audit.ResetNote{}, err
	}
	defer kr.Close()
	lock, err := lockDataDir(cfg.DataDir)
	if err != nil {
		return audit.ResetNote{}, err
	}
	defer lock.Close() // closing releases the lock

	opts := auditOptions(kr, cfg, cfg.Logger, true)
	dir := AuditDir(cfg.DataDir)
	// A log that opens is bound to this directory and matches its record:
	// resetting it would only hide its history.
	if l, err := audit.Open(dir, opts); err == nil {
		if err := l.Close(); err != nil {
			return audit.ResetNote{}, err
		}
		return audit.ResetNote{}, whispersync.Errorf(whispersync.ECONFLICT, "the audit log in %s opens and matches its record in the anchor file: there is nothing to reset (whispersync audit verify checks it)", dir)
	}
	note, err := audit.Reset(dir, opts, audit.ResetNote{Principal: actor.Principal, Source: actor.Source, Reason: reason, Time: time.Now()})
	if err != nil {
		return note, err
	}
	l, err := audit.Open(dir, opts)
	if err != nil {
		return note, fmt.Errorf("app: open the new audit log: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return note, errors.Join(err, l.Close())
	}
	return note, l.Close()
}

// auditPublicKey returns the public key that verifies the audit digests.
func auditPublicKey(kr *seal.Keyring) ed25519.PublicKey {
	seed := kr.DeriveKey(auditDigestPurpose)
	defer clear(seed)
	return audit.PublicKey(audit.SigningKey(seed))
}

// AuditHMACKey returns the key under which the audit log stores the hashed
// values of events, for searching by a value. The caller should zero it.
func AuditHMACKey(kr *seal.Keyring) []byte { return kr.DeriveKey(auditHMACPurpose) }

// VerifyAudit checks the audit log of cfg.DataDir against its chain and its
// signed digests. It opens only the key file, never the data directory, so
// it runs while another process such as serve has the data directory open,
// and it signs nothing. opts.Key is set from the key file.
func VerifyAudit(cfg Config, opts audit.VerifyOptions) (audit.Report, error) {
	kr, err := openExistingKeyring(cfg)
	if err != nil {
		return audit.Report{}, err
	}
	defer kr.Close()
	opts.Key = auditPublicKey(kr)
	if opts.AnchorFile == "" {
		opts.AnchorFile = AuditAnchorFile(cfg.KeyFile)
		opts.IdentityFile = AuditIdentityFile(cfg.DataDir)
	}
	return audit.VerifySigned(AuditDir(cfg.DataDir), opts)
}

// SearchAudit calls fn for each entry of the audit log of cfg.DataDir that
// f matches, in log order, until fn returns an error. Like VerifyAudit it
// opens nothing but the log's files.
func SearchAudit(cfg Config, f audit.Filter, fn func(audit.Entry) error) error {
	dir := AuditDir(cfg.DataDir)
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return whispersync.Errorf(whispersync.ENOTFOUND, "no audit log in %s: check --data-dir (WHISPERSYNC_DATA_DIR)", cfg.DataDir)
	}
	return audit.Read(dir, func(e audit.Entry) error {
		if !f.Match(e) {
			return nil
		}
		return fn(e)
	})
}

// openExistingKeyring opens the key file of cfg and never creates one.
func openExistingKeyring(cfg Config) (*seal.Keyring, error) {
	if _, err := os.Stat(cfg.KeyFile); errors.Is(err, os.ErrNotExist) {
		return nil, whispersync.Errorf(whispersync.ENOTFOUND, "key file %s not found: point --key-file (WHISPERSYNC_KEY_FILE) at the key file of this data directory", cfg.KeyFile)
	}
	kr, _, _, err := openKeyring(cfg)
	if err != nil {
		return nil, fmt.Errorf("app: open key file: %w", err)
	}
	return kr, nil
}
