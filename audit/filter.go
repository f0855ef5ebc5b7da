package audit

import (
	"strings"
	"time"
)

// Filter selects entries for a search. An empty member matches every entry.
// Principal, Action and Resource match exactly, or by prefix when they end
// with "*", such as "memo.*" or "memo:u_123/*".
type Filter struct {
	Principal string
	Action    string
	Resource  string
	Outcome   string
	// From and To bound the entry time: From inclusive, To exclusive.
	From, To time.Time
}

// Match reports whether e passes every member of f.
func (f Filter) Match(e Entry) bool {
	return matchPattern(f.Principal, e.Principal) &&
		matchPattern(f.Action, e.Action) &&
		matchPattern(f.Resource, e.Resource) &&
		(f.Outcome == "" || f.Outcome == e.Outcome) &&
		(f.From.IsZero() || !e.Time.Before(f.From)) &&
		(f.To.IsZero() || e.Time.Before(f.To))
}

func matchPattern(pattern, value string) bool {
	if pattern == "" {
		return true
	}
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(value, prefix)
	}
	return pattern == value
}
