package sqlite_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/sqlite"
	"github.com/whispersync/whispersync/storagetest"
)

func openObjects(t *testing.T, path string) *sqlite.ObjectStore {
	t.Helper()
	s, err := sqlite.OpenObjectStore(t.Context(), path)
	if err != nil {
		t.Fatalf("open object store: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close object store: %v", err)
		}
	})
	return s
}

func TestObjectStoreContract(t *testing.T) {
	storagetest.ObjectStore(t, func(t *testing.T) whispersync.ObjectStore {
		return openObjects(t, filepath.Join(t.TempDir(), "objects.db"))
	})
}

// flipInFile changes one byte of needle where it occurs in the file at path.
func flipInFile(t *testing.T, path string, needle []byte) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(data, needle)
	if i < 0 {
		t.Fatalf("%q not found in %s", needle, path)
	}
	data[i+len(needle)/2] ^= 0x01
	if err := os.WriteFile(path, data, 0o600); err != nil { // #nosec G703 -- path is the test's own file in t.TempDir
		t.Fatal(err)
	}
}

func TestObjectFlippedByteIsCorrupt(t *testing.T) {
	for _, tc := range []struct {
		name   string
		needle string
	}{
		{"body", "sealed-body-bytes-0123456789"},
		{"tags", "classification-value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "objects.db")
			s, err := sqlite.OpenObjectStore(t.Context(), path)
			if err != nil {
				t.Fatal(err)
			}
			v, err := s.PutObject(t.Context(), "transcripts/u1/m1", []byte("sealed-body-bytes-0123456789"), map[string]string{"classification": "classification-value"})
			if err != nil {
				t.Fatal(err)
			}
			// Close checkpoints the write-ahead log into the database file.
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			flipInFile(t, path, []byte(tc.needle))

			s = openObjects(t, path)
			_, err = s.GetObject(t.Context(), "transcripts/u1/m1", "")
			if !errors.Is(err, sqlite.ErrCorrupt) {
				t.Errorf("get newest: got %v, want ErrCorrupt", err)
			}
			_, err = s.GetObject(t.Context(), "transcripts/u1/m1", v.VersionID)
			if !errors.Is(err, sqlite.ErrCorrupt) {
				t.Errorf("get by version: got %v, want ErrCorrupt", err)
			}
			_, _, err = s.ExportVersion(t.Context(), "transcripts/u1/m1", v.VersionID)
			if !errors.Is(err, sqlite.ErrCorrupt) {
				t.Errorf("export: got %v, want ErrCorrupt", err)
			}

			// A corrupt version stays listed and removable, so erasure
			// reaches it.
			versions, err := s.ListObjectVersions(t.Context(), "transcripts/u1/")
			if err != nil {
				t.Fatal(err)
			}
			if len(versions) != 1 || versions[0].VersionID != v.VersionID {
				t.Fatalf("list: got %+v, want the corrupt version", versions)
			}
			if _, err := s.DeleteObject(t.Context(), "transcripts/u1/m1", v.VersionID); err != nil {
				t.Errorf("delete corrupt version: %v", err)
			}
			if _, err := s.GetObject(t.Context(), "transcripts/u1/m1", v.VersionID); !whispersync.IsNotFound(err) {
				t.Errorf("get after delete: got %v, want not found", err)
			}
		})
	}
}

func TestObjectDeleteOverwritesBytes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "objects.db")
	s, err := sqlite.OpenObjectStore(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	secret := bytes.Repeat([]byte("erase-me-"), 500)
	v, err := s.PutObject(t.Context(), "transcripts/u1/m1", secret, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteObject(t.Context(), "transcripts/u1/m1", v.VersionID); err != nil {
		t.Fatal(err)
	}
	// Checked while the store is open, as erasure leaves it.
	if err := s.Checkpoint(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, name := range []string{path, path + "-wal"} {
		data, err := os.ReadFile(name)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(data, []byte("erase-me-erase-me-")) {
			t.Errorf("%s still contains the deleted body", filepath.Base(name))
		}
	}
}

func TestObjectExportImportRoundTrip(t *testing.T) {
	ctx := t.Context()
	src := openObjects(t, filepath.Join(t.TempDir(), "objects.db"))
	put, err := src.PutObject(ctx, "transcripts/u1/m1", []byte("sealed"), map[string]string{"approved": "false"})
	if err != nil {
		t.Fatal(err)
	}
	if err := src.PutObjectTagging(ctx, "transcripts/u1/m1", put.VersionID, map[string]string{"approved": "true"}); err != nil {
		t.Fatal(err)
	}
	marker, err := src.DeleteObject(ctx, "transcripts/u1/m1", "")
	if err != nil {
		t.Fatal(err)
	}

	dst := openObjects(t, filepath.Join(t.TempDir(), "objects.db"))
	for _, id := range []string{put.VersionID, marker.VersionID} {
		record, tags, err := src.ExportVersion(ctx, "transcripts/u1/m1", id)
		if err != nil {
			t.Fatalf("export %s: %v", id, err)
		}
		if err := dst.ImportVersion(ctx, "transcripts/u1/m1", id, record, tags); err != nil {
			t.Fatalf("import %s: %v", id, err)
		}
	}
	want, err := src.ListObjectVersions(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	got, err := dst.ListObjectVersions(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("versions after import: got %d, want %d", len(got), len(want))
	}
	for i := range want {
		if !got[i].LastModified.Equal(want[i].LastModified) || got[i].VersionID != want[i].VersionID || got[i].IsLatest != want[i].IsLatest || got[i].DeleteMarker != want[i].DeleteMarker {
			t.Errorf("version %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	obj, err := dst.GetObject(ctx, "transcripts/u1/m1", put.VersionID)
	if err != nil {
		t.Fatal(err)
	}
	if string(obj.Body) != "sealed" || obj.Tags["approved"] != "true" {
		t.Errorf("imported version: got body %q and tags %v, want %q and approved=true", obj.Body, obj.Tags, "sealed")
	}
	next, err := dst.PutObject(ctx, "transcripts/u1/m1", []byte("again"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if next.VersionID <= marker.VersionID {
		t.Errorf("version after import: got %s, want above imported %s", next.VersionID, marker.VersionID)
	}

	record, _, err := src.ExportVersion(ctx, "transcripts/u1/m1", put.VersionID)
	if err != nil {
		t.Fatal(err)
	}
	if err := dst.ImportVersion(ctx, "transcripts/u1/other", put.VersionID, record, nil); !errors.Is(err, sqlite.ErrCorrupt) {
		t.Errorf("import under another key: got %v, want ErrCorrupt", err)
	}
	record[len(record)-1] ^= 0x01
	if err := dst.ImportVersion(ctx, "transcripts/u1/m1", put.VersionID, record, nil); !errors.Is(err, sqlite.ErrCorrupt) {
		t.Errorf("import changed body: got %v, want ErrCorrupt", err)
	}
}
