package checks

import (
	"testing"
	"time"

	"github.com/utilreview/utilreview/service/facts"
	"github.com/utilreview/utilreview/service/rules"
)

func TestMUEExceeded(t *testing.T) {
	t.Parallel()
	// Synthetic MUE rows (see clMedicareRules): 97110 4/line (1),
	// J1100 10/day (3), 64612 1/day (2), A0001 0/line (1).
	type want struct {
		episode string
		lines   []int
		units   float64
	}
	tests := []struct {
		name  string
		lines []facts.Line
		want  []want
	}{
		{"per line: above", []facts.Line{clLine(1, "97110", "2025-03-04", 5)},
			[]want{{"97110|2025-03-04|line-1", []int{1}, 5}}},
		{"per line: exactly the MUE", []facts.Line{clLine(1, "97110", "2025-03-04", 4)}, nil},
		{"per line: two lines each within the MUE, sum above", []facts.Line{clLine(1, "97110", "2025-03-04", 3), clLine(2, "97110", "2025-03-04", 3)}, nil},
		{"per line: each line judged alone", []facts.Line{clLine(1, "97110", "2025-03-04", 5), clLine(2, "97110", "2025-03-04", 6)},
			[]want{{"97110|2025-03-04|line-1", []int{1}, 5}, {"97110|2025-03-04|line-2", []int{2}, 6}}},
		{"per day (clinical): summed over lines", []facts.Line{clLine(1, "J1100", "2025-03-04", 6), clLine(2, "99213", "2025-03-04", 1), clLine(3, "J1100", "2025-03-04", 5)},
			[]want{{"J1100|2025-03-04", []int{1, 3}, 11}}},
		{"per day: sum exactly the MUE", []facts.Line{clLine(1, "J1100", "2025-03-04", 6), clLine(2, "J1100", "2025-03-04", 4)}, nil},
		{"per day: different days are separate", []facts.Line{clLine(1, "J1100", "2025-03-04", 6), clLine(2, "J1100", "2025-03-05", 5)}, nil},
		{"per day (policy): two single units", []facts.Line{clLine(1, "64612", "2025-03-04", 1), clLine(2, "64612", "2025-03-04", 1)},
			[]want{{"64612|2025-03-04", []int{1, 2}, 2}}},
		{"lower-case HCPCS code", []facts.Line{clLine(1, "j1100", "2025-03-04", 11)},
			[]want{{"J1100|2025-03-04", []int{1}, 11}}},
		{"MUE of zero", []facts.Line{clLine(1, "A0001", "2025-03-04", 1)},
			[]want{{"A0001|2025-03-04|line-1", []int{1}, 1}}},
		{"code not in the table", []facts.Line{clLine(1, "99999", "2025-03-04", 50)}, nil},
		{"non-billing code system", []facts.Line{{Sequence: 1, Codes: []facts.Code{{System: rules.SystemSNOMED, Code: "97110"}}, Units: 50, ServiceStart: clDay("2025-03-04")}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := clClaim("c", "2025-03-05T10:00", tt.lines...)
			got := clFindings(clRun("2025-03-06T09:00", clSource(clMedicareRules())), clPatient(nil, c), CheckMUEExceeded)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d findings, want %d", len(got), len(tt.want))
			}
			for i, w := range tt.want {
				f := got[i]
				clCommon(t, f, c)
				if f.Episode != w.episode {
					t.Errorf("finding %d: episode %q, want %q", i, f.Episode, w.episode)
				}
				var lines []int
				for _, e := range clEvidence(f, EvClaimLine) {
					lines = append(lines, *e.Int)
				}
				if !equalInts(lines, w.lines) {
					t.Errorf("finding %d: lines %v, want %v", i, lines, w.lines)
				}
				if u := clEvidence(f, EvUnitsBilled); len(u) != 1 || *u[0].Decimal != w.units {
					t.Errorf("finding %d: units evidence %v, want %v", i, u, w.units)
				}
				// The correction is due by the end of the day after the claim's creation.
				if !f.Due.Equal(endOfDay(c.Created, 1, clLoc)) || f.Priority != Routine || f.Owner != BillingTeam || !notYetDue(f.Status) {
					t.Errorf("finding %d: due %v priority %s owner %s status %s", i, f.Due, f.Priority, f.Owner, f.Status)
				}
			}
		})
	}
}

func TestMUEDescriptionAndDue(t *testing.T) {
	t.Parallel()
	c := clClaim("c", "2025-03-05T10:00", clLine(1, "J1100", "2025-03-04", 6), clLine(3, "J1100", "2025-03-04", 5))
	got := clFindings(clRun("2025-03-06T09:00", clSource(clMedicareRules())), clPatient(nil, c), CheckMUEExceeded)
	if len(got) != 1 {
		t.Fatalf("got %d findings, want 1", len(got))
	}
	want := "Lines 1 and 3 bill together 11 units of HCPCS J1100 on 2025-03-04; the Medically Unlikely Edit allows 10 per date of service (adjudication indicator 3), rationale: synthetic. Correct the units or document the medical necessity of the extra units."
	if got[0].Description != want {
		t.Errorf("description\n got %q\nwant %q", got[0].Description, want)
	}
	// Billing edits are worked before the claim goes out: due by the end of
	// the day after the claim's creation.
	wantDue := time.Date(2025, 3, 6, 23, 59, 59, 0, clLoc)
	if !got[0].Due.Equal(wantDue) || !notYetDue(got[0].Status) {
		t.Errorf("due %v %s, want %v, not yet overdue (the day after the claim's creation)", got[0].Due, got[0].Status, wantDue)
	}

	// Without a filing limit: the same.
	rs := clMedicareRules()
	rs.Checks.TimelyFiling = rules.TimelyFiling{}
	got = clFindings(clRun("2025-03-07T09:00", clSource(rs)), clPatient(nil, c), CheckMUEExceeded)
	if len(got) != 1 || !got[0].Due.Equal(wantDue) || got[0].Status != StatusOverdue {
		t.Errorf("without filing limit: got %+v, want due %v overdue", got, wantDue)
	}

	// Never later than the filing deadline: a claim created on its last day.
	rs = clMedicareRules()
	rs.Checks.TimelyFiling = rules.TimelyFiling{Enabled: true, LimitDays: 1, WarningDays: 0}
	got = clFindings(clRun("2025-03-05T11:00", clSource(rs)), clPatient(nil, c), CheckMUEExceeded)
	if deadline := time.Date(2025, 3, 5, 23, 59, 59, 0, clLoc); len(got) != 1 || !got[0].Due.Equal(deadline) {
		t.Errorf("filing deadline first: got %+v, want due %v", got, deadline)
	}
}

func TestMUESwitches(t *testing.T) {
	t.Parallel()
	c := clClaim("c", "2025-03-05T10:00", clLine(1, "97110", "2025-03-04", 9))
	for name, mut := range map[string]func(*rules.RuleSet){
		"switch off": func(rs *rules.RuleSet) { rs.Checks.MUE.Enabled = false },
		"no table":   nil,
	} {
		rs := clMedicareRules()
		if mut != nil {
			mut(rs)
		} else {
			rs = &rules.RuleSet{ID: rs.ID, Checks: rs.Checks} // nothing resolved
		}
		if got := clFindings(clRun("2025-03-06T09:00", clSource(rs)), clPatient(nil, c), CheckMUEExceeded); len(got) != 0 {
			t.Errorf("%s: got %d findings, want 0", name, len(got))
		}
	}
}

// notYetDue reports whether a business status says the deadline has not
// passed (awaiting review, or due within the next 24 h).
func notYetDue(status string) bool { return status == StatusAwaitingReview || status == "due-soon" }
