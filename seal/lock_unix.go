//go:build unix

package seal

import (
	"fmt"
	"os"
	"syscall"
)

// lockKeyFile takes an exclusive advisory lock on a file next to the key
// file, waiting for other processes that hold it, and returns its release.
// The lock file holds nothing; it exists because the key file itself is
// replaced by rename on every write.
func lockKeyFile(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("seal: lock key file: %w", err)
	}
	// #nosec G115 -- a file descriptor fits in an int on every Unix.
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		_ = f.Close() // the lock was not taken, so nothing is lost
		return nil, fmt.Errorf("seal: lock key file: %w", err)
	}
	return func() { _ = f.Close() }, nil // closing releases the lock
}
