// Package whispersync holds the domain of WhisperSync: memos, buckets,
// classifications, the application error type and the interfaces of every
// storage, queue, key and audit concern.
//
// # Layout
//
// The package imports no infrastructure. Each interface here has an embedded
// implementation (SQLite tables and queue, files for objects, a local key
// ring) and is shaped after its AWS counterpart (DynamoDB, SQS, S3, KMS), so a
// cloud implementation can replace the embedded one without touching the
// domain code. The package storagetest holds contract tests that every
// implementation must pass.
//
// # Privacy
//
// Nothing a user said is handed to an interface in this package in
// plaintext: object bodies and item payloads are sealed by the caller before
// they reach a store, and item attributes carry only identifiers, states and
// dates.
package whispersync

import (
	"context"
	"time"
)

// Bucket is the kind of a memo, and so the agent that acts on it.
type Bucket string

// The buckets. A mixed memo is split into segments, each routed to its own
// agent; an unclear memo waits in the review queue.
const (
	BucketWork    Bucket = "work"
	BucketMemory  Bucket = "memory"
	BucketIdea    Bucket = "idea"
	BucketMixed   Bucket = "mixed"
	BucketUnclear Bucket = "unclear"
)

// AgentBuckets lists the buckets that have an agent, in routing order.
var AgentBuckets = []Bucket{BucketWork, BucketMemory, BucketIdea}

// ParseBucket returns the bucket named s, or an invalid-input error that names
// the accepted values.
func ParseBucket(s string) (Bucket, error) {
	switch b := Bucket(s); b {
	case BucketWork, BucketMemory, BucketIdea, BucketMixed, BucketUnclear:
		return b, nil
	}
	return "", Errorf(EINVALID, "unknown bucket %q: use work, memory, idea, mixed or unclear", s)
}

// Classification is the classifier's verdict on one memo.
type Classification struct {
	// Bucket is the memo's bucket: one of the agent buckets, mixed when
	// several apply, or unclear.
	Bucket Bucket `json:"bucket"`
	// Buckets lists every agent bucket that applies; empty when unclear.
	Buckets []Bucket `json:"buckets"`
	// Confidence is the probability, between 0 and 1, that Bucket is right.
	Confidence float64 `json:"confidence"`
	// Reason is a short explanation for people, such as the strongest terms.
	Reason string `json:"reason"`
	// Segments splits the text by bucket; one segment for a single-bucket memo.
	Segments []Segment `json:"segments,omitempty"`
	// NeedsReview is set when the verdict should be confirmed by a person.
	NeedsReview bool `json:"needs_review"`
}

// Segment is a contiguous part of a memo that belongs to one bucket.
type Segment struct {
	Bucket     Bucket  `json:"bucket"`
	Text       string  `json:"text"`
	Confidence float64 `json:"confidence"`
}

// Classifier decides the bucket of a memo. Implementations are offline and
// deterministic: the same text and hints give the same verdict.
type Classifier interface {
	Classify(ctx context.Context, text string, hints Hints) (Classification, error)
}

// Hints is evidence about a memo that is not in its text.
type Hints struct {
	// Folder is the name of the folder the transcript came from, such as
	// "work", "memories" or "github_ideas". It is evidence, never the answer.
	Folder string
}

// MemoStatus is where a memo is in the pipeline.
type MemoStatus string

// The memo states.
const (
	StatusQueued    MemoStatus = "queued"
	StatusProcessed MemoStatus = "processed"
	StatusReview    MemoStatus = "review"
	StatusRejected  MemoStatus = "rejected"
	StatusFailed    MemoStatus = "failed"
)

// Memo is one voice memo or transcript of one user.
type Memo struct {
	ID      string     `json:"id"`
	OwnerID string     `json:"owner_id"`
	Version int        `json:"version"`
	Status  MemoStatus `json:"status"`
	// ContentHash is a keyed hash of the normalized text, used to detect
	// duplicates without storing the text.
	ContentHash string    `json:"-"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`

	// Sealed fields: stored only inside the memo's encrypted payload.
	Source         string          `json:"source,omitempty"`
	Classification *Classification `json:"classification,omitempty"`
	People         []string        `json:"people,omitempty"`
	ActionItems    []string        `json:"action_items,omitempty"`
	Outputs        []Output        `json:"outputs,omitempty"`
}

// Output is a record that an agent produced from a memo.
type Output struct {
	Agent Bucket `json:"agent"`
	Table string `json:"table"`
	Key   string `json:"key"`
}

// User is an account that owns memos.
type User struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}
