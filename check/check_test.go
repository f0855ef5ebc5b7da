package check_test

import (
	"strings"
	"testing"
	"time"

	"github.com/whispersync/whispersync/check"
)

var now = time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)

// good returns facts that pass every check.
func good() *check.Facts {
	return &check.Facts{
		Now: now,
		Keys: &check.Keys{
			KEKRotation: 90 * 24 * time.Hour, DataKeyRotation: 30 * 24 * time.Hour,
			CurrentKEKCreated: now.Add(-10 * 24 * time.Hour), KeyFileOutsideData: true, KeyFileMode: 0o600,
		},
		Secrets:     &check.Secrets{Store: true},
		TLS:         &check.TLS{Enabled: true, Listen: "0.0.0.0:8443"},
		Audit:       &check.Audit{Digests: 3, LastDigest: now.Add(-time.Hour)},
		Detection:   &check.Detection{Enabled: true, Interval: 15 * time.Minute, LastRun: now.Add(-10 * time.Minute), Notifiers: 1},
		Backup:      &check.Backup{LastBackup: now.Add(-20 * time.Hour), LastDrill: now.Add(-7 * 24 * time.Hour), LastDrillOK: true},
		Residency:   &check.Residency{Allowed: []string{"eu-west-1"}},
		CORS:        &check.CORS{Origins: []string{"https://whispersync.app"}},
		Limits:      []check.Limit{{Name: "rate", Value: 10, Default: 10}, {Name: "daily-quota", Value: 500, Default: 1000}},
		DataDirMode: 0o700,
	}
}

func TestGoodFactsPass(t *testing.T) {
	for _, r := range check.Run(good()) {
		if r.Status != check.Pass {
			t.Errorf("%s: got %s (%s), want pass", r.ID, r.Status, r.Detail)
		}
	}
}

// TestEachCheckFails breaks one fact at a time and expects the named check
// to fail with a remediation and every other check to pass.
func TestEachCheckFails(t *testing.T) {
	tests := []struct {
		id        string
		name      string
		breakFact func(f *check.Facts)
	}{
		{"keys.rotation", "no key policy", func(f *check.Facts) { f.Keys = nil }},
		{"keys.rotation", "rotation off", func(f *check.Facts) { f.Keys.KEKRotation = 0 }},
		{"keys.rotation", "data keys never rotate", func(f *check.Facts) { f.Keys.DataKeyRotation = 0 }},
		{"keys.rotation", "rotation longer than a year", func(f *check.Facts) { f.Keys.KEKRotation = 400 * 24 * time.Hour }},
		{"keys.rotation", "overdue rotation", func(f *check.Facts) { f.Keys.CurrentKEKCreated = now.Add(-100 * 24 * time.Hour) }},
		{"keys.file", "inside the data directory", func(f *check.Facts) { f.Keys.KeyFileOutsideData = false }},
		{"keys.file", "readable by the group", func(f *check.Facts) { f.Keys.KeyFileMode = 0o640 }},
		{"secrets.store", "no store", func(f *check.Facts) { f.Secrets = nil }},
		{"secrets.store", "plaintext setting", func(f *check.Facts) { f.Secrets.PlaintextSettings = []string{"WHISPERSYNC_SLACK_WEBHOOK"} }},
		{"tls", "unknown listener", func(f *check.Facts) { f.TLS = nil }},
		{"tls", "plain HTTP", func(f *check.Facts) { f.TLS.Enabled = false }},
		{"audit.signed", "no digest", func(f *check.Facts) { f.Audit.Digests = 0 }},
		{"audit.verify", "tampered log", func(f *check.Facts) { f.Audit.Problem = "hash does not match" }},
		{"detection", "off", func(f *check.Facts) { f.Detection.Enabled = false }},
		{"detection", "never ran", func(f *check.Facts) { f.Detection.LastRun = time.Time{} }},
		{"detection", "stale", func(f *check.Facts) { f.Detection.LastRun = now.Add(-2 * time.Hour) }},
		{"notifiers", "none", func(f *check.Facts) { f.Detection.Notifiers = 0 }},
		{"backup.schedule", "no backup", func(f *check.Facts) { f.Backup.LastBackup = time.Time{} }},
		{"backup.schedule", "old backup", func(f *check.Facts) { f.Backup.LastBackup = now.Add(-3 * 24 * time.Hour) }},
		{"backup.restore", "never drilled", func(f *check.Facts) { f.Backup.LastDrill = time.Time{} }},
		{"backup.restore", "failed drill", func(f *check.Facts) { f.Backup.LastDrillOK = false }},
		{"backup.restore", "old drill", func(f *check.Facts) { f.Backup.LastDrill = now.Add(-60 * 24 * time.Hour) }},
		{"backup.restore", "key version retired", func(f *check.Facts) { f.Backup.Unrestorable = []string{"20261201T030000Z-00aa (version 1)"} }},
		{"backup.restore", "manifest unreadable", func(f *check.Facts) { f.Backup.Unreadable = "manifest 20261201T030000Z-00aa: corrupt" }},
		{"residency", "unset", func(f *check.Facts) { f.Residency = nil }},
		{"residency", "location outside", func(f *check.Facts) { f.Residency.Problem = "objects are in us-east-1" }},
		{"limits", "unknown", func(f *check.Facts) { f.Limits = nil }},
		{"limits", "higher rate", func(f *check.Facts) { f.Limits[0].Value = 50 }},
		{"limits", "quota off", func(f *check.Facts) { f.Limits[1].Value = 0 }},
		{"cors", "wildcard", func(f *check.Facts) { f.CORS.Origins = []string{"*"} }},
		{"cors", "unknown", func(f *check.Facts) { f.CORS = nil }},
		{"datadir.mode", "world readable", func(f *check.Facts) { f.DataDirMode = 0o755 }},
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		covered[tt.id] = true
		t.Run(tt.id+"/"+tt.name, func(t *testing.T) {
			f := good()
			tt.breakFact(f)
			results := check.Run(f)
			for _, r := range results {
				switch {
				case r.ID == tt.id && r.Status != check.Fail:
					t.Errorf("%s: got %s (%s), want fail", r.ID, r.Status, r.Detail)
				case r.ID == tt.id && (r.Remediation == "" || r.Detail == ""):
					t.Errorf("%s: got remediation %q and detail %q, want both", r.ID, r.Remediation, r.Detail)
				case r.ID != tt.id && r.Status == check.Fail && !sharedFact(tt.id, r.ID):
					t.Errorf("%s: got fail (%s), want pass", r.ID, r.Detail)
				}
			}
			if check.Failed(results) == 0 {
				t.Error("Failed: got 0, want at least 1")
			}
		})
	}
	for _, c := range check.Checklist {
		if !covered[c.ID] {
			t.Errorf("check %s has no test that makes it fail", c.ID)
		}
	}
}

// sharedFact reports whether two checks read the same fact, so that
// breaking it fails both.
func sharedFact(a, b string) bool {
	group := func(id string) string { return strings.SplitN(id, ".", 2)[0] }
	return group(a) == group(b) || (a == "detection" && b == "notifiers") || (a == "notifiers" && b == "detection")
}
