package checks

import (
	"time"

	"github.com/utilreview/utilreview/service/facts"
)

// Covers reports whether a review of p covers the focus ref ("Encounter/id"
// or "Claim/id"): the focus is one of p's stays or claims that the review
// window (Config.Since) keeps, or it is none of p's stays and claims at all
// (a resource deleted since: its findings no longer hold). Stays and claims
// outside the window are not reviewed, so their Tasks are left as they are.
func (e *Engine) Covers(p *facts.Patient, ref string) bool {
	r := &run{cfg: e.cfg}
	for _, enc := range p.Encounters {
		if enc.Ref == ref {
			return !r.before(enc.End)
		}
	}
	for _, cl := range p.Claims {
		if cl.Ref == ref {
			return !r.before(claimThrough(cl))
		}
	}
	return true
}

// wakeSlack is how long after a threshold the review runs, so that a check
// comparing "more than N hours" sees the threshold passed.
const wakeSlack = time.Second

// NextChange is the earliest time after asOf at which p's findings can
// change with no change to the data: a deadline passing (due-soon a day
// before, overdue at it) and, while a stay is in progress, every hour on
// the hour (facility time) and every whole hour since the start of each of
// its class segments, which covers the observation thresholds (24 h, 36 h,
// 48 h and the payer's limit), the midnights of day counts and continued-stay
// cycles, and custom checks, whose next change cannot be computed; for a
// claim not yet settled, the next facility midnight (filing limits and
// payment windows count days); a finding's horizon passing (it becomes
// moot). Zero when nothing can change by time alone.
func (e *Engine) NextChange(p *facts.Patient, findings []Finding, asOf time.Time) time.Time {
	loc := e.cfg.Location
	r := &run{cfg: e.cfg}
	var next time.Time
	consider := func(t time.Time) {
		if t.After(asOf) && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for i := range findings {
		if due := findings[i].Due; !due.IsZero() {
			consider(due.Add(-24*time.Hour + wakeSlack))
			consider(due.Add(wakeSlack))
		}
		// Past its horizon a finding becomes moot: its Task is marked missed.
		if h := findings[i].Horizon; !h.IsZero() {
			consider(h.Add(wakeSlack))
		}
	}
	for _, enc := range p.Encounters {
		if !enc.End.IsZero() || r.before(enc.End) || enc.Start.IsZero() {
			continue
		}
		if enc.Status != "" && enc.Status != "in-progress" && enc.Status != "arrived" && enc.Status != "triaged" && enc.Status != "onleave" {
			continue
		}
		hour := asOf.In(loc).Truncate(time.Hour)
		consider(hour.Add(time.Hour + wakeSlack))
		starts := []time.Time{enc.Start}
		for _, s := range enc.Segments {
			if s.End.IsZero() && !s.Start.IsZero() {
				starts = append(starts, s.Start)
			}
		}
		for _, s := range starts {
			if s.After(asOf) {
				consider(s.Add(wakeSlack))
				continue
			}
			n := asOf.Sub(s)/time.Hour + 1
			consider(s.Add(n*time.Hour + wakeSlack))
		}
	}
	for _, cl := range p.Claims {
		if cl.Accepted || r.before(claimThrough(cl)) {
			continue
		}
		consider(NthMidnight(asOf, 1, loc).Add(wakeSlack))
		break
	}
	return next
}
