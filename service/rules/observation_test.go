package rules

import (
	"strings"
	"testing"
)

// checks.observation.max_hours_lead_hours: how long before max_hours the
// observation-48h escalation is raised (default 4: at hour 44, due at 48).
func TestObservationMaxHoursLead(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		yaml     string
		want     int // MaxHoursLead; -1 for a validation error
		inReason string
	}{
		{"absent: 4", "", 4, ""},
		{"zero", ", max_hours_lead_hours: 0", 0, ""},
		{"eight", ", max_hours_lead_hours: 8", 8, ""},
		{"negative", ", max_hours_lead_hours: -1", -1, "must be >= 0 and below max_hours 48"},
		{"not below max_hours", ", max_hours_lead_hours: 48", -1, "must be >= 0 and below max_hours 48"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rs := edit(baseRuleSet, "  timely_filing:", "  observation: {enabled: true, max_hours: 48"+tt.yaml+"}\n  timely_filing:")
			reg, errs := loadTest(t, map[string]string{"a.yaml": rs})
			if tt.want < 0 {
				if len(errs) != 1 || errs[0].Field != "checks.observation.max_hours_lead_hours" || !strings.Contains(errs[0].Reason, tt.inReason) {
					t.Fatalf("errors %v, want one on checks.observation.max_hours_lead_hours", errs)
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
			if lead := got.Checks.Observation.MaxHoursLead(); lead != tt.want {
				t.Errorf("lead %d, want %d", lead, tt.want)
			}
		})
	}
}
