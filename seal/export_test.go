package seal

import "io"

// SetRand makes key rings opened from now on draw their randomness from r,
// and returns a function that restores the default.
func SetRand(r io.Reader) (restore func()) {
	old := randReader
	randReader = r
	return func() { randReader = old }
}

// SetArgon2idCost sets the Argon2id costs of key files created from now on,
// and returns a function that restores the default.
func SetArgon2idCost(time, memoryKiB uint32, threads uint8) (restore func()) {
	old := argon2idParams
	argon2idParams.Time, argon2idParams.MemoryKiB, argon2idParams.Threads = time, memoryKiB, threads
	return func() { argon2idParams = old }
}

// ParseKeyFile parses key file bytes, for the fuzz target of the parser.
func ParseKeyFile(data []byte) error {
	_, err := parseKeyFile("fuzz.json", data)
	return err
}

// ParseItemKey parses a data key's sort key, for its fuzz target.
func ParseItemKey(key string) (class string, generation uint32, ok bool) {
	id, ok := parseItemKey("owner", key)
	return id.class, id.generation, ok
}
