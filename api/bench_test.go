package api_test

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/whispersync/whispersync"
	"github.com/whispersync/whispersync/api"
	"github.com/whispersync/whispersync/ratelimit"
	"github.com/whispersync/whispersync/sqlite"
)

// benchConnections is the number of client connections of the load runs.
const benchConnections = 64

// loadResult summarizes one load run.
type loadResult struct {
	requests  int
	elapsed   time.Duration
	latencies []time.Duration
	statuses  map[int]int
}

func (r loadResult) rate() float64 { return float64(r.requests) / r.elapsed.Seconds() }

func (r loadResult) p99() time.Duration {
	slices.Sort(r.latencies)
	return r.latencies[len(r.latencies)*99/100]
}

// load sends n requests over conns connections, each connection with its
// own client, built by newRequest(connection, sequence). Each connection
// first completes its TLS handshake with a GET of warmup, untimed, so the
// figures are of a steady state.
func load(tb testing.TB, base *http.Client, warmup string, n, conns int, newRequest func(conn, seq int) *http.Request) loadResult {
	tb.Helper()
	var next atomic.Int64
	var mu sync.Mutex
	res := loadResult{statuses: map[int]int{}, latencies: make([]time.Duration, 0, n)}
	var wg, ready sync.WaitGroup
	begin := make(chan struct{})
	for c := range conns {
		tr := base.Transport.(*http.Transport).Clone()
		tr.MaxConnsPerHost, tr.MaxIdleConnsPerHost = 1, 1
		client := &http.Client{Transport: tr}
		ready.Add(1)
		wg.Go(func() {
			defer tr.CloseIdleConnections()
			if resp, err := client.Get(warmup); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
			}
			ready.Done()
			<-begin
			for {
				seq := int(next.Add(1)) - 1
				if seq >= n {
					return
				}
				t0 := time.Now()
				resp, err := client.Do(newRequest(c, seq))
				if err != nil {
					tb.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				d := time.Since(t0)
				mu.Lock()
				res.latencies = append(res.latencies, d)
				res.statuses[resp.StatusCode]++
				mu.Unlock()
			}
		})
	}
	ready.Wait()
	start := time.Now()
	close(begin)
	wg.Wait()
	res.elapsed = time.Since(start)
	res.requests = len(res.latencies)
	return res
}

// BenchmarkUploadHTTPS measures authenticated HTTPS uploads through the
// whole edge (filter, CORS, token lookup, rate limit, scope) and intake
// (validation, sealing, object write, queue send) at 64 connections, in
// the same run as three baselines:
//
//   - bare: a TLS handler that only reads the body and responds;
//   - floor: the bare handler plus one durable SQLite insert of the body,
//     through the same group commit and settings as the product's store,
//     and nothing else: the least any upload that is durable before its
//     response can cost;
//   - edge: GET /v1/session, the whole edge and authentication without
//     the pipeline.
//
// b.N is the number of requests of each; run with -benchtime=10000x.
func BenchmarkUploadHTTPS(b *testing.B) {
	h := newHarness(b, api.Options{Principal: ratelimit.Config{Rate: 1e9, Burst: 1 << 30}})
	tokens := make([]string, benchConnections)
	for i := range tokens {
		tokens[i] = h.token(fmt.Sprintf("bench%02d", i))
	}
	upload := func(url string, withToken bool) func(conn, seq int) *http.Request {
		return func(conn, seq int) *http.Request {
			body := fmt.Sprintf("Call Lena about invoice %d tomorrow and send the budget to Marcus before the standup.", seq)
			r, _ := http.NewRequest(http.MethodPost, url+"/v1/memos", strings.NewReader(body))
			r.Header.Set("Content-Type", "text/plain")
			if withToken {
				r.Header.Set("Authorization", "Bearer "+tokens[conn])
			}
			return r
		}
	}

	bare := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, `{"memo_id":"m_x","status":"queued"}`)
	}))
	bare.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	bare.StartTLS()
	defer bare.Close()

	floorDB, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "floor.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer floorDB.Close()
	floorTables := floorDB.Tables()
	var floorSeq atomic.Int64
	floor := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err == nil {
			item := whispersync.Item{Owner: "floor", Key: strconv.FormatInt(floorSeq.Add(1), 10), Attrs: map[string]string{"body": string(body)}}
			err = floorTables.PutItem(r.Context(), "memos", item, whispersync.IfAbsent)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, `{"memo_id":"m_x","status":"queued"}`)
	}))
	floor.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	floor.StartTLS()
	defer floor.Close()

	// GET /v1/session passes the whole edge and authentication but reads
	// no memo, so it isolates the edge's cost from the pipeline's.
	edge := func(conn, seq int) *http.Request {
		r, _ := http.NewRequest(http.MethodGet, h.ts.URL+"/v1/session", nil)
		r.Header.Set("Authorization", "Bearer "+tokens[conn])
		return r
	}

	b.ResetTimer()
	bareRes := load(b, bare.Client(), bare.URL+"/healthz", b.N, benchConnections, upload(bare.URL, false))
	floorRes := load(b, floor.Client(), floor.URL+"/healthz", b.N, benchConnections, upload(floor.URL, false))
	apiRes := load(b, h.client, h.ts.URL+"/healthz", b.N, benchConnections, upload(h.ts.URL, true))
	edgeRes := load(b, h.client, h.ts.URL+"/healthz", b.N, benchConnections, edge)
	b.StopTimer()

	if apiRes.statuses[http.StatusAccepted] != b.N {
		b.Fatalf("API statuses: got %v, want %d × 202", apiRes.statuses, b.N)
	}
	if floorRes.statuses[http.StatusAccepted] != b.N {
		b.Fatalf("floor statuses: got %v, want %d × 202", floorRes.statuses, b.N)
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(apiRes.rate(), "api_req/s")
	b.ReportMetric(float64(apiRes.p99().Microseconds())/1000, "api_p99_ms")
	b.ReportMetric(bareRes.rate(), "bare_req/s")
	b.ReportMetric(float64(bareRes.p99().Microseconds())/1000, "bare_p99_ms")
	b.ReportMetric(apiRes.rate()/bareRes.rate(), "api/bare")
	b.ReportMetric(floorRes.rate(), "floor_req/s")
	b.ReportMetric(floorRes.rate()/bareRes.rate(), "floor/bare")
	b.ReportMetric(apiRes.rate()/floorRes.rate(), "api/floor")
	b.ReportMetric(edgeRes.rate(), "edge_req/s")
	b.ReportMetric(float64(edgeRes.p99().Microseconds())/1000, "edge_p99_ms")
	b.ReportMetric(edgeRes.rate()/bareRes.rate(), "edge/bare")
}

// TestOverloadHoldsLimits sends ten times what the limits allow, from 64
// connections of 8 principals: no request fails with a 5xx, and no
// principal gets more than its burst plus its rate over the run.
func TestOverloadHoldsLimits(t *testing.T) {
	cfg := ratelimit.Config{Rate: 10, Burst: 20}
	h := newHarness(t, api.Options{Principal: cfg})
	const principals = 8
	tokens := make([]string, principals)
	for i := range tokens {
		tokens[i] = h.token(fmt.Sprintf("load%d", i))
	}
	// 8 principals may make 8 × 20 requests at once; send ten times that.
	n := 10 * principals * cfg.Burst
	res := load(t, h.client, h.ts.URL+"/healthz", n, benchConnections, func(conn, seq int) *http.Request {
		r, _ := http.NewRequest(http.MethodGet, h.ts.URL+"/v1/memos?limit=1", nil)
		r.Header.Set("Authorization", "Bearer "+tokens[conn%principals])
		return r
	})
	for status, count := range res.statuses {
		if status >= 500 {
			t.Errorf("status %d: got %d responses, want none", status, count)
		}
		if status != http.StatusOK && status != http.StatusTooManyRequests {
			t.Errorf("status %d: got %d responses, want only 200 and 429", status, count)
		}
	}
	allowed := float64(principals) * (float64(cfg.Burst) + cfg.Rate*res.elapsed.Seconds() + 1)
	if got := res.statuses[http.StatusOK]; float64(got) > allowed {
		t.Errorf("accepted: got %d, want at most %.0f (burst plus rate over %s)", got, allowed, res.elapsed)
	}
	if res.statuses[http.StatusTooManyRequests] == 0 {
		t.Error("no request was refused at ten times the limit")
	}
}
