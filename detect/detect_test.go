package detect_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/whispersync/whispersync/audit"
	"github.com/whispersync/whispersync/detect"
)

var t0 = time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)

func entries(n int, fn func(i int) audit.Entry) []audit.Entry {
	out := make([]audit.Entry, n)
	for i := range out {
		e := fn(i)
		e.Seq = uint64(i + 1)
		if e.Time.IsZero() {
			e.Time = t0.Add(time.Duration(i) * time.Second)
		}
		out[i] = e
	}
	return out
}

func TestDetectors(t *testing.T) {
	tests := []struct {
		name      string
		entries   []audit.Entry
		wantType  string
		principal string
		count     int
	}{
		{
			name: "brute force from one address",
			entries: entries(20, func(i int) audit.Entry {
				return audit.Entry{Principal: "anonymous", Action: "auth.password", Resource: "user", Outcome: "failure", Source: "203.0.113.9:5000"}
			}),
			wantType: detect.TypeBruteForce, principal: "source:203.0.113.9", count: 2,
		},
		{
			name: "brute force against one account from many addresses",
			entries: entries(10, func(i int) audit.Entry {
				return audit.Entry{Principal: "anonymous", Action: "auth.password", Resource: "user:u_1", Outcome: "failure", Source: fmt.Sprintf("203.0.113.%d:5000", i+1)}
			}),
			wantType: detect.TypeBruteForce, principal: "user:u_1", count: 1,
		},
		{
			name: "token from a new network",
			entries: entries(3, func(i int) audit.Entry {
				src := "198.51.100.7:1"
				if i == 2 {
					src = "203.0.113.7:1"
				}
				return audit.Entry{Principal: "token:t_1", Action: "memo.create", Outcome: "success", Source: src}
			}),
			wantType: detect.TypeNewNetwork, principal: "token:t_1", count: 1,
		},
		{
			name: "bulk reads",
			entries: entries(200, func(i int) audit.Entry {
				return audit.Entry{Principal: "token:t_2", Action: "memo.read", Resource: fmt.Sprintf("memo:u/m_%d", i), Outcome: "success", Source: "198.51.100.7:1"}
			}),
			wantType: detect.TypeBulkRead, principal: "token:t_2", count: 1,
		},
		{
			name: "other users' ids",
			entries: entries(20, func(i int) audit.Entry {
				return audit.Entry{Principal: "token:t_3", Action: "memo.read", Resource: fmt.Sprintf("memo:u/m_%d", i), Outcome: "denied"}
			}),
			wantType: detect.TypeOtherUsersIDs, principal: "token:t_3", count: 1,
		},
		{
			name: "daily quota exhausted",
			entries: entries(2, func(i int) audit.Entry {
				return audit.Entry{Principal: "token:t_4", Action: "ratelimit.reject", Outcome: "denied", Detail: map[string]string{"limit": "daily"}}
			}),
			wantType: detect.TypeQuotaExhausted, principal: "token:t_4", count: 2,
		},
		{
			name: "outbound refusal",
			entries: entries(1, func(i int) audit.Entry {
				return audit.Entry{Principal: "system", Action: "outbound.refused", Outcome: "denied", Detail: map[string]string{"ssrf": "loopback"}}
			}),
			wantType: detect.TypeSSRFAttempt, principal: "system", count: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := detect.New(detect.Thresholds{}, detect.State{})
			for _, en := range tt.entries {
				e.Observe(en)
			}
			found := e.Changed()
			if len(found) != 1 {
				t.Fatalf("findings: got %d (%+v), want 1", len(found), found)
			}
			f := found[0]
			if f.Type != tt.wantType || f.Principal != tt.principal || f.Count != tt.count {
				t.Errorf("finding: got %s %s count %d, want %s %s count %d", f.Type, f.Principal, f.Count, tt.wantType, tt.principal, tt.count)
			}
			if f.ID != detect.FindingID(tt.wantType, tt.principal) {
				t.Errorf("id: got %s, want FindingID of type and principal", f.ID)
			}
		})
	}
}

func TestBelowThresholdsNothing(t *testing.T) {
	e := detect.New(detect.Thresholds{}, detect.State{})
	for _, en := range entries(9, func(i int) audit.Entry {
		return audit.Entry{Principal: "anonymous", Action: "auth.password", Outcome: "failure", Source: "203.0.113.9:5000", Time: t0.Add(time.Duration(i) * 5 * time.Minute)}
	}) {
		e.Observe(en)
	}
	for _, en := range entries(150, func(i int) audit.Entry {
		return audit.Entry{Principal: "token:t_1", Action: "memo.read", Outcome: "success", Source: "198.51.100.7:1"}
	}) {
		e.Observe(en)
	}
	if found := e.Changed(); len(found) != 0 {
		t.Errorf("findings: got %+v, want none", found)
	}
}

// TestRouteIsNotAnAccount checks that failed token guesses from many
// addresses against one route make no finding about the route.
func TestRouteIsNotAnAccount(t *testing.T) {
	e := detect.New(detect.Thresholds{}, detect.State{})
	for _, en := range entries(50, func(i int) audit.Entry {
		return audit.Entry{Principal: "anonymous", Action: "auth.token", Resource: "GET /v1/memos", Outcome: "failure", Source: fmt.Sprintf("198.51.100.%d:1", i+1)}
	}) {
		e.Observe(en)
	}
	if found := e.Changed(); len(found) != 0 {
		t.Errorf("findings: got %+v, want none", found)
	}
}

func TestDeduplicatesAcrossRuns(t *testing.T) {
	burst := entries(10, func(i int) audit.Entry {
		return audit.Entry{Principal: "anonymous", Action: "auth.token", Outcome: "failure", Source: "203.0.113.9:1"}
	})
	e := detect.New(detect.Thresholds{}, detect.State{})
	for _, en := range burst {
		e.Observe(en)
	}
	first := e.Changed()

	next := detect.New(detect.Thresholds{}, e.State())
	next.Load(first)
	for _, en := range burst {
		next.Observe(en) // already seen: ignored
	}
	for _, en := range entries(20, func(i int) audit.Entry {
		return audit.Entry{Principal: "anonymous", Action: "auth.token", Outcome: "failure", Source: "203.0.113.9:1"}
	})[10:] {
		next.Observe(en)
	}
	found := next.Changed()
	if len(found) != 1 || found[0].Count != 2 || !found[0].FirstSeen.Equal(first[0].FirstSeen) {
		t.Errorf("findings: got %+v, want one with count 2 and the first run's first_seen", found)
	}
}

func TestGauges(t *testing.T) {
	e := detect.New(detect.Thresholds{}, detect.State{})
	e.ObserveDeadLetters(2, time.Minute, t0)
	if got := e.Changed(); len(got) != 0 {
		t.Errorf("dead letters 2: got %+v, want none", got)
	}
	e.ObserveDeadLetters(8, time.Hour, t0)
	if got := e.Changed(); len(got) != 1 || got[0].Type != detect.TypeDLQGrowth {
		t.Errorf("dead letters growing by 6: got %+v, want a dead-letter finding", got)
	}

	for i := range 5 {
		e.ObserveKeyUsage(map[string]uint64{"data-key/pii": uint64(100 * (i + 1))}, t0)
	}
	if got := e.Changed(); len(got) != 0 {
		t.Errorf("steady key usage: got %+v, want none", got)
	}
	e.ObserveKeyUsage(map[string]uint64{"data-key/pii": 50_000}, t0)
	if got := e.Changed(); len(got) != 1 || got[0].Type != detect.TypeKeyUsageSpike || got[0].Severity != detect.High {
		t.Errorf("key usage spike: got %+v, want a high key-usage finding", got)
	}

	e.ObserveChain(nil, t0)
	e.ObserveChain(&audit.Problem{Segment: "00000001.jsonl", Line: 3, Seq: 3, Reason: "edited"}, t0)
	if got := e.Changed(); len(got) != 1 || got[0].Type != detect.TypeChainBroken {
		t.Errorf("chain problem: got %+v, want a chain finding", got)
	}
}
