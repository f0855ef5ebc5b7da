// Package respond is WhisperSync's incident response: it delivers findings
// to people over Slack, e-mail and a signed webhook, and chooses the
// automatic actions a finding's severity calls for.
//
// # Channels
//
// Each channel reads its credential from the secret store when it sends,
// never from a setting, so a rotated secret takes effect at the next
// delivery: the Slack incoming-webhook URL, the SMTP password and the
// webhook signing key are named by secret, as in
// WHISPERSYNC_NOTIFY_SLACK=secret:slack-webhook.
//
// HTTP deliveries go through the SSRF-safe client of package safehttp,
// limited to the hosts of Config.AllowHosts. The SMTP connection is dialled
// under the same address rules, and it must upgrade with STARTTLS before it
// authenticates.
//
// # Delivery
//
// Deliver retries a failed send with exponential backoff and jitter, at
// most Retry.Attempts times. Errors name the channel and the host, never a
// URL or a credential, so they can become a finding's evidence.
//
// # Signed webhook
//
// A webhook delivery is a POST of the digest as JSON with two headers:
//
//	X-WhisperSync-Timestamp: 1767225600
//	X-WhisperSync-Signature: v1=HEX
//
// where the timestamp is Unix seconds and HEX is the lowercase hex
// HMAC-SHA256, keyed with the signing key, of the timestamp, a ".", and the
// body as received. A receiver recomputes the MAC, compares it in constant
// time and rejects a timestamp more than MaxSkew from its clock, so that a
// captured request cannot be replayed later. VerifySignature does all
// three.
package respond

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/whispersync/whispersync/detect"
)

// Channel names.
const (
	ChannelSlack   = "slack"
	ChannelEmail   = "email"
	ChannelWebhook = "webhook"
)

// Digest is one message to a channel: the findings to publish and the
// automatic actions taken since the last one.
type Digest struct {
	// Urgent is set when the digest holds only high findings sent ahead of
	// the next scheduled digest.
	Urgent   bool             `json:"urgent"`
	SentAt   time.Time        `json:"sent_at"`
	Findings []detect.Finding `json:"findings"`
	Actions  []Response       `json:"actions,omitempty"`
}

// Title is the one-line summary of d, such as "3 findings, 1 high".
func (d Digest) Title() string {
	high := 0
	for _, f := range d.Findings {
		if f.Severity == detect.High {
			high++
		}
	}
	noun := "findings"
	if len(d.Findings) == 1 {
		noun = "finding"
	}
	if high == 0 {
		return fmt.Sprintf("%d %s", len(d.Findings), noun)
	}
	return fmt.Sprintf("%d %s, %d high", len(d.Findings), noun, high)
}

// Notifier sends a digest to one channel.
type Notifier interface {
	// Channel is the channel's name, such as "slack".
	Channel() string
	// Send makes one attempt. An error wrapped with Permanent will not
	// succeed on a retry.
	Send(ctx context.Context, d Digest) error
}

// SecretFunc returns the current value of the named secret.
type SecretFunc func(ctx context.Context, name string) ([]byte, error)

type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent marks err as one that a retry cannot fix, such as a refused
// destination or a 4xx status.
func Permanent(err error) error { return permanentError{err} }

// IsPermanent reports whether err was marked by Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

// Retry bounds the attempts of a delivery. The zero value of a member means
// its default, from DefaultRetry.
type Retry struct {
	// Attempts is the number of sends, the first one included.
	Attempts int
	// Base is the wait after the first failure; each further wait doubles,
	// up to Max.
	Base time.Duration
	Max  time.Duration
}

// DefaultRetry makes five attempts over about a minute.
var DefaultRetry = Retry{Attempts: 5, Base: 2 * time.Second, Max: 30 * time.Second}

func (r Retry) withDefaults() Retry {
	if r.Attempts <= 0 {
		r.Attempts = DefaultRetry.Attempts
	}
	if r.Base <= 0 {
		r.Base = DefaultRetry.Base
	}
	if r.Max <= 0 {
		r.Max = max(DefaultRetry.Max, r.Base)
	}
	return r
}

// wait returns the pause after failed attempt n (from 1): Base·2^(n-1),
// capped at Max, of which the upper half is drawn at random so that
// senders that failed together do not retry together.
func (r Retry) wait(n int) time.Duration {
	d := r.Max
	if n-1 < 30 && r.Base<<(n-1) < r.Max {
		d = r.Base << (n - 1)
	}
	half := d / 2
	// #nosec G404 -- spreads retries in time, and nothing depends on it being unpredictable
	return half + rand.N(d-half+1)
}

// Deliver sends d through n, retrying per r, and returns the last error
// when every attempt failed or a failure was permanent.
func Deliver(ctx context.Context, n Notifier, d Digest, r Retry, log *slog.Logger) error {
	r = r.withDefaults()
	for attempt := 1; ; attempt++ {
		err := n.Send(ctx, d)
		if err == nil {
			if attempt > 1 {
				log.Info("delivered after retries", "channel", n.Channel(), "attempts", attempt)
			}
			return nil
		}
		if IsPermanent(err) || attempt >= r.Attempts {
			return fmt.Errorf("respond: deliver to %s: %d attempts: %w", n.Channel(), attempt, err)
		}
		wait := r.wait(attempt)
		log.Warn("delivery failed, retrying", "channel", n.Channel(), "attempt", attempt, "wait", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("respond: deliver to %s: %w", n.Channel(), ctx.Err())
		case <-t.C:
		}
	}
}
