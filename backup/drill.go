package backup

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/sqlite"
)

// DrillResult is the outcome of one restore drill.
type DrillResult struct {
	Time     time.Time     `json:"time"`
	BackupID string        `json:"backup_id,omitempty"`
	OK       bool          `json:"ok"`
	Error    string        `json:"error,omitempty"`
	Duration time.Duration `json:"duration"`
	Objects  int           `json:"objects"`
}

// drillsFile is the log of drill results in the backup location.
const drillsFile = "drills.jsonl"

// Drill restores the newest backup into a scratch folder of the backup
// location, checks the database's integrity and reads back every object
// version, removes the folder, and appends the result to the drill log,
// where LastDrill finds it. The returned error is for a failure to record
// the result; a failed drill is a result with OK false.
func (r *Repository) Drill(ctx context.Context, progress Progress) (DrillResult, error) {
	start := r.cfg.Now()
	res := DrillResult{Time: start.UTC()}
	n, id, err := r.drill(ctx, progress)
	res.BackupID, res.Objects = id, n
	res.OK = err == nil
	if err != nil {
		res.Error = whispersync.ErrorMessage(err)
		if whispersync.ErrorCode(err) == whispersync.EINTERNAL {
			res.Error = err.Error()
		}
		r.log.Error("restore drill failed", "backup", id, "err", err)
	}
	res.Duration = r.cfg.Now().Sub(start)
	if err := r.recordDrill(res); err != nil {
		return res, fmt.Errorf("backup: record drill: %w", err)
	}
	return res, nil
}

func (r *Repository) drill(ctx context.Context, progress Progress) (int, string, error) {
	m, _, err := r.find(ctx, "")
	if err != nil {
		return 0, "", err
	}
	if err := os.MkdirAll(r.cfg.Dir, 0o700); err != nil {
		return 0, m.ID, err
	}
	scratch, err := os.MkdirTemp(r.cfg.Dir, ".drill-")
	if err != nil {
		return 0, m.ID, err
	}
	defer os.RemoveAll(scratch)
	target := filepath.Join(scratch, "data")
	if _, err := r.restore(ctx, m.ID, target, progress, false); err != nil {
		return 0, m.ID, err
	}
	if err := sqlite.CheckIntegrity(ctx, filepath.Join(target, "whispersync.db")); err != nil {
		return 0, m.ID, err
	}
	store, err := sqlite.OpenObjectStore(ctx, filepath.Join(target, "objects.db"))
	if err != nil {
		return 0, m.ID, err
	}
	defer store.Close()
	n := 0
	for _, o := range m.Objects {
		if o.DeleteMarker {
			continue
		}
		if _, err := store.GetObject(ctx, o.Key, o.VersionID); err != nil {
			return n, m.ID, fmt.Errorf("read back %s: %w", o.Key, err)
		}
		n++
	}
	return n, m.ID, nil
}

func (r *Repository) recordDrill(res DrillResult) error {
	line, err := json.Marshal(res)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(r.cfg.Dir, drillsFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(append(line, '\n'))
	if err == nil {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}

// LastDrill returns the newest drill result recorded in the backup
// location dir, or ENOTFOUND when no drill ran there.
func LastDrill(dir string) (DrillResult, error) {
	f, err := os.Open(filepath.Join(dir, drillsFile))
	if errors.Is(err, os.ErrNotExist) {
		return DrillResult{}, whispersync.Errorf(whispersync.ENOTFOUND, "no restore drill has run in %s: run whispersync backup drill", dir)
	}
	if err != nil {
		return DrillResult{}, fmt.Errorf("backup: last drill: %w", err)
	}
	defer f.Close()
	var last DrillResult
	found := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var d DrillResult
		if json.Unmarshal(sc.Bytes(), &d) == nil {
			last, found = d, true
		}
	}
	if err := sc.Err(); err != nil {
		return DrillResult{}, fmt.Errorf("backup: last drill: %w", err)
	}
	if !found {
		return DrillResult{}, whispersync.Errorf(whispersync.ENOTFOUND, "no restore drill has run in %s: run whispersync backup drill", dir)
	}
	return last, nil
}
