package sqlite

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/whispersync/whispersync"
)

//go:embed objectschema/*.sql
var objectSchemaDir embed.FS

// objectMigrations builds the schema of an object store's database.
var objectMigrations = mustSub(objectSchemaDir, "objectschema")

// ObjectStore keeps versioned objects in a database of their own, with the
// semantics of an S3 bucket that has versioning enabled. It implements
// whispersync.ObjectStore for the embedded deployment.
//
// The database is separate from the one Open opens, so object writes and
// table writes commit and sync in parallel, and a database snapshot for a
// backup does not copy every object. Writes go through the same group commit
// as the tables: concurrent puts share one transaction and one fsync, and a
// put is durable when it returns. A new object costs no file of its own,
// which matters on disks where creating a file costs more than syncing one.
//
// Every version row carries the SHA-256 of its metadata record and of its
// body (the ETag). Every read checks both, so a changed byte on disk is an
// error wrapping ErrCorrupt, never data. The database runs with
// secure_delete, so a permanently deleted version is overwritten with zeros
// in the database file, not only unlinked from its table.
//
// ExportVersion and ImportVersion move versions as records, the header line
// and JSON document of a version followed by its body, so backups keep
// version ids, times and checksums.
type ObjectStore struct {
	db    *DB
	clock versionClock
}

var _ whispersync.ObjectStore = (*ObjectStore)(nil)

// OpenObjectStore opens the object store database at path, creating it with
// mode 0600 when it does not exist.
func OpenObjectStore(ctx context.Context, path string) (*ObjectStore, error) {
	db, err := open(ctx, path, objectMigrations, secureDeleteOn)
	if err != nil {
		return nil, err
	}
	s := &ObjectStore{db: db}
	var newest sql.NullString
	if err := db.read.QueryRowContext(ctx, `SELECT MAX(version_id) FROM objects`).Scan(&newest); err != nil {
		return nil, errors.Join(fmt.Errorf("sqlite: open object store: %w", err), db.Close())
	}
	// New versions sort after stored ones even when the wall clock is now
	// behind the clock that issued them.
	s.clock.observe(newest.String)
	return s, nil
}

// Close waits for accepted writes to commit and closes the database.
func (s *ObjectStore) Close() error { return s.db.Close() }

// Checkpoint copies the write-ahead log into the database file and
// truncates the log, so the bodies of deleted versions leave the log too.
func (s *ObjectStore) Checkpoint(ctx context.Context) error { return s.db.Checkpoint(ctx) }

// objectColumns are the columns of a version without its body, in the order
// scanVersion reads them.
const objectColumns = `key, version_id, delete_marker, size, etag, last_modified, tags, checksum`

// PutObject stores body as a new version of key with the given tags.
func (s *ObjectStore) PutObject(ctx context.Context, key string, body []byte, tags map[string]string) (whispersync.ObjectVersion, error) {
	if err := checkObjectCall(ctx, key); err != nil {
		return whispersync.ObjectVersion{}, fmt.Errorf("sqlite: put object: %w", err)
	}
	if err := checkTags(tags); err != nil {
		return whispersync.ObjectVersion{}, fmt.Errorf("sqlite: put object: %w", err)
	}
	sum := sha256.Sum256(body)
	m := &versionMeta{Key: key, Size: int64(len(body)), ETag: hex.EncodeToString(sum[:]), Tags: copyTags(tags)}
	if err := s.addVersion(ctx, m, body); err != nil {
		return whispersync.ObjectVersion{}, fmt.Errorf("sqlite: put object: %w", err)
	}
	return m.version(true), nil
}

// DeleteObject adds a delete marker to key when versionID is empty, and
// otherwise removes that version for good. Removing a version that does not
// exist succeeds, as in S3, and returns a version with only Key and
// VersionID set.
func (s *ObjectStore) DeleteObject(ctx context.Context, key, versionID string) (whispersync.ObjectVersion, error) {
	if err := checkObjectCall(ctx, key); err != nil {
		return whispersync.ObjectVersion{}, fmt.Errorf("sqlite: delete object: %w", err)
	}
	if versionID == "" {
		m := &versionMeta{Key: key, DeleteMarker: true}
		if err := s.addVersion(ctx, m, nil); err != nil {
			return whispersync.ObjectVersion{}, fmt.Errorf("sqlite: delete object: %w", err)
		}
		return m.version(true), nil
	}
	if err := checkVersionID(versionID); err != nil {
		return whispersync.ObjectVersion{}, fmt.Errorf("sqlite: delete object: %w", err)
	}

	deleted := whispersync.ObjectVersion{Key: key, VersionID: versionID}
	err := s.db.write(ctx, func(ctx context.Context, tx *statements) error {
		m, err := scanVersion(tx.QueryRowContext(ctx, `SELECT `+objectColumns+` FROM objects WHERE key = ? AND version_id = ?`, key, versionID))
		switch {
		case err == nil:
			deleted = m.version(false)
		case whispersync.IsNotFound(err), errors.Is(err, ErrCorrupt):
			// A corrupt version must stay removable, or erasure could
			// not reach it.
		default:
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM objects WHERE key = ? AND version_id = ?`, key, versionID)
		return err
	})
	if err != nil {
		return whispersync.ObjectVersion{}, fmt.Errorf("sqlite: delete object: %w", err)
	}
	return deleted, nil
}

// GetObject returns a version of key, the newest when versionID is empty.
// It returns ENOTFOUND when the version does not exist or is a delete
// marker, and an error wrapping ErrCorrupt when the stored body does not
// match its ETag.
func (s *ObjectStore) GetObject(ctx context.Context, key, versionID string) (*whispersync.Object, error) {
	if err := checkObjectCall(ctx, key); err != nil {
		return nil, fmt.Errorf("sqlite: get object: %w", err)
	}
	var row *sql.Row
	if versionID == "" {
		row = s.db.read.QueryRowContext(ctx, `SELECT `+objectColumns+`, body, 1 FROM objects WHERE key = ? ORDER BY version_id DESC LIMIT 1`, key)
	} else {
		if err := checkVersionID(versionID); err != nil {
			return nil, fmt.Errorf("sqlite: get object: %w", err)
		}
		const q = `SELECT ` + objectColumns + `, body,
			version_id = (SELECT MAX(version_id) FROM objects WHERE key = ?1)
			FROM objects WHERE key = ?1 AND version_id = ?2`
		row = s.db.read.QueryRowContext(ctx, q, key, versionID)
	}
	var (
		body   []byte
		latest bool
	)
	m, err := scanVersion(row, &body, &latest)
	if whispersync.IsNotFound(err) {
		err = notFoundError(key, versionID)
	}
	if err == nil && m.DeleteMarker {
		err = deleteMarkerError(key, versionID)
	}
	if err == nil {
		err = checkBody(m, body)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: get object: %w", err)
	}
	if body == nil {
		body = []byte{}
	}
	return &whispersync.Object{ObjectVersion: m.version(latest), Body: body, Tags: copyTags(m.Tags)}, nil
}

// GetObjectTagging returns the tags of a version of key, the newest when
// versionID is empty.
func (s *ObjectStore) GetObjectTagging(ctx context.Context, key, versionID string) (map[string]string, error) {
	if err := checkObjectCall(ctx, key); err != nil {
		return nil, fmt.Errorf("sqlite: get object tagging: %w", err)
	}
	if versionID != "" {
		if err := checkVersionID(versionID); err != nil {
			return nil, fmt.Errorf("sqlite: get object tagging: %w", err)
		}
	}
	m, err := resolveVersion(ctx, s.db.read, key, versionID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: get object tagging: %w", err)
	}
	return copyTags(m.Tags), nil
}

// PutObjectTagging replaces the tags of a version of key, the newest when
// versionID is empty. The version's body, ETag and time stay as they are.
func (s *ObjectStore) PutObjectTagging(ctx context.Context, key, versionID string, tags map[string]string) error {
	if err := checkObjectCall(ctx, key); err != nil {
		return fmt.Errorf("sqlite: put object tagging: %w", err)
	}
	if versionID != "" {
		if err := checkVersionID(versionID); err != nil {
			return fmt.Errorf("sqlite: put object tagging: %w", err)
		}
	}
	if err := checkTags(tags); err != nil {
		return fmt.Errorf("sqlite: put object tagging: %w", err)
	}
	err := s.db.write(ctx, func(ctx context.Context, tx *statements) error {
		m, err := resolveVersion(ctx, tx, key, versionID)
		if err != nil {
			return err
		}
		m.Tags = copyTags(tags)
		encoded, checksum, err := encodeMeta(m)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE objects SET tags = ?, checksum = ? WHERE key = ? AND version_id = ?`, encoded, checksum, key, m.VersionID)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: put object tagging: %w", err)
	}
	return nil
}

// ListObjectVersions returns every version and delete marker of the keys
// that start with prefix, ordered by key and, within a key, newest first.
// The prefix is a plain string prefix, as in S3: "a/b" matches "a/b/c" and
// "a/bc". A version whose metadata fails its checksum is listed with the
// key and version id it is stored under, so that it can still be deleted.
func (s *ObjectStore) ListObjectVersions(ctx context.Context, prefix string) ([]whispersync.ObjectVersion, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list object versions: %w", err)
	}
	if err := checkPrefix(prefix); err != nil {
		return nil, fmt.Errorf("sqlite: list object versions: %w", err)
	}
	// Valid keys are ASCII without DEL, so every key that starts with
	// prefix sorts below prefix+"\x7f".
	rows, err := s.db.read.QueryContext(ctx, `SELECT `+objectColumns+` FROM objects WHERE key >= ? AND key < ? ORDER BY key, version_id DESC`, prefix, prefix+"\x7f")
	if err != nil {
		return nil, fmt.Errorf("sqlite: list object versions: %w", err)
	}
	defer rows.Close()

	var versions []whispersync.ObjectVersion
	for rows.Next() {
		m, err := scanVersion(rows)
		if errors.Is(err, ErrCorrupt) && m != nil {
			versions = append(versions, whispersync.ObjectVersion{Key: m.Key, VersionID: m.VersionID})
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("sqlite: list object versions: %w", err)
		}
		versions = append(versions, m.version(false))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list object versions: %w", err)
	}

	for i := range versions {
		versions[i].IsLatest = i == 0 || versions[i-1].Key != versions[i].Key
	}
	return versions, nil
}

// ExportVersion returns one version as a record, its header and body, with
// the version's current tags in the header. The second result is always nil:
// it is the place of a separate tags record, which ImportVersion accepts
// from backups of earlier versions of this store. A version removed
// meanwhile is ENOTFOUND.
func (s *ObjectStore) ExportVersion(ctx context.Context, key, versionID string) (record, tags []byte, err error) {
	if err := checkObjectCall(ctx, key); err != nil {
		return nil, nil, fmt.Errorf("sqlite: export version: %w", err)
	}
	if err := checkVersionID(versionID); err != nil {
		return nil, nil, fmt.Errorf("sqlite: export version: %w", err)
	}
	var body []byte
	m, err := scanVersion(s.db.read.QueryRowContext(ctx, `SELECT `+objectColumns+`, body FROM objects WHERE key = ? AND version_id = ?`, key, versionID), &body)
	if whispersync.IsNotFound(err) {
		err = notFoundError(key, versionID)
	}
	if err == nil && !m.DeleteMarker {
		err = checkBody(m, body)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("sqlite: export version: %w", err)
	}
	header, err := encodeRecord(versionMagic, m)
	if err != nil {
		return nil, nil, fmt.Errorf("sqlite: export version: %w", err)
	}
	return append(header, body...), nil, nil
}

// ImportVersion stores a version that ExportVersion returned, with its
// version id and time, replacing a version of the same id. tags, when not
// nil, is a tags record that replaces the tags in the header. The record is
// checked against its checksums before anything is written.
func (s *ObjectStore) ImportVersion(ctx context.Context, key, versionID string, record, tags []byte) error {
	if err := checkObjectCall(ctx, key); err != nil {
		return fmt.Errorf("sqlite: import version: %w", err)
	}
	if err := checkVersionID(versionID); err != nil {
		return fmt.Errorf("sqlite: import version: %w", err)
	}
	r := bufio.NewReader(bytes.NewReader(record))
	var m versionMeta
	if err := decodeRecord(r, versionMagic, &m); err != nil {
		return fmt.Errorf("sqlite: import version %s of %s: %w", versionID, quoteKey(key), err)
	}
	body, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("sqlite: import version: %w", err)
	}

	if tags != nil {
		var ts tagSet
		if err := decodeRecord(bufio.NewReader(bytes.NewReader(tags)), tagsMagic, &ts); err != nil {
			return fmt.Errorf("sqlite: import tags of version %s of %s: %w", versionID, quoteKey(key), err)
		}
		if ts.Key != key || ts.VersionID != versionID {
			return fmt.Errorf("sqlite: import version: tags record names version %s of %s: %w", ts.VersionID, quoteKey(ts.Key), ErrCorrupt)
		}
		m.Tags = ts.Tags
	}
	switch {
	case m.Key != key || m.VersionID != versionID:
		return fmt.Errorf("sqlite: import version: record names version %s of %s, not %s of %s: %w", m.VersionID, quoteKey(m.Key), versionID, quoteKey(key), ErrCorrupt)
	case m.DeleteMarker && len(body) > 0:
		return fmt.Errorf("sqlite: import version: delete marker %s of %s has a body: %w", versionID, quoteKey(key), ErrCorrupt)
	case !m.DeleteMarker:
		if err := checkBody(&m, body); err != nil {
			return fmt.Errorf("sqlite: import version: %w", err)
		}
	}
	if err := checkTags(m.Tags); err != nil {
		return fmt.Errorf("sqlite: import version: %w", err)
	}

	m.LastModified = m.LastModified.UTC()
	if err := s.insert(ctx, &m, body, true); err != nil {
		return fmt.Errorf("sqlite: import version: %w", err)
	}
	s.clock.observe(versionID)
	return nil
}

// addVersion issues m a new version id and time and stores it with body.
func (s *ObjectStore) addVersion(ctx context.Context, m *versionMeta, body []byte) error {
	now := time.Now().UTC()
	m.VersionID = s.clock.next(now)
	m.LastModified = now.Round(0)
	return s.insert(ctx, m, body, false)
}

// insert writes the row of m and body, replacing a row of the same version
// when replace is set.
func (s *ObjectStore) insert(ctx context.Context, m *versionMeta, body []byte, replace bool) error {
	encoded, checksum, err := encodeMeta(m)
	if err != nil {
		return err
	}
	verb := "INSERT"
	if replace {
		verb = "INSERT OR REPLACE"
	}
	q := verb + ` INTO objects (` + objectColumns + `, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
	return s.db.write(ctx, func(ctx context.Context, tx *statements) error {
		_, err := tx.ExecContext(ctx, q, m.Key, m.VersionID, m.DeleteMarker, m.Size, m.ETag, m.LastModified.UnixNano(), encoded, checksum, body)
		return err
	})
}

// encodeMeta returns the tags of m as JSON and the checksum of m.
func encodeMeta(m *versionMeta) (tags, checksum string, err error) {
	doc, err := json.Marshal(m)
	if err != nil {
		return "", "", err
	}
	sum := sha256.Sum256(doc)
	t, err := json.Marshal(copyTags(m.Tags))
	if err != nil {
		return "", "", err
	}
	return string(t), hex.EncodeToString(sum[:]), nil
}

// rowScanner is a *sql.Row or *sql.Rows.
type rowScanner interface {
	Scan(dest ...any) error
}

// scanVersion reads the columns objectColumns, then extra, and checks the
// metadata against its checksum. A missing row is ENOTFOUND. On a checksum
// failure it returns the metadata as read together with an error wrapping
// ErrCorrupt.
func scanVersion(row rowScanner, extra ...any) (*versionMeta, error) {
	var (
		m        versionMeta
		nanos    int64
		tags     string
		checksum string
	)
	dest := append([]any{&m.Key, &m.VersionID, &m.DeleteMarker, &m.Size, &m.ETag, &nanos, &tags, &checksum}, extra...)
	err := row.Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, whispersync.Errorf(whispersync.ENOTFOUND, "object version not found")
	}
	if err != nil {
		return nil, err
	}
	m.LastModified = time.Unix(0, nanos).UTC()
	if err := json.Unmarshal([]byte(tags), &m.Tags); err != nil {
		return &m, fmt.Errorf("version %s of %s: tags: %w", m.VersionID, quoteKey(m.Key), ErrCorrupt)
	}
	if len(m.Tags) == 0 {
		m.Tags = nil
	}
	_, want, err := encodeMeta(&m)
	if err != nil || want != checksum {
		return &m, fmt.Errorf("version %s of %s: metadata: %w", m.VersionID, quoteKey(m.Key), ErrCorrupt)
	}
	return &m, nil
}

// resolveVersion returns the metadata of a version of key, the newest when
// versionID is empty. A delete marker is ENOTFOUND.
func resolveVersion(ctx context.Context, q interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}, key, versionID string) (*versionMeta, error) {
	var row *sql.Row
	if versionID == "" {
		row = q.QueryRowContext(ctx, `SELECT `+objectColumns+` FROM objects WHERE key = ? ORDER BY version_id DESC LIMIT 1`, key)
	} else {
		row = q.QueryRowContext(ctx, `SELECT `+objectColumns+` FROM objects WHERE key = ? AND version_id = ?`, key, versionID)
	}
	m, err := scanVersion(row)
	if whispersync.IsNotFound(err) {
		return nil, notFoundError(key, versionID)
	}
	if err != nil {
		return nil, err
	}
	if m.DeleteMarker {
		return nil, deleteMarkerError(key, versionID)
	}
	return m, nil
}

// checkBody returns an error wrapping ErrCorrupt when body does not match
// the size and ETag of m.
func checkBody(m *versionMeta, body []byte) error {
	sum := sha256.Sum256(body)
	if int64(len(body)) != m.Size || hex.EncodeToString(sum[:]) != m.ETag {
		return fmt.Errorf("body of version %s of %s: %w", m.VersionID, quoteKey(m.Key), ErrCorrupt)
	}
	return nil
}

func notFoundError(key, versionID string) error {
	if versionID == "" {
		return whispersync.Errorf(whispersync.ENOTFOUND, "object %s not found", quoteKey(key))
	}
	return whispersync.Errorf(whispersync.ENOTFOUND, "version %s of object %s not found", versionID, quoteKey(key))
}

func deleteMarkerError(key, versionID string) error {
	if versionID == "" {
		return whispersync.Errorf(whispersync.ENOTFOUND, "object %s not found: its newest version is a delete marker", quoteKey(key))
	}
	return whispersync.Errorf(whispersync.ENOTFOUND, "version %s of object %s is a delete marker", versionID, quoteKey(key))
}

// checkObjectCall rejects calls with a done context or an invalid key.
func checkObjectCall(ctx context.Context, key string) error {
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
