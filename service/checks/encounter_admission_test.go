package checks

import (
	"strings"
	"testing"
	"time"

	"github.com/utilreview/utilreview/fhir"
	"github.com/utilreview/utilreview/service/facts"
	"github.com/utilreview/utilreview/service/rules"
)

func TestAdmissionNotification(t *testing.T) {
	t.Parallel()
	completed := func(recipient, about string) *facts.Communication {
		return &facts.Communication{Ref: "Communication/c1", Status: "completed", Recipients: []string{recipient}, About: []string{about}}
	}
	tests := []struct {
		name     string
		segs     []string
		calendar bool
		asOf     string
		edit     func(p *facts.Patient, e *facts.Encounter)
		rs       func(t testing.TB) *rules.RuleSet
		want     string // due in facility time; "" for no finding
		hours    int
		moved    bool
		status   string
	}{
		{name: "weekday: 24 h after the order", segs: []string{"IMP 2026-03-02T10:00"}, asOf: "2026-03-02T12:00",
			want: "2026-03-03T10:00", hours: 24, status: StatusAwaitingReview},
		{name: "exactly at the deadline is not yet overdue", segs: []string{"IMP 2026-03-02T10:00"}, asOf: "2026-03-03T10:00",
			want: "2026-03-03T10:00", hours: 24, status: StatusAwaitingReview},
		{name: "a minute after the deadline is overdue", segs: []string{"IMP 2026-03-02T10:00"}, asOf: "2026-03-03T10:01",
			want: "2026-03-03T10:00", hours: 24, status: StatusOverdue},
		{name: "inpatient order, not ED arrival, starts the clock", segs: []string{"EMER 2026-03-02T08:00 2026-03-02T13:00", "IMP 2026-03-02T13:00"},
			asOf: "2026-03-02T14:00", want: "2026-03-03T13:00", hours: 24, status: StatusAwaitingReview},
		{name: "Friday admission: Saturday deadline moves to Monday", segs: []string{"IMP 2026-03-06T14:00"}, asOf: "2026-03-06T15:00",
			want: "2026-03-09T23:59:59", hours: 24, moved: true, status: StatusAwaitingReview},
		{name: "holiday from the calendar moves the deadline", segs: []string{"IMP 2026-11-25T12:00"}, calendar: true, asOf: "2026-11-25T13:00",
			want: "2026-11-27T23:59:59", hours: 24, moved: true, status: StatusAwaitingReview},
		{name: "no calendar: only weekends move", segs: []string{"IMP 2026-11-25T12:00"}, asOf: "2026-11-25T13:00",
			want: "2026-11-26T12:00", hours: 24, status: StatusAwaitingReview},
		{name: "Saturday before the fall-back Sunday moves to Monday", segs: []string{"IMP 2026-10-31T09:00"}, asOf: "2026-10-31T10:00",
			want: "2026-11-02T23:59:59", hours: 24, moved: true, status: StatusAwaitingReview},
		{name: "24 h over spring forward is 25 clock hours later", segs: []string{"IMP 2026-03-08T01:00"}, asOf: "2026-03-08T04:00",
			rs: func(t testing.TB) *rules.RuleSet {
				rs := enCommercial(t, false)
				rs.Checks.AdmissionNotification.NextBusinessDay = false
				return rs
			}, want: "2026-03-09T02:00", hours: 24, status: StatusAwaitingReview},
		{name: "maternity exemption: 48 h", segs: []string{"IMP 2026-03-02T10:00"}, asOf: "2026-03-02T12:00",
			edit: func(p *facts.Patient, e *facts.Encounter) {
				e.Diagnoses = []facts.Diagnosis{{Codes: []facts.Code{{System: "http://hl7.org/fhir/sid/icd-10-cm", Code: "O80"}}, Principal: true}}
			}, want: "2026-03-04T10:00", hours: 48, status: StatusAwaitingReview},
		{name: "satisfied by a completed Communication to the payer about the stay", segs: []string{"IMP 2026-03-02T10:00"}, asOf: "2026-03-02T12:00",
			edit: func(p *facts.Patient, e *facts.Encounter) {
				p.Communications = []*facts.Communication{completed("Organization/payer-1", e.Ref)}
			}},
		{name: "a Communication still in progress does not satisfy", segs: []string{"IMP 2026-03-02T10:00"}, asOf: "2026-03-02T12:00",
			edit: func(p *facts.Patient, e *facts.Encounter) {
				c := completed("Organization/payer-1", e.Ref)
				c.Status = "in-progress"
				p.Communications = []*facts.Communication{c}
			}, want: "2026-03-03T10:00", hours: 24, status: StatusAwaitingReview},
		{name: "a Communication to another organization does not satisfy", segs: []string{"IMP 2026-03-02T10:00"}, asOf: "2026-03-02T12:00",
			edit: func(p *facts.Patient, e *facts.Encounter) {
				p.Communications = []*facts.Communication{completed("Organization/other", e.Ref)}
			}, want: "2026-03-03T10:00", hours: 24, status: StatusAwaitingReview},
		{name: "a Communication about another stay does not satisfy", segs: []string{"IMP 2026-03-02T10:00"}, asOf: "2026-03-02T12:00",
			edit: func(p *facts.Patient, e *facts.Encounter) {
				p.Communications = []*facts.Communication{completed("Organization/payer-1", "Encounter/other")}
			}, want: "2026-03-03T10:00", hours: 24, status: StatusAwaitingReview},
		{name: "payer known by display only: a payer-notification about the stay satisfies", segs: []string{"IMP 2026-03-02T10:00"}, asOf: "2026-03-02T12:00",
			edit: func(p *facts.Patient, e *facts.Encounter) {
				e.Payer = &facts.Payer{Display: "private"}
				c := completed("", e.Ref)
				c.Recipients = nil
				c.Categories = []facts.Code{{System: "https://example.org/utilreview/CodeSystem/category", Code: CategoryPayerNotification}}
				p.Communications = []*facts.Communication{c}
			}},
		{name: "no payer: nobody to notify", segs: []string{"IMP 2026-03-02T10:00"}, asOf: "2026-03-02T12:00",
			edit: func(p *facts.Patient, e *facts.Encounter) { e.Payer = nil }},
		{name: "observation only: no admission", segs: []string{"OBSENC 2026-03-02T10:00"}, asOf: "2026-03-02T12:00"},
		{name: "traditional Medicare requires none", segs: []string{"IMP 2026-03-02T10:00"}, asOf: "2026-03-02T12:00",
			rs: func(testing.TB) *rules.RuleSet { return enMedicare() }},
		{name: "cancelled encounter", segs: []string{"IMP 2026-03-02T10:00"}, asOf: "2026-03-02T12:00",
			edit: func(p *facts.Patient, e *facts.Encounter) { e.Status = "cancelled" }},
		{name: "entered in error", segs: []string{"IMP 2026-03-02T10:00"}, asOf: "2026-03-02T12:00",
			edit: func(p *facts.Patient, e *facts.Encounter) { e.Status = "entered-in-error" }},
		{name: "planned", segs: []string{"IMP 2026-03-02T10:00"}, asOf: "2026-03-02T12:00",
			edit: func(p *facts.Patient, e *facts.Encounter) { e.Status = "planned" }},
		{name: "starts after the review time", segs: []string{"IMP 2026-03-02T10:00"}, asOf: "2026-03-02T09:00"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rs := enCommercial(t, tc.calendar)
			if tc.rs != nil {
				rs = tc.rs(t)
			}
			e := enStay(t, "a1", tc.segs...)
			p := enPatient(e)
			if tc.edit != nil {
				tc.edit(p, e)
			}
			got := enReview(enRun(t, tc.asOf, rs), p, CheckAdmissionNotification)
			if tc.want == "" {
				if len(got) != 0 {
					t.Fatalf("got %d findings, want none: %+v", len(got), got[0])
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("got %d findings, want 1", len(got))
			}
			f := got[0]
			enCheckShape(t, f)
			enWantDue(t, f, enAt(t, tc.want))
			want := tc.status
			if want == StatusAwaitingReview && !f.Due.After(enAt(t, tc.asOf).Add(24*time.Hour)) {
				want = StatusDueSoon // the deadline is within a day (TestStatusFor)
			}
			if f.Status != want {
				t.Errorf("status %q, want %q", f.Status, want)
			}
			if ev, _ := enEvidence(f, evNotificationHours); ev.Int == nil || *ev.Int != tc.hours {
				t.Errorf("notification-hours evidence %v, want %d", ev.Int, tc.hours)
			}
			if ev, _ := enEvidence(f, evNextBusinessDay); ev.Bool == nil || *ev.Bool != tc.moved {
				t.Errorf("next-business-day evidence %v, want %v", ev.Bool, tc.moved)
			}
			if f.Episode != e.Key || f.Priority != Urgent || f.Owner != URTeam {
				t.Errorf("episode/priority/owner %q %q %q", f.Episode, f.Priority, f.Owner)
			}
			c := f.Communication
			if c == nil || c.Category != CategoryPayerNotification || c.Recipient != e.Payer.OrganizationRef || c.RecipientDisplay != "Example Health Plan" || c.Payload == "" {
				t.Errorf("communication %+v", c)
			}
			if !strings.Contains(f.Description, "Example Health Plan requires notification within") {
				t.Errorf("description %q", f.Description)
			}
		})
	}
}

func TestMissingCoverage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		segs []string
		rs   *rules.RuleSet
		nilR bool
		want int
	}{
		{name: "inpatient without payer", segs: []string{"IMP 2026-03-02T10:00"}, rs: enMedicare(), want: 1},
		{name: "observation without payer", segs: []string{"OBSENC 2026-03-02T10:00"}, rs: enMedicare(), want: 1},
		{name: "no rule set at all: still a data-quality finding", segs: []string{"IMP 2026-03-02T10:00"}, nilR: true, want: 1},
		{name: "ambulatory visit without payer", segs: []string{"AMB 2026-03-02T10:00 2026-03-02T11:00"}, rs: enMedicare()},
		{name: "emergency visit without payer", segs: []string{"EMER 2026-03-02T10:00 2026-03-02T15:00"}, rs: enMedicare()},
		{name: "switched off", segs: []string{"IMP 2026-03-02T10:00"}, rs: &rules.RuleSet{ID: "off", Program: rules.Commercial}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := enStay(t, "m1", tc.segs...)
			e.Payer = nil
			p := enPatient(e)
			r := enRun(t, "2026-03-02T12:00", tc.rs)
			if tc.nilR {
				r.rules = nil
			}
			all := r.encounter(p, e)
			got := enReview(r, p, CheckMissingCoverage)
			if len(got) != tc.want {
				t.Fatalf("got %d findings, want %d", len(got), tc.want)
			}
			if tc.nilR && len(all) != len(got) {
				t.Errorf("without a rule set got %d findings, want only missing-coverage", len(all))
			}
			for _, f := range got {
				enCheckShape(t, f)
				if f.Status != StatusDataGap || f.Owner != PatientAccessTeam {
					t.Errorf("status %q owner %q, want data-gap and patient access", f.Status, f.Owner)
				}
				enWantDue(t, f, enAt(t, "2026-03-03T23:59:59"))
			}
		})
	}
}

func TestEncounterSkipsAndOddInput(t *testing.T) {
	t.Parallel()
	at := func(s string) facts.Segment { return facts.Segment{Class: ClassInpatient, Start: enAt(t, s)} }
	tests := []struct {
		name string
		e    *facts.Encounter
	}{
		{"nil encounter", nil},
		{"zero start", &facts.Encounter{Ref: "Encounter/z", Class: ClassInpatient, Status: "in-progress"}},
		{"end before start", &facts.Encounter{Ref: "Encounter/b", Class: ClassInpatient, Status: "finished", Start: enAt(t, "2026-03-05T10:00"), End: enAt(t, "2026-03-04T10:00")}},
		{"finished without end", &facts.Encounter{Ref: "Encounter/f", Class: ClassInpatient, Status: "finished", Start: enAt(t, "2026-03-02T10:00"), Payer: enPayerOrg}},
		{"segment with zero start", &facts.Encounter{Ref: "Encounter/s", Class: ClassInpatient, Status: "in-progress", Start: enAt(t, "2026-03-02T10:00"),
			Segments: []facts.Segment{{Class: ClassObservation}, at("2026-03-02T12:00")}, Payer: enPayerOrg}},
		{"unsorted segments", &facts.Encounter{Ref: "Encounter/u", Class: ClassInpatient, Status: "in-progress", Start: enAt(t, "2026-03-01T10:00"),
			Segments: []facts.Segment{at("2026-03-02T12:00"), {Class: ClassObservation, Start: enAt(t, "2026-03-01T10:00"), End: enAt(t, "2026-03-02T12:00")}}, Payer: enPayerOrg}},
		{"no class at all", &facts.Encounter{Ref: "Encounter/n", Status: "in-progress", Start: enAt(t, "2026-03-02T10:00")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, rs := range []*rules.RuleSet{nil, enMedicare(), enCommercial(t, true)} {
				r := enRun(t, "2026-03-09T10:00", rs)
				var p *facts.Patient
				if tc.e != nil {
					p = enPatient(tc.e)
				}
				for _, f := range r.encounter(p, tc.e) {
					enCheckShape(t, f)
					if tc.name == "finished without end" && !(f.Check == CheckStaleEncounter && f.Status == StatusDataGap) {
						t.Errorf("finished without end: got %s, want only the data-gap finding", f.Check)
					}
				}
				_ = r.encounter(nil, tc.e) // no patient: must not panic
			}
		})
	}
}

func TestPayerLabel(t *testing.T) {
	t.Parallel()
	rs := &rules.RuleSet{Name: "Acme Health (illustrative)"}
	tests := []struct {
		name    string
		py      *facts.Payer
		matched bool
		want    string
	}{
		{"organization name first", &facts.Payer{Name: "Example Health Plan", Display: "private"}, true, "Example Health Plan"},
		{"matched rule set names a display-only payer", &facts.Payer{Display: "private"}, true, "Acme Health (illustrative)"},
		{"default rule set is not the payer's name", &facts.Payer{Display: "private"}, false, `the payer ("private")`},
		{"identifier", &facts.Payer{Identifiers: []facts.Identifier{{System: "urn:x", Value: "12345"}}}, false, "the payer 12345"},
		{"reference only", &facts.Payer{OrganizationRef: "Organization/o1"}, false, "the payer Organization/o1"},
		{"nothing", &facts.Payer{}, false, "the payer"},
		{"no payer", nil, true, ""},
	}
	for _, tc := range tests {
		if got := payerLabel(tc.py, rs, tc.matched); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestPeriodGap: a stay whose period is known only to the month or year, or
// finished without an end, gets one data-gap finding and nothing counted.
func TestPeriodGap(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		segs      []string
		startPrec fhir.Precision
		endPrec   fhir.Precision
		noEnd     bool
		episode   string // "" for no data-gap finding
		words     string
	}{
		{name: "month-precision start", segs: []string{"IMP 2026-03-01 2026-03-12T10:00"}, startPrec: fhir.Month, endPrec: fhir.Second,
			episode: "+imprecise-period", words: "start to the month"},
		{name: "year-precision start and end", segs: []string{"IMP 2026-01-01 2026-01-01"}, startPrec: fhir.Year, endPrec: fhir.Year,
			episode: "+imprecise-period", words: "start to the year and its end to the year"},
		{name: "month-precision start, in progress", segs: []string{"IMP 2026-03-01"}, startPrec: fhir.Month,
			episode: "+imprecise-period", words: "start to the month"},
		{name: "finished without an end", segs: []string{"IMP 2026-03-02T10:00"}, noEnd: true, episode: "+no-end", words: "no end"},
		{name: "day precision counts as usual", segs: []string{"IMP 2026-03-01 2026-03-12"}, startPrec: fhir.Day, endPrec: fhir.Day},
		{name: "an ambulatory visit is no stay", segs: []string{"AMB 2026-03-01 2026-03-01"}, startPrec: fhir.Month, endPrec: fhir.Month},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := enStay(t, "g1", tc.segs...)
			e.StartPrecision, e.EndPrecision, e.DRG = tc.startPrec, tc.endPrec, "291"
			if tc.noEnd {
				e.Status = "finished"
			}
			p := enPatient(e)
			r := enRun(t, "2026-03-20T10:00", enMedicare())
			got := r.encounter(p, e)
			if tc.episode == "" {
				for _, f := range got {
					if f.Status == StatusDataGap {
						t.Errorf("got data-gap %s %s, want none", f.Check, f.Episode)
					}
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("got %d findings, want the one data-gap finding", len(got))
			}
			f := got[0]
			enCheckShape(t, f)
			if f.Check != CheckStaleEncounter || f.Status != StatusDataGap || f.Episode != stayKey(e)+tc.episode || f.Owner != PatientAccessTeam || f.Priority != Routine {
				t.Errorf("got %s %s %s %s/%s", f.Check, f.Status, f.Episode, f.Owner, f.Priority)
			}
			if !strings.Contains(f.Description, tc.words) {
				t.Errorf("description %q does not say %q", f.Description, tc.words)
			}
			enWantDue(t, f, enAt(t, tc.segs[0][4:14]+"T23:59:59").AddDate(0, 0, 1))
		})
	}
}

// TestAdmissionNotificationRecipient: the payer is addressed by its
// Organization when there is one, else by its identifier, else by name only.
func TestAdmissionNotificationRecipient(t *testing.T) {
	t.Parallel()
	npi := facts.Identifier{System: "http://hl7.org/fhir/sid/us-npi", Value: "1234567893"}
	tests := []struct {
		name    string
		payer   *facts.Payer
		wantRef string
		wantID  *facts.Identifier
	}{
		{name: "organization", payer: &facts.Payer{OrganizationRef: "Organization/payer-1", Name: "Example Health Plan", Identifiers: []facts.Identifier{npi}},
			wantRef: "Organization/payer-1", wantID: &npi}, // named as the input names it: reference and identifier
		{name: "identifier only", payer: &facts.Payer{Identifiers: []facts.Identifier{npi}}, wantID: &npi},
		{name: "identifier with a system preferred", payer: &facts.Payer{Identifiers: []facts.Identifier{{Value: "local-7"}, npi}}, wantID: &npi},
		{name: "identifier without a system", payer: &facts.Payer{Identifiers: []facts.Identifier{{Value: "local-7"}}}, wantID: &facts.Identifier{Value: "local-7"}},
		{name: "display only", payer: &facts.Payer{Display: "private"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := enStay(t, "a1", "IMP 2026-03-02T10:00")
			e.Payer = tc.payer
			got := enReview(enRun(t, "2026-03-02T12:00", enCommercial(t, false)), enPatient(e), CheckAdmissionNotification)
			if len(got) != 1 || got[0].Communication == nil {
				t.Fatalf("got %d findings, want 1 with a communication", len(got))
			}
			c := got[0].Communication
			if c.Recipient != tc.wantRef {
				t.Errorf("recipient %q, want %q", c.Recipient, tc.wantRef)
			}
			if (c.RecipientIdentifier == nil) != (tc.wantID == nil) || c.RecipientIdentifier != nil && *c.RecipientIdentifier != *tc.wantID {
				t.Errorf("recipient identifier %+v, want %+v", c.RecipientIdentifier, tc.wantID)
			}
			if c.RecipientDisplay == "" {
				t.Error("recipient display empty, want the payer's label")
			}
		})
	}
}
