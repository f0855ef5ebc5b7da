package whispersync

import (
	"context"
	"time"
)

// Audit outcomes.
const (
	OutcomeSuccess = "success"
	OutcomeFailure = "failure"
	OutcomeDenied  = "denied"
)

// AuditEvent is one entry of the audit trail. It names who did what to which
// resource, never what a user said: values that must be matched later but
// not read (a search term, a token prefix) go in Hashed, and the auditor
// stores only their salted HMACs.
type AuditEvent struct {
	Time      time.Time         `json:"time"`
	Principal string            `json:"principal"`
	Action    string            `json:"action"`
	Resource  string            `json:"resource,omitempty"`
	Outcome   string            `json:"outcome"`
	Source    string            `json:"source,omitempty"`
	RequestID string            `json:"request_id,omitempty"`
	Detail    map[string]string `json:"detail,omitempty"`
	Hashed    map[string]string `json:"hashed,omitempty"`
}

// Auditor appends events to the audit trail. Append returns only when the
// event is durable; when it fails, the caller must not carry out the action
// (the trail fails closed).
type Auditor interface {
	Append(ctx context.Context, events ...AuditEvent) error
}
