package checks

import (
	"strings"
	"time"

	"github.com/utilreview/utilreview/service/facts"
	"github.com/utilreview/utilreview/service/rules"
)

// CustomPrefix starts the check id of a payer's custom (CEL) check.
const CustomPrefix = "custom:"

// customEncounter runs the payer's custom checks on an encounter. It skips
// what the built-in checks skip: planned, cancelled and entered-in-error
// encounters, stays starting after the review time, and stale encounters
// (their one stale-encounter finding replaces every length-of-stay one).
func (r *run) customEncounter(p *facts.Patient, e *facts.Encounter) []Finding {
	if e == nil || !r.reviewable(e) {
		return nil
	}
	if _, stale := r.staleEncounter(p, e); stale {
		return nil
	}
	rs, _ := r.rules.For(e.Payer, e.Start)
	if !hasCustom(rs, rules.OnEncounter) {
		return nil
	}
	if s := analyseStay(e, rs.Checks.Observation.Classes, r.asOf); !s.countable(e) {
		// Nothing to count los_days or midnights from (see periodGap).
		return nil
	}
	// Built once per encounter and rule set, only when a check needs it.
	vars := rules.EncounterVars(p, e, rs, r.measures(p, e, e.Start, rs))
	var out []Finding
	for _, cc := range rs.Custom {
		if cc == nil || cc.On != rules.OnEncounter {
			continue
		}
		if !r.evalCustom(cc, vars) {
			continue
		}
		base, floating := r.encounterDeadlineBase(cc, e)
		f := r.customFinding(cc, rs, vars, base)
		f.Patient, f.Encounter = p, e
		f.FocusRef, f.FocusKey, f.Episode = e.Ref, e.Key, e.Key
		if floating {
			r.keepTaskDeadline(p, &f)
		}
		out = append(out, f)
	}
	return out
}

// customClaim runs the payer's custom checks on a claim; it skips the
// claims every claim check skips (see claimIgnored).
func (r *run) customClaim(p *facts.Patient, c *facts.Claim) []Finding {
	if c == nil || claimIgnored(c) {
		return nil
	}
	rs, _ := r.rules.For(c.Payer, claimRuleDate(c))
	if !hasCustom(rs, rules.OnClaim) {
		return nil
	}
	// The fact model's encounter is the claim's first encounter.
	var enc *facts.Encounter
	if len(c.Encounters) > 0 {
		enc = c.Encounters[0]
	}
	vars := rules.ClaimVars(p, c, rs, r.measures(p, enc, claimRuleDate(c), rs))
	var out []Finding
	for _, cc := range rs.Custom {
		if cc == nil || cc.On != rules.OnClaim {
			continue
		}
		if !r.evalCustom(cc, vars) {
			continue
		}
		base, floating := c.Created, false
		if cc.DeadlineFrom == rules.DeadlineFromReview {
			base, floating = r.asOf, true
		}
		f := r.customFinding(cc, rs, vars, base)
		f.Patient, f.Claim, f.Encounter = p, c, claimStay(c)
		f.FocusRef, f.FocusKey, f.Episode = c.Ref, c.Key, c.Key
		if floating {
			r.keepTaskDeadline(p, &f)
		}
		out = append(out, f)
	}
	return out
}

// evalCustom reports whether a custom check fires. An evaluation error means
// the facts lack what the expression reads (e.g. encounter.end of a stay in
// progress): the check cannot decide and does not fire, as
// rules.CustomCheck.Eval documents; Config.OnCustomError hears of it, so that
// a payer rule that never decides does not go unnoticed.
func (r *run) evalCustom(cc *rules.CustomCheck, vars map[string]any) bool {
	fired, err := cc.Eval(vars)
	if err != nil {
		if r.cfg.OnCustomError != nil {
			r.cfg.OnCustomError(CustomPrefix+cc.ID, err)
		}
		return false
	}
	return fired
}

func hasCustom(rs *rules.RuleSet, on string) bool {
	if rs == nil {
		return false
	}
	for _, cc := range rs.Custom {
		if cc != nil && cc.On == on {
			return true
		}
	}
	return false
}

// encounterDeadlineBase is the time a custom encounter check's deadline
// counts from, as its rule data says. floating: it is the review time (the
// rule counts from the review, or from a discharge that has not happened),
// which keepTaskDeadline anchors to the first review that raised it.
func (r *run) encounterDeadlineBase(cc *rules.CustomCheck, e *facts.Encounter) (base time.Time, floating bool) {
	switch cc.DeadlineFrom {
	case rules.DeadlineFromReview:
		return r.asOf, true
	case rules.DeadlineFromInpatientOrder:
		if t := InpatientStart(e); !t.IsZero() {
			return t, false
		}
	case rules.DeadlineFromDischarge:
		if !e.End.IsZero() && !e.End.After(r.asOf) {
			return e.End, false
		}
		return r.asOf, true
	}
	return e.Start, false
}

// keepTaskDeadline gives a finding whose deadline counts from the review
// time the deadline of the Task already written for it, when there is one:
// the deadline then counts from the first review that raised the finding,
// and a later review (the live service's wake-ups, every notification)
// neither moves it nor rewrites the Task. The offline review over the same
// resources, Tasks included, finds the same.
func (r *run) keepTaskDeadline(p *facts.Patient, f *Finding) {
	if r.cfg.TaskOf == nil || p == nil || len(p.Tasks) == 0 {
		return
	}
	if t := r.cfg.TaskOf(p, f); t != nil && !t.Due.IsZero() {
		f.Due = t.Due
		f.Status = r.statusFor(t.Due)
	}
}

// customFinding fills a finding from the custom check's rule data: the
// deadline counts DeadlineHours from base (the stay's start or the claim's
// creation; the review time when the input lacks it).
func (r *run) customFinding(cc *rules.CustomCheck, rs *rules.RuleSet, vars map[string]any, base time.Time) Finding {
	if base.IsZero() {
		base = r.asOf
	}
	due := base.Add(time.Duration(max(cc.DeadlineHours, 0)) * time.Hour)
	desc := strings.TrimSpace(cc.Render(vars))
	if desc == "" {
		desc = "The payer's custom check " + cc.ID + " applies."
	}
	f := Finding{
		Check:       CustomPrefix + cc.ID,
		Priority:    customPriority(cc.Priority),
		Owner:       customOwner(cc.Owner),
		Due:         due,
		Status:      r.statusFor(due),
		Description: desc,
		RuleSet:     rs,
		Evidence:    ruleSetEvidenceOf(rs),
	}
	f.Evidence = append(f.Evidence, StringEvidence(EvCustomCheck, cc.ID))
	if w := strings.TrimSpace(cc.When); w != "" {
		f.Evidence = append(f.Evidence, StringEvidence(EvCustomRule, w))
	}
	return f
}

// customPriority maps the rule data's priority; the loader validates it, and
// anything else is routine.
func customPriority(s string) Priority {
	switch p := Priority(strings.ToLower(strings.TrimSpace(s))); p {
	case Routine, Urgent, ASAP, Stat:
		return p
	}
	return Routine
}

// customOwner maps the rule data's owner; the UR team by default.
func customOwner(s string) Owner {
	switch o := Owner(strings.ToLower(strings.TrimSpace(s))); o {
	case URTeam, PhysicianAdvisor, BillingTeam, PatientAccessTeam:
		return o
	}
	return URTeam
}

// measures computes the fact model's numbers with the facility clock, as
// the built-in checks count them: midnights in the hospital, inpatient days
// from the inpatient order, hours in observation, the patient's age at at.
func (r *run) measures(p *facts.Patient, e *facts.Encounter, at time.Time, rs *rules.RuleSet) rules.Measures {
	m := rules.Measures{AgeYears: -1}
	if p != nil && !p.BirthDate.IsZero() && !at.IsZero() && !at.Before(p.BirthDate) {
		m.AgeYears = ageYears(p.BirthDate, at, r.loc)
	}
	if e == nil {
		return m
	}
	var extra []string
	if rs != nil {
		extra = rs.Checks.Observation.Classes
	}
	// The stay as the built-in checks see it at the review time: segments
	// starting later are ignored, a discharge after it is not yet known.
	s := analyseStay(e, extra, r.asOf)
	end := r.stayEndOrNow(&s)
	m.InProgress, m.End = s.open, s.end
	if !s.start.IsZero() {
		m.Midnights = Midnights(s.start, end, r.loc)
	}
	if !s.ipStart.IsZero() {
		m.LOSDays = Midnights(s.ipStart, end, r.loc)
	}
	for _, g := range e.Segments {
		if !IsObservationClass(g.Class, extra) || g.Start.IsZero() || g.Start.After(r.asOf) {
			continue
		}
		se := g.End
		if se.IsZero() {
			// An open segment ends where the next one starts.
			se = nextSegmentStart(e.Segments, g.Start, r.asOf)
		}
		if se.IsZero() || se.After(end) {
			se = end
		}
		if h := se.Sub(g.Start).Hours(); h > 0 {
			m.ObservationHours += h
		}
	}
	return m
}

// nextSegmentStart is the earliest segment start after t and by asOf; zero
// when there is none.
func nextSegmentStart(segs []facts.Segment, t, asOf time.Time) time.Time {
	var next time.Time
	for i := range segs {
		st := segs[i].Start
		if st.After(t) && !st.After(asOf) && (next.IsZero() || st.Before(next)) {
			next = st
		}
	}
	return next
}

// ageYears is the age in whole years on the day of at, in loc. The birth
// date is a calendar date: taken as written, not moved between zones.
func ageYears(birth, at time.Time, loc *time.Location) int {
	by, bm, bd := birth.Date()
	ay, am, ad := at.In(loc).Date()
	age := ay - by
	if am < bm || (am == bm && ad < bd) {
		age--
	}
	return age
}
