// Package atomicfile replaces files durably, so that a crash leaves either
// the old content or the new, never a mix.
package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
)

// WriteFile replaces name with data: a temporary file with mode 0600 in the
// same folder, fsync, rename over name, then fsync of the folder so the
// rename survives a power loss.
func WriteFile(name string, data []byte) error {
	dir := filepath.Dir(name)
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if err = errors.Join(err, f.Close()); err != nil {
		_ = os.Remove(tmp) // best effort, because the write error is the one to report
		return err
	}
	if err := os.Rename(tmp, name); err != nil {
		_ = os.Remove(tmp) // best effort, because the rename error is the one to report
		return err
	}
	return SyncDir(dir)
}

// SyncDir fsyncs the folder dir, which makes the entries created, renamed
// or removed in it durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
