package audit

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// anchor records the newest signed digest in a file kept apart from the
// log, beside the key file. Deleting the newest digests together with their
// entries rolls the log back without breaking any signature. The anchor is
// outside the data directory and still names the newer digest, so
// verification notices the rollback.
type anchor struct {
	// First is the payload hash of the log's first digest. It identifies
	// the log the anchor belongs to, because a restored or new data
	// directory starts a new log and may share the key file with another.
	First  string `json:"first"`
	Number uint64 `json:"digest"`
	// LastSeq is the last entry the digest covers.
	LastSeq uint64 `json:"last_seq"`
	// Hash is the SHA-256 of the digest's signed payload.
	Hash string `json:"hash"`
}

// writeAnchor replaces the anchor file durably: temp file, fsync, rename,
// fsync of the folder.
func writeAnchor(path string, a anchor) error {
	data, err := json.Marshal(a)
	if err != nil {
		return err
	}

	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".anchor-*")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(append(data, '\n'))
	if werr == nil {
		werr = tmp.Sync()
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), path)
	}
	if werr != nil {
		_ = os.Remove(tmp.Name()) // best effort: werr is the error to report
		return werr
	}

	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	serr := d.Sync()
	if cerr := d.Close(); serr == nil {
		serr = cerr
	}
	return serr
}

// readAnchor returns the anchor in path, or nil when there is none.
func readAnchor(path string) (*anchor, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var a anchor
	if err := json.Unmarshal(data, &a); err != nil || a.Number == 0 {
		return nil, fmt.Errorf("audit anchor %s is malformed", path)
	}
	return &a, nil
}

// checkAnchor compares the digest chain with the anchor and returns the
// problem found, if any. A digest newer than the anchor is fine: a crash
// can fall between writing a digest and its anchor. An anchor of another
// log is ignored.
func checkAnchor(digests []*signedDigest, a *anchor, path string) *Problem {
	if a == nil || digests[0].payloadHash() != a.First {
		return nil
	}
	if uint64(len(digests)) < a.Number {
		return &Problem{Seq: a.LastSeq, Reason: fmt.Sprintf(
			"the anchor %s records digest %s, covering entries up to seq %d, but the newest digest is %s: digests and entries were removed to roll the log back",
			path, digestName(a.Number), a.LastSeq, digests[len(digests)-1].name)}
	}
	d := digests[a.Number-1]
	if d.payloadHash() != a.Hash {
		return &Problem{Segment: d.name, Seq: a.LastSeq, Reason: fmt.Sprintf(
			"digest %s differs from the one the anchor %s records: the digests were replaced", d.name, path)}
	}
	return nil
}
