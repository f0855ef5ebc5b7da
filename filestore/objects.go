package filestore

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"time"

	"github.com/whispersync/whispersync"
)

// maxResolveAttempts bounds the retries of a lookup of a key's newest
// version that races with a permanent delete of that version.
const maxResolveAttempts = 3

// PutObject stores body as a new version of key with the given tags.
func (s *Store) PutObject(ctx context.Context, key string, body []byte, tags map[string]string) (whispersync.ObjectVersion, error) {
	if err := s.check(ctx, key); err != nil {
		return whispersync.ObjectVersion{}, fmt.Errorf("filestore: put object: %w", err)
	}
	if err := checkTags(tags); err != nil {
		return whispersync.ObjectVersion{}, fmt.Errorf("filestore: put object: %w", err)
	}
	sum := sha256.Sum256(body)
	m := &meta{
		Key:  key,
		Size: int64(len(body)),
		ETag: hex.EncodeToString(sum[:]),
		Tags: copyTags(tags),
	}

	unlock := s.keys.lock(key)
	defer unlock()
	if err := s.addVersion(m, body); err != nil {
		return whispersync.ObjectVersion{}, fmt.Errorf("filestore: put object: %w", err)
	}
	return m.version(true), nil
}

// DeleteObject adds a delete marker to key when versionID is empty, and
// otherwise removes that version for good. Removing a version that does not
// exist succeeds, as in S3, and returns a version with only Key and
// VersionID set. When the last file in a key's folder is removed, the
// folder goes too, and so do its parents that it leaves empty.
func (s *Store) DeleteObject(ctx context.Context, key, versionID string) (whispersync.ObjectVersion, error) {
	if err := s.check(ctx, key); err != nil {
		return whispersync.ObjectVersion{}, fmt.Errorf("filestore: delete object: %w", err)
	}
	if versionID == "" {
		unlock := s.keys.lock(key)
		defer unlock()
		m := &meta{Key: key, DeleteMarker: true}
		if err := s.addVersion(m, nil); err != nil {
			return whispersync.ObjectVersion{}, fmt.Errorf("filestore: delete object: %w", err)
		}
		return m.version(true), nil
	}
	if err := checkVersionID(versionID); err != nil {
		return whispersync.ObjectVersion{}, fmt.Errorf("filestore: delete object: %w", err)
	}

	unlock := s.keys.lock(key)
	defer unlock()
	deleted := whispersync.ObjectVersion{Key: key, VersionID: versionID}
	m, _, err := s.readVersion(key, versionID, false)
	switch {
	case err == nil:
		deleted = m.version(false)
	case whispersync.IsNotFound(err), errors.Is(err, ErrCorrupt):
		// A corrupt version must stay removable, or erasure could not
		// reach it.
	default:
		return whispersync.ObjectVersion{}, fmt.Errorf("filestore: delete object: %w", err)
	}
	if err := s.removeVersion(key, versionID); err != nil {
		return whispersync.ObjectVersion{}, fmt.Errorf("filestore: delete object: %w", err)
	}
	return deleted, nil
}

// GetObject returns a version of key, the newest when versionID is empty.
// It returns ENOTFOUND when the version does not exist or is a delete
// marker, and an error wrapping ErrCorrupt when the stored body does not
// match its ETag.
func (s *Store) GetObject(ctx context.Context, key, versionID string) (*whispersync.Object, error) {
	if err := s.check(ctx, key); err != nil {
		return nil, fmt.Errorf("filestore: get object: %w", err)
	}
	m, body, err := s.resolve(key, versionID, true)
	if err != nil {
		return nil, fmt.Errorf("filestore: get object: %w", err)
	}
	if err := s.readTags(m); err != nil {
		return nil, fmt.Errorf("filestore: get object: %w", err)
	}
	return &whispersync.Object{
		ObjectVersion: m.version(versionID == "" || s.isNewest(key, versionID)),
		Body:          body,
		Tags:          copyTags(m.Tags),
	}, nil
}

// GetObjectTagging returns the tags of a version of key, the newest when
// versionID is empty.
func (s *Store) GetObjectTagging(ctx context.Context, key, versionID string) (map[string]string, error) {
	if err := s.check(ctx, key); err != nil {
		return nil, fmt.Errorf("filestore: get object tagging: %w", err)
	}
	m, _, err := s.resolve(key, versionID, false)
	if err != nil {
		return nil, fmt.Errorf("filestore: get object tagging: %w", err)
	}
	if err := s.readTags(m); err != nil {
		return nil, fmt.Errorf("filestore: get object tagging: %w", err)
	}
	return copyTags(m.Tags), nil
}

// PutObjectTagging replaces the tags of a version of key, the newest when
// versionID is empty. The version's body, ETag and time stay as they are.
func (s *Store) PutObjectTagging(ctx context.Context, key, versionID string, tags map[string]string) error {
	if err := s.check(ctx, key); err != nil {
		return fmt.Errorf("filestore: put object tagging: %w", err)
	}
	if err := checkTags(tags); err != nil {
		return fmt.Errorf("filestore: put object tagging: %w", err)
	}

	unlock := s.keys.lock(key)
	defer unlock()
	m, _, err := s.resolve(key, versionID, false)
	if err != nil {
		return fmt.Errorf("filestore: put object tagging: %w", err)
	}
	data, err := encodeRecord(tagsMagic, &tagSet{Key: key, VersionID: m.VersionID, Tags: copyTags(tags)})
	if err != nil {
		return fmt.Errorf("filestore: put object tagging: %w", err)
	}
	dir, stem := splitKey(key)
	if err := s.writeFile(dir, tagsName(stem, m.VersionID), data); err != nil {
		return fmt.Errorf("filestore: put object tagging: %w", err)
	}
	return nil
}

// check rejects calls on a closed store, with a done context or with an
// invalid key.
func (s *Store) check(ctx context.Context, key string) error {
	if s.closed.Load() {
		return errors.New("store is closed")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return CheckKey(key)
}

func checkVersionID(versionID string) error {
	if !validVersionID(versionID) {
		return whispersync.Errorf(whispersync.EINVALID,
			"invalid version id %s: pass a version id that this store returned", quoteKey(versionID))
	}
	return nil
}

// addVersion issues m a new version id and writes the version file: m as
// its header, then body. The caller holds the key's lock.
func (s *Store) addVersion(m *meta, body []byte) error {
	now := time.Now().UTC()
	m.VersionID = s.clock.next(now)
	m.LastModified = now

	header, err := encodeRecord(versionMagic, m)
	if err != nil {
		return err
	}
	dir, stem := splitKey(m.Key)
	if err := s.writeFile(dir, versionName(stem, m.VersionID), header, body); err != nil {
		return err
	}
	s.index.add(dir, stem, m.VersionID)
	return nil
}

// removeVersion removes the version file, which ends the version, then its
// tags file, then the key's folder and its parents as far as they are left
// empty. The caller holds the key's lock.
func (s *Store) removeVersion(key, versionID string) error {
	dir, stem := splitKey(key)
	s.index.remove(dir, stem, versionID)
	removed := false
	for _, name := range []string{versionPath(key, versionID), tagsPath(key, versionID)} {
		err := s.root.Remove(name)
		switch {
		case err == nil:
			removed = true
		case !errors.Is(err, fs.ErrNotExist):
			s.index.forget(dir)
			return fmt.Errorf("remove %s: %w", path.Base(name), err)
		}
	}
	s.index.remove(dir, stem, versionID)
	if !removed {
		return nil
	}
	if err := s.syncRemoval(dir); err != nil {
		return err
	}
	return s.removeEmptyDirs(dir)
}

// resolve reads a version of key, the newest when versionID is empty, with
// its body when withBody is set. It returns ENOTFOUND when the version does
// not exist or is a delete marker. The tags in the returned header may have
// been replaced since, see readTags.
func (s *Store) resolve(key, versionID string, withBody bool) (*meta, []byte, error) {
	if versionID != "" {
		if err := checkVersionID(versionID); err != nil {
			return nil, nil, err
		}
		m, body, err := s.readVersion(key, versionID, withBody)
		if err != nil {
			return nil, nil, err
		}
		if m.DeleteMarker {
			return nil, nil, whispersync.Errorf(whispersync.ENOTFOUND,
				"version %s of object %s is a delete marker: it has no body and no tags", versionID, quoteKey(key))
		}
		return m, body, nil
	}

	for attempt := 1; ; attempt++ {
		ids, err := s.versionIDs(key)
		if err != nil {
			return nil, nil, err
		}
		if len(ids) == 0 {
			return nil, nil, whispersync.Errorf(whispersync.ENOTFOUND, "object %s not found", quoteKey(key))
		}
		m, body, err := s.readVersion(key, ids[0], withBody)
		if whispersync.IsNotFound(err) && attempt < maxResolveAttempts {
			// A permanent delete removed the newest version after its id
			// was looked up, so the next one is now the newest.
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		if m.DeleteMarker {
			return nil, nil, whispersync.Errorf(whispersync.ENOTFOUND,
				"object %s not found: its newest version is a delete marker", quoteKey(key))
		}
		return m, body, nil
	}
}

// isNewest reports whether versionID is the newest version of key.
func (s *Store) isNewest(key, versionID string) bool {
	ids, err := s.versionIDs(key)
	return err == nil && len(ids) > 0 && ids[0] == versionID
}

// readVersion reads the header of a version file, and its body when withBody
// is set. It checks the header against its checksum and the body against
// the header's size and ETag.
func (s *Store) readVersion(key, versionID string, withBody bool) (*meta, []byte, error) {
	f, err := s.root.Open(versionPath(key, versionID))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, whispersync.Errorf(whispersync.ENOTFOUND,
			"version %s of object %s not found", versionID, quoteKey(key))
	}
	if err != nil {
		return nil, nil, fmt.Errorf("open version %s: %w", versionID, err)
	}
	defer f.Close()

	r := bufio.NewReader(f)
	var m meta
	if err := decodeRecord(r, versionMagic, &m); err != nil {
		return nil, nil, fmt.Errorf("version %s of object %s: %w", versionID, quoteKey(key), err)
	}
	if m.Key != key || m.VersionID != versionID {
		// A version file copied or moved to another place is not trusted.
		return nil, nil, fmt.Errorf("version %s of object %s names version %s of %s: %w",
			versionID, quoteKey(key), m.VersionID, quoteKey(m.Key), ErrCorrupt)
	}
	if !withBody || m.DeleteMarker {
		return &m, nil, nil
	}

	// Read one byte past the size, so that a file that grew is caught.
	body := make([]byte, m.Size+1)
	n, err := io.ReadFull(r, body)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, nil, fmt.Errorf("read version %s: %w", versionID, err)
	}
	body = body[:n]
	sum := sha256.Sum256(body)
	if int64(n) != m.Size || hex.EncodeToString(sum[:]) != m.ETag {
		return nil, nil, fmt.Errorf("body of version %s of object %s: %w", versionID, quoteKey(key), ErrCorrupt)
	}
	return &m, body, nil
}

// readTags replaces the tags of m with those of its tags file, if
// PutObjectTagging wrote one.
func (s *Store) readTags(m *meta) error {
	f, err := s.root.Open(tagsPath(m.Key, m.VersionID))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open tags of version %s: %w", m.VersionID, err)
	}
	defer f.Close()

	var t tagSet
	if err := decodeRecord(bufio.NewReader(f), tagsMagic, &t); err != nil {
		return fmt.Errorf("tags of version %s of object %s: %w", m.VersionID, quoteKey(m.Key), err)
	}
	if t.Key != m.Key || t.VersionID != m.VersionID {
		return fmt.Errorf("tags of version %s of object %s name version %s of %s: %w",
			m.VersionID, quoteKey(m.Key), t.VersionID, quoteKey(t.Key), ErrCorrupt)
	}
	m.Tags = t.Tags
	return nil
}
