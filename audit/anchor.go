package audit

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// anchor records the newest signed digest of one log in a file kept apart
// from the log, beside the key file. Deleting the newest digests together
// with their entries rolls the log back without breaking any signature. The
// anchor is outside the data directory and still names the newer digest, so
// verification notices the rollback.
//
// Several data directories may share a key file, such as a restored one
// beside its source, so the anchor file keeps one record per log.
type anchor struct {
	// ID is the identity of the data directory that the log belongs to (see
	// Options.IdentityFile). It is empty for a log opened without one, such
	// as a log of a release before identities, whose record First names.
	ID string `json:"id,omitempty"`
	// Dir is the log's folder when the record was written, for people
	// reading the file; nothing relies on it.
	Dir string `json:"dir,omitempty"`
	// First is the payload hash of the log's first digest. It identifies
	// the log, because a new log signs a new first digest.
	First  string `json:"first"`
	Number uint64 `json:"digest"`
	// LastSeq is the last entry the digest covers.
	LastSeq uint64 `json:"last_seq"`
	// Hash is the SHA-256 of the digest's signed payload.
	Hash string `json:"hash"`
}

// anchorDoc is the JSON schema of the anchor file. Releases before records
// per log wrote one record as the top-level members; a file without logs is
// read as that one record. The top-level members repeat the record written
// last, so such a release still reads the file.
type anchorDoc struct {
	First   string   `json:"first"`
	Number  uint64   `json:"digest"`
	LastSeq uint64   `json:"last_seq"`
	Hash    string   `json:"hash"`
	Logs    []anchor `json:"logs"`
}

// matches reports whether r is the record of rec's log: the same identity,
// or, for a record without one, the same first digest. A record without an
// identity is thus claimed by the identity its log is bound to later.
func (r *anchor) matches(rec *anchor) bool {
	if rec.ID != "" && r.ID == rec.ID {
		return true
	}
	return r.ID == "" && r.First == rec.First
}

// recordByID returns the record of the log bound to identity id, or nil.
func recordByID(records []anchor, id string) *anchor {
	for i := range records {
		if records[i].ID == id {
			return &records[i]
		}
	}
	return nil
}

// recordByFirst returns the record of the log whose first digest has the
// payload hash first, or nil.
func recordByFirst(records []anchor, first string) *anchor {
	for i := range records {
		if records[i].First == first {
			return &records[i]
		}
	}
	return nil
}

// readAnchor returns the records of the anchor file in path; none when
// there is no file.
func readAnchor(path string) ([]anchor, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var doc anchorDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("audit anchor %s is malformed: %w", path, err)
	}
	records := doc.Logs
	if records == nil {
		// A release before records per log.
		records = []anchor{{First: doc.First, Number: doc.Number, LastSeq: doc.LastSeq, Hash: doc.Hash}}
	}
	for _, r := range records {
		if r.Number == 0 || r.First == "" {
			return nil, fmt.Errorf("audit anchor %s is malformed: a record has no digest", path)
		}
	}
	return records, nil
}

// updateAnchor replaces the record of rec's log with rec, or adds it, in
// the anchor file in path. It holds the anchor's lock, so logs of several
// data directories can write at once.
// A record never moves back to an earlier digest of the same log: that
// would erase the evidence of a rollback.
func updateAnchor(path string, rec anchor) error {
	var behind *anchor
	err := editAnchor(path, func(records []anchor) ([]anchor, bool) {
		for i := range records {
			if !records[i].matches(&rec) {
				continue
			}
			if records[i].First == rec.First && records[i].Number > rec.Number {
				behind = &records[i]
				return records, false
			}
			records[i] = rec
			return records, true
		}
		return append(records, rec), true
	}, &rec)
	if err == nil && behind != nil {
		return fmt.Errorf("the anchor %s records digest %s of this log, newer than %s: the log was rolled back, so the record is kept", path, digestName(behind.Number), digestName(rec.Number))
	}
	return err
}

// editAnchor rewrites the anchor file in path with the records that edit
// returns, unless edit reports no change, holding the anchor's lock. The
// top-level members repeat last, or else the last record.
func editAnchor(path string, edit func([]anchor) ([]anchor, bool), last *anchor) error {
	unlock, err := lockAnchor(path)
	if err != nil {
		return err
	}
	defer unlock()
	records, err := readAnchor(path)
	if err != nil {
		return err
	}
	records, changed := edit(records)
	if !changed {
		return nil
	}
	doc := anchorDoc{Logs: records}
	if last == nil && len(records) > 0 {
		last = &records[len(records)-1]
	}
	if last != nil {
		doc.First, doc.Number, doc.LastSeq, doc.Hash = last.First, last.Number, last.LastSeq, last.Hash
	}
	if doc.Logs == nil {
		// An empty list, not a missing one, which would read as the
		// single record of an earlier release.
		doc.Logs = []anchor{}
	}
	return writeAnchor(path, doc)
}

// lockAnchor takes an exclusive flock(2) on the anchor's lock file, PATH.lock,
// and returns the function that releases it.
func lockAnchor(path string) (func(), error) {
	f, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock the audit anchor: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		_ = f.Close() // no lock was taken, so a close error changes nothing
		return nil, fmt.Errorf("lock the audit anchor: %w", err)
	}
	return func() { _ = f.Close() }, nil // closing releases the lock; nothing was written to it
}

// writeAnchor replaces the anchor file durably.
func writeAnchor(path string, doc anchorDoc) error {
	data, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	return writeFileAtomic(path, append(data, '\n'))
}

// writeFileAtomic replaces the file in path with data durably: temp file,
// fsync, rename, fsync of the folder.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(data)
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
	return syncDir(dir)
}

// checkAnchor compares the digest chain with the log's record a and
// returns the problem found, if any. A digest newer than the record is
// fine: a crash can fall between writing a digest and its record.
func checkAnchor(digests []*signedDigest, a *anchor, path string) *Problem {
	if a == nil {
		return nil
	}
	if digests[0].payloadHash() != a.First {
		return &Problem{Segment: digests[0].name, Reason: fmt.Sprintf(
			"digest %s is not the first digest of the log that the anchor %s records for this data directory: the log was replaced by another one",
			digests[0].name, path)}
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
