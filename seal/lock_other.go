//go:build !unix

package seal

// lockKeyFile does nothing where flock is missing.
//
// NOTE: without the lock, two processes that rotate or retire on one key
// file at the same moment can lose one change; do that from one process at
// a time on such platforms.
func lockKeyFile(string) (func(), error) { return func() {}, nil }
