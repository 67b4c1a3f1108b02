package rules

import (
	"strings"
	"testing"

	"github.com/utilreview/utilreview/service/facts"
)

// The payment-window exclusions are rule data (SSA §1886(a)(4) excludes
// ambulance services and maintenance dialysis from the window; Medicare
// Claims Processing Manual ch. 3, §40.3): every malformed code or range is
// reported, with its field.
func TestValidatePaymentWindowExclusions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		yaml     string
		field    string // "" for a valid rule set
		inReason string
	}{
		{"valid", `{name: ambulance, hcpcs: ["A0021-A0999", A0425], revenue: ["054x", "0881", "082x-085x"]}`, "", ""},
		{"no name", `{hcpcs: ["A0021-A0999"]}`, "checks.payment_window.exclusions[0].name", "must be set"},
		{"no codes", `{name: ambulance}`, "checks.payment_window.exclusions[0]", "needs hcpcs or revenue codes"},
		{"range out of order", `{name: x, hcpcs: ["A0999-A0021"]}`, "checks.payment_window.exclusions[0].hcpcs[0]", "not a HCPCS/CPT code"},
		{"range across letters", `{name: x, hcpcs: ["A0021-B0999"]}`, "checks.payment_window.exclusions[0].hcpcs[0]", "same kind"},
		{"short code", `{name: x, hcpcs: ["A021"]}`, "checks.payment_window.exclusions[0].hcpcs[0]", "not a HCPCS/CPT code"},
		{"revenue with a digit after x", `{name: x, revenue: ["08x1"]}`, "checks.payment_window.exclusions[0].revenue[0]", "not a revenue code"},
		{"revenue three digits", `{name: x, revenue: ["054"]}`, "checks.payment_window.exclusions[0].revenue[0]", "not a revenue code"},
		{"revenue range out of order", `{name: x, revenue: ["085x-082x"]}`, "checks.payment_window.exclusions[0].revenue[0]", "in order"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rs := edit(baseRuleSet, "  timely_filing:", "  payment_window: {enabled: true, days: 3, exclusions: ["+tt.yaml+"]}\n  timely_filing:")
			_, errs := loadTest(t, map[string]string{"a.yaml": rs})
			if tt.field == "" {
				if len(errs) != 0 {
					t.Fatalf("errors %v, want none", errs)
				}
				return
			}
			if len(errs) != 1 || errs[0].Field != tt.field || !strings.Contains(errs[0].Reason, tt.inReason) {
				t.Fatalf("errors %v, want one on %s containing %q", errs, tt.field, tt.inReason)
			}
		})
	}
}

func TestPaymentWindowExcluded(t *testing.T) {
	t.Parallel()
	pw := PaymentWindow{Enabled: true, Days: 3, Exclusions: []WindowExclusion{
		{Name: "ambulance", HCPCS: []string{"A0021-A0999"}, Revenue: []string{"054x"}},
		{Name: "dialysis", Revenue: []string{"082x-085x", "088x"}},
	}}
	line := func(sys, code, rev string) *facts.Line {
		l := &facts.Line{Codes: []facts.Code{{System: sys, Code: code}}}
		if rev != "" {
			l.Revenue = []facts.Code{{Code: rev}}
		}
		return l
	}
	tests := []struct {
		l    *facts.Line
		want string
	}{
		{line("hcpcs", "A0427", ""), "ambulance"},
		{line(SystemHCPCS, " a0021 ", ""), "ambulance"},
		{line("hcpcs", "A0999", ""), "ambulance"},
		{line("hcpcs", "A0020", ""), ""},
		{line("hcpcs", "A1000", ""), ""},
		{line("http://snomed.info/sct", "A0427", ""), ""}, // not a HCPCS coding
		{line("cpt", "80053", "0540"), "ambulance"},
		{line("cpt", "80053", "549"), "ambulance"},
		{line("cpt", "80053", "0550"), ""},
		{line("cpt", "90999", "0820"), "dialysis"},
		{line("cpt", "90999", "0859"), "dialysis"},
		{line("cpt", "90999", "0860"), ""},
		{line("cpt", "90999", "0889"), "dialysis"},
		{line("cpt", "90999", "08a1"), ""},
	}
	for _, tt := range tests {
		x, ok := pw.Excluded(tt.l)
		got := ""
		if ok {
			got = x.Name
		}
		if got != tt.want {
			t.Errorf("line %v revenue %v: excluded as %q, want %q", tt.l.Codes, tt.l.Revenue, got, tt.want)
		}
	}
}
