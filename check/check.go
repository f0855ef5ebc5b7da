// Package check evaluates the pre-deployment checklist of a WhisperSync
// installation: each check reads a snapshot of the live configuration
// (Facts) and passes or fails with a remediation.
//
// The package knows no feature's internals. Whoever gathers the facts fills
// one member of Facts per feature; a nil member means the feature is not
// there, and its checks fail with a remediation that says what to set up. A
// new feature joins by filling its member, without changing a check.
package check

import (
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"time"
)

// Facts is a snapshot of the configuration and state that the checks read.
type Facts struct {
	// Now is when the facts were gathered.
	Now time.Time

	Keys      *Keys
	Secrets   *Secrets
	TLS       *TLS
	Audit     *Audit
	Detection *Detection
	Backup    *Backup
	Residency *Residency
	CORS      *CORS
	// Limits lists each configured limit next to its default.
	Limits []Limit
	// DataDirMode is the permission bits of the data directory.
	DataDirMode fs.FileMode
}

// Keys is the state of the key hierarchy.
type Keys struct {
	// KEKRotation is how long a key-encryption key stays current; 0 means
	// it is never rotated.
	KEKRotation time.Duration
	// DataKeyRotation is how long a data key seals new records; 0 means
	// never rotated.
	DataKeyRotation time.Duration
	// CurrentKEKCreated is when the current key-encryption key was made.
	CurrentKEKCreated time.Time
	// KeyFileOutsideData is set when the key file is not in the data
	// directory.
	KeyFileOutsideData bool
	// KeyFileMode is the permission bits of the key file.
	KeyFileMode fs.FileMode
}

// Secrets is the state of the credentials of other services: the store and any plaintext settings.
type Secrets struct {
	// Store is set when the encrypted secret store is available.
	Store bool
	// PlaintextSettings names environment variables that hold a secret in
	// plaintext, such as a webhook URL or an SMTP password.
	PlaintextSettings []string
}

// TLS is the transport security of the API listener.
type TLS struct {
	Enabled bool
	Listen  string
}

// Audit is the state of the audit log.
type Audit struct {
	// Digests is the number of signed digests; 0 means the log is unsigned.
	Digests int
	// Problem is the first problem that verification found, "" for none.
	Problem string
	// LastDigest is when the newest digest was signed.
	LastDigest time.Time
}

// Detection is the state of threat detection and incident response.
type Detection struct {
	Enabled bool
	// Interval is how often the detectors run.
	Interval time.Duration
	// LastRun is when the detectors last finished; zero for never.
	LastRun time.Time
	// Notifiers counts the configured notification channels.
	Notifiers int
}

// Backup is the state of backups and restore drills.
type Backup struct {
	// LastBackup is when the newest backup was made; zero for none.
	LastBackup time.Time
	// LastDrill is when a restore was last tested; zero for never.
	LastDrill   time.Time
	LastDrillOK bool
	// Unrestorable names the backups whose data keys need a key-encryption
	// key version that the key file no longer holds.
	Unrestorable []string
	// Unreadable is the reason the backup manifests could not be read, in
	// which case Unrestorable is unknown. It is empty when they were read.
	Unreadable string
}

// Residency is the data-residency policy.
type Residency struct {
	Allowed []string
	// Problem is the reason a data location is outside Allowed, "" for none.
	Problem string
}

// CORS is the cross-origin policy of the API.
type CORS struct {
	Origins     []string
	Credentials bool
}

// Limit is one configured limit and its default. A limit is weaker than
// its default when it allows more, or when it is 0 (off) and the default is
// not.
type Limit struct {
	Name    string
	Value   float64
	Default float64
}

// Status is the verdict of one check.
type Status string

// The verdicts.
const (
	Pass Status = "pass"
	Fail Status = "fail"
)

// Result is the outcome of one check.
type Result struct {
	ID     string `json:"id"`
	Title  string `json:"title"`
	Status Status `json:"status"`
	// Detail is what the check found, for people.
	Detail string `json:"detail"`
	// Remediation is the step that makes a failing check pass.
	Remediation string `json:"remediation,omitempty"`
}

// Check is one item of the checklist.
type Check struct {
	ID          string
	Title       string
	Remediation string
	// Eval returns whether the facts pass and what it found.
	Eval func(f *Facts) (ok bool, detail string)
}

// Thresholds of the checks.
const (
	// MaxKeyRotation is the longest accepted rotation period of a
	// key-encryption key or a data key.
	MaxKeyRotation = 365 * 24 * time.Hour
	// MaxBackupAge allows a daily backup to be a few hours late.
	MaxBackupAge = 26 * time.Hour
	// MaxDrillAge is how recent a successful restore drill must be.
	MaxDrillAge = 30 * 24 * time.Hour
)

// Run evaluates every check of Checklist against f, in order.
func Run(f *Facts) []Result {
	results := make([]Result, 0, len(Checklist))
	for _, c := range Checklist {
		ok, detail := c.Eval(f)
		r := Result{ID: c.ID, Title: c.Title, Status: Pass, Detail: detail}
		if !ok {
			r.Status, r.Remediation = Fail, c.Remediation
		}
		results = append(results, r)
	}
	return results
}

// Failed counts the failing results.
func Failed(results []Result) int {
	n := 0
	for _, r := range results {
		if r.Status == Fail {
			n++
		}
	}
	return n
}

// Checklist is every check, in the order they are reported.
var Checklist = []Check{
	{
		ID: "keys.rotation", Title: "Keys rotate",
		Remediation: "set a key-encryption key rotation and a data key rotation of at most 365 days (whispersync keys policy), and rotate a key that is older than its period (whispersync keys rotate)",
		Eval: func(f *Facts) (bool, string) {
			k := f.Keys
			if k == nil {
				return false, "the key policy could not be read"
			}
			switch {
			case k.KEKRotation <= 0 || k.KEKRotation > MaxKeyRotation:
				return false, fmt.Sprintf("key-encryption key rotation is %s", period(k.KEKRotation))
			case k.DataKeyRotation <= 0 || k.DataKeyRotation > MaxKeyRotation:
				return false, fmt.Sprintf("data key rotation is %s", period(k.DataKeyRotation))
			case f.Now.Sub(k.CurrentKEKCreated) > k.KEKRotation+24*time.Hour:
				return false, fmt.Sprintf("the current key-encryption key is from %s, older than its rotation period of %s", day(k.CurrentKEKCreated), period(k.KEKRotation))
			}
			return true, fmt.Sprintf("key-encryption keys rotate every %s, data keys every %s", period(k.KEKRotation), period(k.DataKeyRotation))
		},
	},
	{
		ID: "keys.file", Title: "Key file is apart from the data and private",
		Remediation: "move the key file out of the data directory (--key-file) and chmod 600 it",
		Eval: func(f *Facts) (bool, string) {
			k := f.Keys
			if k == nil {
				return false, "the key file could not be read"
			}
			if !k.KeyFileOutsideData {
				return false, "the key file is inside the data directory"
			}
			if k.KeyFileMode&0o077 != 0 {
				return false, fmt.Sprintf("the key file has mode %o", k.KeyFileMode.Perm())
			}
			return true, fmt.Sprintf("outside the data directory, mode %o", k.KeyFileMode.Perm())
		},
	},
	{
		ID: "secrets.store", Title: "Secrets live in the secret store",
		Remediation: "put webhook URLs, SMTP passwords and API keys into the secret store (whispersync secrets put) and remove them from the environment",
		Eval: func(f *Facts) (bool, string) {
			s := f.Secrets
			if s == nil || !s.Store {
				return false, "the secret store is not available"
			}
			if len(s.PlaintextSettings) > 0 {
				return false, "secrets in plaintext settings: " + strings.Join(s.PlaintextSettings, ", ")
			}
			return true, "no secret found in plaintext settings"
		},
	},
	{
		ID: "tls", Title: "TLS is on",
		Remediation: "run serve with --tls-cert and --tls-key, or with its generated certificate, instead of --insecure-http",
		Eval: func(f *Facts) (bool, string) {
			if f.TLS == nil {
				return false, "the listener configuration is unknown"
			}
			if !f.TLS.Enabled {
				return false, "the API on " + f.TLS.Listen + " speaks plain HTTP"
			}
			return true, "the API on " + f.TLS.Listen + " speaks HTTPS"
		},
	},
	{
		ID: "audit.signed", Title: "Audit log is on and signed",
		Remediation: "open the data directory with this version, which signs audit digests with a key derived from the key file",
		Eval: func(f *Facts) (bool, string) {
			if f.Audit == nil {
				return false, "no audit log found"
			}
			if f.Audit.Digests == 0 {
				return false, "the audit log has no signed digest"
			}
			return true, fmt.Sprintf("%d signed digests, the newest from %s", f.Audit.Digests, f.Audit.LastDigest.Format(time.DateTime))
		},
	},
	{
		ID: "audit.verify", Title: "Audit log verifies",
		Remediation: "run whispersync audit verify, keep a copy of the audit folder, and investigate the entry it names as tampering",
		Eval: func(f *Facts) (bool, string) {
			if f.Audit == nil {
				return false, "no audit log found"
			}
			if f.Audit.Problem != "" {
				return false, f.Audit.Problem
			}
			return true, "the chain and every digest verify"
		},
	},
	{
		ID: "detection", Title: "Threat detection is on",
		Remediation: "run serve, which runs the detectors; whispersync findings list shows what they found",
		Eval: func(f *Facts) (bool, string) {
			d := f.Detection
			if d == nil || !d.Enabled {
				return false, "threat detection is off"
			}
			if d.LastRun.IsZero() {
				return false, "the detectors never ran"
			}
			if d.Interval > 0 && f.Now.Sub(d.LastRun) > 2*d.Interval {
				return false, "the detectors last ran at " + d.LastRun.Format(time.DateTime)
			}
			return true, "the detectors last ran at " + d.LastRun.Format(time.DateTime)
		},
	},
	{
		ID: "notifiers", Title: "Findings reach a person",
		Remediation: "configure a Slack webhook, e-mail or a signed webhook for findings (see docs/security.md)",
		Eval: func(f *Facts) (bool, string) {
			if f.Detection == nil || f.Detection.Notifiers == 0 {
				return false, "no notifier is configured"
			}
			return true, fmt.Sprintf("%d notifiers", f.Detection.Notifiers)
		},
	},
	{
		ID: "backup.schedule", Title: "Backups are scheduled",
		Remediation: "schedule a daily backup (whispersync backup create, from cron or a systemd timer) and set --backup-dir for the check",
		Eval: func(f *Facts) (bool, string) {
			b := f.Backup
			if b == nil || b.LastBackup.IsZero() {
				return false, "no backup found"
			}
			if f.Now.Sub(b.LastBackup) > MaxBackupAge {
				return false, "the newest backup is from " + b.LastBackup.Format(time.DateTime)
			}
			return true, "the newest backup is from " + b.LastBackup.Format(time.DateTime)
		},
	},
	{
		ID: "backup.restore", Title: "A restore was verified recently",
		Remediation: "run a restore drill (whispersync backup drill) at least every 30 days and fix what it reports; a backup that needs a retired key version restores only with a copy of the key file that still holds it",
		Eval: func(f *Facts) (bool, string) {
			b := f.Backup
			if b != nil && b.Unreadable != "" {
				return false, "the key versions the backups need are unknown: " + b.Unreadable
			}
			if b != nil && len(b.Unrestorable) > 0 {
				return false, fmt.Sprintf("%d backups need a key-encryption key version the key file no longer holds: %s", len(b.Unrestorable), strings.Join(b.Unrestorable, ", "))
			}
			if b == nil || b.LastDrill.IsZero() {
				return false, "no restore drill found"
			}
			if !b.LastDrillOK {
				return false, "the last restore drill, on " + day(b.LastDrill) + ", failed"
			}
			if f.Now.Sub(b.LastDrill) > MaxDrillAge {
				return false, "the last restore drill was on " + day(b.LastDrill)
			}
			return true, "the last restore drill, on " + day(b.LastDrill) + ", passed"
		},
	},
	{
		ID: "residency", Title: "Data residency is set",
		Remediation: "set WHISPERSYNC_ALLOWED_REGIONS to the regions where data may live, and keep every location in them",
		Eval: func(f *Facts) (bool, string) {
			r := f.Residency
			if r != nil && r.Problem != "" {
				return false, r.Problem
			}
			if r == nil || len(r.Allowed) == 0 {
				return false, "no allowed regions are set"
			}
			return true, "allowed regions: " + strings.Join(r.Allowed, ", ")
		},
	},
	{
		ID: "limits", Title: "Limits are not weaker than the defaults",
		Remediation: "lower each named limit to its default or below",
		Eval: func(f *Facts) (bool, string) {
			if len(f.Limits) == 0 {
				return false, "the limits are unknown"
			}
			var weak []string
			for _, l := range f.Limits {
				if l.Value > l.Default || (l.Value == 0 && l.Default != 0) {
					weak = append(weak, fmt.Sprintf("%s is %g, default %g", l.Name, l.Value, l.Default))
				}
			}
			if len(weak) > 0 {
				return false, strings.Join(weak, "; ")
			}
			return true, fmt.Sprintf("%d limits at or below their defaults", len(f.Limits))
		},
	},
	{
		ID: "cors", Title: "CORS is not a wildcard",
		Remediation: "list the exact web origins in --cors-origins instead of *",
		Eval: func(f *Facts) (bool, string) {
			if f.CORS == nil {
				return false, "the CORS policy is unknown"
			}
			if slices.Contains(f.CORS.Origins, "*") {
				return false, "origin * is allowed"
			}
			return true, "origins: " + strings.Join(f.CORS.Origins, ", ")
		},
	},
	{
		ID: "datadir.mode", Title: "Data directory is private",
		Remediation: "chmod 700 the data directory",
		Eval: func(f *Facts) (bool, string) {
			if f.DataDirMode&0o077 != 0 {
				return false, fmt.Sprintf("mode %o", f.DataDirMode.Perm())
			}
			return true, fmt.Sprintf("mode %o", f.DataDirMode.Perm())
		},
	},
}

func period(d time.Duration) string {
	if d <= 0 {
		return "off"
	}
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	}
	return d.String()
}

func day(t time.Time) string { return t.Format(time.DateOnly) }
