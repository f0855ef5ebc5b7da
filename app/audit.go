package app

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/audit"
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

func (a *App) openAudit(cfg Config) (*audit.Log, error) {
	seed := a.Keyring.DeriveKey(auditDigestPurpose)
	defer clear(seed)
	return audit.Open(AuditDir(cfg.DataDir), audit.Options{
		HMACKey:        a.Keyring.DeriveKey(auditHMACPurpose),
		DigestKey:      audit.SigningKey(seed),
		DigestInterval: cfg.AuditDigestInterval,
		AnchorFile:     AuditAnchorFile(cfg.KeyFile),
		Logger:         a.Logger.With("component", "audit"),
	})
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
