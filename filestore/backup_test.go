package filestore_test

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/filestore"
)

func TestExportImportKeepsVersions(t *testing.T) {
	ctx := t.Context()
	src, err := filestore.Open(filepath.Join(t.TempDir(), "src"))
	if err != nil {
		t.Fatal(err)
	}
	defer closeStore(t, src)
	v1, err := src.PutObject(ctx, "transcripts/u/m", []byte("sealed one"), map[string]string{"owner": "u"})
	if err != nil {
		t.Fatal(err)
	}
	if err := src.PutObjectTagging(ctx, "transcripts/u/m", v1.VersionID, map[string]string{"owner": "u", "approved": "true"}); err != nil {
		t.Fatal(err)
	}
	marker, err := src.DeleteObject(ctx, "transcripts/u/m", "")
	if err != nil {
		t.Fatal(err)
	}

	dst := filepath.Join(t.TempDir(), "dst")
	versions, err := src.ListObjectVersions(ctx, "")
	if err != nil || len(versions) != 2 {
		t.Fatalf("list: got %d versions, %v; want 2", len(versions), err)
	}
	for _, v := range versions {
		record, tags, err := src.ExportVersion(ctx, v.Key, v.VersionID)
		if err != nil {
			t.Fatalf("export %s: %v", v.VersionID, err)
		}
		if err := filestore.ImportVersion(dst, v.Key, v.VersionID, record, tags); err != nil {
			t.Fatalf("import %s: %v", v.VersionID, err)
		}
	}
	if _, _, err := src.ExportVersion(ctx, "transcripts/u/m", "0000000000000000000000000"); err == nil {
		t.Errorf("export of a missing version: got no error")
	}

	restored, err := filestore.Open(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer closeStore(t, restored)
	got, err := restored.GetObject(ctx, "transcripts/u/m", v1.VersionID)
	if err != nil || !bytes.Equal(got.Body, []byte("sealed one")) || got.Tags["approved"] != "true" {
		t.Errorf("restored version: got %+v, %v; want the body and the replaced tags", got, err)
	}
	if _, err := restored.GetObject(ctx, "transcripts/u/m", ""); !whispersync.IsNotFound(err) {
		t.Errorf("restored latest (delete marker %s): got %v, want not found", marker.VersionID, err)
	}
}
