package live

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/utilreview/utilreview/service/worklist"
)

// Metrics are processing's Prometheus metrics. A nil *Metrics records nothing.
type Metrics struct {
	reviews      prometheus.Histogram
	failures     prometheus.Counter
	conflicts    prometheus.Counter
	findings     *prometheus.CounterVec
	writes       *prometheus.CounterVec
	customErrors *prometheus.CounterVec
	catchUps     *prometheus.CounterVec
	catchUpFound *prometheus.CounterVec
	deletes      *prometheus.CounterVec
	determined   *prometheus.CounterVec
}

// NewMetrics registers processing's metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		reviews: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "utilreview_review_duration_seconds", Help: "Time to review one patient: read its context, run the checks, write the plan.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
		failures:  prometheus.NewCounter(prometheus.CounterOpts{Name: "utilreview_review_failures_total", Help: "Patient reviews that failed (the queue retries them)."}),
		conflicts: prometheus.NewCounter(prometheus.CounterOpts{Name: "utilreview_write_conflicts_total", Help: "Plan writes that lost a race (409) and were computed again."}),
		findings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "utilreview_findings_total", Help: "Open findings per review, by check.",
		}, []string{"check"}),
		writes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "utilreview_writes_total", Help: "Task and CommunicationRequest writes by check and action (create, update, cancel, note, revoke); dry_run says whether they were only computed.",
		}, []string{"check", "action", "dry_run"}),
		customErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "utilreview_custom_check_errors_total", Help: "Payer CEL checks that could not be evaluated.",
		}, []string{"check"}),
		catchUps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "utilreview_catchups_total", Help: "Catch-up searches run, by trigger and outcome.",
		}, []string{"trigger", "outcome"}),
		catchUpFound: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "utilreview_catchup_resources_total", Help: "Resources the catch-up searches found and queued, by type (a version the previous catch-up queued, found again by the overlap, is not counted).",
		}, []string{"type"}),
		deletes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "utilreview_catchup_deletes_total",
			Help: "Deletes the catch-up found in the types' _history, by type and outcome: enqueued (the patient of the version before), unfiltered (the subscription filter has parameters that cannot be checked on a deleted resource: left to the send-delete notification).",
		}, []string{"type", "outcome"}),
		determined: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "utilreview_determinations_total",
			Help: "Clinicians' determinations by outcome: recorded (a new ClaimResponse), changed (a new version of it), not-reviewer (completed by someone outside the clinical reviewers: not recorded, a reviewer is asked; counted once, when that Task is created); dry_run says whether the writes were only computed.",
		}, []string{"outcome", "dry_run"}),
	}
	if reg != nil {
		reg.MustRegister(m.reviews, m.failures, m.conflicts, m.findings, m.writes, m.customErrors, m.catchUps, m.catchUpFound, m.deletes, m.determined)
	}
	return m
}

func (m *Metrics) observeReview(d time.Duration) {
	if m != nil {
		m.reviews.Observe(d.Seconds())
	}
}

func (m *Metrics) failure() {
	if m != nil {
		m.failures.Inc()
	}
}

func (m *Metrics) conflict() {
	if m != nil {
		m.conflicts.Inc()
	}
}

func (m *Metrics) finding(check string) {
	if m != nil {
		m.findings.WithLabelValues(check).Inc()
	}
}

func (m *Metrics) change(check string, a worklist.Action, dryRun bool) {
	if m != nil {
		d := "false"
		if dryRun {
			d = "true"
		}
		m.writes.WithLabelValues(check, string(a), d).Inc()
	}
}

func (m *Metrics) customError(check string) {
	if m != nil {
		m.customErrors.WithLabelValues(check).Inc()
	}
}

func (m *Metrics) catchUp(trigger, outcome string) {
	if m != nil {
		m.catchUps.WithLabelValues(trigger, outcome).Inc()
	}
}

func (m *Metrics) found(typ string, n int) {
	if m != nil && n > 0 {
		m.catchUpFound.WithLabelValues(typ).Add(float64(n))
	}
}

func (m *Metrics) deleteFound(typ, outcome string) {
	if m != nil {
		m.deletes.WithLabelValues(typ, outcome).Inc()
	}
}

func (m *Metrics) determination(outcome string, n int, dryRun bool) {
	if m != nil && n > 0 {
		d := "false"
		if dryRun {
			d = "true"
		}
		m.determined.WithLabelValues(outcome, d).Add(float64(n))
	}
}
