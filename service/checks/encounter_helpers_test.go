package checks

// Test helpers for the encounter checks. Every fixture here is synthetic:
// Go literals made up for the tests, not taken from any patient record.

import (
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the facility zone must load on machines without zoneinfo

	"github.com/utilreview/utilreview/service/facts"
	"github.com/utilreview/utilreview/service/rules"
)

func enLoc(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatalf("load America/New_York: %v", err)
	}
	return loc
}

// enAt parses "2026-03-02T10:00" as facility time, or an RFC 3339 time
// with its own offset, or a date alone (a partial date: 00:00 facility time).
func enAt(t testing.TB, s string) time.Time {
	t.Helper()
	loc := enLoc(t)
	if i := strings.IndexByte(s, 'T'); i >= 0 && strings.ContainsAny(s[i:], "Z+-") {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatalf("bad time %q: %v", s, err)
		}
		return v.In(loc)
	}
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04", time.DateOnly} {
		if v, err := time.ParseInLocation(layout, s, loc); err == nil {
			return v
		}
	}
	t.Fatalf("bad time %q", s)
	return time.Time{}
}

// enRules always answers with one rule set.
type enRules struct {
	rs      *rules.RuleSet
	matched bool
}

func (s enRules) For(*facts.Payer, time.Time) (*rules.RuleSet, bool) { return s.rs, s.matched }

// enMedicare is a Medicare fee-for-service rule set with every encounter
// check on, as the shipped one is meant to be.
func enMedicare() *rules.RuleSet {
	rs := &rules.RuleSet{
		ID: "test-medicare", Version: "1", Program: rules.MedicareFFS,
		Checks: rules.Checks{
			TwoMidnight:      rules.Switch{Enabled: true},
			Observation:      rules.Observation{Enabled: true, MOON: true, SecondMidnightLeadHours: 6, MaxHours: 48, Classes: []string{"OBS"}},
			ConditionCode44:  rules.Switch{Enabled: true},
			ImportantMessage: rules.ImportantMessage{Enabled: true, DaysAfterAdmission: 2, DaysBeforeDischarge: 2},
			GMLOS:            rules.GMLOS{Enabled: true, Factor: 1.0, EscalationFactor: 1.5, DefaultReviewDay: 5},
			ConcurrentReview: rules.ConcurrentReview{Enabled: true, EveryDays: 3},
			Readmission: rules.Readmission{Enabled: true, WindowDays: 30, PlannedCodeList: "planned",
				HRRPCohorts: map[string]string{"HF": "hrrp-hf", "PN": "hrrp-pn", "CABG": "hrrp-cabg"}},
			SNFThreeDay:     rules.SNFThreeDay{Enabled: true, MinMidnights: 3},
			MissingCoverage: rules.Switch{Enabled: true},
		},
		CodeLists: map[string]*rules.CodeList{
			CodeListInpatientOnly: rules.NewCodeList(
				rules.CodeEntry{System: rules.SystemCPT, Code: "33510", Display: "CABG, vein, single"},
				rules.CodeEntry{System: rules.SystemICD10PCS, Code: "0SR9019", From: rules.Date{Y: 2020, M: 1, D: 1}, To: rules.Date{Y: 2026, M: 1, D: 31}},
			),
			"planned": rules.NewCodeList(rules.CodeEntry{System: rules.SystemICD10CM, Code: "Z51.11", Display: "chemotherapy"}),
			"hrrp-hf": rules.NewCodeList(
				rules.CodeEntry{System: rules.SystemICD10CM, Code: "I50", Prefix: true},
				rules.CodeEntry{System: rules.SystemSNOMED, Code: "88805009", Display: "Chronic congestive heart failure"},
			),
			"hrrp-pn":   rules.NewCodeList(rules.CodeEntry{System: rules.SystemICD10CM, Code: "J18.9"}),
			"hrrp-cabg": rules.NewCodeList(rules.CodeEntry{System: rules.SystemICD10PCS, Code: "021109W"}),
		},
	}
	drgs := map[string]rules.DRG{
		"291": {Code: "291", Title: "HEART FAILURE AND SHOCK WITH MCC", GMLOS: 3.9},
		"065": {Code: "065", Title: "INTRACRANIAL HEMORRHAGE OR CEREBRAL INFARCTION WITH CC", GMLOS: 3.0},
		"999": {Code: "999", Title: "UNGROUPABLE"},
	}
	return rs.Resolve(drgs, nil, nil, nil)
}

// enCommercial is an illustrative commercial payer: 24 h notification with
// next-business-day handling and a 48 h maternity window; no Medicare rules.
func enCommercial(t testing.TB, withCalendar bool) *rules.RuleSet {
	rs := &rules.RuleSet{
		ID: "test-commercial", Version: "2", Program: rules.Commercial,
		Checks: rules.Checks{
			AdmissionNotification: rules.AdmissionNotification{Enabled: true, Hours: 24, NextBusinessDay: true,
				Exemptions: []rules.NotificationExemption{{Name: "maternity", CodeList: "maternity", Hours: 48}}},
			Observation:      rules.Observation{Enabled: true, MOON: true, MaxHours: 48},
			ImportantMessage: rules.ImportantMessage{Enabled: true},
			MissingCoverage:  rules.Switch{Enabled: true},
		},
		CodeLists: map[string]*rules.CodeList{
			"maternity": rules.NewCodeList(rules.CodeEntry{System: rules.SystemICD10CM, Code: "O80", Prefix: true}),
		},
	}
	if withCalendar {
		cal, errs := rules.ParseCalendar("holidays.csv", strings.NewReader("date,name\n2026-11-26,Thanksgiving Day\n2026-12-25,Christmas Day\n"))
		if len(errs) > 0 {
			t.Fatalf("calendar: %v", errs[0])
		}
		rs.Resolve(nil, nil, nil, cal)
	}
	return rs
}

func enRun(t testing.TB, asOf string, rs *rules.RuleSet) *run {
	t.Helper()
	r := &run{asOf: enAt(t, asOf), loc: enLoc(t), cfg: Config{StaleAfterDays: DefaultStaleAfterDays}}
	if rs != nil {
		r.rules = enRules{rs: rs, matched: true}
	}
	return r
}

var enPayerOrg = &facts.Payer{OrganizationRef: "Organization/payer-1", Name: "Example Health Plan"}

// enStay builds a stay from class segments "CLASS start [end]"; the last
// segment's end (or "" while in progress) is the stay's end.
func enStay(t testing.TB, id string, segs ...string) *facts.Encounter {
	t.Helper()
	e := &facts.Encounter{Ref: "Encounter/" + id, Key: "urn:example:enc|" + id, Status: "in-progress", Payer: enPayerOrg}
	for _, s := range segs {
		f := strings.Fields(s)
		g := facts.Segment{Class: f[0], Start: enAt(t, f[1])}
		if len(f) > 2 {
			g.End = enAt(t, f[2])
		}
		e.Segments = append(e.Segments, g)
	}
	e.Class = e.Segments[len(e.Segments)-1].Class
	e.Start = e.Segments[0].Start
	if last := e.Segments[len(e.Segments)-1]; !last.End.IsZero() {
		e.End, e.Status = last.End, "finished"
	}
	return e
}

func enPatient(encs ...*facts.Encounter) *facts.Patient {
	p := &facts.Patient{Ref: "Patient/p1", Key: "urn:example:mrn|p1", Encounters: encs}
	for _, e := range encs {
		e.Patient = p
	}
	return p
}

// enReview runs the encounter checks over every stay of the patient and
// keeps the findings of one check.
func enReview(r *run, p *facts.Patient, check string) []Finding {
	var out []Finding
	for _, e := range p.Encounters {
		for _, f := range r.encounter(p, e) {
			if f.Check == check {
				out = append(out, f)
			}
		}
	}
	return out
}

func enEvidence(f Finding, typ string) (Evidence, bool) {
	for _, ev := range f.Evidence {
		if ev.Type == typ {
			return ev, true
		}
	}
	return Evidence{}, false
}

// enCheckShape asserts what every encounter finding must carry.
func enCheckShape(t *testing.T, f Finding) {
	t.Helper()
	if f.Encounter == nil || f.FocusRef != f.Encounter.Ref || f.FocusKey != stayKey(f.Encounter) {
		t.Errorf("%s: focus %q/%q does not name the encounter", f.Check, f.FocusRef, f.FocusKey)
	}
	if f.Patient == nil || f.Episode == "" || f.Due.IsZero() || f.Description == "" || f.Priority == "" || f.Owner == "" {
		t.Errorf("%s: incomplete finding %+v", f.Check, f)
	}
	if f.Status != StatusAwaitingReview && f.Status != StatusDueSoon && f.Status != StatusOverdue && f.Status != StatusDataGap && f.Status != StatusMissed {
		t.Errorf("%s: status %q", f.Check, f.Status)
	}
	if f.Moot != (f.Status == StatusMissed) || (f.Moot && f.Horizon.IsZero()) {
		t.Errorf("%s: moot %v with status %q", f.Check, f.Moot, f.Status)
	}
	for _, ev := range f.Evidence {
		if !hasConcept(encounterEvidenceTypes, ev.Type) && !hasConcept(payerEvidenceTypes, ev.Type) && !(f.Moot && ev.Type == EvActionableUntil) {
			t.Errorf("%s: evidence type %q is not in encounterEvidenceTypes", f.Check, ev.Type)
		}
		n := 0
		for _, set := range []bool{ev.Int != nil, ev.Decimal != nil, ev.String != nil, ev.Bool != nil, ev.DateTime != nil, ev.Date != nil, ev.Code != nil, ev.Ref != nil} {
			if set {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s: evidence %q has %d values, want 1", f.Check, ev.Type, n)
		}
	}
}

// enWantDue compares deadlines as instants and prints them in facility time.
func enWantDue(t *testing.T, f Finding, want time.Time) {
	t.Helper()
	if !f.Due.Equal(want) {
		t.Errorf("%s episode %s: due %s, want %s", f.Check, f.Episode, f.Due.In(want.Location()).Format(time.RFC3339), want.Format(time.RFC3339))
	}
}

// enAddEncounter adds another encounter of the patient, partOf the given
// reference ("" for none).
func enAddEncounter(t testing.TB, p *facts.Patient, id, partOf string, segs ...string) *facts.Encounter {
	t.Helper()
	x := enStay(t, id, segs...)
	x.PartOf, x.Patient = partOf, p
	p.Encounters = append(p.Encounters, x)
	return x
}
