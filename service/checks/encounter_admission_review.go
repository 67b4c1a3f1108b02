package checks

import (
	"fmt"
	"time"

	"github.com/utilreview/utilreview/service/rules"
)

const (
	ruleSourceAdmissionReview = "42 CFR 482.30 (hospital utilization review plan: review of admissions)"
	// ruleSourceStatusReview is the concurrent status review for a
	// two-midnight payer: the benchmark, and Condition Code 44, which is
	// possible only before discharge.
	ruleSourceStatusReview = "42 CFR 412.3(d); 42 CFR 482.30(d); Medicare Claims Processing Manual ch. 1, 50.3 (Condition Code 44)"
	// maxBusinessDaySearch bounds the walk over the calendar: no run of
	// closed days is this long; it only guards a malformed calendar.
	maxBusinessDaySearch = 366
)

// admissionReview: the UR team reviews every inpatient admission, and
// every observation placement, promptly: by the end of the rule set's
// business day after the inpatient order (or the start of observation).
// For a two-midnight payer it is the concurrent status review too: due
// before the stay's second midnight, counted from arrival (ED and
// observation time included), when that comes sooner, since the status
// can still change then (Condition Code 44 is possible only before
// discharge). One finding per stay and status: the observation placement
// has its own episode, and an inpatient order that follows it makes the
// admission the one to review.
func (r *run) admissionReview(out []Finding, c *encCtx) []Finding {
	ar := &c.rs.Checks.AdmissionReview
	s := &c.s
	if !ar.Enabled || ar.BusinessDays <= 0 {
		return out
	}
	anchor, kind, episode := s.ipStart, "Inpatient admission", stayKey(c.e)
	anchorEv, from := evInpatientOrder, "inpatient order"
	if anchor.IsZero() {
		if !s.hasObs {
			return out
		}
		anchor, kind, episode = s.obsStart, "Observation placement", stayKey(c.e)+"+observation"
		anchorEv, from = evObservationStart, "start of observation"
	}
	anchor = anchor.In(r.loc)
	due := businessDayEnd(c.rs.Calendar(), anchor, ar.BusinessDays)
	if due.IsZero() {
		return out
	}
	why := fmt.Sprintf("at the end of business day %d after the %s", ar.BusinessDays, from)
	if ar.BusinessDays == 1 {
		why = "at the end of the next business day after the " + from
	}

	arrival, preceding := r.hospitalArrival(c)
	arrival = arrival.In(r.loc)
	midnights := Midnights(arrival, r.stayEndOrNow(s), r.loc)
	twoMidnight := c.rs.Checks.TwoMidnight.Enabled
	second := NthMidnight(arrival, twoMidnightBenchmark, r.loc)
	if twoMidnight && second.After(anchor) {
		// The status review must come while the benchmark is still ahead;
		// once the order follows the second midnight it is already met.
		if before := second.Add(-time.Second); before.Before(due) {
			due, why = before, "before the stay's second midnight (the two-midnight benchmark counts from arrival, ED and observation time included)"
		}
	}
	if !s.open && !s.end.IsZero() && s.end.Before(due) {
		// The status can change only while the patient is in the hospital.
		due, why = s.end, "at discharge, the last moment the status could change"
	}

	f := r.newFinding(CheckAdmissionReview, Urgent, URTeam, c, due)
	f.Episode = episode
	payer := payerLabel(c.e.Payer, c.rs, c.matched)
	program := string(c.rs.Program)
	soFar := "so far"
	if !s.open && !s.end.IsZero() {
		soFar = "in the hospital in all"
	}
	desc := fmt.Sprintf("%s %s (arrival %s): initial admission review by the UR team, due %s, by %s. %s %s",
		kind, anchor.Format(descriptionTimeLayout), arrival.Format(descriptionTimeLayout), why,
		due.In(r.loc).Format(descriptionTimeLayout), plural(midnights, "midnight"), soFar)
	if twoMidnight {
		desc += fmt.Sprintf(" of the %d-midnight benchmark", twoMidnightBenchmark)
	}
	desc += "."
	if payer != "" {
		desc += " Payer: " + payer + " (" + program + ")."
	}
	if anchorEv == evInpatientOrder {
		desc += " Review the inpatient order against the admission criteria; a change to outpatient needs Condition Code 44 before discharge."
	} else {
		desc += " Review the placement against the criteria: continue observation, admit as inpatient, or discharge."
	}
	if !s.open && !s.end.IsZero() {
		desc += " The stay ended " + s.end.In(r.loc).Format(descriptionTimeLayout) + "."
	}
	f.Description = desc
	f.Evidence = []Evidence{
		TimeEvidence(anchorEv, anchor),
		TimeEvidence(evStayStart, arrival),
		IntEvidence(evTotalMidnights, midnights),
		IntEvidence(evReviewBusinessDays, ar.BusinessDays),
		StringEvidence(evPayerProgram, program),
	}
	if payer != "" {
		f.Evidence = append(f.Evidence, StringEvidence(evPayer, payer))
	}
	source := ruleSourceAdmissionReview
	if twoMidnight {
		source = ruleSourceStatusReview
		f.Evidence = append(f.Evidence,
			IntEvidence(evTwoMidnightBenchmark, twoMidnightBenchmark),
			TimeEvidence(evBenchmarkMidnight, second))
	}
	if !s.open && !s.end.IsZero() {
		f.Evidence = append(f.Evidence, TimeEvidence(evStayEnd, s.end))
	}
	f.Evidence = append(f.Evidence, StringEvidence(evRuleSource, source), ruleSetEvidence(c.rs))
	for _, x := range preceding {
		f.Evidence = append(f.Evidence, RefEvidence(evPrecedingEncounter, x.Ref))
	}
	return append(out, f)
}

// businessDayEnd is 23:59:59 of the n-th business day after t's day, in
// t's location (weekends and the calendar's holidays are skipped; a nil
// calendar knows weekends only). Zero when none is found.
func businessDayEnd(cal *rules.Calendar, t time.Time, n int) time.Time {
	y, m, d := t.Date()
	found := 0
	for i := 1; i <= maxBusinessDaySearch+n; i++ {
		day := time.Date(y, m, d+i, 12, 0, 0, 0, t.Location())
		if !cal.IsBusinessDay(day) {
			continue
		}
		if found++; found == n {
			dy, dm, dd := day.Date()
			return time.Date(dy, dm, dd, 23, 59, 59, 0, t.Location())
		}
	}
	return time.Time{}
}
