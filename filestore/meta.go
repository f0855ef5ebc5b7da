package filestore

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"time"
	"unicode/utf8"

	"github.com/whispersync/whispersync"
)

// ErrCorrupt reports stored bytes that do not match their checksum: a body
// whose SHA-256 differs from its ETag, or a metadata file whose checksum line
// does not match its content.
var ErrCorrupt = errors.New("stored data does not match its checksum")

// Tag limits, the ones S3 sets on object tags.
const (
	maxTags           = 10
	maxTagKeyLength   = 128
	maxTagValueLength = 256
)

// metaMagic starts every metadata file and names its format version.
const metaMagic = "wsmeta1 "

// meta is the metadata of one version or delete marker.
type meta struct {
	Key          string            `json:"key"`
	VersionID    string            `json:"version_id"`
	Size         int64             `json:"size"`
	LastModified time.Time         `json:"last_modified"`
	DeleteMarker bool              `json:"delete_marker,omitempty"`
	ETag         string            `json:"etag,omitempty"`
	Tags         map[string]string `json:"tags,omitempty"`
}

func (m *meta) version(isLatest bool) whispersync.ObjectVersion {
	return whispersync.ObjectVersion{
		Key:          m.Key,
		VersionID:    m.VersionID,
		Size:         m.Size,
		LastModified: m.LastModified,
		IsLatest:     isLatest,
		DeleteMarker: m.DeleteMarker,
		ETag:         m.ETag,
	}
}

// encodeMeta returns the metadata file content: metaMagic, the hex SHA-256
// of the JSON document, a newline, and the JSON document.
func encodeMeta(m *meta) ([]byte, error) {
	doc, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode metadata: %w", err)
	}
	sum := sha256.Sum256(doc)
	out := make([]byte, 0, len(metaMagic)+2*len(sum)+1+len(doc))
	out = append(out, metaMagic...)
	out = hex.AppendEncode(out, sum[:])
	out = append(out, '\n')
	return append(out, doc...), nil
}

// decodeMeta parses a metadata file and checks that it belongs to key and
// versionID, so a file copied or moved to another folder is not trusted.
func decodeMeta(data []byte, key, versionID string) (*meta, error) {
	header, doc, ok := bytes.Cut(data, []byte{'\n'})
	if !ok || !bytes.HasPrefix(header, []byte(metaMagic)) {
		return nil, fmt.Errorf("metadata of version %s: unknown format: %w", versionID, ErrCorrupt)
	}
	want, err := hex.DecodeString(string(header[len(metaMagic):]))
	sum := sha256.Sum256(doc)
	if err != nil || !bytes.Equal(want, sum[:]) {
		return nil, fmt.Errorf("metadata of version %s: %w", versionID, ErrCorrupt)
	}

	var m meta
	if err := json.Unmarshal(doc, &m); err != nil {
		return nil, fmt.Errorf("metadata of version %s: %w: %w", versionID, ErrCorrupt, err)
	}
	if m.Key != key || m.VersionID != versionID {
		return nil, fmt.Errorf("metadata of version %s names key %q and version %s: %w", versionID, m.Key, m.VersionID, ErrCorrupt)
	}
	return &m, nil
}

// checkTags returns an EINVALID error when tags break the limits of S3 object
// tags: at most 10 tags, keys of 1 to 128 characters, values of at most 256
// characters, all valid UTF-8.
func checkTags(tags map[string]string) error {
	if len(tags) > maxTags {
		return whispersync.Errorf(whispersync.EINVALID, "too many object tags: got %d, use at most %d", len(tags), maxTags)
	}
	for k, v := range tags {
		switch {
		case k == "":
			return whispersync.Errorf(whispersync.EINVALID, "invalid object tag: the tag key is empty: name every tag")
		case !utf8.ValidString(k) || !utf8.ValidString(v):
			return whispersync.Errorf(whispersync.EINVALID, "invalid object tag %q: the tag is not valid UTF-8", k)
		case utf8.RuneCountInString(k) > maxTagKeyLength:
			return whispersync.Errorf(whispersync.EINVALID, "invalid object tag %.16q: the key is longer than %d characters", k, maxTagKeyLength)
		case utf8.RuneCountInString(v) > maxTagValueLength:
			return whispersync.Errorf(whispersync.EINVALID, "invalid object tag %q: the value is longer than %d characters", k, maxTagValueLength)
		}
	}
	return nil
}

// copyTags returns a copy of tags that is never nil, so callers can neither
// change stored tags through a map they hold nor trip over a nil map.
func copyTags(tags map[string]string) map[string]string {
	out := make(map[string]string, len(tags))
	maps.Copy(out, tags)
	return out
}
