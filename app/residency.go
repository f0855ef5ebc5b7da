package app

import (
	"context"
	"errors"
	"time"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/residency"
)

// checkResidency refuses to start when the data directory, a backup
// location or an endpoint is in a region outside the allowlist. A refusal
// is audited before it is returned.
func (a *App) checkResidency(ctx context.Context, cfg Config, bc BackupConfig) error {
	rc := cfg.Residency
	policy := residency.Policy{Allowed: rc.Allowed}
	if len(policy.Allowed) == 0 {
		policy.Allowed = residency.DefaultAllowed
	}
	region := rc.Region
	if region == "" {
		region = residency.DefaultRegion
	}
	backupRegion, coldRegion := bc.Region, bc.ColdRegion
	if backupRegion == "" {
		backupRegion = region
	}
	if coldRegion == "" {
		coldRegion = backupRegion
	}
	locations := []residency.Location{
		{What: "data directory", Where: cfg.DataDir, Region: region, Setting: "WHISPERSYNC_REGION"},
		{What: "backup location", Where: bc.Dir, Region: backupRegion, Setting: "WHISPERSYNC_BACKUP_REGION"},
		{What: "cold backup location", Where: bc.ColdDir, Region: coldRegion, Setting: "WHISPERSYNC_BACKUP_COLD_REGION"},
	}
	locations = append(locations, rc.Endpoints...)
	err := policy.Check(locations...)
	var refusal *residency.Refusal
	if !errors.As(err, &refusal) {
		return err
	}
	auditErr := a.Audit.Append(ctx, whispersync.AuditEvent{
		Time: time.Now().UTC(), Principal: "system:startup", Action: "residency.refuse",
		Resource: refusal.Location.What + ":" + refusal.Location.Where, Outcome: whispersync.OutcomeDenied,
		Detail: map[string]string{"region": refusal.Location.Region, "setting": refusal.Location.Setting},
	})
	return errors.Join(err, auditErr)
}
