package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/intake"
	"github.com/whispersync/whispersync/internal/ids"
)

// Submission is one transcript handed to intake.
type Submission struct {
	Actor Actor
	// Owner is the id of the user whose memo this is.
	Owner string
	// Source names where the transcript came from: a path or an upload's
	// file name. It is sealed with the memo.
	Source string
	Raw    []byte
	Hints  whispersync.Hints
}

// Receipt states what intake did with a submission.
type Receipt struct {
	MemoID string
	// Status is queued, rejected or duplicate.
	Status string
	// Err is the rejection, for status rejected.
	Err *whispersync.Error
}

// Receipt statuses besides the memo states.
const (
	ReceiptQueued    = "queued"
	ReceiptRejected  = "rejected"
	ReceiptDuplicate = "duplicate"
)

// Submit validates, seals, stores and queues one transcript. A rejected
// transcript is quarantined, sealed, with the rule that rejected it, and the
// receipt says why; the returned error is for failures of the pipeline
// itself. When Submit returns a queued receipt, the memo is durable and will
// be processed even if the process dies right after.
func (p *Pipeline) Submit(ctx context.Context, s Submission) (Receipt, error) {
	if s.Owner == "" {
		return Receipt{}, errors.New("pipeline: submit: missing owner")
	}
	if s.Hints.Folder == "" && s.Source != "" {
		s.Hints.Folder = filepath.Base(filepath.Dir(s.Source))
	}

	text, err := intake.Check(s.Raw)
	if err != nil {
		var rejection *whispersync.Error
		if !errors.As(err, &rejection) {
			return Receipt{}, fmt.Errorf("pipeline: intake: %w", err)
		}
		return p.quarantine(ctx, s, rejection)
	}

	hash, err := p.sealer.KeyedHash(ctx, s.Owner, "memo-content", []byte(text))
	if err != nil {
		return Receipt{}, fmt.Errorf("pipeline: hash content: %w", err)
	}
	if existing, err := p.tables.GetItem(ctx, tableMemoHashes, s.Owner, hash); err == nil {
		return p.duplicate(ctx, s, existing.Attrs["memo"])
	} else if !whispersync.IsNotFound(err) {
		return Receipt{}, fmt.Errorf("pipeline: look up content hash: %w", err)
	}

	id := ids.New("m")
	receipt, err := p.store(ctx, s, id, text, hash)
	if whispersync.IsConflict(err) {
		// Another submission of the same text won the race for the hash.
		if existing, getErr := p.tables.GetItem(ctx, tableMemoHashes, s.Owner, hash); getErr == nil {
			return p.duplicate(ctx, s, existing.Attrs["memo"])
		}
	}
	return receipt, err
}

// store seals and writes an accepted transcript, then queues it.
func (p *Pipeline) store(ctx context.Context, s Submission, id, text, hash string) (Receipt, error) {
	const version = 1
	key := objectKey(kindTranscript, s.Owner, id)
	body, err := p.sealer.Seal(ctx, objectIdentity(kindTranscript, s.Owner, id, version), whispersync.KeyClassData, []byte(text))
	if err != nil {
		return Receipt{}, fmt.Errorf("pipeline: seal transcript: %w", err)
	}
	// The audit record and the transcript do not depend on each other, so
	// their syncs overlap. Both are durable before the memo is recorded.
	audited := make(chan error, 1)
	go func() {
		audited <- p.audit(ctx, s.Actor, whispersync.AuditEvent{Action: "memo.create", Resource: memoResource(s.Owner, id), Detail: map[string]string{"bytes": fmt.Sprint(len(s.Raw))}})
	}()
	obj, err := p.intakeObjects.PutObject(ctx, key, body, map[string]string{
		whispersync.TagApproved:       "true",
		whispersync.TagClassification: whispersync.ClassSensitive,
		whispersync.TagOwner:          s.Owner,
	})
	auditErr := <-audited
	if err != nil {
		return Receipt{}, fmt.Errorf("pipeline: store transcript: %w", err)
	}
	if auditErr != nil {
		p.removeOrphan(ctx, key, obj.VersionID)
		return Receipt{}, auditErr
	}

	now := p.now().UTC()
	rec := memoRecord{Source: s.Source, Folder: s.Hints.Folder, ObjectVersion: obj.VersionID}
	memo, err := p.sealItem(ctx, tableMemos, s.Owner, id, whispersync.KeyClassData, memoAttrs(whispersync.StatusQueued, "", version, now, now), rec)
	if err != nil {
		return Receipt{}, fmt.Errorf("pipeline: %w", err)
	}
	writes := []whispersync.Write{
		{Table: tableMemos, Item: memo, Condition: whispersync.IfAbsent},
		{Table: tableMemoHashes, Item: whispersync.Item{Owner: s.Owner, Key: hash, Attrs: map[string]string{"memo": id}}, Condition: whispersync.IfAbsent},
	}
	// The outbox row covers a crash between the commit and the send. A
	// WriteSender commits the message with the rows, so it needs none.
	if p.writeSender == nil {
		writes = append(writes, whispersync.Write{Table: tableOutbox, Item: whispersync.Item{Owner: systemOwner, Key: outboxKey(s.Owner, id), Attrs: map[string]string{"version": "1", "created": now.Format(timeLayout)}}})
	}
	payload, err := json.Marshal(message{Owner: s.Owner, Memo: id, Version: version})
	if err != nil {
		return Receipt{}, fmt.Errorf("pipeline: encode message: %w", err)
	}
	if p.writeSender != nil {
		if _, err := p.writeSender.SendWithWrites(ctx, writes, payload); err != nil {
			p.removeOrphan(ctx, key, obj.VersionID)
			return Receipt{}, fmt.Errorf("pipeline: record and queue memo: %w", err)
		}
		return Receipt{MemoID: id, Status: ReceiptQueued}, nil
	}

	if err := p.tables.TransactWrite(ctx, writes); err != nil {
		p.removeOrphan(ctx, key, obj.VersionID)
		return Receipt{}, fmt.Errorf("pipeline: record memo: %w", err)
	}
	if _, err := p.queue.SendMessage(ctx, payload); err != nil {
		// The outbox row makes Recover queue the memo again.
		return Receipt{}, fmt.Errorf("pipeline: queue memo %s: %w", id, err)
	}
	return Receipt{MemoID: id, Status: ReceiptQueued}, nil
}

// removeOrphan deletes an object version that no memo refers to.
func (p *Pipeline) removeOrphan(ctx context.Context, key, versionID string) {
	if _, err := p.intakeObjects.DeleteObject(ctx, key, versionID); err != nil {
		p.log.Warn("remove orphaned transcript failed", "key", key, "version", versionID, "err", err)
	}
}

func (p *Pipeline) duplicate(ctx context.Context, s Submission, original string) (Receipt, error) {
	if err := p.audit(ctx, s.Actor, whispersync.AuditEvent{Action: "memo.duplicate", Resource: memoResource(s.Owner, original)}); err != nil {
		return Receipt{}, err
	}
	return Receipt{MemoID: original, Status: ReceiptDuplicate}, nil
}

// quarantine keeps a rejected transcript, sealed, with the reason, and
// records a rejected memo so the owner can see what happened to it.
func (p *Pipeline) quarantine(ctx context.Context, s Submission, rejection *whispersync.Error) (Receipt, error) {
	const version = 1
	id := ids.New("m")
	key := objectKey(kindQuarantine, s.Owner, id)
	body, err := p.sealer.Seal(ctx, objectIdentity(kindQuarantine, s.Owner, id, version), whispersync.KeyClassData, s.Raw)
	if err != nil {
		return Receipt{}, fmt.Errorf("pipeline: seal quarantined input: %w", err)
	}
	obj, err := p.intakeObjects.PutObject(ctx, key, body, map[string]string{
		whispersync.TagApproved:       "false",
		whispersync.TagClassification: whispersync.ClassSensitive,
		whispersync.TagOwner:          s.Owner,
		"rejected_rule":               rejection.Rule,
	})
	if err != nil {
		return Receipt{}, fmt.Errorf("pipeline: quarantine input: %w", err)
	}

	now := p.now().UTC()
	rec := memoRecord{Source: s.Source, Folder: s.Hints.Folder, ObjectVersion: obj.VersionID, Error: &errorRecord{Code: rejection.Code, Rule: rejection.Rule, Message: rejection.Message}}
	attrs := memoAttrs(whispersync.StatusRejected, "", version, now, now)
	attrs["rule"] = rejection.Rule
	memo, err := p.sealItem(ctx, tableMemos, s.Owner, id, whispersync.KeyClassData, attrs, rec)
	if err != nil {
		return Receipt{}, fmt.Errorf("pipeline: %w", err)
	}
	if err := p.audit(ctx, s.Actor, whispersync.AuditEvent{Action: "memo.reject", Resource: memoResource(s.Owner, id), Outcome: whispersync.OutcomeDenied, Detail: map[string]string{"rule": rejection.Rule}}); err != nil {
		p.removeOrphan(ctx, key, obj.VersionID)
		return Receipt{}, err
	}
	if err := p.tables.PutItem(ctx, tableMemos, memo, whispersync.IfAbsent); err != nil {
		return Receipt{}, fmt.Errorf("pipeline: record rejected memo: %w", err)
	}
	return Receipt{MemoID: id, Status: ReceiptRejected, Err: rejection}, nil
}

func memoResource(owner, id string) string { return "memo:" + owner + "/" + id }

// systemOwner is the partition of items that belong to the deployment, not
// to a user, such as the outbox.
const systemOwner = "_system"

// outboxKey names a memo in the outbox: owner, a slash, memo id.
func outboxKey(owner, id string) string { return owner + "/" + id }

func memoAttrs(status whispersync.MemoStatus, bucket whispersync.Bucket, version int, created, updated interface{ Format(string) string }) map[string]string {
	attrs := map[string]string{
		"status":  string(status),
		"version": fmt.Sprint(version),
		"created": created.Format(timeLayout),
		"updated": updated.Format(timeLayout),
	}
	if bucket != "" {
		attrs["bucket"] = string(bucket)
	}
	return attrs
}

// timeLayout is RFC 3339 with fixed-width fractions, so stored times sort as
// strings.
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"
