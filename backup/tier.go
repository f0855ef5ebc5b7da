package backup

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/whispersync/whispersync/internal/atomicfile"
)

// TierResult counts what Tier did.
type TierResult struct {
	Moved   []string `json:"moved"`
	Deleted []string `json:"deleted"`
	// Blobs counts the object files deleted because no hot backup refers
	// to them any more.
	Blobs int `json:"blobs"`
}

// Tier applies the retention policy: it moves every hot backup older than
// ColdAfter to the cold location as a compressed archive, deletes every
// backup older than DeleteAfter, and then deletes the blobs no hot backup
// refers to.
func (r *Repository) Tier(ctx context.Context) (TierResult, error) {
	var res TierResult
	unlock, err := r.lock()
	if err != nil {
		return res, err
	}
	defer unlock()
	infos, err := r.List(ctx)
	if err != nil {
		return res, err
	}

	now := r.cfg.Now()
	for _, info := range infos {
		age := now.Sub(info.CreatedAt)
		switch {
		case age >= r.cfg.DeleteAfter:
			if err := r.remove(info); err != nil {
				return res, fmt.Errorf("backup: delete %s: %w", info.ID, err)
			}
			res.Deleted = append(res.Deleted, info.ID)
		case age >= r.cfg.ColdAfter && info.Tier == TierHot:
			if err := r.moveCold(ctx, info.ID); err != nil {
				return res, fmt.Errorf("backup: move %s to the cold location: %w", info.ID, err)
			}
			res.Moved = append(res.Moved, info.ID)
		}
	}
	if res.Blobs, err = r.collectBlobs(ctx); err != nil {
		return res, err
	}
	if len(res.Moved)+len(res.Deleted)+res.Blobs > 0 {
		r.log.Info("backups tiered", "moved", len(res.Moved), "deleted", len(res.Deleted), "blobs_deleted", res.Blobs)
	}
	return res, nil
}

func (r *Repository) remove(info Info) error {
	if info.Tier == TierHot {
		return os.RemoveAll(r.setDir(info.ID))
	}
	for _, suffix := range []string{".archive", ".manifest.json"} {
		if err := os.Remove(filepath.Join(r.cfg.ColdDir, info.ID+suffix)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return atomicfile.SyncDir(r.cfg.ColdDir)
}

// moveCold writes backup id as a sealed, compressed archive to the cold
// location, reads it back to check it, and then removes the hot copy.
func (r *Repository) moveCold(ctx context.Context, id string) error {
	m, _, err := r.find(ctx, id)
	if err != nil {
		return err
	}
	hot := hotSet{r: r, m: m}
	archive := filepath.Join(r.cfg.ColdDir, id+".archive")

	pr, pw := io.Pipe()
	// CloseWithError on a pipe end always returns nil.
	go func() { _ = pw.CloseWithError(writeArchive(ctx, pw, hot)) }()
	_, _, err = sealToFile(archive, pr, r.cfg.Key, "archive:"+id)
	_ = pr.CloseWithError(errors.New("backup: archive writer stopped"))
	if err != nil {
		return err
	}
	// On failure the archive is removed on a best-effort basis: without its
	// manifest no listing sees it, and the next move of id replaces it.
	if _, err := r.readCold(m); err != nil {
		_ = os.Remove(archive)
		return fmt.Errorf("check archive: %w", err)
	}
	if err := writeManifest(filepath.Join(r.cfg.ColdDir, id+".manifest.json"), m); err != nil {
		_ = os.Remove(archive)
		return err
	}
	return os.RemoveAll(r.setDir(id))
}

// writeArchive writes the plaintext parts of a hot backup as a gzip tar:
// "database", then "blobs/SHA256" for each blob.
func writeArchive(ctx context.Context, w io.Writer, hot hotSet) error {
	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(zw)
	add := func(name string, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: int64(len(data)), ModTime: hot.m.CreatedAt, Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	var db bytes.Buffer
	if err := hot.database(&db); err != nil {
		return err
	}
	if err := add("database", db.Bytes()); err != nil {
		return err
	}
	for _, sum := range slices.Sorted(maps.Keys(hot.m.Blobs)) {
		if err := ctx.Err(); err != nil {
			return err
		}
		data, err := hot.blob(sum)
		if err != nil {
			return err
		}
		if err := add("blobs/"+sum, data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}

// collectBlobs deletes the blobs that no hot backup refers to, and returns
// how many.
func (r *Repository) collectBlobs(ctx context.Context) (int, error) {
	used := map[string]bool{}
	sets, err := os.ReadDir(filepath.Join(r.cfg.Dir, "sets"))
	if err != nil {
		return 0, fmt.Errorf("backup: collect blobs: %w", err)
	}
	for _, e := range sets {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		m, err := readManifest(filepath.Join(r.setDir(e.Name()), "manifest.json"), r.cfg.Key)
		if err != nil {
			return 0, fmt.Errorf("backup: collect blobs: %w", err)
		}
		for sum := range m.Blobs {
			used[sum] = true
		}
	}
	// Walking and removing inside an os.Root keeps a symbolic link swapped
	// in during the walk from sending a removal outside the blob folder.
	root, err := os.OpenRoot(filepath.Join(r.cfg.Dir, "blobs"))
	if err != nil {
		return 0, fmt.Errorf("backup: collect blobs: %w", err)
	}
	defer func() { _ = root.Close() }() // read and remove only: nothing to flush
	n := 0
	err = fs.WalkDir(root.FS(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if used[d.Name()] {
			return nil
		}
		n++
		return root.Remove(path)
	})
	if err != nil {
		return n, fmt.Errorf("backup: collect blobs: %w", err)
	}
	return n, ctx.Err()
}
