package checks

import (
	"testing"
	"time"

	"github.com/utilreview/utilreview/service/facts"
	"github.com/utilreview/utilreview/service/rules"
)

// FuzzEncounter feeds the encounter checks arbitrary timelines, statuses,
// dispositions and rule numbers: nothing may panic, and every finding must
// stay well formed.
func FuzzEncounter(f *testing.F) {
	f.Add(int64(0), int64(3600), int64(7200), int64(86400*3), "IMP", "OBSENC", "finished", "03", 24, 48, 3, 2.5, 1.5, 30, 3)
	f.Add(int64(-86400), int64(0), int64(0), int64(0), "OBSENC", "IMP", "in-progress", "20", 0, 0, 0, 0.0, 0.0, 0, 0)
	f.Add(int64(1<<40), int64(-1<<40), int64(5), int64(-5), "", "AMB", "unknown", "x", -1, 1<<30, -3, -1.0, 1e300, -30, 1<<30)
	f.Fuzz(func(t *testing.T, a, b, c, d int64, class1, class2, status, disp string, hours, maxHours, every int, factor, esc float64, window, snf int) {
		loc := enLoc(t)
		base := time.Date(2026, 3, 7, 12, 0, 0, 0, loc)
		at := func(s int64) time.Time { return base.Add(time.Duration(s) * time.Second) }
		e := &facts.Encounter{Ref: "Encounter/f", Key: "k|f", Status: status, Class: class2, Start: at(a), End: at(d),
			Segments:             []facts.Segment{{Class: class1, Start: at(a), End: at(b)}, {Class: class2, Start: at(b), End: at(c)}},
			DischargeDisposition: []facts.Code{{System: systemNUBC, Code: disp}, {System: systemHL7DischargeDisp, Code: disp}},
			DRG:                  "291", Payer: enPayerOrg}
		if d == 0 {
			e.End = time.Time{}
		}
		prev := &facts.Encounter{Ref: "Encounter/p", Key: "k|p", Status: "finished", Class: ClassInpatient, Start: at(a - 86400*5), End: at(a - 86400)}
		p := enPatient(prev, e)
		p.Deceased = disp == "x"
		rs := enMedicare()
		rs.Checks.AdmissionNotification = rules.AdmissionNotification{Enabled: true, Hours: hours, NextBusinessDay: true,
			Exemptions: []rules.NotificationExemption{{Name: "m", CodeList: "missing", Hours: hours * 2}}}
		rs.Checks.Observation.MaxHours = maxHours
		rs.Checks.Observation.SecondMidnightLeadHours = hours
		rs.Checks.ConcurrentReview.EveryDays = every
		rs.Checks.GMLOS.Factor, rs.Checks.GMLOS.EscalationFactor = factor, esc
		rs.Checks.GMLOS.DefaultReviewDay = every
		rs.Checks.Readmission.WindowDays = window
		rs.Checks.SNFThreeDay.MinMidnights = snf
		rs.Checks.ImportantMessage.DaysAfterAdmission, rs.Checks.ImportantMessage.DaysBeforeDischarge = snf, window
		for _, asOf := range []time.Time{at(c), at(d + 3600), base.AddDate(2, 0, 0)} {
			r := &run{asOf: asOf, loc: loc, cfg: Config{StaleAfterDays: DefaultStaleAfterDays}, rules: enRules{rs: rs, matched: true}}
			for _, e := range p.Encounters {
				for _, fnd := range r.encounter(p, e) {
					if fnd.Check == "" || fnd.FocusRef == "" || fnd.Episode == "" || fnd.Status == "" || fnd.Description == "" {
						t.Fatalf("malformed finding %+v", fnd)
					}
				}
			}
		}
	})
}
