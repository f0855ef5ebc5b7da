// Package pipeline carries a memo from intake to its agents: it validates and
// seals the transcript, stores it as an approved object, queues it, and in the
// worker classifies it and writes each agent's output exactly once per memo
// version, however often the queue delivers the message.
//
// It also answers the read side (memos, journal, memory search, ideas, the
// review queue), so that every read and write of user data passes one place
// that seals, scopes by owner and audits.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/seal"
)

// Table names.
const (
	tableMemos           = "memos"
	tableMemoHashes      = "memo_hashes"
	tableOutbox          = "outbox"
	tableJournal         = "journal"
	tableMemories        = "memories"
	tableMemoryIndex     = "memory_index"
	tableIdeas           = "ideas"
	tableReview          = "review"
	tableTrainingSignals = "training_signals"
	// tableState holds the pipeline's own bookkeeping, under systemOwner.
	tableState = "pipeline_state"
)

// Object kinds, used as key prefixes and as the kind in a sealed identity.
const (
	kindTranscript = "transcripts"
	kindQuarantine = "quarantine"
)

// Sealer seals and opens records under their owner's data keys.
type Sealer interface {
	Seal(ctx context.Context, id seal.Identity, class string, plaintext []byte) ([]byte, error)
	Open(ctx context.Context, id seal.Identity, ciphertext []byte) ([]byte, error)
	BlindIndex(ctx context.Context, owner, term string) (string, error)
	KeyedHash(ctx context.Context, owner, purpose string, data []byte) (string, error)
}

// Config lists what a pipeline needs. Every field but Logger and Now is
// required.
type Config struct {
	Objects    whispersync.ObjectStore
	Tables     whispersync.Tables
	Queue      whispersync.Queue
	Sealer     Sealer
	Classifier whispersync.Classifier
	// Personalize, when set, builds a classifier that also learns from an
	// owner's corrections recorded by Assign.
	Personalize Personalizer
	Auditor     whispersync.Auditor
	Logger      *slog.Logger
	Now         func() time.Time
	// WriteSender, when set, records a new memo and queues it in one
	// transaction. It must write to Tables and Queue above; the embedded
	// *sqlite.Queue does when both come from one *sqlite.DB. Without it a
	// memo is recorded and then queued, and the outbox covers a crash in
	// between.
	WriteSender WriteSender
}

// WriteSender commits table writes and a queue message together.
type WriteSender interface {
	SendWithWrites(ctx context.Context, writes []whispersync.Write, body []byte) (string, error)
}

// Pipeline is the memo pipeline of one data directory or deployment.
type Pipeline struct {
	tables      whispersync.Tables
	queue       whispersync.Queue
	sealer      Sealer
	classifier  whispersync.Classifier
	personalize Personalizer
	personal    personalModels
	auditor     whispersync.Auditor
	log         *slog.Logger
	now         func() time.Time
	writeSender WriteSender

	// The object store is reachable only through these capability handles,
	// so intake cannot read transcripts and agents cannot read unapproved
	// objects.
	intakeObjects  TranscriptWriter
	agentObjects   ApprovedReader
	privateObjects whispersync.ObjectStore
}

// New returns a pipeline over cfg.
func New(cfg Config) (*Pipeline, error) {
	if cfg.Objects == nil || cfg.Tables == nil || cfg.Queue == nil || cfg.Sealer == nil || cfg.Classifier == nil || cfg.Auditor == nil {
		return nil, errors.New("pipeline: incomplete configuration: objects, tables, queue, sealer, classifier and auditor are required")
	}
	p := &Pipeline{
		writeSender:    cfg.WriteSender,
		tables:         cfg.Tables,
		queue:          cfg.Queue,
		sealer:         cfg.Sealer,
		classifier:     cfg.Classifier,
		personalize:    cfg.Personalize,
		auditor:        cfg.Auditor,
		log:            cfg.Logger,
		now:            cfg.Now,
		intakeObjects:  WriteOnly(cfg.Objects),
		agentObjects:   ApprovedOnly(cfg.Objects),
		privateObjects: cfg.Objects,
	}
	if p.log == nil {
		p.log = slog.Default()
	}
	if p.now == nil {
		p.now = time.Now
	}
	return p, nil
}

// Actor is who performs an operation, for the audit trail.
type Actor struct {
	// Principal names the caller, such as "operator:alice" or "token:t_…".
	Principal string
	// Source is the caller's network address or "cli".
	Source    string
	RequestID string
}

// message is the queue payload. It carries identifiers only.
type message struct {
	Owner   string `json:"owner"`
	Memo    string `json:"memo"`
	Version int    `json:"version"`
}

// memoRecord is the sealed part of a memo item.
type memoRecord struct {
	Source         string                      `json:"source,omitempty"`
	Folder         string                      `json:"folder,omitempty"`
	ObjectVersion  string                      `json:"object_version,omitempty"`
	Classification *whispersync.Classification `json:"classification,omitempty"`
	People         []string                    `json:"people,omitempty"`
	ActionItems    []string                    `json:"action_items,omitempty"`
	Outputs        []whispersync.Output        `json:"outputs,omitempty"`
	Error          *errorRecord                `json:"error,omitempty"`
}

type errorRecord struct {
	Code    string `json:"code"`
	Rule    string `json:"rule,omitempty"`
	Message string `json:"message"`
}

// sealItem encodes v as JSON and seals it under the owner's key of class,
// bound to the item's table, owner and key.
func (p *Pipeline) sealItem(ctx context.Context, table, owner, key, class string, attrs map[string]string, v any) (whispersync.Item, error) {
	data, err := seal.SealJSON(ctx, p.sealer, itemIdentity(table, owner, key), class, v)
	if err != nil {
		return whispersync.Item{}, fmt.Errorf("%s %s item: %w", seal.Step(err), table, err)
	}
	return whispersync.Item{Owner: owner, Key: key, Attrs: attrs, Data: data}, nil
}

// openItem opens a sealed item into v.
func (p *Pipeline) openItem(ctx context.Context, table string, item whispersync.Item, v any) error {
	if err := seal.OpenJSON(ctx, p.sealer, itemIdentity(table, item.Owner, item.Key), item.Data, v); err != nil {
		return fmt.Errorf("%s %s item %s: %w", seal.Step(err), table, item.Key, err)
	}
	return nil
}

func itemIdentity(table, owner, key string) seal.Identity {
	return seal.Identity{Owner: owner, Kind: table, ID: key}
}

func objectKey(kind, owner, id string) string {
	return kind + "/" + owner + "/" + id
}

// audit appends events stamped with the actor; the caller must not carry
// out the action when it fails.
func (p *Pipeline) audit(ctx context.Context, actor Actor, events ...whispersync.AuditEvent) error {
	now := p.now().UTC()
	for i := range events {
		e := &events[i]
		if e.Time.IsZero() {
			e.Time = now
		}
		if e.Principal == "" {
			e.Principal = actor.Principal
		}
		if e.Source == "" {
			e.Source = actor.Source
		}
		if e.RequestID == "" {
			e.RequestID = actor.RequestID
		}
		if e.Outcome == "" {
			e.Outcome = whispersync.OutcomeSuccess
		}
	}
	if err := p.auditor.Append(ctx, events...); err != nil {
		p.log.Error("audit append failed", "err", err, "action", events[0].Action)
		return &whispersync.Error{Code: whispersync.EUNAVAILABLE, Message: "the audit trail cannot be written, so the operation was not carried out: the operator must check the audit folder", Err: err}
	}
	return nil
}
