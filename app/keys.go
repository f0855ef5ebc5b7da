package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/backup"
	"github.com/whispersync/whispersync/pipeline"
	"github.com/whispersync/whispersync/seal"
	"github.com/whispersync/whispersync/secrets"
)

// Where the key-encryption key can come from, besides the key file alone.
const (
	// PassphraseFileEnv names a file holding the passphrase of a
	// passphrase-protected key file.
	PassphraseFileEnv = "WHISPERSYNC_PASSPHRASE_FILE"
	// CredentialName is the systemd credential (LoadCredential=) read from
	// $CREDENTIALS_DIRECTORY when PassphraseFileEnv is not set.
	CredentialName = "whispersync-passphrase"
)

// Key policy defaults.
const (
	DefaultKEKRotation     = 365 * 24 * time.Hour
	DefaultDataKeyRotation = 90 * 24 * time.Hour
	// keyCheckInterval is how often serve looks at the key schedule, the
	// key file and the secret rotations.
	keyCheckInterval = time.Minute
)

// keyStateTable holds the key policy and the rewrap job, sealed, under the
// system owner.
const keyStateTable = "key_state"

// systemOwner is the partition of items that belong to no user.
const systemOwner = secrets.SystemOwner

// KeySource names where the key-encryption keys were read from; it names
// files, never their contents.
type KeySource struct {
	// Kind is "key file", "passphrase file" or "systemd credential".
	Kind           string `json:"kind"`
	KeyFile        string `json:"key_file"`
	PassphraseFile string `json:"passphrase_file,omitempty"`
}

// KeyPolicy is the rotation schedule of the key hierarchy.
type KeyPolicy struct {
	// KEKRotation is how long a key-encryption key version stays current
	// before serve rotates it; 0 turns automatic rotation off.
	KEKRotation time.Duration `json:"kek_rotation"`
	// DataKeyRotation is how long a data key generation seals new records.
	DataKeyRotation time.Duration `json:"data_key_rotation"`
}

// MarshalJSON writes the periods as Go duration strings, such as
// "8760h0m0s", as every JSON output of the CLI and the API does.
func (p KeyPolicy) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		KEKRotation     string `json:"kek_rotation"`
		DataKeyRotation string `json:"data_key_rotation"`
	}{p.KEKRotation.String(), p.DataKeyRotation.String()})
}

// UnmarshalJSON reads the periods as duration strings or, as policies
// stored by earlier releases hold them, as nanoseconds. A field that is
// absent keeps its value.
func (p *KeyPolicy) UnmarshalJSON(data []byte) error {
	var raw struct {
		KEKRotation     json.RawMessage `json:"kek_rotation"`
		DataKeyRotation json.RawMessage `json:"data_key_rotation"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	for _, f := range []struct {
		raw json.RawMessage
		to  *time.Duration
	}{{raw.KEKRotation, &p.KEKRotation}, {raw.DataKeyRotation, &p.DataKeyRotation}} {
		if len(f.raw) == 0 {
			continue
		}
		var text string
		if err := json.Unmarshal(f.raw, &text); err == nil {
			d, err := time.ParseDuration(text)
			if err != nil {
				return fmt.Errorf("key policy: %w", err)
			}
			*f.to = d
			continue
		}
		var nanos int64
		if err := json.Unmarshal(f.raw, &nanos); err != nil {
			return fmt.Errorf("key policy: period %s is neither a duration nor a number", f.raw)
		}
		*f.to = time.Duration(nanos)
	}
	return nil
}

// RewrapJob is the state of the last rewrap pass, kept so that a pass cut
// short by a crash resumes where it stopped.
type RewrapJob struct {
	State     string    `json:"state"` // "running" or "done"
	StartedAt time.Time `json:"started_at"`
	UpdatedAt time.Time `json:"updated_at"`
	seal.RewrapProgress
}

// keyState is the key machinery of an open App.
type keyState struct {
	source KeySource
	// rotating serializes rotations and rewrap passes within the process.
	rotating sync.Mutex
	stop     context.CancelFunc
	done     sync.WaitGroup
}

// openKeyring opens the key-encryption keys named by cfg: a passphrase-
// protected key file when a passphrase file or systemd credential is set,
// the plaintext key file otherwise.
func openKeyring(cfg Config) (*seal.Keyring, bool, KeySource, error) {
	src := KeySource{Kind: "key file", KeyFile: cfg.KeyFile}
	src.PassphraseFile = cfg.PassphraseFile
	if src.PassphraseFile == "" {
		src.PassphraseFile = os.Getenv(PassphraseFileEnv)
	}
	if src.PassphraseFile != "" {
		src.Kind = "passphrase file"
	} else if dir := os.Getenv("CREDENTIALS_DIRECTORY"); dir != "" {
		if p := filepath.Join(dir, CredentialName); fileExists(p) {
			src.Kind, src.PassphraseFile = "systemd credential", p
		}
	}
	if src.PassphraseFile == "" {
		kr, created, err := seal.OpenKeyFile(cfg.KeyFile)
		return kr, created, src, err
	}

	if inside(cfg.DataDir, src.PassphraseFile) {
		return nil, false, src, whispersync.Errorf(whispersync.EINVALID, "passphrase file %s is inside the data directory %s: keep it elsewhere (%s), so a copy of the data directory alone reveals nothing", src.PassphraseFile, cfg.DataDir, PassphraseFileEnv)
	}
	passphrase, err := readPassphrase(src.PassphraseFile)
	if err != nil {
		return nil, false, src, err
	}
	defer clear(passphrase)
	kr, created, err := seal.OpenPassphrase(cfg.KeyFile, passphrase)
	return kr, created, src, err
}

// RotateKeyFile adds a key-encryption key version to the key file named by
// cfg without opening the data directory, for when serve holds it: serve
// notices the new version at its next check and rewraps the data keys.
func RotateKeyFile(cfg Config) (int, error) {
	if !fileExists(cfg.KeyFile) {
		return 0, whispersync.Errorf(whispersync.ENOTFOUND, "key file %s not found: point --key-file (WHISPERSYNC_KEY_FILE) at the key file of the data directory", cfg.KeyFile)
	}
	kr, _, _, err := openKeyring(cfg)
	if err != nil {
		return 0, fmt.Errorf("app: open key file: %w", err)
	}
	defer kr.Close()
	return kr.Rotate()
}

// readPassphrase reads a passphrase file, without its final line break.
func readPassphrase(path string) ([]byte, error) {
	f, err := os.Open(path) // #nosec G703 -- the operator names the file in the environment
	if err != nil {
		return nil, whispersync.Errorf(whispersync.EINVALID, "cannot open passphrase file %s: %v: check %s or the systemd credential %s", path, errors.Unwrap(err), PassphraseFileEnv, CredentialName)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("app: read passphrase file: %w", err)
	}
	// systemd hands credentials over read-only to the service user, so
	// only write and access by others is refused.
	if runtime.GOOS != "windows" && info.Mode().Perm()&0o077 != 0 {
		return nil, whispersync.Errorf(whispersync.EINVALID, "passphrase file %s can be read or written by group or others (mode %04o): run chmod 600 %s", path, info.Mode().Perm(), path)
	}
	data, err := io.ReadAll(io.LimitReader(f, 4096))
	if err != nil {
		return nil, fmt.Errorf("app: read passphrase file: %w", err)
	}
	trimmed := bytes.TrimSuffix(bytes.TrimSuffix(data, []byte("\n")), []byte("\r"))
	out := bytes.Clone(trimmed)
	clear(data)
	return out, nil
}

func fileExists(path string) bool {
	info, err := os.Stat(path) // #nosec G703 -- the operator names the file in the environment
	return err == nil && info.Mode().IsRegular()
}

// openKeys wires the secret store and the key policy into an open App.
func (a *App) openKeys(ctx context.Context, src KeySource) error {
	a.keys = &keyState{source: src}
	var err error
	a.Secrets, err = secrets.New(secrets.Options{
		Tables: a.DB.Tables(), Sealer: a.Sealer, Auditor: a.Audit, Logger: a.Logger,
		Providers: map[string]secrets.Provider{"local": secrets.NewLocalProvider()},
	})
	if err != nil {
		return fmt.Errorf("app: open secret store: %w", err)
	}
	policy, err := a.KeyPolicy(ctx)
	if err != nil {
		return err
	}
	a.Sealer.SetDataKeyRotation(policy.DataKeyRotation)
	return nil
}

// KeySource returns where the key-encryption keys came from.
func (a *App) KeySource() KeySource { return a.keys.source }

// KeyPolicy returns the stored key policy, or the defaults.
func (a *App) KeyPolicy(ctx context.Context) (KeyPolicy, error) {
	p := KeyPolicy{KEKRotation: DefaultKEKRotation, DataKeyRotation: DefaultDataKeyRotation}
	err := a.loadState(ctx, "policy", &p)
	if whispersync.IsNotFound(err) {
		err = nil
	}
	return p, err
}

// SetKeyPolicy stores the key policy; it applies to this process at once
// and to serve at its next check.
func (a *App) SetKeyPolicy(ctx context.Context, actor pipeline.Actor, p KeyPolicy) error {
	if p.KEKRotation < 0 || p.DataKeyRotation < 0 {
		return whispersync.Errorf(whispersync.EINVALID, "rotation periods must not be negative: got %s and %s; use 0 to turn rotation off", p.KEKRotation, p.DataKeyRotation)
	}
	if p.KEKRotation > 0 && p.KEKRotation < time.Hour || p.DataKeyRotation > 0 && p.DataKeyRotation < time.Hour {
		return whispersync.Errorf(whispersync.EINVALID, "rotation periods under an hour (got %s and %s) would rotate on every check: use at least 1h", p.KEKRotation, p.DataKeyRotation)
	}
	if err := a.auditWith(ctx, actor, "key.policy", "keys", map[string]string{"kek_rotation": p.KEKRotation.String(), "data_key_rotation": p.DataKeyRotation.String()}); err != nil {
		return err
	}
	if err := a.saveState(ctx, "policy", p, nil); err != nil {
		return err
	}
	a.Sealer.SetDataKeyRotation(p.DataKeyRotation)
	return nil
}

// RewrapJob returns the state of the last rewrap pass; ENOTFOUND before the
// first.
func (a *App) RewrapJob(ctx context.Context) (RewrapJob, error) {
	var j RewrapJob
	err := a.loadState(ctx, "rewrap", &j)
	return j, err
}

// RotateKEK adds a key-encryption key version and rewraps every stored
// data key under it, calling progress after each owner.
func (a *App) RotateKEK(ctx context.Context, actor pipeline.Actor, progress func(seal.RewrapProgress)) (RewrapJob, error) {
	a.keys.rotating.Lock()
	defer a.keys.rotating.Unlock()
	if err := a.auditWith(ctx, actor, "key.rotate", "keys", map[string]string{"from_version": strconv.Itoa(a.Keyring.CurrentVersion())}); err != nil {
		return RewrapJob{}, err
	}
	v, err := a.Keyring.Rotate()
	if err != nil {
		return RewrapJob{}, fmt.Errorf("app: rotate key-encryption key: %w", err)
	}
	a.Logger.Info("key-encryption key rotated", "component", "keys", "version", v)
	return a.rewrap(ctx, actor, progress)
}

// ResumeRewrap finishes an interrupted rewrap pass, or runs one when data
// keys remain under older versions; it does nothing when all is current.
func (a *App) ResumeRewrap(ctx context.Context, actor pipeline.Actor, progress func(seal.RewrapProgress)) (RewrapJob, error) {
	a.keys.rotating.Lock()
	defer a.keys.rotating.Unlock()
	if err := a.Keyring.Refresh(); err != nil {
		return RewrapJob{}, err
	}
	job, err := a.RewrapJob(ctx)
	if err != nil && !whispersync.IsNotFound(err) {
		return RewrapJob{}, err
	}
	if err == nil && job.State == "done" && job.Target >= a.Keyring.CurrentVersion() {
		return job, nil
	}
	if err := a.auditWith(ctx, actor, "key.rewrap", "keys", map[string]string{"target_version": strconv.Itoa(a.Keyring.CurrentVersion())}); err != nil {
		return RewrapJob{}, err
	}
	return a.rewrap(ctx, actor, progress)
}

// rewrap runs a rewrap pass to the current version, resuming the recorded
// one when it had the same target. The caller holds keys.rotating.
func (a *App) rewrap(ctx context.Context, actor pipeline.Actor, progress func(seal.RewrapProgress)) (RewrapJob, error) {
	owners, err := a.keyOwners(ctx)
	if err != nil {
		return RewrapJob{}, err
	}
	now := time.Now().UTC()
	job, err := a.RewrapJob(ctx)
	if err != nil && !whispersync.IsNotFound(err) {
		return RewrapJob{}, err
	}
	after := ""
	if err != nil || job.State == "done" || job.Target != a.Keyring.CurrentVersion() {
		job = RewrapJob{State: "running", StartedAt: now}
	} else {
		after = job.Owner
	}
	job.Target, job.UpdatedAt = a.Keyring.CurrentVersion(), now
	if err := a.saveState(ctx, "rewrap", job, map[string]string{"state": job.State, "target_version": strconv.Itoa(job.Target)}); err != nil {
		return RewrapJob{}, err
	}

	base := job.RewrapProgress
	p, err := a.Sealer.Rewrap(ctx, seal.RewrapOptions{Owners: owners, After: after, Progress: func(p seal.RewrapProgress) error {
		p.Rewrapped += base.Rewrapped
		p.Current += base.Current
		job.RewrapProgress, job.UpdatedAt = p, time.Now().UTC()
		// The checkpoint makes a pass cut short by a crash resume after
		// this owner; progress is reported once it is durable.
		if err := a.saveState(ctx, "rewrap", job, map[string]string{"state": job.State, "target_version": strconv.Itoa(job.Target)}); err != nil {
			return err
		}
		if progress != nil {
			progress(p)
		}
		return nil
	}})
	if err != nil {
		return job, err
	}
	p.Rewrapped += base.Rewrapped
	p.Current += base.Current
	job.RewrapProgress, job.State, job.UpdatedAt = p, "done", time.Now().UTC()
	if err := a.saveState(ctx, "rewrap", job, map[string]string{"state": job.State, "target_version": strconv.Itoa(job.Target)}); err != nil {
		return job, err
	}
	if err := a.auditWith(ctx, actor, "key.rewrap.done", "keys", map[string]string{"target_version": strconv.Itoa(job.Target), "rewrapped": strconv.Itoa(p.Rewrapped)}); err != nil {
		return job, err
	}
	return job, nil
}

// RetireKEK removes a key-encryption key version from the key file once
// no stored data key depends on it.
func (a *App) RetireKEK(ctx context.Context, actor pipeline.Actor, version int) (err error) {
	a.keys.rotating.Lock()
	defer a.keys.rotating.Unlock()
	resource := "kek:v" + strconv.Itoa(version)
	defer func() {
		// A refused retirement is audited too, as denied.
		if whispersync.ErrorCode(err) == whispersync.EINVALID || whispersync.ErrorCode(err) == whispersync.ECONFLICT || whispersync.IsNotFound(err) {
			if aerr := a.Audit.Append(ctx, whispersync.AuditEvent{
				Time: time.Now().UTC(), Principal: actor.Principal, Source: actor.Source, RequestID: actor.RequestID,
				Action: "key.retire", Resource: resource, Outcome: whispersync.OutcomeDenied, Detail: map[string]string{"reason": whispersync.ErrorCode(err)},
			}); aerr != nil {
				a.Logger.Error("audit of a refused key retirement failed", "component", "keys", "version", version, "err", aerr)
			}
		}
	}()

	if err := a.Keyring.Refresh(); err != nil {
		return err
	}
	known := false
	for _, v := range a.Keyring.Versions() {
		known = known || v.Version == version
	}
	if !known {
		return whispersync.Errorf(whispersync.ENOTFOUND, "key-encryption key version %d does not exist: whispersync keys status lists the versions", version)
	}
	if version == a.Keyring.CurrentVersion() {
		return whispersync.Errorf(whispersync.EINVALID, "key-encryption key version %d is the current version: run whispersync keys rotate first, then retire it", version)
	}

	owners, err := a.keyOwners(ctx)
	if err != nil {
		return err
	}
	deps, err := a.Sealer.CountWrapped(ctx, owners)
	if err != nil {
		return err
	}
	for _, d := range deps {
		if d.Version == version && d.DataKeys > 0 {
			return whispersync.Errorf(whispersync.ECONFLICT, "key-encryption key version %d still wraps %d data keys of %d owners (%s): run whispersync keys rotate --resume to rewrap them, then retire it", version, d.DataKeys, d.Owners, describeOwners(d))
		}
	}
	if err := a.checkOtherDataDirs(ctx, version); err != nil {
		return err
	}
	if err := a.checkBackupsFree(ctx, version); err != nil {
		return err
	}

	if err := a.auditWith(ctx, actor, "key.retire", resource, nil); err != nil {
		return err
	}
	if err := a.Keyring.Retire(version); err != nil {
		return err
	}
	a.Logger.Info("key-encryption key retired", "component", "keys", "version", version)
	return nil
}

// checkBackupsFree returns a conflict when a backup in the backup location
// may need KEK version to be restored. A backup keeps its data keys wrapped
// under the versions of the day it was made. One made before backups
// recorded those versions may need any version.
//
// Besides the configured backup location, it reads every location listed
// in the backup locations file beside the key file (see
// BackupLocationsFile): another data directory sharing the key file, or a
// run with another WHISPERSYNC_BACKUP_DIR, may have backups there.
func (a *App) checkBackupsFree(ctx context.Context, version int) error {
	repos := []*backup.Repository{a.ops.backups}
	locs, err := readBackupLocations(a.ops.locations)
	if err != nil {
		return err
	}
	key := a.Keyring.DeriveKey("backup")
	defer clear(key)
	seen := map[[2]string]bool{locationKey(a.ops.backups.Dir(), a.ops.backups.ColdDir()): true}
	for _, loc := range locs {
		// A listed location was written to, so a missing folder is a disk
		// not mounted or a folder moved, not a location without backups.
		if err := checkLocation(loc, a.ops.locations); err != nil {
			return err
		}
		dir, cold := loc.Dir, loc.ColdDir
		if dir == "" {
			// The hot folder was forgotten, and only the cold one is left.
			dir = cold
		}
		k := locationKey(dir, cold)
		if seen[k] {
			continue
		}
		seen[k] = true
		r, err := backup.New(backup.Config{Dir: dir, ColdDir: cold, Key: key, Escrow: a.ops.escrow, DeleteAfter: a.ops.deleteAfter, Logger: a.Logger})
		if err != nil {
			return err
		}
		repos = append(repos, r)
	}

	var needing []backup.Info
	var where []string
	for _, r := range repos {
		if err := checkNoBackupRunning(r.Dir()); err != nil {
			return err
		}
		infos, err := r.List(ctx)
		if err != nil {
			return err
		}
		found := false
		for _, info := range infos {
			if info.NeedsKEK(version) {
				needing = append(needing, info)
				found = true
			}
		}
		if found {
			where = append(where, r.Dir())
		}
	}
	if len(needing) == 0 {
		return nil
	}

	// Newest first across the locations, so the first one is deleted last.
	slices.SortStableFunc(needing, func(x, y backup.Info) int { return y.CreatedAt.Compare(x.CreatedAt) })
	ids := make([]string, 0, 3)
	for _, info := range needing[:min(3, len(needing))] {
		ids = append(ids, info.ID)
	}
	more := ""
	if len(needing) > len(ids) {
		more = fmt.Sprintf(" and %d more", len(needing)-len(ids))
	}
	return whispersync.Errorf(whispersync.ECONFLICT,
		"key-encryption key version %d may be needed to restore %d backups in %s (%s%s): retire it after the retention policy deletes them, on %s for the newest (whispersync backup tier applies the policy)",
		version, len(needing), strings.Join(where, ", "), strings.Join(ids, ", "), more, needing[0].DeleteAt.UTC().Format(time.DateOnly))
}

// locationKey names the backup location of hot folder dir and cold folder
// cold by their paths with symbolic links resolved, so a location listed
// under two names is read once.
func locationKey(dir, cold string) [2]string {
	if cold == "" {
		cold = filepath.Join(dir, "cold")
	}
	k := [2]string{dir, cold}
	for i, p := range k {
		if real, err := resolve(p); err == nil {
			k[i] = real
		}
	}
	return k
}

func describeOwners(d seal.KeyDependents) string {
	s := strings.Join(d.Sample, ", ")
	if d.Owners > len(d.Sample) {
		s += fmt.Sprintf(" and %d more", d.Owners-len(d.Sample))
	}
	return s
}

// ShredUser destroys every data key of user, so every object version and
// item sealed for the user, backups included, can no longer be opened.
func (a *App) ShredUser(ctx context.Context, actor pipeline.Actor, user *whispersync.User) error {
	if err := a.auditWith(ctx, actor, "key.shred", "user:"+user.ID, nil); err != nil {
		return err
	}
	return a.Sealer.ShredUser(ctx, user.ID)
}

// KeyVersionStatus is one key-encryption key version in KeyStatus.
type KeyVersionStatus struct {
	Version   int       `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	Current   bool      `json:"current"`
	// DataKeys and Owners count the stored data keys the version wraps.
	DataKeys     int      `json:"data_keys"`
	Owners       int      `json:"owners"`
	SampleOwners []string `json:"sample_owners,omitempty"`
}

// KeyStatus is the state of the key hierarchy.
type KeyStatus struct {
	Source   KeySource          `json:"source"`
	Versions []KeyVersionStatus `json:"versions"`
	Policy   KeyPolicy          `json:"policy"`
	// NextRotation is when serve rotates the key-encryption key next; zero
	// when automatic rotation is off.
	NextRotation time.Time  `json:"next_rotation,omitzero"`
	Rewrap       *RewrapJob `json:"rewrap,omitempty"`
	// Metrics are the counters of this process: in serve, of the server.
	Metrics seal.Metrics `json:"metrics"`
	// OverdueSecrets counts secrets past their rotation date.
	OverdueSecrets int      `json:"overdue_secrets"`
	Warnings       []string `json:"warnings,omitempty"`
}

// KeyStatus reports versions, what depends on each, the policy and the
// counters.
func (a *App) KeyStatus(ctx context.Context, actor pipeline.Actor) (KeyStatus, error) {
	if err := a.auditWith(ctx, actor, "key.status", "keys", nil); err != nil {
		return KeyStatus{}, err
	}
	if err := a.Keyring.Refresh(); err != nil {
		return KeyStatus{}, err
	}
	owners, err := a.keyOwners(ctx)
	if err != nil {
		return KeyStatus{}, err
	}
	deps, err := a.Sealer.CountWrapped(ctx, owners)
	if err != nil {
		return KeyStatus{}, err
	}
	st := KeyStatus{Source: a.keys.source}
	if st.Policy, err = a.KeyPolicy(ctx); err != nil {
		return KeyStatus{}, err
	}
	for _, v := range a.Keyring.Versions() {
		vs := KeyVersionStatus{Version: v.Version, CreatedAt: v.CreatedAt, Current: v.Current}
		for _, d := range deps {
			if d.Version == v.Version {
				vs.DataKeys, vs.Owners, vs.SampleOwners = d.DataKeys, d.Owners, d.Sample
			}
		}
		st.Versions = append(st.Versions, vs)
		if v.Current && st.Policy.KEKRotation > 0 {
			st.NextRotation = v.CreatedAt.Add(st.Policy.KEKRotation)
		}
	}
	if job, err := a.RewrapJob(ctx); err == nil {
		st.Rewrap = &job
	} else if !whispersync.IsNotFound(err) {
		return KeyStatus{}, err
	}
	list, err := a.Secrets.List(ctx, secrets.Actor{Principal: actor.Principal, Source: actor.Source})
	if err != nil {
		return KeyStatus{}, err
	}
	for _, s := range list {
		if s.Overdue {
			st.OverdueSecrets++
		}
	}
	st.Warnings = a.keyWarnings(st)
	st.Metrics = a.Sealer.Metrics()
	return st, nil
}

// keyWarnings lists what weakens the key hierarchy, check-style.
func (a *App) keyWarnings(st KeyStatus) []string {
	var w []string
	if st.Source.Kind == "key file" {
		w = append(w, "the key file holds the key-encryption keys in plaintext: anyone who reads it and the data directory reads everything; set "+PassphraseFileEnv+" or the systemd credential "+CredentialName+" to protect it with a passphrase")
	}
	if st.Policy.KEKRotation == 0 {
		w = append(w, "automatic key rotation is off: run whispersync keys schedule --kek 8760h")
	}
	if !st.NextRotation.IsZero() && time.Now().After(st.NextRotation) {
		w = append(w, "the key-encryption key is due for rotation: run whispersync keys rotate, or keep serve running")
	}
	for _, v := range st.Versions {
		if !v.Current && v.DataKeys == 0 {
			w = append(w, fmt.Sprintf("key-encryption key version %d wraps no data key: run whispersync keys retire %d", v.Version, v.Version))
		}
	}
	if st.Rewrap != nil && st.Rewrap.State != "done" {
		w = append(w, "a rewrap pass was interrupted: run whispersync keys rotate --resume")
	}
	return w
}

// keyOwners lists every owner that may hold data keys: each user and the
// system owner.
func (a *App) keyOwners(ctx context.Context) ([]string, error) {
	users, err := a.Accounts.ListUsers(ctx)
	if err != nil {
		return nil, fmt.Errorf("app: list users: %w", err)
	}
	owners := []string{systemOwner}
	for _, u := range users {
		owners = append(owners, u.ID)
	}
	slices.Sort(owners)
	return owners, nil
}

// StartKeySchedule runs the key and secret schedule in the background until
// Close: it rotates the key-encryption key when due, finishes rewrap passes
// (also those due to a rotation by another process), and rotates secrets.
func (a *App) StartKeySchedule(ctx context.Context) {
	if a.keys.stop != nil {
		return
	}
	ctx, a.keys.stop = context.WithCancel(ctx)
	a.keys.done.Add(1)
	go func() {
		defer a.keys.done.Done()
		t := time.NewTicker(keyCheckInterval)
		defer t.Stop()
		for {
			a.checkKeySchedule(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// stopKeySchedule stops the background schedule and waits for it.
func (a *App) stopKeySchedule() {
	if a.keys != nil && a.keys.stop != nil {
		a.keys.stop()
		a.keys.done.Wait()
	}
}

var scheduler = pipeline.Actor{Principal: "system:key-schedule", Source: "serve"}

// checkKeySchedule does one round of the schedule; failures are logged and
// retried on the next round.
func (a *App) checkKeySchedule(ctx context.Context) {
	log := a.Logger.With("component", "keys")
	if err := a.Keyring.Refresh(); err != nil {
		log.Error("reading the key file failed", "err", err)
		return
	}
	policy, err := a.KeyPolicy(ctx)
	if err != nil {
		log.Error("reading the key policy failed", "err", err)
		return
	}
	a.Sealer.SetDataKeyRotation(policy.DataKeyRotation)

	due := false
	for _, v := range a.Keyring.Versions() {
		due = due || v.Current && policy.KEKRotation > 0 && time.Since(v.CreatedAt) >= policy.KEKRotation
	}
	progress := func(p seal.RewrapProgress) {
		log.Info("rewrap progress", "target_version", p.Target, "owners_done", p.OwnersDone, "owners", p.Owners, "rewrapped", p.Rewrapped)
	}
	if due {
		_, err = a.RotateKEK(ctx, scheduler, progress)
	} else {
		_, err = a.ResumeRewrap(ctx, scheduler, progress)
	}
	if err != nil && ctx.Err() == nil {
		log.Error("key rotation failed; retrying at the next check", "err", err)
	}

	res, err := a.Secrets.CheckRotations(ctx, secrets.Actor{Principal: scheduler.Principal, Source: scheduler.Source})
	if err != nil && ctx.Err() == nil {
		log.Error("secret rotation check failed", "err", err)
	} else if len(res.Rotated)+len(res.Notified) > 0 {
		log.Info("secret rotations", "rotated", len(res.Rotated), "notified", len(res.Notified), "overdue", res.Overdue)
	}
}

// keyStateIdentity binds a sealed key state item to its key.
func keyStateIdentity(key string) seal.Identity {
	return seal.Identity{Owner: systemOwner, Kind: keyStateTable, ID: key}
}

func (a *App) loadState(ctx context.Context, key string, v any) error {
	item, err := a.DB.Tables().GetItem(ctx, keyStateTable, systemOwner, key)
	if err != nil {
		return err
	}
	if err := seal.OpenJSON(ctx, a.Sealer, keyStateIdentity(key), item.Data, v); err != nil {
		return fmt.Errorf("app: %s %s %s: %w", seal.Step(err), keyStateTable, key, err)
	}
	return nil
}

func (a *App) saveState(ctx context.Context, key string, v any, attrs map[string]string) error {
	sealed, err := seal.SealJSON(ctx, a.Sealer, keyStateIdentity(key), whispersync.KeyClassData, v)
	if err != nil {
		return fmt.Errorf("app: %s %s %s: %w", seal.Step(err), keyStateTable, key, err)
	}
	item := whispersync.Item{Owner: systemOwner, Key: key, Attrs: attrs, Data: sealed}
	if err := a.DB.Tables().PutItem(ctx, keyStateTable, item, whispersync.Always); err != nil {
		return fmt.Errorf("app: store %s %s: %w", keyStateTable, key, err)
	}
	return nil
}
