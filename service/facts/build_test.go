package facts

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/utilreview/utilreview/fhir"
)

// load builds the facts of one synthetic fixture in testdata.
func load(t *testing.T, name string, loc *time.Location) *Set {
	t.Helper()
	var res []*fhir.Resource
	errs := fhir.NewReader().ReadPaths([]string{filepath.Join("testdata", name)}, func(r *fhir.Resource) { res = append(res, r) })
	if len(errs) > 0 {
		t.Fatalf("reading %s: %v", name, errs)
	}
	return Build(res, Options{Location: loc, NoPayer: noInsurance})
}

func newYork(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatalf("time zone: %v", err)
	}
	return loc
}

// encounters maps Encounter.Ref to the encounter over all patients.
func encounters(set *Set) map[string]*Encounter {
	out := make(map[string]*Encounter)
	for _, p := range set.Patients {
		for _, e := range p.Encounters {
			out[e.Ref] = e
		}
	}
	return out
}

func claims(set *Set) map[string]*Claim {
	out := make(map[string]*Claim)
	for _, p := range set.Patients {
		for _, c := range p.Claims {
			out[c.Ref] = c
		}
	}
	return out
}

func noProblems(t *testing.T, set *Set) {
	t.Helper()
	for _, p := range set.Problems {
		t.Errorf("unexpected problem: %v", p)
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestSegments(t *testing.T) {
	loc := newYork(t)
	set := load(t, "segments.json", loc)
	noProblems(t, set)
	encs := encounters(set)
	type seg struct{ class, start, end string }
	tests := []struct {
		ref  string
		want []seg
	}{
		{"Encounter/hist-sorted", []seg{
			{"EMER", "2024-03-01T08:00:00-05:00", "2024-03-01T12:00:00-05:00"}, // open end filled by the next start
			{"OBSENC", "2024-03-01T12:00:00-05:00", "2024-03-02T09:00:00-05:00"},
			{"IMP", "2024-03-02T09:00:00-05:00", "2024-03-04T10:00:00-05:00"}, // current class continues
		}},
		{"Encounter/hist-same", []seg{
			{"EMER", "2024-03-05T08:00:00-05:00", "2024-03-05T10:00:00-05:00"},
			{"IMP", "2024-03-05T10:00:00-05:00", "2024-03-07T11:00:00-05:00"}, // open, closed by the stay's end
		}},
		{"Encounter/hist-open", []seg{{"OBSENC", "2024-03-08T10:00:00-05:00", ""}}},
		{"Encounter/no-hist", []seg{{"EMER", "2024-03-09T10:00:00-05:00", "2024-03-09T14:00:00-05:00"}}},
		{"Encounter/acute", []seg{
			// written with -05:00 on the day DST starts: shown in daylight time
			{"EMER", "2024-03-10T11:00:00-04:00", "2024-03-10T17:00:00-04:00"},
			{"ACUTE", "2024-03-10T17:00:00-04:00", "2024-03-12T15:00:00-04:00"},
		}},
		{"Encounter/imp-to-obs", []seg{
			{"IMP", "2024-03-13T11:00:00-04:00", "2024-03-13T21:00:00-04:00"},
			{"OBSENC", "2024-03-13T21:00:00-04:00", "2024-03-14T15:00:00-04:00"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			e := encs[tt.ref]
			if e == nil {
				t.Fatalf("encounter %s missing", tt.ref)
			}
			var got []seg
			for _, s := range e.Segments {
				if s.Start.Location() != loc || (!s.End.IsZero() && s.End.Location() != loc) {
					t.Errorf("segment %s not in the facility location", s.Class)
				}
				g := seg{s.Class, s.Start.Format(time.RFC3339), ""}
				if !s.End.IsZero() {
					g.end = s.End.Format(time.RFC3339)
				}
				got = append(got, g)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("segments:\n got %v\nwant %v", got, tt.want)
			}
			if !e.Start.Equal(e.Segments[0].Start) {
				t.Errorf("start: got %v, want the first segment's %v", e.Start, e.Segments[0].Start)
			}
		})
	}
}

func TestTimes(t *testing.T) {
	loc := newYork(t)
	set := load(t, "times.json", loc)
	noProblems(t, set)
	encs := encounters(set)
	tests := []struct {
		ref        string
		start, end string // instants in RFC 3339
	}{
		// offsets kept as instants, shown in New York (the end is after the DST change)
		{"Encounter/offset", "2024-03-10T01:00:00-05:00", "2024-03-11T05:00:00-04:00"},
		// no offset: wall time in New York, on both sides of the 02:00 spring-forward
		{"Encounter/no-offset", "2024-03-10T01:30:00-05:00", "2024-03-10T03:30:00-04:00"},
		// partial dates: the start of that day or month in New York
		{"Encounter/partial", "2024-03-10T00:00:00-05:00", "2024-03-12T00:00:00-04:00"},
		{"Encounter/month", "2024-03-01T00:00:00-05:00", "2024-04-01T00:00:00-04:00"},
		// an end date on the start's day is not before the start: the end is the start
		{"Encounter/end-date-same-day", "2024-03-10T10:00:00-04:00", "2024-03-10T10:00:00-04:00"},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			e := encs[tt.ref]
			if e == nil {
				t.Fatalf("encounter %s missing", tt.ref)
			}
			if want := mustTime(t, tt.start); !e.Start.Equal(want) || e.Start.Location() != loc {
				t.Errorf("start: got %v, want %v in %v", e.Start, want, loc)
			}
			if want := mustTime(t, tt.end); !e.End.Equal(want) || e.End.Location() != loc {
				t.Errorf("end: got %v, want %v in %v", e.End, want, loc)
			}
		})
	}
}

// TestPrecisionAndPartOf: the precision period.start and period.end were
// written with, and Encounter.partOf resolved to "Encounter/id".
func TestPrecisionAndPartOf(t *testing.T) {
	set := load(t, "times.json", newYork(t))
	noProblems(t, set)
	encs := encounters(set)
	tests := []struct {
		ref                string
		startPrec, endPrec fhir.Precision
		partOf             string
	}{
		{"Encounter/offset", fhir.Second, fhir.Second, ""},
		{"Encounter/partial", fhir.Day, fhir.Day, ""},
		{"Encounter/month", fhir.Month, fhir.Month, ""},
		{"Encounter/end-date-same-day", fhir.Second, fhir.Day, ""},
		{"Encounter/ed-part", fhir.Second, fhir.Second, "Encounter/offset"},
		{"Encounter/triage-part", fhir.Second, fhir.Second, "Encounter/ed-part"},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			e := encs[tt.ref]
			if e == nil {
				t.Fatalf("encounter %s missing", tt.ref)
			}
			if e.StartPrecision != tt.startPrec || e.EndPrecision != tt.endPrec {
				t.Errorf("precision: got %v/%v, want %v/%v", e.StartPrecision, e.EndPrecision, tt.startPrec, tt.endPrec)
			}
			if e.PartOf != tt.partOf {
				t.Errorf("partOf: got %q, want %q", e.PartOf, tt.partOf)
			}
		})
	}
}

func TestPayers(t *testing.T) {
	set := load(t, "payers.json", time.UTC)
	noProblems(t, set)
	encs := encounters(set)
	tests := []struct {
		ref       string
		want      *Payer
		uninsured bool
	}{
		{ref: "Encounter/via-claim-id", want: &Payer{ // the focal insurance, listed second
			OrganizationRef: "Organization/payer-id",
			Identifiers:     []Identifier{{System: "http://hl7.org/fhir/sid/us-npi", Value: "1234567893"}},
			Name:            "Acme Health Plan", CoverageRef: "Coverage/cov-id",
		}},
		{ref: "Encounter/via-claim-name", want: &Payer{
			OrganizationRef: "Organization/payer-name", Name: "Blue Example", CoverageRef: "Coverage/cov-name",
		}},
		{ref: "Encounter/via-account", want: &Payer{ // Account.coverage priority 1
			OrganizationRef: "Organization/payer-acct",
			Identifiers:     []Identifier{{System: "urn:oid:2.16.840.1.113883.3.221.5", Value: "ACCT-1"}},
			Name:            "Account Payer", CoverageRef: "Coverage/cov-acct",
		}},
		{ref: "Encounter/via-coverage-period", want: &Payer{ // the Coverage of June 2024 on, not the 2023 one
			OrganizationRef: "Organization/payer-2024",
			Identifiers:     []Identifier{{System: "urn:example:payer", Value: "NEW"}},
			Name:            "New Payer", CoverageRef: "Coverage/cov-2024",
		}},
		{ref: "Encounter/via-display", want: &Payer{Display: "medicare"}},
		{ref: "Encounter/no-insurance", want: nil, uninsured: true},
		{ref: "Encounter/via-eob", want: &Payer{Display: "medicaid"}}, // contained Coverage of the EOB
		{ref: "Encounter/account-beats-display", want: &Payer{
			OrganizationRef: "Organization/payer-acct",
			Identifiers:     []Identifier{{System: "urn:oid:2.16.840.1.113883.3.221.5", Value: "ACCT-1"}},
			Name:            "Account Payer", CoverageRef: "Coverage/cov-acct",
		}},
		{ref: "Encounter/nothing", want: nil},
		{ref: "Encounter/via-payor-identifier", want: &Payer{
			Identifiers: []Identifier{{System: "urn:example:payer", Value: "IDENT-ONLY"}},
			Display:     "Ident Plan", CoverageRef: "Coverage/cov-ident",
		}},
		{ref: "Encounter/self-pay", want: nil, uninsured: true},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			e := encs[tt.ref]
			if e == nil {
				t.Fatalf("encounter %s missing", tt.ref)
			}
			if !reflect.DeepEqual(e.Payer, tt.want) {
				t.Errorf("payer: got %+v, want %+v", e.Payer, tt.want)
			}
			if e.Uninsured != tt.uninsured {
				t.Errorf("uninsured: got %v, want %v", e.Uninsured, tt.uninsured)
			}
		})
	}
	cls := claims(set)
	if c := cls["Claim/c-display"]; c == nil || c.Payer == nil || c.Payer.Display != "medicare" {
		t.Errorf("claim c-display payer: got %+v, want display medicare", c)
	}
	if c := cls["Claim/c-noins"]; c == nil || c.Payer != nil || !c.Uninsured {
		t.Errorf("claim c-noins: got %+v, want no payer and uninsured", c)
	}
}

// Without Options.NoPayer, "no_insurance" is just a display text.
func TestNoPayerOption(t *testing.T) {
	var res []*fhir.Resource
	fhir.NewReader().ReadPaths([]string{"testdata/payers.json"}, func(r *fhir.Resource) { res = append(res, r) })
	set := Build(res, Options{})
	e := encounters(set)["Encounter/no-insurance"]
	if e == nil || e.Payer == nil || e.Payer.Display != "no_insurance" || e.Uninsured {
		t.Errorf("got %+v, want payer display no_insurance", e)
	}
}

func TestClaims(t *testing.T) {
	set := load(t, "claims.json", time.UTC)
	noProblems(t, set)
	cls, encs := claims(set), encounters(set)
	claimEncs := func(c *Claim) []string {
		var out []string
		for _, e := range c.Encounters {
			out = append(out, e.Ref)
		}
		return out
	}
	tests := []struct {
		ref      string
		encs     []string
		drg      string
		accepted bool
	}{
		{"Claim/c-item", []string{"Encounter/e-item"}, "291", true}, // item.encounter; packageCode; ClaimResponse complete
		{"Claim/c-ext", []string{"Encounter/e-ext"}, "470", true},   // R5 extension; MS-DRG coding after an HL7 one; EOB partial
		{"Claim/c-info", []string{"Encounter/e-info"}, "", false},   // supportingInfo reference; ClaimResponse queued
		{"Claim/c-hl7", []string{"Encounter/e-hl7"}, "", false},     // HL7 example DRG system ignored
		{"Claim/c-none", nil, "", false},                            // encounter not in the input
		{"Claim/c-preauth", nil, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			c := cls[tt.ref]
			if c == nil {
				t.Fatalf("claim %s missing", tt.ref)
			}
			if got := claimEncs(c); !reflect.DeepEqual(got, tt.encs) {
				t.Errorf("encounters: got %v, want %v", got, tt.encs)
			}
			if c.DRG != tt.drg {
				t.Errorf("DRG: got %q, want %q", c.DRG, tt.drg)
			}
			if c.Accepted != tt.accepted {
				t.Errorf("accepted: got %v, want %v", c.Accepted, tt.accepted)
			}
			for _, e := range c.Encounters {
				found := false
				for _, back := range e.Claims {
					found = found || back == c
				}
				if !found {
					t.Errorf("%s does not list the claim back", e.Ref)
				}
			}
		})
	}

	c := cls["Claim/c-item"]
	if c.Key != "Claim/c-item" || c.Status != "active" || c.Use != "claim" || c.Type != "institutional" || c.Provider != "Organization/hospital" {
		t.Errorf("c-item header: got key %q status %q use %q type %q provider %q", c.Key, c.Status, c.Use, c.Type, c.Provider)
	}
	if want := []string{"PA-1", "PA-2"}; !reflect.DeepEqual(c.PreAuthRefs, want) {
		t.Errorf("preAuthRefs: got %v, want %v", c.PreAuthRefs, want)
	}
	day := func(s string) time.Time { return mustTime(t, s) }
	wantLines := []Line{
		{Sequence: 1, Codes: []Code{{System: "http://www.ama-assn.org/go/cpt", Code: "99223"}}, Modifiers: []string{"25", "59"},
			Units: 2.5, ServiceStart: day("2024-04-01T00:00:00Z"), ServiceEnd: day("2024-04-01T00:00:00Z"),
			Revenue: []Code{{System: "https://www.nubc.org/CodeSystem/RevenueCodes", Code: "0450"}}, Encounters: []string{"Encounter/e-item"}},
		{Sequence: 2, Codes: []Code{{System: "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets", Code: "J0585"}},
			Units: 1, ServiceStart: day("2024-04-02T08:00:00Z"), ServiceEnd: day("2024-04-03T08:00:00Z")},
		{Sequence: 3, Codes: []Code{{System: "http://www.ama-assn.org/go/cpt", Code: "64612"}},
			Units: 1, ServiceStart: day("2024-04-01T10:00:00Z"), ServiceEnd: day("2024-04-04T10:00:00Z")}, // billablePeriod
	}
	if len(c.Lines) != len(wantLines) {
		t.Fatalf("lines: got %d, want %d", len(c.Lines), len(wantLines))
	}
	for i := range wantLines {
		g, w := c.Lines[i], wantLines[i]
		if g.Sequence != w.Sequence || !reflect.DeepEqual(g.Codes, w.Codes) || !reflect.DeepEqual(g.Modifiers, w.Modifiers) ||
			g.Units != w.Units || !g.ServiceStart.Equal(w.ServiceStart) || !g.ServiceEnd.Equal(w.ServiceEnd) ||
			!reflect.DeepEqual(g.Revenue, w.Revenue) || !reflect.DeepEqual(g.Encounters, w.Encounters) {
			t.Errorf("line %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
	wantDx := []Diagnosis{
		{Codes: []Code{{System: "http://hl7.org/fhir/sid/icd-10-cm", Code: "J18.9"}}},                  // sequence 1, but another is typed principal
		{Codes: []Code{{System: "http://hl7.org/fhir/sid/icd-10-cm", Code: "I50.9"}}, Principal: true}, // through the Condition
	}
	if !reflect.DeepEqual(c.Diagnoses, wantDx) {
		t.Errorf("diagnoses:\n got %+v\nwant %+v", c.Diagnoses, wantDx)
	}
	wantPx := []Procedure{
		{Codes: []Code{{System: "http://www.cms.gov/Medicare/Coding/ICD10", Code: "02703ZZ"}}, Performed: day("2024-04-02T09:00:00Z")},
		{Codes: []Code{{System: "http://www.ama-assn.org/go/cpt", Code: "33533"}}, Performed: day("2024-04-03T00:00:00Z")},
	}
	if len(c.Procedures) != len(wantPx) {
		t.Fatalf("procedures: got %+v, want %+v", c.Procedures, wantPx)
	}
	for i := range wantPx {
		if !reflect.DeepEqual(c.Procedures[i].Codes, wantPx[i].Codes) || !c.Procedures[i].Performed.Equal(wantPx[i].Performed) {
			t.Errorf("procedure %d: got %+v, want %+v", i, c.Procedures[i], wantPx[i])
		}
	}
	// No diagnosis typed principal: sequence 1 is.
	if got := cls["Claim/c-ext"].Diagnoses; len(got) != 2 || got[0].Principal || !got[1].Principal || got[1].Codes[0].Code != "B" {
		t.Errorf("c-ext diagnoses: got %+v, want B (sequence 1) principal", got)
	}
	if got, want := cls["Claim/c-info"].Replaces, []string{"Claim/c-item"}; !reflect.DeepEqual(got, want) {
		t.Errorf("replaces: got %v, want %v (associated is not a replacement)", got, want)
	}
	if got, want := cls["Claim/c-none"].Lines[0].Encounters, []string{"Encounter/not-in-input"}; !reflect.DeepEqual(got, want) {
		t.Errorf("unresolved item.encounter: got %v, want %v", got, want)
	}
	if got := cls["Claim/c-preauth"].Use; got != "preauthorization" {
		t.Errorf("use: got %q, want preauthorization", got)
	}

	e := encs["Encounter/e-item"]
	if e.DRG != "291" {
		t.Errorf("encounter DRG: got %q, want 291 from its claim", e.DRG)
	}
	if encs["Encounter/e-hl7"].DRG != "" {
		t.Errorf("e-hl7 DRG: got %q, want none (HL7 example system)", encs["Encounter/e-hl7"].DRG)
	}
	if len(e.Diagnoses) != 2 || e.Diagnoses[1].Codes[0].Code != "I50.9" || !e.Diagnoses[1].Principal {
		t.Errorf("encounter diagnoses from its claim: got %+v", e.Diagnoses)
	}
	if len(e.Procedures) != 2 {
		t.Errorf("encounter procedures from its claim: got %+v, want 2", e.Procedures)
	}

	var order []string
	for _, c := range set.Patients[0].Claims {
		order = append(order, c.Ref)
	}
	want := []string{"Claim/c-preauth", "Claim/c-ext", "Claim/c-hl7", "Claim/c-item", "Claim/c-info", "Claim/c-none"}
	if !reflect.DeepEqual(order, want) {
		t.Errorf("claim order: got %v, want %v (created, then ref)", order, want)
	}
}

func TestDiagnoses(t *testing.T) {
	set := load(t, "diagnoses.json", time.UTC)
	noProblems(t, set)
	encs := encounters(set)
	icd := "http://hl7.org/fhir/sid/icd-10-cm"
	tests := []struct {
		ref  string
		want []Diagnosis
	}{
		{"Encounter/e-rank", []Diagnosis{
			{Codes: []Code{{System: icd, Code: "E11.9"}}},                  // rank 2
			{Codes: []Code{{System: icd, Code: "I21.4"}}, Principal: true}, // rank 1
			{Codes: []Code{{System: icd, Code: "N17.9"}}},                  // Condition.encounter is the stay
		}},
		{"Encounter/e-billing", []Diagnosis{{Codes: []Code{{System: icd, Code: "J44.1"}}, Principal: true}}},
		{"Encounter/e-reason", []Diagnosis{ // reasonCode stands in (Synthea)
			{Codes: []Code{{System: "http://snomed.info/sct", Code: "233604007", Display: "Pneumonia"}}, Principal: true}}},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			if got := encs[tt.ref].Diagnoses; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("diagnoses:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
	px := encs["Encounter/e-rank"].Procedures
	if len(px) != 1 || px[0].Codes[0].Code != "232717009" || !px[0].Performed.Equal(mustTime(t, "2024-05-02T09:00:00Z")) {
		t.Errorf("procedures: got %+v, want 232717009 at the performedPeriod start", px)
	}
}

func TestTasksAndCommunications(t *testing.T) {
	set := load(t, "work.json", time.UTC)
	noProblems(t, set)
	if len(set.Patients) != 1 {
		t.Fatalf("patients: got %d, want 1 (the orphan Task makes none)", len(set.Patients))
	}
	p := set.Patients[0]
	wantTasks := []*Task{
		{
			Ref:         "", // no id: a urn:uuid fullUrl is not one
			Identifiers: []Identifier{{System: "https://utilreview.example/task", Value: "admission-notification.abc"}},
			Status:      "completed",
			Codes:       []Code{{System: "https://utilreview.example/CodeSystem/checks", Code: "admission-notification"}},
			Focus:       "Encounter/e1", Encounter: "Encounter/e1",
		},
		{Ref: "Task/t-nostatus", Focus: "Encounter/e1"}, // no status kept empty; patient through the focus
	}
	if len(p.Tasks) != len(wantTasks) {
		t.Fatalf("tasks: got %d, want %d", len(p.Tasks), len(wantTasks))
	}
	for i, got := range p.Tasks {
		if len(got.Raw) == 0 {
			t.Errorf("task %d: its JSON is not kept", i)
		}
		g := *got
		g.Raw = nil
		if !reflect.DeepEqual(&g, wantTasks[i]) {
			t.Errorf("task %d:\n got %+v\nwant %+v", i, g, *wantTasks[i])
		}
	}
	if len(p.Communications) != 1 {
		t.Fatalf("communications: got %d, want 1", len(p.Communications))
	}
	c := p.Communications[0]
	want := &Communication{
		Ref:        "Communication/comm-1",
		Status:     "completed",
		Categories: []Code{{System: "https://utilreview.example/CodeSystem/categories", Code: "payer-notification"}},
		Recipients: []string{"Organization/payer"},
		About:      []string{"Encounter/e1", "Claim/c9"}, // encounter and about, once each; absolute URL made relative
		Sent:       mustTime(t, "2024-06-01T15:00:00Z"),
		BasedOn:    []string{"CommunicationRequest/cr1"},
	}
	if !c.Sent.Equal(want.Sent) {
		t.Errorf("sent: got %v, want %v", c.Sent, want.Sent)
	}
	c2 := *c
	c2.Sent = want.Sent
	if !reflect.DeepEqual(&c2, want) {
		t.Errorf("communication:\n got %+v\nwant %+v", c, want)
	}
}

func TestIdentity(t *testing.T) {
	set := load(t, "identity.json", time.UTC)
	noProblems(t, set)
	var refs []string
	for _, p := range set.Patients {
		refs = append(refs, p.Ref)
	}
	// p1 has no id, only a urn:uuid fullUrl: no Ref, known by its identifier
	want := []string{"", "Patient/p2", "Patient/p3"}
	if !reflect.DeepEqual(refs, want) {
		t.Fatalf("patients: got %v, want %v", refs, want)
	}
	p1, p2, p3 := set.Patients[0], set.Patients[1], set.Patients[2]
	if p1.Key != "urn:example:national|N-1" {
		t.Errorf("key: got %q, want the official identifier", p1.Key)
	}
	if !p1.Deceased || !p1.DeceasedAt.Equal(mustTime(t, "2024-07-03T04:00:00Z")) {
		t.Errorf("deceasedDateTime: got %v %v", p1.Deceased, p1.DeceasedAt)
	}
	if len(p1.Encounters) != 1 || p1.Encounters[0].Ref != "" || p1.Encounters[0].Key != "urn:example:visit|V-1" {
		t.Errorf("encounter identity: got %+v", p1.Encounters)
	}
	if len(p1.Claims) != 1 || p1.Claims[0].Ref != "Claim/c-logical" {
		t.Errorf("claim by logical patient reference: got %+v", p1.Claims)
	}
	if !p2.Deceased || !p2.DeceasedAt.IsZero() || p2.Key != "Patient/p2" {
		t.Errorf("deceasedBoolean: got %v %v key %q", p2.Deceased, p2.DeceasedAt, p2.Key)
	}
	if len(p2.Encounters) != 2 || p2.Encounters[1].Ref != "Encounter/rest-1" {
		t.Errorf("id from a RESTful fullUrl: got %+v", p2.Encounters)
	}
	if p3.Key != "Patient/p3" || len(p3.Encounters) != 1 {
		t.Errorf("patient from an absolute reference: got key %q, %d encounters", p3.Key, len(p3.Encounters))
	}
	if set.Read["Patient"] != 2 || set.Read["Encounter"] != 4 || set.Read["Claim"] != 1 {
		t.Errorf("read: got %v", set.Read)
	}
}

func TestProblems(t *testing.T) {
	set := load(t, "problems.json", time.UTC)
	want := map[int]string{ // Bundle entry -> message
		1:  "encounter has no status",
		2:  "encounter has no class",
		3:  "encounter period ends before it starts",
		4:  "encounter period.start: invalid FHIR date/time: month out of range",
		5:  "encounter classHistory ends with an open OBSENC period but the encounter class is IMP",
		6:  "encounter has no subject",
		7:  "claim has no patient",
		8:  "claim has no status",
		9:  "claim created: invalid FHIR date/time",
		10: "claim item[0] servicedPeriod ends before it starts",
		12: "encounter has no id or identifier: it cannot be referenced",
	}
	got := make(map[int]string)
	for _, p := range set.Problems {
		var ie *fhir.InputError
		if !errors.As(p, &ie) {
			t.Errorf("problem %v is not an *fhir.InputError", p)
			continue
		}
		if !strings.HasSuffix(ie.Source.File, "problems.json") {
			t.Errorf("problem %v: file %q, want problems.json", p, ie.Source.File)
		}
		got[ie.Source.Entry] = ie.Err.Error()
	}
	for entry, msg := range want {
		if !strings.HasPrefix(got[entry], msg) {
			t.Errorf("entry %d: got %q, want %q", entry, got[entry], msg)
		}
	}
	if len(got) != len(want) {
		t.Errorf("problems: got %d %v, want %d", len(got), got, len(want))
	}
	// Only the good encounter is left for the checks.
	var refs []string
	for _, e := range encounters(set) {
		refs = append(refs, e.Ref)
	}
	if !reflect.DeepEqual(refs, []string{"Encounter/good"}) {
		t.Errorf("encounters kept: got %v, want only Encounter/good", refs)
	}
	if n := len(claims(set)); n != 0 {
		t.Errorf("claims kept: got %d, want 0", n)
	}
}

func TestHasTopLevelKey(t *testing.T) {
	tests := []struct {
		raw  string
		want bool
	}{
		{`{"resourceType":"Encounter","status":"planned"}`, true},
		{`{ "id" : "x" , "status" : 1 }`, true},
		{`{"resourceType":"Encounter","class":{"status":"x"}}`, false}, // nested key
		{`{"contained":[{"status":"active"}],"id":"x"}`, false},        // inside contained
		{`{"id":"status"}`, false},                                     // a value, not a key
		{`{"a":["status", {"status":1}],"b":"x"}`, false},              // array elements
		{`{"t":"a \"status\": b","status":"x"}`, true},                 // escaped quotes in a value
		{`{"st\"atus":1}`, false},                                      // escaped key
		{`{"status`, false},                                            // truncated
		{``, false},
		{`]]]}}{"status":1}`, false}, // garbage before: never depth 1 at the key
	}
	for _, tt := range tests {
		if got := hasTopLevelKey([]byte(tt.raw), "status"); got != tt.want {
			t.Errorf("hasTopLevelKey(%s): got %v, want %v", tt.raw, got, tt.want)
		}
	}
}

func TestNormalizeRef(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Patient/1", "Patient/1"},
		{"http://example.org/fhir/Patient/1", "Patient/1"},
		{"http://example.org/fhir/Patient/1/_history/3", "Patient/1"},
		{"urn:uuid:abc", "urn:uuid:abc"},
		{"#cov", "#cov"},
		{"http://example.org/fhir/", "http://example.org/fhir/"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := normalizeRef(tt.in); got != tt.want {
			t.Errorf("normalizeRef(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestDeterministic: the same input gives the same facts.
func TestDeterministic(t *testing.T) {
	for _, name := range []string{"payers.json", "claims.json", "identity.json", "problems.json"} {
		a, b := load(t, name, time.UTC), load(t, name, time.UTC)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: two builds differ", name)
		}
	}
}

// TestPartialDecoding: resources the reader was not asked to decode (Value
// nil) are references that say nothing; they never make Build panic.
func TestPartialDecoding(t *testing.T) {
	for _, name := range []string{"claims.json", "payers.json", "diagnoses.json", "work.json"} {
		var res []*fhir.Resource
		fhir.NewReader("Patient", "Encounter", "Claim").ReadPaths([]string{filepath.Join("testdata", name)}, func(r *fhir.Resource) { res = append(res, r) })
		set := Build(res, Options{})
		if len(set.Patients) == 0 {
			t.Errorf("%s: no patients", name)
		}
	}
	// A claim whose Condition was not decoded keeps its coded diagnosis only.
	var res []*fhir.Resource
	fhir.NewReader("Patient", "Encounter", "Claim").ReadPaths([]string{"testdata/claims.json"}, func(r *fhir.Resource) { res = append(res, r) })
	c := claims(Build(res, Options{}))["Claim/c-item"]
	if c == nil || len(c.Diagnoses) != 1 || c.Diagnoses[0].Codes[0].Code != "J18.9" {
		t.Errorf("diagnoses without decoded Conditions: got %+v", c)
	}
}

// TestWithoutRaw: resources built in code (no Raw JSON) are trusted as
// decoded: a planned encounter is not "missing its status".
func TestWithoutRaw(t *testing.T) {
	imp, subject := "IMP", "Patient/p1"
	res := []*fhir.Resource{{
		Type: "Encounter", ID: "e1", Source: fhir.Source{File: "code", Entry: -1},
		Value: &fm.Encounter{Status: fm.EncounterStatusPlanned, Class: fm.Coding{Code: &imp}, Subject: &fm.Reference{Reference: &subject}},
	}}
	set := Build(res, Options{})
	noProblems(t, set)
	if e := encounters(set)["Encounter/e1"]; e == nil || e.Status != "planned" || e.Patient.Ref != "Patient/p1" {
		t.Errorf("got %+v, want a planned encounter of Patient/p1", e)
	}
}

// TestProblemsInInputOrder: problems come entry by entry, although they are
// found type by type.
func TestProblemsInInputOrder(t *testing.T) {
	set := load(t, "problems.json", time.UTC)
	last := -1
	for _, p := range set.Problems {
		var ie *fhir.InputError
		if errors.As(p, &ie) {
			if ie.Source.Entry < last {
				t.Errorf("entry %d reported after entry %d", ie.Source.Entry, last)
			}
			last = ie.Source.Entry
		}
	}
}

// TestContainedPatients: a contained Patient is known only inside its
// container. Two claims each containing "#patient-1" are two people unless
// their business identifiers say they are one; no patient gets "#..." as
// its reference.
func TestContainedPatients(t *testing.T) {
	tests := []struct {
		name     string
		files    []string
		wantKeys []string
	}{
		{"different people", []string{"claim-a.json", "claim-b.json"},
			[]string{"Claim/MED-A#patient-1", "Claim/MED-B#patient-1"}},
		{"same identifier", []string{"claim-c.json", "claim-d.json"},
			[]string{"https://hospital.example/mrn|MRN-SYN-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var paths []string
			for _, f := range tt.files {
				paths = append(paths, filepath.Join("testdata", "contained", f))
			}
			var res []*fhir.Resource
			if errs := fhir.NewReader().ReadPaths(paths, func(r *fhir.Resource) { res = append(res, r) }); len(errs) > 0 {
				t.Fatalf("reading: %v", errs)
			}
			set := Build(res, Options{})
			noProblems(t, set)
			var keys []string
			for _, p := range set.Patients {
				keys = append(keys, p.Key)
				if p.Ref != "" {
					t.Errorf("patient %s: got Ref %q, want none (a contained patient has no reference outside its container)", p.Key, p.Ref)
				}
				if p.BirthDate.IsZero() {
					t.Errorf("patient %s: birth date of the contained Patient not read", p.Key)
				}
			}
			if !reflect.DeepEqual(keys, tt.wantKeys) {
				t.Errorf("patient keys: got %q, want %q", keys, tt.wantKeys)
			}
			if got := len(claims(set)); got != len(tt.files) {
				t.Errorf("claims: got %d, want %d", got, len(tt.files))
			}
		})
	}
}

// TestNoIDs: in a transaction Bundle of POST entries without ids, a server
// assigns the ids, so a urn:uuid fullUrl never becomes "Type/uuid".
// Resources are known by business identifier (no Ref); those with neither
// id nor identifier are left out with a problem.
func TestNoIDs(t *testing.T) {
	set := load(t, "noids.json", time.UTC)
	var problems []string
	for _, p := range set.Problems {
		problems = append(problems, p.Error())
	}
	wantProblems := []string{
		"noids.json entry 2: encounter has no id or identifier: it cannot be referenced",
		"noids.json entry 3: claim has no id or identifier: it cannot be referenced",
		"noids.json entry 4: patient has no id or identifier: it cannot be referenced",
	}
	for i, w := range wantProblems {
		if i >= len(problems) || !strings.HasSuffix(problems[i], w) {
			t.Errorf("problems: got %q, want suffixes %q", problems, wantProblems)
			break
		}
	}
	if len(set.Patients) != 2 {
		t.Fatalf("patients: got %d, want 2", len(set.Patients))
	}
	p := set.Patients[0]
	if p.Ref != "" || p.Key != "urn:example:mrn|MRN-9" {
		t.Errorf("patient: got Ref %q Key %q, want no Ref and the identifier", p.Ref, p.Key)
	}
	if len(p.Encounters) != 1 || p.Encounters[0].Ref != "" || p.Encounters[0].Key != "urn:example:visit|V-9" {
		t.Errorf("encounters: got %+v, want one known by identifier only", p.Encounters)
	}
	// The patient with neither is left out: its encounter groups under the
	// reference as written, which nothing written repeats.
	q := set.Patients[1]
	if q.Ref != "urn:uuid:00000005-aaaa-4bbb-8ccc-dddddddddddd" || !q.BirthDate.IsZero() || len(q.Encounters) != 1 {
		t.Errorf("left-out patient: got %+v", q)
	}
	for _, p := range set.Patients {
		for _, e := range p.Encounters {
			if strings.Contains(e.Ref, "aaaa-4bbb") || strings.Contains(e.Key, "aaaa-4bbb") {
				t.Errorf("encounter identity from a urn:uuid fullUrl: %q %q", e.Ref, e.Key)
			}
		}
	}
}

// TestProblemFormat: "file[:line] entry N Type/id: problem", entries from 0.
func TestProblemFormat(t *testing.T) {
	set := load(t, "problems.json", time.UTC)
	want := "testdata/problems.json entry 1 Encounter/no-status: encounter has no status"
	if len(set.Problems) == 0 || set.Problems[0].Error() != want {
		t.Fatalf("first problem: got %v, want %q", set.Problems, want)
	}
}

func TestReadTypes(t *testing.T) {
	t.Parallel()
	types := ReadTypes()
	if len(types) < 12 {
		t.Fatalf("got %d types, want at least 12", len(types))
	}
	for _, typ := range types {
		if !readType(typ) {
			t.Errorf("%s listed but not read", typ)
		}
	}
	if readType("Observation") {
		t.Error("Observation read but not listed")
	}
}
