package checks

import (
	"strings"
	"testing"

	"github.com/utilreview/utilreview/service/facts"
	"github.com/utilreview/utilreview/service/rules"
)

func nubc(code string) []facts.Code {
	return []facts.Code{{System: systemNUBC, Code: code}}
}

func hl7Disp(code string) []facts.Code {
	return []facts.Code{{System: systemHL7DischargeDisp, Code: code}}
}

func TestTwoMidnight(t *testing.T) {
	t.Parallel()
	const asOf = "2026-12-01T10:00"
	tests := []struct {
		name      string
		segs      []string
		edit      func(p *facts.Patient, e *facts.Encounter)
		want      bool
		midnights int
		due       string
		preceding []string // separate ED/observation encounters named as evidence
	}{
		{name: "one midnight", segs: []string{"IMP 2026-03-02T10:00 2026-03-03T15:00"}, want: true, midnights: 1, due: "2026-03-04T23:59:59"},
		{name: "same day", segs: []string{"IMP 2026-03-02T08:00 2026-03-02T20:00"}, want: true, midnights: 0, due: "2026-03-03T23:59:59"},
		{name: "two midnights", segs: []string{"IMP 2026-03-02T10:00 2026-03-04T09:00"}},
		{name: "end exactly at the second midnight counts it", segs: []string{"IMP 2026-03-02T23:30 2026-03-04T00:00"}},
		{name: "a minute before the second midnight", segs: []string{"IMP 2026-03-02T23:30 2026-03-03T23:59"}, want: true, midnights: 1, due: "2026-03-04T23:59:59"},
		{name: "ED and observation time before the order counts",
			segs: []string{"EMER 2026-03-02T20:00 2026-03-03T02:00", "OBSENC 2026-03-03T02:00 2026-03-03T20:00", "IMP 2026-03-03T20:00 2026-03-04T12:00"}},
		{name: "without the ED time the same inpatient stay is short", segs: []string{"IMP 2026-03-03T20:00 2026-03-04T12:00"}, want: true, midnights: 1, due: "2026-03-05T23:59:59"},
		{name: "spring forward: 24.5 clock hours but 2 midnights", segs: []string{"IMP 2026-03-07T23:30 2026-03-09T00:00"}},
		{name: "fall back: 25-hour day is still one midnight", segs: []string{"IMP 2026-10-31T23:30 2026-11-01T23:59"}, want: true, midnights: 1, due: "2026-11-02T23:59:59"},
		{name: "offsets: UTC times read in facility time", segs: []string{"IMP 2026-03-03T04:30:00Z 2026-03-03T20:00:00Z"}, want: true, midnights: 1, due: "2026-03-04T23:59:59"},
		{name: "partial dates", segs: []string{"IMP 2026-03-06 2026-03-07"}, want: true, midnights: 1, due: "2026-03-08T23:59:59"},
		{name: "still in progress", segs: []string{"IMP 2026-11-30T10:00"}},
		{name: "observation only", segs: []string{"OBSENC 2026-03-02T10:00 2026-03-03T15:00"}},
		{name: "inpatient-only procedure (CPT)", segs: []string{"IMP 2026-03-02T10:00 2026-03-03T15:00"}, edit: func(p *facts.Patient, e *facts.Encounter) {
			e.Procedures = []facts.Procedure{{Codes: []facts.Code{{System: "http://www.ama-assn.org/go/cpt", Code: "33510"}}}}
		}},
		{name: "inpatient-only procedure no longer on the list that day", segs: []string{"IMP 2026-03-02T10:00 2026-03-03T15:00"}, edit: func(p *facts.Patient, e *facts.Encounter) {
			e.Procedures = []facts.Procedure{{Codes: []facts.Code{{System: rules.SystemICD10PCS, Code: "0SR9019"}}, Performed: enAt(t, "2026-03-02T12:00")}}
		}, want: true, midnights: 1, due: "2026-03-04T23:59:59"},
		{name: "inpatient-only procedure while on the list", segs: []string{"IMP 2026-01-02T10:00 2026-01-03T15:00"}, edit: func(p *facts.Patient, e *facts.Encounter) {
			e.Procedures = []facts.Procedure{{Codes: []facts.Code{{System: rules.SystemICD10PCS, Code: "0SR9019"}}, Performed: enAt(t, "2026-01-02T12:00")}}
		}},
		{name: "other procedure", segs: []string{"IMP 2026-03-02T10:00 2026-03-03T15:00"}, edit: func(p *facts.Patient, e *facts.Encounter) {
			e.Procedures = []facts.Procedure{{Codes: []facts.Code{{System: rules.SystemCPT, Code: "99223"}}}}
		}, want: true, midnights: 1, due: "2026-03-04T23:59:59"},
		{name: "discharged home (NUBC 01)", segs: []string{"IMP 2026-03-02T10:00 2026-03-03T15:00"}, edit: func(p *facts.Patient, e *facts.Encounter) { e.DischargeDisposition = nubc("01") },
			want: true, midnights: 1, due: "2026-03-04T23:59:59"},
		{name: "SNF is no exception (NUBC 03)", segs: []string{"IMP 2026-03-02T10:00 2026-03-03T15:00"}, edit: func(p *facts.Patient, e *facts.Encounter) { e.DischargeDisposition = nubc("03") },
			want: true, midnights: 1, due: "2026-03-04T23:59:59"},
		{name: "long-term care (R4 long) is no exception", segs: []string{"IMP 2026-03-02T10:00 2026-03-03T15:00"}, edit: func(p *facts.Patient, e *facts.Encounter) { e.DischargeDisposition = hl7Disp("long") },
			want: true, midnights: 1, due: "2026-03-04T23:59:59"},
		{name: "expired (NUBC 20)", segs: []string{"IMP 2026-03-02T10:00 2026-03-03T15:00"}, edit: func(p *facts.Patient, e *facts.Encounter) { e.DischargeDisposition = nubc("20") }},
		{name: "expired (NUBC 41, hospice claims)", segs: []string{"IMP 2026-03-02T10:00 2026-03-03T15:00"}, edit: func(p *facts.Patient, e *facts.Encounter) { e.DischargeDisposition = nubc("41") }},
		{name: "expired (R4 exp)", segs: []string{"IMP 2026-03-02T10:00 2026-03-03T15:00"}, edit: func(p *facts.Patient, e *facts.Encounter) { e.DischargeDisposition = hl7Disp("exp") }},
		{name: "transfer to a hospital (NUBC 02)", segs: []string{"IMP 2026-03-02T10:00 2026-03-03T15:00"}, edit: func(p *facts.Patient, e *facts.Encounter) { e.DischargeDisposition = nubc("02") }},
		{name: "transfer to a CAH (NUBC 66, PatDischargeStatus system)", segs: []string{"IMP 2026-03-02T10:00 2026-03-03T15:00"}, edit: func(p *facts.Patient, e *facts.Encounter) {
			e.DischargeDisposition = []facts.Code{{System: systemNUBCCodeSystem, Code: "66"}}
		}},
		{name: "transfer with planned readmission (NUBC 82)", segs: []string{"IMP 2026-03-02T10:00 2026-03-03T15:00"}, edit: func(p *facts.Patient, e *facts.Encounter) { e.DischargeDisposition = nubc("82") }},
		{name: "transfer (R4 other-hcf)", segs: []string{"IMP 2026-03-02T10:00 2026-03-03T15:00"}, edit: func(p *facts.Patient, e *facts.Encounter) { e.DischargeDisposition = hl7Disp("other-hcf") }},
		{name: "left against advice (NUBC 7 without the zero)", segs: []string{"IMP 2026-03-02T10:00 2026-03-03T15:00"}, edit: func(p *facts.Patient, e *facts.Encounter) { e.DischargeDisposition = nubc("7") }},
		{name: "left against advice (R4 aadvice)", segs: []string{"IMP 2026-03-02T10:00 2026-03-03T15:00"}, edit: func(p *facts.Patient, e *facts.Encounter) { e.DischargeDisposition = hl7Disp("aadvice") }},
		{name: "hospice (NUBC 51)", segs: []string{"IMP 2026-03-02T10:00 2026-03-03T15:00"}, edit: func(p *facts.Patient, e *facts.Encounter) { e.DischargeDisposition = nubc("51") }},
		{name: "hospice (R4 hosp)", segs: []string{"IMP 2026-03-02T10:00 2026-03-03T15:00"}, edit: func(p *facts.Patient, e *facts.Encounter) { e.DischargeDisposition = hl7Disp("hosp") }},
		{name: "unknown disposition system is ignored", segs: []string{"IMP 2026-03-02T10:00 2026-03-03T15:00"}, edit: func(p *facts.Patient, e *facts.Encounter) {
			e.DischargeDisposition = []facts.Code{{System: "http://snomed.info/sct", Code: "20"}}
		}, want: true, midnights: 1, due: "2026-03-04T23:59:59"},
		{name: "patient died during the stay", segs: []string{"IMP 2026-03-02T10:00 2026-03-03T15:00"}, edit: func(p *facts.Patient, e *facts.Encounter) {
			p.Deceased, p.DeceasedAt = true, enAt(t, "2026-03-03")
		}},
		{name: "patient died months later", segs: []string{"IMP 2026-03-02T10:00 2026-03-03T15:00"}, edit: func(p *facts.Patient, e *facts.Encounter) {
			p.Deceased, p.DeceasedAt = true, enAt(t, "2026-06-03")
		}, want: true, midnights: 1, due: "2026-03-04T23:59:59"},
		{name: "separate ED encounter ending at the inpatient start counts", segs: []string{"IMP 2026-03-03T02:00 2026-03-04T12:00"}, edit: func(p *facts.Patient, e *facts.Encounter) {
			enAddEncounter(t, p, "ed", "", "EMER 2026-03-02T20:00 2026-03-03T02:00")
		}},
		{name: "separate ED encounter ending 2 h before counts", segs: []string{"IMP 2026-03-03T04:00 2026-03-04T12:00"}, edit: func(p *facts.Patient, e *facts.Encounter) {
			enAddEncounter(t, p, "ed", "", "EMER 2026-03-02T20:00 2026-03-03T02:00")
		}},
		{name: "ED then observation encounters, chained", segs: []string{"IMP 2026-03-03T20:00 2026-03-04T12:00"}, edit: func(p *facts.Patient, e *facts.Encounter) {
			enAddEncounter(t, p, "ed", "", "EMER 2026-03-02T20:00 2026-03-03T02:00")
			enAddEncounter(t, p, "obs", "", "OBSENC 2026-03-03T02:30 2026-03-03T19:00")
		}},
		{name: "ED encounter linked by partOf counts whatever the gap", segs: []string{"IMP 2026-03-03T12:00 2026-03-04T12:00"}, edit: func(p *facts.Patient, e *facts.Encounter) {
			enAddEncounter(t, p, "ed", "Encounter/t1", "EMER 2026-03-02T20:00 2026-03-03T02:00")
		}},
		{name: "the stay partOf the ED encounter", segs: []string{"IMP 2026-03-03T12:00 2026-03-04T12:00"}, edit: func(p *facts.Patient, e *facts.Encounter) {
			enAddEncounter(t, p, "ed", "", "EMER 2026-03-02T20:00 2026-03-03T02:00")
			e.PartOf = "Encounter/ed"
		}},
		{name: "ED encounter counted, still short: named as evidence", segs: []string{"IMP 2026-03-03T02:00 2026-03-03T20:00"}, edit: func(p *facts.Patient, e *facts.Encounter) {
			enAddEncounter(t, p, "ed", "", "EMER 2026-03-03T00:30 2026-03-03T02:00")
		}, want: true, midnights: 0, due: "2026-03-04T23:59:59", preceding: []string{"Encounter/ed"}},
		{name: "ED encounter ending more than 2 h before does not count", segs: []string{"IMP 2026-03-03T04:01 2026-03-04T12:00"}, edit: func(p *facts.Patient, e *facts.Encounter) {
			enAddEncounter(t, p, "ed", "", "EMER 2026-03-02T20:00 2026-03-03T02:00")
		}, want: true, midnights: 1, due: "2026-03-05T23:59:59"},
		{name: "an ambulatory visit before does not count", segs: []string{"IMP 2026-03-03T02:00 2026-03-04T12:00"}, edit: func(p *facts.Patient, e *facts.Encounter) {
			enAddEncounter(t, p, "amb", "", "AMB 2026-03-02T20:00 2026-03-03T02:00")
		}, want: true, midnights: 1, due: "2026-03-05T23:59:59"},
		{name: "a cancelled ED encounter does not count", segs: []string{"IMP 2026-03-03T02:00 2026-03-04T12:00"}, edit: func(p *facts.Patient, e *facts.Encounter) {
			enAddEncounter(t, p, "ed", "", "EMER 2026-03-02T20:00 2026-03-03T02:00").Status = "cancelled"
		}, want: true, midnights: 1, due: "2026-03-05T23:59:59"},
		{name: "deceased without a date, no later encounter", segs: []string{"IMP 2026-03-02T10:00 2026-03-03T15:00"}, edit: func(p *facts.Patient, e *facts.Encounter) {
			p.Deceased = true
		}},
		{name: "deceased without a date, seen again later", segs: []string{"IMP 2026-03-02T10:00 2026-03-03T15:00"}, edit: func(p *facts.Patient, e *facts.Encounter) {
			p.Deceased = true
			later := enStay(t, "later", "AMB 2026-04-01T10:00 2026-04-01T11:00")
			later.Patient = p
			p.Encounters = append(p.Encounters, later)
		}, want: true, midnights: 1, due: "2026-03-04T23:59:59"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := enStay(t, "t1", tc.segs...)
			p := enPatient(e)
			if tc.edit != nil {
				tc.edit(p, e)
			}
			got := enReview(enRun(t, asOf, enMedicare()), p, CheckTwoMidnight)
			if !tc.want {
				if len(got) != 0 {
					t.Fatalf("got %d findings, want none: %s", len(got), got[0].Description)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("got %d findings, want 1", len(got))
			}
			f := got[0]
			enCheckShape(t, f)
			enWantDue(t, f, enAt(t, tc.due))
			if ev, _ := enEvidence(f, evTotalMidnights); ev.Int == nil || *ev.Int != tc.midnights {
				t.Errorf("total-midnights %v, want %d", ev.Int, tc.midnights)
			}
			if f.Status != StatusOverdue {
				t.Errorf("status %q, want overdue (reviewed long after)", f.Status)
			}
			var preceding []string
			for _, ev := range f.Evidence {
				if ev.Type == evPrecedingEncounter {
					preceding = append(preceding, *ev.Ref)
				}
			}
			if strings.Join(preceding, ",") != strings.Join(tc.preceding, ",") {
				t.Errorf("preceding encounters %v, want %v", preceding, tc.preceding)
			}
			if len(tc.preceding) > 0 {
				if ev, _ := enEvidence(f, evStayStart); ev.DateTime == nil || !ev.DateTime.Equal(p.Encounters[1].Start) {
					t.Errorf("stay-start %v, want the ED arrival", ev.DateTime)
				}
			}
		})
	}
	t.Run("switched off", func(t *testing.T) {
		rs := enMedicare()
		rs.Checks.TwoMidnight.Enabled = false
		e := enStay(t, "t2", "IMP 2026-03-02T10:00 2026-03-03T15:00")
		if got := enReview(enRun(t, asOf, rs), enPatient(e), CheckTwoMidnight); len(got) != 0 {
			t.Errorf("got %d findings with the rule off", len(got))
		}
	})
}

func TestConditionCode44(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		segs  []string
		asOf  string
		want  bool
		due   string
		class string
	}{
		{name: "inpatient to observation, still in", segs: []string{"IMP 2026-03-02T10:00 2026-03-03T09:00", "OBSENC 2026-03-03T09:00"}, asOf: "2026-03-03T10:00",
			want: true, due: "2026-03-04T09:00", class: ClassObservation},
		{name: "inpatient to outpatient, discharged the same day: due at discharge", segs: []string{"IMP 2026-03-02T10:00 2026-03-03T09:00", "AMB 2026-03-03T09:00 2026-03-03T15:00"},
			asOf: "2026-03-04T10:00", want: true, due: "2026-03-03T15:00", class: ClassAmbulatory},
		{name: "change after the review time is not seen yet", segs: []string{"IMP 2026-03-02T10:00 2026-03-03T09:00", "OBSENC 2026-03-03T09:00"}, asOf: "2026-03-03T08:00"},
		{name: "observation to inpatient is an admission", segs: []string{"OBSENC 2026-03-02T10:00 2026-03-03T09:00", "IMP 2026-03-03T09:00"}, asOf: "2026-03-03T10:00"},
		{name: "inpatient throughout", segs: []string{"IMP 2026-03-02T10:00"}, asOf: "2026-03-03T10:00"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := enStay(t, "c1", tc.segs...)
			got := enReview(enRun(t, tc.asOf, enMedicare()), enPatient(e), CheckConditionCode44)
			if !tc.want {
				if len(got) != 0 {
					t.Fatalf("got %d findings, want none", len(got))
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("got %d findings, want 1", len(got))
			}
			f := got[0]
			enCheckShape(t, f)
			enWantDue(t, f, enAt(t, tc.due))
			if f.Owner != PhysicianAdvisor || f.Priority != Urgent {
				t.Errorf("owner %q priority %q, want physician advisor, urgent", f.Owner, f.Priority)
			}
			if ev, _ := enEvidence(f, evNewClass); ev.String == nil || *ev.String != tc.class {
				t.Errorf("new-class %v, want %s", ev.String, tc.class)
			}
		})
	}
}

func TestImportantMessage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		segs     []string
		asOf     string
		rs       func() *rules.RuleSet
		initial  string // due, "" for none
		followUp string
	}{
		{name: "in progress: initial copy only", segs: []string{"IMP 2026-03-02T10:00"}, asOf: "2026-03-02T12:00", initial: "2026-03-04T23:59:59"},
		{name: "admitted a minute before midnight", segs: []string{"IMP 2026-03-02T23:59"}, asOf: "2026-03-03T01:00", initial: "2026-03-04T23:59:59"},
		{name: "over spring forward", segs: []string{"IMP 2026-03-07T10:00"}, asOf: "2026-03-07T12:00", initial: "2026-03-09T23:59:59"},
		{name: "inpatient order after observation starts the count", segs: []string{"OBSENC 2026-03-01T10:00 2026-03-02T10:00", "IMP 2026-03-02T10:00"}, asOf: "2026-03-02T12:00", initial: "2026-03-04T23:59:59"},
		{name: "discharged the next day: initial copy due at discharge", segs: []string{"IMP 2026-03-02T10:00 2026-03-03T15:30"}, asOf: "2026-03-05T12:00", initial: "2026-03-03T15:30"},
		{name: "discharged the same day: initial copy due at discharge", segs: []string{"IMP 2026-03-02T10:00 2026-03-02T18:00"}, asOf: "2026-03-02T20:00", initial: "2026-03-02T18:00"},
		{name: "discharge after as-of is not yet known", segs: []string{"IMP 2026-03-02T10:00 2026-03-03T15:30"}, asOf: "2026-03-03T12:00", initial: "2026-03-04T23:59:59"},
		{name: "discharged 2 days after admission: no follow-up, initial due at discharge", segs: []string{"IMP 2026-03-02T10:00 2026-03-04T16:00"}, asOf: "2026-03-05T12:00", initial: "2026-03-04T16:00"},
		{name: "discharged 3 days after admission: follow-up due at discharge", segs: []string{"IMP 2026-03-02T10:00 2026-03-05T16:00"}, asOf: "2026-03-06T12:00",
			initial: "2026-03-04T23:59:59", followUp: "2026-03-05T16:00"},
		{name: "observation only", segs: []string{"OBSENC 2026-03-02T10:00"}, asOf: "2026-03-02T12:00"},
		{name: "commercial payer", segs: []string{"IMP 2026-03-02T10:00"}, asOf: "2026-03-02T12:00", rs: func() *rules.RuleSet { return enCommercial(t, false) }},
		{name: "Medicare Advantage", segs: []string{"IMP 2026-03-02T10:00"}, asOf: "2026-03-02T12:00", rs: func() *rules.RuleSet {
			rs := enMedicare()
			rs.Program = rules.MedicareAdvantage
			return rs
		}, initial: "2026-03-04T23:59:59"},
		{name: "defaults when days are unset", segs: []string{"IMP 2026-03-02T10:00"}, asOf: "2026-03-02T12:00", rs: func() *rules.RuleSet {
			rs := enMedicare()
			rs.Checks.ImportantMessage = rules.ImportantMessage{Enabled: true}
			return rs
		}, initial: "2026-03-04T23:59:59"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rs := enMedicare()
			if tc.rs != nil {
				rs = tc.rs()
			}
			e := enStay(t, "i1", tc.segs...)
			got := enReview(enRun(t, tc.asOf, rs), enPatient(e), CheckImportantMessage)
			want := 0
			if tc.initial != "" {
				want++
			}
			if tc.followUp != "" {
				want++
			}
			if len(got) != want {
				t.Fatalf("got %d findings, want %d", len(got), want)
			}
			for _, f := range got {
				enCheckShape(t, f)
				copyEv, _ := enEvidence(f, evIMCopy)
				switch *copyEv.String {
				case "initial":
					enWantDue(t, f, enAt(t, tc.initial))
					if f.Episode != e.Key {
						t.Errorf("initial episode %q, want %q", f.Episode, e.Key)
					}
				case "follow-up":
					enWantDue(t, f, enAt(t, tc.followUp))
					if f.Episode != e.Key+"+follow-up" {
						t.Errorf("follow-up episode %q", f.Episode)
					}
				}
			}
		})
	}
}

func TestSNFThreeDay(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		segs []string
		disp []facts.Code
		asOf string
		rs   func() *rules.RuleSet
		want bool
		days int
		due  string
	}{
		{name: "two inpatient midnights, NUBC 03", segs: []string{"IMP 2026-03-02T10:00 2026-03-04T12:00"}, disp: nubc("03"), want: true, days: 2, due: "2026-03-04T12:00"},
		{name: "three inpatient midnights", segs: []string{"IMP 2026-03-02T10:00 2026-03-05T12:00"}, disp: nubc("03")},
		{name: "discharged exactly at the third midnight", segs: []string{"IMP 2026-03-02T10:00 2026-03-05T00:00"}, disp: nubc("03")},
		{name: "observation time does not count", segs: []string{"OBSENC 2026-02-27T10:00 2026-03-02T10:00", "IMP 2026-03-02T10:00 2026-03-04T12:00"}, disp: nubc("03"), want: true, days: 2, due: "2026-03-04T12:00"},
		{name: "swing bed (NUBC 61, PatDischargeStatus)", segs: []string{"IMP 2026-03-02T10:00 2026-03-03T12:00"}, disp: []facts.Code{{System: systemNUBCCodeSystem, Code: "61"}}, want: true, days: 1, due: "2026-03-03T12:00"},
		{name: "SNF with planned readmission (NUBC 83)", segs: []string{"IMP 2026-03-02T10:00 2026-03-03T12:00"}, disp: nubc("83"), want: true, days: 1, due: "2026-03-03T12:00"},
		{name: "swing bed with planned readmission (NUBC 89)", segs: []string{"IMP 2026-03-02T10:00 2026-03-03T12:00"}, disp: nubc("89"), want: true, days: 1, due: "2026-03-03T12:00"},
		{name: "R4 snf", segs: []string{"IMP 2026-03-02T10:00 2026-03-03T12:00"}, disp: hl7Disp("snf"), want: true, days: 1, due: "2026-03-03T12:00"},
		{name: "planned SNF discharge while still in: due at the third midnight", segs: []string{"IMP 2026-03-02T10:00"}, disp: nubc("03"), asOf: "2026-03-03T12:00",
			want: true, days: 1, due: "2026-03-05T00:00"},
		{name: "home", segs: []string{"IMP 2026-03-02T10:00 2026-03-03T12:00"}, disp: nubc("01")},
		{name: "no disposition", segs: []string{"IMP 2026-03-02T10:00 2026-03-03T12:00"}},
		{name: "observation only to SNF", segs: []string{"OBSENC 2026-03-02T10:00 2026-03-03T12:00"}, disp: nubc("03")},
		{name: "waived (Medicare Advantage plan)", segs: []string{"IMP 2026-03-02T10:00 2026-03-03T12:00"}, disp: nubc("03"), rs: func() *rules.RuleSet {
			rs := enMedicare()
			rs.Checks.SNFThreeDay.Enabled = false
			return rs
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rs := enMedicare()
			if tc.rs != nil {
				rs = tc.rs()
			}
			asOf := tc.asOf
			if asOf == "" {
				asOf = "2026-03-10T10:00"
			}
			e := enStay(t, "n1", tc.segs...)
			e.DischargeDisposition = tc.disp
			got := enReview(enRun(t, asOf, rs), enPatient(e), CheckSNFThreeDay)
			if !tc.want {
				if len(got) != 0 {
					t.Fatalf("got %d findings, want none", len(got))
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("got %d findings, want 1", len(got))
			}
			f := got[0]
			enCheckShape(t, f)
			enWantDue(t, f, enAt(t, tc.due))
			if ev, _ := enEvidence(f, evInpatientDays); ev.Int == nil || *ev.Int != tc.days {
				t.Errorf("inpatient-days %v, want %d", ev.Int, tc.days)
			}
			if len(f.Reasons) != 1 || f.Reasons[0].Code != tc.disp[0].Code {
				t.Errorf("reasons %v, want the disposition", f.Reasons)
			}
		})
	}
}
