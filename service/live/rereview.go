package live

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/utilreview/utilreview/fhir"
	"github.com/utilreview/utilreview/service/queue"
)

// Enqueuer queues a patient's review (service/queue's Queue).
type Enqueuer interface {
	Enqueue(ctx context.Context, e queue.Entry) (bool, error)
}

// RereviewConfig configures the re-review that follows a rules version.
type RereviewConfig struct {
	// IdentifierSystem is the system of utilreview's Task identifiers: the
	// open Tasks with it name the patients whose findings the new rules may
	// change or cancel.
	IdentifierSystem string
	// Filter is added to the search of stays in progress (the
	// subscription filter, e.g. a ward's tag), as the catch-up does.
	Filter url.Values
	// Rate bounds the patients queued per second (default 5), so that the
	// reviews that follow do not flood the FHIR server.
	Rate   float64
	Logger *slog.Logger
}

// ReasonRules is the queue entry reason of a re-review after a rules change.
const ReasonRules = "rules"

// openTaskStatuses are the Task statuses of work not yet done.
const openTaskStatuses = "draft,requested,received,accepted,ready,in-progress,on-hold"

// Rereview queues, after a rules version became current, a review of every
// patient with an open utilreview Task or a stay in progress: their
// findings are what new rules change (Tasks updated or cancelled, new
// findings raised). Reviews through the queue coalesce with the ones
// notifications queue.
type Rereview struct {
	cfg  RereviewConfig
	fhir FHIR
	q    Enqueuer
}

// NewRereview returns a Rereview.
func NewRereview(cfg RereviewConfig, c FHIR, q Enqueuer) *Rereview {
	if cfg.Rate <= 0 {
		cfg.Rate = 5
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Rereview{cfg: cfg, fhir: c, q: q}
}

// Run finds the patients and queues them, at most Rate a second; it
// returns how many it queued (coalesced ones included). version is logged.
func (r *Rereview) Run(ctx context.Context, version string) (int, error) {
	start := time.Now()
	patients, err := r.patients(ctx)
	if err != nil {
		return 0, fmt.Errorf("live.Rereview: %w", err)
	}
	interval := time.Duration(float64(time.Second) / r.cfg.Rate)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	n := 0
	for i, p := range patients {
		if i > 0 {
			select {
			case <-ctx.Done():
				return n, ctx.Err()
			case <-tick.C:
			}
		}
		if _, err := r.q.Enqueue(ctx, queue.Entry{Patient: p, Reason: ReasonRules}); err != nil {
			return n, fmt.Errorf("live.Rereview: %w", err)
		}
		n++
	}
	r.cfg.Logger.InfoContext(ctx, "rules: patients queued for re-review", "version", version, "patients", n,
		"elapsed_ms", time.Since(start).Milliseconds())
	return n, nil
}

// patients are the patients of open utilreview Tasks and of stays in
// progress, each once, in the order found.
func (r *Rereview) patients(ctx context.Context) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	collect := func(e fhir.Entry) error {
		if e.Resource == nil || e.Mode == "include" {
			return nil
		}
		s, err := fhir.SummarizeResource(e.Resource)
		if err != nil || s.Patient == "" || seen[s.Patient] {
			return nil
		}
		seen[s.Patient] = true
		out = append(out, s.Patient)
		return nil
	}
	tasks := url.Values{"identifier": {r.cfg.IdentifierSystem + "|"}, "status": {openTaskStatuses}, "_count": {"200"}, "_elements": {"for"}}
	if err := r.fhir.Search(ctx, "Task", tasks, collect); err != nil {
		return nil, fmt.Errorf("open Tasks: %w", err)
	}
	stays := url.Values{"status": {"in-progress,onleave"}, "_count": {"200"}, "_elements": {"subject"}}
	for k, vs := range r.cfg.Filter {
		stays[k] = append(stays[k], vs...)
	}
	if err := r.fhir.Search(ctx, "Encounter", stays, collect); err != nil {
		return nil, fmt.Errorf("stays in progress: %w", err)
	}
	return out, nil
}
