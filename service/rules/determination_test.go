package rules

import (
	"strings"
	"testing"
)

// checks.determination: the windows that run from a UR clinician's
// determination, with their documented defaults (appeal 60 days,
// peer-to-peer 14, pended 1 business day, a reviewer 1 business day) and
// the Medicaid written notice in working days (42 CFR 456.126; 456.136-137).
func TestDeterminationRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		yaml        string
		appeal, p2p int
		pended      int
		notice      int    // working days; 0 off
		field       string // the one validation error expected
	}{
		{"absent: the defaults", "", 60, 14, 1, 0, ""},
		{"Medicare FFS: 120, no peer-to-peer", "  determination: {appeal_days: 120, peer_to_peer_days: 0}\n", 120, 0, 1, 0, ""},
		{"pended", "  determination: {pended_business_days: 3}\n", 60, 14, 3, 0, ""},
		{"notice", "  determination: {adverse_notice: {enabled: true, working_days: 2, admission_source: 42 CFR 456.126}}\n", 60, 14, 1, 2, ""},
		{"negative appeal", "  determination: {appeal_days: -1}\n", 0, 0, 0, 0, "checks.determination.appeal_days"},
		{"zero pended", "  determination: {pended_business_days: 0}\n", 0, 0, 0, 0, "checks.determination.pended_business_days"},
		{"notice without days", "  determination: {adverse_notice: {enabled: true}}\n", 0, 0, 0, 0, "checks.determination.adverse_notice.working_days"},
		{"unknown field", "  determination: {appeal_dayz: 3}\n", 0, 0, 0, 0, "checks.determination.appeal_dayz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rs := edit(baseRuleSet, "  timely_filing:", tt.yaml+"  timely_filing:")
			reg, errs := loadTest(t, map[string]string{"a.yaml": rs})
			if tt.field != "" {
				if len(errs) != 1 || !strings.HasPrefix(errs[0].Field, tt.field) {
					t.Fatalf("errors %v, want one on %s", errs, tt.field)
				}
				return
			}
			if len(errs) != 0 {
				t.Fatalf("errors %v", errs)
			}
			got, ok := reg.ByID("test-payer", day("2025-06-01"))
			if !ok {
				t.Fatal("rule set not loaded")
			}
			d := got.Checks.Determination
			if d.Appeal() != tt.appeal || d.PeerToPeer() != tt.p2p || d.Pended() != tt.pended {
				t.Errorf("appeal %d p2p %d pended %d, want %d %d %d", d.Appeal(), d.PeerToPeer(), d.Pended(), tt.appeal, tt.p2p, tt.pended)
			}
			if n := d.AdverseNotice; (tt.notice > 0) != n.Enabled || n.WorkingDays != tt.notice {
				t.Errorf("adverse notice %+v, want %d working days", n, tt.notice)
			}
		})
	}
}
