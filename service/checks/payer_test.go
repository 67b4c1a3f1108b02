package checks

import (
	"strings"
	"testing"
	"time"

	"github.com/utilreview/utilreview/service/facts"
	"github.com/utilreview/utilreview/service/rules"
)

// evidenceString is the first string evidence of a type, "" when none.
func evidenceString(f Finding, typ string) string {
	for _, ev := range f.Evidence {
		if ev.Type == typ && ev.String != nil {
			return *ev.String
		}
	}
	return ""
}

// payerRules is a RuleSource keyed by payer label (Payer.Label), with a
// default for the rest, as the registry answers.
type payerRules struct {
	byLabel map[string]*rules.RuleSet
	def     *rules.RuleSet
}

func (s payerRules) For(p *facts.Payer, _ time.Time) (*rules.RuleSet, bool) {
	if rs, ok := s.byLabel[p.Label()]; ok && p != nil {
		return rs, true
	}
	return s.def, false
}

func payerRun(t *testing.T, asOf string, src RuleSource) *run {
	r := enRun(t, asOf, nil)
	r.rules = src
	return r
}

// TestPayerNotConfigured (issue 7 point 9): a stay's payer that matches no
// rule set gets the default rules and one data-quality finding for patient
// access, naming the payer as the input does and the rule set apart.
func TestPayerNotConfigured(t *testing.T) {
	t.Parallel()
	def := enCommercial(t, false)
	def.Name, def.Default = "Default commercial", true
	src := payerRules{byLabel: map[string]*rules.RuleSet{"Example Health Plan": enCommercial(t, false), "medicare": enMedicare()}, def: def}
	tests := []struct {
		name     string
		payer    *facts.Payer
		segs     []string
		want     bool
		wantEv   []string // payer, payer-identifier
		noSwitch bool
	}{
		{name: "configured payer", payer: enPayerOrg, segs: []string{"IMP 2026-03-02T10:00"}},
		{name: "configured by display text (Synthea)", payer: &facts.Payer{Display: "medicare"}, segs: []string{"IMP 2026-03-02T10:00"}},
		{name: "unknown organization with an identifier", segs: []string{"IMP 2026-03-02T10:00"}, want: true,
			payer:  &facts.Payer{OrganizationRef: "Organization/x", Name: "Unlisted Health", Identifiers: []facts.Identifier{{System: "urn:example:payer-id", Value: "UH-9"}}},
			wantEv: []string{"Unlisted Health", "urn:example:payer-id|UH-9"}},
		{name: "unknown display text", payer: &facts.Payer{Display: "tricare"}, segs: []string{"OBSENC 2026-03-02T10:00"}, want: true, wantEv: []string{"tricare", ""}},
		{name: "no payer: missing-coverage instead", segs: []string{"IMP 2026-03-02T10:00"}},
		{name: "a visit: no stay, no finding", payer: &facts.Payer{Display: "tricare"}, segs: []string{"AMB 2026-03-02T10:00 2026-03-02T11:00"}},
		{name: "switched off with missing_coverage", payer: &facts.Payer{Display: "tricare"}, segs: []string{"IMP 2026-03-02T10:00"}, noSwitch: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := enStay(t, "s1", tt.segs...)
			e.Payer = tt.payer
			s := src
			if tt.noSwitch {
				d := *def
				d.Checks.MissingCoverage.Enabled = false
				s.def = &d
			}
			got := enReview(payerRun(t, "2026-03-03T09:00", s), enPatient(e), CheckPayerNotConfigured)
			if !tt.want {
				if len(got) != 0 {
					t.Fatalf("got %d findings, want none: %+v", len(got), got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("got %d findings, want 1 per stay", len(got))
			}
			f := got[0]
			enCheckShape(t, f)
			if f.Owner != PatientAccessTeam || f.Priority != Routine || f.Status != StatusDataGap || f.Episode != stayKey(e) {
				t.Errorf("owner %s priority %s status %s episode %s", f.Owner, f.Priority, f.Status, f.Episode)
			}
			enWantDue(t, f, enAt(t, "2026-03-03T23:59:59"))
			if got := evidenceString(f, evPayer); got != tt.wantEv[0] {
				t.Errorf("payer evidence %q, want %q", got, tt.wantEv[0])
			}
			if got := evidenceString(f, evPayerIdentifier); got != tt.wantEv[1] {
				t.Errorf("payer-identifier evidence %q, want %q", got, tt.wantEv[1])
			}
			if got := evidenceString(f, evRuleSet); got != "test-commercial@2" || f.RuleSet != s.def {
				t.Errorf("rule-set evidence %q, want the default applied", got)
			}
			if !strings.Contains(f.Description, `"`+tt.wantEv[0]+`"`) || !strings.Contains(f.Description, "Default commercial") {
				t.Errorf("description %q does not name the payer and the default rules", f.Description)
			}
		})
	}
}

// TestMedicareNoticesFollowTheBeneficiary (issue 7 point 10): the Important
// Message (42 CFR 405.1205(b)) and the MOON (42 CFR 489.20(y)) are owed to
// every Medicare beneficiary, whether Medicare (fee-for-service or
// Advantage) is the stay's primary payer or a secondary coverage; the
// Medicare rule set's settings apply and the evidence names the coverage.
func TestMedicareNoticesFollowTheBeneficiary(t *testing.T) {
	t.Parallel()
	commercial := enCommercial(t, false)
	commercial.Checks.ImportantMessage = rules.ImportantMessage{} // a commercial plan asks for neither notice
	commercial.Checks.Observation.MOON = false
	ma := enMedicare()
	ma.ID, ma.Program = "test-ma", rules.MedicareAdvantage
	ma.Checks.Observation.Classes = nil
	medicaid := enCommercial(t, false)
	medicaid.ID, medicaid.Program = "test-medicaid", rules.Medicaid
	ffs := enMedicare()
	ffs.Checks.Observation.Classes = nil
	src := payerRules{byLabel: map[string]*rules.RuleSet{
		"Example Health Plan": commercial, "medicare": ffs, "Example Medicare Advantage": ma, "medicaid": medicaid,
	}, def: commercial}
	mcr := &facts.Payer{Display: "medicare"}
	maPlan := &facts.Payer{OrganizationRef: "Organization/ma", Name: "Example Medicare Advantage"}
	tests := []struct {
		name      string
		coverages []*facts.Payer // the stay's payer first
		wantRS    string         // rule set of the notices; "" for none
		wantCov   string         // medicare-coverage evidence
	}{
		{"Medicare FFS primary", []*facts.Payer{mcr}, "test-medicare@1", ""},
		{"commercial primary, Medicare FFS secondary", []*facts.Payer{enPayerOrg, mcr}, "test-medicare@1", "medicare"},
		{"commercial primary, Medicare Advantage secondary", []*facts.Payer{enPayerOrg, maPlan}, "test-ma@1", "Example Medicare Advantage"},
		{"Medicaid primary, Medicare secondary (dual eligible)", []*facts.Payer{{Display: "medicaid"}, mcr}, "test-medicare@1", "medicare"},
		{"commercial only", []*facts.Payer{enPayerOrg}, "", ""},
		{"commercial and Medicaid", []*facts.Payer{enPayerOrg, {Display: "medicaid"}}, "", ""},
		{"secondary payer matching no rule set", []*facts.Payer{enPayerOrg, {Display: "medicare supplement x"}}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ip := enStay(t, "ip", "IMP 2026-03-02T10:00")
			obs := enStay(t, "obs", "OBSENC 2026-03-02T10:00")
			for _, e := range []*facts.Encounter{ip, obs} {
				e.Payer, e.Coverages = tt.coverages[0], tt.coverages
			}
			r := payerRun(t, "2026-03-03T12:00", src) // 26 hours of observation
			for _, c := range []struct {
				check string
				e     *facts.Encounter
			}{{CheckImportantMessage, ip}, {CheckObservationMOON, obs}} {
				got := enReview(r, enPatient(c.e), c.check)
				if tt.wantRS == "" {
					if len(got) != 0 {
						t.Errorf("%s: got %d findings, want none for a patient without Medicare", c.check, len(got))
					}
					continue
				}
				if len(got) != 1 {
					t.Fatalf("%s: got %d findings, want 1", c.check, len(got))
				}
				f := got[0]
				enCheckShape(t, f)
				if ev := evidenceString(f, evRuleSet); ev != tt.wantRS || f.RuleSet == nil || f.RuleSet.Key() != tt.wantRS {
					t.Errorf("%s: rule set %q, want %s", c.check, ev, tt.wantRS)
				}
				if ev := evidenceString(f, evMedicareCoverage); ev != tt.wantCov {
					t.Errorf("%s: medicare-coverage %q, want %q", c.check, ev, tt.wantCov)
				}
				if tt.wantCov != "" && !strings.Contains(f.Description, `Medicare coverage "`+tt.wantCov+`"`) {
					t.Errorf("%s: description %q does not name the secondary Medicare coverage", c.check, f.Description)
				}
			}
		})
	}
}

// TestPriorAuthRetroactive (issue 7 point 11): a requirement found after
// the date of service. Medicare FFS does not authorize retroactively (42
// CFR 419.82): the finding goes to billing with no request to the payer. A
// payer whose rule data allows it gets a retroactive request, within its
// days.
func TestPriorAuthRetroactive(t *testing.T) {
	t.Parallel()
	retro := func(days int) *rules.RuleSet {
		rs := clMedicareRules()
		rs.ID, rs.Name, rs.Program = "acme", "Acme Health", rules.Commercial
		rs.Checks.PriorAuth.Retroactive, rs.Checks.PriorAuth.RetroactiveDays = true, days
		return rs
	}
	tests := []struct {
		name      string
		rs        *rules.RuleSet
		asOf      string
		wantOwner Owner
		wantComm  string // payload prefix; "" for no CommunicationRequest
		wantDue   time.Time
		wantText  string
	}{
		{"Medicare FFS, before the service: ask the payer", clMedicareRules(), "2025-03-03T09:00", URTeam, "Request for prior authorization:", clDay("2025-03-04"), ""},
		{"Medicare FFS, on the day of service: still ask", clMedicareRules(), "2025-03-04T09:00", URTeam, "Request for prior authorization:", clDay("2025-03-04"), ""},
		{"Medicare FFS, after the service: billing, no request", clMedicareRules(), "2025-03-05T09:00", BillingTeam, "",
			clAt("2025-03-03T00:00").Add(-time.Second), "does not authorize retroactively (42 CFR 419.82"},
		{"retroactive payer within its 14 days: retroactive request", retro(14), "2025-03-18T09:00", URTeam, "Request for retroactive prior authorization:", clDay("2025-03-04"), ""},
		{"retroactive payer past its 14 days: billing", retro(14), "2025-03-19T09:00", BillingTeam, "", clAt("2025-03-03T00:00").Add(-time.Second),
			"does not authorize retroactively beyond 14 days after the service"},
		{"retroactive payer without a limit", retro(0), "2026-01-19T09:00", URTeam, "Request for retroactive prior authorization:", clDay("2025-03-04"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := clClaim("c", "2025-03-01T10:00", clLine(2, "64612", "2025-03-04", 1))
			c.Payer = clMedicare
			got := clFindings(clRun(tt.asOf, clSource(tt.rs)), clPatient(nil, c), CheckPriorAuthRequired)
			if len(got) != 1 {
				t.Fatalf("got %d findings, want 1", len(got))
			}
			f := got[0]
			clCommon(t, f, c)
			if f.Owner != tt.wantOwner || f.Priority != Urgent {
				t.Errorf("owner %s priority %s, want %s urgent", f.Owner, f.Priority, tt.wantOwner)
			}
			if !f.Due.Equal(tt.wantDue) {
				t.Errorf("due %v, want %v", f.Due, tt.wantDue)
			}
			if tt.wantComm == "" {
				if f.Communication != nil {
					t.Errorf("communication %+v, want none: the payer cannot authorize now", f.Communication)
				}
				if !strings.Contains(f.Description, tt.wantText) || !strings.Contains(f.Description, "do not bill this claim without review") {
					t.Errorf("description %q, want %q and the billing hold", f.Description, tt.wantText)
				}
			} else if f.Communication == nil || !strings.HasPrefix(f.Communication.Payload, tt.wantComm) {
				t.Errorf("communication %+v, want payload %q", f.Communication, tt.wantComm)
			}
			ev := clEvidence(f, EvRetroactiveAuth)
			if len(ev) != 1 || ev[0].Bool == nil || *ev[0].Bool != tt.rs.Checks.PriorAuth.Retroactive {
				t.Errorf("retroactive-authorization evidence %+v, want %v", ev, tt.rs.Checks.PriorAuth.Retroactive)
			}
		})
	}
}

// TestUnmatchedPayers: the summary's count of payers matching no rule set,
// per payer as the input names it, over stays and claims.
func TestUnmatchedPayers(t *testing.T) {
	t.Parallel()
	src := payerRules{byLabel: map[string]*rules.RuleSet{"medicare": enMedicare()}, def: enCommercial(t, false)}
	e1 := enStay(t, "a", "IMP 2026-03-02T10:00")
	e1.Payer = &facts.Payer{Display: "tricare"}
	e2 := enStay(t, "b", "AMB 2026-03-05T10:00 2026-03-05T11:00")
	e2.Payer = &facts.Payer{Display: "medicare"}
	e3 := enStay(t, "c", "AMB 2026-03-06T10:00 2026-03-06T11:00")
	e3.Payer = nil
	p := enPatient(e1, e2, e3)
	c := clClaim("x", "2026-03-07T10:00", clLine(1, "99213", "2026-03-06", 1))
	c.Payer = &facts.Payer{Name: "Unlisted Health"}
	c2 := clClaim("y", "2026-03-07T10:00", clLine(1, "99213", "2026-03-02", 1))
	c2.Payer = &facts.Payer{Display: "tricare"}
	p.Claims = []*facts.Claim{c, c2}
	counts := map[string]int{}
	NewEngine(Config{Location: enLoc(t)}, src).UnmatchedPayers(p, counts)
	if len(counts) != 2 || counts["tricare"] != 2 || counts["Unlisted Health"] != 1 {
		t.Errorf("got %v, want tricare 2 (a stay and a claim), Unlisted Health 1", counts)
	}
}
