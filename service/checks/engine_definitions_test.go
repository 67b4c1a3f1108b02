package checks

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/utilreview/utilreview/fhir"
	"github.com/utilreview/utilreview/service/facts"
	"github.com/utilreview/utilreview/service/rules"
)

// definitionVariants are the Owner/Priority pairs a check may use besides
// its Definition's, each with words its Definition must contain so that
// the docs name the variant.
var definitionVariants = map[string][]struct {
	owner    Owner
	priority Priority
	words    string
}{
	CheckLOSExceedsGMLOS:   {{PhysicianAdvisor, Urgent, "physician advisor"}},
	CheckPriorAuthRequired: {{BillingTeam, Urgent, "billing"}},
}

// TestFindingsFollowDefinitions: every finding carries the Owner and
// Priority its check's Definition documents (or a documented escalation),
// so docs/checks.md cannot drift from the code. The findings come from the
// end-to-end fixtures and synthetic stays that reach the remaining checks;
// every built-in check must be reached.
func TestFindingsFollowDefinitions(t *testing.T) {
	t.Parallel()
	defs := map[string]Definition{}
	for _, d := range Definitions() {
		defs[d.ID] = d
	}
	for id, vs := range definitionVariants {
		for _, v := range vs {
			if !strings.Contains(strings.ToLower(defs[id].What), v.words) {
				t.Errorf("%s: definition does not document the %s/%s variant (%q)", id, v.owner, v.priority, v.words)
			}
		}
	}

	var got []Finding
	got = append(got, defsFixture(t, time.Date(2025, 3, 20, 16, 0, 0, 0, time.UTC), filepath.Join("testdata", "encounter", "stays.json"))...)
	got = append(got, defsFixture(t, time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC), filepath.Join("testdata", "claim", "outpatient.json"))...)
	synthetic := []struct {
		asOf string
		segs []string
		edit func(e *facts.Encounter)
	}{
		{"2026-12-01T10:00", []string{"IMP 2026-03-02T10:00 2026-03-03T15:00"}, nil},                                                              // two-midnight
		{"2026-03-12T10:00", []string{"IMP 2026-03-02T10:00"}, func(e *facts.Encounter) { e.DRG = "291" }},                                        // GMLOS and its escalation
		{"2027-06-01T10:00", []string{"IMP 2026-03-02T10:00"}, nil},                                                                               // stale-encounter
		{"2026-03-20T10:00", []string{"IMP 2026-03-01 2026-03-05"}, func(e *facts.Encounter) { e.StartPrecision = fhir.Month }},                   // period data gap
		{"2026-03-20T10:00", []string{"IMP 2026-03-02T10:00 2026-03-04T10:00"}, func(e *facts.Encounter) { e.DischargeDisposition = nubc("03") }}, // SNF
	}
	{
		// payer-not-configured: a payer no shipped rule set matches.
		reg, err := rules.LoadDefaults()
		if err != nil {
			t.Fatal(err)
		}
		e := enStay(t, "d2", "IMP 2026-03-02T10:00 2026-03-05T10:00")
		e.Payer = &facts.Payer{Name: "Unlisted Health Plan"}
		got = append(got, NewEngine(Config{Location: enLoc(t)}, reg).Review(enPatient(e), time.Date(2026, 3, 20, 10, 0, 0, 0, time.UTC))...)
	}
	for _, s := range synthetic {
		e := enStay(t, "d1", s.segs...)
		if s.edit != nil {
			s.edit(e)
		}
		p := enPatient(e)
		got = append(got, enRun(t, s.asOf, enMedicare()).encounter(p, e)...)
	}

	// Claims for the claim checks the fixture does not reach: units above
	// the synthetic MUE, and a claim past the filing limit.
	mue := clClaim("m", "2025-03-05T10:00", clLine(1, "97110", "2025-03-04", 5))
	late := clClaim("l", "2025-03-05T10:00", clLine(1, "99213", "2024-01-04", 1))
	late.BillableEnd = clAt("2024-01-04T17:00")
	for _, c := range []*facts.Claim{mue, late} {
		got = append(got, clRun("2025-03-06T10:00", clSource(clMedicareRules())).claim(clPatient(nil, c), c)...)
	}
	// A claim created while a review of its stay, still in progress, is
	// open (the fixtures' held claims are for discharged stays, whose
	// reviews are moot and hold nothing).
	stay := &facts.Encounter{Ref: "Encounter/s", Key: "Encounter/s", Status: "in-progress",
		Segments: []facts.Segment{{Class: "IMP", Start: clAt("2025-03-01T10:00")}}}
	held := clClaim("h", "2025-03-05T10:00", clLine(1, "99223", "2025-03-01", 1))
	held.Encounters = []*facts.Encounter{stay}
	hr := clRun("2025-03-06T09:00", clSource(clMedicareRules()))
	hr.raised = map[*facts.Encounter][]Finding{stay: {{Check: CheckTwoMidnight, Encounter: stay}}}
	got = append(got, hr.claim(clPatient([]*facts.Encounter{stay}, held), held)...)

	got = append(got, determinationDefinitionFindings(t)...)

	reached := map[string]bool{}
	for _, f := range got {
		d, ok := defs[f.Check]
		if !ok {
			continue // custom checks take theirs from rule data
		}
		reached[f.Check] = true
		if f.Owner == d.Owner && f.Priority == d.Priority {
			continue
		}
		documented := false
		for _, v := range definitionVariants[f.Check] {
			documented = documented || (f.Owner == v.owner && f.Priority == v.priority)
		}
		if !documented {
			t.Errorf("%s (%s): owner %s priority %s, want %s %s as its definition documents", f.Check, f.Episode, f.Owner, f.Priority, d.Owner, d.Priority)
		}
	}
	for id := range defs {
		if !reached[id] {
			t.Errorf("%s: no finding reached it; add a case", id)
		}
	}
}

// defsFixture runs the engine with the shipped rule sets over a fixture.
func defsFixture(t *testing.T, asOf time.Time, paths ...string) []Finding {
	t.Helper()
	loc := enLoc(t)
	var res []*fhir.Resource
	if errs := fhir.NewReader().ReadPaths(paths, func(r *fhir.Resource) { res = append(res, r) }); len(errs) > 0 {
		t.Fatalf("reading: %v", errs)
	}
	set := facts.Build(res, facts.Options{Location: loc, NoPayer: rules.IsNoPayer})
	reg, err := rules.LoadDefaults()
	if err != nil {
		t.Fatalf("shipped rules: %v", err)
	}
	eng := NewEngine(Config{Location: loc}, reg)
	var out []Finding
	for _, p := range set.Patients {
		out = append(out, eng.Review(p, asOf)...)
	}
	return out
}
