// Package detect watches the audit stream and operational gauges for
// threats and turns what it sees into findings: typed, graded and
// de-duplicated, so that a burst of the same behaviour is one finding with
// a count, not a flood.
//
// An Engine is fed audit entries in log order (Observe) and gauges
// (ObserveDeadLetters, ObserveKeyUsage, ObserveChain). Each detector keeps
// sliding windows in memory; the networks each principal used are part of
// the engine's State, so that a restart does not forget them. Findings
// carry identifiers, counts and addresses as evidence, never user content.
package detect

import (
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/audit"
)

// Severity grades a finding.
type Severity string

// The severities, from least to most urgent. High findings are published
// at once; the others at the next publication.
const (
	Low    Severity = "low"
	Medium Severity = "medium"
	High   Severity = "high"
)

// Finding types.
const (
	TypeBruteForce     = "auth.brute_force"
	TypeNewNetwork     = "auth.new_network"
	TypeBulkRead       = "data.bulk_read"
	TypeQuotaExhausted = "limits.quota_exhausted"
	TypeDLQGrowth      = "queue.dead_letter_growth"
	TypeKeyUsageSpike  = "keys.usage_spike"
	TypeSSRFAttempt    = "outbound.ssrf_attempt"
	TypeChainBroken    = "audit.chain_broken"
	TypeOtherUsersIDs  = "access.other_users_ids"
	TypeDeliveryFailed = "response.delivery_failed"
)

// Finding is one de-duplicated detection: every occurrence of the same type
// for the same principal updates it.
type Finding struct {
	// ID is derived from Type and Principal, so it is stable across runs.
	ID        string   `json:"id"`
	Type      string   `json:"type"`
	Severity  Severity `json:"severity"`
	Principal string   `json:"principal"`
	// Evidence holds identifiers, counts and addresses: audit seqs, request
	// ids, sources, thresholds. Never user content.
	Evidence  map[string]string `json:"evidence"`
	FirstSeen time.Time         `json:"first_seen"`
	LastSeen  time.Time         `json:"last_seen"`
	Count     int               `json:"count"`
	Archived  bool              `json:"archived,omitempty"`
	// Published is when the finding was last handed to the notifiers.
	Published time.Time `json:"published,omitzero"`
}

// FindingID returns the ID of the finding of type typ for principal.
func FindingID(typ, principal string) string {
	sum := sha256.Sum256([]byte(typ + "\x00" + principal))
	return "f_" + hex.EncodeToString(sum[:10])
}

// Thresholds configure the detectors. The zero value of a member means its
// default, from DefaultThresholds.
type Thresholds struct {
	// FailedLogins within Window from one source or against one principal
	// make a brute-force finding.
	FailedLogins int
	// BulkReads within Window by one principal make a bulk-read finding.
	BulkReads int
	// MissingIDs, reads of ids that the principal cannot see (not found or
	// forbidden) within Window, make an other-users'-ids finding.
	MissingIDs int
	// DeadLetters is the dead-letter-queue depth, and DeadLetterGrowth the
	// growth between two observations, that make a finding.
	DeadLetters      int
	DeadLetterGrowth int
	// KeyUsageFactor times the running average of uses per observation,
	// and at least KeyUsageMin uses, make a key-usage spike.
	KeyUsageFactor float64
	KeyUsageMin    uint64
	Window         time.Duration
}

// DefaultThresholds are the thresholds used for zero members.
var DefaultThresholds = Thresholds{
	FailedLogins:     10,
	BulkReads:        200,
	MissingIDs:       20,
	DeadLetters:      10,
	DeadLetterGrowth: 5,
	KeyUsageFactor:   10,
	KeyUsageMin:      1000,
	Window:           10 * time.Minute,
}

func (t Thresholds) withDefaults() Thresholds {
	d := DefaultThresholds
	if t.FailedLogins > 0 {
		d.FailedLogins = t.FailedLogins
	}
	if t.BulkReads > 0 {
		d.BulkReads = t.BulkReads
	}
	if t.MissingIDs > 0 {
		d.MissingIDs = t.MissingIDs
	}
	if t.DeadLetters > 0 {
		d.DeadLetters = t.DeadLetters
	}
	if t.DeadLetterGrowth > 0 {
		d.DeadLetterGrowth = t.DeadLetterGrowth
	}
	if t.KeyUsageFactor > 0 {
		d.KeyUsageFactor = t.KeyUsageFactor
	}
	if t.KeyUsageMin > 0 {
		d.KeyUsageMin = t.KeyUsageMin
	}
	if t.Window > 0 {
		d.Window = t.Window
	}
	return d
}

// State is the part of an engine that persists between runs.
type State struct {
	// Seq is the last audit entry observed.
	Seq uint64 `json:"seq"`
	// Networks maps each principal to the networks it used, /24 for IPv4
	// and /48 for IPv6, at most maxNetworks of them, newest last.
	Networks map[string][]string `json:"networks"`
	// LastRun is when the last run finished.
	LastRun time.Time `json:"last_run,omitzero"`
	// DeadLetters is the last observed dead-letter-queue depth.
	DeadLetters int `json:"dead_letters"`
	// KeyUses is the last observed use count of each key, and KeyAverage
	// the running average of uses per observation.
	KeyUses    map[string]uint64  `json:"key_uses,omitempty"`
	KeyAverage map[string]float64 `json:"key_average,omitempty"`
}

// maxNetworks bounds the networks remembered per principal.
const maxNetworks = 32

// Engine runs the detectors. It is not safe for concurrent use.
type Engine struct {
	t        Thresholds
	state    State
	windows  map[string][]time.Time // sliding windows by detector and key
	findings map[string]*Finding
	changed  map[string]bool
}

// New returns an engine that continues from state.
func New(t Thresholds, state State) *Engine {
	if state.Networks == nil {
		state.Networks = map[string][]string{}
	}
	return &Engine{t: t.withDefaults(), state: state, windows: map[string][]time.Time{}, findings: map[string]*Finding{}, changed: map[string]bool{}}
}

// State returns the state to keep for the next run.
func (e *Engine) State() State { return e.state }

// SetLastRun records when a run finished.
func (e *Engine) SetLastRun(t time.Time) { e.state.LastRun = t }

// Load gives the engine findings already stored, so that new occurrences
// update them instead of starting new ones.
func (e *Engine) Load(findings []Finding) {
	for _, f := range findings {
		e.findings[f.ID] = &f
	}
}

// Changed returns the findings raised or updated since the last call, and
// forgets them.
func (e *Engine) Changed() []Finding {
	var out []Finding
	for id := range e.changed {
		out = append(out, *e.findings[id])
	}
	clear(e.changed)
	slices.SortFunc(out, func(a, b Finding) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// raise records an occurrence of typ for principal at t. An archived
// finding that occurs again is reopened.
func (e *Engine) raise(typ string, sev Severity, principal string, t time.Time, evidence map[string]string) {
	id := FindingID(typ, principal)
	f, ok := e.findings[id]
	if !ok {
		f = &Finding{ID: id, Type: typ, Severity: sev, Principal: principal, FirstSeen: t, Evidence: map[string]string{}}
		e.findings[id] = f
	}
	f.Count++
	f.Archived = false
	if t.After(f.LastSeen) {
		f.LastSeen = t
	}
	if sev == High {
		f.Severity = High
	}
	for k, v := range evidence {
		f.Evidence[k] = v
	}
	e.changed[id] = true
}

// window adds t to the sliding window key and returns how many times are
// in it. The window is emptied when it reaches limit, so that one burst
// raises one occurrence per limit events, not one per event.
func (e *Engine) window(key string, t time.Time, limit int) bool {
	w := e.windows[key]
	cut := 0
	for cut < len(w) && t.Sub(w[cut]) > e.t.Window {
		cut++
	}
	w = append(w[cut:], t)
	if len(w) >= limit {
		delete(e.windows, key)
		return true
	}
	e.windows[key] = w
	return false
}

// Observe feeds one audit entry to the detectors. Entries must come in log
// order; an entry at or before State.Seq is ignored.
func (e *Engine) Observe(en audit.Entry) {
	if en.Seq != 0 && en.Seq <= e.state.Seq {
		return
	}
	if en.Seq != 0 {
		e.state.Seq = en.Seq
	}
	ev := func() map[string]string {
		m := map[string]string{"last_seq": strconv.FormatUint(en.Seq, 10), "action": en.Action}
		if en.Source != "" {
			m["source"] = en.Source
		}
		if en.RequestID != "" {
			m["request_id"] = en.RequestID
		}
		return m
	}
	failed := en.Outcome == whispersync.OutcomeFailure || en.Outcome == whispersync.OutcomeDenied

	switch {
	case strings.HasPrefix(en.Action, "auth.") && en.Outcome == whispersync.OutcomeFailure:
		if host := sourceHost(en.Source); host != "" && e.window("bf:ip:"+host, en.Time, e.t.FailedLogins) {
			e.raise(TypeBruteForce, High, "source:"+host, en.Time, ev())
		}
		// Only an account adds up failures across addresses. A failed
		// token names the route it called, and many clients share a route.
		if strings.HasPrefix(en.Resource, "user:") && e.window("bf:res:"+en.Resource, en.Time, e.t.FailedLogins) {
			e.raise(TypeBruteForce, High, en.Resource, en.Time, ev())
		}
	case en.Action == "residency.refuse" || strings.HasPrefix(en.Action, "outbound.") && failed || en.Detail["ssrf"] != "":
		e.raise(TypeSSRFAttempt, High, en.Principal, en.Time, ev())
	case strings.HasPrefix(en.Action, "ratelimit.") && en.Detail["limit"] == "daily":
		e.raise(TypeQuotaExhausted, Medium, en.Principal, en.Time, ev())
	case isRead(en.Action) && failed:
		if e.window("ids:"+en.Principal, en.Time, e.t.MissingIDs) {
			e.raise(TypeOtherUsersIDs, High, en.Principal, en.Time, ev())
		}
	case isRead(en.Action) && en.Outcome == whispersync.OutcomeSuccess:
		if e.window("bulk:"+en.Principal, en.Time, e.t.BulkReads) {
			ev := ev()
			ev["threshold"] = strconv.Itoa(e.t.BulkReads) + " reads in " + e.t.Window.String()
			e.raise(TypeBulkRead, High, en.Principal, en.Time, ev)
		}
	}
	if en.Outcome == whispersync.OutcomeSuccess {
		e.observeNetwork(en, ev)
	}
}

// observeNetwork raises a finding when a token principal succeeds from a
// network it never used before. A principal's first network is its
// baseline and raises nothing.
func (e *Engine) observeNetwork(en audit.Entry, ev func() map[string]string) {
	if !strings.HasPrefix(en.Principal, "token:") && !strings.HasPrefix(en.Principal, "session:") && !strings.HasPrefix(en.Principal, "oidc:") {
		return
	}
	network := networkOf(en.Source)
	if network == "" {
		return
	}
	known := e.state.Networks[en.Principal]
	if slices.Contains(known, network) {
		return
	}
	if len(known) > 0 {
		evidence := ev()
		evidence["network"] = network
		evidence["known_networks"] = strconv.Itoa(len(known))
		e.raise(TypeNewNetwork, Medium, en.Principal, en.Time, evidence)
	}
	known = append(known, network)
	if len(known) > maxNetworks {
		known = known[len(known)-maxNetworks:]
	}
	e.state.Networks[en.Principal] = known
}

// ObserveDeadLetters feeds the dead-letter-queue depth and the age of its
// oldest message.
func (e *Engine) ObserveDeadLetters(depth int, oldest time.Duration, now time.Time) {
	growth := depth - e.state.DeadLetters
	e.state.DeadLetters = depth
	if depth >= e.t.DeadLetters || growth >= e.t.DeadLetterGrowth {
		e.raise(TypeDLQGrowth, Medium, "queue:memos", now, map[string]string{
			"depth": strconv.Itoa(depth), "growth": strconv.Itoa(growth), "oldest_age": oldest.Round(time.Second).String(),
		})
	}
}

// ObserveKeyUsage feeds the cumulative use count of each key, such as
// seal.Metrics gives. A count below the last one means the counters
// restarted, and is taken as the count since then.
func (e *Engine) ObserveKeyUsage(uses map[string]uint64, now time.Time) {
	// Either map may come back nil from stored state, for example when it
	// was empty when saved.
	if e.state.KeyUses == nil {
		e.state.KeyUses = map[string]uint64{}
	}
	if e.state.KeyAverage == nil {
		e.state.KeyAverage = map[string]float64{}
	}
	for key, n := range uses {
		last, seen := e.state.KeyUses[key]
		delta := n
		if n >= last {
			delta = n - last
		}
		e.state.KeyUses[key] = n
		if !seen {
			continue
		}
		avg := e.state.KeyAverage[key]
		if delta >= e.t.KeyUsageMin && float64(delta) > e.t.KeyUsageFactor*avg {
			e.raise(TypeKeyUsageSpike, High, "key:"+key, now, map[string]string{
				"uses": strconv.FormatUint(delta, 10), "average": strconv.FormatFloat(avg, 'f', 1, 64),
			})
		}
		// An exponential average over about ten observations.
		e.state.KeyAverage[key] = avg*0.9 + float64(delta)*0.1
	}
}

// ObserveChain feeds the result of an audit verification; a problem is a
// high finding.
func (e *Engine) ObserveChain(problem *audit.Problem, now time.Time) {
	if problem == nil {
		return
	}
	e.raise(TypeChainBroken, High, "audit", now, map[string]string{
		"segment": problem.Segment, "line": strconv.Itoa(problem.Line), "seq": strconv.FormatUint(problem.Seq, 10), "reason": problem.Reason,
	})
}

// DeliveryFailed records that a notification to channel failed after its
// retries.
func (e *Engine) DeliveryFailed(channel string, cause string, now time.Time) {
	e.raise(TypeDeliveryFailed, Medium, "notifier:"+channel, now, map[string]string{"error": cause})
}

// isRead reports whether action reads user data.
func isRead(action string) bool {
	switch action {
	case "memo.read", "memo.list", "journal.read", "memory.search", "idea.read", "idea.list", "privacy.export":
		return true
	}
	return false
}

// sourceHost returns the address of a host:port or host source, "" when it
// is not an IP address (a component such as "cli").
func sourceHost(source string) string {
	if ap, err := netip.ParseAddrPort(source); err == nil {
		return ap.Addr().Unmap().String()
	}
	if a, err := netip.ParseAddr(source); err == nil {
		return a.Unmap().String()
	}
	return ""
}

// networkOf returns the /24 (IPv4) or /48 (IPv6) network of source.
func networkOf(source string) string {
	host := sourceHost(source)
	if host == "" {
		return ""
	}
	a := netip.MustParseAddr(host)
	bits := 48
	if a.Is4() {
		bits = 24
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return ""
	}
	return p.String()
}
