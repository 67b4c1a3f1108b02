package handlers

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Outcomes of a delivery, the outcome label of
// utilreview_notifications_received_total.
const (
	outcomeAccepted     = "accepted"  // queued (or a ping or status notification taken)
	outcomeCoalesced    = "coalesced" // the patient was already waiting: nothing new queued
	outcomeOwnWrite     = "own-write" // a version utilreview wrote itself: nothing queued
	outcomeIgnored      = "ignored"   // a Provenance that targets no Task: no worklist can change
	outcomeUnauthorized = "unauthorized"
	outcomeTooLarge     = "too-large"
	outcomeBadRequest   = "bad-request" // 400 and 415
	outcomeUnavailable  = "unavailable" // the queue failed: 503, the server retries
)

type metrics struct {
	received *prometheus.CounterVec
	enqueue  prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "utilreview_notifications_received_total",
			Help: "Notifications the webhook received, by delivery style (put, delete, ping, bundle, resource: " +
				"a resource POSTed; post: a POST refused before its style was known) and outcome.",
		}, []string{"style", "outcome"}),
		enqueue: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "utilreview_webhook_enqueue_duration_seconds",
			Help:    "Time the webhook waited for the queue to take one entry.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 15), // 0.1 ms to 1.6 s
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.received, m.enqueue} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("metrics: %w", err)
		}
	}
	return m, nil
}

// outcome is the outcome label of a delivery that ended with err.
func outcome(d *delivery, err error) string {
	if err == nil {
		if d.outcome == "" {
			return outcomeAccepted
		}
		return d.outcome
	}
	var he *httpError
	if !errors.As(err, &he) {
		return outcomeUnavailable
	}
	switch he.status {
	case http.StatusUnauthorized, http.StatusForbidden:
		return outcomeUnauthorized
	case http.StatusRequestEntityTooLarge:
		return outcomeTooLarge
	case http.StatusServiceUnavailable:
		return outcomeUnavailable
	}
	if he.status >= 500 {
		return outcomeUnavailable
	}
	return outcomeBadRequest
}

func (s *Server) metricsHandler() echo.HandlerFunc {
	return echo.WrapHandler(promhttp.HandlerFor(s.cfg.Gatherer, promhttp.HandlerOpts{}))
}
