package checks

import (
	"math"
	"strconv"
	"time"

	"github.com/utilreview/utilreview/service/facts"
	"github.com/utilreview/utilreview/service/rules"
)

// Rule data names the encounter checks look for.
const (
	// CodeListInpatientOnly is the code list of procedures on the CMS
	// inpatient-only list: a stay for one of them is excused from the
	// two-midnight benchmark (42 CFR 412.3(d)(2)).
	CodeListInpatientOnly = "inpatient-only"
	// CategoryPayerNotification is the communication category of the
	// admission notification to the payer.
	CategoryPayerNotification = "payer-notification"
)

// Defaults for thresholds a rule set leaves at zero: the regulatory values.
const (
	defaultMOONHours        = 36 // NOTICE Act: MOON by hour 36 of observation
	moonAfterHours          = 24 // ... for observation of more than 24 h
	defaultObservationMax   = 48
	defaultIMDaysAfter      = 2
	defaultIMDaysBefore     = 2
	defaultReadmissionDays  = 30
	defaultSNFMinMidnights  = 3
	defaultGMLOSFactor      = 1.0
	twoMidnightBenchmark    = 2
	maxPlausibleLOSDays     = 100000 // guards threshold arithmetic against absurd table values
	descriptionTimeLayout   = "2006-01-02 15:04"
	descriptionDateLayout   = "2006-01-02"
	ruleSourceTwoMidnight   = "42 CFR 412.3"
	ruleSourceMOON          = "NOTICE Act (Pub. L. 114-42); 42 CFR 489.20(y)"
	ruleSourceObservation   = "Medicare contractor guidance on observation beyond 48 hours"
	ruleSourceCC44          = "42 CFR 482.30(d); CMS Condition Code 44 instructions (Medicare Claims Processing Manual ch. 1, 50.3)"
	ruleSourceIM            = "42 CFR 405.1205; CMS Important Message from Medicare instructions"
	ruleSourceGMLOS         = "CMS IPPS MS-DRG table (GMLOS)"
	ruleSourceMedicaidCSR   = "42 CFR 456.128, 456.137 (Medicaid continued-stay review)"
	ruleSourceReadmission   = "CMS Hospital Readmissions Reduction Program"
	ruleSourceSNF           = "Medicare SNF 3-day rule (42 CFR 409.30)"
	ruleSourceCoverage      = "Payer provider manuals: eligibility verification at admission"
	ruleSourceAdmissionNote = "Payer provider manual: admission notification"
)

// stay is what the encounter checks need to know about one encounter,
// worked out once from its class timeline.
type stay struct {
	start   time.Time // start of the hospital stay (earliest of period.start and the segments)
	end     time.Time // discharge; zero while in progress
	open    bool      // still in progress as of the review time
	ipStart time.Time // the inpatient order; zero when never inpatient

	hasObs   bool
	obsStart time.Time
	obsEnd   time.Time // zero while observation goes on
	// obsAdmitted: an inpatient order followed the observation.
	obsAdmitted bool

	// ccAt is when the stay first went from inpatient to a non-inpatient
	// class (Condition Code 44); ccClass is that class.
	ccAt    time.Time
	ccClass string
}

// encCtx carries one encounter's review.
type encCtx struct {
	p       *facts.Patient
	e       *facts.Encounter
	rs      *rules.RuleSet
	matched bool
	s       stay
}

// encounter runs the encounter checks over one stay.
func (r *run) encounter(p *facts.Patient, e *facts.Encounter) []Finding {
	if e == nil {
		return nil
	}
	if p == nil {
		p = e.Patient
	}
	if !r.reviewable(e) {
		return nil
	}
	if f, stale := r.staleEncounter(p, e); stale {
		// One data-quality finding instead of absurd length-of-stay ones.
		return []Finding{f}
	}
	if ambulatoryOnly(e) {
		// Most encounters are visits: no check applies to them, and the
		// rule-set lookup is skipped on this hot path.
		return nil
	}

	c := encCtx{p: p, e: e}
	if r.rules != nil {
		c.rs, c.matched = r.rules.For(e.Payer, e.Start)
	}
	var obsClasses []string
	if c.rs != nil {
		obsClasses = c.rs.Checks.Observation.Classes
	}
	c.s = analyseStay(e, obsClasses, r.asOf)
	if c.s.ipStart.IsZero() && !c.s.hasObs {
		return nil
	}
	if !c.s.countable(e) {
		// A period written to the month or year, or finished without an
		// end: lengths and deadlines cannot be counted. One data-gap
		// finding says so; the missing payer can still be flagged.
		return r.payerNotConfigured(r.missingCoverage([]Finding{r.periodGap(&c)}, &c), &c)
	}

	var out []Finding
	out = r.missingCoverage(out, &c)
	out = r.payerNotConfigured(out, &c)
	if c.rs == nil {
		// No rule set at all (not even a default): only data-quality checks.
		return out
	}
	out = r.admissionNotification(out, &c)
	out = r.admissionReview(out, &c)
	out = r.twoMidnight(out, &c)
	out = r.observationChecks(out, &c)
	out = r.conditionCode44(out, &c)
	out = r.importantMessage(out, &c)
	out = r.losExceedsGMLOS(out, &c)
	out = r.continuedStayReview(out, &c)
	out = r.readmission(out, &c)
	out = r.snfThreeDay(out, &c)
	return out
}

// reviewable reports an encounter any encounter check, built-in or custom,
// may look at: a real stay (not planned, cancelled or entered in error) that
// started by the review time and has a consistent period.
func (r *run) reviewable(e *facts.Encounter) bool {
	switch e.Status {
	case "cancelled", "entered-in-error", "planned":
		return false
	}
	if e.Start.IsZero() || e.Start.After(r.asOf) {
		// Nothing can be timed, or the stay starts after the review time.
		return false
	}
	// An end before the start is reported by the facts builder as bad
	// input; no deadline computed from it would mean anything.
	return e.End.IsZero() || !e.End.Before(e.Start)
}

// ambulatoryOnly reports an encounter whose classes are all standard
// non-hospital ones (ambulatory, emergency, virtual, home health, field,
// pre-admission): neither inpatient nor observation, whatever a payer adds
// to its observation classes.
func ambulatoryOnly(e *facts.Encounter) bool {
	if len(e.Segments) == 0 {
		return isVisitClass(e.Class)
	}
	for i := range e.Segments {
		if !isVisitClass(e.Segments[i].Class) {
			return false
		}
	}
	return true
}

func isVisitClass(c string) bool {
	switch c {
	case ClassAmbulatory, ClassEmergency, "VR", "HH", "FLD", "PRENC":
		return true
	}
	return false
}

// analyseStay reads the class timeline as it stood at asOf: segments that
// start later are ignored and ends after asOf are not yet known, so a review
// "as of" a past time sees what a coordinator saw then. Segments need not be
// sorted.
func analyseStay(e *facts.Encounter, obsClasses []string, asOf time.Time) stay {
	segs := e.Segments
	var one [1]facts.Segment
	if len(segs) == 0 {
		one[0] = facts.Segment{Class: e.Class, Start: e.Start, End: e.End}
		segs = one[:]
	}
	s := stay{start: e.Start, end: e.End}
	if s.end.After(asOf) {
		s.end = time.Time{}
	}
	s.open = s.end.IsZero() && (e.Status != "finished" || e.End.After(asOf))
	obsIdx := -1
	for i := range segs {
		g := &segs[i]
		if g.Start.IsZero() || g.Start.After(asOf) {
			continue
		}
		if g.Start.Before(s.start) {
			s.start = g.Start
		}
		switch {
		case IsInpatientClass(g.Class):
			if s.ipStart.IsZero() || g.Start.Before(s.ipStart) {
				s.ipStart = g.Start
			}
		case IsObservationClass(g.Class, obsClasses):
			if obsIdx < 0 || g.Start.Before(segs[obsIdx].Start) {
				obsIdx = i
			}
		}
	}
	if s.end.IsZero() && !s.open {
		// Finished without period.end: the latest segment end stands in.
		for i := range segs {
			if end := segs[i].End; end.After(s.end) && !end.After(asOf) {
				s.end = end
			}
		}
	}
	if obsIdx >= 0 {
		og := segs[obsIdx]
		if og.End.After(asOf) {
			og.End = time.Time{}
		}
		s.hasObs, s.obsStart, s.obsEnd = true, og.Start, og.End
		for i := range segs {
			g := &segs[i]
			if i == obsIdx || !g.Start.After(og.Start) || g.Start.After(asOf) {
				continue
			}
			if IsInpatientClass(g.Class) {
				s.obsAdmitted = true
			}
			// An open observation segment ends where the next one starts.
			if og.End.IsZero() && (s.obsEnd.IsZero() || g.Start.Before(s.obsEnd)) {
				s.obsEnd = g.Start
			}
		}
		if s.obsEnd.IsZero() {
			s.obsEnd = s.end // discharge, or zero while observation goes on
		}
	}
	if !s.ipStart.IsZero() {
		for i := range segs {
			g := &segs[i]
			if g.Start.After(s.ipStart) && !g.Start.After(asOf) && !IsInpatientClass(g.Class) {
				if s.ccAt.IsZero() || g.Start.Before(s.ccAt) {
					s.ccAt, s.ccClass = g.Start, g.Class
				}
			}
		}
	}
	return s
}

// countable: days and midnights can be counted from the stay's period:
// it is known to the day, and a finished stay has an end.
func (s *stay) countable(e *facts.Encounter) bool {
	return !imprecisePeriod(e) && (s.open || !s.end.IsZero())
}

// newFinding fills what every encounter finding shares.
func (r *run) newFinding(check string, pr Priority, ow Owner, c *encCtx, due time.Time) Finding {
	return Finding{
		Check:     check,
		Priority:  pr,
		Owner:     ow,
		Patient:   c.p,
		Encounter: c.e,
		FocusRef:  c.e.Ref,
		FocusKey:  stayKey(c.e),
		Episode:   stayKey(c.e),
		Due:       due,
		Status:    r.statusFor(due),
		RuleSet:   c.rs,
	}
}

// stayKey is the encounter's stable key; the facts builder always sets
// one, and the reference stands in should it not.
func stayKey(e *facts.Encounter) string {
	if e.Key != "" {
		return e.Key
	}
	return e.Ref
}

// ruleSetEvidence names the rule set applied ("id@version").
func ruleSetEvidence(rs *rules.RuleSet) Evidence {
	if rs == nil {
		return StringEvidence(evRuleSet, "none")
	}
	return StringEvidence(evRuleSet, rs.ID+"@"+rs.Version)
}

// stayEndOrNow is the discharge, or the review time while the stay goes on.
func (r *run) stayEndOrNow(s *stay) time.Time {
	if s.open || s.end.IsZero() {
		return r.asOf
	}
	return s.end
}

// dayEnd is 23:59:59 of the calendar day n days after t's day, in loc:
// deadlines a nurse can meet within a working day.
func dayEnd(t time.Time, n int, loc *time.Location) time.Time {
	return NthMidnight(t, n+1, loc).Add(-time.Second)
}

// wholeDays is the number of LOS days (midnights) at which a threshold of
// x days is reached: at least 1. ok is false for values no table should hold.
func wholeDays(x float64) (int, bool) {
	if !(x > 0) || x > maxPlausibleLOSDays {
		return 0, false
	}
	n := int(math.Ceil(x))
	if n < 1 {
		n = 1
	}
	return n, true
}

// num formats a decimal as short as it is exact: 3.9, 1.5, 2.
func num(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }

// plural is "1 midnight" / "2 midnights".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// payerLabel names the payer for a coordinator: the Organization's name;
// else, when the payer matched a rule set, that rule set's name (Synthea's
// coverage text "private" says little); else the text the input gave.
func payerLabel(py *facts.Payer, rs *rules.RuleSet, matched bool) string {
	switch {
	case py == nil:
		return ""
	case py.Name != "":
		return py.Name
	case matched && rs != nil && rs.Name != "":
		return rs.Name
	case py.Display != "":
		return "the payer (\"" + py.Display + "\")"
	case len(py.Identifiers) > 0:
		return "the payer " + py.Identifiers[0].Value
	case py.OrganizationRef != "":
		return "the payer " + py.OrganizationRef
	}
	return "the payer"
}

// anyCodeOn reports whether one of the encounter's diagnoses, reasons or
// types is on the list on the given day.
func anyCodeOn(l *rules.CodeList, e *facts.Encounter, on time.Time) (facts.Code, bool) {
	if l == nil {
		return facts.Code{}, false
	}
	for i := range e.Diagnoses {
		for _, c := range e.Diagnoses[i].Codes {
			if _, ok := l.Match(c, on); ok {
				return c, true
			}
		}
	}
	for _, group := range [2][]facts.Code{e.Reasons, e.Types} {
		for _, c := range group {
			if _, ok := l.Match(c, on); ok {
				return c, true
			}
		}
	}
	return facts.Code{}, false
}

// procedureOn reports a procedure of the stay on the list, on the day it
// was performed (or the given day when that is unknown).
func procedureOn(l *rules.CodeList, e *facts.Encounter, on time.Time) (facts.Code, bool) {
	if l == nil {
		return facts.Code{}, false
	}
	for i := range e.Procedures {
		pr := &e.Procedures[i]
		day := pr.Performed
		if day.IsZero() {
			day = on
		}
		for _, c := range pr.Codes {
			if _, ok := l.Match(c, day); ok {
				return c, true
			}
		}
	}
	return facts.Code{}, false
}

// principalCodes are the stay's principal diagnosis codes; without a
// diagnosis marked principal, the encounter's reason codes (Synthea writes
// only those).
func principalCodes(e *facts.Encounter) []facts.Code {
	for i := range e.Diagnoses {
		if e.Diagnoses[i].Principal {
			return e.Diagnoses[i].Codes
		}
	}
	return e.Reasons
}
