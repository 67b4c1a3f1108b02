package rules

import (
	"strings"
	"testing"
	"time"

	"github.com/utilreview/utilreview/service/facts"
)

func TestCustomCheckCompile(t *testing.T) {
	t.Parallel()
	env, err := NewCELEnv()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		when, message       string
		wantWhen, wantMsgEr string // substrings; "" means no error
	}{
		{`los_days > 3 && encounter.class == "IMP"`, "ok", "", ""},
		{`codes.exists(c, c.startsWith("I50"))`, "{{.drg}}", "", ""},
		{`encounter.los_days > 3`, "ok", "", ""}, // dyn: checked when run
		{`los_days >`, "ok", "<input>:1:11: Syntax error", ""},
		{`los_dayz > 3`, "ok", "<input>:1:1: undeclared reference to 'los_dayz'", ""},
		{`drg + 1`, "ok", "found no matching overload for '_+_' applied to '(string, int)'", ""},
		{`midnights`, "ok", "must be a boolean expression, got int", ""},
		{`true`, "{{.x", "", "unclosed action"},
	}
	for _, tt := range tests {
		c := &CustomCheck{ID: "t", When: tt.when, Message: tt.message}
		whenErr, msgErr := c.Compile(env)
		check := func(what string, err error, want string) {
			switch {
			case want == "" && err != nil:
				t.Errorf("%q %s: got error %v, want none", tt.when, what, err)
			case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
				t.Errorf("%q %s: got error %v, want one containing %q", tt.when, what, err, want)
			}
		}
		check("when", whenErr, tt.wantWhen)
		check("message", msgErr, tt.wantMsgEr)
	}
}

func shippedCheck(t *testing.T, id string) (*RuleSet, *CustomCheck) {
	t.Helper()
	r, err := LoadDefaults()
	if err != nil {
		t.Fatal(err)
	}
	for _, rs := range r.RuleSets() {
		for _, c := range rs.Custom {
			if c.ID == id {
				return rs, c
			}
		}
	}
	t.Fatalf("no shipped custom check %q", id)
	return nil, nil
}

func TestShippedImagingCheck(t *testing.T) {
	t.Parallel()
	rs, c := shippedCheck(t, "imaging-without-preauth")
	mri := facts.Line{Sequence: 1, Codes: []facts.Code{{System: SystemCPT, Code: "70553"}}, Units: 1}
	office := facts.Line{Sequence: 2, Codes: []facts.Code{{System: SystemCPT, Code: "99213"}}, Units: 1}
	tests := []struct {
		name  string
		claim *facts.Claim
		want  bool
	}{
		{"MRI without preauth", &facts.Claim{Use: "claim", Type: "professional", Lines: []facts.Line{office, mri}}, true},
		{"MRI with preauth", &facts.Claim{Use: "claim", Lines: []facts.Line{mri}, PreAuthRefs: []string{"PA-1"}}, false},
		{"office visit only", &facts.Claim{Use: "claim", Lines: []facts.Line{office}}, false},
		{"preauthorization request", &facts.Claim{Use: "preauthorization", Lines: []facts.Line{mri}}, false},
		{"no lines", &facts.Claim{Use: "claim"}, false},
	}
	for _, tt := range tests {
		vars := ClaimVars(&facts.Patient{}, tt.claim, rs, Measures{AgeYears: 40})
		got, err := c.Eval(vars)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got != tt.want {
			t.Errorf("%s: got fired=%v, want %v", tt.name, got, tt.want)
		}
	}
	vars := ClaimVars(nil, tests[0].claim, rs, Measures{})
	want := "Advanced imaging (99213, 70553) is billed without a prior-authorization reference: confirm the authorization before the claim goes to Acme."
	if got := c.Render(vars); got != want {
		t.Errorf("Render: got %q, want %q", got, want)
	}
}

func TestShippedExtendedStayCheck(t *testing.T) {
	t.Parallel()
	rs, c := shippedCheck(t, "heart-failure-extended-stay")
	start := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	hf := func(system, code string) []facts.Diagnosis {
		return []facts.Diagnosis{{Principal: true, Codes: []facts.Code{{System: system, Code: code}}}}
	}
	tests := []struct {
		name string
		enc  *facts.Encounter
		los  int
		want bool
	}{
		{"ICD-10 heart failure day 6", &facts.Encounter{Class: "IMP", Status: "in-progress", Start: start, Diagnoses: hf(SystemICD10CM, "I50.23")}, 6, true},
		{"Synthea heart failure day 6", &facts.Encounter{Class: "IMP", Status: "in-progress", Start: start, Diagnoses: hf(SystemSNOMED, "88805009")}, 6, true},
		{"heart-failure DRG day 7", &facts.Encounter{Class: "IMP", Status: "in-progress", Start: start, DRG: "291"}, 7, true},
		{"day 5 is not beyond 5", &facts.Encounter{Class: "IMP", Status: "in-progress", Start: start, DRG: "291"}, 5, false},
		{"finished stay", &facts.Encounter{Class: "IMP", Status: "finished", Start: start, End: start.Add(200 * time.Hour), DRG: "291"}, 8, false},
		{"other diagnosis", &facts.Encounter{Class: "IMP", Status: "in-progress", Start: start, Diagnoses: hf(SystemICD10CM, "J18.9")}, 9, false},
		{"heart failure not principal", &facts.Encounter{Class: "IMP", Status: "in-progress", Start: start,
			Diagnoses: []facts.Diagnosis{{Codes: []facts.Code{{System: SystemICD10CM, Code: "I50.9"}}}}}, 9, false},
	}
	for _, tt := range tests {
		vars := EncounterVars(&facts.Patient{}, tt.enc, rs, Measures{LOSDays: tt.los, Midnights: tt.los, AgeYears: -1, InProgress: tt.enc.End.IsZero(), End: tt.enc.End})
		got, err := c.Eval(vars)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got != tt.want {
			t.Errorf("%s: got fired=%v, want %v", tt.name, got, tt.want)
		}
	}
	vars := EncounterVars(nil, tests[0].enc, rs, Measures{LOSDays: 6, InProgress: true})
	want := "Heart-failure stay at 6 inpatient days (DRG not yet assigned): Capital asks for a case-management review after day 5."
	if got := c.Render(vars); got != want {
		t.Errorf("Render: got %q, want %q", got, want)
	}
}

func TestCustomCheckEvalErrors(t *testing.T) {
	t.Parallel()
	env, err := NewCELEnv()
	if err != nil {
		t.Fatal(err)
	}
	c := &CustomCheck{ID: "needs-claim", When: `claim.type == "institutional"`, Message: "x {{.nothing}}"}
	if w, m := c.Compile(env); w != nil || m != nil {
		t.Fatal(w, m)
	}
	// An encounter without claims has an empty claim map: the key is missing.
	vars := EncounterVars(&facts.Patient{}, &facts.Encounter{Class: "IMP"}, nil, Measures{})
	if fired, err := c.Eval(vars); fired || err == nil || !strings.Contains(err.Error(), "no such key") {
		t.Errorf("got fired=%v err=%v, want an error naming the missing key", fired, err)
	}
	if got := c.Render(vars); got != "x <no value>" {
		t.Errorf("Render: got %q", got)
	}
	uncompiled := &CustomCheck{ID: "raw", When: "true", Message: "raw {{.x}}"}
	if _, err := uncompiled.Eval(vars); err == nil {
		t.Errorf("uncompiled Eval: got no error")
	}
	if got := uncompiled.Render(vars); got != "raw {{.x}}" {
		t.Errorf("uncompiled Render: got %q", got)
	}
	has := &CustomCheck{ID: "has", When: `has(claim.type) && claim.type == "institutional"`, Message: "m"}
	if w, _ := has.Compile(env); w != nil {
		t.Fatal(w)
	}
	if fired, err := has.Eval(vars); fired || err != nil {
		t.Errorf("has(): got fired=%v err=%v, want false, nil", fired, err)
	}
}

func TestFactVars(t *testing.T) {
	t.Parallel()
	enc := &facts.Encounter{
		Class:                "IMP",
		Status:               "finished",
		Segments:             []facts.Segment{{Class: "EMER"}, {Class: "IMP"}},
		Start:                time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		End:                  time.Date(2025, 1, 4, 0, 0, 0, 0, time.UTC),
		DischargeDisposition: []facts.Code{{System: "http://www.nubc.org/patient-discharge", Code: "03"}},
		Diagnoses:            []facts.Diagnosis{{Principal: true, Codes: []facts.Code{{System: "icd-10-cm", Code: "I21.4"}}}},
		Procedures:           []facts.Procedure{{Codes: []facts.Code{{System: SystemICD10PCS, Code: "02703ZZ"}}}},
		DRG:                  "280",
	}
	cl := &facts.Claim{Type: "institutional", Use: "claim", Encounters: []*facts.Encounter{enc},
		Lines: []facts.Line{{Codes: []facts.Code{{System: SystemCPT, Code: "70553"}}, Units: 2, Modifiers: []string{"RT"}}}}
	enc.Claims = []*facts.Claim{cl}
	env, err := NewCELEnv()
	if err != nil {
		t.Fatal(err)
	}
	rs := &RuleSet{ID: "p", Program: MedicareFFS}
	exprs := []string{
		`encounter.classes == ["EMER", "IMP"]`,
		`encounter.discharge_disposition == ["03"]`,
		`encounter.principal_diagnoses == ["I21.4"]`,
		`encounter.procedures == ["02703ZZ"]`,
		`!encounter.in_progress && encounter.end > encounter.start`,
		`claim.type == "institutional" && claim.units == 2.0 && claim.lines[0].modifiers == ["RT"]`,
		`claim.for_inpatient`,
		`payer.program == "medicare-ffs" && patient.age_years == 70`,
		`drg == "280" && los_days == 3 && midnights == 4`,
		`"I21.4" in codes && "http://hl7.org/fhir/sid/icd-10-cm|I21.4" in system_codes`,
	}
	vars := EncounterVars(&facts.Patient{}, enc, rs, Measures{LOSDays: 3, Midnights: 4, AgeYears: 70, End: enc.End})
	for _, x := range exprs {
		c := &CustomCheck{ID: "x", When: x, Message: "m"}
		if w, _ := c.Compile(env); w != nil {
			t.Errorf("%s: %v", x, w)
			continue
		}
		if fired, err := c.Eval(vars); !fired || err != nil {
			t.Errorf("%s: got %v %v, want true", x, fired, err)
		}
	}
	// The claim's view: its encounter, its own codes.
	cvars := ClaimVars(nil, cl, nil, Measures{})
	c := &CustomCheck{ID: "y", When: `encounter.class == "IMP" && codes == ["70553"] && payer.id == ""`, Message: "m"}
	if w, _ := c.Compile(env); w != nil {
		t.Fatal(w)
	}
	if fired, err := c.Eval(cvars); !fired || err != nil {
		t.Errorf("claim vars: got %v %v, want true", fired, err)
	}
	// Nil facts give empty maps, never a panic.
	for _, v := range []map[string]any{EncounterVars(nil, nil, nil, Measures{}), ClaimVars(nil, nil, nil, Measures{})} {
		if len(v) != 9 {
			t.Errorf("got %d variables, want 9", len(v))
		}
	}
}
