package checks

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/utilreview/utilreview/service/facts"
)

// readmission: an inpatient admission within the payer's window after the
// same patient's previous inpatient discharge, unless planned or that
// discharge was a transfer to another acute care hospital. When the
// index stay's principal diagnosis or a procedure falls in an HRRP cohort,
// the finding says which: those readmissions count against the hospital's
// HRRP measures.
func (r *run) readmission(out []Finding, c *encCtx) []Finding {
	rd := &c.rs.Checks.Readmission
	s := &c.s
	if !rd.Enabled || s.ipStart.IsZero() || c.p == nil {
		return out
	}
	window := rd.WindowDays
	if window <= 0 {
		window = defaultReadmissionDays
	}
	index, indexOrder := r.indexStay(c)
	if index == nil || acuteTransfer(index.DischargeDisposition) {
		// A stay that ended in a transfer to another acute hospital is a
		// link in a transfer chain, not an index stay (HRRP).
		return out
	}
	gap := Midnights(index.End, s.ipStart, r.loc) // calendar days, discharge day to admission day
	if gap > window {
		return out
	}
	if readmissionPlanned(c, index) {
		return out
	}
	cohort, cohortCode, inCohort := hrrpCohort(c, index, indexOrder)

	f := r.newFinding(CheckReadmission30d, Routine, URTeam, c, dayEnd(s.ipStart, 1, r.loc))
	f.Episode = stayKey(index) + "+" + stayKey(c.e)
	desc := fmt.Sprintf("Inpatient admission %s is %s after discharge from an earlier inpatient stay (discharged %s), within the payer's %d-day readmission window.",
		s.ipStart.In(r.loc).Format(descriptionTimeLayout), plural(gap, "day"), index.End.In(r.loc).Format(descriptionDateLayout), window)
	if inCohort {
		desc += fmt.Sprintf(" The earlier stay falls in the HRRP %s cohort (code %s).", cohort, cohortCode.Code)
	}
	f.Description = desc + " Review whether the readmission is related to the earlier stay and whether it was avoidable."
	f.Evidence = []Evidence{
		RefEvidence(evIndexStay, index.Ref),
		TimeEvidence(evIndexDischarge, index.End),
		IntEvidence(evDaysSinceDischarge, gap),
		IntEvidence(evWindowDays, window),
		TimeEvidence(evInpatientOrder, s.ipStart),
		StringEvidence(evRuleSource, ruleSourceReadmission),
		ruleSetEvidence(c.rs),
	}
	if inCohort {
		f.Reasons = []facts.Code{cohortCode}
		f.Evidence = append(f.Evidence, StringEvidence(evHRRPCohort, cohort), CodeEvidence(evHRRPCode, cohortCode))
	}
	return append(out, f)
}

// indexStay is the patient's latest inpatient stay discharged (as of the
// review time) no later than this stay's start.
func (r *run) indexStay(c *encCtx) (*facts.Encounter, time.Time) {
	var best *facts.Encounter
	var bestOrder time.Time
	for _, x := range c.p.Encounters {
		if x == nil || x == c.e || x.End.IsZero() || x.End.After(r.asOf) || x.End.After(c.s.start) {
			continue
		}
		switch x.Status {
		case "cancelled", "entered-in-error", "planned":
			continue
		}
		order := inpatientOrder(x)
		if order.IsZero() || x.End.Before(order) {
			continue
		}
		if best == nil || x.End.After(best.End) {
			best, bestOrder = x, order
		}
	}
	return best, bestOrder
}

// inpatientOrder is the earliest inpatient segment start, or the start of
// an encounter without class history whose class is inpatient.
func inpatientOrder(e *facts.Encounter) time.Time {
	if len(e.Segments) == 0 {
		if IsInpatientClass(e.Class) {
			return e.Start
		}
		return time.Time{}
	}
	var t time.Time
	for i := range e.Segments {
		g := &e.Segments[i]
		if IsInpatientClass(g.Class) && !g.Start.IsZero() && (t.IsZero() || g.Start.Before(t)) {
			t = g.Start
		}
	}
	return t
}

// readmissionPlanned: the readmission's codes are on the payer's planned
// list, its hospitalization.reAdmission says planned, or the index stay was
// discharged with a planned readmission (NUBC 81-95).
func readmissionPlanned(c *encCtx, index *facts.Encounter) bool {
	if nubcPlannedReadmission(index.DischargeDisposition) || saysPlanned(c.e.ReAdmission) {
		return true
	}
	l := c.rs.CodeList(c.rs.Checks.Readmission.PlannedCodeList)
	if l == nil {
		return false
	}
	if _, ok := anyCodeOn(l, c.e, c.s.ipStart); ok {
		return true
	}
	if _, ok := procedureOn(l, c.e, c.s.ipStart); ok {
		return true
	}
	_, ok := l.MatchAny(c.e.ReAdmission, c.s.ipStart)
	return ok
}

// saysPlanned reads hospitalization.reAdmission, which has no standard
// "planned" code in R4 (v2 table 0092 only knows "R", readmission): a code
// or text that says planned, and not unplanned, counts.
func saysPlanned(codes []facts.Code) bool {
	for _, c := range codes {
		for _, t := range [2]string{c.Code, c.Display} {
			l := strings.ToLower(t)
			if strings.Contains(l, "planned") && !strings.Contains(l, "unplanned") && !strings.Contains(l, "not planned") {
				return true
			}
		}
	}
	return false
}

// hrrpCohort finds the first cohort (by name, for a stable answer) whose
// code list holds the index stay's principal diagnosis or one of its
// procedures, on the index admission day.
func hrrpCohort(c *encCtx, index *facts.Encounter, on time.Time) (string, facts.Code, bool) {
	cohorts := c.rs.Checks.Readmission.HRRPCohorts
	if len(cohorts) == 0 {
		return "", facts.Code{}, false
	}
	names := make([]string, 0, len(cohorts))
	for n := range cohorts {
		names = append(names, n)
	}
	sort.Strings(names)
	principal := principalCodes(index)
	for _, n := range names {
		l := c.rs.CodeList(cohorts[n])
		if l == nil {
			continue
		}
		for _, code := range principal {
			if _, ok := l.Match(code, on); ok {
				return n, code, true
			}
		}
		if code, ok := procedureOn(l, index, on); ok {
			return n, code, true
		}
	}
	return "", facts.Code{}, false
}
