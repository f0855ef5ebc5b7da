package audit

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/whispersync/whispersync"
)

// resetHint is the way out of a rejected log, for the operator.
const resetHint = "keep a copy of the data directory for investigation, then put the audit folder back from a copy of the data directory; if it cannot be put back, start a new log with: whispersync audit reset --reason TEXT"

// rejectLog returns the error of a log that Open does not open because it
// does not match its record: a message for the operator, wrapping ErrBroken.
func rejectLog(format string, args ...any) error {
	return &whispersync.Error{
		Code:    whispersync.EINVALID,
		Message: fmt.Sprintf(format, args...) + "; " + resetHint,
		Err:     ErrBroken,
	}
}

// bind checks, before anything is created, that the log in l.dir is the one
// the anchor file records for the data directory's identity, and gives a
// directory without an identity file one when that is safe. It sets l.id
// and l.anchored.
func (l *Log) bind(opts Options) error {
	if l.digestKey == nil || l.anchorFile == "" || len(opts.IdentityKey) == 0 {
		return errors.New("an identity file needs a digest key, an anchor file and an identity key")
	}
	pub := PublicKey(l.digestKey)
	id, err := readIdentity(opts.IdentityFile, opts.IdentityKey)
	if errors.Is(err, errIdentityForged) || errors.Is(err, errIdentityMalformed) {
		return rejectLog("the identity file %s, which binds the data directory to its audit log, was not written by whispersync with this key file (%v): the file was replaced", opts.IdentityFile, errors.Unwrap(err))
	}
	if err != nil {
		return err
	}
	records, err := readAnchor(l.anchorFile)
	if err != nil {
		return err
	}
	numbers, err := listDigests(l.digestDir)
	if err != nil {
		return err
	}
	first := ""
	if len(numbers) > 0 {
		d, err := readDigest(l.digestDir, 1, pub)
		if err != nil {
			return fmt.Errorf("%w: %w", err, ErrBroken)
		}
		first = d.payloadHash()
	}
	entries, err := hasEntries(l.dir)
	if err != nil {
		return err
	}
	exists := len(numbers) > 0 || entries

	if id != nil {
		rec := recordByID(records, id.ID)
		if rec == nil {
			// An identity no record names yet: a new or restored
			// directory, or a crash before the first record was written.
			// Its MAC verified, so the key file's holder made it.
			if other := recordByFirst(records, first); exists && other != nil && other.ID != "" {
				return rejectLog("the audit log in %s is the log of another data directory: the anchor file %s records it under identity %s, not under this directory's %s (%s)", l.dir, l.anchorFile, other.ID, id.ID, opts.IdentityFile)
			}
			if entries && id.Reset != nil {
				return rejectLog("the audit log in %s appeared after whispersync audit reset moved the former log aside, before the new log was started", l.dir)
			}
			legacy := recordByFirst(records, first)
			if exists && legacy != nil {
				// A crash after binding a log of a release before
				// identities, before its record was claimed.
				if err := l.checkRecord(numbers, legacy); err != nil {
					return err
				}
			} else if (exists || opts.HasData) && id.Dir != dataDirOf(opts.IdentityFile) {
				// Only the directory it was written for may start a log
				// under an unrecorded identity. Elsewhere it would
				// replace a log that the anchor file records.
				// NOTE: the check is by path, so anyone who can rename
				// the data directory can still restore into its path and
				// move the restored identity into the original.
				return rejectLog("the identity file %s names an identity that the anchor file %s has no record of, written for the data directory %q, not for this one: the identity file was copied from another data directory, so this directory's own log and identity were removed",
					opts.IdentityFile, l.anchorFile, id.Dir)
			}
			l.id = id.ID
			l.reset = id.Reset
			return nil
		}
		if !exists {
			return rejectLog("the audit log in %s is missing, but the anchor file %s records digest %s, covering entries up to seq %d, of the log bound to this data directory by %s: the log was deleted",
				l.dir, l.anchorFile, digestName(rec.Number), rec.LastSeq, opts.IdentityFile)
		}
		if first != rec.First {
			return rejectLog("the audit log in %s is not the log bound to this data directory: the anchor file %s records another first digest for the identity in %s: the log was replaced",
				l.dir, l.anchorFile, opts.IdentityFile)
		}
		if err := l.checkRecord(numbers, rec); err != nil {
			return err
		}
		l.id, l.anchored, l.reset = id.ID, rec, id.Reset
		return nil
	}

	if !exists {
		if opts.HasData {
			return rejectLog("the data directory contains data, but its audit log %s and its identity file %s are missing: the log was deleted, and the anchor file %s cannot tell which of its records was this directory's",
				l.dir, opts.IdentityFile, l.anchorFile)
		}
		// A new data directory.
		newID, err := NewIdentity(opts.IdentityFile, opts.IdentityKey)
		if err != nil {
			return err
		}
		l.id = newID
		return nil
	}
	if first == "" {
		return rejectLog("the audit log in %s has entries but no signed digest, and the data directory has no identity file %s: the digests were deleted", l.dir, opts.IdentityFile)
	}
	rec := recordByFirst(records, first)
	if rec != nil && rec.ID != "" {
		return rejectLog("the identity file %s is missing, but the anchor file %s records the audit log in %s under identity %s: the identity file was removed",
			opts.IdentityFile, l.anchorFile, l.dir, rec.ID)
	}
	// A log anchored by a release before identities, or never anchored:
	// bind it to a new identity, which claims its record.
	if rec != nil {
		if err := l.checkRecord(numbers, rec); err != nil {
			return err
		}
	}
	newID, err := NewIdentity(opts.IdentityFile, opts.IdentityKey)
	if err != nil {
		return err
	}
	l.id = newID
	l.logger.Info("audit log bound to a new data directory identity", "identity_file", opts.IdentityFile, "anchor", l.anchorFile, "anchored_before", rec != nil)
	return nil
}

// checkRecord rejects a log whose digests numbers end before the digest
// that rec records, or whose digest under that number is another.
func (l *Log) checkRecord(numbers []uint64, rec *anchor) error {
	if numbers[len(numbers)-1] < rec.Number {
		return rejectLog("the audit log in %s ends at digest %s, but the anchor file %s records digest %s, covering entries up to seq %d: digests and entries were removed to roll the log back",
			l.dir, digestName(numbers[len(numbers)-1]), l.anchorFile, digestName(rec.Number), rec.LastSeq)
	}
	d, err := readDigest(l.digestDir, rec.Number, PublicKey(l.digestKey))
	if err != nil {
		return fmt.Errorf("%w: %w", err, ErrBroken)
	}
	if d.payloadHash() != rec.Hash {
		return rejectLog("digest %s of the audit log in %s differs from the one the anchor file %s records: the digests were replaced", d.name, l.dir, l.anchorFile)
	}
	return nil
}

// hasEntries reports whether a segment in dir holds anything.
func hasEntries(dir string) (bool, error) {
	numbers, err := listSegments(dir)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, n := range numbers {
		info, err := os.Stat(filepath.Join(dir, segmentName(n)))
		if err != nil {
			return false, err
		}
		if info.Size() > 0 {
			return true, nil
		}
	}
	return false, nil
}

// anchorRecord is the record of the log whose newest digest is d.
func (l *Log) anchorRecord(d *signedDigest) anchor {
	return anchor{ID: l.id, Dir: l.logDir, First: l.digests.first, Number: d.Number, LastSeq: d.LastSeq, Hash: d.payloadHash()}
}

// refreshAnchor writes the log's record when the anchor file lacks it or
// lags behind the newest digest, such as for a new identity, a log of a
// release before identities, or after a crash between a digest and its
// record. A failure is logged, as in signDigest.
func (l *Log) refreshAnchor() {
	if l.anchorFile == "" || l.digests.last == nil || l.digests.first == "" {
		return
	}
	want := l.anchorRecord(l.digests.last)
	if l.anchored != nil && *l.anchored == want {
		return
	}
	if err := updateAnchor(l.anchorFile, want); err != nil {
		l.logger.Error("audit anchor update failed", "anchor", l.anchorFile, "digest", l.digests.last.name, "err", err)
		return
	}
	l.anchored = &want
}

// Reset starts the data directory of the log in dir over with a new log.
// It is for a log that is lost or cannot be trusted, so that Open rejects
// it. Reset moves the log in dir, if any, aside to dir-before-reset-TIME,
// drops the directory's record from the anchor file, and writes a new
// identity that carries note. The next Open with opts starts a new log,
// whose first entry, action audit.reset, records note. opts needs what Open
// needs for an identity file. The caller must hold the data directory's
// lock.
//
// After a crash part way, Open either rejects the directory, and running
// Reset again finishes the reset, or starts the new log with its entry.
func Reset(dir string, opts Options, note ResetNote) (ResetNote, error) {
	if opts.IdentityFile == "" || opts.AnchorFile == "" || opts.DigestKey == nil || len(opts.IdentityKey) == 0 {
		return note, errors.New("audit: reset: an identity file, an anchor file, a digest key and an identity key are all needed")
	}
	if opts.DigestDir == "" {
		opts.DigestDir = filepath.Join(dir, "digests")
	}
	note.Time = note.Time.UTC()

	// The former identity and first digest, as far as they can be read: a
	// damaged file is what a reset is for.
	records, err := readAnchor(opts.AnchorFile)
	if err != nil {
		return note, fmt.Errorf("audit: reset: %w", err)
	}
	if id, err := readIdentity(opts.IdentityFile, nil); err == nil && id != nil {
		note.FormerID = id.ID
		if id.Reset != nil && recordByID(records, id.ID) == nil {
			// A reset that stopped part way: its former log is this one's.
			note.FormerID, note.FormerFirst, note.MovedTo = id.Reset.FormerID, id.Reset.FormerFirst, id.Reset.MovedTo
		}
	}
	if d, err := readDigest(opts.DigestDir, 1, PublicKey(opts.DigestKey)); err == nil {
		note.FormerFirst = d.payloadHash()
	}

	// 1. The new identity, with no record yet: Open rejects it while the
	// former log is in place.
	if _, err := writeIdentity(opts.IdentityFile, opts.IdentityKey, &note); err != nil {
		return note, fmt.Errorf("audit: reset: %w", err)
	}

	// 2. The former log moves aside.
	if _, err := os.Stat(dir); err == nil {
		aside := dir + "-before-reset-" + note.Time.Format("20060102T150405Z")
		if err := os.Rename(dir, aside); err != nil {
			return note, fmt.Errorf("audit: reset: move the former log aside: %w", err)
		}
		if err := syncDir(filepath.Dir(dir)); err != nil {
			return note, fmt.Errorf("audit: reset: %w", err)
		}
		note.MovedTo = aside
	} else if !errors.Is(err, os.ErrNotExist) {
		return note, fmt.Errorf("audit: reset: %w", err)
	}

	// 3. The former record goes; the new identity, rewritten with what
	// was found, is then the directory's.
	// Records of logs that were kept in this folder go too: without the
	// former identity, they are the only sign of which record was the
	// directory's.
	logDir, err := filepath.Abs(dir)
	if err != nil {
		return note, fmt.Errorf("audit: reset: %w", err)
	}
	var dropped *anchor
	err = editAnchor(opts.AnchorFile, func(records []anchor) ([]anchor, bool) {
		remaining := records[:0:0]
		for _, r := range records {
			former := (note.FormerID != "" && r.ID == note.FormerID) ||
				(note.FormerFirst != "" && r.ID == "" && r.First == note.FormerFirst) ||
				(r.Dir == logDir && r.ID != "" && r.ID != note.FormerID)
			if former {
				if dropped == nil || (r.ID != "" && r.ID == note.FormerID) {
					dropped = &r
				}
				continue
			}
			remaining = append(remaining, r)
		}
		return remaining, dropped != nil
	}, nil)
	if err != nil {
		return note, fmt.Errorf("audit: reset: %w", err)
	}
	if dropped != nil {
		note.FormerFirst, note.FormerDigest, note.FormerLastSeq = dropped.First, dropped.Number, dropped.LastSeq
	}
	if _, err := writeIdentity(opts.IdentityFile, opts.IdentityKey, &note); err != nil {
		return note, fmt.Errorf("audit: reset: %w", err)
	}
	return note, nil
}

// resetEvent is the first entry of a log started by Reset.
func resetEvent(n *ResetNote, dir string) whispersync.AuditEvent {
	detail := map[string]string{"reason": n.Reason}
	add := func(k, v string) {
		if v != "" {
			detail[k] = v
		}
	}
	add("former_identity", n.FormerID)
	add("former_first_digest", n.FormerFirst)
	if n.FormerDigest > 0 {
		add("former_digest", digestName(n.FormerDigest))
		add("former_last_seq", strconv.FormatUint(n.FormerLastSeq, 10))
	}
	add("moved_to", n.MovedTo)
	return whispersync.AuditEvent{
		Time: n.Time, Principal: n.Principal, Source: n.Source,
		Action: "audit.reset", Resource: "audit:" + dir, Outcome: whispersync.OutcomeSuccess, Detail: detail,
	}
}
