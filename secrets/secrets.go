package secrets

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/seal"
)

// Tables and owner of the store's items.
const (
	// Table holds one metadata item per secret, keyed by name.
	Table = "secrets"
	// VersionsTable holds the sealed values, keyed by name, "#" and the
	// version as ten decimal digits.
	VersionsTable = "secret_versions"
	// FindingsTable holds findings such as a rotation the owner must do.
	FindingsTable = "secret_findings"
	// SystemOwner is the partition of items that belong to no user.
	SystemOwner = "_system"
)

// Stages of a version, named as in AWS Secrets Manager so scripts written
// for it read alike.
const (
	StageCurrent  = "AWSCURRENT"
	StagePrevious = "AWSPREVIOUS"
)

// Types of secret: how a rotation gets a new value.
const (
	TypeGenerate = "generate"
	TypeProvider = "provider"
	TypeNotify   = "notify"
)

// Limits and defaults.
const (
	// DefaultRotation is the rotation period of a secret that sets none.
	DefaultRotation = 30 * 24 * time.Hour
	// MaxValueSize bounds a value; the largest expected, a PEM key, is far
	// below it.
	MaxValueSize = 64 << 10
	// maxNameLength bounds a name, so names fit in item keys.
	maxNameLength = 128
	// generatedSize is the number of random bytes of a generated value.
	generatedSize = 32
)

// Provider issues a new credential for a secret of TypeProvider, as a
// rotation function of AWS Secrets Manager calls the service that owns the
// credential.
type Provider interface {
	// Rotate returns a new value replacing current. It must not return
	// before the new value works, since it becomes current at once.
	Rotate(ctx context.Context, name string, current []byte) ([]byte, error)
}

// Sealer seals and opens the store's items.
type Sealer = seal.SealOpener

// Actor is the caller of an operation, as the audit trail names it.
type Actor struct {
	Principal string
	Source    string
}

// Options configures a Store. Tables, Sealer and Auditor are required.
type Options struct {
	Tables  whispersync.Tables
	Sealer  Sealer
	Auditor whispersync.Auditor
	// Providers maps a provider name to the Provider that rotates secrets
	// naming it.
	Providers map[string]Provider
	// Rand is the source of generated values; crypto/rand.Reader when nil.
	Rand   io.Reader
	Now    func() time.Time
	Logger *slog.Logger
}

// Store is the secret store. It is safe for concurrent use.
type Store struct {
	tables    whispersync.Tables
	sealer    Sealer
	auditor   whispersync.Auditor
	providers map[string]Provider
	rand      io.Reader
	now       func() time.Time
	log       *slog.Logger
	overdue   atomic.Int64
	sink      atomic.Pointer[FindingSink]
}

// New returns a Store.
func New(opts Options) (*Store, error) {
	if opts.Tables == nil || opts.Sealer == nil || opts.Auditor == nil {
		return nil, fmt.Errorf("secrets: new store: tables, sealer and auditor are required")
	}
	s := &Store{tables: opts.Tables, sealer: opts.Sealer, auditor: opts.Auditor, providers: opts.Providers, rand: opts.Rand, now: opts.Now, log: opts.Logger}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("component", "secrets")
	return s, nil
}

// Secret describes a secret without its value.
type Secret struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	Provider    string `json:"provider,omitempty"`
	Contact     string `json:"contact,omitempty"`
	Description string `json:"description,omitempty"`
	// RotationPeriod is how long a version stays current before the
	// secret is overdue.
	RotationPeriod time.Duration `json:"rotation_period"`
	// Versions lists the live versions, newest first.
	Versions  []Version `json:"versions"`
	CreatedAt time.Time `json:"created_at"`
	RotatedAt time.Time `json:"rotated_at"`
	// NextRotation is RotatedAt plus RotationPeriod; Overdue is set when
	// it has passed.
	NextRotation time.Time `json:"next_rotation"`
	Overdue      bool      `json:"overdue"`

	revision int64
}

// Version is one version of a secret.
type Version struct {
	Version   int       `json:"version"`
	Stages    []string  `json:"stages"`
	CreatedAt time.Time `json:"created_at"`
}

// Current returns the version number staged StageCurrent.
func (s Secret) Current() int {
	if len(s.Versions) == 0 {
		return 0
	}
	return s.Versions[0].Version
}

// SetOptions are the metadata of Set. Zero fields keep the stored value, or
// take the default for a new secret: TypeNotify and DefaultRotation.
type SetOptions struct {
	Type           string
	Provider       string
	Contact        string
	Description    string
	RotationPeriod time.Duration
}

// ValidateName checks a secret name: 1 to 128 lowercase letters, digits,
// '.', '_' and '-', starting with a letter or digit. The error does not
// repeat the name, in case a value was typed where the name belongs.
func ValidateName(name string) error {
	ok := len(name) > 0 && len(name) <= maxNameLength
	for i := 0; ok && i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '.' || c == '_' || c == '-') && i > 0:
		default:
			ok = false
		}
	}
	if !ok {
		return whispersync.Errorf(whispersync.EINVALID, "invalid secret name (%d bytes): use 1 to %d lowercase letters, digits, '.', '_' or '-', starting with a letter or digit, such as elevenlabs-api-key", len(name), maxNameLength)
	}
	return nil
}

func validateType(typ, provider string, providers map[string]Provider) error {
	switch typ {
	case TypeGenerate, TypeNotify:
		if provider != "" {
			return whispersync.Errorf(whispersync.EINVALID, "a provider is set for a secret of type %s: set --provider only with --type provider", typ)
		}
		return nil
	case TypeProvider:
		if _, ok := providers[provider]; !ok {
			return whispersync.Errorf(whispersync.EINVALID, "unknown provider %q: use one of %v", provider, slices.Sorted(maps.Keys(providers)))
		}
		return nil
	}
	return whispersync.Errorf(whispersync.EINVALID, "unknown secret type %q: use generate, provider or notify", typ)
}

func validateValue(name string, value []byte) error {
	if len(value) == 0 {
		return whispersync.Errorf(whispersync.EINVALID, "the value for secret %s is empty: pipe the value on stdin or pass --from-file FILE", name)
	}
	if len(value) > MaxValueSize {
		return whispersync.Errorf(whispersync.ETOOLARGE, "the value for secret %s has %d bytes, more than the %d allowed: store a reference to a file instead", name, len(value), MaxValueSize)
	}
	return nil
}

// Set stores value as the new current version of the secret name, creating
// the secret when it is missing. A nil value for a secret of TypeGenerate
// stores a generated one.
func (s *Store) Set(ctx context.Context, by Actor, name string, value []byte, opts SetOptions) (Secret, error) {
	if err := ValidateName(name); err != nil {
		return Secret{}, err
	}
	if value == nil && opts.Type == TypeGenerate {
		var err error
		if value, err = s.generate(); err != nil {
			return Secret{}, err
		}
		defer clear(value)
	}
	if err := validateValue(name, value); err != nil {
		return Secret{}, err
	}
	if opts.RotationPeriod < 0 {
		return Secret{}, whispersync.Errorf(whispersync.EINVALID, "rotation period %s for secret %s is negative: use a positive duration such as 720h", opts.RotationPeriod, name)
	}

	sec, err := s.get(ctx, name)
	created := whispersync.IsNotFound(err)
	if err != nil && !created {
		return Secret{}, err
	}
	if created {
		sec = Secret{Name: name, Type: TypeNotify, RotationPeriod: DefaultRotation, CreatedAt: s.now().UTC()}
	}
	sec.Type = cmp.Or(opts.Type, sec.Type)
	if opts.Type != "" && opts.Type != TypeProvider {
		sec.Provider = ""
	}
	sec.Provider = cmp.Or(opts.Provider, sec.Provider)
	sec.Contact = cmp.Or(opts.Contact, sec.Contact)
	sec.Description = cmp.Or(opts.Description, sec.Description)
	if opts.RotationPeriod > 0 {
		sec.RotationPeriod = opts.RotationPeriod
	}
	if err := validateType(sec.Type, sec.Provider, s.providers); err != nil {
		return Secret{}, err
	}

	action := "secret.put_value"
	if created {
		action = "secret.create"
	}
	if err := s.audit(ctx, by, action, name, map[string]string{"version": strconv.Itoa(sec.Current() + 1), "type": sec.Type}); err != nil {
		return Secret{}, err
	}
	return s.putVersion(ctx, sec, created, value)
}

// putVersion stores value as the next version of sec and moves the stages.
func (s *Store) putVersion(ctx context.Context, sec Secret, created bool, value []byte) (Secret, error) {
	now := s.now().UTC()
	next := sec.Current() + 1
	var writes []whispersync.Write
	for _, v := range sec.Versions[min(1, len(sec.Versions)):] {
		// Only the version that was current stays, as the previous one.
		writes = append(writes, whispersync.Write{Table: VersionsTable, Item: whispersync.Item{Owner: SystemOwner, Key: versionKey(sec.Name, v.Version)}, Delete: true})
	}
	live := []Version{{Version: next, Stages: []string{StageCurrent}, CreatedAt: now}}
	if len(sec.Versions) > 0 {
		prev := sec.Versions[0]
		prev.Stages = []string{StagePrevious}
		live = append(live, prev)
	}
	sec.Versions, sec.RotatedAt = live, now
	s.schedule(&sec)

	sealed, err := s.sealer.Seal(ctx, valueIdentity(sec.Name, next), whispersync.KeyClassData, value)
	if err != nil {
		return Secret{}, fmt.Errorf("secrets: seal %s version %d: %w", sec.Name, next, err)
	}
	meta, err := s.metaItem(ctx, sec)
	if err != nil {
		return Secret{}, err
	}
	cond := whispersync.IfRevision
	if created {
		cond = whispersync.IfAbsent
	}
	writes = append(writes,
		whispersync.Write{Table: Table, Item: meta, Condition: cond},
		whispersync.Write{Table: VersionsTable, Item: whispersync.Item{Owner: SystemOwner, Key: versionKey(sec.Name, next), Attrs: map[string]string{whispersync.TagClassification: whispersync.ClassSensitive}, Data: sealed}, Condition: whispersync.IfAbsent},
	)
	if err := s.tables.TransactWrite(ctx, writes); err != nil {
		if whispersync.IsConflict(err) {
			return Secret{}, whispersync.Errorf(whispersync.ECONFLICT, "secret %s was changed by someone else at the same time: run the command again", sec.Name)
		}
		return Secret{}, fmt.Errorf("secrets: store %s version %d: %w", sec.Name, next, err)
	}
	s.log.Info("secret version stored", "secret", sec.Name, "version", next)
	sec.revision = meta.Revision + 1
	return sec, nil
}

// Get returns the value of the version of name at stage (StageCurrent when
// empty) and the secret's metadata.
func (s *Store) Get(ctx context.Context, by Actor, name, stage string) ([]byte, Secret, error) {
	if err := ValidateName(name); err != nil {
		return nil, Secret{}, err
	}
	stage = cmp.Or(stage, StageCurrent)
	if stage != StageCurrent && stage != StagePrevious {
		return nil, Secret{}, whispersync.Errorf(whispersync.EINVALID, "unknown stage %q: use %s or %s", stage, StageCurrent, StagePrevious)
	}
	sec, err := s.get(ctx, name)
	if err != nil {
		return nil, Secret{}, err
	}
	version := 0
	for _, v := range sec.Versions {
		if slices.Contains(v.Stages, stage) {
			version = v.Version
		}
	}
	if version == 0 {
		return nil, Secret{}, whispersync.Errorf(whispersync.ENOTFOUND, "secret %s has no version at stage %s: it was never rotated", name, stage)
	}
	if err := s.audit(ctx, by, "secret.get_value", name, map[string]string{"version": strconv.Itoa(version), "stage": stage}); err != nil {
		return nil, Secret{}, err
	}
	item, err := s.tables.GetItem(ctx, VersionsTable, SystemOwner, versionKey(name, version))
	if err != nil {
		return nil, Secret{}, fmt.Errorf("secrets: read %s version %d: %w", name, version, err)
	}
	value, err := s.sealer.Open(ctx, valueIdentity(name, version), item.Data)
	if err != nil {
		return nil, Secret{}, fmt.Errorf("secrets: open %s version %d: %w", name, version, err)
	}
	return value, sec, nil
}

// Describe returns the metadata of name.
func (s *Store) Describe(ctx context.Context, by Actor, name string) (Secret, error) {
	if err := ValidateName(name); err != nil {
		return Secret{}, err
	}
	if err := s.audit(ctx, by, "secret.describe", name, nil); err != nil {
		return Secret{}, err
	}
	return s.get(ctx, name)
}

// List returns every secret's metadata by name, and updates the count of
// overdue rotations.
func (s *Store) List(ctx context.Context, by Actor) ([]Secret, error) {
	if err := s.audit(ctx, by, "secret.list", "", nil); err != nil {
		return nil, err
	}
	return s.list(ctx)
}

func (s *Store) list(ctx context.Context) ([]Secret, error) {
	var out []Secret
	after := ""
	for {
		items, err := s.tables.Query(ctx, whispersync.Query{Table: Table, Owner: SystemOwner, After: after, Limit: 100})
		if err != nil {
			return nil, fmt.Errorf("secrets: list: %w", err)
		}
		for _, item := range items {
			sec, err := s.decodeMeta(ctx, item)
			if err != nil {
				return nil, err
			}
			out = append(out, sec)
		}
		if len(items) < 100 {
			break
		}
		after = items[len(items)-1].Key
	}
	overdue := 0
	for _, sec := range out {
		if sec.Overdue {
			overdue++
		}
	}
	s.overdue.Store(int64(overdue))
	return out, nil
}

// OverdueRotations is the number of overdue secrets found by the last List
// or CheckRotations, for the metrics endpoint.
func (s *Store) OverdueRotations() int { return int(s.overdue.Load()) }

// Delete removes a secret and every version of it.
func (s *Store) Delete(ctx context.Context, by Actor, name string) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	sec, err := s.get(ctx, name)
	if err != nil {
		return err
	}
	if err := s.audit(ctx, by, "secret.delete", name, nil); err != nil {
		return err
	}
	writes := []whispersync.Write{{Table: Table, Item: whispersync.Item{Owner: SystemOwner, Key: name, Revision: sec.revision}, Condition: whispersync.IfRevision, Delete: true}}
	for _, v := range sec.Versions {
		writes = append(writes, whispersync.Write{Table: VersionsTable, Item: whispersync.Item{Owner: SystemOwner, Key: versionKey(name, v.Version)}, Delete: true})
	}
	if err := s.tables.TransactWrite(ctx, writes); err != nil {
		if whispersync.IsConflict(err) {
			return whispersync.Errorf(whispersync.ECONFLICT, "secret %s was changed by someone else at the same time: run the command again", name)
		}
		return fmt.Errorf("secrets: delete %s: %w", name, err)
	}
	s.log.Info("secret deleted", "secret", name)
	return nil
}

// get reads the metadata of name.
func (s *Store) get(ctx context.Context, name string) (Secret, error) {
	item, err := s.tables.GetItem(ctx, Table, SystemOwner, name)
	if whispersync.IsNotFound(err) {
		return Secret{}, whispersync.Errorf(whispersync.ENOTFOUND, "no secret named %s: run whispersync secrets list for the names, or create it with whispersync secrets set %s", name, name)
	}
	if err != nil {
		return Secret{}, fmt.Errorf("secrets: read %s: %w", name, err)
	}
	return s.decodeMeta(ctx, item)
}

func (s *Store) metaItem(ctx context.Context, sec Secret) (whispersync.Item, error) {
	sealed, err := seal.SealJSON(ctx, s.sealer, metaIdentity(sec.Name), whispersync.KeyClassData, sec)
	if err != nil {
		return whispersync.Item{}, fmt.Errorf("secrets: %s %s: %w", seal.Step(err), sec.Name, err)
	}
	attrs := map[string]string{
		"type":                        sec.Type,
		"current_version":             strconv.Itoa(sec.Current()),
		"next_rotation":               sec.NextRotation.Format(time.RFC3339),
		whispersync.TagClassification: whispersync.ClassInternal,
	}
	return whispersync.Item{Owner: SystemOwner, Key: sec.Name, Attrs: attrs, Data: sealed, Revision: sec.revision}, nil
}

func (s *Store) decodeMeta(ctx context.Context, item whispersync.Item) (Secret, error) {
	var sec Secret
	err := seal.OpenJSON(ctx, s.sealer, metaIdentity(item.Key), item.Data, &sec)
	switch {
	case seal.Step(err) == seal.StepOpen:
		return Secret{}, fmt.Errorf("secrets: open %s: %w", item.Key, err)
	case err != nil || sec.Name != item.Key:
		return Secret{}, fmt.Errorf("secrets: decode %s: invalid metadata", item.Key)
	}
	sec.revision = item.Revision
	s.schedule(&sec)
	return sec, nil
}

// schedule sets NextRotation and Overdue from the rotation date and period.
func (s *Store) schedule(sec *Secret) {
	if sec.RotationPeriod <= 0 {
		sec.RotationPeriod = DefaultRotation
	}
	sec.NextRotation = sec.RotatedAt.Add(sec.RotationPeriod)
	sec.Overdue = !s.now().Before(sec.NextRotation)
}

func (s *Store) audit(ctx context.Context, by Actor, action, name string, detail map[string]string) error {
	resource := "secrets"
	if name != "" {
		resource = "secret:" + name
	}
	err := s.auditor.Append(ctx, whispersync.AuditEvent{
		Time: s.now().UTC(), Principal: by.Principal, Source: by.Source,
		Action: action, Resource: resource, Outcome: whispersync.OutcomeSuccess, Detail: detail,
	})
	if err != nil {
		return &whispersync.Error{Code: whispersync.EUNAVAILABLE, Message: "the audit trail cannot be written, so the operation was not carried out: the operator must check the audit folder", Err: err}
	}
	return nil
}

// generate returns a random value: 32 bytes as unpadded base64url.
func (s *Store) generate() ([]byte, error) {
	raw := make([]byte, generatedSize)
	if _, err := io.ReadFull(s.rand, raw); err != nil {
		return nil, fmt.Errorf("secrets: generate value: %w", err)
	}
	defer clear(raw)
	out := make([]byte, base64.RawURLEncoding.EncodedLen(len(raw)))
	base64.RawURLEncoding.Encode(out, raw)
	return out, nil
}

func versionKey(name string, version int) string { return fmt.Sprintf("%s#%010d", name, version) }

func valueIdentity(name string, version int) seal.Identity {
	return seal.Identity{Owner: SystemOwner, Kind: VersionsTable, ID: name, Version: version}
}

func metaIdentity(name string) seal.Identity {
	return seal.Identity{Owner: SystemOwner, Kind: Table, ID: name}
}
