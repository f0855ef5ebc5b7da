package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/api"
	"github.com/whispersync/whispersync/app"
	"github.com/whispersync/whispersync/audit"
	"github.com/whispersync/whispersync/backup"
	"github.com/whispersync/whispersync/check"
	"github.com/whispersync/whispersync/ratelimit"
	"github.com/whispersync/whispersync/residency"
	"github.com/whispersync/whispersync/respond"
)

const checkExamples = `  whispersync check
  whispersync check --listen 0.0.0.0:8443 --tls-cert /etc/whispersync/cert.pem --backup-dir /backup/whispersync
  whispersync check --json
`

// checkFlags are the serve options that the checklist judges, with serve's
// defaults, so that the check sees the configuration serve runs with.
type checkFlags struct {
	listen, certFile        string
	insecureHTTP            bool
	corsOrigins             string
	rate, anonRate          float64
	burst, anonBurst, daily int
	backupDir               string
}

func runCheck(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlags("check", "check [serve flags] [--backup-dir DIR] [--json]\n\nEvaluates the pre-deployment checklist against the data directory, the key\nfile and the serve flags given (the same as serve's, with its defaults), and\nprints pass or fail with the remediation. The exit status is 1 when any\ncheck fails.", checkExamples)
	var f checkFlags
	fs.StringVar(&f.listen, "listen", "127.0.0.1:8080", "serve's --listen")
	fs.StringVar(&f.certFile, "tls-cert", "", "serve's --tls-cert")
	fs.String("tls-key", "", "serve's --tls-key")
	fs.BoolVar(&f.insecureHTTP, "insecure-http", false, "serve's --insecure-http")
	fs.StringVar(&f.corsOrigins, "cors-origins", strings.Join(api.DefaultCORS.Origins, ","), "serve's --cors-origins")
	fs.Float64Var(&f.rate, "rate", ratelimit.DefaultPrincipal.Rate, "serve's --rate")
	fs.IntVar(&f.burst, "burst", ratelimit.DefaultPrincipal.Burst, "serve's --burst")
	fs.IntVar(&f.daily, "daily-quota", ratelimit.DefaultPrincipal.Daily, "serve's --daily-quota")
	fs.Float64Var(&f.anonRate, "ip-rate", ratelimit.DefaultAnonymous.Rate, "serve's --ip-rate")
	fs.IntVar(&f.anonBurst, "ip-burst", ratelimit.DefaultAnonymous.Burst, "serve's --ip-burst")
	fs.StringVar(&f.backupDir, "backup-dir", m.Getenv("WHISPERSYNC_BACKUP_DIR"), "the backup location (env WHISPERSYNC_BACKUP_DIR; default DATADIR-backups)")
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if _, err := os.Stat(m.DataDir); err != nil {
		return whispersync.Errorf(whispersync.ENOTFOUND, "no data directory at %s: point --data-dir (WHISPERSYNC_DATA_DIR) at the installation to check", m.DataDir)
	}
	if _, err := os.Stat(m.KeyFile); err != nil {
		return whispersync.Errorf(whispersync.ENOTFOUND, "no key file at %s: point --key-file (WHISPERSYNC_KEY_FILE) at the installation's key file", m.KeyFile)
	}

	facts := m.gatherFacts(ctx, f)
	results := check.Run(facts)
	if *asJSON {
		if err := m.printJSON(results); err != nil {
			return err
		}
	} else {
		for _, r := range results {
			fmt.Fprintf(m.Stdout, "%-4s  %-44s %s\n", strings.ToUpper(string(r.Status)), r.Title, r.Detail)
			if r.Remediation != "" {
				fmt.Fprintf(m.Stdout, "      fix: %s\n", r.Remediation)
			}
		}
	}
	if n := check.Failed(results); n > 0 {
		return fmt.Errorf("%d of %d checks failed", n, len(results))
	}
	return nil
}

// gatherFacts reads the facts the checklist needs. A fact that cannot be
// read stays nil, which fails its checks.
func (m *Main) gatherFacts(ctx context.Context, f checkFlags) *check.Facts {
	now := time.Now()
	facts := &check.Facts{Now: now}
	cfg := app.Config{DataDir: m.DataDir, KeyFile: m.KeyFile, PassphraseFile: m.PassphraseFile}

	if info, err := os.Stat(m.DataDir); err == nil {
		facts.DataDirMode = info.Mode().Perm()
	}
	facts.TLS = &check.TLS{Enabled: !f.insecureHTTP, Listen: f.listen}
	facts.CORS = &check.CORS{Origins: checkList(f.corsOrigins)}
	facts.Limits = []check.Limit{
		{Name: "--rate", Value: f.rate, Default: ratelimit.DefaultPrincipal.Rate},
		{Name: "--burst", Value: float64(f.burst), Default: float64(ratelimit.DefaultPrincipal.Burst)},
		{Name: "--daily-quota", Value: float64(f.daily), Default: float64(ratelimit.DefaultPrincipal.Daily)},
		{Name: "--ip-rate", Value: f.anonRate, Default: ratelimit.DefaultAnonymous.Rate},
		{Name: "--ip-burst", Value: float64(f.anonBurst), Default: float64(ratelimit.DefaultAnonymous.Burst)},
	}
	// Without the setting, the default allowlist is what Open enforces.
	facts.Residency = &check.Residency{Allowed: residency.DefaultAllowed}
	if allowed := m.Getenv(residency.AllowedSetting); allowed != "" {
		if p, err := residency.ParsePolicy(allowed); err != nil {
			facts.Residency = &check.Residency{Problem: whispersync.ErrorMessage(err)}
		} else {
			facts.Residency.Allowed = p.Allowed
		}
	}
	facts.Secrets = &check.Secrets{PlaintextSettings: m.plaintextSecrets()}

	report, err := app.VerifyAudit(cfg, audit.VerifyOptions{MaxUnsigned: app.DefaultMaxUnsigned})
	if err == nil || errors.Is(err, audit.ErrBroken) {
		facts.Audit = &check.Audit{Digests: report.Digests, LastDigest: report.LastDigest}
		if report.Problem != nil {
			facts.Audit.Problem = report.Problem.String()
		}
	}
	backupDir := f.backupDir
	if backupDir == "" {
		backupDir = app.DefaultBackupDir(m.DataDir)
	}
	facts.Backup = backupFacts(backupDir)

	a, err := m.openForCheck(ctx, backupDir)
	if err != nil {
		// The checks that need the open data directory fail with it.
		fmt.Fprintf(m.Stderr, "whispersync: cannot open the data directory, so the key policy, the secret store and detection count as missing: %s\n", whispersync.ErrorMessage(err))
		facts.Backup.Unreadable = "the data directory, whose key file reads them, cannot be opened"
		return facts
	}
	defer a.Close()
	facts.Secrets.Store = a.Secrets != nil
	facts.Backup.Unrestorable, facts.Backup.Unreadable = unrestorableBackups(ctx, a)
	facts.Keys = keyFacts(ctx, a, cfg)
	facts.Detection = a.DetectionFacts(ctx)
	return facts
}

// openForCheck opens the data directory as m.open does, with backupDir as
// the backup location, so that the backups whose key versions the restore
// check reads are those of the location it judges.
func (m *Main) openForCheck(ctx context.Context, backupDir string) (*app.App, error) {
	cfg, err := m.config()
	if err != nil {
		return nil, err
	}
	if cfg.Response, err = respond.ParseConfig(m.Getenv); err != nil {
		return nil, err
	}
	configured := cfg.Backup.Dir
	if configured == "" {
		configured = app.DefaultBackupDir(m.DataDir)
	}
	if backupDir != configured {
		// The cold location set in the environment belongs to the
		// environment's backup location, not to this one.
		cfg.Backup.Dir, cfg.Backup.ColdDir = backupDir, ""
	}
	return app.Open(ctx, cfg)
}

func keyFacts(ctx context.Context, a *app.App, cfg app.Config) *check.Keys {
	policy, err := a.KeyPolicy(ctx)
	if err != nil {
		return nil
	}
	k := &check.Keys{KEKRotation: policy.KEKRotation, DataKeyRotation: policy.DataKeyRotation}
	for _, v := range a.Keyring.Versions() {
		if v.Current {
			k.CurrentKEKCreated = v.CreatedAt
		}
	}
	if info, err := os.Stat(cfg.KeyFile); err == nil {
		k.KeyFileMode = info.Mode().Perm()
	}
	k.KeyFileOutsideData = !within(cfg.DataDir, cfg.KeyFile)
	return k
}

// unrestorableBackups names the backups of the configured location whose
// data keys need a key-encryption key version that the key file no longer
// holds, each with the first such version. When the manifests cannot be
// read, it returns why instead.
func unrestorableBackups(ctx context.Context, a *app.App) ([]string, string) {
	infos, err := a.Backups().List(ctx)
	if err != nil {
		return nil, whispersync.ErrorMessage(err)
	}
	keptVersions := map[int]bool{}
	for _, v := range a.Keyring.Versions() {
		keptVersions[v.Version] = true
	}
	var out []string
	for _, info := range infos {
		if info.Keys == nil {
			continue
		}
		for _, v := range info.Keys.KEKVersions {
			if !keptVersions[v] {
				out = append(out, fmt.Sprintf("%s (version %d)", info.ID, v))
				break
			}
		}
	}
	return out, ""
}

func backupFacts(dir string) *check.Backup {
	b := &check.Backup{}
	sets, err := os.ReadDir(filepath.Join(dir, "sets"))
	if err == nil {
		for _, s := range sets {
			info, err := s.Info()
			if err == nil && s.IsDir() && !strings.HasPrefix(s.Name(), ".") && info.ModTime().After(b.LastBackup) {
				b.LastBackup = info.ModTime()
			}
		}
	}
	if d, err := backup.LastDrill(dir); err == nil {
		b.LastDrill, b.LastDrillOK = d.Time, d.OK
	}
	return b
}

// secretSetting matches the names of settings that hold a credential.
var secretSetting = regexp.MustCompile(`^WHISPERSYNC_\w*(SECRET|PASSWORD|TOKEN|WEBHOOK|API_KEY)\w*$`)

// plaintextSecrets names the settings in the environment that hold a
// credential in plaintext. A *_FILE setting names a file and is fine.
func (m *Main) plaintextSecrets() []string {
	var names []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if secretSetting.MatchString(name) && !strings.HasSuffix(name, "_FILE") && m.Getenv(name) != "" {
			names = append(names, name)
		}
	}
	for _, name := range []string{"WHISPERSYNC_SLACK_WEBHOOK", "WHISPERSYNC_SMTP_PASSWORD", "WHISPERSYNC_WEBHOOK_SECRET"} {
		if m.Getenv(name) != "" && !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

func checkList(s string) []string {
	var out []string
	for v := range strings.SplitSeq(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// within reports whether path lies in dir.
func within(dir, path string) bool {
	d, err1 := filepath.Abs(dir)
	p, err2 := filepath.Abs(path)
	if err1 != nil || err2 != nil {
		return false
	}
	rel, err := filepath.Rel(d, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}
