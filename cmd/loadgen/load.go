package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
)

// loadConfig is one closed-loop run.
type loadConfig struct {
	// URL is the service's base URL; requests go to
	// <URL>/fhir/notify/Encounter/<id>.
	URL    string
	Secret string
	// Connections is the number of keep-alive connections, each with one
	// request in flight at a time.
	Connections int
	// Warmup is sent and not counted; Duration is the measured window.
	Warmup, Duration time.Duration
	Notifications    []notification
}

// Bounds on a run: the load stays small in connections and time.
const (
	maxConnections = 256
	maxDuration    = time.Minute
	maxWarmup      = 30 * time.Second
)

func (c loadConfig) validate() error {
	if err := c.checkBounds(); err != nil {
		return err
	}
	_, err := checkLoopbackURL(c.URL)
	return err
}

func (c loadConfig) checkBounds() error {
	switch {
	case c.Connections < 1 || c.Connections > maxConnections:
		return fmt.Errorf("-c %d: want 1 to %d connections", c.Connections, maxConnections)
	case c.Duration <= 0 || c.Duration > maxDuration:
		return fmt.Errorf("-d %s: want more than 0 and at most %s", c.Duration, maxDuration)
	case c.Warmup < 0 || c.Warmup > maxWarmup:
		return fmt.Errorf("-warmup %s: want 0 to %s", c.Warmup, maxWarmup)
	case len(c.Notifications) == 0:
		return fmt.Errorf("no notifications to send")
	}
	return nil
}

// statusTransportError is the status key of a request that got no HTTP
// answer (connection refused or reset, timeout).
const statusTransportError = "transport-error"

// loadResult is what a run measured, over the measured window only: a
// request counts when it started and ended inside it.
type loadResult struct {
	Requests  int64            `json:"requests"`
	PerSecond float64          `json:"requests_per_second"`
	Latency   latencies        `json:"latency_ms"`
	Status    map[string]int64 `json:"status"`
	// Errors counts every request not answered 204.
	Errors int64 `json:"errors"`
	// Sent counts every request sent, warm-up included: the denominator of
	// CPU per request.
	Sent int64 `json:"sent"`
}

type latencies struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// workerStats is one connection's record, merged after the run: nothing is
// shared while requests are in flight.
type workerStats struct {
	latency   []time.Duration
	status    map[int]int64
	transport int64
	sent      int64
}

// runLoad runs the closed loop: each of the connections sends the next
// notification as soon as the previous one is answered.
func runLoad(ctx context.Context, cfg loadConfig) (loadResult, error) {
	if err := cfg.validate(); err != nil {
		return loadResult{}, err
	}
	transport := &http.Transport{
		DialContext:         dialLoopback,
		MaxIdleConns:        cfg.Connections,
		MaxIdleConnsPerHost: cfg.Connections,
		MaxConnsPerHost:     cfg.Connections,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}
	defer transport.CloseIdleConnections()
	client := &http.Client{
		Transport:     transport,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	urls := make([]string, len(cfg.Notifications))
	for i, n := range cfg.Notifications {
		urls[i] = cfg.URL + "/fhir/notify/Encounter/" + n.id
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	begin := time.Now()
	from, until := begin.Add(cfg.Warmup), begin.Add(cfg.Warmup+cfg.Duration)
	// room for the expected count, so the hot path rarely grows a slice
	perWorker := int(cfg.Duration.Seconds()*50_000)/cfg.Connections + 1024
	stats := make([]workerStats, cfg.Connections)
	var wg sync.WaitGroup
	for w := range stats {
		st := &stats[w]
		st.latency = make([]time.Duration, 0, perWorker)
		st.status = map[int]int64{}
		header := http.Header{
			"Authorization": {"Bearer " + cfg.Secret},
			"Content-Type":  {"application/fhir+json"},
		}
		next := w * len(urls) / cfg.Connections
		wg.Go(func() {
			for ctx.Err() == nil {
				i := next
				next = (next + 1) % len(urls)
				start := time.Now()
				if !start.Before(until) {
					return
				}
				req, err := http.NewRequestWithContext(ctx, http.MethodPut, urls[i], bytes.NewReader(cfg.Notifications[i].body))
				if err != nil {
					return
				}
				req.Header = header
				status := 0
				resp, err := client.Do(req)
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					_ = resp.Body.Close()
					status = resp.StatusCode
				}
				end := time.Now()
				st.sent++
				if start.Before(from) || end.After(until) {
					continue
				}
				if err != nil {
					if ctx.Err() != nil {
						return
					}
					st.transport++
					continue
				}
				st.status[status]++
				st.latency = append(st.latency, end.Sub(start))
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return loadResult{}, err
	}
	return mergeStats(stats, cfg.Duration), nil
}

func mergeStats(stats []workerStats, window time.Duration) loadResult {
	r := loadResult{Status: map[string]int64{}}
	var all []time.Duration
	for _, st := range stats {
		r.Sent += st.sent
		all = append(all, st.latency...)
		for code, n := range st.status {
			r.Status[strconv.Itoa(code)] += n
			r.Requests += n
			if code != http.StatusNoContent {
				r.Errors += n
			}
		}
		if st.transport > 0 {
			r.Status[statusTransportError] += st.transport
			r.Requests += st.transport
			r.Errors += st.transport
		}
	}
	slices.Sort(all)
	r.PerSecond = float64(r.Requests) / window.Seconds()
	r.Latency = latencies{
		P50: ms(percentile(all, 50)),
		P90: ms(percentile(all, 90)),
		P99: ms(percentile(all, 99)),
		Max: ms(percentile(all, 100)),
	}
	return r
}

// percentile is the nearest-rank percentile p (0 < p ≤ 100) of sorted
// durations: the smallest value with at least p% of the values at or
// below it. 0 when there are none.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }
