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
