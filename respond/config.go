package respond

import (
	"crypto/tls"
	"net"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/detect"
	"github.com/whispersync/whispersync/safehttp"
	"github.com/whispersync/whispersync/secrets"
)

// Settings read by ParseConfig. None holds a credential: those that need
// one name a secret as secret:NAME.
const (
	SettingSlack          = "WHISPERSYNC_NOTIFY_SLACK"
	SettingSMTP           = "WHISPERSYNC_NOTIFY_SMTP"
	SettingSMTPFrom       = "WHISPERSYNC_NOTIFY_SMTP_FROM"
	SettingSMTPTo         = "WHISPERSYNC_NOTIFY_SMTP_TO"
	SettingSMTPUser       = "WHISPERSYNC_NOTIFY_SMTP_USER"
	SettingSMTPAuth       = "WHISPERSYNC_NOTIFY_SMTP_AUTH"
	SettingHook           = "WHISPERSYNC_NOTIFY_HOOK"
	SettingHookSigning    = "WHISPERSYNC_NOTIFY_HOOK_SIGNING"
	SettingAllowHosts     = "WHISPERSYNC_NOTIFY_ALLOW_HOSTS"
	SettingInterval       = "WHISPERSYNC_NOTIFY_INTERVAL"
	SettingActionsPrefix  = "WHISPERSYNC_RESPOND_"
	secretRefPrefix       = "secret:"
	slackHost             = "hooks.slack.com"
	defaultPublishMinutes = 15
)

// DefaultInterval is how often findings are published in a digest; high
// findings are published at once.
const DefaultInterval = defaultPublishMinutes * time.Minute

// Config is the incident-response configuration. The zero value has no
// channel and the default actions.
type Config struct {
	Slack   *SlackConfig   `json:"slack,omitempty"`
	Email   *EmailConfig   `json:"email,omitempty"`
	Webhook *WebhookConfig `json:"webhook,omitempty"`
	// AllowHosts are the hosts HTTP channels may reach. ParseConfig puts
	// hooks.slack.com and the webhook's host in it unless the setting
	// lists hosts itself.
	AllowHosts []string `json:"allow_hosts,omitempty"`
	// Interval is how often a digest is published; zero means
	// DefaultInterval.
	Interval time.Duration `json:"interval"`
	// Actions maps a severity to the automatic actions it calls for; nil
	// means DefaultPolicy.
	Actions Policy `json:"actions"`
	Retry   Retry  `json:"-"`

	// AllowLoopback and TLS exist for tests that run receivers on
	// 127.0.0.1 with their own certificate; production code must not set
	// them. TLS supplies root CAs, for HTTPS and for STARTTLS alike.
	AllowLoopback bool        `json:"-"`
	TLS           *tls.Config `json:"-"`
}

// SlackConfig is a Slack incoming webhook.
type SlackConfig struct {
	// URLSecret names the secret holding the webhook URL, which is itself
	// the credential.
	URLSecret string `json:"url_secret"`
}

// EmailConfig is an SMTP relay that accepts STARTTLS.
type EmailConfig struct {
	// Addr is host:port, such as smtp.example.com:587.
	Addr string   `json:"addr"`
	From string   `json:"from"`
	To   []string `json:"to"`
	// User and PasswordSecret authenticate with PLAIN after STARTTLS; no
	// authentication when User is empty.
	User           string `json:"user,omitempty"`
	PasswordSecret string `json:"password_secret,omitempty"`
}

// WebhookConfig is a generic HTTPS receiver of signed digests.
type WebhookConfig struct {
	URL string `json:"url"`
	// KeySecret names the secret holding the HMAC-SHA256 signing key.
	KeySecret string `json:"key_secret"`
}

// Channels names the configured channels.
func (c Config) Channels() []string {
	var out []string
	if c.Slack != nil {
		out = append(out, ChannelSlack)
	}
	if c.Email != nil {
		out = append(out, ChannelEmail)
	}
	if c.Webhook != nil {
		out = append(out, ChannelWebhook)
	}
	return out
}

// Secrets maps each configured channel to the names of the secrets it
// needs.
func (c Config) Secrets() map[string][]string {
	out := map[string][]string{}
	if c.Slack != nil {
		out[ChannelSlack] = []string{c.Slack.URLSecret}
	}
	if c.Email != nil {
		out[ChannelEmail] = nil
		if c.Email.PasswordSecret != "" {
			out[ChannelEmail] = []string{c.Email.PasswordSecret}
		}
	}
	if c.Webhook != nil {
		out[ChannelWebhook] = []string{c.Webhook.KeySecret}
	}
	return out
}

// PublishInterval returns Interval or its default.
func (c Config) PublishInterval() time.Duration {
	if c.Interval <= 0 {
		return DefaultInterval
	}
	return c.Interval
}

// Policy returns Actions or DefaultPolicy.
func (c Config) Policy() Policy {
	if c.Actions == nil {
		return DefaultPolicy
	}
	return c.Actions
}

func (c Config) httpOptions() safehttp.Options {
	return safehttp.Options{AllowHosts: c.AllowHosts, AllowLoopback: c.AllowLoopback, TLS: c.TLS, Timeout: 15 * time.Second}
}

// ParseConfig reads the configuration from the settings named by the
// Setting constants, through getenv.
func ParseConfig(getenv func(string) string) (Config, error) {
	var c Config
	if v := getenv(SettingSlack); v != "" {
		name, err := secretRef(SettingSlack, v, "slack-webhook")
		if err != nil {
			return c, err
		}
		c.Slack = &SlackConfig{URLSecret: name}
	}
	if v := getenv(SettingSMTP); v != "" {
		e, err := parseEmail(getenv, v)
		if err != nil {
			return c, err
		}
		c.Email = e
	}
	if v := getenv(SettingHook); v != "" {
		u, err := url.Parse(v)
		if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
			return c, whispersync.Errorf(whispersync.EINVALID, "%s: give the receiver's https:// URL, without user information", SettingHook)
		}
		key := getenv(SettingHookSigning)
		if key == "" {
			return c, whispersync.Errorf(whispersync.EINVALID, "%s is set but %s is not: store a signing key with whispersync secrets set hook-signing-key --generate and set %s=secret:hook-signing-key", SettingHook, SettingHookSigning, SettingHookSigning)
		}
		name, err := secretRef(SettingHookSigning, key, "hook-signing-key")
		if err != nil {
			return c, err
		}
		c.Webhook = &WebhookConfig{URL: v, KeySecret: name}
	}

	if v := getenv(SettingAllowHosts); v != "" {
		for h := range strings.SplitSeq(v, ",") {
			if h = strings.ToLower(strings.TrimSpace(h)); h != "" {
				c.AllowHosts = append(c.AllowHosts, h)
			}
		}
	} else {
		if c.Slack != nil {
			c.AllowHosts = append(c.AllowHosts, slackHost)
		}
		if c.Webhook != nil {
			u, _ := url.Parse(c.Webhook.URL)
			c.AllowHosts = append(c.AllowHosts, strings.ToLower(u.Hostname()))
		}
	}
	if c.Webhook != nil {
		u, _ := url.Parse(c.Webhook.URL)
		if !slices.Contains(c.AllowHosts, strings.ToLower(u.Hostname())) {
			return c, whispersync.Errorf(whispersync.EINVALID, "%s: host %s is not in %s: add it there", SettingHook, u.Hostname(), SettingAllowHosts)
		}
	}

	if v := getenv(SettingInterval); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Minute {
			return c, whispersync.Errorf(whispersync.EINVALID, "%s=%q: give a duration of at least 1m, such as 15m", SettingInterval, v)
		}
		c.Interval = d
	}

	policy, err := ParsePolicy(getenv)
	if err != nil {
		return c, err
	}
	c.Actions = policy
	return c, nil
}

func parseEmail(getenv func(string) string, addr string) (*EmailConfig, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" || port == "" {
		return nil, whispersync.Errorf(whispersync.EINVALID, "%s=%q: give the relay as host:port, such as smtp.example.com:587", SettingSMTP, addr)
	}
	e := &EmailConfig{Addr: addr, From: getenv(SettingSMTPFrom), User: getenv(SettingSMTPUser)}
	if _, err := mail.ParseAddress(e.From); err != nil {
		return nil, whispersync.Errorf(whispersync.EINVALID, "%s: give the sender's address, such as whispersync@example.com", SettingSMTPFrom)
	}
	for to := range strings.SplitSeq(getenv(SettingSMTPTo), ",") {
		if to = strings.TrimSpace(to); to == "" {
			continue
		}
		if _, err := mail.ParseAddress(to); err != nil {
			return nil, whispersync.Errorf(whispersync.EINVALID, "%s: %q is not an e-mail address; separate several with commas", SettingSMTPTo, to)
		}
		e.To = append(e.To, to)
	}
	if len(e.To) == 0 {
		return nil, whispersync.Errorf(whispersync.EINVALID, "%s is set but %s is not: give the recipients, separated by commas", SettingSMTP, SettingSMTPTo)
	}
	if e.User != "" {
		ref := getenv(SettingSMTPAuth)
		if ref == "" {
			return nil, whispersync.Errorf(whispersync.EINVALID, "%s is set but %s is not: store the password with whispersync secrets set smtp-password and set %s=secret:smtp-password", SettingSMTPUser, SettingSMTPAuth, SettingSMTPAuth)
		}
		if e.PasswordSecret, err = secretRef(SettingSMTPAuth, ref, "smtp-password"); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// secretRef returns the secret name of a secret:NAME setting. Any other
// value is refused without being repeated, since it may be the credential
// itself.
func secretRef(setting, value, example string) (string, error) {
	name, ok := strings.CutPrefix(value, secretRefPrefix)
	if !ok {
		return "", whispersync.Errorf(whispersync.EINVALID, "%s must name a secret, not hold a value: store the value with whispersync secrets set %s (it reads stdin) and set %s=secret:%s", setting, example, setting, example)
	}
	if err := secrets.ValidateName(name); err != nil {
		return "", whispersync.Errorf(whispersync.EINVALID, "%s: %s", setting, whispersync.ErrorMessage(err))
	}
	return name, nil
}

// Action is an automatic response to a finding.
type Action string

// The automatic actions. Each is reversible: lock by unlocking, revoke and
// block by removing the block-list entries they add.
const (
	// Lock locks the account behind the finding's principal.
	Lock Action = "lock"
	// Revoke suspends the account's tokens, or the principal's credential,
	// through the block list, so that undoing it restores them.
	Revoke Action = "revoke"
	// Block blocks the source address of an unauthenticated attack.
	Block Action = "block"
)

// Policy maps a severity to the actions it calls for.
type Policy map[detect.Severity][]Action

// DefaultPolicy locks the account and suspends its tokens on a high
// finding, or blocks the address of unauthenticated brute force; lower
// severities only notify.
var DefaultPolicy = Policy{detect.High: {Lock, Revoke, Block}}

// ParsePolicy reads WHISPERSYNC_RESPOND_HIGH, _MEDIUM and _LOW, each a
// comma-separated list of lock, revoke and block, or "none". An unset
// setting keeps the default of its severity.
func ParsePolicy(getenv func(string) string) (Policy, error) {
	p := Policy{}
	for sev, actions := range DefaultPolicy {
		p[sev] = slices.Clone(actions)
	}
	for _, sev := range []detect.Severity{detect.High, detect.Medium, detect.Low} {
		setting := SettingActionsPrefix + strings.ToUpper(string(sev))
		v := strings.TrimSpace(getenv(setting))
		if v == "" {
			continue
		}
		p[sev] = nil
		if v == "none" {
			continue
		}
		for a := range strings.SplitSeq(v, ",") {
			a := Action(strings.TrimSpace(a))
			if a != Lock && a != Revoke && a != Block {
				return nil, whispersync.Errorf(whispersync.EINVALID, "%s: unknown action %q: use lock, revoke, block, a list of them, or none", setting, a)
			}
			if !slices.Contains(p[sev], a) {
				p[sev] = append(p[sev], a)
			}
		}
	}
	return p, nil
}
