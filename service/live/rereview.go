package live

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/utilreview/utilreview/fhir"
	"github.com/utilreview/utilreview/service/queue"
)

// Schedule writes the re-review's entries to the queue, entry i interval
// after entry i-1 (queue.Stagger), together with what marks the re-review
// scheduled (the replica's claim, rulestore.Rollout.DoneWith), in one
// transaction. It returns false, writing nothing, when the claim was lost.
type Schedule func(ctx context.Context, entries []queue.Entry, interval time.Duration) (bool, error)

// ErrClaimLost: the re-review was not scheduled because the replica's
// claim of it ran out; the replica that took it over schedules it.
var ErrClaimLost = errors.New("the claim of the re-review was lost")

// RereviewConfig configures the re-review that follows a rules version.
type RereviewConfig struct {
	// IdentifierSystem is the system of utilreview's Task identifiers: the
	// open Tasks with it name the patients whose findings the new rules may
	// change or cancel.
	IdentifierSystem string
	// Filter is added to the search of stays in progress (the
	// subscription filter, e.g. a ward's tag), as the catch-up does.
	Filter url.Values
	// Rate bounds the patients whose review comes due per second (default
	// 5), so that the reviews that follow do not flood the FHIR server.
	Rate   float64
	Logger *slog.Logger
}

// ReasonRules is the queue entry reason of a re-review after a rules change.
const ReasonRules = "rules"

// openTaskStatuses are the Task statuses of work not yet done.
const openTaskStatuses = "draft,requested,received,accepted,ready,in-progress,on-hold"

// Rereview schedules, after a rules version became current, a review of
// every patient with an open utilreview Task or a stay in progress: their
// findings are what new rules change (Tasks updated or cancelled, new
// findings raised). The reviews are scheduled in Redis, paced, in one
// write: whichever replica runs them, and whichever dies meanwhile, each
// patient comes due once, and they coalesce with the reviews
// notifications queue.
type Rereview struct {
	cfg  RereviewConfig
	fhir FHIR
}

// NewRereview returns a Rereview.
func NewRereview(cfg RereviewConfig, c FHIR) *Rereview {
	if cfg.Rate <= 0 {
		cfg.Rate = 5
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Rereview{cfg: cfg, fhir: c}
}

// Run finds the patients and schedules their reviews, Rate a second from
// now, with schedule; it returns how many it scheduled. version is logged.
func (r *Rereview) Run(ctx context.Context, version string, schedule Schedule) (int, error) {
	start := time.Now()
	patients, err := r.patients(ctx)
	if err != nil {
		return 0, fmt.Errorf("live.Rereview: %w", err)
	}
	entries := make([]queue.Entry, len(patients))
	for i, p := range patients {
		entries[i] = queue.Entry{Patient: p, Reason: ReasonRules}
	}
	interval := time.Duration(float64(time.Second) / r.cfg.Rate)
	ok, err := schedule(ctx, entries, interval)
	if err != nil {
		return 0, fmt.Errorf("live.Rereview: %w", err)
	}
	if !ok {
		return 0, fmt.Errorf("live.Rereview: %w", ErrClaimLost)
	}
	r.cfg.Logger.InfoContext(ctx, "rules: patients scheduled for re-review", "version", version, "patients", len(entries),
		"spread_s", (time.Duration(max(len(entries)-1, 0)) * interval).Seconds(), "elapsed_ms", time.Since(start).Milliseconds())
	return len(entries), nil
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
