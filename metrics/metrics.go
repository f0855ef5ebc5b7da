// Package metrics exports the security metrics of WhisperSync in the
// Prometheus text format and keeps the time series of the security
// dashboard.
//
// # Metrics
//
// Counters are totals since the process started:
//
//	whispersync_auth_failures_total{reason}          failed authentication attempts
//	whispersync_rate_limited_total{kind}             requests rejected by a rate limit
//	whispersync_edge_rejections_total{reason}        requests rejected by the edge filter
//	whispersync_key_usage_total{key_id,operation}    key operations, by KEK version or data-key class
//	whispersync_data_key_cache_lookups_total{result} data-key lookups, hit or miss
//	whispersync_http_request_duration_seconds{route,status} handled requests, a histogram
//
// Gauges are read from the stores at scrape time:
//
//	whispersync_data_key_cache_hit_ratio             hits over all lookups
//	whispersync_findings{severity,type}              open (not archived) findings
//	whispersync_dead_letters                         messages in the dead-letter queue
//	whispersync_dead_letter_oldest_age_seconds       age of the oldest dead letter
//	whispersync_queue_messages{state}                queued memos, visible or in flight
//
// Labels never carry user content: routes are patterns such as
// "GET /v1/memos/{id}", and key ids name KEK versions or data-key classes,
// never users.
package metrics

import (
	"context"
	"errors"
	"expvar"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/app"
	"github.com/whispersync/whispersync/detect"
	"github.com/whispersync/whispersync/seal"
)

// Names of the expvar maps that the auth and api packages count into.
const (
	expvarAuthFailures   = "whispersync_auth_failures"
	expvarRateLimited    = "whispersync_rate_limited"
	expvarEdgeRejections = "whispersync_edge_rejections"
)

// maxDeadLetters bounds the dead letters read per scrape; a deeper queue
// is reported as this many.
const maxDeadLetters = 10_000

// Queue is the part of the memo queue and its dead-letter queue that the
// metrics read; *sqlite.Queue is one.
type Queue interface {
	Depth(ctx context.Context) (visible, inFlight int, err error)
	ListDeadLetters(ctx context.Context, max int) ([]whispersync.DeadLetter, error)
}

// Sources are the stores the metrics read at scrape time. A nil member is
// left out.
type Sources struct {
	Sealer   interface{ Metrics() seal.Metrics }
	Queue    Queue
	Findings func(ctx context.Context) ([]detect.Finding, error)
	// Now returns the current time; default time.Now.
	Now func() time.Time
}

// AppSources returns the sources of an open data directory.
func AppSources(a *app.App) Sources {
	return Sources{Sealer: a.Sealer, Queue: a.Queue, Findings: a.Findings().List}
}

// Metrics collects the security metrics. It is safe for concurrent use.
type Metrics struct {
	src      Sources
	reg      *prometheus.Registry
	requests *prometheus.HistogramVec
	total    atomic.Uint64
}

// New returns the metrics over src, in a registry of their own.
func New(src Sources) *Metrics {
	if src.Now == nil {
		src.Now = time.Now
	}
	m := &Metrics{src: src, reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "whispersync_http_request_duration_seconds",
		Help:    "Time to answer a request, by route pattern and status.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"route", "status"})
	m.reg.MustRegister(m.requests, collector{m})
	return m
}

// Handler serves the metrics in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// Registry returns the registry, for tests and for adding collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// ObserveRequest counts one handled request. route is the pattern that
// matched, "" when none did.
func (m *Metrics) ObserveRequest(route string, status int, d time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Observe(d.Seconds())
	m.total.Add(1)
}

// state is a reading of the stores at one moment.
type state struct {
	findings     map[[2]string]int // severity, type
	deadLetters  int
	oldestDead   time.Duration
	visible      int
	inFlight     int
	sealer       seal.Metrics
	sealerKnown  bool
	readFailures []error
}

func (m *Metrics) read(ctx context.Context) state {
	s := state{findings: map[[2]string]int{}}
	if m.src.Findings != nil {
		fs, err := m.src.Findings(ctx)
		if err != nil {
			s.readFailures = append(s.readFailures, fmt.Errorf("metrics: read findings: %w", err))
		}
		for _, f := range fs {
			if !f.Archived {
				s.findings[[2]string{string(f.Severity), f.Type}]++
			}
		}
	}
	if m.src.Queue != nil {
		letters, err := m.src.Queue.ListDeadLetters(ctx, maxDeadLetters)
		if err != nil {
			s.readFailures = append(s.readFailures, fmt.Errorf("metrics: read dead letters: %w", err))
		}
		s.deadLetters = len(letters)
		now := m.src.Now()
		for _, l := range letters {
			s.oldestDead = max(s.oldestDead, now.Sub(l.DeadAt))
		}
		s.visible, s.inFlight, err = m.src.Queue.Depth(ctx)
		if err != nil {
			s.readFailures = append(s.readFailures, fmt.Errorf("metrics: read queue depth: %w", err))
		}
	}
	if m.src.Sealer != nil {
		s.sealer, s.sealerKnown = m.src.Sealer.Metrics(), true
	}
	return s
}

// expvarCounts returns the counts of the expvar map name, empty when it
// is not published.
func expvarCounts(name string) map[string]float64 {
	out := map[string]float64{}
	v, ok := expvar.Get(name).(*expvar.Map)
	if !ok {
		return out
	}
	v.Do(func(kv expvar.KeyValue) {
		if n, ok := kv.Value.(*expvar.Int); ok {
			out[kv.Key] = float64(n.Value())
		}
	})
	return out
}

func sum(m map[string]float64) float64 {
	var t float64
	for _, v := range m {
		t += v
	}
	return t
}

// Sample returns the dashboard's values now: counters as totals since the
// process started, gauges as they are. The error reports a store that
// could not be read; the sample holds what could.
func (m *Metrics) Sample(ctx context.Context) (Sample, error) {
	st := m.read(ctx)
	s := Sample{Counters: map[string]float64{}, Gauges: map[string]float64{}}
	s.Counters[SeriesAuthFailures] = sum(expvarCounts(expvarAuthFailures))
	s.Counters[SeriesRateLimited] = sum(expvarCounts(expvarRateLimited))
	s.Counters[SeriesEdgeRejections] = sum(expvarCounts(expvarEdgeRejections))
	s.Counters[SeriesRequests] = float64(m.total.Load())
	var uses uint64
	for _, u := range st.sealer.KeyUsage {
		uses += u.Count
	}
	s.Counters[SeriesKeyUsage] = float64(uses)
	for _, sev := range []detect.Severity{detect.High, detect.Medium, detect.Low} {
		s.Gauges["findings_"+string(sev)] = 0
	}
	for k, n := range st.findings {
		s.Gauges["findings_"+k[0]] += float64(n)
	}
	s.Gauges[SeriesDeadLetters] = float64(st.deadLetters)
	s.Gauges[SeriesDeadLetterAge] = st.oldestDead.Seconds()
	s.Gauges[SeriesQueueDepth] = float64(st.visible + st.inFlight)
	if st.sealerKnown {
		s.Gauges[SeriesCacheHitRatio] = st.sealer.HitRate()
	}
	return s, errors.Join(st.readFailures...)
}

// collector reads the counters and the stores at scrape time.
type collector struct{ m *Metrics }

var (
	descAuthFailures = prometheus.NewDesc("whispersync_auth_failures_total", "Failed authentication attempts, by reason: password, token, session, service, oidc, blocked, lockout (refused while a failure wait or lockout lasts).", []string{"reason"}, nil)
	descRateLimited  = prometheus.NewDesc("whispersync_rate_limited_total", "Requests rejected by a rate limit, by kind: principal or anonymous.", []string{"kind"}, nil)
	descEdge         = prometheus.NewDesc("whispersync_edge_rejections_total", "Requests rejected by the edge filter, by reason.", []string{"reason"}, nil)
	descKeyUsage     = prometheus.NewDesc("whispersync_key_usage_total", "Key operations, by KEK version or data-key class and operation.", []string{"key_id", "operation"}, nil)
	descCacheLookups = prometheus.NewDesc("whispersync_data_key_cache_lookups_total", "Data-key lookups, by result: hit or miss.", []string{"result"}, nil)
	descCacheRatio   = prometheus.NewDesc("whispersync_data_key_cache_hit_ratio", "Data-key lookups answered from the cache over all lookups, 0 before the first.", nil, nil)
	descFindings     = prometheus.NewDesc("whispersync_findings", "Open threat-detection findings, by severity and type.", []string{"severity", "type"}, nil)
	descDeadLetters  = prometheus.NewDesc("whispersync_dead_letters", "Messages in the dead-letter queue.", nil, nil)
	descDeadAge      = prometheus.NewDesc("whispersync_dead_letter_oldest_age_seconds", "Age of the oldest message in the dead-letter queue, 0 when it is empty.", nil, nil)
	descQueue        = prometheus.NewDesc("whispersync_queue_messages", "Messages in the memo queue, by state: visible or in_flight.", []string{"state"}, nil)
	descReadErrors   = prometheus.NewDesc("whispersync_metrics_read_errors", "Stores that could not be read during this scrape.", nil, nil)
)

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descAuthFailures, descRateLimited, descEdge, descKeyUsage, descCacheLookups, descCacheRatio, descFindings, descDeadLetters, descDeadAge, descQueue, descReadErrors} {
		ch <- d
	}
}

// scrapeTimeout bounds the store reads of one scrape.
const scrapeTimeout = 10 * time.Second

func (c collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	st := c.m.read(ctx)

	for _, e := range []struct {
		desc *prometheus.Desc
		name string
	}{{descAuthFailures, expvarAuthFailures}, {descRateLimited, expvarRateLimited}, {descEdge, expvarEdgeRejections}} {
		for k, v := range expvarCounts(e.name) {
			ch <- prometheus.MustNewConstMetric(e.desc, prometheus.CounterValue, v, k)
		}
	}
	if st.sealerKnown {
		for _, u := range st.sealer.KeyUsage {
			ch <- prometheus.MustNewConstMetric(descKeyUsage, prometheus.CounterValue, float64(u.Count), u.KeyID, u.Operation)
		}
		ch <- prometheus.MustNewConstMetric(descCacheLookups, prometheus.CounterValue, float64(st.sealer.CacheHits), "hit")
		ch <- prometheus.MustNewConstMetric(descCacheLookups, prometheus.CounterValue, float64(st.sealer.CacheMisses), "miss")
		ch <- prometheus.MustNewConstMetric(descCacheRatio, prometheus.GaugeValue, st.sealer.HitRate())
	}
	for k, n := range st.findings {
		ch <- prometheus.MustNewConstMetric(descFindings, prometheus.GaugeValue, float64(n), k[0], k[1])
	}
	if c.m.src.Queue != nil {
		ch <- prometheus.MustNewConstMetric(descDeadLetters, prometheus.GaugeValue, float64(st.deadLetters))
		ch <- prometheus.MustNewConstMetric(descDeadAge, prometheus.GaugeValue, st.oldestDead.Seconds())
		ch <- prometheus.MustNewConstMetric(descQueue, prometheus.GaugeValue, float64(st.visible), "visible")
		ch <- prometheus.MustNewConstMetric(descQueue, prometheus.GaugeValue, float64(st.inFlight), "in_flight")
	}
	ch <- prometheus.MustNewConstMetric(descReadErrors, prometheus.GaugeValue, float64(len(st.readFailures)))
}
