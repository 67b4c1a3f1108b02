// Package live is the live service's processing: for a patient named by the
// queue it reads the patient's current state from the FHIR server, runs the
// same pipeline as the offline review (service/review), and writes the plan
// back (creates, updates, cancels) in one transaction. A notification is only
// a hint: whatever triggered the review, the state read is the truth, so
// duplicates, reordering, replays and missed notifications all converge to
// the same worklist. It also runs the catch-up searches that find what the
// FHIR server never notified.
package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/utilreview/utilreview/fhir"
	"github.com/utilreview/utilreview/service/checks"
	"github.com/utilreview/utilreview/service/determination"
	"github.com/utilreview/utilreview/service/facts"
	"github.com/utilreview/utilreview/service/queue"
	"github.com/utilreview/utilreview/service/review"
	"github.com/utilreview/utilreview/service/worklist"
)

// FHIR is what processing needs of the FHIR server (fhir.Client).
type FHIR interface {
	Read(ctx context.Context, typ, id string) (*fhir.Response, error)
	Do(ctx context.Context, method, path string, body []byte, header http.Header) (*fhir.Response, error)
	Search(ctx context.Context, typ string, params url.Values, each func(e fhir.Entry) error) error
	SearchPages(ctx context.Context, page []byte, each func(e fhir.Entry) error) error
	Batch(ctx context.Context, bundle []byte) ([]fhir.Entry, error)
	Transaction(ctx context.Context, bundle []byte) ([]fhir.Entry, error)
}

var _ FHIR = (*fhir.Client)(nil)

// Scheduler keeps a patient's next wake-up (service/queue).
type Scheduler interface {
	Schedule(ctx context.Context, patient string, at time.Time) error
}

// OwnWrites remembers the resource versions the service wrote itself, so
// that their notifications are not reviewed again (service/queue).
type OwnWrites interface {
	RecordOwnWrites(ctx context.Context, versions map[string]string) error
}

// Config configures processing.
type Config struct {
	// Review is the pipeline's configuration, as `review` uses it: rules,
	// writer, time zone, check settings. Its AsOf is ignored: the clock is Now.
	Review review.Options
	// Versions, when set, gives each review attempt its options (the rules
	// version current then, and the writer built for it), read once: a
	// review runs wholly on one version while versions change between
	// reviews (service/rulestore's Cache). Review is then the first.
	Versions func() review.Options
	// Now is the review's clock; default time.Now. UTILREVIEW_AS_OF fixes it.
	Now func() time.Time
	// WindowDays: stays and claims that ended before the facility midnight
	// WindowDays before the clock are not reviewed (`review --since`); they
	// still count as history. Default 400.
	WindowDays int
	// DryRun computes and counts the writes without making them.
	DryRun bool
	// Attempts bounds the re-reads after a write lost a race (409: a
	// clinician or another replica changed a Task in between); default 3.
	Attempts int
	// OwnWrites, when set, gets the versions each successful plan
	// transaction wrote.
	OwnWrites OwnWrites
	// Reviewers are the clinical reviewers whose determinations are
	// recorded (service/determination); nil or empty: everyone's.
	Reviewers *determination.Reviewers
	// Requestor is the hospital, the determinations' requestor when a stay
	// names no serviceProvider; default a display.
	Requestor fhir.Reference
	Logger    *slog.Logger
	Metrics   *Metrics
	Tracer    trace.Tracer
}

// DefaultWindowDays is the default of Config.WindowDays.
const DefaultWindowDays = 400

// Processor reviews one patient at a time against the FHIR server.
type Processor struct {
	cfg    Config
	fhir   FHIR
	sched  Scheduler
	system string
}

// New returns a Processor. sched may be nil (no wake-ups).
func New(cfg Config, c FHIR, sched Scheduler) (*Processor, error) {
	if cfg.Review.Writer == nil || cfg.Review.Rules == nil {
		return nil, errors.New("live.New: the review options need a writer and rules")
	}
	if cfg.Review.Location == nil {
		cfg.Review.Location = time.UTC
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.WindowDays <= 0 {
		cfg.WindowDays = DefaultWindowDays
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = 3
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Tracer == nil {
		cfg.Tracer = noop.NewTracerProvider().Tracer("")
	}
	cfg.Review.Checks.IdentifierSystem = cfg.Review.Writer.IdentifierSystem()
	if cfg.Review.Checks.Reviewer == nil && !cfg.Reviewers.Empty() {
		cfg.Review.Checks.Reviewer = cfg.Reviewers.Determines
	}
	return &Processor{cfg: cfg, fhir: c, sched: sched, system: cfg.Review.Writer.IdentifierSystem()}, nil
}

// Since is the start of the review window at the clock now: the facility
// midnight WindowDays before it.
func (p *Processor) Since(now time.Time) time.Time {
	return checks.StartOfDay(now, p.cfg.Review.Location).AddDate(0, 0, -p.cfg.WindowDays)
}

// Outcome is what one patient's processing did.
type Outcome struct {
	Patient  string
	Findings int
	Changes  map[worklist.Action]int
	// Wake is when the patient is reviewed again by time alone (zero: never).
	Wake time.Time
	// DryRun: the changes were computed, not written.
	DryRun bool
}

// Handle processes a queue entry: it is a queue.Handler.
func (p *Processor) Handle(ctx context.Context, e queue.Entry) error {
	_, err := p.Process(ctx, e)
	return err
}

// Process resolves the entry's patient and reviews it.
func (p *Processor) Process(ctx context.Context, e queue.Entry) (*Outcome, error) {
	// The processing span joins the trace of the request that enqueued the
	// entry (the webhook's), carried in the stream entry.
	ctx = propagation.TraceContext{}.Extract(ctx, propagation.MapCarrier(e.Trace))
	ctx, span := p.cfg.Tracer.Start(ctx, "live.Process", trace.WithAttributes(
		attribute.String("utilreview.reason", e.Reason),
		attribute.String("utilreview.trigger.type", refType(e.Resource)),
	))
	defer span.End()
	patient := e.Patient
	if patient == "" {
		var err error
		patient, err = p.patientOf(ctx, e.Resource)
		if err != nil {
			return nil, err
		}
		if patient == "" {
			// Nothing names a patient (a resource never seen, or one without a
			// subject): there is no worklist to converge.
			p.cfg.Logger.InfoContext(ctx, "no patient for the trigger", "resource_type", refType(e.Resource), "reason", e.Reason)
			return &Outcome{}, nil
		}
	}
	return p.ReviewPatient(ctx, patient)
}

// ReviewPatient reads the patient's state, reviews it and writes the plan.
// A write that loses a race (409) is computed again from a fresh read.
func (p *Processor) ReviewPatient(ctx context.Context, patient string) (*Outcome, error) {
	ref, ok := fhir.ParseReference(patient)
	if !ok || ref.Type != "Patient" {
		return nil, fmt.Errorf("live.ReviewPatient: not a Patient reference")
	}
	start := time.Now()
	var lastErr error
	for attempt := 0; attempt < p.cfg.Attempts; attempt++ {
		out, err := p.reviewOnce(ctx, ref.Relative())
		if err == nil {
			p.cfg.Metrics.observeReview(time.Since(start))
			return out, nil
		}
		lastErr = err
		if !fhir.IsStatus(err, 409) && !fhir.IsStatus(err, 412) {
			break
		}
		p.cfg.Metrics.conflict()
	}
	p.cfg.Metrics.failure()
	return nil, fmt.Errorf("live.ReviewPatient: %w", lastErr)
}

func (p *Processor) reviewOnce(ctx context.Context, patient string) (*Outcome, error) {
	now := p.cfg.Now()
	pc, err := p.fetchContext(ctx, patient)
	if err != nil {
		return nil, err
	}
	opt := p.options()
	opt.AsOf = now.In(opt.Location)
	opt.Checks.Since = p.Since(now)
	pl := review.NewPipeline(opt, func(check string, _ error) { p.cfg.Metrics.customError(check) })
	set := pl.Facts(pc.resources)
	for _, prob := range set.Problems {
		// Input problems name the resource and the element, never values.
		p.cfg.Logger.WarnContext(ctx, "resource problem", "problem", prob.Error())
	}
	fp := findPatient(set.Patients, patient)
	out := &Outcome{Patient: patient, Changes: map[worklist.Action]int{}, DryRun: p.cfg.DryRun}
	if fp == nil {
		return out, nil
	}
	res, err := pl.ReviewPatient(fp, pc.requests, opt.AsOf)
	if err != nil {
		return nil, err
	}
	out.Findings = len(res.Findings)
	out.Wake = res.NextChange
	for _, c := range res.Plan.Changes {
		out.Changes[c.Action]++
		p.cfg.Metrics.change(c.Check, c.Action, p.cfg.DryRun)
	}
	for i := range res.Plan.Open {
		p.cfg.Metrics.finding(res.Plan.Open[i].Check)
	}
	if !res.Plan.Empty() && !p.cfg.DryRun {
		bundle := opt.Writer.PlanBundle(res.Plan)
		resp, err := p.fhir.Transaction(ctx, bundle)
		if err != nil {
			return nil, err
		}
		p.recordOwnWrites(ctx, bundle, resp)
	}
	if err := p.recordDeterminations(ctx, opt, fp, pc, res.Plan); err != nil {
		return nil, err
	}
	if p.sched != nil && !out.Wake.IsZero() {
		if err := p.sched.Schedule(ctx, patient, out.Wake); err != nil {
			return nil, err
		}
	}
	p.cfg.Logger.InfoContext(ctx, "patient reviewed", "patient", patient, "findings", out.Findings,
		"create", out.Changes[worklist.ActionCreate], "update", out.Changes[worklist.ActionUpdate],
		"cancel", out.Changes[worklist.ActionCancel], "note", out.Changes[worklist.ActionNote],
		"dry_run", p.cfg.DryRun)
	return out, nil
}

// options are the review options of one attempt: the current version's
// when Versions is set.
func (p *Processor) options() review.Options {
	if p.cfg.Versions == nil {
		return p.cfg.Review
	}
	opt := p.cfg.Versions()
	if opt.Location == nil {
		opt.Location = p.cfg.Review.Location
	}
	opt.Checks.IdentifierSystem = opt.Writer.IdentifierSystem()
	if opt.Checks.Reviewer == nil && !p.cfg.Reviewers.Empty() {
		opt.Checks.Reviewer = p.cfg.Reviewers.Determines
	}
	return opt
}

// recordDeterminations writes the clinicians' determinations as
// ClaimResponses (service/determination), in their own transaction after
// the worklist's: conditional creates, and If-Match updates for a changed
// determination (a 409 re-reads and plans again, as for Tasks).
func (p *Processor) recordDeterminations(ctx context.Context, opt review.Options, fp *facts.Patient, pc *patientContext, plan *worklist.Plan) error {
	if plan != nil {
		for _, c := range plan.Changes {
			if c.Action == worklist.ActionCreate && c.Check == checks.CheckDeterminationReviewer {
				p.cfg.Metrics.determination("not-reviewer", 1, p.cfg.DryRun)
			}
		}
	}
	rec := determination.New(determination.Config{
		Base: opt.Writer.Base(), FindingSystem: opt.Writer.IdentifierSystem(), Requestor: p.cfg.Requestor,
		Location: opt.Location, Rules: opt.Rules, Reviewers: p.cfg.Reviewers,
	})
	dp := rec.Plan(fp, rec.Index(pc.resources))
	if n := dp.Outcomes[determination.OutcomeNoPayer] + dp.Outcomes[determination.OutcomeNoFocus]; n > 0 {
		// R4 requires the ClaimResponse's insurer; a Task whose stay or
		// claim is not in the record has nothing to answer.
		p.cfg.Logger.WarnContext(ctx, "determinations not recorded", "patient", fp.Ref,
			"no_payer", dp.Outcomes[determination.OutcomeNoPayer], "no_focus", dp.Outcomes[determination.OutcomeNoFocus])
	}
	if dp.Empty() {
		return nil
	}
	p.cfg.Metrics.determination("recorded", dp.Outcomes[determination.OutcomeCreate], p.cfg.DryRun)
	p.cfg.Metrics.determination("changed", dp.Outcomes[determination.OutcomeUpdate], p.cfg.DryRun)
	p.cfg.Logger.InfoContext(ctx, "determinations", "patient", fp.Ref,
		"create", dp.Outcomes[determination.OutcomeCreate], "update", dp.Outcomes[determination.OutcomeUpdate],
		"writes", len(dp.Writes), "dry_run", p.cfg.DryRun)
	if p.cfg.DryRun {
		return nil
	}
	bundle := dp.Bundle()
	resp, err := p.fhir.Transaction(ctx, bundle)
	if err != nil {
		return err
	}
	p.recordOwnWrites(ctx, bundle, resp)
	return nil
}

func refType(ref string) string {
	r, _ := fhir.ParseReference(ref)
	return r.Type
}

// recordOwnWrites hands the versions the transaction wrote to OwnWrites. A
// failure is only logged: the write is done, and an unrecognised own write
// costs one review, never a missed change.
func (p *Processor) recordOwnWrites(ctx context.Context, bundle []byte, resp []fhir.Entry) {
	if p.cfg.OwnWrites == nil {
		return
	}
	versions := ownVersions(bundle, resp)
	if len(versions) == 0 {
		return
	}
	if err := p.cfg.OwnWrites.RecordOwnWrites(ctx, versions); err != nil {
		p.cfg.Logger.WarnContext(ctx, "recording own writes failed", "error", err.Error())
	}
}

// ownVersions are the resource versions ("Type/id" -> versionId) a
// transaction wrote, from its response's locations (else etags), entry by
// entry with the request's. A conditional create answered 200 created
// nothing (the resource was there, in a version the review never read):
// it is left out; so is any entry whose version cannot be read.
func ownVersions(bundle []byte, resp []fhir.Entry) map[string]string {
	var req struct {
		Entry []struct {
			Request struct {
				Method string `json:"method"`
			} `json:"request"`
		} `json:"entry"`
	}
	if json.Unmarshal(bundle, &req) != nil || len(req.Entry) != len(resp) {
		return nil
	}
	out := map[string]string{}
	for i, e := range resp {
		r := e.Response
		if r == nil {
			continue
		}
		switch method := req.Entry[i].Request.Method; {
		case r.Status == http.StatusCreated:
		case r.Status == http.StatusOK && method == http.MethodPut:
		default:
			continue
		}
		ref, version := locationVersion(r.Location)
		if version == "" {
			version = etagVersion(r.Etag)
		}
		if ref != "" && version != "" {
			out[ref] = version
		}
	}
	return out
}

// locationVersion splits a response location ("Task/12/_history/3", maybe
// absolute) into "Task/12" and "3".
func locationVersion(loc string) (ref, version string) {
	path, version, _ := strings.Cut(loc, "/_history/")
	version, _, _ = strings.Cut(version, "/")
	parts := strings.Split(strings.TrimRight(path, "/"), "/")
	if len(parts) < 2 {
		return "", ""
	}
	ref = parts[len(parts)-2] + "/" + parts[len(parts)-1]
	if fhir.RelativeRef(ref) != ref {
		return "", ""
	}
	return ref, version
}

// etagVersion is the version of an ETag, W/"3" -> 3.
func etagVersion(etag string) string {
	v := strings.TrimPrefix(strings.TrimSpace(etag), "W/")
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		return v[1 : len(v)-1]
	}
	return ""
}
