package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/backup"
	"github.com/whispersync/whispersync/internal/atomicfile"
	"github.com/whispersync/whispersync/pipeline"
	"github.com/whispersync/whispersync/privacy"
	"github.com/whispersync/whispersync/residency"
)

// BackupConfig configures backups. The zero value backs up every object
// daily at 03:00 into the folder beside the data directory whose name ends
// in "-backups".
type BackupConfig struct {
	// Dir is the backup location; DATADIR-backups when empty.
	Dir string
	// ColdDir is the cold location; Dir/cold when empty.
	ColdDir string
	// Region and ColdRegion are the regions of the two locations; the
	// data directory's region when empty.
	Region     string
	ColdRegion string
	// Schedule is when serve backs up, in the form backup.ParseSchedule
	// reads; daily at 03:00 when empty.
	Schedule string
	// Classes selects objects by classification; every object when empty.
	Classes     []string
	ColdAfter   time.Duration
	DeleteAfter time.Duration
}

// ResidencyConfig states where data lives and where it may.
type ResidencyConfig struct {
	// Region is the data directory's region; residency.DefaultRegion when
	// empty.
	Region string
	// Allowed lists the allowed regions; residency.DefaultAllowed when
	// empty.
	Allowed []string
	// Endpoints lists the remote services that receive user data, each
	// with its region.
	Endpoints []residency.Location
}

// ops holds the backup and privacy machinery of an open App.
type ops struct {
	backups  *backup.Repository
	escrow   *backup.Escrow
	ledger   *privacy.Ledger
	schedule backup.Schedule
	dataDir  string
	// locations is the file beside the key file that lists every backup
	// location used with the key file (see BackupLocationsFile).
	locations string
	// deleteAfter is the retention of the backups, for the locations that
	// keys retire reads besides the configured one.
	deleteAfter time.Duration
	// dataDirs is the file beside the key file that lists every data
	// directory opened with it (see DataDirsFile).
	dataDirs string
}

// BackupLocationsFile is the file beside the key file that lists every
// backup location, hot and cold, that a backup was written to with the key
// file. keys retire reads the backups of each one, so a location that
// another data directory or another WHISPERSYNC_BACKUP_DIR used still keeps
// the key versions its backups need.
func BackupLocationsFile(keyFile string) string { return keyFile + ".backup-locations" }

// backupLocation is one entry of the backup locations file.
type backupLocation struct {
	Dir     string `json:"dir"`
	ColdDir string `json:"cold_dir"`
}

// registerBackupLocation adds loc to the backup locations file in path
// unless it is listed already. It lists the folders with their symbolic
// links resolved, so a link repointed later cannot hide a folder that
// contains backups.
func registerBackupLocation(path string, loc backupLocation) error {
	for _, p := range []*string{&loc.Dir, &loc.ColdDir} {
		real, err := resolve(*p)
		if err != nil {
			return err
		}
		*p = real
	}
	return registerEntry(path, "backup locations", loc)
}

// readBackupLocations returns the locations in the backup locations file
// in path; none when there is no file.
func readBackupLocations(path string) ([]backupLocation, error) {
	return readEntries[backupLocation](path, "backup locations")
}

// registerEntry adds entry to the JSON list in the file path, beside the
// key file, unless it is listed already. listName names the list in errors.
func registerEntry[T comparable](path, listName string, entry T) error {
	return updateEntries(path, listName, func(entries []T) ([]T, bool, error) {
		if slices.Contains(entries, entry) {
			return entries, false, nil
		}
		return append(entries, entry), true, nil
	})
}

// updateEntries replaces the JSON list in the file path with the one that
// update returns, and writes the file only when update reports a change. It
// holds an flock on PATH.lock meanwhile, so data directories sharing the
// key file keep each other's entries, and update can check the folders it
// drops while no other process lists them again.
func updateEntries[T any](path, listName string, update func([]T) ([]T, bool, error)) error {
	lock, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("lock the %s file: %w", listName, err)
	}
	defer lock.Close() // closing releases the lock; nothing was written to it
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("lock the %s file: %w", listName, err)
	}
	entries, err := readEntries[T](path, listName)
	if err != nil {
		return err
	}
	updated, changed, err := update(entries)
	if err != nil || !changed {
		return err
	}
	return writeEntries(path, listName, updated)
}

// writeEntries replaces the JSON list in the file path durably. The caller
// holds the lock.
func writeEntries[T any](path, listName string, entries []T) error {
	if entries == nil {
		entries = []T{}
	}
	data, err := json.Marshal(entries)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(path, append(data, '\n')); err != nil {
		return fmt.Errorf("write the %s file: %w", listName, err)
	}
	return nil
}

// readEntries returns the JSON list in the file path; none when there is
// no file.
func readEntries[T any](path, listName string) ([]T, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the %s file: %w", listName, err)
	}
	var entries []T
	if err := json.Unmarshal(data, &entries); err != nil {
		return nil, fmt.Errorf("the %s file %s is malformed: %w", listName, path, err)
	}
	return entries, nil
}

// registerLocation lists the configured backup location in the backup
// locations file before a backup or a move to the cold tier writes to it.
func (a *App) registerLocation() error {
	loc := backupLocation{Dir: a.ops.backups.Dir(), ColdDir: a.ops.backups.ColdDir()}
	if err := registerBackupLocation(a.ops.locations, loc); err != nil {
		return fmt.Errorf("app: record the backup location %s beside the key file: %w", loc.Dir, err)
	}
	return nil
}

// Backups returns the backup repository.
func (a *App) Backups() *backup.Repository { return a.ops.backups }

// DefaultBackupDir returns the backup location used when none is set: the
// data directory's path with "-backups" appended.
func DefaultBackupDir(dataDir string) string {
	return strings.TrimRight(filepath.Clean(dataDir), string(filepath.Separator)) + "-backups"
}

// openOps checks residency, opens the backup repository and the erasure
// ledger, and applies the ledger again to the data directory.
func (a *App) openOps(ctx context.Context, cfg Config) error {
	bc := cfg.Backup
	if bc.Dir == "" {
		bc.Dir = DefaultBackupDir(cfg.DataDir)
	}
	if bc.ColdDir == "" {
		bc.ColdDir = filepath.Join(bc.Dir, "cold")
	}
	if err := a.checkResidency(ctx, cfg, bc); err != nil {
		return err
	}
	schedule, err := backup.ParseSchedule(bc.Schedule)
	if err != nil {
		return err
	}

	keyDir := filepath.Dir(cfg.KeyFile)
	escrowKey := a.Keyring.DeriveKey("backup-escrow")
	a.ops.escrow = backup.OpenEscrow(filepath.Join(keyDir, "backup-keys.json"), escrowKey)
	clear(escrowKey)
	backupKey := a.Keyring.DeriveKey("backup")
	a.ops.backups, err = backup.New(backup.Config{
		Dir: bc.Dir, ColdDir: bc.ColdDir, Key: backupKey, Escrow: a.ops.escrow,
		KEKVersions: a.kekVersions,
		Classes:     bc.Classes, ColdAfter: bc.ColdAfter, DeleteAfter: bc.DeleteAfter,
		Logger: a.Logger,
	})
	if err != nil {
		return err
	}
	a.ops.ledger = privacy.OpenLedger(filepath.Join(keyDir, "erasures.jsonl"))
	a.ops.schedule = schedule
	a.ops.locations = BackupLocationsFile(cfg.KeyFile)
	a.ops.deleteAfter = bc.DeleteAfter
	a.ops.dataDir = cfg.DataDir
	if err := a.registerDataDir(cfg.KeyFile, cfg.DataDir); err != nil {
		return err
	}
	return a.reapplyErasures(ctx)
}

// kekVersions returns the key-encryption key versions of the key file.
func (a *App) kekVersions() []int {
	var out []int
	for _, v := range a.Keyring.Versions() {
		out = append(out, v.Version)
	}
	return out
}

// BackupProgress receives the progress of a backup operation.
type BackupProgress = backup.Progress

// CreateBackup backs up the data directory while it keeps serving.
func (a *App) CreateBackup(ctx context.Context, actor pipeline.Actor, progress BackupProgress) (*backup.Manifest, error) {
	if err := a.audit(ctx, actor, "backup.create", "backup:"+a.ops.backups.Dir()); err != nil {
		return nil, err
	}
	if err := a.registerLocation(); err != nil {
		a.auditFailure(ctx, actor, "backup.create", "backup:"+a.ops.backups.Dir(), err)
		return nil, err
	}
	m, err := a.ops.backups.Create(ctx, a.DB, a.Objects, progress)
	if err != nil {
		a.auditFailure(ctx, actor, "backup.create", "backup:"+a.ops.backups.Dir(), err)
	}
	return m, err
}

// ListBackups lists the backups of both tiers, newest first.
func (a *App) ListBackups(ctx context.Context, actor pipeline.Actor) ([]backup.Info, error) {
	if err := a.audit(ctx, actor, "backup.list", "backup:"+a.ops.backups.Dir()); err != nil {
		return nil, err
	}
	return a.ops.backups.List(ctx)
}

// VerifyBackup checks backup id, the newest when id is empty.
func (a *App) VerifyBackup(ctx context.Context, actor pipeline.Actor, id string, progress BackupProgress) (*backup.Manifest, error) {
	if err := a.audit(ctx, actor, "backup.verify", "backup:"+orNewest(id)); err != nil {
		return nil, err
	}
	return a.ops.backups.Verify(ctx, id, progress)
}

// TierBackups moves aged backups to the cold location and deletes expired
// ones.
func (a *App) TierBackups(ctx context.Context, actor pipeline.Actor) (backup.TierResult, error) {
	if err := a.audit(ctx, actor, "backup.tier", "backup:"+a.ops.backups.Dir()); err != nil {
		return backup.TierResult{}, err
	}
	if err := a.registerLocation(); err != nil {
		return backup.TierResult{}, err
	}
	return a.ops.backups.Tier(ctx)
}

// DrillBackup runs a restore drill of the newest backup and records the
// result for LastDrill.
func (a *App) DrillBackup(ctx context.Context, actor pipeline.Actor, progress BackupProgress) (backup.DrillResult, error) {
	if err := a.audit(ctx, actor, "backup.drill", "backup:newest"); err != nil {
		return backup.DrillResult{}, err
	}
	res, err := a.ops.backups.Drill(ctx, progress)
	if err != nil {
		return res, err
	}
	outcome := whispersync.OutcomeSuccess
	if !res.OK {
		outcome = whispersync.OutcomeFailure
	}
	err = a.Audit.Append(ctx, whispersync.AuditEvent{Time: time.Now().UTC(), Principal: actor.Principal, Source: actor.Source, Action: "backup.drill.result", Resource: "backup:" + res.BackupID, Outcome: outcome})
	return res, err
}

// LastDrill returns the newest restore drill result, for checks that
// report on recovery readiness.
func (a *App) LastDrill() (backup.DrillResult, error) {
	return backup.LastDrill(a.ops.backups.Dir())
}

// RestoreBackup rebuilds a data directory in target from backup id, the
// newest when id is empty, and applies the erasure ledger to it, so no
// erased user comes back. target must be new or empty, and is opened with
// the same key file.
func (a *App) RestoreBackup(ctx context.Context, actor pipeline.Actor, id, target string, cfg Config, progress BackupProgress) (*backup.Manifest, error) {
	if err := a.audit(ctx, actor, "backup.restore", "backup:"+orNewest(id)); err != nil {
		return nil, err
	}
	m, err := a.ops.backups.Restore(ctx, id, target, progress)
	if err != nil {
		return nil, err
	}
	cfg.DataDir = target
	// Open applies the erasure ledger to the restored directory.
	restored, err := Open(ctx, cfg)
	if err != nil {
		return m, fmt.Errorf("app: open restored data directory: %w", err)
	}
	if err := restored.audit(ctx, actor, "backup.restored", "backup:"+m.ID); err != nil {
		return m, errors.Join(err, restored.Close())
	}
	return m, restored.Close()
}

// RunBackupSchedule backs up, tiers and drills on the configured schedule
// until ctx ends. Failures are logged and audited; the next run tries
// again.
func (a *App) RunBackupSchedule(ctx context.Context) {
	log := a.Logger.With("component", "backup")
	actor := pipeline.Actor{Principal: "system:backup-schedule", Source: "serve"}
	log.Info("backup schedule started", "schedule", a.ops.schedule.String(), "location", a.ops.backups.Dir())
	for {
		next := a.ops.schedule.Next(time.Now())
		timer := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		a.scheduledBackup(ctx, actor, log)
	}
}

func (a *App) scheduledBackup(ctx context.Context, actor pipeline.Actor, log *slog.Logger) {
	if _, err := a.CreateBackup(ctx, actor, nil); err != nil {
		log.Error("scheduled backup failed", "err", err)
		return
	}
	if _, err := a.TierBackups(ctx, actor); err != nil {
		log.Error("backup tiering failed", "err", err)
	}
	if res, err := a.DrillBackup(ctx, actor, nil); err != nil {
		log.Error("restore drill could not be recorded", "err", err)
	} else if !res.OK {
		log.Error("restore drill failed", "backup", res.BackupID)
	}
}

func orNewest(id string) string {
	if id == "" {
		return "newest"
	}
	return id
}
