package checks

import (
	"fmt"
	"time"

	"github.com/utilreview/utilreview/service/facts"
)

// twoMidnight: a finished inpatient stay whose total hospital time spans
// fewer than two midnights needs the physician's documented expectation of
// a two-midnight stay reviewed, unless an inpatient-only procedure or an
// unforeseen end (death, transfer, leaving against advice, hospice)
// excuses it.
func (r *run) twoMidnight(out []Finding, c *encCtx) []Finding {
	s := &c.s
	if !c.rs.Checks.TwoMidnight.Enabled || s.ipStart.IsZero() || s.open || s.end.IsZero() {
		return out
	}
	if c.rs.Checks.ConditionCode44.Enabled && !s.ccAt.IsZero() {
		// The stay left inpatient status: condition-code-44 reviews that
		// change, and the claim is no inpatient claim to measure.
		return out
	}
	// Time in the ED or observation before the order counts (42 CFR 412.3(d)(1)(i)),
	// also when the EHR recorded it as an encounter of its own.
	start, preceding := r.hospitalArrival(c)
	midnights := Midnights(start, s.end, r.loc)
	if midnights >= twoMidnightBenchmark {
		return out
	}
	if _, ok := procedureOn(c.rs.CodeList(CodeListInpatientOnly), c.e, s.ipStart); ok {
		return out
	}
	disp, dispCode, hasDisp := classifyDisposition(c.e.DischargeDisposition)
	switch disp {
	case dispExpired, dispTransfer, dispLeftAMA, dispHospice:
		return out
	}
	if diedDuringStay(c.p, c.e, s, r.loc) {
		return out
	}
	f := r.newFinding(CheckTwoMidnight, Routine, URTeam, c, dayEnd(s.end, 1, r.loc))
	f.Description = fmt.Sprintf("Inpatient stay spanned %s in the hospital (arrival %s, inpatient order %s, discharge %s), fewer than the 2 the two-midnight rule expects. No inpatient-only procedure, death, transfer, departure against advice or hospice election is recorded. Review that the admitting physician documented an expectation of care across 2 midnights.",
		plural(midnights, "midnight"), start.In(r.loc).Format(descriptionTimeLayout),
		s.ipStart.In(r.loc).Format(descriptionTimeLayout), s.end.In(r.loc).Format(descriptionTimeLayout))
	if len(preceding) > 0 {
		f.Description += " The arrival counts the emergency or observation encounter recorded before it."
	}
	f.Evidence = []Evidence{
		IntEvidence(evTotalMidnights, midnights),
		TimeEvidence(evStayStart, start),
		TimeEvidence(evInpatientOrder, s.ipStart),
		TimeEvidence(evStayEnd, s.end),
		StringEvidence(evRuleSource, ruleSourceTwoMidnight),
		ruleSetEvidence(c.rs),
	}
	if hasDisp {
		f.Evidence = append(f.Evidence, CodeEvidence(evDischargeDisposition, dispCode))
	}
	for _, x := range preceding {
		f.Evidence = append(f.Evidence, RefEvidence(evPrecedingEncounter, x.Ref))
	}
	return append(out, f)
}

// contiguousGap is how long before the stay's start a separate emergency
// or observation encounter may end and still be the same hospital visit.
const contiguousGap = 2 * time.Hour

// hospitalArrival is when the hospital stay began: the stay's own start, or
// earlier when the patient's emergency or observation time was recorded as
// separate encounters before it, linked by partOf (either way) or ending at
// most contiguousGap before the stay (or its earlier part) starts. It
// returns those encounters, nearest first.
func (r *run) hospitalArrival(c *encCtx) (time.Time, []*facts.Encounter) {
	start := c.s.start
	if c.p == nil {
		return start, nil
	}
	var obsClasses []string
	if c.rs != nil {
		obsClasses = c.rs.Checks.Observation.Classes
	}
	var found []*facts.Encounter
	linked := map[*facts.Encounter]bool{c.e: true}
	// Each round can only move the start earlier; a chain ED -> observation
	// -> inpatient takes two rounds, and the encounters bound the rounds.
	for changed := true; changed; {
		changed = false
		for _, x := range c.p.Encounters {
			if x == nil || linked[x] || !r.edOrObservation(x, obsClasses) || !x.Start.Before(start) {
				continue
			}
			if !r.precedes(x, linked, start) {
				continue
			}
			linked[x] = true
			found = append(found, x)
			start, changed = x.Start, true
		}
	}
	return start, found
}

// precedes: x is part of one of the linked encounters (or they of it), or
// ends within contiguousGap before start, or after it (overlapping).
func (r *run) precedes(x *facts.Encounter, linked map[*facts.Encounter]bool, start time.Time) bool {
	for y := range linked {
		if (x.PartOf != "" && x.PartOf == y.Ref) || (y.PartOf != "" && y.PartOf == x.Ref) {
			return true
		}
	}
	return !x.End.IsZero() && !x.End.After(r.asOf) && !x.End.Before(start.Add(-contiguousGap))
}

// edOrObservation: a real encounter, started by the review time, whose
// classes are all emergency or observation ones.
func (r *run) edOrObservation(x *facts.Encounter, obsClasses []string) bool {
	if !r.reviewable(x) || imprecisePeriod(x) {
		return false
	}
	is := func(class string) bool { return class == ClassEmergency || IsObservationClass(class, obsClasses) }
	if len(x.Segments) == 0 {
		return is(x.Class)
	}
	for i := range x.Segments {
		if !is(x.Segments[i].Class) {
			return false
		}
	}
	return true
}

// diedDuringStay: the patient's death falls on a day of the stay. A death
// with no date counts only when no later encounter exists: otherwise it
// clearly happened after this stay.
func diedDuringStay(p *facts.Patient, e *facts.Encounter, s *stay, loc *time.Location) bool {
	if p == nil || !p.Deceased {
		return false
	}
	if !p.DeceasedAt.IsZero() {
		d := StartOfDay(p.DeceasedAt, loc)
		return !d.Before(StartOfDay(s.start, loc)) && !d.After(StartOfDay(s.end, loc))
	}
	for _, x := range p.Encounters {
		if x != nil && x != e && x.Start.After(s.end) {
			return false
		}
	}
	return true
}

// conditionCode44: inpatient status changed to outpatient (observation or
// another outpatient class) needs the UR physician's concurrence before
// discharge, or the stay must be billed as inpatient.
func (r *run) conditionCode44(out []Finding, c *encCtx) []Finding {
	s := &c.s
	if !c.rs.Checks.ConditionCode44.Enabled || s.ccAt.IsZero() {
		return out
	}
	// Due before discharge: a day after the change, or at discharge if sooner.
	due := s.ccAt.Add(24 * time.Hour)
	if !s.end.IsZero() && s.end.Before(due) {
		due = s.end
	}
	f := r.newFinding(CheckConditionCode44, Urgent, PhysicianAdvisor, c, due)
	f.Description = fmt.Sprintf("Stay changed from inpatient (order %s) to %s on %s. Condition Code 44 requires the UR committee physician's concurrence, documented before discharge, and the patient and attending must be told; otherwise the stay stays inpatient.",
		s.ipStart.In(r.loc).Format(descriptionTimeLayout), classWords(s.ccClass), s.ccAt.In(r.loc).Format(descriptionTimeLayout))
	f.Evidence = []Evidence{
		TimeEvidence(evInpatientOrder, s.ipStart),
		TimeEvidence(evClassChange, s.ccAt),
		StringEvidence(evNewClass, s.ccClass),
		StringEvidence(evRuleSource, ruleSourceCC44),
		ruleSetEvidence(c.rs),
	}
	return append(out, f)
}

// classWords names an encounter class for a nurse.
func classWords(class string) string {
	switch class {
	case ClassObservation:
		return "observation"
	case ClassAmbulatory:
		return "outpatient (ambulatory)"
	case ClassEmergency:
		return "emergency"
	case ClassShortStay:
		return "short stay"
	case "":
		return "an unspecified class"
	}
	return "class " + class
}

// importantMessage: Medicare inpatients get the Important Message from
// Medicare within 2 calendar days of admission and, when discharge comes
// later than 2 days after that, a follow-up copy no more than 2 days before
// discharge. While the stay goes on its discharge day is unknown, so only
// the first copy is raised; the follow-up is raised once the stay has ended
// (a retrospective check that it was due).
func (r *run) importantMessage(out []Finding, c *encCtx) []Finding {
	s := &c.s
	if s.ipStart.IsZero() {
		return out
	}
	// The notice follows the beneficiary: any Medicare coverage in force,
	// primary or secondary (42 CFR 405.1205(b)).
	mrs, mpy := r.medicareRules(c)
	if mrs == nil || !mrs.Checks.ImportantMessage.Enabled {
		return out
	}
	im := &mrs.Checks.ImportantMessage
	after := im.DaysAfterAdmission
	if after <= 0 {
		after = defaultIMDaysAfter
	}
	before := im.DaysBeforeDischarge
	if before <= 0 {
		before = defaultIMDaysBefore
	}
	due := dayEnd(s.ipStart, after, r.loc)
	if !s.ccAt.IsZero() && s.ccAt.Before(due) {
		// No longer an inpatient when the notice fell due: the IM is an
		// inpatient notice (observation patients get the MOON instead).
		return out
	}
	if !s.end.IsZero() && s.end.Before(due) {
		// The notice is given to the patient in the hospital: a discharge
		// before the 2 days are up is the last moment to deliver it.
		due = s.end
	}
	f := r.newFinding(CheckImportantMessage, Routine, URTeam, c, due)
	f.RuleSet = mrs
	f.Description = fmt.Sprintf("Medicare inpatient%s admitted %s: the Important Message from Medicare must be delivered and signed within %d calendar days of admission and before discharge, by %s.",
		beneficiaryText(c, mpy), s.ipStart.In(r.loc).Format(descriptionTimeLayout), after, due.In(r.loc).Format(descriptionTimeLayout))
	f.Evidence = append([]Evidence{
		StringEvidence(evIMCopy, "initial"),
		TimeEvidence(evInpatientOrder, s.ipStart),
		StringEvidence(evRuleSource, ruleSourceIM),
	}, medicareEvidence(c, mrs, mpy)...)
	out = append(out, f)

	// The first copy can be given no earlier than admission, so a discharge
	// more than `before` calendar days after the admission day needs a
	// follow-up copy; a shorter stay's first copy already falls within the
	// window before discharge.
	if s.open || s.end.IsZero() || Midnights(s.ipStart, s.end, r.loc) <= before {
		return out
	}
	fu := r.newFinding(CheckImportantMessage, Routine, URTeam, c, s.end)
	fu.RuleSet = mrs
	fu.Episode = stayKey(c.e) + "+follow-up"
	fu.Description = fmt.Sprintf("Medicare inpatient%s discharged %s after admission %s: a follow-up copy of the Important Message from Medicare was due no more than %d calendar days before discharge. Confirm it was delivered.",
		beneficiaryText(c, mpy), s.end.In(r.loc).Format(descriptionTimeLayout), s.ipStart.In(r.loc).Format(descriptionDateLayout), before)
	fu.Evidence = append([]Evidence{
		StringEvidence(evIMCopy, "follow-up"),
		TimeEvidence(evInpatientOrder, s.ipStart),
		TimeEvidence(evStayEnd, s.end),
		StringEvidence(evRuleSource, ruleSourceIM),
	}, medicareEvidence(c, mrs, mpy)...)
	return append(out, fu)
}

// snfThreeDay: discharge to a skilled nursing facility after fewer than the
// required inpatient midnights, counted from the inpatient order
// (observation and ED time do not count), puts Medicare SNF coverage at risk.
func (r *run) snfThreeDay(out []Finding, c *encCtx) []Finding {
	sr := &c.rs.Checks.SNFThreeDay
	s := &c.s
	if !sr.Enabled || s.ipStart.IsZero() {
		return out
	}
	disp, code, ok := classifyDisposition(c.e.DischargeDisposition)
	if !ok || disp != dispSNF {
		return out
	}
	need := sr.MinMidnights
	if need <= 0 {
		need = defaultSNFMinMidnights
	}
	days := Midnights(s.ipStart, r.stayEndOrNow(s), r.loc)
	if days >= need {
		return out
	}
	// A planned SNF discharge while the patient is in: due when the
	// qualifying stay would be met, the last moment to decide.
	due := NthMidnight(s.ipStart, need, r.loc)
	when := "is planned"
	if !s.open && !s.end.IsZero() {
		due, when = s.end, "happened"
	}
	f := r.newFinding(CheckSNFThreeDay, Routine, URTeam, c, due)
	f.Description = fmt.Sprintf("Discharge to a skilled nursing facility %s after %s counted from the inpatient order (%s); the payer requires %d for SNF coverage (ED and observation time do not count). Review the qualifying stay and tell the patient about possible non-coverage.",
		when, plural(days, "inpatient midnight"), s.ipStart.In(r.loc).Format(descriptionTimeLayout), need)
	f.Reasons = []facts.Code{code}
	f.Evidence = []Evidence{
		IntEvidence(evInpatientDays, days),
		IntEvidence(evMinMidnights, need),
		CodeEvidence(evDischargeDisposition, code),
		TimeEvidence(evInpatientOrder, s.ipStart),
		StringEvidence(evRuleSource, ruleSourceSNF),
		ruleSetEvidence(c.rs),
	}
	return append(out, f)
}
