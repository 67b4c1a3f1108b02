package checks

import (
	"testing"

	"github.com/utilreview/utilreview/service/facts"
	"github.com/utilreview/utilreview/service/rules"
)

func TestReadmission(t *testing.T) {
	t.Parallel()
	type stayDef struct {
		id   string
		segs []string
		edit func(e *facts.Encounter)
	}
	index := func(end string, edit func(e *facts.Encounter)) stayDef {
		return stayDef{id: "index", segs: []string{"IMP 2026-02-25T10:00 " + end}, edit: edit}
	}
	principal := func(system, code string) func(e *facts.Encounter) {
		return func(e *facts.Encounter) {
			e.Diagnoses = []facts.Diagnosis{
				{Codes: []facts.Code{{System: rules.SystemICD10CM, Code: "E11.9"}}},
				{Codes: []facts.Code{{System: system, Code: code}}, Principal: true},
			}
		}
	}
	tests := []struct {
		name       string
		stays      []stayDef
		readmit    []string
		edit       func(e *facts.Encounter)
		asOf       string
		want       bool
		gap        int
		episode    string
		cohort     string
		cohortCode string
	}{
		{name: "30 days after discharge", stays: []stayDef{index("2026-03-01T12:00", nil)}, readmit: []string{"IMP 2026-03-31T09:00"},
			want: true, gap: 30, episode: "urn:example:enc|index+urn:example:enc|readmit"},
		{name: "31 days after discharge", stays: []stayDef{index("2026-03-01T12:00", nil)}, readmit: []string{"IMP 2026-04-01T09:00"}},
		{name: "same day", stays: []stayDef{index("2026-03-01T12:00", nil)}, readmit: []string{"IMP 2026-03-01T20:00"}, want: true, gap: 0},
		{name: "counted from the inpatient order, ED arrival after discharge", stays: []stayDef{index("2026-03-01T12:00", nil)},
			readmit: []string{"EMER 2026-03-30T22:00 2026-03-31T03:00", "IMP 2026-03-31T03:00"}, want: true, gap: 30},
		{name: "observation readmission is not an inpatient admission", stays: []stayDef{index("2026-03-01T12:00", nil)}, readmit: []string{"OBSENC 2026-03-05T09:00"}},
		{name: "previous stay was observation only", stays: []stayDef{{id: "index", segs: []string{"OBSENC 2026-02-25T10:00 2026-03-01T12:00"}}}, readmit: []string{"IMP 2026-03-05T09:00"}},
		{name: "previous stay not yet discharged", stays: []stayDef{{id: "index", segs: []string{"IMP 2026-02-25T10:00"}}}, readmit: []string{"IMP 2026-03-05T09:00"}},
		{name: "previous stay cancelled", stays: []stayDef{index("2026-03-01T12:00", func(e *facts.Encounter) { e.Status = "cancelled" })}, readmit: []string{"IMP 2026-03-05T09:00"}},
		{name: "the latest discharge is the index", stays: []stayDef{
			{id: "older", segs: []string{"IMP 2026-02-01T10:00 2026-02-03T12:00"}},
			index("2026-03-01T12:00", nil),
		}, readmit: []string{"IMP 2026-03-05T09:00"}, want: true, gap: 4, episode: "urn:example:enc|index+urn:example:enc|readmit"},
		{name: "planned: on the planned code list", stays: []stayDef{index("2026-03-01T12:00", nil)}, readmit: []string{"IMP 2026-03-05T09:00"},
			edit: principal(rules.SystemICD10CM, "Z51.11")},
		{name: "planned: reAdmission says planned", stays: []stayDef{index("2026-03-01T12:00", nil)}, readmit: []string{"IMP 2026-03-05T09:00"},
			edit: func(e *facts.Encounter) { e.ReAdmission = []facts.Code{{Display: "Planned readmission"}} }},
		{name: "reAdmission says unplanned", stays: []stayDef{index("2026-03-01T12:00", nil)}, readmit: []string{"IMP 2026-03-05T09:00"},
			edit: func(e *facts.Encounter) { e.ReAdmission = []facts.Code{{Display: "Unplanned readmission"}} }, want: true, gap: 4},
		{name: "transfer chain: index discharged to a short-term hospital (NUBC 02)", stays: []stayDef{index("2026-03-01T12:00", func(e *facts.Encounter) { e.DischargeDisposition = nubc("2") })},
			readmit: []string{"IMP 2026-03-05T09:00"}},
		{name: "transfer chain: index discharged to a hospital, planned readmission (NUBC 82)", stays: []stayDef{index("2026-03-01T12:00", func(e *facts.Encounter) { e.DischargeDisposition = nubc("82") })},
			readmit: []string{"IMP 2026-03-05T09:00"}},
		{name: "transfer chain: index discharged to a critical access hospital (NUBC 66)", stays: []stayDef{index("2026-03-01T12:00", func(e *facts.Encounter) { e.DischargeDisposition = nubc("66") })},
			readmit: []string{"IMP 2026-03-05T09:00"}},
		{name: "transfer chain: index discharged to another facility (R4 other-hcf)", stays: []stayDef{index("2026-03-01T12:00", func(e *facts.Encounter) { e.DischargeDisposition = hl7Disp("other-hcf") })},
			readmit: []string{"IMP 2026-03-05T09:00"}},
		{name: "discharge to a rehabilitation facility (NUBC 62) is no acute transfer", stays: []stayDef{index("2026-03-01T12:00", func(e *facts.Encounter) { e.DischargeDisposition = nubc("62") })},
			readmit: []string{"IMP 2026-03-05T09:00"}, want: true, gap: 4},
		{name: "discharge to a SNF (R4 snf) is no acute transfer", stays: []stayDef{index("2026-03-01T12:00", func(e *facts.Encounter) { e.DischargeDisposition = hl7Disp("snf") })},
			readmit: []string{"IMP 2026-03-05T09:00"}, want: true, gap: 4},
		{name: "planned: index discharged with planned readmission (NUBC 81)", stays: []stayDef{index("2026-03-01T12:00", func(e *facts.Encounter) { e.DischargeDisposition = nubc("81") })},
			readmit: []string{"IMP 2026-03-05T09:00"}},
		{name: "HRRP heart failure by ICD-10-CM prefix", stays: []stayDef{index("2026-03-01T12:00", principal(rules.SystemICD10CM, "I50.9"))},
			readmit: []string{"IMP 2026-03-05T09:00"}, want: true, gap: 4, cohort: "HF", cohortCode: "I50.9"},
		{name: "HRRP by Synthea's SNOMED reason code", stays: []stayDef{index("2026-03-01T12:00", func(e *facts.Encounter) {
			e.Reasons = []facts.Code{{System: "http://snomed.info/sct", Code: "88805009"}}
		})}, readmit: []string{"IMP 2026-03-05T09:00"}, want: true, gap: 4, cohort: "HF", cohortCode: "88805009"},
		{name: "HRRP CABG by ICD-10-PCS procedure", stays: []stayDef{index("2026-03-01T12:00", func(e *facts.Encounter) {
			e.Procedures = []facts.Procedure{{Codes: []facts.Code{{System: "http://www.cms.gov/Medicare/Coding/ICD10", Code: "021109W"}}}}
		})}, readmit: []string{"IMP 2026-03-05T09:00"}, want: true, gap: 4, cohort: "CABG", cohortCode: "021109W"},
		{name: "a secondary diagnosis does not place the stay in a cohort", stays: []stayDef{index("2026-03-01T12:00", func(e *facts.Encounter) {
			e.Diagnoses = []facts.Diagnosis{
				{Codes: []facts.Code{{System: rules.SystemICD10CM, Code: "E11.9"}}, Principal: true},
				{Codes: []facts.Code{{System: rules.SystemICD10CM, Code: "I50.9"}}},
			}
		})}, readmit: []string{"IMP 2026-03-05T09:00"}, want: true, gap: 4},
		{name: "discharge after the review time is not known yet", stays: []stayDef{index("2026-03-01T12:00", nil)}, readmit: []string{"IMP 2026-03-05T09:00"}, asOf: "2026-02-28T09:00"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var encs []*facts.Encounter
			for _, s := range tc.stays {
				e := enStay(t, s.id, s.segs...)
				if s.edit != nil {
					s.edit(e)
				}
				encs = append(encs, e)
			}
			re := enStay(t, "readmit", tc.readmit...)
			if tc.edit != nil {
				tc.edit(re)
			}
			p := enPatient(append(encs, re)...)
			asOf := tc.asOf
			if asOf == "" {
				asOf = "2026-04-10T10:00"
			}
			var got []Finding
			for _, f := range enRun(t, asOf, enMedicare()).encounter(p, re) {
				if f.Check == CheckReadmission30d {
					got = append(got, f)
				}
			}
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
			if ev, _ := enEvidence(f, evDaysSinceDischarge); ev.Int == nil || *ev.Int != tc.gap {
				t.Errorf("days-since-discharge %v, want %d", ev.Int, tc.gap)
			}
			if tc.episode != "" && f.Episode != tc.episode {
				t.Errorf("episode %q, want %q", f.Episode, tc.episode)
			}
			if ev, _ := enEvidence(f, evIndexStay); ev.Ref == nil || *ev.Ref != "Encounter/index" {
				t.Errorf("index-stay %v, want Encounter/index", ev.Ref)
			}
			cohort, hasCohort := enEvidence(f, evHRRPCohort)
			if tc.cohort == "" {
				if hasCohort {
					t.Errorf("hrrp-cohort %q, want none", *cohort.String)
				}
				return
			}
			if !hasCohort || *cohort.String != tc.cohort {
				t.Errorf("hrrp-cohort %v, want %s", cohort.String, tc.cohort)
			}
			if code, _ := enEvidence(f, evHRRPCode); code.Code == nil || code.Code.Code != tc.cohortCode {
				t.Errorf("hrrp-code %+v, want %s", code.Code, tc.cohortCode)
			}
		})
	}
	t.Run("default window when unset", func(t *testing.T) {
		rs := enMedicare()
		rs.Checks.Readmission.WindowDays = 0
		idx := enStay(t, "index", "IMP 2026-02-25T10:00 2026-03-01T12:00")
		re := enStay(t, "readmit", "IMP 2026-03-31T09:00")
		p := enPatient(idx, re)
		if got := enReview(enRun(t, "2026-04-01T10:00", rs), p, CheckReadmission30d); len(got) != 1 {
			t.Errorf("got %d findings with the default 30-day window, want 1", len(got))
		}
	})
}
