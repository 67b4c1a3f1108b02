package checks

import (
	"fmt"
	"time"
)

// observationChecks runs the three observation checks: MOON (see moon), the
// second midnight and the 48-hour escalation. Observation time runs from the start
// of the first observation segment to its end (the inpatient order or the
// discharge), or to the review time while it goes on.
//
// A finding's text and evidence change only when something meaningful does
// (a threshold crossed, the observation ended), never because the clock
// moved: while observation goes on they cite its start and the threshold's
// instant, not the hours so far, so that the live service does not rewrite
// the Task at every review. The hours are cited once observation has ended.
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
	since := s.obsStart.In(r.loc).Format(descriptionTimeLayout)
	ended := ""
	if !ongoing {
		ended = fmt.Sprintf(" until %s (%s hours)", s.obsEnd.In(r.loc).Format(descriptionTimeLayout), num(roundTenth(elapsed.Hours())))
	}

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
			since, verb, second.In(r.loc).Format(descriptionTimeLayout))
		f.Evidence = append(r.observationEvidence(c, elapsed, ruleSourceTwoMidnight), TimeEvidence(evSecondMidnight, second))
		out = append(out, f)
	}

	// 48 hours: observation should rarely run past it; the physician
	// advisor decides admit or discharge. Raised the rule's lead (4 hours by
	// default) before the limit while observation goes on, so that the
	// decision can be made in time; due at the limit.
	limit := o.MaxHours
	if limit <= 0 {
		limit = defaultObservationMax
	}
	limitAt := s.obsStart.Add(time.Duration(limit) * time.Hour)
	raiseAt := limitAt.Add(-time.Duration(min(o.MaxHoursLead(), limit)) * time.Hour)
	if elapsed > time.Duration(limit)*time.Hour || ongoing && !r.asOf.Before(raiseAt) {
		f := r.newFinding(CheckObservation48h, Urgent, PhysicianAdvisor, c, limitAt)
		at := limitAt.In(r.loc).Format(descriptionTimeLayout)
		switch {
		case !ongoing:
			f.Description = fmt.Sprintf("Observation from %s%s went beyond the %d-hour limit (%s). Physician advisor: review the decision to admit as inpatient or discharge.",
				since, ended, limit, at)
		case r.asOf.Before(limitAt):
			f.Description = fmt.Sprintf("Observation since %s reaches the %d-hour limit at %s. Physician advisor: decide admission as inpatient or discharge before then.",
				since, limit, at)
		default:
			f.Description = fmt.Sprintf("Observation since %s has passed the %d-hour limit (%s). Physician advisor: decide admission as inpatient or discharge.",
				since, limit, at)
		}
		f.Evidence = append(r.observationEvidence(c, elapsed, ruleSourceObservation), IntEvidence(evObservationLimit, limit), TimeEvidence(evObservationLimitAt, limitAt))
		out = append(out, f)
	}
	return out
}

// observationEvidence cites the observation's start and, once it has ended,
// its end and length; while it goes on, nothing that moves with the clock.
func (r *run) observationEvidence(c *encCtx, elapsed time.Duration, source string) []Evidence {
	ev := make([]Evidence, 0, 7)
	ev = append(ev, TimeEvidence(evObservationStart, c.s.obsStart))
	if !c.s.obsEnd.IsZero() {
		ev = append(ev, TimeEvidence(evObservationEnd, c.s.obsEnd), DecimalEvidence(evObservationHours, roundTenth(elapsed.Hours())))
	}
	return append(ev,
		StringEvidence(evRuleSource, source),
		ruleSetEvidence(c.rs),
	)
}

// roundTenth keeps hours readable (30.5, not 30.516666).
func roundTenth(x float64) float64 { return float64(int64(x*10+0.5)) / 10 }
