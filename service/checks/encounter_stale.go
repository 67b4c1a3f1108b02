package checks

import (
	"fmt"

	"github.com/utilreview/utilreview/service/facts"
)

// EmergencyStaleDays: an emergency encounter (class EMER) longer than this
// is a data-quality finding; an emergency visit is counted in hours.
const EmergencyStaleDays = 3

// Episode suffixes of the stale-encounter findings about a period that is
// too long; the encounter still open after the stale threshold keeps the
// plain stay key.
const (
	staleEpisodeTooLong       = "+too-long"
	staleEpisodeLongEmergency = "+long-emergency"
)

// staleEncounter: an encounter whose recorded period cannot be right
// gets one data-quality finding instead of length-of-stay findings, which
// would be absurd:
//   - still in progress StaleAfterDays after its start (almost always one
//     nobody closed);
//   - finished, but longer than StaleAfterDays (episode "<stay>+too-long");
//   - an emergency encounter (class EMER) longer than EmergencyStaleDays,
//     finished or not (episode "<stay>+long-emergency").
//
// Its text and evidence cite the start, the threshold and, once finished,
// the end, never a count that grows with the clock: the live service
// rewrites a Task whose evidence changes.
func (r *run) staleEncounter(p *facts.Patient, e *facts.Encounter) (Finding, bool) {
	if e.Start.IsZero() {
		return Finding{}, false
	}
	open := (e.End.IsZero() && e.Status != "finished") || e.End.After(r.asOf)
	days := r.cfg.StaleAfterDays
	if days <= 0 {
		days = DefaultStaleAfterDays
	}
	start := e.Start.In(r.loc)
	staleAt := start.AddDate(0, 0, days)
	emergencyAt := start.AddDate(0, 0, EmergencyStaleDays)
	finished := !open && !e.End.IsZero()
	c := encCtx{p: p, e: e}
	var f Finding
	switch {
	case open && r.asOf.After(staleAt):
		f = r.newFinding(CheckStaleEncounter, Routine, PatientAccessTeam, &c, staleAt)
		f.Description = fmt.Sprintf("Encounter recorded as in progress since %s, more than the %d days after which utilreview treats it as stale (since %s). Check whether the patient was discharged and the encounter left open, and correct its status and end. Length-of-stay checks are held until then.",
			start.Format(descriptionDateLayout), days, staleAt.Format(descriptionDateLayout))
		f.Evidence = []Evidence{TimeEvidence(evStayStart, start), IntEvidence(evStaleAfterDays, days)}
	case finished && e.End.After(staleAt):
		f = r.newFinding(CheckStaleEncounter, Routine, PatientAccessTeam, &c, staleAt)
		f.Episode = stayKey(e) + staleEpisodeTooLong
		f.Description = fmt.Sprintf("Encounter recorded from %s to %s, %d days: longer than the %d days after which utilreview treats a period as stale. Check the encounter's start and end (an encounter left open and closed much later, or a wrong date), and correct them. Length-of-stay checks are held until then.",
			start.Format(descriptionDateLayout), e.End.In(r.loc).Format(descriptionDateLayout), Midnights(start, e.End, r.loc), days)
		f.Evidence = []Evidence{TimeEvidence(evStayStart, start), TimeEvidence(evStayEnd, e.End.In(r.loc)),
			IntEvidence(evDaysOpen, Midnights(start, e.End, r.loc)), IntEvidence(evStaleAfterDays, days)}
	case e.Class == ClassEmergency && (open && r.asOf.After(emergencyAt) || finished && e.End.After(emergencyAt)):
		f = r.newFinding(CheckStaleEncounter, Routine, PatientAccessTeam, &c, emergencyAt)
		f.Episode = stayKey(e) + staleEpisodeLongEmergency
		if open {
			f.Description = fmt.Sprintf("Emergency encounter recorded as in progress since %s, more than %d days (since %s): an emergency visit lasts hours. Check whether the patient was admitted, transferred or discharged and the encounter left open, and correct its class, status and end.",
				start.Format(descriptionTimeLayout), EmergencyStaleDays, emergencyAt.Format(descriptionTimeLayout))
			f.Evidence = []Evidence{TimeEvidence(evStayStart, start)}
		} else {
			f.Description = fmt.Sprintf("Emergency encounter recorded from %s to %s, more than %d days: an emergency visit lasts hours. Check whether the stay continued as observation or inpatient under this encounter, and correct its class or period.",
				start.Format(descriptionTimeLayout), e.End.In(r.loc).Format(descriptionTimeLayout), EmergencyStaleDays)
			f.Evidence = []Evidence{TimeEvidence(evStayStart, start), TimeEvidence(evStayEnd, e.End.In(r.loc)), IntEvidence(evDaysOpen, Midnights(start, e.End, r.loc))}
		}
		f.Evidence = append(f.Evidence, IntEvidence(evEmergencyStaleDays, EmergencyStaleDays))
	default:
		return Finding{}, false
	}
	f.Status = StatusDataGap
	f.Evidence = append(f.Evidence, StringEvidence(evEncounterClass, e.Class))
	return f, true
}
