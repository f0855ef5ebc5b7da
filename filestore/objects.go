package filestore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
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
// VersionID set. When the last version of a key is removed, its folder goes
// too.
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
	m, err := s.readMeta(key, versionID)
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
	for attempt := 1; ; attempt++ {
		m, err := s.resolve(key, versionID)
		if err != nil {
			return nil, fmt.Errorf("filestore: get object: %w", err)
		}
		body, err := s.readBody(m)
		if whispersync.IsNotFound(err) && versionID == "" && attempt < maxResolveAttempts {
			// A permanent delete removed the newest version after it was
			// resolved; the next one is now the newest.
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("filestore: get object: %w", err)
		}
		return &whispersync.Object{
			ObjectVersion: m.version(versionID == "" || s.isNewest(key, versionID)),
			Body:          body,
			Tags:          copyTags(m.Tags),
		}, nil
	}
}

// GetObjectTagging returns the tags of a version of key, the newest when
// versionID is empty.
func (s *Store) GetObjectTagging(ctx context.Context, key, versionID string) (map[string]string, error) {
	if err := s.check(ctx, key); err != nil {
		return nil, fmt.Errorf("filestore: get object tagging: %w", err)
	}
	m, err := s.resolve(key, versionID)
	if err != nil {
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
	m, err := s.resolve(key, versionID)
	if err != nil {
		return fmt.Errorf("filestore: put object tagging: %w", err)
	}
	m.Tags = copyTags(tags)
	data, err := encodeMeta(m)
	if err != nil {
		return fmt.Errorf("filestore: put object tagging: %w", err)
	}
	if err := s.writeFile(key, metaName(m.VersionID), data); err != nil {
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

// addVersion issues m a version id above the key's newest one, and stores
// body, unless m is a delete marker, and then m. The caller holds the key's
// lock.
func (s *Store) addVersion(m *meta, body []byte) error {
	ids, err := s.versionIDs(m.Key)
	if err != nil {
		return err
	}
	newest := ""
	if len(ids) > 0 {
		newest = ids[0]
	}
	now := time.Now().UTC()
	m.VersionID = s.clock.next(now, newest)
	m.LastModified = now

	if !m.DeleteMarker {
		// The body is in place before the metadata file that makes the
		// version exist, so no crash can leave a version without a body.
		if err := s.writeFile(m.Key, bodyName(m.VersionID), body); err != nil {
			return err
		}
	}
	data, err := encodeMeta(m)
	if err != nil {
		return err
	}
	return s.writeFile(m.Key, metaName(m.VersionID), data)
}

// removeVersion removes the metadata file, which ends the version, then the
// body, then the key's folder if nothing else is left in it. The caller
// holds the key's lock.
func (s *Store) removeVersion(key, versionID string) error {
	removed := false
	for _, name := range []string{metaName(versionID), bodyName(versionID)} {
		err := s.root.Remove(path.Join(key, name))
		switch {
		case err == nil:
			removed = true
		case !errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("remove %s: %w", name, err)
		}
	}
	if !removed {
		return nil
	}
	if err := s.syncDir(key); err != nil {
		return err
	}
	return s.removeEmptyDirs(key)
}

// resolve returns the metadata of a version of key, the newest when
// versionID is empty, and ENOTFOUND when the version does not exist or is a
// delete marker.
func (s *Store) resolve(key, versionID string) (*meta, error) {
	if versionID != "" {
		if err := checkVersionID(versionID); err != nil {
			return nil, err
		}
		m, err := s.readMeta(key, versionID)
		if err != nil {
			return nil, err
		}
		if m.DeleteMarker {
			return nil, whispersync.Errorf(whispersync.ENOTFOUND,
				"version %s of object %s is a delete marker: it has no body and no tags", versionID, quoteKey(key))
		}
		return m, nil
	}

	for attempt := 1; ; attempt++ {
		ids, err := s.versionIDs(key)
		if err != nil {
			return nil, err
		}
		if len(ids) == 0 {
			return nil, whispersync.Errorf(whispersync.ENOTFOUND, "object %s not found", quoteKey(key))
		}
		m, err := s.readMeta(key, ids[0])
		if whispersync.IsNotFound(err) && attempt < maxResolveAttempts {
			continue
		}
		if err != nil {
			return nil, err
		}
		if m.DeleteMarker {
			return nil, whispersync.Errorf(whispersync.ENOTFOUND,
				"object %s not found: its newest version is a delete marker", quoteKey(key))
		}
		return m, nil
	}
}

// isNewest reports whether versionID is the newest version of key.
func (s *Store) isNewest(key, versionID string) bool {
	ids, err := s.versionIDs(key)
	return err == nil && len(ids) > 0 && ids[0] == versionID
}

func (s *Store) readMeta(key, versionID string) (*meta, error) {
	data, err := s.root.ReadFile(path.Join(key, metaName(versionID)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, whispersync.Errorf(whispersync.ENOTFOUND,
			"version %s of object %s not found", versionID, quoteKey(key))
	}
	if err != nil {
		return nil, fmt.Errorf("read metadata of version %s: %w", versionID, err)
	}
	return decodeMeta(data, key, versionID)
}

// readBody reads the body of version m and checks it against m's size and
// ETag.
func (s *Store) readBody(m *meta) ([]byte, error) {
	body, err := s.root.ReadFile(path.Join(m.Key, bodyName(m.VersionID)))
	if errors.Is(err, fs.ErrNotExist) {
		if _, err := s.root.Lstat(path.Join(m.Key, metaName(m.VersionID))); err == nil {
			// Bodies are written before and removed after their metadata,
			// so a body missing under existing metadata was lost.
			return nil, fmt.Errorf("body of version %s of object %s is missing: %w", m.VersionID, quoteKey(m.Key), ErrCorrupt)
		}
		return nil, whispersync.Errorf(whispersync.ENOTFOUND,
			"version %s of object %s not found", m.VersionID, quoteKey(m.Key))
	}
	if err != nil {
		return nil, fmt.Errorf("read body of version %s: %w", m.VersionID, err)
	}
	sum := sha256.Sum256(body)
	if int64(len(body)) != m.Size || hex.EncodeToString(sum[:]) != m.ETag {
		return nil, fmt.Errorf("body of version %s of object %s: %w", m.VersionID, quoteKey(m.Key), ErrCorrupt)
	}
	return body, nil
}
