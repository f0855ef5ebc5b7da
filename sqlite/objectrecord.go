package sqlite

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/whispersync/whispersync"
)

// ErrCorrupt reports stored bytes that do not match their checksum: a body
// whose SHA-256 differs from its ETag, or a header or tags file whose JSON
// document differs from its checksum.
var ErrCorrupt = errors.New("stored data does not match its checksum")

// Tag limits, the ones S3 sets on object tags.
const (
	maxTags           = 10
	maxTagKeyLength   = 128
	maxTagValueLength = 256
)

// Record formats of exported versions. A record is the line
// "MAGIC HEX LENGTH\n" followed by a JSON document of LENGTH bytes whose
// SHA-256 is HEX. An exported version is a version record followed by the
// body. A tags record, which backups made by the earlier file layout carry
// for versions whose tags were replaced, is a record alone. The magic names
// the format version.
const (
	versionMagic = "wsversion1"
	tagsMagic    = "wstags1"
	// maxRecordLength bounds the JSON document of a record. A header contains
	// a key of at most 1,024 bytes and at most 10 tags of at most 1,536
	// bytes each in UTF-8, so 64 KiB leaves ample room.
	maxRecordLength = 64 << 10
)

// versionMeta is the metadata of one version or delete marker, as stored in
// a row and in the header of an exported version.
type versionMeta struct {
	Key          string            `json:"key"`
	VersionID    string            `json:"version_id"`
	Size         int64             `json:"size"`
	LastModified time.Time         `json:"last_modified"`
	DeleteMarker bool              `json:"delete_marker,omitempty"`
	ETag         string            `json:"etag,omitempty"`
	Tags         map[string]string `json:"tags,omitempty"`
}

// tagSet is the content of a tags record, which replaces the tags in the
// header of its version.
type tagSet struct {
	Key       string            `json:"key"`
	VersionID string            `json:"version_id"`
	Tags      map[string]string `json:"tags"`
}

func (m *versionMeta) version(isLatest bool) whispersync.ObjectVersion {
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

// encodeRecord returns v as a record with the given magic.
func encodeRecord(magic string, v any) ([]byte, error) {
	doc, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode %s record: %w", magic, err)
	}
	sum := sha256.Sum256(doc)
	out := make([]byte, 0, len(magic)+len(sum)*2+len(doc)+16)
	out = append(out, magic...)
	out = append(out, ' ')
	out = hex.AppendEncode(out, sum[:])
	out = append(out, ' ')
	out = strconv.AppendInt(out, int64(len(doc)), 10)
	out = append(out, '\n')
	return append(out, doc...), nil
}

// decodeRecord reads a record with the given magic from r into v, leaving r
// at the first byte after the record.
func decodeRecord(r *bufio.Reader, magic string, v any) error {
	line, err := r.ReadSlice('\n')
	if err != nil {
		return fmt.Errorf("%s record: read header line: %w: %w", magic, ErrCorrupt, err)
	}
	fields := bytes.Fields(line)
	if len(fields) != 3 || string(fields[0]) != magic {
		return fmt.Errorf("%s record: unknown format: %w", magic, ErrCorrupt)
	}
	want, err := hex.DecodeString(string(fields[1]))
	if err != nil || len(want) != sha256.Size {
		return fmt.Errorf("%s record: invalid checksum: %w", magic, ErrCorrupt)
	}
	length, err := strconv.Atoi(string(fields[2]))
	if err != nil || length < 0 || length > maxRecordLength {
		return fmt.Errorf("%s record: invalid length: %w", magic, ErrCorrupt)
	}

	doc := make([]byte, length)
	if _, err := io.ReadFull(r, doc); err != nil {
		return fmt.Errorf("%s record: read document: %w: %w", magic, ErrCorrupt, err)
	}
	if sum := sha256.Sum256(doc); !bytes.Equal(sum[:], want) {
		return fmt.Errorf("%s record: %w", magic, ErrCorrupt)
	}
	if err := json.Unmarshal(doc, v); err != nil {
		return fmt.Errorf("%s record: %w: %w", magic, ErrCorrupt, err)
	}
	return nil
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
