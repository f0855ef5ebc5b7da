// Package audit is an append-only, hash-chained audit log on local files. It
// implements whispersync.Auditor.
//
// # Files
//
// The log is a folder (mode 0700) of segment files named 00000001.jsonl,
// 00000002.jsonl and so on (mode 0600). A new segment starts when the next
// entry would make the current one larger than Options.SegmentMaxBytes. Each
// line of a segment is one JSON object with these members, in this order:
//
//	seq         entry number, from 1, continuous across segments
//	time        RFC 3339 time in UTC with up to nine fraction digits,
//	            as time.RFC3339Nano formats it
//	principal   who acted
//	action      what they did
//	resource    what they did it to (omitted when empty)
//	outcome     success, failure or denied
//	source      the network address or component (omitted when empty)
//	request_id  (omitted when empty)
//	detail      string map (omitted when empty)
//	hashed      string map whose values are hex HMAC-SHA256 of the event's
//	            values under Options.HMACKey (omitted when empty)
//	prev        hash of the previous entry, 64 zeros for the first entry
//	hash        hash of this entry
//
// # Hash chain
//
// The hash of an entry is the SHA-256 of its canonical encoding, written as
// 64 lowercase hex digits. The canonical encoding is the concatenation of
//
//	the 20 bytes "whispersync-audit-v1" and a zero byte
//	prev        32 bytes (the previous entry's hash, or 32 zero bytes)
//	seq         8 bytes, big-endian
//	time, principal, action, resource, outcome, source, request_id
//	            each as a string
//	detail, hashed
//	            each as a map
//
// where a string is its length in bytes (4 bytes, big-endian) followed by its
// bytes. A map is its number of pairs (4 bytes, big-endian) followed by each
// key and its value as strings, in increasing byte order of the keys.
// Every variable-length part carries its length and the parts come in a fixed
// order, so two different entries never share an encoding. An empty map and
// an omitted map encode alike. The time is hashed as the exact string in the
// line.
//
// Strings that are not valid UTF-8 are stored with each invalid byte replaced
// by U+FFFD, as encoding/json would write them, so that the hash of a line
// can be recomputed from the line alone.
//
// # Durability
//
// Append returns only after its events are written and fsynced. Concurrent
// calls are batched by one writer goroutine into a single write and fsync.
// When a write or fsync fails, that Append and every later one return an
// error until the log is reopened: the caller must not carry out an action it
// could not audit. A crash can leave an incomplete last line, which no Append
// acknowledged. Open removes it. A complete line whose hash is wrong is never
// repaired: Open returns an error.
//
// Entries written by a batch that failed may remain in the log even though
// their Append returned an error. The log then records an attempt whose
// action the caller did not carry out.
//
// # Verification
//
// Verify walks every segment and checks sequence numbers, the prev links and
// each hash, so it detects an edited, deleted, inserted or reordered entry.
//
// # Digests
//
// A chain alone cannot show that its newest entries were cut off, or that an
// entry was rewritten together with every later hash. When
// Options.DigestKey is set, the log signs a digest at Open (when no digest
// covers the newest entries, and always for a new log), every
// Options.DigestInterval, on SignDigest and at Close. Digests are files
// 00000001.json, 00000002.json and so on in Options.DigestDir (mode 0600,
// never replaced), each one JSON object:
//
//	digest     the Digest as JSON: number, time, the seq range covered and
//	           the hash of its last entry, the segments holding that range
//	           with the hash of each one's last covered entry, and previous,
//	           the SHA-256 of the digest before
//	signature  base64 Ed25519 signature of "whispersync-audit-digest-v1",
//	           a zero byte, and the bytes of digest exactly as stored
//
// VerifySigned checks the digests and then the log against them. Entries
// appended since the newest digest are vouched for by the chain alone until
// the next digest: an attacker who can write the log can cut them off
// unseen, which bounds the loss to one digest interval. A deleted newest
// digest leaves more entries unsigned than one interval should, which
// VerifyOptions.MaxUnsigned turns into a problem.
//
// The signing key must live apart from the log: whoever holds it can sign a
// digest for a rewritten log.
//
// # Anchor and identity
//
// Cutting the newest digests together with their entries, or deleting the
// whole log, breaks no signature. Options.AnchorFile names a file outside
// the data directory, beside the key file, with one record per log: its
// first digest and the number and hash of its newest digest. Several data
// directories may share it. Options.IdentityFile names a file in the data
// directory with a random identity and its HMAC under a key from the key
// file. The identity binds the directory to its log's record, so Open
// rejects a log that is missing, replaced or rolled back behind the record,
// and VerifySigned reports it. A restore writes a new identity, so that the
// restored directory's log gets a record of its own. Reset is the audited
// way to start over when a log is lost.
package audit
