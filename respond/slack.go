package respond

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/whispersync/whispersync/detect"
)

// maxSlackFindings bounds the findings in one Slack message: each takes
// three blocks and Slack accepts at most 50.
const maxSlackFindings = 15

// Slack posts a Block Kit message to an incoming webhook.
type Slack struct {
	client    *http.Client
	urlSecret string
	secret    SecretFunc
	strict    bool
}

// Channel returns "slack".
func (s *Slack) Channel() string { return ChannelSlack }

// Send posts d.
func (s *Slack) Send(ctx context.Context, d Digest) error {
	if !s.strict {
		return errNoAllowlist
	}
	u, err := s.secret(ctx, s.urlSecret)
	if err != nil {
		return fmt.Errorf("slack: read secret %s: %w", s.urlSecret, err)
	}
	body, err := json.Marshal(SlackMessage(d))
	if err != nil {
		return Permanent(fmt.Errorf("slack: encode message: %w", err))
	}
	return post(ctx, s.client, ChannelSlack, strings.TrimSpace(string(u)), body, http.Header{"Content-Type": {"application/json"}})
}

// SlackMessage returns the Block Kit payload for d: a header, then for each
// finding a section with its severity, type, principal, count and first
// and last seen, a context line with its evidence, and a divider.
func SlackMessage(d Digest) map[string]any {
	title := "WhisperSync: " + d.Title()
	if d.Urgent {
		title = "WhisperSync alert: " + d.Title()
	}
	blocks := []any{map[string]any{"type": "header", "text": plain(title)}}
	for i, f := range d.Findings {
		if i == maxSlackFindings {
			blocks = append(blocks, section(fmt.Sprintf("…and %d more: `whispersync findings list` shows them all", len(d.Findings)-i)))
			break
		}
		blocks = append(blocks,
			map[string]any{
				"type": "section",
				"text": mrkdwn(fmt.Sprintf("*%s* `%s` %s", escape(string(f.Severity)), escape(f.Type), escape(f.ID))),
				"fields": []any{
					mrkdwn("*Severity*\n" + escape(string(f.Severity))),
					mrkdwn("*Type*\n" + escape(f.Type)),
					mrkdwn("*Principal*\n" + escape(f.Principal)),
					mrkdwn("*Count*\n" + strconv.Itoa(f.Count)),
					mrkdwn("*First seen*\n" + f.FirstSeen.UTC().Format(time.RFC3339)),
					mrkdwn("*Last seen*\n" + f.LastSeen.UTC().Format(time.RFC3339)),
				},
			},
			map[string]any{"type": "context", "elements": []any{mrkdwn("*Evidence* " + escape(evidenceLine(f)))}},
			map[string]any{"type": "divider"},
		)
	}
	if len(d.Actions) > 0 {
		var b strings.Builder
		b.WriteString("*Automatic actions*")
		for _, a := range d.Actions {
			fmt.Fprintf(&b, "\n%s %s (%s; undo: `whispersync responses undo %s`)", escape(string(a.Kind)), escape(a.Target), escape(a.FindingID), escape(a.ID))
		}
		blocks = append(blocks, section(b.String()))
	}
	return map[string]any{"text": title, "blocks": blocks}
}

func plain(s string) map[string]any  { return map[string]any{"type": "plain_text", "text": s} }
func mrkdwn(s string) map[string]any { return map[string]any{"type": "mrkdwn", "text": s} }
func section(s string) map[string]any {
	return map[string]any{"type": "section", "text": mrkdwn(s)}
}

// escape escapes the three characters Slack's mrkdwn gives a meaning.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// evidenceLine renders a finding's evidence as sorted key=value pairs.
func evidenceLine(f detect.Finding) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(f.Evidence)) {
		parts = append(parts, k+"="+f.Evidence[k])
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
