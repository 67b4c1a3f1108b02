package queue

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the queue's Prometheus collectors. They always exist (so the
// code never checks for nil) and are registered only when a Registerer is
// configured.
type metrics struct {
	enqueuedTotal *prometheus.CounterVec
	ownWrites     *prometheus.CounterVec
	processed     *prometheus.CounterVec
	retries       prometheus.Counter
	deadLetters   prometheus.Counter
	latency       prometheus.Histogram
	wakeups       prometheus.Counter
	state         *stateCollector
}

func newMetrics(q *Queue) *metrics {
	return &metrics{
		enqueuedTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "utilreview_queue_enqueued_total",
			Help: "Entries offered to the queue, by reason and whether they were coalesced into one already waiting; a staggered entry (a re-review after a rules change) when it comes due, a retry never again.",
		}, []string{"reason", "coalesced"}),
		ownWrites: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "utilreview_queue_own_writes_skipped_total",
			Help: "Entries not queued because they name a resource version the service wrote itself, by reason.",
		}, []string{"reason"}),
		processed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "utilreview_queue_processed_total",
			Help: "Entries handled, by outcome: success, retry, dead_letter, deferred (patient busy elsewhere, or shutdown), abandoned (left pending at shutdown).",
		}, []string{"outcome"}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "utilreview_queue_retries_total",
			Help: "Entries scheduled again after a failed attempt.",
		}),
		deadLetters: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "utilreview_queue_dead_letters_total",
			Help: "Entries moved to the dead-letter stream.",
		}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "utilreview_queue_processing_seconds",
			Help:    "Time the handler took per entry.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
		}),
		wakeups: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "utilreview_queue_wakeups_fired_total",
			Help: "Scheduled wake-ups that came due.",
		}),
		state: newStateCollector(q),
	}
}

func (m *metrics) enqueued(reason string, coalesced bool) {
	if reason == "" {
		reason = "unknown"
	}
	c := "false"
	if coalesced {
		c = "true"
	}
	m.enqueuedTotal.WithLabelValues(reason, c).Inc()
}

func (m *metrics) ownWrite(reason string) {
	if reason == "" {
		reason = "unknown"
	}
	m.ownWrites.WithLabelValues(reason).Inc()
}

func (m *metrics) register(r prometheus.Registerer) error {
	var errs []error
	for _, c := range []prometheus.Collector{m.enqueuedTotal, m.ownWrites, m.processed, m.retries, m.deadLetters, m.latency, m.wakeups, m.state} {
		errs = append(errs, r.Register(c))
	}
	return errors.Join(errs...)
}

// stateCollector reports the queue's state from Redis at each scrape, so
// every replica reports the shared queue, not its own view.
type stateCollector struct {
	q                                                     *Queue
	depth, pending, oldest, delayed, scheduled, deadCount *prometheus.Desc
}

func newStateCollector(q *Queue) *stateCollector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("utilreview_queue_"+name, help, nil, nil)
	}
	return &stateCollector{
		q:         q,
		depth:     d("depth", "Entries in the stream: not yet delivered, or delivered and not yet acknowledged."),
		pending:   d("pending", "Entries delivered to a worker and not yet acknowledged."),
		oldest:    d("oldest_entry_age_seconds", "Age of the oldest entry in the stream (0 when empty)."),
		delayed:   d("delayed", "Entries waiting for a retry, for a busy patient, or for their turn in a paced re-review after a rules change."),
		scheduled: d("scheduled_wakeups", "Patients with a wake-up scheduled."),
		deadCount: d("dead_letters", "Entries in the dead-letter stream."),
	}
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.depth, c.pending, c.oldest, c.delayed, c.scheduled, c.deadCount} {
		ch <- d
	}
}

// scrapeTimeout bounds the Redis calls of one scrape.
const scrapeTimeout = 2 * time.Second

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	s, err := c.q.Stats(ctx)
	if err != nil {
		c.q.cfg.Logger.Warn("queue: stats for /metrics failed", "err", err)
		return
	}
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
	}
	gauge(c.depth, float64(s.Depth))
	gauge(c.pending, float64(s.Pending))
	gauge(c.oldest, s.OldestAge.Seconds())
	gauge(c.delayed, float64(s.Delayed))
	gauge(c.scheduled, float64(s.Scheduled))
	gauge(c.deadCount, float64(s.DeadLetters))
}
