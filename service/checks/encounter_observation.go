package checks

import (
	"fmt"
	"time"
)

// observationChecks runs the three observation checks: MOON (see moon), the
// second midnight and the 48-hour escalation. Observation time runs from the start
// of the first observation segment to its end (the inpatient order or the
// discharge), or to the review time while it goes on.
func (r *run) observationChecks(out []Finding, c *encCtx) []Finding {
	o := &c.rs.Checks.Observation
	s := &c.s
	// MOON follows the beneficiary's Medicare coverage, whatever the
	// stay's own rule set says about observation (see moon).
	out = r.moon(out, c)
	if !o.Enabled || !s.hasObs {
		return out
	}
	ongoing := s.obsEnd.IsZero()
	until := s.obsEnd
	if ongoing {
		until = r.asOf
	}
	elapsed := until.Sub(s.obsStart)
	hours := elapsed.Hours()

	// Second midnight: review for inpatient admission as observation is
	// about to cross (lead hours before) or has crossed its second midnight.
	// Once an inpatient order followed, the question has been answered.
	second := NthMidnight(s.obsStart, 2, r.loc)
	lead := time.Duration(o.SecondMidnightLeadHours) * time.Hour
	if lead < 0 {
		lead = 0
	}
	crossed := !until.Before(second) // present at the second midnight
	nearing := ongoing && !r.asOf.Before(second.Add(-lead))
	if !s.obsAdmitted && (crossed || nearing) {
		f := r.newFinding(CheckObservationSecondMidnight, Routine, URTeam, c, second)
		verb := "will cross"
		if crossed {
			verb = "has crossed"
		}
		f.Description = fmt.Sprintf("Observation that began %s %s its second midnight (%s). Review whether the patient now meets inpatient criteria and an inpatient order is appropriate, or plan discharge.",
			s.obsStart.In(r.loc).Format(descriptionTimeLayout), verb, second.In(r.loc).Format(descriptionTimeLayout))
		f.Evidence = append(r.observationEvidence(c, hours, ruleSourceTwoMidnight), TimeEvidence(evSecondMidnight, second))
		out = append(out, f)
	}

	// 48 hours: observation should rarely run past it; the physician
	// advisor decides admit or discharge.
	limit := o.MaxHours
	if limit <= 0 {
		limit = defaultObservationMax
	}
	if elapsed > time.Duration(limit)*time.Hour {
		due := s.obsStart.Add(time.Duration(limit) * time.Hour)
		f := r.newFinding(CheckObservation48h, Urgent, PhysicianAdvisor, c, due)
		f.Description = fmt.Sprintf("Observation since %s has lasted %s hours, beyond the %d-hour limit. Physician advisor: decide admission as inpatient or discharge.",
			s.obsStart.In(r.loc).Format(descriptionTimeLayout), num(roundTenth(hours)), limit)
		f.Evidence = append(r.observationEvidence(c, hours, ruleSourceObservation), IntEvidence(evObservationLimit, limit))
		out = append(out, f)
	}
	return out
}

func (r *run) observationEvidence(c *encCtx, hours float64, source string) []Evidence {
	ev := make([]Evidence, 0, 7)
	ev = append(ev, TimeEvidence(evObservationStart, c.s.obsStart))
	if !c.s.obsEnd.IsZero() {
		ev = append(ev, TimeEvidence(evObservationEnd, c.s.obsEnd))
	}
	return append(ev,
		DecimalEvidence(evObservationHours, roundTenth(hours)),
		StringEvidence(evRuleSource, source),
		ruleSetEvidence(c.rs),
	)
}

// roundTenth keeps hours readable (30.5, not 30.516666).
func roundTenth(x float64) float64 { return float64(int64(x*10+0.5)) / 10 }
