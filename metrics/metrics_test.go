package metrics_test

import (
	"context"
	"io"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/auth"
	"github.com/whispersync/whispersync/detect"
	"github.com/whispersync/whispersync/metrics"
	"github.com/whispersync/whispersync/seal"
)

var now = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

type fakeQueue struct{}

func (fakeQueue) Depth(context.Context) (int, int, error) { return 3, 1, nil }

func (fakeQueue) ListDeadLetters(context.Context, int) ([]whispersync.DeadLetter, error) {
	return []whispersync.DeadLetter{{ID: "a", DeadAt: now.Add(-90 * time.Second)}, {ID: "b", DeadAt: now.Add(-10 * time.Second)}}, nil
}

type fakeSealer struct{}

func (fakeSealer) Metrics() seal.Metrics {
	return seal.Metrics{
		KeyUsage:  []seal.KeyUsage{{KeyID: "data-key/pii", Operation: seal.OpSeal, Count: 7}, {KeyID: "alias/whispersync:v1", Operation: seal.OpDecrypt, Count: 2}},
		CacheHits: 3, CacheMisses: 1,
	}
}

func findings(context.Context) ([]detect.Finding, error) {
	return []detect.Finding{
		{Type: "brute_force", Severity: detect.High},
		{Type: "brute_force", Severity: detect.High},
		{Type: "bulk_read", Severity: detect.Medium},
		{Type: "bulk_read", Severity: detect.Low, Archived: true},
	}, nil
}

func newMetrics() *metrics.Metrics {
	return metrics.New(metrics.Sources{Sealer: fakeSealer{}, Queue: fakeQueue{}, Findings: findings, Now: func() time.Time { return now }})
}

func TestHandlerExportsEverySecurityMetric(t *testing.T) {
	m := newMetrics()
	auth.Failures.Add("password", 1)
	m.ObserveRequest("GET /healthz", 200, 3*time.Millisecond)
	m.ObserveRequest("", 404, time.Millisecond)

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`whispersync_auth_failures_total{reason="password"}`,
		`whispersync_key_usage_total{key_id="data-key/pii",operation="seal"} 7`,
		`whispersync_key_usage_total{key_id="alias/whispersync:v1",operation="decrypt"} 2`,
		`whispersync_data_key_cache_hit_ratio 0.75`,
		`whispersync_data_key_cache_lookups_total{result="hit"} 3`,
		`whispersync_findings{severity="high",type="brute_force"} 2`,
		`whispersync_findings{severity="medium",type="bulk_read"} 1`,
		`whispersync_dead_letters 2`,
		`whispersync_dead_letter_oldest_age_seconds 90`,
		`whispersync_queue_messages{state="visible"} 3`,
		`whispersync_queue_messages{state="in_flight"} 1`,
		`whispersync_http_request_duration_seconds_count{route="GET /healthz",status="200"} 1`,
		`whispersync_http_request_duration_seconds_count{route="unmatched",status="404"} 1`,
		`whispersync_metrics_read_errors 0`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics: missing %s in\n%s", want, body)
		}
	}
	if strings.Contains(string(body), `severity="low"`) {
		t.Errorf("metrics: an archived finding is counted:\n%s", body)
	}
}

func TestSampleReadsCountersAndGauges(t *testing.T) {
	m := newMetrics()
	m.ObserveRequest("GET /healthz", 200, time.Millisecond)
	s, err := m.Sample(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]float64{metrics.SeriesRequests: 1, metrics.SeriesKeyUsage: 9} {
		if got := s.Counters[name]; got != want {
			t.Errorf("counter %s: got %v, want %v", name, got, want)
		}
	}
	for name, want := range map[string]float64{
		metrics.SeriesFindingsHigh: 2, metrics.SeriesFindingsMedium: 1, metrics.SeriesFindingsLow: 0,
		metrics.SeriesDeadLetters: 2, metrics.SeriesDeadLetterAge: 90, metrics.SeriesQueueDepth: 4, metrics.SeriesCacheHitRatio: 0.75,
	} {
		if got := s.Gauges[name]; got != want {
			t.Errorf("gauge %s: got %v, want %v", name, got, want)
		}
	}
}

func sample(counter, gauge float64) metrics.Sample {
	return metrics.Sample{Counters: map[string]float64{"c": counter}, Gauges: map[string]float64{"g": gauge}}
}

func rangeOf(t *testing.T, snap metrics.Snapshot, name string) metrics.RangeSeries {
	t.Helper()
	for _, r := range snap.Ranges {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("range %s: missing", name)
	return metrics.RangeSeries{}
}

func TestSeriesRecordsDeltasPerStep(t *testing.T) {
	s, err := metrics.NewSeries("")
	if err != nil {
		t.Fatal(err)
	}
	// Counter totals 5, 8, 10 and then 4 after a restart, one a minute.
	for i, total := range []float64{5, 8, 10, 4} {
		if err := s.Record(now.Add(time.Duration(i)*time.Minute), sample(total, float64(i))); err != nil {
			t.Fatal(err)
		}
	}
	snap := s.Snapshot(now)

	hour := rangeOf(t, snap, "hour")
	var got []float64
	for _, p := range hour.Points {
		got = append(got, p.Values["c"])
	}
	if want := []float64{5, 3, 2, 4}; !equal(got, want) {
		t.Errorf("hour counter: got %v, want %v", got, want)
	}
	day := rangeOf(t, snap, "day")
	if len(day.Points) != 1 || day.Points[0].Values["c"] != 14 || day.Points[0].Values["g"] != 3 {
		t.Errorf("day: got %+v, want one point with c=14 (summed) and g=3 (last)", day.Points)
	}
	if hour.StepSeconds != 60 || day.StepSeconds != 300 || rangeOf(t, snap, "week").StepSeconds != 3600 {
		t.Errorf("steps: got %d, %d, want 60, 300", hour.StepSeconds, day.StepSeconds)
	}
}

func TestSeriesDropsPointsOlderThanTheRange(t *testing.T) {
	s, err := metrics.NewSeries("")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 90 {
		if err := s.Record(now.Add(time.Duration(i)*time.Minute), sample(float64(i), 0)); err != nil {
			t.Fatal(err)
		}
	}
	hour := rangeOf(t, s.Snapshot(now), "hour")
	if len(hour.Points) != 60 {
		t.Fatalf("hour points: got %d, want 60", len(hour.Points))
	}
	if first := hour.Points[0].Time; !first.Equal(now.Add(30 * time.Minute)) {
		t.Errorf("oldest hour point: got %v, want %v", first, now.Add(30*time.Minute))
	}
}

func TestSeriesSurvivesARestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "metrics", "series.json")
	s, err := metrics.NewSeries(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Record(now, sample(10, 1)); err != nil {
		t.Fatal(err)
	}
	if err := s.Record(now.Add(time.Minute), sample(12, 2)); err != nil {
		t.Fatal(err)
	}

	again, err := metrics.NewSeries(path)
	if err != nil {
		t.Fatal(err)
	}
	// The new process counts from zero again.
	if err := again.Record(now.Add(2*time.Minute), sample(1, 3)); err != nil {
		t.Fatal(err)
	}
	hour := rangeOf(t, again.Snapshot(now), "hour")
	var got []float64
	for _, p := range hour.Points {
		got = append(got, p.Values["c"])
	}
	if want := []float64{10, 2, 1}; !equal(got, want) {
		t.Errorf("hour counter after restart: got %v, want %v", got, want)
	}
}

func equal(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
