package main

import (
	"strings"
	"testing"
)

func TestNotifyAndResponsesCommands(t *testing.T) {
	env := testEnv(t)
	if code, stdout, stderr := run(t, env, "notify", "list"); code != 0 || !strings.Contains(stdout, "no notifier configured") {
		t.Errorf("notify list without settings: got %d, %q, %q; want 0 and no notifier", code, stdout, stderr)
	}
	if code, _, _ := run(t, env, "notify", "test"); code != 2 {
		t.Errorf("notify test without notifiers: exit status %d, want 2", code)
	}
	if code, stdout, stderr := run(t, env, "notify", "publish"); code != 0 || !strings.Contains(stdout, "0 findings published") {
		t.Errorf("notify publish: got %d, %q, %q; want 0 and nothing published", code, stdout, stderr)
	}
	if code, stdout, _ := run(t, env, "responses", "list"); code != 0 || !strings.Contains(stdout, "no automatic responses") {
		t.Errorf("responses list: got %d, %q; want 0 and none", code, stdout)
	}
	if code, _, _ := run(t, env, "responses", "undo", "r_unknown"); code != 1 {
		t.Errorf("responses undo of an unknown id: exit status %d, want 1", code)
	}
	if code, _, _ := run(t, env, "responses", "undo"); code != 2 {
		t.Errorf("responses undo without an id: exit status %d, want 2", code)
	}

	env["WHISPERSYNC_NOTIFY_SLACK"] = "secret:slack-webhook"
	env["WHISPERSYNC_NOTIFY_HOOK"] = "https://siem.example.com/whispersync"
	env["WHISPERSYNC_NOTIFY_HOOK_SIGNING"] = "secret:hook-signing-key"
	code, stdout, stderr := run(t, env, "notify", "list")
	if code != 0 {
		t.Fatalf("notify list: exit status %d, stderr:\n%s", code, stderr)
	}
	for _, want := range []string{"slack    incoming webhook, URL in secret slack-webhook", "webhook  https://siem.example.com/whispersync, signing key in secret hook-signing-key", "allowed hosts  hooks.slack.com, siem.example.com", "on high        lock, revoke, block"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("notify list: got\n%s\nwant a line %q", stdout, want)
		}
	}

	env["WHISPERSYNC_NOTIFY_SLACK"] = "https://hooks.slack.com/services/T1/B1/cliCanary"
	code, _, stderr = run(t, env, "notify", "list")
	if code != 1 || !strings.Contains(stderr, "must name a secret") || strings.Contains(stderr, "cliCanary") {
		t.Errorf("plaintext Slack URL: got %d, %q; want 1, a hint to use the secret store, and no value", code, stderr)
	}
}
