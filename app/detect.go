package app

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/audit"
	"github.com/whispersync/whispersync/check"
	"github.com/whispersync/whispersync/detect"
	"github.com/whispersync/whispersync/pipeline"
	"github.com/whispersync/whispersync/secrets"
)

// DefaultDetectionInterval is how often serve runs the detectors. High
// findings are published after the run that raised them, so within this
// interval; the others go out in a digest every respond.DefaultInterval
// (15 minutes).
const DefaultDetectionInterval = time.Minute

// TypeSecretRotationDue is the type of the finding that a secret only its
// owner can rotate is due; its principal is "secret:NAME".
const TypeSecretRotationDue = "secrets.rotation_due"

// recordSecretFinding turns a rotation-due finding of the secret store
// into a finding beside the detectors' ones, so that findings list shows
// it and Respond publishes it. The same version found due again changes
// nothing, so each version is published once; a new version due counts
// again and reopens an archived finding.
func (a *App) recordSecretFinding(ctx context.Context, sf secrets.Finding) error {
	if sf.Secret == "" {
		return fmt.Errorf("app: secret finding %s names no secret", sf.Resource)
	}
	store := a.Findings()
	principal := "secret:" + sf.Secret
	id := detect.FindingID(TypeSecretRotationDue, principal)
	version := strconv.Itoa(sf.Version)

	f, err := store.Get(ctx, id)
	switch {
	case whispersync.IsNotFound(err):
		f = detect.Finding{ID: id, Type: TypeSecretRotationDue, Severity: detect.Medium, Principal: principal, FirstSeen: sf.CreatedAt}
	case err != nil:
		return err
	case f.Evidence["version"] == version:
		return nil
	}

	f.Count++
	f.Archived = false
	f.LastSeen = sf.CreatedAt
	f.Evidence = map[string]string{
		"version": version,
		"due":     sf.Due.UTC().Format(time.RFC3339),
		"fix":     "whispersync secrets rotate " + sf.Secret + " --from-file FILE",
	}
	if sf.Contact != "" {
		f.Evidence["contact"] = sf.Contact
	}

	if err := store.Put(ctx, f); err != nil {
		return err
	}
	a.Logger.Warn("finding", "finding", f.ID, "type", f.Type, "severity", f.Severity, "count", f.Count)
	return nil
}

// Findings returns the store of threat-detection findings.
func (a *App) Findings() *detect.Store {
	return detect.NewStore(a.DB.Tables(), a.Sealer, secrets.SystemOwner)
}

// ScanResult is the outcome of one detection run.
type ScanResult struct {
	// Entries is the number of audit entries read.
	Entries int `json:"entries"`
	// Changed lists the findings raised or updated.
	Changed []detect.Finding `json:"changed"`
}

// ScanFindings runs the detectors over the audit entries appended since the
// last run, the dead-letter queue, this process's key usage and a
// verification of the audit log, and stores the findings that changed.
func (a *App) ScanFindings(ctx context.Context, dataDir string, t detect.Thresholds) (ScanResult, error) {
	var res ScanResult
	store := a.Findings()
	state, err := store.State(ctx)
	if err != nil {
		return res, err
	}
	known, err := store.List(ctx)
	if err != nil {
		return res, err
	}
	engine := detect.New(t, state)
	engine.Load(known)
	now := time.Now().UTC()

	err = audit.Read(AuditDir(dataDir), func(e audit.Entry) error {
		if e.Seq > state.Seq {
			engine.Observe(e)
			res.Entries++
		}
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("app: scan findings: %w", err)
	}

	letters, err := a.Queue.ListDeadLetters(ctx, 1000)
	if err != nil {
		return res, fmt.Errorf("app: scan findings: %w", err)
	}
	var oldest time.Duration
	for _, l := range letters {
		oldest = max(oldest, now.Sub(l.DeadAt))
	}
	engine.ObserveDeadLetters(len(letters), oldest, now)

	uses := map[string]uint64{}
	for _, u := range a.Sealer.Metrics().KeyUsage {
		uses[u.KeyID] += u.Count
	}
	engine.ObserveKeyUsage(uses, now)

	report, err := audit.VerifySigned(AuditDir(dataDir), audit.VerifyOptions{Key: auditPublicKey(a.Keyring), MaxUnsigned: DefaultMaxUnsigned})
	if err != nil && !errors.Is(err, audit.ErrBroken) {
		return res, fmt.Errorf("app: scan findings: %w", err)
	}
	engine.ObserveChain(report.Problem, now)

	res.Changed = engine.Changed()
	for _, f := range res.Changed {
		if err := store.Put(ctx, f); err != nil {
			return res, err
		}
		a.Logger.Warn("finding", "finding", f.ID, "type", f.Type, "severity", f.Severity, "count", f.Count)
	}
	engine.SetLastRun(now)
	return res, store.PutState(ctx, engine.State())
}

// ArchiveFinding archives (or, with archived false, reopens) a finding.
// A finding that occurs again is reopened by the detectors.
func (a *App) ArchiveFinding(ctx context.Context, actor pipeline.Actor, id string, archived bool) (detect.Finding, error) {
	store := a.Findings()
	f, err := store.Get(ctx, id)
	if err != nil {
		return f, err
	}
	action := "finding.archive"
	if !archived {
		action = "finding.reopen"
	}
	if err := a.audit(ctx, actor, action, "finding:"+id); err != nil {
		return f, err
	}
	f.Archived = archived
	return f, store.Put(ctx, f)
}

// DetectionFacts returns the state of detection for the compliance check.
func (a *App) DetectionFacts(ctx context.Context) *check.Detection {
	state, err := a.Findings().State(ctx)
	if err != nil {
		a.Logger.Warn("read detection state failed", "err", err)
		return nil
	}
	return &check.Detection{Enabled: !state.LastRun.IsZero(), Interval: DefaultDetectionInterval, LastRun: state.LastRun, Notifiers: a.usableChannels(ctx)}
}

// usableChannels counts the configured notification channels whose secrets
// are in the secret store: a channel that names a missing secret cannot
// deliver, so it must not satisfy the compliance check.
func (a *App) usableChannels(ctx context.Context) int {
	n := 0
	for channel, names := range a.response.Secrets() {
		usable := true
		for _, name := range names {
			if _, err := a.Secrets.Describe(ctx, secrets.Actor{Principal: "system:check"}, name); err != nil {
				a.Logger.Warn("notification channel names a missing secret", "channel", channel, "secret", name, "err", err)
				usable = false
			}
		}
		if usable {
			n++
		}
	}
	return n
}

// RunDetection runs ScanFindings every interval until ctx ends, then
// Respond, which acts on the findings and publishes them, logging
// failures.
func (a *App) RunDetection(ctx context.Context, dataDir string, interval time.Duration) {
	if interval <= 0 {
		interval = DefaultDetectionInterval
	}
	log := a.Logger.With("component", "detect")
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if _, err := a.ScanFindings(ctx, dataDir, detect.Thresholds{}); err != nil && ctx.Err() == nil {
			log.Error("detection run failed", "err", err)
		}
		if _, err := a.Respond(ctx, time.Now().UTC()); err != nil && ctx.Err() == nil {
			log.Error("response run failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
