package whispersync

import (
	"context"
	"time"
)

// Object tags with a meaning to WhisperSync.
const (
	// TagApproved is set to "true" by intake after validation. Agents read
	// only objects that carry it.
	TagApproved = "approved"
	// TagClassification holds the object's data classification.
	TagClassification = "classification"
	// TagOwner holds the id of the user who owns the object.
	TagOwner = "owner"
)

// Classification levels of stored data, used by backup selection and
// retention. Every stored object and item carries one.
const (
	ClassPublic    = "public"
	ClassInternal  = "internal"
	ClassPersonal  = "personal"
	ClassSensitive = "sensitive"
)

// Classes lists the classification levels, least sensitive first.
var Classes = []string{ClassPublic, ClassInternal, ClassPersonal, ClassSensitive}

// ObjectVersion describes one version of an object, or a delete marker.
type ObjectVersion struct {
	Key          string
	VersionID    string
	Size         int64
	LastModified time.Time
	IsLatest     bool
	DeleteMarker bool
	// ETag is the hex SHA-256 of the stored bytes.
	ETag string
}

// Object is one object version with its body and tags.
type Object struct {
	ObjectVersion
	Body []byte
	Tags map[string]string
}

// ObjectStore keeps versioned objects with tags, with the semantics of an S3
// bucket that has versioning enabled:
//
//   - PutObject always creates a new version; earlier versions stay readable
//     by version id.
//   - GetObject with an empty version id returns the latest version, and
//     ENOTFOUND when the key does not exist or its latest version is a delete
//     marker.
//   - DeleteObject with an empty version id adds a delete marker; with a
//     version id it removes that version permanently.
//   - Keys are relative slash-separated paths of at most 1,024 bytes, with no
//     empty, "." or ".." element; other keys are rejected with EINVALID.
//
// A successful PutObject or PutObjectTagging is durable when it returns.
type ObjectStore interface {
	PutObject(ctx context.Context, key string, body []byte, tags map[string]string) (ObjectVersion, error)
	GetObject(ctx context.Context, key, versionID string) (*Object, error)
	DeleteObject(ctx context.Context, key, versionID string) (ObjectVersion, error)
	// ListObjectVersions returns every version and delete marker of the keys
	// under prefix, by key, newest version first within a key.
	ListObjectVersions(ctx context.Context, prefix string) ([]ObjectVersion, error)
	GetObjectTagging(ctx context.Context, key, versionID string) (map[string]string, error)
	// PutObjectTagging replaces the tag set of one version.
	PutObjectTagging(ctx context.Context, key, versionID string, tags map[string]string) error
}

// Message is one queue message as a consumer receives it.
type Message struct {
	ID   string
	Body []byte
	// ReceiptHandle identifies this receipt; it is needed to delete the
	// message or change its visibility, and is invalid after the message was
	// received again.
	ReceiptHandle string
	// ReceiveCount is how often the message was received, this time included.
	ReceiveCount int
	SentAt       time.Time
}

// Queue is a durable at-least-once queue with the semantics of an SQS
// standard queue with a redrive policy:
//
//   - A received message is invisible for the visibility timeout; unless it
//     is deleted in that time, it becomes visible and is delivered again.
//   - A message that has been received MaxReceives times and becomes visible
//     again moves to the dead-letter queue instead of being delivered.
//   - Deleting with a stale receipt handle is EINVALID (SQS answers
//     ReceiptHandleIsInvalid), so a consumer that ran past its timeout
//     learns it.
//
// A successful SendMessage is durable when it returns.
type Queue interface {
	SendMessage(ctx context.Context, body []byte) (string, error)
	// SendMessageBatch sends the bodies atomically: all or none.
	SendMessageBatch(ctx context.Context, bodies [][]byte) ([]string, error)
	// ReceiveMessage returns up to max visible messages without waiting; an
	// empty result means none was visible.
	ReceiveMessage(ctx context.Context, max int, visibility time.Duration) ([]Message, error)
	DeleteMessage(ctx context.Context, receiptHandle string) error
	// DeleteMessageBatch deletes several messages in one durable write. Valid
	// handles are deleted even when others are stale; the error then names
	// how many were stale.
	DeleteMessageBatch(ctx context.Context, receiptHandles []string) error
	ChangeMessageVisibility(ctx context.Context, receiptHandle string, timeout time.Duration) error
	// Depth counts visible and in-flight messages.
	Depth(ctx context.Context) (visible, inFlight int, err error)
}

// DeadLetterQueue holds messages that exhausted their receives.
type DeadLetterQueue interface {
	ListDeadLetters(ctx context.Context, max int) ([]DeadLetter, error)
	// Redrive moves the named dead letters, or all when ids is empty, back to
	// the source queue with a fresh receive count, and returns how many moved.
	Redrive(ctx context.Context, ids ...string) (int, error)
	// PurgeDeadLetter deletes one dead letter for good.
	PurgeDeadLetter(ctx context.Context, id string) error
}

// DeadLetter is a message in the dead-letter queue.
type DeadLetter struct {
	ID           string
	Body         []byte
	ReceiveCount int
	SentAt       time.Time
	DeadAt       time.Time
	// LastError is the consumer's last recorded failure, free of user content.
	LastError string
}

// Item is one row of a table, keyed like a DynamoDB item: the owner is the
// partition key, so every read names its owner and cannot reach another
// user's items, and Key is the sort key.
type Item struct {
	Owner string
	Key   string
	// Attrs holds plaintext attributes used for filtering and display:
	// states, buckets, dates, ids. Never user content.
	Attrs map[string]string
	// Data is the sealed payload.
	Data []byte
	// Revision counts successful writes of the item, starting at 1. Stores
	// set it; a caller passes the revision it read to a conditional write.
	Revision int64
}

// Condition guards a write.
type Condition int

// Write conditions, as DynamoDB condition expressions would state them.
const (
	// Always writes unconditionally.
	Always Condition = iota
	// IfAbsent writes only when no item has the same owner and key;
	// otherwise the write fails with ECONFLICT.
	IfAbsent
	// IfRevision writes only when the stored item has the revision given in
	// the item; otherwise the write fails with ECONFLICT.
	IfRevision
)

// Write is one write of a transaction.
type Write struct {
	Table     string
	Item      Item
	Condition Condition
	// Delete removes the item with Item.Owner and Item.Key instead of putting
	// it.
	Delete bool
}

// Query selects items of one owner in one table, by sort key.
type Query struct {
	Table  string
	Owner  string
	Prefix string
	// After, when set, starts the listing after this sort key.
	After string
	Limit int
	// Descending lists sort keys from high to low.
	Descending bool
}

// Tables keeps items in named tables with the semantics of DynamoDB tables
// whose partition key is the owner: GetItem returns ENOTFOUND for a missing
// item, TransactWrite applies every write or none, and a failed condition
// fails the whole transaction with ECONFLICT.
type Tables interface {
	GetItem(ctx context.Context, table, owner, key string) (Item, error)
	PutItem(ctx context.Context, table string, item Item, cond Condition) error
	DeleteItem(ctx context.Context, table, owner, key string) error
	Query(ctx context.Context, q Query) ([]Item, error)
	TransactWrite(ctx context.Context, writes []Write) error
}
