package respond_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/whispersync/whispersync/detect"
	"github.com/whispersync/whispersync/respond"
)

func getenv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestParseConfig(t *testing.T) {
	c, err := respond.ParseConfig(getenv(map[string]string{
		"WHISPERSYNC_NOTIFY_SLACK":        "secret:slack-webhook",
		"WHISPERSYNC_NOTIFY_SMTP":         "smtp.example.com:587",
		"WHISPERSYNC_NOTIFY_SMTP_FROM":    "whispersync@example.com",
		"WHISPERSYNC_NOTIFY_SMTP_TO":      "oncall@example.com, sec@example.com",
		"WHISPERSYNC_NOTIFY_SMTP_USER":    "alerts",
		"WHISPERSYNC_NOTIFY_SMTP_AUTH":    "secret:smtp-password",
		"WHISPERSYNC_NOTIFY_HOOK":         "https://siem.example.com/whispersync",
		"WHISPERSYNC_NOTIFY_HOOK_SIGNING": "secret:hook-signing-key",
		"WHISPERSYNC_NOTIFY_INTERVAL":     "5m",
		"WHISPERSYNC_RESPOND_HIGH":        "block",
		"WHISPERSYNC_RESPOND_MEDIUM":      "lock,revoke",
	}))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if got, want := c.Channels(), []string{"slack", "email", "webhook"}; !reflect.DeepEqual(got, want) {
		t.Errorf("channels: got %v, want %v", got, want)
	}
	if c.Slack.URLSecret != "slack-webhook" || c.Email.PasswordSecret != "smtp-password" || c.Webhook.KeySecret != "hook-signing-key" {
		t.Errorf("secret names: got %q, %q, %q", c.Slack.URLSecret, c.Email.PasswordSecret, c.Webhook.KeySecret)
	}
	if got, want := c.Email.To, []string{"oncall@example.com", "sec@example.com"}; !reflect.DeepEqual(got, want) {
		t.Errorf("recipients: got %v, want %v", got, want)
	}
	if got, want := c.AllowHosts, []string{"hooks.slack.com", "siem.example.com"}; !reflect.DeepEqual(got, want) {
		t.Errorf("allowlist: got %v, want %v", got, want)
	}
	if c.PublishInterval() != 5*time.Minute {
		t.Errorf("interval: got %s, want 5m", c.PublishInterval())
	}
	want := respond.Policy{detect.High: {respond.Block}, detect.Medium: {respond.Lock, respond.Revoke}}
	if !reflect.DeepEqual(c.Policy(), want) {
		t.Errorf("policy: got %v, want %v", c.Policy(), want)
	}
}

func TestParseConfigDefaults(t *testing.T) {
	c, err := respond.ParseConfig(getenv(nil))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if len(c.Channels()) != 0 || c.PublishInterval() != respond.DefaultInterval {
		t.Errorf("empty config: got channels %v, interval %s", c.Channels(), c.PublishInterval())
	}
	if got := c.Policy()[detect.High]; !reflect.DeepEqual(got, []respond.Action{respond.Lock, respond.Revoke, respond.Block}) {
		t.Errorf("default high actions: got %v, want lock, revoke, block", got)
	}
	c, _ = respond.ParseConfig(getenv(map[string]string{"WHISPERSYNC_RESPOND_HIGH": "none"}))
	if got := c.Policy()[detect.High]; len(got) != 0 {
		t.Errorf("high=none: got %v, want no action", got)
	}
}

func TestParseConfigRefuses(t *testing.T) {
	const plaintext = "https://hooks.slack.com/services/T1/B1/plaintextCanary"
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"plaintext Slack URL", map[string]string{"WHISPERSYNC_NOTIFY_SLACK": plaintext}, "must name a secret"},
		{"plaintext SMTP password", map[string]string{"WHISPERSYNC_NOTIFY_SMTP": "smtp.example.com:587", "WHISPERSYNC_NOTIFY_SMTP_FROM": "a@example.com", "WHISPERSYNC_NOTIFY_SMTP_TO": "b@example.com", "WHISPERSYNC_NOTIFY_SMTP_USER": "u", "WHISPERSYNC_NOTIFY_SMTP_AUTH": "plaintextCanary"}, "must name a secret"},
		{"SMTP user without password", map[string]string{"WHISPERSYNC_NOTIFY_SMTP": "smtp.example.com:587", "WHISPERSYNC_NOTIFY_SMTP_FROM": "a@example.com", "WHISPERSYNC_NOTIFY_SMTP_TO": "b@example.com", "WHISPERSYNC_NOTIFY_SMTP_USER": "u"}, "WHISPERSYNC_NOTIFY_SMTP_AUTH"},
		{"SMTP without recipients", map[string]string{"WHISPERSYNC_NOTIFY_SMTP": "smtp.example.com:587", "WHISPERSYNC_NOTIFY_SMTP_FROM": "a@example.com"}, "recipients"},
		{"SMTP without port", map[string]string{"WHISPERSYNC_NOTIFY_SMTP": "smtp.example.com"}, "host:port"},
		{"plain http hook", map[string]string{"WHISPERSYNC_NOTIFY_HOOK": "http://siem.example.com/", "WHISPERSYNC_NOTIFY_HOOK_SIGNING": "secret:k"}, "https://"},
		{"hook without signing key", map[string]string{"WHISPERSYNC_NOTIFY_HOOK": "https://siem.example.com/"}, "WHISPERSYNC_NOTIFY_HOOK_SIGNING"},
		{"hook host off the allowlist", map[string]string{"WHISPERSYNC_NOTIFY_HOOK": "https://siem.example.com/", "WHISPERSYNC_NOTIFY_HOOK_SIGNING": "secret:k", "WHISPERSYNC_NOTIFY_ALLOW_HOSTS": "hooks.slack.com"}, "not in WHISPERSYNC_NOTIFY_ALLOW_HOSTS"},
		{"short interval", map[string]string{"WHISPERSYNC_NOTIFY_INTERVAL": "10s"}, "at least 1m"},
		{"unknown action", map[string]string{"WHISPERSYNC_RESPOND_LOW": "delete"}, "unknown action"},
	} {
		_, err := respond.ParseConfig(getenv(tc.env))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error about %q", tc.name, err, tc.want)
			continue
		}
		if strings.Contains(err.Error(), "plaintextCanary") {
			t.Errorf("%s: error %q repeats the value", tc.name, err)
		}
	}
}
