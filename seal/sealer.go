package seal

import (
	"context"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/whispersync/whispersync"
)

// DataKeysTable is the table of wrapped data keys: the owner is the user
// id, and the sort key is the key class, "#" and the generation in decimal,
// such as "pii#1".
const DataKeysTable = "data_keys"

// DefaultKeyID names the key-encryption key that wraps data keys when
// SealerOptions.KeyID is empty.
const DefaultKeyID = "alias/whispersync"

// firstGeneration is the generation of an owner's first data key of each
// class. Blind indexes and keyed hashes always use it, since they must stay
// comparable for as long as the data they index.
const firstGeneration = 1

// Default cache bounds. One hour matches the data-key reuse period of the
// queue, so a key unwrapped by the key service is reused at most that long.
// The use bound keeps one cached key well below the 2^32 random nonces a
// data key may seal (see the package documentation) even at high rates.
const (
	DefaultCacheKeys    = 1000
	DefaultCacheMaxAge  = time.Hour
	DefaultCacheMaxUses = 1 << 20
)

// SealerOptions configures a Sealer. The zero value selects the defaults.
type SealerOptions struct {
	// KeyID names the key-encryption key passed to GenerateDataKey;
	// DefaultKeyID when empty.
	KeyID string
	// CacheKeys bounds how many unwrapped data keys stay in memory;
	// DefaultCacheKeys when 0 or less.
	CacheKeys int
	// CacheMaxAge bounds how long an unwrapped data key stays in memory;
	// DefaultCacheMaxAge when 0 or less.
	CacheMaxAge time.Duration
	// CacheMaxUses bounds how many operations a cached data key serves
	// before it is zeroed and unwrapped again; DefaultCacheMaxUses when 0 or
	// less.
	CacheMaxUses int
	// DataKeyRotation is how long a data key generation seals new records:
	// after it, Seal creates the owner's next generation, and older ones
	// keep opening what they sealed. 0 keeps generation 1 for good.
	DataKeyRotation time.Duration
	// Rand is the source of nonces; crypto/rand.Reader when nil. Only tests
	// that need known-answer vectors set it.
	Rand io.Reader
	// Now is the clock of the cache; time.Now when nil.
	Now func() time.Time
	// Logger receives key creation and shredding events, never key bytes
	// or record content; slog.Default() when nil.
	Logger *slog.Logger
}

// Sealer encrypts records under their owner's data keys. It is safe for
// concurrent use.
type Sealer struct {
	keys   whispersync.KeyService
	tables whispersync.Tables
	keyID  string
	rand   io.Reader
	now    func() time.Time
	log    *slog.Logger
	cache  *keyCache

	metrics usageCounters
	gens    generations
}

// NewSealer returns a Sealer that wraps data keys with keys and stores them
// in tables.
func NewSealer(keys whispersync.KeyService, tables whispersync.Tables, opts SealerOptions) *Sealer {
	s := &Sealer{keys: keys, tables: tables, keyID: opts.KeyID, rand: opts.Rand, now: opts.Now, log: opts.Logger}
	if s.keyID == "" {
		s.keyID = DefaultKeyID
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("component", "seal")
	if opts.CacheKeys <= 0 {
		opts.CacheKeys = DefaultCacheKeys
	}
	if opts.CacheMaxAge <= 0 {
		opts.CacheMaxAge = DefaultCacheMaxAge
	}
	if opts.CacheMaxUses <= 0 {
		opts.CacheMaxUses = DefaultCacheMaxUses
	}
	s.cache = newKeyCache(opts.CacheKeys, opts.CacheMaxAge, int64(opts.CacheMaxUses), s.now)
	s.SetDataKeyRotation(opts.DataKeyRotation)
	return s
}

// Seal encrypts plaintext for the record id under the owner's data key of
// class (whispersync.KeyClassData or whispersync.KeyClassPII), creating that
// key on first use. The result opens only with the same id.
func (s *Sealer) Seal(ctx context.Context, id Identity, class string, plaintext []byte) ([]byte, error) {
	if err := validateIdentity(id); err != nil {
		return nil, err
	}
	if err := validateClass(class); err != nil {
		return nil, err
	}
	generation, err := s.generation(ctx, id.Owner, class)
	if err != nil {
		return nil, opError("seal record", err)
	}
	key := dataKeyID{owner: id.Owner, class: class, generation: generation}

	nonce := make([]byte, nonceSize)
	if _, err := io.ReadFull(s.rand, nonce); err != nil {
		return nil, fmt.Errorf("seal: generate nonce: %w", err)
	}
	headerSize := len(envelopeMagic) + 1 + 1 + len(class) + 2 + len(id.Owner) + 4 + nonceSize
	header := appendEnvelopeHeader(make([]byte, 0, headerSize+len(plaintext)+tagSize), key, nonce)
	ad := appendIdentity(slices.Clip(header), id)

	var sealed []byte
	err = s.withKey(ctx, key, true, func(k *dataKey) error {
		sealed = k.aead.Seal(header, nonce, plaintext, ad)
		return nil
	})
	s.metrics.count(dataKeyUsageID(class), OpSeal)
	if err != nil {
		return nil, opError("seal record", err)
	}
	return sealed, nil
}

// Open decrypts a ciphertext made by Seal for the same id. A ciphertext that
// was altered, that belongs to another record, or whose data key was
// shredded fails with an EINTERNAL error that wraps ErrDecrypt.
func (s *Sealer) Open(ctx context.Context, id Identity, ciphertext []byte) ([]byte, error) {
	if err := validateIdentity(id); err != nil {
		return nil, err
	}
	env, ok := parseEnvelope(ciphertext)
	// The header names the owner of the data key. Opening under another
	// owner's key would fail authentication anyway; refusing early keeps
	// one user's request from unwrapping another user's key.
	if !ok || env.key.owner != id.Owner || validateClass(env.key.class) != nil {
		return nil, decryptFailure()
	}
	ad := appendIdentity(slices.Clip(env.header), id)

	s.metrics.count(dataKeyUsageID(env.key.class), OpOpen)
	var plaintext []byte
	err := s.withKey(ctx, env.key, false, func(k *dataKey) error {
		var err error
		plaintext, err = k.aead.Open(nil, env.nonce, env.ciphertext, ad)
		if err != nil {
			return ErrDecrypt
		}
		return nil
	})
	if err != nil {
		return nil, opError("open record", err)
	}
	return plaintext, nil
}

// BlindIndex returns the HMAC-SHA256 of term under a subkey of the owner's
// PII data key, as unpadded base64url: equal terms of one owner give equal
// indexes, and the index reveals nothing without the key. The term is used
// byte for byte, so the caller normalizes it first.
func (s *Sealer) BlindIndex(ctx context.Context, owner, term string) (string, error) {
	if err := validateOwner(owner); err != nil {
		return "", err
	}
	key := dataKeyID{owner: owner, class: whispersync.KeyClassPII, generation: firstGeneration}
	s.metrics.count(dataKeyUsageID(key.class), OpBlindIndex)
	var index string
	err := s.withKey(ctx, key, true, func(k *dataKey) error {
		index = keyedMAC(k.raw, "whispersync blind index v1", []byte(term))
		return nil
	})
	if err != nil {
		return "", opError("blind index", err)
	}
	return index, nil
}

// KeyedHash returns the HMAC-SHA256 of data under a subkey of the owner's
// data-class key derived for purpose, as unpadded base64url, for detecting
// duplicates without storing the data.
func (s *Sealer) KeyedHash(ctx context.Context, owner, purpose string, data []byte) (string, error) {
	if err := validateOwner(owner); err != nil {
		return "", err
	}
	if purpose == "" {
		return "", whispersync.Errorf(whispersync.EINVALID, "keyed hash purpose is empty: name what the hash is for")
	}
	key := dataKeyID{owner: owner, class: whispersync.KeyClassData, generation: firstGeneration}
	s.metrics.count(dataKeyUsageID(key.class), OpKeyedHash)
	var hash string
	err := s.withKey(ctx, key, true, func(k *dataKey) error {
		hash = keyedMAC(k.raw, "whispersync keyed hash v1\x00"+purpose, data)
		return nil
	})
	if err != nil {
		return "", opError("keyed hash", err)
	}
	return hash, nil
}

// ShredUser deletes the owner's wrapped data keys and evicts them from the
// cache, so every ciphertext sealed for the owner fails to open from then
// on, backups included (crypto-shredding). The caller stops the owner's
// other requests first: a Seal that runs at the same time may create a
// fresh key.
func (s *Sealer) ShredUser(ctx context.Context, owner string) error {
	if err := validateOwner(owner); err != nil {
		return err
	}
	const page = 100
	deleted := 0
	after := ""
	for {
		items, err := s.tables.Query(ctx, whispersync.Query{Table: DataKeysTable, Owner: owner, After: after, Limit: page})
		if err != nil {
			return fmt.Errorf("seal: shred user: list data keys: %w", err)
		}
		for _, item := range items {
			if err := s.tables.DeleteItem(ctx, DataKeysTable, owner, item.Key); err != nil {
				return fmt.Errorf("seal: shred user: delete data key: %w", err)
			}
			deleted++
		}
		if len(items) < page {
			break
		}
		after = items[len(items)-1].Key
	}

	s.cache.evictOwner(owner)
	s.gens.forget(owner)
	s.log.Info("data keys shredded", "user_id", owner, "keys", deleted)
	return nil
}

// Close zeroes every cached data key. The Sealer stays usable and unwraps
// keys again as needed.
func (s *Sealer) Close() {
	s.cache.evictAll()
}

// withKey runs fn with the data key id, taken from the cache or else loaded
// from the table. With create set, a missing key is generated and stored
// first. fn must not keep the key after it returns.
func (s *Sealer) withKey(ctx context.Context, id dataKeyID, create bool, fn func(k *dataKey) error) error {
	for {
		k, cached := s.cache.get(id), true
		if k == nil {
			var err error
			k, cached, err = s.load(ctx, id, create)
			if err != nil {
				return err
			}
		}

		k.mu.RLock()
		if k.zeroed {
			// Evicted between the lookup and now: look it up again.
			k.mu.RUnlock()
			continue
		}
		err := fn(k)
		k.mu.RUnlock()
		if !cached {
			k.destroy()
		}
		return err
	}
}

// load fetches and unwraps a data key and offers it to the cache.
func (s *Sealer) load(ctx context.Context, id dataKeyID, create bool) (*dataKey, bool, error) {
	epoch := s.cache.currentEpoch()
	raw, err := s.fetch(ctx, id, create)
	if err != nil {
		return nil, false, err
	}
	k, cached := s.cache.put(newDataKey(id, raw, s.now()), epoch)
	return k, cached, nil
}

func (s *Sealer) fetch(ctx context.Context, id dataKeyID, create bool) ([]byte, error) {
	item, err := s.tables.GetItem(ctx, DataKeysTable, id.owner, id.itemKey())
	switch {
	case err == nil:
		return s.unwrap(ctx, id, item.Data)
	case !whispersync.IsNotFound(err):
		return nil, fmt.Errorf("load data key: %w", err)
	case !create:
		// Never created, or shredded: either way nothing can open.
		return nil, ErrDecrypt
	}
	return s.create(ctx, id)
}

// create generates the data key id and stores it wrapped, unless another
// goroutine or process stored it first, in which case that key is used.
func (s *Sealer) create(ctx context.Context, id dataKeyID) ([]byte, error) {
	dk, err := s.keys.GenerateDataKey(ctx, s.keyID, id.encryptionContext())
	if err != nil {
		return nil, fmt.Errorf("generate data key: %w", err)
	}
	s.countKEK(dk.Ciphertext, OpGenerateDataKey)
	item := whispersync.Item{
		Owner: id.owner,
		Key:   id.itemKey(),
		Attrs: map[string]string{
			"key_id":                      dk.KeyID,
			"created_at":                  s.now().UTC().Format(time.RFC3339),
			whispersync.TagClassification: whispersync.ClassSensitive,
		},
		Data: dk.Ciphertext,
	}
	err = s.tables.PutItem(ctx, DataKeysTable, item, whispersync.IfAbsent)
	if err == nil {
		s.log.Info("data key created", "user_id", id.owner, "key_class", id.class, "generation", id.generation)
		s.catchUp(ctx, id)
		return dk.Plaintext, nil
	}
	zero(dk.Plaintext)
	if !whispersync.IsConflict(err) {
		return nil, fmt.Errorf("store data key: %w", err)
	}

	s.log.Debug("data key created concurrently, using the stored one", "user_id", id.owner, "key_class", id.class)
	item, err = s.tables.GetItem(ctx, DataKeysTable, id.owner, id.itemKey())
	if err != nil {
		return nil, fmt.Errorf("load data key: %w", err)
	}
	return s.unwrap(ctx, id, item.Data)
}

// catchUp rewraps a data key just stored when a rotation made its KEK
// version old while it was being generated: a rewrap pass that had already
// visited the owner would otherwise miss it. Failing that, the key still
// opens, and the next pass or a refused retirement names it.
func (s *Sealer) catchUp(ctx context.Context, id dataKeyID) {
	re, ok := s.keys.(ReEncrypter)
	if !ok {
		return
	}
	if r, ok := s.keys.(interface{ Refresh() error }); ok {
		if err := r.Refresh(); err != nil {
			s.log.Warn("key file check after creating a data key failed", "err", err)
			return
		}
	}
	item, err := s.tables.GetItem(ctx, DataKeysTable, id.owner, id.itemKey())
	if err != nil {
		s.log.Warn("reading a new data key back failed", "user_id", id.owner, "err", err)
		return
	}
	p := RewrapProgress{Target: re.CurrentVersion()}
	if err := s.rewrapItem(ctx, re, item, &p); err != nil {
		s.log.Warn("rewrapping a new data key failed; the next rewrap pass retries", "user_id", id.owner, "err", err)
	}
}

func (s *Sealer) unwrap(ctx context.Context, id dataKeyID, wrapped []byte) ([]byte, error) {
	s.countKEK(wrapped, OpDecrypt)
	raw, err := s.keys.Decrypt(ctx, wrapped, id.encryptionContext())
	if errors.Is(err, ErrDecrypt) {
		version, _ := WrappedVersion(wrapped)
		s.log.Warn("stored data key failed to unwrap: the key file lacks the key-encryption key version that wraps it (retired, or another key file), or the data_keys table or the key file was altered",
			"user_id", id.owner, "key_class", id.class, "generation", id.generation, "kek_version", version)
		return nil, ErrDecrypt
	}
	if err != nil {
		return nil, fmt.Errorf("unwrap data key: %w", err)
	}
	if len(raw) != dataKeySize {
		zero(raw)
		return nil, fmt.Errorf("unwrap data key: key service returned %d bytes, want %d", len(raw), dataKeySize)
	}
	return raw, nil
}

// countKEK counts op under the KEK version named by wrapped.
func (s *Sealer) countKEK(wrapped []byte, op string) {
	v, _ := WrappedVersion(wrapped) // another key service's format counts as version 0
	s.metrics.count(s.keyID+kekSuffix(v), op)
}

// opError turns an error of withKey into the error of operation op.
func opError(op string, err error) error {
	if errors.Is(err, ErrDecrypt) {
		return decryptFailure()
	}
	return fmt.Errorf("seal: %s: %w", op, err)
}

// decryptFailure is the one error of every failed authentication.
func decryptFailure() error {
	return &whispersync.Error{
		Code:    whispersync.EINTERNAL,
		Message: "stored data failed authentication: it was altered or belongs to another record",
		Err:     ErrDecrypt,
	}
}

func (id dataKeyID) itemKey() string {
	return id.class + "#" + strconv.FormatUint(uint64(id.generation), 10)
}

func (id dataKeyID) encryptionContext() map[string]string {
	return map[string]string{"owner": id.owner, "class": id.class}
}

// keyedMAC returns the unpadded base64url HMAC-SHA256 of data under the
// subkey of key derived with HKDF-SHA256 for info.
func keyedMAC(key []byte, info string, data []byte) string {
	subkey, err := hkdf.Key(sha256.New, key, nil, info, 32)
	if err != nil {
		panic("seal: " + err.Error())
	}
	defer zero(subkey)
	mac := hmac.New(sha256.New, subkey)
	mac.Write(data)
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func validateIdentity(id Identity) error {
	if err := validateOwner(id.Owner); err != nil {
		return err
	}
	if id.Kind == "" || id.ID == "" {
		return whispersync.Errorf(whispersync.EINVALID, "record identity needs a kind and an id: got kind %q, id %q", id.Kind, id.ID)
	}
	return nil
}

func validateOwner(owner string) error {
	if owner == "" || len(owner) > maxOwnerLength {
		return whispersync.Errorf(whispersync.EINVALID, "owner id must be 1 to %d bytes long: got %d bytes", maxOwnerLength, len(owner))
	}
	return nil
}

func validateClass(class string) error {
	if class != whispersync.KeyClassData && class != whispersync.KeyClassPII {
		return whispersync.Errorf(whispersync.EINVALID, "unknown key class %q: use %q or %q", class, whispersync.KeyClassData, whispersync.KeyClassPII)
	}
	return nil
}
