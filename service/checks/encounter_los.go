package checks

import (
	"fmt"
	"strconv"

	"github.com/utilreview/utilreview/service/facts"
	"github.com/utilreview/utilreview/service/rules"
)

// losExceedsGMLOS: inpatient days (to the review time, or in total once
// discharged) at or above the MS-DRG's GMLOS times the payer's factor call
// for a continued-stay review; at or above the escalation factor, for the
// physician advisor. Each threshold is its own episode, so closing the
// first review does not close the escalation.
func (r *run) losExceedsGMLOS(out []Finding, c *encCtx) []Finding {
	g := &c.rs.Checks.GMLOS
	s := &c.s
	if !g.Enabled || s.ipStart.IsZero() || !s.ccAt.IsZero() {
		// A stay changed from inpatient to observation or outpatient
		// (Condition Code 44) is billed as outpatient: no DRG stay to review.
		return out
	}
	days := Midnights(s.ipStart, r.stayEndOrNow(s), r.loc)
	row, hasDRG := c.rs.DRG(c.e.DRG)
	if !hasDRG || row.GMLOS <= 0 {
		return r.losDefaultReview(out, c, days)
	}
	factor := g.Factor
	if factor <= 0 {
		factor = defaultGMLOSFactor
	}
	drg := facts.Code{System: rules.SystemMSDRG, Code: row.Code, Display: row.Title}
	base := func(threshold float64) []Evidence {
		return []Evidence{
			IntEvidence(evInpatientDays, days),
			CodeEvidence(evDRG, drg),
			DecimalEvidence(evGMLOS, row.GMLOS),
			DecimalEvidence(evThresholdDays, threshold),
			TimeEvidence(evInpatientOrder, s.ipStart),
			StringEvidence(evRuleSource, ruleSourceGMLOS),
			ruleSetEvidence(c.rs),
		}
	}
	if n, ok := wholeDays(row.GMLOS * factor); ok && days >= n {
		thr := row.GMLOS * factor
		f := r.newFinding(CheckLOSExceedsGMLOS, Routine, URTeam, c, dayEnd(s.ipStart, n, r.loc))
		f.Description = fmt.Sprintf("Inpatient stay has reached %s; GMLOS for MS-DRG %s is %s days (factor %s, threshold %s days). Review for continued stay.",
			plural(days, "day"), row.Code, num(row.GMLOS), num(factor), num(thr))
		f.Reasons = []facts.Code{drg}
		f.Evidence = append(base(thr), DecimalEvidence(evGMLOSFactor, factor))
		out = append(out, f)
	}
	if g.EscalationFactor > 0 {
		if n, ok := wholeDays(row.GMLOS * g.EscalationFactor); ok && days >= n {
			thr := row.GMLOS * g.EscalationFactor
			f := r.newFinding(CheckLOSExceedsGMLOS, Urgent, PhysicianAdvisor, c, dayEnd(s.ipStart, n, r.loc))
			f.Episode = stayKey(c.e) + "+escalation"
			f.Description = fmt.Sprintf("Inpatient stay has reached %s; GMLOS for MS-DRG %s is %s days and the escalation threshold (factor %s) is %s days. Physician advisor review of continued stay.",
				plural(days, "day"), row.Code, num(row.GMLOS), num(g.EscalationFactor), num(thr))
			f.Reasons = []facts.Code{drg}
			f.Evidence = append(base(thr), DecimalEvidence(evEscalationFactor, g.EscalationFactor))
			out = append(out, f)
		}
	}
	return out
}

// losDefaultReview applies the payer's default review day to a stay whose
// MS-DRG is unknown (none on its claims, or not in the table).
func (r *run) losDefaultReview(out []Finding, c *encCtx, days int) []Finding {
	day := c.rs.Checks.GMLOS.DefaultReviewDay
	s := &c.s
	if day <= 0 || days < day {
		return out
	}
	why := "no MS-DRG is known for it yet"
	if c.e.DRG != "" {
		why = "its MS-DRG " + c.e.DRG + " has no GMLOS in the table"
	}
	f := r.newFinding(CheckLOSExceedsGMLOS, Routine, URTeam, c, dayEnd(s.ipStart, day, r.loc))
	f.Description = fmt.Sprintf("Inpatient stay has reached %s and %s; the payer's default review day is day %d. Review for continued stay.",
		plural(days, "day"), why, day)
	f.Evidence = []Evidence{
		IntEvidence(evInpatientDays, days),
		IntEvidence(evDefaultReviewDay, day),
		TimeEvidence(evInpatientOrder, s.ipStart),
		StringEvidence(evRuleSource, ruleSourceGMLOS),
		ruleSetEvidence(c.rs),
	}
	if c.e.DRG != "" {
		f.Evidence = append(f.Evidence, CodeEvidence(evDRG, facts.Code{System: rules.SystemMSDRG, Code: c.e.DRG}))
	}
	return append(out, f)
}

// continuedStayReview: while an inpatient stay goes on, the next
// concurrent review is due every EveryDays inpatient days, or first at the
// norm table's percentile LOS for the stay and then every EveryDays. The
// current cycle is the first whose due time is still ahead (with no cadence
// after the norm review, that review stays current). A missed review does
// not disappear when its cycle passes: the earliest earlier cycle that no
// closed review covers (Config.Closed) is raised as well, overdue.
func (r *run) continuedStayReview(out []Finding, c *encCtx) []Finding {
	cr := &c.rs.Checks.ConcurrentReview
	s := &c.s
	if !cr.Enabled || s.ipStart.IsZero() || !s.open || !s.ccAt.IsZero() {
		// Concurrent review follows inpatient days; it stops when the stay
		// leaves inpatient status.
		return out
	}
	every := cr.EveryDays
	if every < 0 {
		every = 0
	}
	first := every
	norm, hasNorm := c.rs.NormDays(c.e.DRG, principalCodes(c.e), percentileOf(cr.Percentile))
	if hasNorm {
		n, ok := wholeDays(norm)
		if !ok {
			hasNorm = false
		} else {
			first = n
		}
	}
	if first <= 0 {
		return out
	}
	days := Midnights(s.ipStart, r.asOf, r.loc)
	cycle := 1
	if days > first && every > 0 {
		cycle = 1 + (days-first+every-1)/every
	}
	if every > 0 && !dayEnd(s.ipStart, first+(cycle-1)*every, r.loc).After(r.asOf) {
		// The last second of a review day belongs to the next cycle.
		cycle++
	}
	csr := csrCycle{first: first, every: every, days: days, norm: norm, hasNorm: hasNorm, percentile: percentileOf(cr.Percentile)}
	// The earliest missed cycle still open, if any: a review nobody closed.
	for k := 1; k < cycle; k++ {
		f := r.csrFinding(c, &csr, k)
		if !r.closed(c.p, &f) {
			out = append(out, f)
			break
		}
	}
	return append(out, r.csrFinding(c, &csr, cycle))
}

// csrCycle is what every concurrent review finding of one stay shares.
type csrCycle struct {
	first, every, days int
	norm               float64
	hasNorm            bool
	percentile         int
}

// csrFinding is the concurrent review of one cycle.
func (r *run) csrFinding(c *encCtx, csr *csrCycle, cycle int) Finding {
	s := &c.s
	reviewDay := csr.first + (cycle-1)*csr.every
	due := dayEnd(s.ipStart, reviewDay, r.loc)
	f := r.newFinding(CheckContinuedStayReview, Routine, URTeam, c, due)
	f.Episode = "cycle-" + strconv.Itoa(cycle)
	basis := "every " + plural(csr.every, "day")
	if csr.hasNorm {
		basis = fmt.Sprintf("first at the %s percentile length-of-stay norm (%s days)", ordinal(csr.percentile), num(csr.norm))
		if csr.every > 0 {
			basis += ", then every " + plural(csr.every, "day")
		}
	}
	f.Description = fmt.Sprintf("Inpatient stay in progress, day %d since the inpatient order %s. Concurrent review %d is due on inpatient day %d (%s), by %s.",
		csr.days, s.ipStart.In(r.loc).Format(descriptionDateLayout), cycle, reviewDay, basis, due.Format(descriptionTimeLayout))
	if due.Before(r.asOf) {
		f.Description += " It is overdue and no completed review closes it."
	}
	f.Evidence = []Evidence{
		IntEvidence(evInpatientDays, csr.days),
		IntEvidence(evReviewCycle, cycle),
		IntEvidence(evReviewDay, reviewDay),
		IntEvidence(evCadenceDays, csr.every),
		TimeEvidence(evInpatientOrder, s.ipStart),
		ruleSetEvidence(c.rs),
	}
	if csr.hasNorm {
		f.Evidence = append(f.Evidence,
			DecimalEvidence(evNormLOS, csr.norm),
			IntEvidence(evNormPercentile, csr.percentile),
			StringEvidence(evRuleSource, ruleSourceMedicaidCSR),
		)
	}
	return f
}

// percentileOf is the norm column used: 50 unless 75 or 90 is set.
func percentileOf(p int) int {
	if p == 75 || p == 90 {
		return p
	}
	return 50
}

func ordinal(n int) string { return strconv.Itoa(n) + "th" }
