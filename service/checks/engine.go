package checks

import (
	"sort"
	"time"

	"github.com/utilreview/utilreview/service/facts"
	"github.com/utilreview/utilreview/service/rules"
)

// RuleSource finds the rule set for a payer on a date. ok is false when no
// payer-specific rule set matched and the default one was returned; rs is
// nil only when there is no default either.
type RuleSource interface {
	For(p *facts.Payer, on time.Time) (rs *rules.RuleSet, ok bool)
}

// Config holds the engine's settings that are not payer rules.
type Config struct {
	// Location is the facility time zone: it decides what a midnight is.
	Location *time.Location
	// StaleAfterDays: an encounter still in progress after this many days
	// gives one stale-encounter finding instead of length-of-stay findings.
	StaleAfterDays int
	// Closed, when set, tells a finding a clinician already closed (its Task
	// completed, cancelled or rejected): such a review no longer holds the
	// stay's claims.
	Closed func(p *facts.Patient, f *Finding) bool
	// TaskOf, when set, returns the utilreview Task already written for a
	// finding (nil when none): a deadline that counts from the review that
	// raised the finding keeps that Task's deadline, so that it does not
	// move with each review.
	TaskOf func(p *facts.Patient, f *Finding) *facts.Task
	// OnCustomError, when set, hears of each custom check that could not be
	// evaluated (it then does not fire); check is "custom:<id>".
	OnCustomError func(check string, err error)
	// Since, when set, leaves out of the review the stays that ended and the
	// claims whose services ended before it; they still count as history
	// (an index stay for a readmission, a claim for duplicates).
	Since time.Time
	// IdentifierSystem is the system of utilreview's Task identifiers: Tasks
	// in the input with an identifier in it were written by utilreview.
	IdentifierSystem string
	// Reviewer, when set, tells whether a completed Task's determination
	// was made by a clinical reviewer; one that was not is not recorded
	// and a reviewer is asked to determine (determination-reviewer). Nil:
	// every determination counts.
	Reviewer func(t *facts.Task) bool
}

// DefaultStaleAfterDays is the default of Config.StaleAfterDays.
const DefaultStaleAfterDays = 365

// Engine runs every check over one patient's facts.
type Engine struct {
	cfg   Config
	rules RuleSource
}

// NewEngine returns an engine; a nil Location means UTC.
func NewEngine(cfg Config, rs RuleSource) *Engine {
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.StaleAfterDays <= 0 {
		cfg.StaleAfterDays = DefaultStaleAfterDays
	}
	return &Engine{cfg: cfg, rules: rs}
}

// run is what one check sees: the clock, the settings and the rules.
type run struct {
	asOf  time.Time // in the facility location
	loc   *time.Location
	cfg   Config
	rules RuleSource
	// raised holds this run's encounter findings, for checks that depend on
	// an open review of the stay (claim-before-determination).
	raised map[*facts.Encounter][]Finding
	// Per-patient indexes the claim checks build once, on first use, so
	// that comparing a claim with the patient's other claims and stays
	// stays linear.
	dups   *dupIndex
	window *windowIndex
}

// Review returns the findings for one patient as of the given time, sorted
// by due time. Findings past their check's horizon are returned too, marked
// Moot (see horizon.go): the caller decides whether to raise them.
func (e *Engine) Review(p *facts.Patient, asOf time.Time) []Finding {
	r := &run{asOf: asOf.In(e.cfg.Location), loc: e.cfg.Location, cfg: e.cfg, rules: e.rules}
	var out []Finding
	for _, enc := range p.Encounters {
		if r.before(enc.End) {
			continue
		}
		fs := r.encounter(p, enc)
		fs = append(fs, r.customEncounter(p, enc)...)
		fs = append(fs, r.leftAtDischarge(p, enc, fs)...)
		namePayer(fs, enc.Payer)
		r.settle(fs)
		// A moot review can no longer change the claim: it does not hold it.
		if open := r.stillOpen(p, notMoot(fs)); len(open) > 0 {
			if r.raised == nil {
				r.raised = make(map[*facts.Encounter][]Finding)
			}
			r.raised[enc] = open
		}
		out = append(out, fs...)
	}
	for _, cl := range p.Claims {
		if r.before(claimThrough(cl)) {
			continue
		}
		fs := append(r.claim(p, cl), r.customClaim(p, cl)...)
		namePayer(fs, cl.Payer)
		r.settle(fs)
		out = append(out, fs...)
	}
	if fs := r.determinations(p); len(fs) > 0 {
		r.settle(fs)
		out = append(out, fs...)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Due.Before(out[j].Due) })
	return out
}

// stillOpen drops the findings Config.Closed says are closed; it returns fs
// itself when none is.
func (r *run) stillOpen(p *facts.Patient, fs []Finding) []Finding {
	if r.cfg.Closed == nil || len(p.Tasks) == 0 {
		return fs
	}
	var open []Finding
	for i := range fs {
		if !r.closed(p, &fs[i]) {
			open = append(open, fs[i])
		}
	}
	return open
}

// closed reports whether Config.Closed says a clinician closed the finding.
func (r *run) closed(p *facts.Patient, f *Finding) bool {
	return r.cfg.Closed != nil && p != nil && len(p.Tasks) > 0 && r.cfg.Closed(p, f)
}

// before reports whether a known time is before the review's Since.
func (r *run) before(t time.Time) bool {
	return !r.cfg.Since.IsZero() && !t.IsZero() && t.Before(r.cfg.Since)
}

// claimThrough is when a claim's services ended: the billable period's end,
// else the last line's service end, else its creation.
func claimThrough(c *facts.Claim) time.Time {
	if !c.BillableEnd.IsZero() {
		return c.BillableEnd
	}
	var last time.Time
	for i := range c.Lines {
		if c.Lines[i].ServiceEnd.After(last) {
			last = c.Lines[i].ServiceEnd
		}
	}
	if !last.IsZero() {
		return last
	}
	return c.Created
}

// Definitions lists every built-in check in a stable order.
func Definitions() []Definition {
	defs := make([]Definition, 0, len(encounterDefinitions)+len(claimDefinitions)+len(payerDefinitions))
	defs = append(defs, encounterDefinitions...)
	defs = append(defs, claimDefinitions...)
	defs = append(defs, payerDefinitions...)
	defs = append(defs, determinationDefinitions...)
	for i := range defs {
		defs[i].Horizon = horizonDoc(defs[i].ID)
	}
	return defs
}
