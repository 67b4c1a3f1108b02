package checks

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/utilreview/utilreview/service/facts"
	"github.com/utilreview/utilreview/service/rules"
)

// ruleSourceDefaultReviewDay: a stay without a known MS-DRG is reviewed on
// the payer's day, not by the GMLOS table.
const ruleSourceDefaultReviewDay = "Payer rule set: default review day for a stay without a known MS-DRG (checks.gmlos.default_review_day); hospital UR plan, 42 CFR 482.30(c)"

// losExceedsGMLOS: inpatient days to the review time at or above the
// MS-DRG's GMLOS times the payer's factor call for a continued-stay review;
// at or above the escalation factor, for the physician advisor. Each
// threshold is its own episode, so closing the first review does not close
// the escalation. Only while the stay goes on: a discharged stay's length
// belongs in the committee's report, not on the worklist.
func (r *run) losExceedsGMLOS(out []Finding, c *encCtx) []Finding {
	g := &c.rs.Checks.GMLOS
	s := &c.s
	if !g.Enabled || s.ipStart.IsZero() || !s.ccAt.IsZero() || !s.open {
		// A stay changed from inpatient to observation or outpatient
		// (Condition Code 44) is billed as outpatient: no DRG stay to review.
		return out
	}
	days := Midnights(s.ipStart, r.asOf, r.loc)
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
		StringEvidence(evRuleSource, ruleSourceDefaultReviewDay),
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
	// One open review per stay: the earliest cycle no closed review covers
	// (Config.Closed). The cycles it runs behind are counted in it, not
	// raised one overdue Task each; closing it opens the next one.
	open, missed := cycle, 0
	for k := 1; k < cycle; k++ {
		f := r.csrFinding(c, &csr, k, 0)
		if r.closed(c.p, &f) {
			continue
		}
		if open == cycle {
			open = k
		}
		missed++
	}
	f := r.csrFinding(c, &csr, open, missed)
	return r.mergeLOS(append(out, f), c, &csr, cycle, open)
}

// mergeLOS makes the UR team's length-of-stay review (los-exceeds-gmlos at
// the factor, or at the default review day) and the concurrent review due
// on the same day one review: the continued-stay-review finding of that
// cycle, with the length-of-stay evidence added. Once that cycle is closed
// the length-of-stay review is done too. The physician advisor's escalation
// stays its own finding. out ends with the open continued-stay-review.
func (r *run) mergeLOS(out []Finding, c *encCtx, csr *csrCycle, cycle, open int) []Finding {
	li := -1
	for i := range out {
		if out[i].Check == CheckLOSExceedsGMLOS && out[i].Owner == URTeam && out[i].Episode == stayKey(c.e) {
			li = i
			break
		}
	}
	if li < 0 {
		return out
	}
	los := out[li]
	same := 0
	for k := 1; k <= cycle; k++ {
		if dayEnd(c.s.ipStart, csr.first+(k-1)*csr.every, r.loc).Equal(los.Due) {
			same = k
			break
		}
	}
	switch {
	case same == 0:
		return out
	case same == open:
		f := &out[len(out)-1]
		f.Description += " Length of stay, the same review: " + strings.TrimSuffix(los.Description, " Review for continued stay.")
		f.Reasons = append(f.Reasons, los.Reasons...)
		for _, ev := range los.Evidence {
			if ev.Type == evRuleSource || !hasEvidence(f.Evidence, ev.Type) {
				f.Evidence = append(f.Evidence, ev)
			}
		}
	default:
		if k := r.csrFinding(c, csr, same, 0); !r.closed(c.p, &k) {
			// The cycle is still ahead of the open one: the stay's length
			// cannot wait for it.
			return out
		}
	}
	return append(out[:li], out[li+1:]...)
}

func hasEvidence(evs []Evidence, typ string) bool {
	for i := range evs {
		if evs[i].Type == typ {
			return true
		}
	}
	return false
}

// csrCycle is what every concurrent review finding of one stay shares.
type csrCycle struct {
	first, every, days int
	norm               float64
	hasNorm            bool
	percentile         int
}

// csrFinding is the concurrent review of one cycle; missed counts the
// cycles whose review day passed with no closed review, this one included.
func (r *run) csrFinding(c *encCtx, csr *csrCycle, cycle, missed int) Finding {
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
	sofar := "no inpatient midnight yet"
	if csr.days > 0 {
		sofar = plural(csr.days, "inpatient day") + " so far"
	}
	f.Description = fmt.Sprintf("Inpatient stay in progress since the inpatient order %s (%s). Concurrent review %d is due on inpatient day %d (%s), by %s.",
		s.ipStart.In(r.loc).Format(descriptionTimeLayout), sofar, cycle, reviewDay, basis, due.Format(descriptionTimeLayout))
	if due.Before(r.asOf) {
		f.Description += " It is overdue and no completed review closes it."
	}
	if missed > 0 {
		f.Description += fmt.Sprintf(" Missed cycles: %d. Completing this review opens the next cycle due.", missed)
	}
	f.Evidence = []Evidence{
		IntEvidence(evInpatientDays, csr.days),
		IntEvidence(evReviewCycle, cycle),
		IntEvidence(evReviewDay, reviewDay),
		IntEvidence(evCadenceDays, csr.every),
		TimeEvidence(evInpatientOrder, s.ipStart),
		ruleSetEvidence(c.rs),
	}
	if missed > 0 {
		f.Evidence = append(f.Evidence, IntEvidence(evMissedCycles, missed))
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
