package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/whispersync/whispersync/app"
	"github.com/whispersync/whispersync/audit"
)

const auditExamples = `  whispersync audit verify
  whispersync audit verify --from 2026-03-01
  whispersync audit search --principal operator:alice --from 24h
  whispersync audit search --action 'memo.*' --resource 'memo:u_01jf*' --json > export.jsonl
  whispersync audit reset --reason 'INC-142: audit folder lost with the disk, see ticket'
`

func runAudit(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlags("audit", "audit verify [--from TIME] [--max-unsigned DURATION] [--json]\n       whispersync audit search [--principal P] [--action A] [--resource R] [--outcome O] [--from TIME] [--to TIME] [--limit N] [--json]\n       whispersync audit reset --reason TEXT\n\nverify checks every audit entry against the hash chain and the signed digests\nand names the first bad entry; the exit status is 1 when anything fails.\nsearch prints matching entries, oldest first; a value ending in * matches by\nprefix. TIME is RFC 3339, a date (2026-03-14) or a duration ago (24h). Both\nread only the audit folder, the identity file and the key file's folder, so\nthey run beside serve.\n\nreset is for a data directory that no command opens any more because its\naudit log is missing, replaced or rolled back behind the anchor file beside\nthe key file. Keep a copy of the data directory for investigation first. It\nmoves the audit folder aside to audit-before-reset-TIME, drops the log's\nrecord from the anchor file, gives the directory a new identity and starts a\nnew log whose first entry, audit.reset, records who reset it, the reason and\nthe former log. It needs the data directory to itself (stop serve first), and\nrefuses a log that still opens, since resetting it would only hide it.", auditExamples)
	from := fs.String("from", "", "verify: check the entries after the newest digest before TIME; search: entries at or after TIME")
	to := fs.String("to", "", "search: entries before TIME")
	maxUnsigned := fs.Duration("max-unsigned", app.DefaultMaxUnsigned, "verify: fail when entries are unsigned and the newest digest is older than this; 0 turns the check off")
	principal := fs.String("principal", "", "search: principal, such as operator:alice or token:t_…")
	action := fs.String("action", "", "search: action, such as memo.read or auth.*")
	resource := fs.String("resource", "", "search: resource, such as memo:u_…/m_…")
	outcome := fs.String("outcome", "", "search: success, failure or denied")
	limit := fs.Int("limit", 0, "search: stop after N entries (0: no limit)")
	asJSON := fs.Bool("json", false, "print JSON (search: one entry per line)")
	reason := fs.String("reason", "", "reset: why the log is started over, such as an incident number; recorded in the new log (required)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("audit needs one action: verify, search or reset\nhint: whispersync audit verify")
	}
	now := time.Now()
	fromTime, err := parseTime(*from, now)
	if err != nil {
		return usagef("--from: %v", err)
	}
	toTime, err := parseTime(*to, now)
	if err != nil {
		return usagef("--to: %v", err)
	}
	if *maxUnsigned < 0 {
		return usagef("--max-unsigned %s: use a positive duration such as 2h, or 0 to turn the check off", *maxUnsigned)
	}
	cfg := app.Config{DataDir: m.DataDir, KeyFile: m.KeyFile, PassphraseFile: m.PassphraseFile}

	switch pos[0] {
	case "verify":
		report, err := app.VerifyAudit(cfg, audit.VerifyOptions{From: fromTime, MaxUnsigned: *maxUnsigned})
		if err != nil && !errors.Is(err, audit.ErrBroken) {
			return err
		}
		if *asJSON {
			if jerr := m.printJSON(verifyJSON(report)); jerr != nil {
				return jerr
			}
		} else {
			m.printVerify(report)
		}
		if report.Problem != nil {
			return errAuditBroken
		}
		return nil
	case "search":
		if *limit < 0 {
			return usagef("--limit must not be negative, got %d", *limit)
		}
		f := audit.Filter{Principal: *principal, Action: *action, Resource: *resource, Outcome: *outcome, From: fromTime, To: toTime}
		n := 0
		err := app.SearchAudit(cfg, f, func(e audit.Entry) error {
			if *limit > 0 && n == *limit {
				return errStop
			}
			n++
			if *asJSON {
				return m.printJSONLine(e)
			}
			_, err := fmt.Fprintf(m.Stdout, "%8d  %s  %-24s %-20s %-8s %s\n", e.Seq, e.Time.Local().Format(time.DateTime), e.Principal, e.Action, e.Outcome, e.Resource)
			return err
		})
		if err != nil && !errors.Is(err, errStop) {
			return err
		}
		if n == 0 && !*asJSON {
			fmt.Fprintln(m.Stderr, "whispersync: no audit entry matches")
		}
		return nil
	case "reset":
		if strings.TrimSpace(*reason) == "" {
			return usagef("audit reset needs --reason TEXT, which the new log records\nhint: whispersync audit reset --reason 'INC-142: audit folder lost with the disk'")
		}
		note, err := app.ResetAudit(ctx, cfg, m.operator(), *reason)
		if err != nil {
			return flagError(err)
		}
		if note.MovedTo != "" {
			fmt.Fprintf(m.Stdout, "moved the former audit log to %s; keep it for investigation\n", note.MovedTo)
		}
		fmt.Fprintf(m.Stdout, "started a new audit log in %s; its first entry, audit.reset, records the reset\n", app.AuditDir(m.DataDir))
		return nil
	}
	return usagef("unknown audit action %q: use verify, search or reset", pos[0])
}

// errAuditBroken makes audit verify exit with status 1 after it printed the
// problem.
var errAuditBroken = errors.New("the audit log failed verification: treat it as tampered with and keep a copy of the audit folder for investigation")

// errStop ends a search early.
var errStop = errors.New("stop")

func (m *Main) printVerify(r audit.Report) {
	if r.Problem != nil {
		fmt.Fprintf(m.Stdout, "FAIL  %s\n", r.Problem)
	} else {
		fmt.Fprintln(m.Stdout, "OK    the audit log matches its hash chain and its signed digests")
	}
	fmt.Fprintf(m.Stdout, "      %d entries checked in %d segments, %d digests", r.Entries, r.Segments, r.Digests)
	if r.From > 0 {
		fmt.Fprintf(m.Stdout, ", from seq %d", r.From)
	}
	fmt.Fprintln(m.Stdout)
	if !r.LastDigest.IsZero() {
		fmt.Fprintf(m.Stdout, "      newest digest %s covers up to seq %d; %d entries after it are not signed yet\n",
			r.LastDigest.Local().Format(time.DateTime), r.SignedThrough, r.Unsigned)
	}
	if r.Incomplete {
		// A crash mid-write leaves such a line and the next open removes
		// it, but so would a cut through the last entry: say so.
		fmt.Fprintln(m.Stdout, "NOTE  the last segment ends with an incomplete line, which was not checked: a crash during a write leaves one, and so does a cut through the last entry")
	}
}

type verifyResult struct {
	OK            bool      `json:"ok"`
	Entries       uint64    `json:"entries"`
	Segments      int       `json:"segments"`
	Digests       int       `json:"digests"`
	SignedThrough uint64    `json:"signed_through"`
	Unsigned      uint64    `json:"unsigned"`
	LastDigest    time.Time `json:"last_digest,omitzero"`
	From          uint64    `json:"from,omitempty"`
	Head          string    `json:"head"`
	// Incomplete reports an incomplete last line, which was not checked.
	Incomplete bool           `json:"incomplete,omitempty"`
	Problem    *audit.Problem `json:"problem,omitempty"`
}

func verifyJSON(r audit.Report) verifyResult {
	return verifyResult{
		OK: r.Problem == nil, Entries: r.Entries, Segments: r.Segments, Digests: r.Digests,
		SignedThrough: r.SignedThrough, Unsigned: r.Unsigned, LastDigest: r.LastDigest, From: r.From,
		Head: r.Head, Incomplete: r.Incomplete, Problem: r.Problem,
	}
}

// parseTime reads an RFC 3339 time, a date (midnight, local time) or a
// duration before now; "" is the zero time.
func parseTime(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, time.Local); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a time: use RFC 3339 (2026-03-14T15:00:00Z), a date (2026-03-14) or a duration ago (24h)", strings.TrimSpace(s))
}

// printJSONLine prints v as one line of JSON Lines.
func (m *Main) printJSONLine(v any) error {
	return json.NewEncoder(m.Stdout).Encode(v)
}
