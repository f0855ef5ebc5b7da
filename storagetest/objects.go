// Package storagetest contains the contract tests of the storage interfaces of
// package whispersync. Every implementation runs them from its own tests, so
// the embedded and the cloud implementations behave alike.
package storagetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"

	"github.com/whispersync/whispersync"
)

// ObjectStore runs the contract tests of whispersync.ObjectStore. open
// returns a new, empty store for each subtest and arranges its cleanup with
// t.Cleanup.
//
// Beyond the interface documentation, the contract fixes these choices,
// each the one S3 makes:
//
//   - Deleting a version that does not exist succeeds.
//   - DeleteObject with an empty version id on a missing key adds a delete
//     marker.
//   - Reading a delete marker by its version id, or its tags, is ENOTFOUND.
//   - PutObjectTagging and GetObjectTagging with an empty version id act on
//     the newest version.
//   - More than 10 tags on a version is EINVALID.
//   - Key elements are at most 255 bytes long and contain only ASCII
//     letters, digits and . _ = -. An invalid key is EINVALID with
//     whispersync.Error.Rule set.
func ObjectStore(t *testing.T, open func(t *testing.T) whispersync.ObjectStore) {
	tests := []struct {
		name string
		run  func(t *testing.T, s whispersync.ObjectStore)
	}{
		{"PutGetLatest", testPutGetLatest},
		{"EmptyBody", testEmptyBody},
		{"LargeBody", testLargeBody},
		{"OverwriteKeepsVersions", testOverwriteKeepsVersions},
		{"GetMissingKey", testGetMissingKey},
		{"GetVersionOfOtherKey", testGetVersionOfOtherKey},
		{"DeleteMarkerHidesObject", testDeleteMarkerHidesObject},
		{"DeleteMarkerOnMissingKey", testDeleteMarkerOnMissingKey},
		{"DeleteMarkerHasNoBody", testDeleteMarkerHasNoBody},
		{"RemoveDeleteMarkerRestores", testRemoveDeleteMarkerRestores},
		{"PermanentDeleteVersion", testPermanentDeleteVersion},
		{"PermanentDeleteMissingVersion", testPermanentDeleteMissingVersion},
		{"TaggingPerVersion", testTaggingPerVersion},
		{"TaggingLatest", testTaggingLatest},
		{"TaggingKeepsBody", testTaggingKeepsBody},
		{"TaggingMissing", testTaggingMissing},
		{"TagsAreCopied", testTagsAreCopied},
		{"TooManyTags", testTooManyTags},
		{"ListByPrefix", testListByPrefix},
		{"ListOrder", testListOrder},
		{"ListEmpty", testListEmpty},
		{"InvalidKeys", testInvalidKeys},
		{"ValidKeys", testValidKeys},
		{"ConcurrentPutsOneKey", testConcurrentPutsOneKey},
		{"ConcurrentPutsManyKeys", testConcurrentPutsManyKeys},
		{"CanceledContext", testCanceledContext},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.run(t, open(t))
		})
	}
}

func testPutGetLatest(t *testing.T, s whispersync.ObjectStore) {
	ctx := t.Context()
	body := []byte("sealed transcript bytes")
	tags := map[string]string{whispersync.TagClassification: whispersync.ClassPersonal, whispersync.TagOwner: "user-1"}

	put := mustPut(t, s, "transcripts/user-1/memo-1", body, tags)
	if put.VersionID == "" {
		t.Error("put version id: got empty, want an id")
	}
	if !put.IsLatest {
		t.Error("put IsLatest: got false, want true")
	}
	if put.DeleteMarker {
		t.Error("put DeleteMarker: got true, want false")
	}
	if put.Size != int64(len(body)) {
		t.Errorf("put size: got %d, want %d", put.Size, len(body))
	}
	if put.ETag != etag(body) {
		t.Errorf("put ETag: got %q, want %q", put.ETag, etag(body))
	}
	if put.LastModified.IsZero() {
		t.Error("put LastModified: got zero, want the time of the put")
	}

	got, err := s.GetObject(ctx, "transcripts/user-1/memo-1", "")
	if err != nil {
		t.Fatalf("get latest: %v", err)
	}
	if !bytes.Equal(got.Body, body) {
		t.Errorf("get body: got %q, want %q", got.Body, body)
	}
	if !maps.Equal(got.Tags, tags) {
		t.Errorf("get tags: got %v, want %v", got.Tags, tags)
	}
	if got.Key != "transcripts/user-1/memo-1" {
		t.Errorf("get key: got %q, want %q", got.Key, "transcripts/user-1/memo-1")
	}
	if got.VersionID != put.VersionID {
		t.Errorf("get version id: got %q, want %q", got.VersionID, put.VersionID)
	}
	if got.ETag != put.ETag {
		t.Errorf("get ETag: got %q, want %q", got.ETag, put.ETag)
	}
	if got.Size != put.Size {
		t.Errorf("get size: got %d, want %d", got.Size, put.Size)
	}
	if !got.IsLatest {
		t.Error("get IsLatest: got false, want true")
	}
	if got.LastModified.IsZero() {
		t.Error("get LastModified: got zero, want the time of the put")
	}
}

func testEmptyBody(t *testing.T, s whispersync.ObjectStore) {
	put := mustPut(t, s, "empty", nil, nil)
	if put.ETag != etag(nil) {
		t.Errorf("put ETag: got %q, want %q", put.ETag, etag(nil))
	}
	got := mustGet(t, s, "empty", "")
	if len(got.Body) != 0 {
		t.Errorf("body length: got %d, want 0", len(got.Body))
	}
	if got.Size != 0 {
		t.Errorf("size: got %d, want 0", got.Size)
	}
}

func testLargeBody(t *testing.T, s whispersync.ObjectStore) {
	body := make([]byte, 8<<20)
	rand.Read(body)

	put := mustPut(t, s, "audio/user-1/memo-1.opus", body, nil)
	if put.ETag != etag(body) {
		t.Errorf("put ETag: got %q, want %q", put.ETag, etag(body))
	}
	got := mustGet(t, s, "audio/user-1/memo-1.opus", put.VersionID)
	if !bytes.Equal(got.Body, body) {
		t.Errorf("body: got %d bytes with SHA-256 %s, want %d bytes with %s", len(got.Body), etag(got.Body), len(body), etag(body))
	}
	if got.Size != int64(len(body)) {
		t.Errorf("size: got %d, want %d", got.Size, len(body))
	}
}

func testOverwriteKeepsVersions(t *testing.T, s whispersync.ObjectStore) {
	v1 := mustPut(t, s, "k", []byte("one"), nil)
	v2 := mustPut(t, s, "k", []byte("two"), nil)
	if v1.VersionID == v2.VersionID {
		t.Fatalf("version ids: both %q, want distinct", v1.VersionID)
	}

	latest := mustGet(t, s, "k", "")
	if string(latest.Body) != "two" {
		t.Errorf("latest body: got %q, want %q", latest.Body, "two")
	}
	if latest.VersionID != v2.VersionID {
		t.Errorf("latest version id: got %q, want %q", latest.VersionID, v2.VersionID)
	}

	old := mustGet(t, s, "k", v1.VersionID)
	if string(old.Body) != "one" {
		t.Errorf("first version body: got %q, want %q", old.Body, "one")
	}
	if old.IsLatest {
		t.Error("first version IsLatest: got true, want false")
	}
	if old.VersionID != v1.VersionID {
		t.Errorf("first version id: got %q, want %q", old.VersionID, v1.VersionID)
	}

	byID := mustGet(t, s, "k", v2.VersionID)
	if !byID.IsLatest {
		t.Error("second version by id IsLatest: got false, want true")
	}
}

func testGetMissingKey(t *testing.T, s whispersync.ObjectStore) {
	_, err := s.GetObject(t.Context(), "missing/key", "")
	wantCode(t, "get missing key", err, whispersync.ENOTFOUND)

	mustPut(t, s, "missing/key-2", []byte("x"), nil)
	_, err = s.GetObject(t.Context(), "missing/key", "")
	wantCode(t, "get missing key beside another", err, whispersync.ENOTFOUND)
	_, err = s.GetObject(t.Context(), "missing", "")
	wantCode(t, "get prefix of a key", err, whispersync.ENOTFOUND)
}

func testGetVersionOfOtherKey(t *testing.T, s whispersync.ObjectStore) {
	a := mustPut(t, s, "a", []byte("a"), nil)
	mustPut(t, s, "b", []byte("b"), nil)

	_, err := s.GetObject(t.Context(), "b", a.VersionID)
	wantCode(t, "get version of other key", err, whispersync.ENOTFOUND)
	_, err = s.GetObjectTagging(t.Context(), "b", a.VersionID)
	wantCode(t, "get tagging of version of other key", err, whispersync.ENOTFOUND)

	for _, id := range []string{"../a", "..%2Fa", "a/../../x", "\x00"} {
		obj, err := s.GetObject(t.Context(), "b", id)
		if err == nil {
			t.Errorf("get version %q: got body %q, want an error", id, obj.Body)
			continue
		}
		if code := whispersync.ErrorCode(err); code != whispersync.ENOTFOUND && code != whispersync.EINVALID {
			t.Errorf("get version %q: got code %q (%v), want %q or %q", id, code, err, whispersync.ENOTFOUND, whispersync.EINVALID)
		}
	}
}

func testDeleteMarkerHidesObject(t *testing.T, s whispersync.ObjectStore) {
	ctx := t.Context()
	v1 := mustPut(t, s, "k", []byte("one"), nil)

	marker, err := s.DeleteObject(ctx, "k", "")
	if err != nil {
		t.Fatalf("delete: %v", err)
	}
	if !marker.DeleteMarker {
		t.Error("delete marker DeleteMarker: got false, want true")
	}
	if marker.VersionID == "" || marker.VersionID == v1.VersionID {
		t.Errorf("delete marker version id: got %q, want a new id", marker.VersionID)
	}
	if !marker.IsLatest {
		t.Error("delete marker IsLatest: got false, want true")
	}

	_, err = s.GetObject(ctx, "k", "")
	wantCode(t, "get after delete", err, whispersync.ENOTFOUND)
	_, err = s.GetObjectTagging(ctx, "k", "")
	wantCode(t, "get tagging after delete", err, whispersync.ENOTFOUND)

	old := mustGet(t, s, "k", v1.VersionID)
	if string(old.Body) != "one" {
		t.Errorf("old version body: got %q, want %q", old.Body, "one")
	}

	versions := mustList(t, s, "k")
	if len(versions) != 2 {
		t.Fatalf("versions: got %d (%v), want 2", len(versions), versions)
	}
	if versions[0].VersionID != marker.VersionID || !versions[0].DeleteMarker || !versions[0].IsLatest {
		t.Errorf("first listed: got %+v, want the delete marker %s, latest", versions[0], marker.VersionID)
	}
	if versions[1].VersionID != v1.VersionID || versions[1].DeleteMarker || versions[1].IsLatest {
		t.Errorf("second listed: got %+v, want version %s, not latest", versions[1], v1.VersionID)
	}

	v2 := mustPut(t, s, "k", []byte("two"), nil)
	latest := mustGet(t, s, "k", "")
	if latest.VersionID != v2.VersionID {
		t.Errorf("latest after put over marker: got %q, want %q", latest.VersionID, v2.VersionID)
	}
}

func testDeleteMarkerOnMissingKey(t *testing.T, s whispersync.ObjectStore) {
	marker, err := s.DeleteObject(t.Context(), "never/written", "")
	if err != nil {
		t.Fatalf("delete missing key: %v", err)
	}
	if !marker.DeleteMarker {
		t.Error("DeleteMarker: got false, want true")
	}
	versions := mustList(t, s, "never/")
	if len(versions) != 1 || !versions[0].DeleteMarker || !versions[0].IsLatest {
		t.Errorf("versions: got %+v, want one delete marker that is latest", versions)
	}
	_, err = s.GetObject(t.Context(), "never/written", "")
	wantCode(t, "get", err, whispersync.ENOTFOUND)
}

func testDeleteMarkerHasNoBody(t *testing.T, s whispersync.ObjectStore) {
	ctx := t.Context()
	mustPut(t, s, "k", []byte("one"), nil)
	marker, err := s.DeleteObject(ctx, "k", "")
	if err != nil {
		t.Fatalf("delete: %v", err)
	}

	_, err = s.GetObject(ctx, "k", marker.VersionID)
	wantCode(t, "get delete marker", err, whispersync.ENOTFOUND)
	_, err = s.GetObjectTagging(ctx, "k", marker.VersionID)
	wantCode(t, "get tagging of delete marker", err, whispersync.ENOTFOUND)
	err = s.PutObjectTagging(ctx, "k", marker.VersionID, map[string]string{"a": "b"})
	wantCode(t, "put tagging on delete marker", err, whispersync.ENOTFOUND)
}

func testRemoveDeleteMarkerRestores(t *testing.T, s whispersync.ObjectStore) {
	ctx := t.Context()
	v1 := mustPut(t, s, "k", []byte("one"), nil)
	marker, err := s.DeleteObject(ctx, "k", "")
	if err != nil {
		t.Fatalf("delete: %v", err)
	}

	removed, err := s.DeleteObject(ctx, "k", marker.VersionID)
	if err != nil {
		t.Fatalf("remove delete marker: %v", err)
	}
	if removed.VersionID != marker.VersionID {
		t.Errorf("removed version id: got %q, want %q", removed.VersionID, marker.VersionID)
	}
	if !removed.DeleteMarker {
		t.Error("removed DeleteMarker: got false, want true")
	}

	got := mustGet(t, s, "k", "")
	if got.VersionID != v1.VersionID || string(got.Body) != "one" {
		t.Errorf("latest after removing marker: got %s %q, want %s %q", got.VersionID, got.Body, v1.VersionID, "one")
	}
	if !got.IsLatest {
		t.Error("restored IsLatest: got false, want true")
	}
}

func testPermanentDeleteVersion(t *testing.T, s whispersync.ObjectStore) {
	ctx := t.Context()
	v1 := mustPut(t, s, "dir/k", []byte("one"), nil)
	v2 := mustPut(t, s, "dir/k", []byte("two"), nil)
	mustPut(t, s, "dir/other", []byte("other"), nil)

	removed, err := s.DeleteObject(ctx, "dir/k", v2.VersionID)
	if err != nil {
		t.Fatalf("delete newest version: %v", err)
	}
	if removed.VersionID != v2.VersionID || removed.DeleteMarker {
		t.Errorf("removed: got %+v, want version %s, not a delete marker", removed, v2.VersionID)
	}
	_, err = s.GetObject(ctx, "dir/k", v2.VersionID)
	wantCode(t, "get removed version", err, whispersync.ENOTFOUND)
	got := mustGet(t, s, "dir/k", "")
	if got.VersionID != v1.VersionID || !got.IsLatest {
		t.Errorf("latest after removing newest: got %s latest=%t, want %s latest=true", got.VersionID, got.IsLatest, v1.VersionID)
	}
	versions := mustList(t, s, "dir/k")
	if len(versions) != 1 || !versions[0].IsLatest {
		t.Errorf("versions after removing newest: got %+v, want only %s, latest", versions, v1.VersionID)
	}

	if _, err := s.DeleteObject(ctx, "dir/k", v1.VersionID); err != nil {
		t.Fatalf("delete last version: %v", err)
	}
	_, err = s.GetObject(ctx, "dir/k", "")
	wantCode(t, "get after removing every version", err, whispersync.ENOTFOUND)
	if versions := mustList(t, s, "dir/k"); len(versions) != 0 {
		t.Errorf("versions after removing every version: got %+v, want none", versions)
	}
	if other := mustGet(t, s, "dir/other", ""); string(other.Body) != "other" {
		t.Errorf("other key body: got %q, want %q", other.Body, "other")
	}

	again := mustPut(t, s, "dir/k", []byte("three"), nil)
	if got := mustGet(t, s, "dir/k", ""); got.VersionID != again.VersionID {
		t.Errorf("latest after put on emptied key: got %q, want %q", got.VersionID, again.VersionID)
	}
}

func testPermanentDeleteMissingVersion(t *testing.T, s whispersync.ObjectStore) {
	ctx := t.Context()
	a := mustPut(t, s, "a", []byte("a"), nil)
	b := mustPut(t, s, "b", []byte("b"), nil)
	if _, err := s.DeleteObject(ctx, "b", b.VersionID); err != nil {
		t.Fatalf("delete: %v", err)
	}

	if _, err := s.DeleteObject(ctx, "b", b.VersionID); err != nil {
		t.Errorf("delete removed version again: got %v, want success", err)
	}
	if _, err := s.DeleteObject(ctx, "b", a.VersionID); err != nil {
		t.Errorf("delete version of other key: got %v, want success", err)
	}
	if got := mustGet(t, s, "a", a.VersionID); string(got.Body) != "a" {
		t.Errorf("other key after delete by its version id under another key: got %q, want %q", got.Body, "a")
	}
}

func testTaggingPerVersion(t *testing.T, s whispersync.ObjectStore) {
	ctx := t.Context()
	tags1 := map[string]string{whispersync.TagApproved: "false"}
	tags2 := map[string]string{whispersync.TagApproved: "true", whispersync.TagOwner: "user-2"}
	v1 := mustPut(t, s, "k", []byte("one"), tags1)
	v2 := mustPut(t, s, "k", []byte("two"), tags2)

	wantTags(t, s, "k", v1.VersionID, tags1)
	wantTags(t, s, "k", v2.VersionID, tags2)
	wantTags(t, s, "k", "", tags2)

	tags3 := map[string]string{whispersync.TagClassification: whispersync.ClassSensitive}
	if err := s.PutObjectTagging(ctx, "k", v1.VersionID, tags3); err != nil {
		t.Fatalf("put tagging: %v", err)
	}
	wantTags(t, s, "k", v1.VersionID, tags3)
	wantTags(t, s, "k", v2.VersionID, tags2)
	if got := mustGet(t, s, "k", v1.VersionID); !maps.Equal(got.Tags, tags3) {
		t.Errorf("object tags after put tagging: got %v, want %v", got.Tags, tags3)
	}

	if err := s.PutObjectTagging(ctx, "k", v1.VersionID, nil); err != nil {
		t.Fatalf("clear tags: %v", err)
	}
	wantTags(t, s, "k", v1.VersionID, map[string]string{})
}

func testTaggingLatest(t *testing.T, s whispersync.ObjectStore) {
	v1 := mustPut(t, s, "k", []byte("one"), nil)
	v2 := mustPut(t, s, "k", []byte("two"), nil)
	tags := map[string]string{whispersync.TagApproved: "true"}

	if err := s.PutObjectTagging(t.Context(), "k", "", tags); err != nil {
		t.Fatalf("put tagging of latest: %v", err)
	}
	wantTags(t, s, "k", v2.VersionID, tags)
	wantTags(t, s, "k", v1.VersionID, map[string]string{})
}

func testTaggingKeepsBody(t *testing.T, s whispersync.ObjectStore) {
	v1 := mustPut(t, s, "k", []byte("body"), nil)
	if err := s.PutObjectTagging(t.Context(), "k", v1.VersionID, map[string]string{"a": "b"}); err != nil {
		t.Fatalf("put tagging: %v", err)
	}

	got := mustGet(t, s, "k", "")
	if got.VersionID != v1.VersionID {
		t.Errorf("version id after tagging: got %q, want %q (tagging makes no version)", got.VersionID, v1.VersionID)
	}
	if string(got.Body) != "body" || got.ETag != v1.ETag {
		t.Errorf("after tagging: got body %q ETag %s, want %q %s", got.Body, got.ETag, "body", v1.ETag)
	}
	if !got.LastModified.Equal(v1.LastModified) {
		t.Errorf("LastModified after tagging: got %v, want %v", got.LastModified, v1.LastModified)
	}
	if versions := mustList(t, s, "k"); len(versions) != 1 {
		t.Errorf("versions after tagging: got %d, want 1", len(versions))
	}
}

func testTaggingMissing(t *testing.T, s whispersync.ObjectStore) {
	ctx := t.Context()
	_, err := s.GetObjectTagging(ctx, "missing", "")
	wantCode(t, "get tagging of missing key", err, whispersync.ENOTFOUND)
	err = s.PutObjectTagging(ctx, "missing", "", map[string]string{"a": "b"})
	wantCode(t, "put tagging of missing key", err, whispersync.ENOTFOUND)

	a := mustPut(t, s, "a", []byte("a"), nil)
	err = s.PutObjectTagging(ctx, "missing", a.VersionID, map[string]string{"a": "b"})
	wantCode(t, "put tagging of version of other key", err, whispersync.ENOTFOUND)
	if _, err := s.GetObject(ctx, "missing", ""); !whispersync.IsNotFound(err) {
		t.Errorf("get after failed put tagging: got %v, want ENOTFOUND", err)
	}
}

func testTagsAreCopied(t *testing.T, s whispersync.ObjectStore) {
	tags := map[string]string{"a": "1"}
	v := mustPut(t, s, "k", []byte("x"), tags)
	tags["a"] = "changed by caller"

	got, err := s.GetObjectTagging(t.Context(), "k", v.VersionID)
	if err != nil {
		t.Fatalf("get tagging: %v", err)
	}
	got["a"] = "changed by reader"
	wantTags(t, s, "k", v.VersionID, map[string]string{"a": "1"})

	obj := mustGet(t, s, "k", "")
	obj.Tags["a"] = "changed by reader"
	wantTags(t, s, "k", v.VersionID, map[string]string{"a": "1"})
}

func testTooManyTags(t *testing.T, s whispersync.ObjectStore) {
	tags := make(map[string]string)
	for i := range 11 {
		tags[fmt.Sprintf("tag-%d", i)] = "v"
	}
	_, err := s.PutObject(t.Context(), "k", []byte("x"), tags)
	wantCode(t, "put with 11 tags", err, whispersync.EINVALID)
	if versions := mustList(t, s, ""); len(versions) != 0 {
		t.Errorf("versions after rejected put: got %+v, want none", versions)
	}

	v := mustPut(t, s, "k", []byte("x"), nil)
	err = s.PutObjectTagging(t.Context(), "k", v.VersionID, tags)
	wantCode(t, "put tagging with 11 tags", err, whispersync.EINVALID)
}

func testListByPrefix(t *testing.T, s whispersync.ObjectStore) {
	for _, key := range []string{"a/1", "a/2", "a/b/c", "ab", "a-b", "b", "a"} {
		mustPut(t, s, key, []byte(key), nil)
	}

	tests := []struct {
		prefix string
		want   []string
	}{
		{"", []string{"a", "a-b", "a/1", "a/2", "a/b/c", "ab", "b"}},
		{"a", []string{"a", "a-b", "a/1", "a/2", "a/b/c", "ab"}},
		{"a/", []string{"a/1", "a/2", "a/b/c"}},
		{"a/b", []string{"a/b/c"}},
		{"a/b/", []string{"a/b/c"}},
		{"a/b/c", []string{"a/b/c"}},
		{"a/1", []string{"a/1"}},
		{"b", []string{"b"}},
		{"c", nil},
		{"a/b/c/", nil},
		{"a/z/", nil},
	}
	for _, tt := range tests {
		versions := mustList(t, s, tt.prefix)
		var keys []string
		for _, v := range versions {
			keys = append(keys, v.Key)
		}
		if strings.Join(keys, " ") != strings.Join(tt.want, " ") {
			t.Errorf("list %q: got keys %q, want %q", tt.prefix, keys, tt.want)
		}
	}
}

func testListOrder(t *testing.T, s whispersync.ObjectStore) {
	ctx := t.Context()
	var want []whispersync.ObjectVersion
	for i := range 3 {
		want = append(want, mustPut(t, s, "k", fmt.Appendf(nil, "v%d", i), nil))
	}
	marker, err := s.DeleteObject(ctx, "k", "")
	if err != nil {
		t.Fatalf("delete: %v", err)
	}
	want = append(want, marker)
	want = append(want, mustPut(t, s, "k", []byte("v4"), nil))
	mustPut(t, s, "j", []byte("other"), nil)

	versions := mustList(t, s, "k")
	if len(versions) != len(want) {
		t.Fatalf("versions: got %d, want %d", len(versions), len(want))
	}
	for i, v := range versions {
		w := want[len(want)-1-i]
		if v.VersionID != w.VersionID {
			t.Errorf("version %d: got id %q, want %q (newest first)", i, v.VersionID, w.VersionID)
		}
		if v.IsLatest != (i == 0) {
			t.Errorf("version %d IsLatest: got %t, want %t", i, v.IsLatest, i == 0)
		}
		if v.DeleteMarker != w.DeleteMarker {
			t.Errorf("version %d DeleteMarker: got %t, want %t", i, v.DeleteMarker, w.DeleteMarker)
		}
		if v.Key != "k" {
			t.Errorf("version %d key: got %q, want %q", i, v.Key, "k")
		}
		if !w.DeleteMarker && (v.ETag != w.ETag || v.Size != w.Size) {
			t.Errorf("version %d: got ETag %s size %d, want %s %d", i, v.ETag, v.Size, w.ETag, w.Size)
		}
	}
}

func testListEmpty(t *testing.T, s whispersync.ObjectStore) {
	if versions := mustList(t, s, ""); len(versions) != 0 {
		t.Errorf("versions of empty store: got %+v, want none", versions)
	}
}

// invalidKeys are keys that every ObjectStore rejects, traversal attempts
// in several spellings among them.
var invalidKeys = []string{
	"",
	"/abs",
	"/etc/passwd",
	"a//b",
	"a/",
	".",
	"..",
	"../x",
	"a/../b",
	"a/../../x",
	"a/./b",
	"./a",
	`a\b`,
	`..\..\x`,
	"a\x00b",
	"a b",
	"%2e%2e/x",
	"..%2fx",
	"a/%2e%2e",
	"caf\u00e9",
	"a\nb",
	"a:b",
	"a@b",
	"~a",
	"a*",
	strings.Repeat("a", 256),
	strings.Repeat("a", 1025),
	strings.Repeat(strings.Repeat("b", 203)+"/", 5) + "bbbbb",
}

func testInvalidKeys(t *testing.T, s whispersync.ObjectStore) {
	ctx := t.Context()
	for _, key := range invalidKeys {
		name := fmt.Sprintf("%.40q", key)
		_, err := s.PutObject(ctx, key, []byte("x"), nil)
		wantInvalidKey(t, "put "+name, err)
		_, err = s.GetObject(ctx, key, "")
		wantInvalidKey(t, "get "+name, err)
		_, err = s.DeleteObject(ctx, key, "")
		wantInvalidKey(t, "delete "+name, err)
		_, err = s.GetObjectTagging(ctx, key, "")
		wantInvalidKey(t, "get tagging "+name, err)
		err = s.PutObjectTagging(ctx, key, "", nil)
		wantInvalidKey(t, "put tagging "+name, err)
	}
	if versions := mustList(t, s, ""); len(versions) != 0 {
		t.Errorf("versions after invalid writes: got %+v, want none", versions)
	}
}

func testValidKeys(t *testing.T, s whispersync.ObjectStore) {
	keys := []string{
		"a",
		"ABC-xyz_0.9=1",
		"transcripts/user-1/memo-1/v1.sealed",
		"...",
		".hidden",
		"a..b",
		strings.Repeat("a", 255),
		strings.Repeat(strings.Repeat("b", 203)+"/", 5) + "bbbb",
		strings.Repeat("a/", 511) + "aa",
	}
	for _, key := range keys {
		v := mustPut(t, s, key, []byte(key), nil)
		got := mustGet(t, s, key, v.VersionID)
		if string(got.Body) != key {
			t.Errorf("get %.40q: got body %.40q, want the key", key, got.Body)
		}
	}
}

func testConcurrentPutsOneKey(t *testing.T, s whispersync.ObjectStore) {
	const workers, puts = 8, 8
	ids := make(chan string, workers*puts)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range puts {
				v, err := s.PutObject(t.Context(), "shared", fmt.Appendf(nil, "%d-%d", w, i), nil)
				if err != nil {
					t.Errorf("put %d-%d: %v", w, i, err)
					return
				}
				ids <- v.VersionID
			}
		})
	}
	wg.Wait()
	close(ids)

	seen := make(map[string]bool)
	for id := range ids {
		if seen[id] {
			t.Errorf("version id %q issued twice", id)
		}
		seen[id] = true
	}
	versions := mustList(t, s, "shared")
	if len(versions) != workers*puts {
		t.Fatalf("versions: got %d, want %d", len(versions), workers*puts)
	}
	latest := 0
	for _, v := range versions {
		if !seen[v.VersionID] {
			t.Errorf("listed version %q was not returned by any put", v.VersionID)
		}
		if v.IsLatest {
			latest++
		}
	}
	if latest != 1 {
		t.Errorf("versions with IsLatest: got %d, want 1", latest)
	}
	if got := mustGet(t, s, "shared", ""); got.VersionID != versions[0].VersionID {
		t.Errorf("latest: got %q, want first listed %q", got.VersionID, versions[0].VersionID)
	}
}

func testConcurrentPutsManyKeys(t *testing.T, s whispersync.ObjectStore) {
	const workers, puts = 8, 4
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range puts {
				key := fmt.Sprintf("many/w%d/k%d", w, i)
				if _, err := s.PutObject(t.Context(), key, []byte(key), nil); err != nil {
					t.Errorf("put %s: %v", key, err)
				}
			}
		})
	}
	wg.Wait()

	for w := range workers {
		for i := range puts {
			key := fmt.Sprintf("many/w%d/k%d", w, i)
			if got := mustGet(t, s, key, ""); string(got.Body) != key {
				t.Errorf("get %s: got %q, want %q", key, got.Body, key)
			}
		}
	}
	if versions := mustList(t, s, "many/"); len(versions) != workers*puts {
		t.Errorf("versions: got %d, want %d", len(versions), workers*puts)
	}
}

func testCanceledContext(t *testing.T, s whispersync.ObjectStore) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	_, err := s.PutObject(ctx, "k", []byte("x"), nil)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("put with canceled context: got %v, want context.Canceled", err)
	}
	if versions := mustList(t, s, ""); len(versions) != 0 {
		t.Errorf("versions after canceled put: got %+v, want none", versions)
	}
}

func mustPut(t *testing.T, s whispersync.ObjectStore, key string, body []byte, tags map[string]string) whispersync.ObjectVersion {
	t.Helper()
	v, err := s.PutObject(t.Context(), key, body, tags)
	if err != nil {
		t.Fatalf("put %.40q: %v", key, err)
	}
	return v
}

func mustGet(t *testing.T, s whispersync.ObjectStore, key, versionID string) *whispersync.Object {
	t.Helper()
	obj, err := s.GetObject(t.Context(), key, versionID)
	if err != nil {
		t.Fatalf("get %.40q version %q: %v", key, versionID, err)
	}
	return obj
}

func mustList(t *testing.T, s whispersync.ObjectStore, prefix string) []whispersync.ObjectVersion {
	t.Helper()
	versions, err := s.ListObjectVersions(t.Context(), prefix)
	if err != nil {
		t.Fatalf("list %q: %v", prefix, err)
	}
	return versions
}

func wantTags(t *testing.T, s whispersync.ObjectStore, key, versionID string, want map[string]string) {
	t.Helper()
	got, err := s.GetObjectTagging(t.Context(), key, versionID)
	if err != nil {
		t.Fatalf("get tagging %q version %q: %v", key, versionID, err)
	}
	if !maps.Equal(got, want) {
		t.Errorf("tags of %q version %q: got %v, want %v", key, versionID, got, want)
	}
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := whispersync.ErrorCode(err); got != code {
		t.Errorf("%s: got code %q (%v), want %q", what, got, err, code)
	}
}

func wantInvalidKey(t *testing.T, what string, err error) {
	t.Helper()
	wantCode(t, what, err, whispersync.EINVALID)
	var e *whispersync.Error
	if errors.As(err, &e) && e.Rule == "" {
		t.Errorf("%s: got no rule in %v, want the rule the key breaks", what, err)
	}
}

func etag(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}
