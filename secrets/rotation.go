package secrets

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/seal"
)

// ErrOwnerRotates is wrapped by the error of Rotate for a secret of
// TypeNotify without a value: the rotation-due finding is recorded, but the
// secret keeps its value until its owner supplies a new one.
var ErrOwnerRotates = errors.New("secrets: only the owner can supply a new value")

// Rotate makes a new current version of name. With a value, that value is
// used whatever the type (a manual rotation). Without one, the type's hook
// makes it: TypeGenerate draws a random value and TypeProvider requests
// one from the provider; TypeNotify records a finding for the contact (and
// hands it to the finding sink) and fails with EINVALID wrapping
// ErrOwnerRotates, since only a person can supply its new value.
func (s *Store) Rotate(ctx context.Context, by Actor, name string, value []byte) (Secret, error) {
	if err := ValidateName(name); err != nil {
		return Secret{}, err
	}
	sec, err := s.get(ctx, name)
	if err != nil {
		return Secret{}, err
	}
	if value != nil {
		if err := validateValue(name, value); err != nil {
			return Secret{}, err
		}
	}
	return s.rotate(ctx, by, sec, value)
}

func (s *Store) rotate(ctx context.Context, by Actor, sec Secret, value []byte) (Secret, error) {
	hook := "manual"
	if value == nil {
		hook = sec.Type
	}
	if hook == TypeNotify {
		if _, err := s.notify(ctx, by, sec); err != nil {
			return Secret{}, err
		}
		return Secret{}, &whispersync.Error{
			Code:    whispersync.EINVALID,
			Message: fmt.Sprintf("secret %s was not rotated: only its owner%s can supply a new value, and a rotation-due finding now asks for one; get the new value from the service, then run whispersync secrets rotate %s --from-file FILE", sec.Name, contactSuffix(sec.Contact), sec.Name),
			Err:     ErrOwnerRotates,
		}
	}
	if err := s.audit(ctx, by, "secret.rotate", sec.Name, map[string]string{"version": fmt.Sprint(sec.Current() + 1), "hook": hook}); err != nil {
		return Secret{}, err
	}

	var err error
	switch hook {
	case TypeGenerate:
		value, err = s.generate()
	case TypeProvider:
		value, err = s.fromProvider(ctx, by, sec)
	}
	if err != nil {
		return Secret{}, err
	}
	defer clear(value)
	if err := validateValue(sec.Name, value); err != nil {
		return Secret{}, err
	}
	return s.putVersion(ctx, sec, false, value)
}

// fromProvider requests a new value from the secret's provider.
func (s *Store) fromProvider(ctx context.Context, by Actor, sec Secret) ([]byte, error) {
	p, ok := s.providers[sec.Provider]
	if !ok {
		return nil, whispersync.Errorf(whispersync.EINVALID, "secret %s names provider %q, which is not configured: set --type and --provider again with whispersync secrets set", sec.Name, sec.Provider)
	}
	current, _, err := s.Get(ctx, by, sec.Name, StageCurrent)
	if err != nil {
		return nil, err
	}
	defer clear(current)
	value, err := p.Rotate(ctx, sec.Name, current)
	if err != nil {
		// The message names only the secret and the provider; the cause is
		// for the operator's log.
		// NOTE: a provider must keep credentials out of its errors, since
		// the cause reaches the log.
		return nil, &whispersync.Error{Code: whispersync.EUNAVAILABLE, Message: fmt.Sprintf("provider %s failed to rotate secret %s: check the provider, then run whispersync secrets rotate %s again", sec.Provider, sec.Name, sec.Name), Err: err}
	}
	return value, nil
}

// Finding is a record that requests an action from a person.
type Finding struct {
	Kind      string    `json:"kind"`
	Severity  string    `json:"severity"`
	Resource  string    `json:"resource"`
	Message   string    `json:"message"`
	CreatedAt time.Time `json:"created_at"`
	// Secret, Version and Due name the secret, its version that is due and
	// since when; Contact is who rotates it. Findings recorded before these
	// fields existed lack them.
	Secret  string    `json:"secret,omitempty"`
	Version int       `json:"version,omitempty"`
	Due     time.Time `json:"due,omitzero"`
	Contact string    `json:"contact,omitempty"`
}

// FindingSink receives each rotation-due finding, so that it can join the
// findings that operators list and notifiers publish. It is called every
// time a secret is found due, also for a version already reported, so it
// must treat the same secret and version as the same finding.
type FindingSink func(ctx context.Context, f Finding) error

// SetFindingSink makes the store hand every rotation-due finding to sink
// after recording it; nil removes the sink. A sink that fails fails the
// rotation or the check that found the secret due.
func (s *Store) SetFindingSink(sink FindingSink) {
	if sink == nil {
		s.sink.Store(nil)
		return
	}
	s.sink.Store(&sink)
}

// FindingRotationDue is the kind of finding for a secret its owner must
// rotate.
const FindingRotationDue = "secret_rotation_due"

// notify records one finding per current version that a secret needs its
// owner, so repeated checks do not pile up findings, and hands it to the
// finding sink.
func (s *Store) notify(ctx context.Context, by Actor, sec Secret) (Finding, error) {
	if err := s.audit(ctx, by, "secret.rotation_due", sec.Name, map[string]string{"version": fmt.Sprint(sec.Current())}); err != nil {
		return Finding{}, err
	}
	f := Finding{
		Kind: FindingRotationDue, Severity: "medium", Resource: "secret:" + sec.Name, CreatedAt: s.now().UTC(),
		Message: fmt.Sprintf("secret %s is due for rotation since %s%s: store a new value with whispersync secrets rotate %s --from-file FILE", sec.Name, sec.NextRotation.Format(time.DateOnly), contactSuffix(sec.Contact), sec.Name),
		Secret:  sec.Name, Version: sec.Current(), Due: sec.NextRotation.UTC(), Contact: sec.Contact,
	}
	key := fmt.Sprintf("%s/%s/v%d", FindingRotationDue, sec.Name, sec.Current())
	sealed, err := seal.SealJSON(ctx, s.sealer, findingIdentity(key), whispersync.KeyClassData, f)
	if err != nil {
		return Finding{}, fmt.Errorf("secrets: %s finding: %w", seal.Step(err), err)
	}
	item := whispersync.Item{Owner: SystemOwner, Key: key, Data: sealed, Attrs: map[string]string{
		"kind": f.Kind, "severity": f.Severity, "resource": f.Resource, "created_at": f.CreatedAt.Format(time.RFC3339),
		whispersync.TagClassification: whispersync.ClassInternal,
	}}
	err = s.tables.PutItem(ctx, FindingsTable, item, whispersync.IfAbsent)
	if err != nil && !whispersync.IsConflict(err) {
		return Finding{}, fmt.Errorf("secrets: record finding: %w", err)
	}
	// The sink hears of a version already recorded too: an earlier call
	// may have failed after the record was written.
	if sink := s.sink.Load(); sink != nil {
		if err := (*sink)(ctx, f); err != nil {
			return Finding{}, fmt.Errorf("secrets: hand on the finding of %s: %w", sec.Name, err)
		}
	}
	return f, nil
}

// Findings lists the recorded findings, oldest key first.
func (s *Store) Findings(ctx context.Context) ([]Finding, error) {
	items, err := s.tables.Query(ctx, whispersync.Query{Table: FindingsTable, Owner: SystemOwner, Prefix: FindingRotationDue + "/"})
	if err != nil {
		return nil, fmt.Errorf("secrets: list findings: %w", err)
	}
	out := make([]Finding, 0, len(items))
	for _, item := range items {
		var f Finding
		if err := seal.OpenJSON(ctx, s.sealer, findingIdentity(item.Key), item.Data, &f); err != nil {
			return nil, fmt.Errorf("secrets: %s finding %s: %w", seal.Step(err), item.Key, err)
		}
		out = append(out, f)
	}
	return out, nil
}

// CheckResult lists the secrets that CheckRotations rotated, notified about
// or failed on.
type CheckResult struct {
	Rotated  []string `json:"rotated"`
	Notified []string `json:"notified"`
	Failed   []string `json:"failed"`
	// Overdue counts the secrets still overdue afterwards.
	Overdue int `json:"overdue"`
}

// CheckRotations rotates every overdue secret whose hook can, and records a
// finding for the others. A failing secret is logged and counted, and does
// not stop the others.
func (s *Store) CheckRotations(ctx context.Context, by Actor) (CheckResult, error) {
	all, err := s.list(ctx)
	if err != nil {
		return CheckResult{}, err
	}
	var res CheckResult
	for _, sec := range all {
		if !sec.Overdue {
			continue
		}
		switch sec.Type {
		case TypeNotify:
			_, err = s.notify(ctx, by, sec)
			if err == nil {
				res.Notified = append(res.Notified, sec.Name)
				res.Overdue++
				s.log.Warn("secret rotation due: its owner must supply a new value", "secret", sec.Name, "version", sec.Current(), "due", sec.NextRotation.Format(time.RFC3339))
			}
		default:
			_, err = s.rotate(ctx, by, sec, nil)
			if err == nil {
				res.Rotated = append(res.Rotated, sec.Name)
			}
		}
		if err != nil {
			res.Failed = append(res.Failed, sec.Name)
			res.Overdue++
			s.log.Error("scheduled secret rotation failed", "secret", sec.Name, "err", err)
		}
	}
	s.overdue.Store(int64(res.Overdue))
	return res, nil
}

func contactSuffix(contact string) string {
	if contact == "" {
		return ""
	}
	return " (" + contact + ")"
}

func findingIdentity(key string) seal.Identity {
	return seal.Identity{Owner: SystemOwner, Kind: FindingsTable, ID: key}
}

// LocalProvider is a Provider that issues random credentials itself, for
// tests and for offline setups that stand in for a real service. It
// remembers which secrets it rotated.
type LocalProvider struct {
	mu      sync.Mutex
	rotated []string
}

// NewLocalProvider returns a LocalProvider.
func NewLocalProvider() *LocalProvider { return &LocalProvider{} }

// Rotate returns a new random value.
func (p *LocalProvider) Rotate(ctx context.Context, name string, current []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(current) == 0 {
		return nil, fmt.Errorf("local provider: secret %s has no current value to replace", name)
	}
	value, err := (&Store{rand: rand.Reader}).generate()
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.rotated = append(p.rotated, name)
	p.mu.Unlock()
	return append([]byte("local-"), value...), nil
}

// Rotated lists the names rotated so far, in order.
func (p *LocalProvider) Rotated() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.rotated...)
}
