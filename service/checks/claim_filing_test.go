package checks

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/utilreview/utilreview/service/facts"
	"github.com/utilreview/utilreview/service/rules"
)

func TestTimelyFiling(t *testing.T) {
	t.Parallel()
	// Limit 365 days, warning 30 days (clMedicareRules). Through date
	// 2024-03-04 gives the deadline 2025-03-04 23:59:59 in New York.
	deadline := time.Date(2025, 3, 4, 23, 59, 59, 0, clLoc)
	byBillable := func(end string) func(*facts.Claim) {
		return func(c *facts.Claim) { c.BillableStart, c.BillableEnd = clAt("2024-03-01T08:00"), clAt(end) }
	}
	tests := []struct {
		name       string
		mut        func(*facts.Claim)
		asOf       string
		wantDue    time.Time // zero: no finding
		wantStatus string
		wantText   string
	}{
		{"31 days ahead: outside the warning lead", byBillable("2024-03-04T17:00"), "2025-02-01T12:00", time.Time{}, "", ""},
		{"exactly 30 days ahead: warned", byBillable("2024-03-04T17:00"), "2025-02-02T00:00", deadline, StatusAwaitingReview, "the filing deadline is 2025-03-04 and no acceptance"},
		{"on the limit day", byBillable("2024-03-04T17:00"), "2025-03-04T23:59", deadline, StatusDueSoon, "is today"}, // due within 24 h,
		{"the day after: overdue", byBillable("2024-03-04T17:00"), "2025-03-05T00:00", deadline, StatusOverdue, "has passed"},
		{"accepted by the payer", func(c *facts.Claim) {
			byBillable("2024-03-04T17:00")(c)
			c.Accepted = true
		}, "2025-03-05T00:00", time.Time{}, "", ""},
		{"through date written in UTC counts in the facility zone", func(c *facts.Claim) {
			c.BillableEnd = time.Date(2024, 3, 5, 2, 0, 0, 0, time.UTC) // 2024-03-04 21:00 in New York
		}, "2025-03-04T12:00", deadline, StatusDueSoon, "2024-03-04"},
		{"billable end wins over line dates", func(c *facts.Claim) {
			c.BillableEnd = clAt("2024-03-10T10:00")
			c.Lines = []facts.Line{clLine(1, "99213", "2024-03-04", 1)}
		}, "2025-03-05T00:00", time.Date(2025, 3, 10, 23, 59, 59, 0, clLoc), StatusAwaitingReview, "2024-03-10"},
		{"no billable end: the latest line end", func(c *facts.Claim) {
			l1, l2 := clLine(1, "99213", "2024-03-01", 1), clLine(2, "99213", "2024-02-20", 1)
			l2.ServiceEnd = clDay("2024-03-04")
			c.Lines = []facts.Line{l1, l2}
		}, "2025-03-05T00:00", deadline, StatusOverdue, "2024-03-04"},
		{"preauthorization request ignored", func(c *facts.Claim) {
			byBillable("2024-03-04T17:00")(c)
			c.Use = "preauthorization"
		}, "2025-03-05T00:00", time.Time{}, "", ""},
		{"draft claim not yet sent: warned", func(c *facts.Claim) {
			byBillable("2024-03-04T17:00")(c)
			c.Status = "draft"
		}, "2025-03-01T00:00", deadline, StatusAwaitingReview, "the filing deadline is 2025-03-04 and no acceptance"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := clClaim("c", "2024-03-06T10:00")
			tt.mut(c)
			got := clFindings(clRun(tt.asOf, clSource(clMedicareRules())), clPatient(nil, c), CheckTimelyFiling)
			if tt.wantDue.IsZero() {
				if len(got) != 0 {
					t.Fatalf("got %d findings, want none: %s", len(got), got[0].Description)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("got %d findings, want 1", len(got))
			}
			f := got[0]
			clCommon(t, f, c)
			if !f.Due.Equal(tt.wantDue) || f.Status != tt.wantStatus {
				t.Errorf("due %v status %s, want %v %s", f.Due, f.Status, tt.wantDue, tt.wantStatus)
			}
			if !strings.Contains(f.Description, tt.wantText) {
				t.Errorf("description %q lacks %q", f.Description, tt.wantText)
			}
			if d := clEvidence(f, EvFilingDeadline); len(d) != 1 || d[0].Date == nil || !d[0].Date.Equal(StartOfDay(tt.wantDue, clLoc)) {
				t.Errorf("filing-deadline evidence %v, want %v", d, tt.wantDue)
			}
			if f.Priority != Urgent || f.Owner != BillingTeam || f.Episode != c.Key {
				t.Errorf("priority %s owner %s episode %q", f.Priority, f.Owner, f.Episode)
			}
		})
	}
}

func TestTimelyFilingDataGapAndSwitches(t *testing.T) {
	t.Parallel()
	undated := clClaim("c", "2024-03-06T10:00", clLine(1, "99213", "", 1))
	got := clFindings(clRun("2025-03-05T00:00", clSource(clMedicareRules())), clPatient(nil, undated), CheckTimelyFiling)
	if len(got) != 1 || got[0].Status != StatusDataGap || !got[0].Due.Equal(undated.Created) || len(clEvidence(got[0], EvMissingData)) != 1 {
		t.Fatalf("undated claim: got %+v, want one data-gap finding due at creation", got)
	}
	clCheckEvidence(t, got[0])

	dated := clClaim("c", "2024-03-06T10:00", clLine(1, "99213", "2024-03-04", 1))
	for name, mut := range map[string]func(*rules.RuleSet){
		"switch off":   func(rs *rules.RuleSet) { rs.Checks.TimelyFiling.Enabled = false },
		"no limit":     func(rs *rules.RuleSet) { rs.Checks.TimelyFiling.LimitDays = 0 },
		"longer limit": func(rs *rules.RuleSet) { rs.Checks.TimelyFiling.LimitDays = 730 },
	} {
		rs := clMedicareRules()
		mut(rs)
		if got := clFindings(clRun("2025-03-05T00:00", clSource(rs)), clPatient(nil, dated), CheckTimelyFiling); len(got) != 0 {
			t.Errorf("%s: got %d findings, want 0", name, len(got))
		}
	}
	// A commercial payer's 90-day limit with 0 days warning: only once passed.
	rs := clMedicareRules()
	rs.Checks.TimelyFiling = rules.TimelyFiling{Enabled: true, LimitDays: 90, WarningDays: 0}
	for asOf, want := range map[string]int{"2024-06-01T23:00": 0, "2024-06-02T08:00": 1, "2024-06-03T00:00": 1} {
		// 2024-03-04 + 90 days = 2024-06-02.
		if got := clFindings(clRun(asOf, clSource(rs)), clPatient(nil, dated), CheckTimelyFiling); len(got) != want {
			t.Errorf("90-day limit as of %s: got %d findings, want %d", asOf, len(got), want)
		}
	}
}

// "1 calendar year" is 12 months: across 29 February 365 days end a day
// early (42 CFR 424.44).
func TestTimelyFilingCalendarMonths(t *testing.T) {
	t.Parallel()
	rs := clMedicareRules()
	rs.Checks.TimelyFiling = rules.TimelyFiling{Enabled: true, LimitMonths: 12, WarningDays: 30}
	for _, tt := range []struct{ through, want string }{
		{"2024-02-28", "2025-02-28"}, // 365 days would give 2025-02-27
		{"2024-02-29", "2025-02-28"}, // no 29 February in 2025
		{"2023-03-01", "2024-03-01"}, // 365 days would give 2024-02-29
		{"2025-06-15", "2026-06-15"},
	} {
		c := clClaim("c", tt.through+"T10:00")
		c.BillableStart, c.BillableEnd = clAt(tt.through+"T08:00"), clAt(tt.through+"T17:00")
		want := clDay(tt.want).AddDate(0, 0, 1).Add(-time.Second)
		got := clFindings(clRun(tt.want+"T12:00", clSource(rs)), clPatient(nil, c), CheckTimelyFiling)
		if len(got) != 1 || !got[0].Due.Equal(want) {
			t.Errorf("through %s: findings %v, want one due %v", tt.through, got, want)
			continue
		}
		if !strings.Contains(got[0].Description, "12 months") || len(clEvidence(got[0], EvFilingLimitMonths)) != 1 {
			t.Errorf("through %s: description %q / evidence lacks the 12-month limit", tt.through, got[0].Description)
		}
	}
}

// Within the warning lead the finding does not change from one day to the
// next: it cites the deadline's date, not the days left (the live service
// rewrites a Task whose description or evidence changes).
func TestTimelyFilingStableWithinLead(t *testing.T) {
	t.Parallel()
	review := func(asOf string) []Finding {
		c := clClaim("c", "2024-03-06T10:00")
		c.BillableStart, c.BillableEnd = clAt("2024-03-04T09:00"), clAt("2024-03-04T17:00")
		rs := clMedicareRules()
		rs.Checks.TimelyFiling = rules.TimelyFiling{Enabled: true, LimitMonths: 12, WarningDays: 30}
		return clFindings(clRun(asOf, clSource(rs)), clPatient(nil, c), CheckTimelyFiling)
	}
	a, b := review("2025-02-10T09:00"), review("2025-02-11T09:00")
	if len(a) != 1 || !reflect.DeepEqual(a, b) {
		t.Fatalf("findings a day apart within the lead differ:\n%+v\n%+v", a, b)
	}
}
