// Package backup makes encrypted, checksummed backups of a WhisperSync data
// directory while it keeps serving, moves them to a cold location as they
// age, deletes them when they expire, and restores them into a new data
// directory.
//
// # What a backup holds
//
// A backup is a consistent snapshot of the database (SQLite's VACUUM INTO)
// and every object version that existed when the snapshot was taken,
// optionally only those whose classification tag is selected. Object
// versions never change, so each is stored once, by the SHA-256 of its
// stored file, and shared by every later backup that holds it.
//
// Every file is sealed (see the sealed stream format in stream.go) under
// the backup key, which the caller derives from the key ring. A backup is
// thus as safe as the data directory, and it needs the key file to be read.
// The data keys in the snapshot are rewrapped under each owner's key in
// the Escrow, so that destroying that key in an erasure makes the owner's
// data unreadable in every backup, while the key file stays as it is.
//
// # Layout
//
//	DIR/lock                     held by the operation that writes DIR
//	DIR/blobs/AB/SHA256          sealed object files and tags files
//	DIR/sets/ID/manifest.json    the manifest, with its HMAC
//	DIR/sets/ID/database         the sealed database snapshot
//	DIR/drills.jsonl             results of restore drills, one per line
//	COLD/ID.manifest.json        the manifest of a cold backup
//	COLD/ID.archive              sealed gzip-compressed tar of the backup
//
// # Tiers
//
// A backup older than ColdAfter moves from DIR to the cold location COLD as
// one compressed archive; one older than DeleteAfter is deleted. Blobs no
// hot backup refers to any more are deleted with it.
package backup

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/internal/atomicfile"
	"github.com/whispersync/whispersync/seal"
	"github.com/whispersync/whispersync/sqlite"
)

// Defaults of the retention policy.
const (
	DefaultColdAfter   = 7 * 24 * time.Hour
	DefaultDeleteAfter = 30 * 24 * time.Hour
)

// Database makes consistent snapshots while it serves; *sqlite.DB is one.
type Database interface {
	Snapshot(ctx context.Context, path string) error
}

// Objects lists and exports object versions; *sqlite.ObjectStore is one.
type Objects interface {
	ListObjectVersions(ctx context.Context, prefix string) ([]whispersync.ObjectVersion, error)
	GetObjectTagging(ctx context.Context, key, versionID string) (map[string]string, error)
	ExportVersion(ctx context.Context, key, versionID string) (record, tags []byte, err error)
}

// Config configures a Repository.
type Config struct {
	// Dir is the backup location, where new backups go.
	Dir string
	// ColdDir is the cold location; Dir/cold when empty.
	ColdDir string
	// Key is the 32-byte backup key.
	Key []byte
	// Escrow keeps the owners' backup keys.
	Escrow *Escrow
	// KEKVersions returns the key-encryption key versions that the key
	// file holds. A restore that would need another one fails before it
	// writes anything, or, for a backup that did not record its versions,
	// when it meets the first data key that needs one. Nil skips the check.
	KEKVersions func() []int
	// Classes selects the objects by their classification tag; empty
	// selects every object. The database is always included whole.
	Classes []string
	// ColdAfter and DeleteAfter are the ages at which a backup moves to
	// the cold location and is deleted; the defaults when 0.
	ColdAfter   time.Duration
	DeleteAfter time.Duration
	Logger      *slog.Logger
	Now         func() time.Time
}

// Repository is the backups in one location and its cold location.
type Repository struct {
	cfg Config
	log *slog.Logger
}

// Progress receives the progress of a long operation: its phase, such as
// "objects", and how many of total steps are done.
type Progress func(phase string, done, total int)

// New returns the repository configured by cfg.
func New(cfg Config) (*Repository, error) {
	if cfg.Dir == "" || len(cfg.Key) != 32 || cfg.Escrow == nil {
		return nil, errors.New("backup: incomplete configuration: a location, a 32-byte key and an escrow are required")
	}
	for _, c := range cfg.Classes {
		if !slices.Contains(whispersync.Classes, c) {
			return nil, whispersync.Errorf(whispersync.EINVALID, "backup: unknown data classification %q in the classes to back up: use %s, separated by commas",
				c, strings.Join(whispersync.Classes, ", "))
		}
	}
	if cfg.ColdDir == "" {
		cfg.ColdDir = filepath.Join(cfg.Dir, "cold")
	}
	if cfg.ColdAfter <= 0 {
		cfg.ColdAfter = DefaultColdAfter
	}
	if cfg.DeleteAfter <= 0 {
		cfg.DeleteAfter = DefaultDeleteAfter
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Repository{cfg: cfg, log: cfg.Logger.With("component", "backup")}, nil
}

// Dir returns the backup location.
func (r *Repository) Dir() string { return r.cfg.Dir }

// ColdDir returns the cold location.
func (r *Repository) ColdDir() string { return r.cfg.ColdDir }

func (r *Repository) setDir(id string) string { return filepath.Join(r.cfg.Dir, "sets", id) }

func (r *Repository) blobPath(sum string) string {
	return filepath.Join(r.cfg.Dir, "blobs", sum[:2], sum)
}

// lock takes the location's lock, creating the folders it needs.
func (r *Repository) lock() (func(), error) {
	for _, d := range []string{r.cfg.Dir, filepath.Join(r.cfg.Dir, "sets"), filepath.Join(r.cfg.Dir, "blobs"), r.cfg.ColdDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("backup: %w", err)
		}
	}
	return lockFile(filepath.Join(r.cfg.Dir, "lock"), false)
}

func newID(now time.Time) string {
	var b [3]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("backup: " + err.Error())
	}
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// Create makes a backup of db and objects and returns its manifest.
func (r *Repository) Create(ctx context.Context, db Database, objects Objects, progress Progress) (*Manifest, error) {
	if progress == nil {
		progress = func(string, int, int) {}
	}
	unlock, err := r.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()

	now := r.cfg.Now().UTC()
	m := &Manifest{Format: manifestFormat, ID: newID(now), CreatedAt: now, Classes: r.cfg.Classes, Blobs: map[string]int64{}}
	tmp := filepath.Join(r.cfg.Dir, "sets", ".tmp-"+m.ID)
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return nil, fmt.Errorf("backup: create: %w", err)
	}
	done := false
	defer func() {
		if done {
			return
		}
		if err := os.RemoveAll(tmp); err != nil {
			r.log.Warn("removing an unfinished backup set failed", "dir", tmp, "err", err)
		}
	}()

	progress("database", 0, 1)
	if err := r.snapshotDatabase(ctx, db, tmp, m); err != nil {
		return nil, fmt.Errorf("backup: create: %w", err)
	}
	progress("database", 1, 1)
	// Every object a committed memo refers to was stored before the
	// commit, so before the snapshot, and so before cut.
	cut := r.cfg.Now()

	if err := r.copyObjects(ctx, objects, cut, m, progress); err != nil {
		return nil, fmt.Errorf("backup: create: %w", err)
	}
	if err := m.sign(r.cfg.Key); err != nil {
		return nil, fmt.Errorf("backup: create: %w", err)
	}
	if err := writeManifest(filepath.Join(tmp, "manifest.json"), m); err != nil {
		return nil, fmt.Errorf("backup: create: %w", err)
	}
	if err := os.Rename(tmp, r.setDir(m.ID)); err != nil {
		return nil, fmt.Errorf("backup: create: %w", err)
	}
	done = true
	if err := atomicfile.SyncDir(filepath.Join(r.cfg.Dir, "sets")); err != nil {
		return nil, fmt.Errorf("backup: create: %w", err)
	}
	r.log.Info("backup created", "backup", m.ID, "objects", len(m.Objects), "bytes", m.Size())
	return m, nil
}

// snapshotDatabase snapshots db into tmp, rewraps its data keys under the
// owners' backup keys and seals it as tmp/database. The plaintext snapshot
// is removed on every path.
func (r *Repository) snapshotDatabase(ctx context.Context, db Database, tmp string, m *Manifest) (err error) {
	snap := filepath.Join(tmp, "snapshot.db")
	defer func() {
		// A snapshot file left behind would keep plaintext on disk, so
		// failing to remove one fails the backup.
		for _, suffix := range []string{"", "-journal", "-wal", "-shm"} {
			if rmErr := os.Remove(snap + suffix); rmErr != nil && !errors.Is(rmErr, fs.ErrNotExist) {
				err = errors.Join(err, fmt.Errorf("remove plaintext snapshot: %w", rmErr))
			}
		}
	}()
	if err := db.Snapshot(ctx, snap); err != nil {
		return err
	}
	err = sqlite.EditSnapshot(ctx, snap, func(ctx context.Context, tx *sql.Tx) error {
		versions, err := r.rewrapDataKeys(ctx, tx)
		m.Keys = &KeyNeeds{KEKVersions: versions}
		return err
	})
	if err != nil {
		return err
	}

	in, err := os.Open(snap)
	if err != nil {
		return err
	}
	defer in.Close()
	sum, size, err := sealToFile(filepath.Join(tmp, "database"), in, r.cfg.Key, "database")
	if err != nil {
		return fmt.Errorf("seal database: %w", err)
	}
	m.Database = Part{SHA256: sum, Size: size}
	return nil
}

type dataKeyRow struct {
	owner, key string
	data       []byte
}

func queryDataKeys(ctx context.Context, tx *sql.Tx) ([]dataKeyRow, error) {
	rows, err := tx.QueryContext(ctx, `SELECT owner, key, data FROM items WHERE tbl = ?`, seal.DataKeysTable)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []dataKeyRow
	for rows.Next() {
		var d dataKeyRow
		if err := rows.Scan(&d.owner, &d.key, &d.data); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// rewrapDataKeys replaces every wrapped data key in a snapshot with the
// same bytes sealed under its owner's backup key. It returns the
// key-encryption key versions that wrap those data keys, oldest first.
func (r *Repository) rewrapDataKeys(ctx context.Context, tx *sql.Tx) ([]int, error) {
	rows, err := queryDataKeys(ctx, tx)
	if err != nil {
		return nil, fmt.Errorf("read data keys: %w", err)
	}
	var owners []string
	versions := []int{}
	for _, d := range rows {
		owners = append(owners, d.owner)
		// An unreadable key counts as version 0, which no key file
		// holds, so a restore reports it instead of passing it on.
		v, _ := seal.WrappedVersion(d.data)
		versions = append(versions, v)
	}
	keys, err := r.cfg.Escrow.ensure(slices.Compact(slices.Sorted(slices.Values(owners))))
	if err != nil {
		return nil, err
	}
	defer clearKeys(keys)
	for _, d := range rows {
		wrapped, err := wrapDataKey(keys[d.owner], d.owner, d.key, d.data)
		if err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE items SET data = ? WHERE tbl = ? AND owner = ? AND key = ?`, wrapped, seal.DataKeysTable, d.owner, d.key); err != nil {
			return nil, fmt.Errorf("rewrap data key: %w", err)
		}
	}
	slices.Sort(versions)
	return slices.Compact(versions), nil
}

func clearKeys(keys map[string][]byte) {
	for _, k := range keys {
		clear(k)
	}
}

// copyObjects adds the selected object versions stored no later than cut
// to m, sealing each file not yet in the location's blobs.
func (r *Repository) copyObjects(ctx context.Context, objects Objects, cut time.Time, m *Manifest, progress Progress) error {
	versions, err := objects.ListObjectVersions(ctx, "")
	if err != nil {
		return fmt.Errorf("list objects: %w", err)
	}
	for i, v := range versions {
		progress("objects", i, len(versions))
		if v.LastModified.After(cut) {
			continue
		}
		if !v.DeleteMarker && len(r.cfg.Classes) > 0 {
			tags, err := objects.GetObjectTagging(ctx, v.Key, v.VersionID)
			if whispersync.IsNotFound(err) {
				continue
			}
			if err != nil {
				return fmt.Errorf("tags of %s: %w", v.Key, err)
			}
			if !slices.Contains(r.cfg.Classes, tags[whispersync.TagClassification]) {
				continue
			}
		}
		record, tags, err := objects.ExportVersion(ctx, v.Key, v.VersionID)
		if whispersync.IsNotFound(err) {
			// Removed since the listing, such as an orphan or an erasure.
			continue
		}
		if err != nil {
			return err
		}
		o := Object{Key: v.Key, VersionID: v.VersionID, DeleteMarker: v.DeleteMarker}
		if o.Record, err = r.putBlob(record, m); err != nil {
			return err
		}
		if tags != nil {
			if o.Tags, err = r.putBlob(tags, m); err != nil {
				return err
			}
		}
		m.Objects = append(m.Objects, o)
	}
	progress("objects", len(versions), len(versions))
	return nil
}

// putBlob stores data sealed under its SHA-256 unless the location has it
// already, and returns the hex SHA-256.
func (r *Repository) putBlob(data []byte, m *Manifest) (string, error) {
	h := sha256.Sum256(data)
	sum := hex.EncodeToString(h[:])
	path := r.blobPath(sum)
	if info, err := os.Stat(path); err == nil {
		m.Blobs[sum] = info.Size()
		return sum, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	if _, _, err := sealToFile(path, bytes.NewReader(data), r.cfg.Key, "object:"+sum); err != nil {
		return "", fmt.Errorf("seal object: %w", err)
	}
	info, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	m.Blobs[sum] = info.Size()
	return sum, nil
}

// sealToFile seals src into a new file at path, durably, and returns the
// plaintext's hex SHA-256 and size.
func sealToFile(path string, src io.Reader, key []byte, label string) (string, int64, error) {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return "", 0, err
	}
	tmp := f.Name()
	sum, size, err := sealStream(f, src, key, label)
	if err == nil {
		err = f.Sync()
	}
	if err = errors.Join(err, f.Close()); err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp) // contains sealed data only, and the error above is the one to report
		return "", 0, err
	}
	return hex.EncodeToString(sum), size, atomicfile.SyncDir(filepath.Dir(path))
}

// Tier names where a backup is kept.
const (
	TierHot  = "hot"
	TierCold = "cold"
)

// Info describes a backup in a listing.
type Info struct {
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"created_at"`
	Tier      string    `json:"tier"`
	Objects   int       `json:"objects"`
	Bytes     int64     `json:"bytes"`
	Classes   []string  `json:"classes,omitempty"`
	// Keys lists the key-file contents a restore needs. It is nil when the
	// backup did not record them.
	Keys *KeyNeeds `json:"keys,omitempty"`
	// DeleteAt is when the retention policy deletes the backup.
	DeleteAt time.Time `json:"delete_at"`
}

// NeedsKEK reports whether restoring the backup may need key-encryption
// key version v: it does when the backup recorded v, and may when the
// backup recorded no versions.
func (i Info) NeedsKEK(v int) bool { return i.Keys.needs(v) }

// List returns the backups of both tiers, newest first. It fails when a
// manifest fails its check, naming the backup.
func (r *Repository) List(ctx context.Context) ([]Info, error) {
	var infos []Info
	add := func(path, tier string) error {
		m, err := readManifest(path, r.cfg.Key)
		if err != nil {
			return fmt.Errorf("backup: list: %w", err)
		}
		infos = append(infos, Info{
			ID: m.ID, CreatedAt: m.CreatedAt, Tier: tier, Objects: len(m.Objects), Bytes: m.Size(), Classes: m.Classes,
			Keys: m.Keys, DeleteAt: m.CreatedAt.Add(r.cfg.DeleteAfter),
		})
		return nil
	}
	hot, err := os.ReadDir(filepath.Join(r.cfg.Dir, "sets"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("backup: list: %w", err)
	}
	for _, e := range hot {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if err := add(filepath.Join(r.setDir(e.Name()), "manifest.json"), TierHot); err != nil {
			return nil, err
		}
	}
	cold, err := os.ReadDir(r.cfg.ColdDir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("backup: list: %w", err)
	}
	for _, e := range cold {
		if id, ok := strings.CutSuffix(e.Name(), ".manifest.json"); ok && !strings.HasPrefix(id, ".") {
			if err := add(filepath.Join(r.cfg.ColdDir, e.Name()), TierCold); err != nil {
				return nil, err
			}
		}
	}
	sort.Slice(infos, func(i, j int) bool {
		if !infos[i].CreatedAt.Equal(infos[j].CreatedAt) {
			return infos[i].CreatedAt.After(infos[j].CreatedAt)
		}
		return infos[i].ID > infos[j].ID
	})
	return infos, ctx.Err()
}

// find returns the manifest and tier of backup id; an empty id names the
// newest backup.
func (r *Repository) find(ctx context.Context, id string) (*Manifest, string, error) {
	if id == "" {
		infos, err := r.List(ctx)
		if err != nil {
			return nil, "", err
		}
		if len(infos) == 0 {
			return nil, "", whispersync.Errorf(whispersync.ENOTFOUND, "no backup in %s: run whispersync backup create", r.cfg.Dir)
		}
		id = infos[0].ID
	}
	if !validID(id) {
		return nil, "", whispersync.Errorf(whispersync.EINVALID, "backup id %q is malformed: whispersync backup list shows the ids", id)
	}
	if m, err := readManifest(filepath.Join(r.setDir(id), "manifest.json"), r.cfg.Key); err == nil {
		return m, TierHot, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, "", fmt.Errorf("backup: %w", err)
	}
	m, err := readManifest(filepath.Join(r.cfg.ColdDir, id+".manifest.json"), r.cfg.Key)
	if errors.Is(err, os.ErrNotExist) {
		return nil, "", whispersync.Errorf(whispersync.ENOTFOUND, "backup %s not found in %s or %s: whispersync backup list shows the backups", id, r.cfg.Dir, r.cfg.ColdDir)
	}
	if err != nil {
		return nil, "", fmt.Errorf("backup: %w", err)
	}
	return m, TierCold, nil
}

// validID accepts the ids newID makes, so an id never leads out of the
// location.
func validID(id string) bool {
	if len(id) != len("20060102T150405Z-abcdef") {
		return false
	}
	for _, c := range id {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c == 'T' || c == 'Z' || c == '-') {
			return false
		}
	}
	return true
}
