package respond

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/whispersync/whispersync/safehttp"
)

// post sends body to rawURL with c and maps the outcome to a delivery
// error: a refused destination or a 4xx status other than 429 is
// permanent. Errors name the host only, since a URL such as Slack's is a
// credential.
func post(ctx context.Context, c *http.Client, channel, rawURL string, body []byte, header http.Header) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(body))
	if err != nil {
		// The cause repeats the URL, so it is left out on purpose.
		return Permanent(fmt.Errorf("%s: the configured URL does not parse", channel))
	}
	host := req.URL.Hostname()
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("User-Agent", "WhisperSync")

	resp, err := c.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		err = fmt.Errorf("%s: post to %s: %w", channel, host, err)
		if errors.Is(err, safehttp.ErrRefused) {
			return Permanent(err)
		}
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))

	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		// NOTE: a Retry-After header is not honoured; the backoff applies.
		return fmt.Errorf("%s: post to %s: status %d", channel, host, resp.StatusCode)
	default:
		return Permanent(fmt.Errorf("%s: post to %s: status %d", channel, host, resp.StatusCode))
	}
}

// Notifiers returns a notifier for each channel c configures. secret reads
// credentials at each send.
func Notifiers(c Config, secret SecretFunc) []Notifier {
	var out []Notifier
	var client *http.Client
	if c.Slack != nil || c.Webhook != nil {
		client = safehttp.New(c.httpOptions())
	}
	if c.Slack != nil {
		out = append(out, &Slack{client: client, urlSecret: c.Slack.URLSecret, secret: secret, strict: len(c.AllowHosts) > 0})
	}
	if c.Email != nil {
		out = append(out, &Email{cfg: *c.Email, secret: secret, dial: c.httpOptions(), tls: c.TLS})
	}
	if c.Webhook != nil {
		out = append(out, &Webhook{client: client, url: c.Webhook.URL, keySecret: c.Webhook.KeySecret, secret: secret, strict: len(c.AllowHosts) > 0})
	}
	return out
}

// errNoAllowlist refuses HTTP delivery when no host allowlist is set: a
// URL from a secret could otherwise reach any public host.
var errNoAllowlist = Permanent(errors.New("no host allowlist is configured: set " + SettingAllowHosts))
