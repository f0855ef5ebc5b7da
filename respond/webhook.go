package respond

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Headers of a signed webhook delivery.
const (
	HeaderTimestamp = "X-WhisperSync-Timestamp"
	HeaderSignature = "X-WhisperSync-Signature"
)

// MaxSkew is how far a delivery's timestamp may be from the receiver's
// clock; older deliveries are replays.
const MaxSkew = 5 * time.Minute

// signatureVersion prefixes a signature, so the scheme can change without
// receivers mistaking one MAC for another.
const signatureVersion = "v1="

// Errors of VerifySignature.
var (
	ErrBadSignature = errors.New("respond: webhook signature does not match")
	ErrStale        = errors.New("respond: webhook timestamp outside the allowed skew")
)

// Webhook posts a digest as JSON, signed with HMAC-SHA256.
type Webhook struct {
	client    *http.Client
	url       string
	keySecret string
	secret    SecretFunc
	strict    bool
}

// Channel returns "webhook".
func (w *Webhook) Channel() string { return ChannelWebhook }

// Send posts d, signed at the time of this attempt, so that a retry is not
// taken for a replay.
func (w *Webhook) Send(ctx context.Context, d Digest) error {
	if !w.strict {
		return errNoAllowlist
	}
	key, err := w.secret(ctx, w.keySecret)
	if err != nil {
		return fmt.Errorf("webhook: read secret %s: %w", w.keySecret, err)
	}
	defer clear(key)
	body, err := json.Marshal(d)
	if err != nil {
		return Permanent(fmt.Errorf("webhook: encode digest: %w", err))
	}
	ts := time.Now().Unix()
	header := http.Header{
		"Content-Type":  {"application/json"},
		HeaderTimestamp: {strconv.FormatInt(ts, 10)},
		HeaderSignature: {Sign(key, ts, body)},
	}
	return post(ctx, w.client, ChannelWebhook, w.url, body, header)
}

// Sign returns the signature header value of body sent at Unix time ts:
// "v1=" and the hex HMAC-SHA256 under key of ts in decimal, ".", and body.
func Sign(key []byte, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(strconv.FormatInt(ts, 10)))
	mac.Write([]byte("."))
	mac.Write(body)
	return signatureVersion + hex.EncodeToString(mac.Sum(nil))
}

// VerifySignature checks a delivery's headers against body as received:
// the timestamp must be within MaxSkew of now and the signature must match
// under key. It returns ErrStale or ErrBadSignature.
func VerifySignature(key []byte, header http.Header, body []byte, now time.Time) error {
	ts, err := strconv.ParseInt(header.Get(HeaderTimestamp), 10, 64)
	if err != nil {
		return ErrBadSignature
	}
	if d := now.Sub(time.Unix(ts, 0)); d > MaxSkew || d < -MaxSkew {
		return ErrStale
	}
	got := header.Get(HeaderSignature)
	if !strings.HasPrefix(got, signatureVersion) || !hmac.Equal([]byte(got), []byte(Sign(key, ts, body))) {
		return ErrBadSignature
	}
	return nil
}
