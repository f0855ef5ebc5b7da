package backup

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/audit"
	"github.com/whispersync/whispersync/internal/atomicfile"
	"github.com/whispersync/whispersync/seal"
	"github.com/whispersync/whispersync/sqlite"
)

// setReader reads the parts of one backup, checking each against the
// manifest.
type setReader interface {
	database(w io.Writer) error
	blob(sum string) ([]byte, error)
}

// hotSet reads a backup in the backup location.
type hotSet struct {
	r *Repository
	m *Manifest
}

func (h hotSet) database(w io.Writer) error {
	f, err := os.Open(filepath.Join(h.r.setDir(h.m.ID), "database"))
	if err != nil {
		return err
	}
	defer f.Close()
	sum, size, err := openStream(w, f, h.r.cfg.Key, "database")
	if err != nil {
		return fmt.Errorf("database: %w", err)
	}
	if hex.EncodeToString(sum) != h.m.Database.SHA256 || size != h.m.Database.Size {
		return fmt.Errorf("database checksum: %w", ErrCorrupt)
	}
	return nil
}

func (h hotSet) blob(sum string) ([]byte, error) {
	if _, ok := h.m.Blobs[sum]; !ok || len(sum) != 64 {
		return nil, fmt.Errorf("object %s is not in the manifest: %w", sum, ErrCorrupt)
	}
	f, err := os.Open(h.r.blobPath(sum))
	if err != nil {
		return nil, fmt.Errorf("object %s: %w", sum, err)
	}
	defer f.Close()
	var buf bytes.Buffer
	got, _, err := openStream(&buf, f, h.r.cfg.Key, "object:"+sum)
	if err != nil {
		return nil, fmt.Errorf("object %s: %w", sum, err)
	}
	if hex.EncodeToString(got) != sum {
		return nil, fmt.Errorf("object %s checksum: %w", sum, ErrCorrupt)
	}
	return buf.Bytes(), nil
}

// coldSet holds a cold backup read whole into memory.
//
// NOTE: a cold restore holds the whole backup in memory; a streaming
// reader would need the archive to list blobs in the order a restore
// writes them.
type coldSet struct {
	db    []byte
	blobs map[string][]byte
}

func (r *Repository) readCold(m *Manifest) (*coldSet, error) {
	f, err := os.Open(filepath.Join(r.cfg.ColdDir, m.ID+".archive"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	pr, pw := io.Pipe()
	errc := make(chan error, 1)
	go func() {
		_, _, err := openStream(pw, f, r.cfg.Key, "archive:"+m.ID)
		pw.CloseWithError(err)
		errc <- err
	}()
	c := &coldSet{blobs: map[string][]byte{}}
	err = readArchive(pr, c)
	if err == nil {
		// Read to the end, so the stream's last chunk is authenticated.
		_, err = io.Copy(io.Discard, pr)
	}
	_ = pr.CloseWithError(errors.New("backup: archive reader stopped")) // returns nil always
	streamErr := <-errc
	if err != nil {
		return nil, fmt.Errorf("cold archive %s: %w", m.ID, err)
	}
	if streamErr != nil {
		return nil, fmt.Errorf("cold archive %s: %w", m.ID, streamErr)
	}
	return c, nil
}

func readArchive(r io.Reader, c *coldSet) error {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return err
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return err
		}
		switch name := h.Name; {
		case name == "database":
			c.db = data
		case len(name) == len("blobs/")+64 && name[:6] == "blobs/":
			c.blobs[name[6:]] = data
		}
	}
}

func (c *coldSet) database(w io.Writer) error {
	_, err := w.Write(c.db)
	return err
}

func (c *coldSet) blob(sum string) ([]byte, error) {
	b, ok := c.blobs[sum]
	h := sha256.Sum256(b)
	if !ok || hex.EncodeToString(h[:]) != sum {
		return nil, fmt.Errorf("object %s: %w", sum, ErrCorrupt)
	}
	return b, nil
}

func (r *Repository) reader(m *Manifest, tier string) (setReader, error) {
	if tier == TierHot {
		return hotSet{r: r, m: m}, nil
	}
	c, err := r.readCold(m)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(c.db)
	if hex.EncodeToString(sum[:]) != m.Database.SHA256 || int64(len(c.db)) != m.Database.Size {
		return nil, fmt.Errorf("database checksum: %w", ErrCorrupt)
	}
	return c, nil
}

// Verify checks backup id, the newest when id is empty: the manifest's
// HMAC, and the checksum of every part after opening it. It returns the
// manifest.
func (r *Repository) Verify(ctx context.Context, id string, progress Progress) (*Manifest, error) {
	if progress == nil {
		progress = func(string, int, int) {}
	}
	m, tier, err := r.find(ctx, id)
	if err != nil {
		return nil, err
	}
	if m.Keys != nil {
		for _, v := range m.Keys.KEKVersions {
			if err := r.checkKEK(m.ID, v, ""); err != nil {
				return nil, err
			}
		}
	}
	sr, err := r.reader(m, tier)
	if err != nil {
		return nil, fmt.Errorf("backup: verify %s: %w", m.ID, err)
	}
	progress("database", 0, 1)
	if err := sr.database(io.Discard); err != nil {
		return nil, fmt.Errorf("backup: verify %s: %w", m.ID, err)
	}
	progress("database", 1, 1)
	i := 0
	for sum := range m.Blobs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		progress("objects", i, len(m.Blobs))
		if _, err := sr.blob(sum); err != nil {
			return nil, fmt.Errorf("backup: verify %s: %w", m.ID, err)
		}
		i++
	}
	progress("objects", len(m.Blobs), len(m.Blobs))
	return m, nil
}

// Restore rebuilds a data directory in target from backup id, the newest
// when id is empty: the database, with the data keys of every owner whose
// backup key is still in the escrow unwrapped again and those of erased
// owners deleted, and the object versions. target must be empty or
// missing. The caller then reapplies the erasure ledger.
//
// The restored directory gets a new audit identity (see
// audit.IdentityFileName): the backup holds no audit log, so the directory
// starts a log of its own, which the anchor file beside the key file
// records apart from the source's.
func (r *Repository) Restore(ctx context.Context, id, target string, progress Progress) (*Manifest, error) {
	return r.restore(ctx, id, target, progress, true)
}

// restore is Restore; a drill, whose scratch folder is never opened,
// passes identity false and gets no audit identity.
func (r *Repository) restore(ctx context.Context, id, target string, progress Progress, identity bool) (*Manifest, error) {
	if progress == nil {
		progress = func(string, int, int) {}
	}
	if err := checkEmpty(target); err != nil {
		return nil, err
	}
	m, tier, err := r.find(ctx, id)
	if err != nil {
		return nil, err
	}
	if m.Keys != nil {
		for _, v := range m.Keys.KEKVersions {
			if err := r.checkKEK(m.ID, v, ""); err != nil {
				return nil, err
			}
		}
	}
	sr, err := r.reader(m, tier)
	if err != nil {
		return nil, fmt.Errorf("backup: restore %s: %w", m.ID, err)
	}
	_, statErr := os.Stat(target)
	existed := statErr == nil
	if err := os.MkdirAll(target, 0o700); err != nil {
		return nil, fmt.Errorf("backup: restore: %w", err)
	}
	if err := r.restoreInto(ctx, m, sr, target, progress, identity); err != nil {
		// target was empty or missing, so everything in it is this
		// restore's: remove it, so a retry finds the folder empty again.
		if cerr := emptyFolder(target, existed); cerr != nil {
			r.log.Error("remove a failed restore failed", "target", target, "err", cerr)
			err = errors.Join(err, fmt.Errorf("remove the partial restore in %s: %w", target, cerr))
		}
		return nil, fmt.Errorf("backup: restore %s: %w", m.ID, err)
	}
	r.log.Info("backup restored", "backup", m.ID, "target", target, "objects", len(m.Objects))
	return m, nil
}

// IncompleteMarker names the file that a restore keeps in its target until
// everything is written and synced. A data directory that holds it is one
// that a killed restore left behind, and app.Open refuses it.
const IncompleteMarker = "RESTORE-INCOMPLETE"

func (r *Repository) restoreInto(ctx context.Context, m *Manifest, sr setReader, target string, progress Progress, identity bool) error {
	marker := filepath.Join(target, IncompleteMarker)
	if err := atomicfile.WriteFile(marker, []byte("restore of backup "+m.ID+" in progress\n")); err != nil {
		return err
	}
	progress("database", 0, 1)
	dbPath := filepath.Join(target, "whispersync.db")
	f, err := os.OpenFile(dbPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	err = sr.database(f)
	if err == nil {
		err = f.Sync()
	}
	if err = errors.Join(err, f.Close()); err != nil {
		// A partial database left behind keeps the target from being
		// restored into again, so a failed removal is reported too.
		return errors.Join(err, os.Remove(dbPath))
	}
	err = sqlite.EditSnapshot(ctx, dbPath, func(ctx context.Context, tx *sql.Tx) error {
		return r.unwrapDataKeys(ctx, tx, m.ID)
	})
	if err != nil {
		return err
	}
	progress("database", 1, 1)

	objects, err := sqlite.OpenObjectStore(ctx, filepath.Join(target, "objects.db"))
	if err != nil {
		return err
	}
	if err := r.importObjects(ctx, sr, m, objects, progress); err != nil {
		return errors.Join(err, objects.Close())
	}
	if err := objects.Close(); err != nil {
		return err
	}
	if identity {
		if _, err := audit.NewIdentity(filepath.Join(target, audit.IdentityFileName), audit.IdentityKey(r.cfg.Key)); err != nil {
			return err
		}
	}
	if err := syncTree(target); err != nil {
		return err
	}
	if err := os.Remove(marker); err != nil {
		return err
	}
	return atomicfile.SyncDir(target)
}

// importObjects writes the object versions of m into objects.
func (r *Repository) importObjects(ctx context.Context, sr setReader, m *Manifest, objects *sqlite.ObjectStore, progress Progress) error {
	for i, o := range m.Objects {
		if err := ctx.Err(); err != nil {
			return err
		}
		progress("objects", i, len(m.Objects))
		record, err := sr.blob(o.Record)
		if err != nil {
			return err
		}
		var tags []byte
		if o.Tags != "" {
			if tags, err = sr.blob(o.Tags); err != nil {
				return err
			}
		}
		if err := objects.ImportVersion(ctx, o.Key, o.VersionID, record, tags); err != nil {
			return err
		}
	}
	progress("objects", len(m.Objects), len(m.Objects))
	return nil
}

// checkKEK returns a conflict when the key file lacks key-encryption key
// version v, which backup id needs for the data keys of owner, or of some
// owners when owner is empty.
func (r *Repository) checkKEK(id string, v int, owner string) error {
	if r.cfg.KEKVersions == nil || slices.Contains(r.cfg.KEKVersions(), v) {
		return nil
	}
	whose := "its data keys"
	if owner != "" {
		whose = "the data keys of " + owner
	}
	return whispersync.Errorf(whispersync.ECONFLICT,
		"backup %s needs key-encryption key version %d for %s, and the key file does not hold it (it was retired or the key file is another one): restore with a copy of the key file that still holds version %d",
		id, v, whose, v)
}

// unwrapDataKeys restores the wrapped data keys of a restored snapshot and
// deletes those whose owner's backup key was destroyed. Each restored key
// must be wrapped under a key-encryption key version the key file holds.
func (r *Repository) unwrapDataKeys(ctx context.Context, tx *sql.Tx, id string) error {
	rows, err := queryDataKeys(ctx, tx)
	if err != nil {
		return fmt.Errorf("read data keys: %w", err)
	}
	keys, err := r.cfg.Escrow.load()
	if err != nil {
		return err
	}
	defer clearKeys(keys)
	for _, d := range rows {
		k, ok := keys[d.owner]
		if !ok {
			if _, err := tx.ExecContext(ctx, `DELETE FROM items WHERE tbl = ? AND owner = ? AND key = ?`, seal.DataKeysTable, d.owner, d.key); err != nil {
				return err
			}
			continue
		}
		plain, err := unwrapDataKey(k, d.owner, d.key, d.data)
		if err != nil {
			return fmt.Errorf("data key of %s: %w", d.owner, err)
		}
		v, _ := seal.WrappedVersion(plain)
		if err := r.checkKEK(id, v, d.owner); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE items SET data = ? WHERE tbl = ? AND owner = ? AND key = ?`, plain, seal.DataKeysTable, d.owner, d.key); err != nil {
			return err
		}
	}
	return nil
}

// checkEmpty refuses a target that exists and is not an empty folder.
func checkEmpty(target string) error {
	if target == "" {
		return whispersync.Errorf(whispersync.EINVALID, "no target folder: name one with --to DIR")
	}
	entries, err := os.ReadDir(target)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return whispersync.Errorf(whispersync.EINVALID, "target %s cannot be used: %v: name a new or empty folder", target, err)
	}
	if len(entries) > 0 {
		return whispersync.Errorf(whispersync.ECONFLICT, "target %s is not empty: restore into a new or empty folder, so that nothing is overwritten", target)
	}
	return nil
}

// syncTree syncs every folder under root, so the entries of the files
// written into them are durable.
func syncTree(root string) error {
	return filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		return atomicfile.SyncDir(path)
	})
}

// emptyFolder removes what a failed restore wrote into dir, and dir itself
// unless it existed before the restore.
func emptyFolder(dir string, existed bool) error {
	if !existed {
		return os.RemoveAll(dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		errs = append(errs, os.RemoveAll(filepath.Join(dir, e.Name())))
	}
	return errors.Join(errs...)
}
