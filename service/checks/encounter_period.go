package checks

import (
	"fmt"

	"github.com/utilreview/utilreview/fhir"
	"github.com/utilreview/utilreview/service/facts"
)

// imprecisePeriod reports a period.start or period.end written with less
// than day precision ("2026-11", "2026"): the facts read it as the first
// instant of the month or year, so days and midnights counted from it
// would be invented.
func imprecisePeriod(e *facts.Encounter) bool {
	return vague(e.StartPrecision) || (!e.End.IsZero() && vague(e.EndPrecision))
}

// vague: known, and coarser than a day.
func vague(p fhir.Precision) bool { return p != 0 && p < fhir.Day }

// periodGap raises the one data-gap finding of an inpatient or observation
// stay whose period cannot be counted: written with month or year
// precision, or finished without any end. It is a stale-encounter finding
// (the encounter's period needs correcting in the record) with its own
// episode; no length-of-stay, two-midnight, observation or review finding
// is computed from such a period.
func (r *run) periodGap(c *encCtx) Finding {
	e := c.e
	episode, what := "+no-end", "is recorded as finished but has no end (period.end, or an end of its class history)"
	if imprecisePeriod(e) {
		episode = "+imprecise-period"
		var parts []string
		if vague(e.StartPrecision) {
			parts = append(parts, "start to the "+e.StartPrecision.String())
		}
		if !e.End.IsZero() && vague(e.EndPrecision) {
			parts = append(parts, "end to the "+e.EndPrecision.String())
		}
		what = "has its period recorded only " + joinAnd(parts) + ", not to the day"
	}
	kind := "Observation stay"
	if !c.s.ipStart.IsZero() {
		kind = "Inpatient stay"
	}
	f := r.newFinding(CheckStaleEncounter, Routine, PatientAccessTeam, c, dayEnd(e.Start, 1, r.loc))
	f.Episode = stayKey(e) + episode
	f.Status = StatusDataGap
	f.Description = fmt.Sprintf("%s starting %s %s: lengths of stay, midnights and review deadlines cannot be counted from it. Correct the encounter's period in the record; the length-of-stay, two-midnight, observation and review checks are held until then.",
		kind, e.Start.In(r.loc).Format(descriptionDateLayout), what)
	f.Evidence = []Evidence{
		TimeEvidence(evStayStart, e.Start),
		StringEvidence(evEncounterClass, e.Class),
	}
	if vague(e.StartPrecision) {
		f.Evidence = append(f.Evidence, StringEvidence(evStartPrecision, e.StartPrecision.String()))
	}
	if !e.End.IsZero() && vague(e.EndPrecision) {
		f.Evidence = append(f.Evidence, StringEvidence(evEndPrecision, e.EndPrecision.String()))
	}
	return f
}

func joinAnd(parts []string) string {
	if len(parts) == 2 {
		return parts[0] + " and its " + parts[1]
	}
	if len(parts) == 1 {
		return "its " + parts[0]
	}
	return ""
}
