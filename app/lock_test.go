package app_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/app"
	"github.com/whispersync/whispersync/backup"
)

func TestOpenDataDirInUse(t *testing.T) {
	d := newDirs(t)
	openApp(t, d)
	_, err := app.Open(context.Background(), app.Config{DataDir: d.data, KeyFile: d.keyFile, Logger: slog.New(slog.DiscardHandler)})
	if whispersync.ErrorCode(err) != whispersync.EUNAVAILABLE {
		t.Fatalf("second open: got %v, want unavailable", err)
	}
	if !strings.Contains(whispersync.ErrorMessage(err), "in use") {
		t.Errorf("second open: message %q does not say the directory is in use", whispersync.ErrorMessage(err))
	}
}

func TestOpenRejectsObjectFolderLayout(t *testing.T) {
	d := newDirs(t)
	if err := os.MkdirAll(filepath.Join(d.data, "objects", "transcripts"), 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := app.Open(context.Background(), app.Config{DataDir: d.data, KeyFile: d.keyFile, Logger: slog.New(slog.DiscardHandler)})
	if whispersync.ErrorCode(err) != whispersync.EINVALID {
		t.Fatalf("open: got %v, want invalid", err)
	}
	if !strings.Contains(whispersync.ErrorMessage(err), "backup restore") {
		t.Errorf("open: message %q does not name the way to move the data", whispersync.ErrorMessage(err))
	}
	if _, err := os.Stat(filepath.Join(d.data, "objects.db")); !os.IsNotExist(err) {
		t.Errorf("open created objects.db beside the old layout: %v", err)
	}
}

func TestOpenRejectsUnfinishedRestore(t *testing.T) {
	d := newDirs(t)
	if err := openApp(t, d).Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d.data, backup.IncompleteMarker), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := app.Open(context.Background(), app.Config{DataDir: d.data, KeyFile: d.keyFile, Logger: slog.New(slog.DiscardHandler)})
	if whispersync.ErrorCode(err) != whispersync.EINVALID {
		t.Fatalf("open: got %v, want invalid", err)
	}
	if !strings.Contains(whispersync.ErrorMessage(err), "did not finish") {
		t.Errorf("open: message %q does not say the restore did not finish", whispersync.ErrorMessage(err))
	}
}

func TestOpenRejectsMissingObjectStore(t *testing.T) {
	d := newDirs(t)
	a := openApp(t, d)
	if _, _, err := a.User(context.Background(), "alice", true); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"objects.db", "objects.db-wal", "objects.db-shm"} {
		if err := os.Remove(filepath.Join(d.data, name)); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	_, err := app.Open(context.Background(), app.Config{DataDir: d.data, KeyFile: d.keyFile, Logger: slog.New(slog.DiscardHandler)})
	if whispersync.ErrorCode(err) != whispersync.EINVALID {
		t.Fatalf("open without objects.db: got %v, want invalid", err)
	}
	if _, err := os.Stat(filepath.Join(d.data, "objects.db")); !os.IsNotExist(err) {
		t.Errorf("open created an empty objects.db: %v", err)
	}
}

func TestOpenLeavesOldLayoutUntouched(t *testing.T) {
	d := newDirs(t)
	if err := os.MkdirAll(filepath.Join(d.data, "objects"), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Open(context.Background(), app.Config{DataDir: d.data, KeyFile: d.keyFile, Logger: slog.New(slog.DiscardHandler)}); err == nil {
		t.Fatal("open of the old layout: got nil error")
	}
	for _, path := range []string{filepath.Join(d.data, "lock"), d.keyFile} {
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Errorf("refused open created %s: %v", path, err)
		}
	}
}
