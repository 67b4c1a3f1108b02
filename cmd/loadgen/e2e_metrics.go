package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// serviceMetrics is what the service's own /metrics says about the run
// (-serve only: the service started empty, so its counters are the run's).
// It splits the service's share: a review is the context read, the checks
// and the write-back; the FHIR calls inside it are HAPI's work.
type serviceMetrics struct {
	// Notifications the webhook received (every style and outcome).
	Notifications float64 `json:"notifications"`
	// Reviews and their mean duration (utilreview_review_duration_seconds).
	Reviews      float64 `json:"reviews"`
	ReviewMeanMS float64 `json:"review_mean_ms"`
	// Writes of Tasks and CommunicationRequests (utilreview_writes_total).
	Writes float64 `json:"writes"`
	// FHIR requests by method: count and mean duration
	// (utilreview_fhir_request_duration_seconds; a batch read and a
	// transaction are both POSTs).
	FHIR map[string]callStats `json:"fhir_requests"`
}

type callStats struct {
	Count  float64 `json:"count"`
	MeanMS float64 `json:"mean_ms"`
}

// scrapeMetrics reads the service's /metrics.
func scrapeMetrics(ctx context.Context, base string) (*serviceMetrics, error) {
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: dialLoopback}}
	defer c.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s/metrics answered %d", base, resp.StatusCode)
	}
	return parseMetrics(resp.Body)
}

// parseMetrics reads the few series it needs from the Prometheus text
// format, summed over every label but the FHIR request's method.
func parseMetrics(r io.Reader) (*serviceMetrics, error) {
	m := &serviceMetrics{FHIR: map[string]callStats{}}
	var reviewSum, reviewCount float64
	fhirSum := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		name, labels, _ := strings.Cut(line[:i], "{")
		switch name {
		case "utilreview_notifications_received_total":
			m.Notifications += v
		case "utilreview_review_duration_seconds_sum":
			reviewSum += v
		case "utilreview_review_duration_seconds_count":
			reviewCount += v
		case "utilreview_writes_total":
			m.Writes += v
		case "utilreview_fhir_request_duration_seconds_sum":
			fhirSum[label(labels, "method")] += v
		case "utilreview_fhir_request_duration_seconds_count":
			cs := m.FHIR[label(labels, "method")]
			cs.Count += v
			m.FHIR[label(labels, "method")] = cs
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	m.Reviews, m.ReviewMeanMS = reviewCount, meanMS(reviewSum, reviewCount)
	for method, cs := range m.FHIR {
		cs.MeanMS = meanMS(fhirSum[method], cs.Count)
		m.FHIR[method] = cs
	}
	return m, nil
}

// label is a label's value in `a="x",b="y"}`; "" when absent.
func label(labels, name string) string {
	_, rest, ok := strings.Cut(labels, name+`="`)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, `"`)
	return v
}

func meanMS(sumSeconds, count float64) float64 {
	if count == 0 {
		return 0
	}
	return math.Round(sumSeconds/count*1e4) / 10
}
