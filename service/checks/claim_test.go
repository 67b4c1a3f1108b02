package checks

import (
	"sort"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the tests use America/New_York wherever they run

	"github.com/utilreview/utilreview/service/facts"
	"github.com/utilreview/utilreview/service/rules"
)

// The claim check tests build synthetic facts as Go literals: the claims,
// codes, units, MUE values and dates below are made up to reach each rule's
// edges; they are not real patients, and the MUE values are not CMS's.

var clLoc = mustLoc("America/New_York")

func mustLoc(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

// clDay is 00:00 of a YYYY-MM-DD day in the facility zone.
func clDay(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02", s, clLoc)
	if err != nil {
		panic(err)
	}
	return t
}

// clAt is a YYYY-MM-DDTHH:MM time in the facility zone.
func clAt(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02T15:04", s, clLoc)
	if err != nil {
		panic(err)
	}
	return t
}

func clDate(s string) rules.Date { return rules.DateOf(clDay(s)) }

// clRules is a RuleSource: a rule set per payer name, else the default.
type clRules struct {
	byName map[string]*rules.RuleSet
	def    *rules.RuleSet
}

func (s clRules) For(p *facts.Payer, on time.Time) (*rules.RuleSet, bool) {
	if p != nil {
		if rs, ok := s.byName[p.Name]; ok {
			return rs, true
		}
	}
	return s.def, false
}

var clMedicare = &facts.Payer{OrganizationRef: "Organization/cms", Name: "Medicare"}

// clMedicareRules is a Medicare fee-for-service-like rule set with every
// claim check on; the MUE rows are synthetic.
func clMedicareRules() *rules.RuleSet {
	rs := &rules.RuleSet{
		ID: "medicare-ffs", Name: "Medicare fee-for-service", Version: "test", Program: rules.MedicareFFS,
		Checks: rules.Checks{
			PriorAuth:                rules.PriorAuth{Enabled: true, CodeList: "opd_prior_auth", ClaimTypes: []string{"institutional"}, OutpatientOnly: true},
			MUE:                      rules.MUE{Enabled: true, Table: "mue_test.csv"},
			DuplicateLines:           rules.DuplicateLines{Enabled: true, ExemptModifiers: []string{"59", "76", "77", "91", "XE", "XP", "XS", "XU", "RT", "LT"}},
			TimelyFiling:             rules.TimelyFiling{Enabled: true, LimitDays: 365, WarningDays: 30},
			ClaimBeforeDetermination: rules.Switch{Enabled: true},
			PaymentWindow:            rules.PaymentWindow{Enabled: true, Days: 3},
		},
		CodeLists: map[string]*rules.CodeList{
			"opd_prior_auth": clPriorAuthList(),
		},
	}
	return rs.Resolve(nil, nil, map[string]rules.MUEEntry{
		"97110": {Code: "97110", Value: 4, Indicator: 1, Rationale: "synthetic"},
		"J1100": {Code: "J1100", Value: 10, Indicator: 3, Rationale: "synthetic"},
		"64612": {Code: "64612", Value: 1, Indicator: 2, Rationale: "synthetic"},
		"A0001": {Code: "A0001", Value: 0, Indicator: 1},
	}, nil)
}

func clPriorAuthList() *rules.CodeList {
	l := rules.NewCodeList(
		rules.CodeEntry{System: "cpt", Code: "64612", From: clDate("2020-07-01")},
		rules.CodeEntry{System: "hcpcs", Code: "64615", From: clDate("2020-07-01")},
		rules.CodeEntry{System: "hcpcs", Code: "J0585", From: clDate("2020-07-01"), WithAny: []string{"64612", "64615"}},
		// Synthetic effective dates, to test both ends of an entry.
		rules.CodeEntry{System: "cpt", Code: "15820", From: clDate("2020-07-01"), To: clDate("2024-12-31")},
		rules.CodeEntry{System: "hcpcs", Code: "22551", From: clDate("2023-07-01")},
	)
	l.Source = "42 CFR 419.83"
	return l
}

// clOff is a rule set with every claim check switched off.
func clOff() *rules.RuleSet {
	rs := clMedicareRules()
	rs.Checks = rules.Checks{}
	return rs
}

func clRun(asOf string, src RuleSource) *run {
	return &run{asOf: clAt(asOf), loc: clLoc, cfg: Config{Location: clLoc, IdentifierSystem: "https://utilreview.example/task-id"}, rules: src}
}

func clSource(rs *rules.RuleSet) clRules {
	return clRules{byName: map[string]*rules.RuleSet{"Medicare": rs}, def: rs}
}

func clCode(code string) facts.Code {
	if code != "" && code[0] >= '0' && code[0] <= '9' {
		return facts.Code{System: rules.SystemCPT, Code: code}
	}
	return facts.Code{System: rules.SystemHCPCS, Code: code}
}

// clLine is a line billing code on dos ("" for no serviced date).
func clLine(seq int, code, dos string, units float64, mods ...string) facts.Line {
	l := facts.Line{Sequence: seq, Codes: []facts.Code{clCode(code)}, Units: units, Modifiers: mods}
	if dos != "" {
		l.ServiceStart = clDay(dos)
		l.ServiceEnd = l.ServiceStart
	}
	return l
}

// clClaim is an active institutional Medicare claim created at created.
func clClaim(id, created string, lines ...facts.Line) *facts.Claim {
	return &facts.Claim{
		Ref: "Claim/" + id, Key: "Claim/" + id,
		Status: "active", Use: "claim", Type: "institutional",
		Created: clAt(created), Payer: clMedicare, Lines: lines,
		Provider: "Organization/hospital",
	}
}

// clPatient wires claims and encounters into one patient, sorted as the
// facts builder sorts them.
func clPatient(encs []*facts.Encounter, claims ...*facts.Claim) *facts.Patient {
	p := &facts.Patient{Ref: "Patient/p1", Key: "Patient/p1", Encounters: encs, Claims: claims}
	for _, c := range claims {
		c.Patient = p
	}
	for _, e := range encs {
		e.Patient = p
	}
	sort.SliceStable(p.Claims, func(i, j int) bool {
		a, b := p.Claims[i], p.Claims[j]
		if !a.Created.Equal(b.Created) {
			return a.Created.Before(b.Created)
		}
		return a.Ref < b.Ref
	})
	return p
}

// clFindings runs the claim checks over every claim and keeps one check's findings.
func clFindings(r *run, p *facts.Patient, check string) []Finding {
	var out []Finding
	for _, c := range p.Claims {
		for _, f := range r.claim(p, c) {
			if f.Check == check {
				out = append(out, f)
			}
		}
	}
	return out
}

func clEvidence(f Finding, typ string) []Evidence {
	var out []Evidence
	for _, e := range f.Evidence {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

// clCheckEvidence asserts every evidence has a known type and exactly one value.
func clCheckEvidence(t *testing.T, f Finding) {
	t.Helper()
	known := map[string]bool{}
	for _, c := range EvidenceTypes() {
		known[c.Code] = true
	}
	for _, e := range f.Evidence {
		if !known[e.Type] {
			t.Errorf("%s: evidence type %q is not in the evidence CodeSystem", f.Check, e.Type)
		}
		n := 0
		for _, set := range []bool{e.Int != nil, e.Decimal != nil, e.String != nil, e.Bool != nil, e.DateTime != nil, e.Date != nil, e.Code != nil, e.Ref != nil} {
			if set {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s: evidence %q has %d values, want 1", f.Check, e.Type, n)
		}
		switch e.Type {
		case EvDateOfService, EvThroughDate, EvFilingDeadline, EvAdmissionDate:
			// Calendar dates: written as valueDate, held as the facility day's start.
			if e.Date == nil || !e.Date.Equal(StartOfDay(*e.Date, clLoc)) {
				t.Errorf("%s: evidence %q is %v/%v, want a Date at the start of a facility day", f.Check, e.Type, e.DateTime, e.Date)
			}
		}
	}
}

// clCommon asserts what every claim finding carries.
func clCommon(t *testing.T, f Finding, c *facts.Claim) {
	t.Helper()
	if f.FocusRef != c.Ref || f.FocusKey != c.Key || f.Claim != c || f.Patient != c.Patient {
		t.Errorf("%s: focus %q/%q claim %p patient %p, want %q/%q %p %p", f.Check, f.FocusRef, f.FocusKey, f.Claim, f.Patient, c.Ref, c.Key, c, c.Patient)
	}
	if f.Description == "" || f.Episode == "" || f.Due.IsZero() || f.RuleSet == nil || f.Status == "" {
		t.Errorf("%s: missing description, episode, due, rule set or status: %+v", f.Check, f)
	}
	clCheckEvidence(t, f)
}

func TestClaimIgnoredUsesAndStatuses(t *testing.T) {
	t.Parallel()
	// A claim that every check would flag: prior auth without authorization,
	// units over the MUE, a duplicate line, filing limit passed.
	mk := func(mut func(*facts.Claim)) *facts.Claim {
		c := clClaim("c1", "2024-01-10T10:00", clLine(1, "64612", "2024-01-05", 3), clLine(2, "64612", "2024-01-05", 1))
		mut(c)
		return c
	}
	tests := []struct {
		name string
		mut  func(*facts.Claim)
		want bool // any finding
	}{
		{"active claim is checked", func(*facts.Claim) {}, true},
		{"draft claim is checked", func(c *facts.Claim) { c.Status = "draft" }, true},
		{"preauthorization ignored", func(c *facts.Claim) { c.Use = "preauthorization" }, false},
		{"predetermination ignored", func(c *facts.Claim) { c.Use = "predetermination" }, false},
		{"cancelled ignored", func(c *facts.Claim) { c.Status = "cancelled" }, false},
		{"entered-in-error ignored", func(c *facts.Claim) { c.Status = "entered-in-error" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := mk(tt.mut)
			p := clPatient(nil, c)
			got := clRun("2025-06-01T09:00", clSource(clMedicareRules())).claim(p, c)
			if (len(got) > 0) != tt.want {
				t.Fatalf("got %d findings, want any=%v: %+v", len(got), tt.want, got)
			}
		})
	}
}

func TestClaimNoRuleSetOrSwitchedOff(t *testing.T) {
	t.Parallel()
	c := clClaim("c1", "2024-01-10T10:00", clLine(1, "64612", "2024-01-05", 3), clLine(2, "64612", "2024-01-05", 1))
	p := clPatient(nil, c)
	for name, src := range map[string]RuleSource{
		"no rule set at all": clRules{},
		"every switch off":   clSource(clOff()),
	} {
		if got := clRun("2025-06-01T09:00", src).claim(p, c); len(got) != 0 {
			t.Errorf("%s: got %d findings, want 0: %+v", name, len(got), got)
		}
	}
}

// TestClaimNeverPanics feeds claims with every field missing or odd.
func TestClaimNeverPanics(t *testing.T) {
	t.Parallel()
	odd := []*facts.Claim{
		{},
		{Use: "claim", Lines: []facts.Line{{}}},
		{Use: "claim", Type: "institutional", Lines: []facts.Line{{Codes: []facts.Code{{}}}}, Encounters: []*facts.Encounter{nil}},
		{Use: "claim", Type: "institutional", Lines: []facts.Line{{Codes: []facts.Code{clCode("64612")}, Units: -3}}, Payer: &facts.Payer{}},
		{Use: "claim", Type: "institutional", DRG: "470", Lines: []facts.Line{{Codes: []facts.Code{clCode("j1100")}, Units: 1e300}}},
	}
	enc := &facts.Encounter{Ref: "Encounter/e", Key: "Encounter/e", Status: "finished", Segments: []facts.Segment{{Class: "IMP", Start: clAt("2024-01-06T10:00")}}}
	p := clPatient([]*facts.Encounter{enc, {}}, odd...)
	p.Tasks = []*facts.Task{nil, {Status: "requested"}}
	r := clRun("2025-06-01T09:00", clSource(clMedicareRules()))
	r.raised = map[*facts.Encounter][]Finding{enc: {{Check: "two-midnight"}}}
	for _, c := range p.Claims {
		for _, f := range r.claim(p, c) {
			clCheckEvidence(t, f)
		}
	}
	if got := r.claim(nil, &facts.Claim{Use: "claim", Type: "institutional", Lines: []facts.Line{{}}}); len(got) != 0 {
		t.Errorf("nil patient: got %d findings, want 0", len(got))
	}
	if got := r.claim(p, nil); got != nil {
		t.Errorf("nil claim: got %v, want nil", got)
	}
}

func TestClaimDefinitionsComplete(t *testing.T) {
	t.Parallel()
	want := []string{CheckPriorAuthRequired, CheckMUEExceeded, CheckDuplicateClaimLine, CheckTimelyFiling, CheckClaimBeforeDetermination, CheckPaymentWindow}
	if len(claimDefinitions) != len(want) {
		t.Fatalf("got %d claim definitions, want %d", len(claimDefinitions), len(want))
	}
	for i, d := range claimDefinitions {
		if d.ID != want[i] {
			t.Errorf("definition %d: got id %q, want %q", i, d.ID, want[i])
		}
		if d.Title == "" || d.On != "claim" || d.What == "" || d.Why == "" || d.Source == "" || d.Thresholds == "" ||
			!strings.HasPrefix(d.Switch, "checks.") || d.Owner == "" || d.Priority == "" {
			t.Errorf("definition %q is incomplete: %+v", d.ID, d)
		}
	}
	seen := map[string]bool{}
	for _, c := range claimEvidenceTypes {
		if seen[c.Code] || c.Display == "" || c.Definition == "" {
			t.Errorf("evidence type %q duplicated or undocumented", c.Code)
		}
		seen[c.Code] = true
	}
}
