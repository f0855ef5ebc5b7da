package metrics

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Names of the dashboard's series. Counters are summed over each point's
// step; gauges hold the last value seen in it.
const (
	SeriesAuthFailures   = "auth_failures"
	SeriesRateLimited    = "rate_limited"
	SeriesEdgeRejections = "edge_rejections"
	SeriesRequests       = "requests"
	SeriesKeyUsage       = "key_usage"
	SeriesFindingsHigh   = "findings_high"
	SeriesFindingsMedium = "findings_medium"
	SeriesFindingsLow    = "findings_low"
	SeriesDeadLetters    = "dead_letters"
	SeriesDeadLetterAge  = "dead_letter_oldest_age_seconds"
	SeriesQueueDepth     = "queue_depth"
	SeriesCacheHitRatio  = "data_key_cache_hit_ratio"
)

// Sample is one reading of the dashboard's values: counters as totals
// since the process started, gauges as they are.
type Sample struct {
	Counters map[string]float64
	Gauges   map[string]float64
}

// Range is one window of the dashboard: Points points of Step each.
type Range struct {
	Name   string
	Step   time.Duration
	Points int
}

// DefaultRanges are the last hour by minute, the last day by five minutes
// and the last week by hour: 516 points in all, so the series stay small
// in memory and on disk.
var DefaultRanges = []Range{
	{Name: "hour", Step: time.Minute, Points: 60},
	{Name: "day", Step: 5 * time.Minute, Points: 288},
	{Name: "week", Step: time.Hour, Points: 168},
}

// DefaultSampleInterval is how often Run samples.
const DefaultSampleInterval = time.Minute

// Point is the values of one step, which starts at Time.
type Point struct {
	Time   time.Time          `json:"t"`
	Values map[string]float64 `json:"v"`
}

// RangeSeries is the points of one range, oldest first.
type RangeSeries struct {
	Name        string `json:"name"`
	StepSeconds int    `json:"step_seconds"`
	// Capacity is the most points the range keeps.
	Capacity int     `json:"capacity"`
	Points   []Point `json:"points"`
}

// Snapshot is the body of GET /v1/admin/dashboard/series.
type Snapshot struct {
	GeneratedAt time.Time     `json:"generated_at"`
	Counters    []string      `json:"counters"`
	Gauges      []string      `json:"gauges"`
	Ranges      []RangeSeries `json:"ranges"`
}

// Series keeps ring buffers of the dashboard's values for each range. The
// buffers are written to a file after every sample and read back when the
// Series is made, so a restart keeps the history; counters restart at zero
// with the process, which Record detects as a decrease. It is safe for
// concurrent use.
type Series struct {
	path   string
	ranges []Range

	mu     sync.Mutex
	points [][]Point
	prev   map[string]float64
	kinds  map[string]bool // true for a counter
}

// persisted is the file format of a Series.
type persisted struct {
	Version int                `json:"version"`
	Kinds   map[string]bool    `json:"kinds"`
	Ranges  map[string][]Point `json:"ranges"`
}

// NewSeries returns a Series with the default ranges, kept in the file
// path ("" for memory only). It reads the file when there is one.
func NewSeries(path string) (*Series, error) {
	s := &Series{path: path, ranges: DefaultRanges, points: make([][]Point, len(DefaultRanges)), kinds: map[string]bool{}}
	if path == "" {
		return s, nil
	}
	data, err := os.ReadFile(path) // #nosec G304 -- the path is the operator's data directory
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("metrics: read series: %w", err)
	}
	var p persisted
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("metrics: read series %s: %w: delete the file to start afresh", path, err)
	}
	for k, v := range p.Kinds {
		s.kinds[k] = v
	}
	for i, r := range s.ranges {
		pts := p.Ranges[r.Name]
		if len(pts) > r.Points {
			pts = pts[len(pts)-r.Points:]
		}
		s.points[i] = pts
	}
	return s, nil
}

// Record adds a sample taken at now to every range and writes the file.
func (s *Series) Record(now time.Time, sm Sample) error {
	now = now.UTC()
	s.mu.Lock()
	values := map[string]float64{}
	for k, v := range sm.Counters {
		d := v - s.prev[k]
		if d < 0 {
			// The process restarted and the counter with it.
			d = v
		}
		values[k] = d
		s.kinds[k] = true
	}
	for k, v := range sm.Gauges {
		values[k] = v
		s.kinds[k] = false
	}
	s.prev = clone(sm.Counters)

	for i, r := range s.ranges {
		s.points[i] = add(s.points[i], r, now, values, s.kinds)
	}
	data, err := s.encode()
	s.mu.Unlock()
	if err != nil || s.path == "" {
		return err
	}
	return writeFile(s.path, data)
}

// add merges values into the point of now's step, or starts one, and drops
// points older than the range.
func add(pts []Point, r Range, now time.Time, values map[string]float64, counter map[string]bool) []Point {
	t := now.Truncate(r.Step)
	if n := len(pts); n > 0 && pts[n-1].Time.Equal(t) {
		last := pts[n-1].Values
		for k, v := range values {
			if counter[k] {
				last[k] += v
			} else {
				last[k] = v
			}
		}
	} else {
		pts = append(pts, Point{Time: t, Values: clone(values)})
	}
	oldest := t.Add(-time.Duration(r.Points-1) * r.Step)
	i := 0
	for i < len(pts) && pts[i].Time.Before(oldest) {
		i++
	}
	if i > 0 {
		pts = append(pts[:0:0], pts[i:]...)
	}
	return pts
}

func clone(m map[string]float64) map[string]float64 {
	out := make(map[string]float64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (s *Series) encode() ([]byte, error) {
	p := persisted{Version: 1, Kinds: s.kinds, Ranges: map[string][]Point{}}
	for i, r := range s.ranges {
		p.Ranges[r.Name] = s.points[i]
	}
	data, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("metrics: encode series: %w", err)
	}
	return data, nil
}

// Snapshot returns a copy of every range.
func (s *Series) Snapshot(now time.Time) Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := Snapshot{GeneratedAt: now.UTC(), Counters: []string{}, Gauges: []string{}}
	for k, counter := range s.kinds {
		if counter {
			out.Counters = append(out.Counters, k)
		} else {
			out.Gauges = append(out.Gauges, k)
		}
	}
	for i, r := range s.ranges {
		rs := RangeSeries{Name: r.Name, StepSeconds: int(r.Step / time.Second), Capacity: r.Points, Points: make([]Point, len(s.points[i]))}
		for j, p := range s.points[i] {
			rs.Points[j] = Point{Time: p.Time, Values: clone(p.Values)}
		}
		out.Ranges = append(out.Ranges, rs)
	}
	return out
}

// Run records a sample of m every interval until ctx ends, the first at
// once. Failures are logged and the next sample is taken as usual.
func (s *Series) Run(ctx context.Context, m *Metrics, interval time.Duration, log *slog.Logger) {
	if interval <= 0 {
		interval = DefaultSampleInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		sm, err := m.Sample(ctx)
		if err != nil && ctx.Err() == nil {
			log.Warn("read dashboard sample failed", "err", err)
		}
		if err := s.Record(m.src.Now(), sm); err != nil {
			log.Error("record dashboard sample failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// writeFile replaces name with data durably: a temporary file in the same
// folder, synced, then renamed over it.
func writeFile(name string, data []byte) error {
	dir := filepath.Dir(name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("metrics: write series: %w", err)
	}
	f, err := os.CreateTemp(dir, ".series-*")
	if err != nil {
		return fmt.Errorf("metrics: write series: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, name)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("metrics: write series: %w", err)
	}
	return nil
}
