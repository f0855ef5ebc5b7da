package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/app"
	"github.com/whispersync/whispersync/backup"
	"github.com/whispersync/whispersync/residency"
)

const backupExamples = `  whispersync backup create
  whispersync backup list
  whispersync backup verify 20260105T030000Z-4f2a9c
  whispersync backup restore --to /srv/whispersync-restored
  whispersync backup drill
  whispersync backup tier
`

func runBackup(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlags("backup", "backup create|list|verify|restore|drill|tier [--to DIR] [--json] [ID]\n\nBacks up the data directory while it may be serving, encrypted under a key\nderived from the key file, into the backup location (env\nWHISPERSYNC_BACKUP_DIR). restore rebuilds a data directory in a new or empty\nfolder from the newest backup or the one named, and erases again every user\nin the erasure ledger. drill restores the newest backup into a scratch folder,\nchecks it and records the result for 'whispersync check'. tier moves backups\nolder than 7 days to the cold location and deletes those older than 30.", backupExamples)
	to := fs.String("to", "", "restore: the new data directory, which must be new or empty")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usagef("backup needs an action: create, list, verify, restore, drill or tier\nhint: whispersync backup create")
	}
	action, id := pos[0], ""
	if len(pos) > 2 {
		return usagef("backup %s takes at most one backup id", action)
	}
	if len(pos) == 2 {
		id = pos[1]
	}
	if action == "restore" && *to == "" {
		return usagef("backup restore needs --to DIR\nhint: whispersync backup restore --to /srv/whispersync-restored")
	}

	a, err := m.open(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	progress := m.progress()
	switch action {
	case "create":
		man, err := a.CreateBackup(ctx, m.operator(), progress)
		if err != nil {
			return err
		}
		return m.printResult(*asJSON, man, fmt.Sprintf("created backup %s: %d object versions, %d bytes, in %s", man.ID, len(man.Objects), man.Size(), a.Backups().Dir()))
	case "list":
		infos, err := a.ListBackups(ctx, m.operator())
		if err != nil {
			return err
		}
		if *asJSON {
			return m.printJSON(infos)
		}
		for _, i := range infos {
			fmt.Fprintf(m.Stdout, "%s  %-4s  %s  %6d objects  %10d bytes\n", i.ID, i.Tier, i.CreatedAt.Local().Format(time.DateTime), i.Objects, i.Bytes)
		}
		return nil
	case "verify":
		man, err := a.VerifyBackup(ctx, m.operator(), id, progress)
		if err != nil {
			return err
		}
		return m.printResult(*asJSON, man, fmt.Sprintf("backup %s is intact: manifest, database and %d objects match their checksums", man.ID, len(man.Blobs)))
	case "restore":
		cfg, err := m.config()
		if err != nil {
			return err
		}
		man, err := a.RestoreBackup(ctx, m.operator(), id, *to, cfg, progress)
		if err != nil {
			return err
		}
		return m.printResult(*asJSON, man, fmt.Sprintf("restored backup %s into %s; start it with --data-dir %s", man.ID, *to, *to))
	case "drill":
		res, err := a.DrillBackup(ctx, m.operator(), progress)
		if err != nil {
			return err
		}
		if err := m.printResult(*asJSON, res, fmt.Sprintf("restore drill of %s: ok=%v, %d objects read back in %s %s", res.BackupID, res.OK, res.Objects, res.Duration.Round(time.Millisecond), res.Error)); err != nil {
			return err
		}
		if !res.OK {
			return fmt.Errorf("restore drill failed: %s", res.Error)
		}
		return nil
	case "tier":
		res, err := a.TierBackups(ctx, m.operator())
		if err != nil {
			return err
		}
		return m.printResult(*asJSON, res, fmt.Sprintf("moved %d backups to the cold location, deleted %d, removed %d unused object files", len(res.Moved), len(res.Deleted), res.Blobs))
	}
	return usagef("unknown backup action %q: use create, list, verify, restore, drill or tier", action)
}

// progress prints the progress of long operations to stderr, one line per
// phase and every tenth of the way.
func (m *Main) progress() app.BackupProgress {
	lastPhase, lastTenth := "", -1
	return func(phase string, done, total int) {
		tenth := 10
		if total > 0 {
			tenth = done * 10 / total
		}
		if phase == lastPhase && tenth == lastTenth {
			return
		}
		lastPhase, lastTenth = phase, tenth
		fmt.Fprintf(m.Stderr, "whispersync: %s %d/%d\n", phase, done, total)
	}
}

func (m *Main) printResult(asJSON bool, v any, line string) error {
	if asJSON {
		return m.printJSON(v)
	}
	fmt.Fprintln(m.Stdout, line)
	return nil
}

// config returns the app configuration of the global flags and the
// environment.
func (m *Main) config() (app.Config, error) {
	bc, rc, err := m.opsConfig()
	if err != nil {
		return app.Config{}, err
	}
	return app.Config{
		DataDir: m.DataDir, KeyFile: m.KeyFile, PassphraseFile: m.PassphraseFile, Logger: m.logger(),
		Notice: func(s string) { fmt.Fprintln(m.Stderr, "whispersync: "+s) },
		Backup: bc, Residency: rc,
	}, nil
}

// opsConfig reads the backup and residency settings from the environment.
func (m *Main) opsConfig() (app.BackupConfig, app.ResidencyConfig, error) {
	bc := app.BackupConfig{
		Dir:        m.Getenv("WHISPERSYNC_BACKUP_DIR"),
		ColdDir:    m.Getenv("WHISPERSYNC_BACKUP_COLD_DIR"),
		Region:     m.Getenv("WHISPERSYNC_BACKUP_REGION"),
		ColdRegion: m.Getenv("WHISPERSYNC_BACKUP_COLD_REGION"),
		Schedule:   m.Getenv("WHISPERSYNC_BACKUP_SCHEDULE"),
	}
	if c := m.Getenv("WHISPERSYNC_BACKUP_CLASSES"); c != "" {
		for class := range strings.SplitSeq(c, ",") {
			class = strings.TrimSpace(class)
			if !slices.Contains(whispersync.Classes, class) {
				return bc, app.ResidencyConfig{}, usagef("WHISPERSYNC_BACKUP_CLASSES=%q names %q, which is not a data classification: use %s, separated by commas",
					c, class, strings.Join(whispersync.Classes, ", "))
			}
			bc.Classes = append(bc.Classes, class)
		}
	}
	for _, d := range []struct {
		env string
		to  *time.Duration
	}{{"WHISPERSYNC_BACKUP_COLD_AFTER", &bc.ColdAfter}, {"WHISPERSYNC_BACKUP_DELETE_AFTER", &bc.DeleteAfter}} {
		v := m.Getenv(d.env)
		if v == "" {
			continue
		}
		dur, err := time.ParseDuration(v)
		if err != nil || dur <= 0 {
			return bc, app.ResidencyConfig{}, usagef("%s=%q is not a positive duration such as 168h", d.env, v)
		}
		*d.to = dur
	}
	if _, err := backup.ParseSchedule(bc.Schedule); err != nil {
		return bc, app.ResidencyConfig{}, err
	}
	policy, err := residency.ParsePolicy(m.Getenv(residency.AllowedSetting))
	if err != nil {
		return bc, app.ResidencyConfig{}, err
	}
	return bc, app.ResidencyConfig{Region: m.Getenv("WHISPERSYNC_REGION"), Allowed: policy.Allowed}, nil
}
