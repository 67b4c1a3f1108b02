package checks

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/utilreview/utilreview/service/facts"
	"github.com/utilreview/utilreview/service/rules"
)

func TestClaimBeforeDetermination(t *testing.T) {
	t.Parallel()
	const sys = "https://utilreview.example/task-id" // clRun's Config.IdentifierSystem
	ours := []facts.Identifier{{System: sys, Value: "two-midnight|Encounter/s|Encounter/s"}}
	task := func(status string, code string, mut func(*facts.Task)) *facts.Task {
		t := &facts.Task{Ref: "Task/t1", Identifiers: ours, Status: status, Focus: "Encounter/s"}
		if code != "" {
			t.Codes = []facts.Code{{System: "https://utilreview.example/CodeSystem/checks", Code: code}}
		}
		if mut != nil {
			mut(t)
		}
		return t
	}
	tests := []struct {
		name     string
		mutClaim func(*facts.Claim)
		raised   []string // checks this run raised for the stay
		tasks    []*facts.Task
		dueLater bool // the raised findings are due after the review time (raised ahead of their event)
		want     bool
		wantText string
	}{
		// Issue 7 point 8: only open reviews that can change the claim hold it: the admission status
		// (42 CFR 412.3(d) two-midnight, the admission review, 42 CFR 482.30(d) Condition Code 44), the
		// observation-to-inpatient decision, prior authorization.
		{"open two-midnight review raised this run", nil, []string{"two-midnight"}, nil, false, true, "two-midnight"},
		{"open admission review raised this run", nil, []string{"admission-review"}, nil, false, true, "admission-review"},
		{"admission review due later still holds: the status can change", nil, []string{"admission-review"}, nil, true, true, "admission-review"},
		{"open Condition Code 44 review", nil, []string{"condition-code-44"}, nil, false, true, "condition-code-44"},
		{"observation past its second midnight", nil, []string{"observation-second-midnight"}, nil, false, true, "observation-second-midnight"},
		{"observation beyond 48 hours", nil, []string{"observation-48h"}, nil, false, true, "observation-48h"},
		{"observation before its second midnight: not yet due", nil, []string{"observation-second-midnight"}, nil, true, false, ""},
		{"open prior-authorization Task", nil, nil, []*facts.Task{task("requested", "prior-auth-required", nil)}, false, true, "prior-auth-required"},
		// Not the SNF 3-day rule (42 CFR 409.30: the SNF's coverage), not length of stay or continued stay
		// (no IPPS DRG payment change), not a readmission.
		{"SNF 3-day rule does not hold the hospital's claim", nil, []string{"snf-three-day"}, nil, false, false, ""},
		{"length of stay past GMLOS does not hold it", nil, []string{"los-exceeds-gmlos", "continued-stay-review", "readmission-30d"}, nil, false, false, ""},
		{"only informational findings raised", nil, []string{"admission-notification", "important-message", "missing-coverage", "stale-encounter"}, nil, false, false, ""},
		{"open continued-stay Task in the input does not hold it", nil, nil, []*facts.Task{task("in-progress", "continued-stay-review", nil)}, false, false, ""},
		{"open admission-review Task in the input", nil, nil, []*facts.Task{task("in-progress", "admission-review", nil)}, false, true, "admission-review"},
		{"observation Task due later: not yet due", nil, nil, []*facts.Task{task("requested", "observation-second-midnight", func(t *facts.Task) { t.Due = clAt("2025-03-07T00:00") })}, false, false, ""},
		{"observation Task past its due: holds", nil, nil, []*facts.Task{task("requested", "observation-second-midnight", func(t *facts.Task) { t.Due = clAt("2025-03-06T00:00") })}, false, true, "observation-second-midnight"},
		{"review Task on hold", nil, nil, []*facts.Task{task("on-hold", "two-midnight", nil)}, false, true, "two-midnight"},
		{"review Task through Task.encounter, no code", nil, nil, []*facts.Task{task("requested", "", func(t *facts.Task) { t.Focus, t.Encounter = "", "Encounter/s" })}, false, true, "an open review Task"},
		{"review Task completed", nil, nil, []*facts.Task{task("completed", "two-midnight", nil)}, false, false, ""},
		// A review past its horizon (business status missed) can no longer change the claim.
		{"review Task missed", nil, nil, []*facts.Task{task("in-progress", "two-midnight", func(t *facts.Task) { t.BusinessStatus = StatusMissed })}, false, false, ""},
		{"review Task cancelled", nil, nil, []*facts.Task{task("cancelled", "two-midnight", nil)}, false, false, ""},
		{"someone else's Task", nil, nil, []*facts.Task{task("requested", "two-midnight", func(t *facts.Task) { t.Identifiers = []facts.Identifier{{System: "urn:other", Value: "1"}} })}, false, false, ""},
		{"open Task of a notice, not a review", nil, nil, []*facts.Task{task("requested", "observation-moon", nil)}, false, false, ""},
		{"open Task for another stay", nil, nil, []*facts.Task{task("requested", "two-midnight", func(t *facts.Task) { t.Focus = "Encounter/other" })}, false, false, ""},
		{"claim accepted", func(c *facts.Claim) { c.Accepted = true }, []string{"two-midnight"}, nil, false, false, ""},
		{"draft claim", func(c *facts.Claim) { c.Status = "draft" }, []string{"two-midnight"}, nil, false, true, "is being prepared"},
		{"preauthorization request", func(c *facts.Claim) { c.Use = "preauthorization" }, []string{"two-midnight"}, nil, false, false, ""},
		{"claim for another stay", func(c *facts.Claim) { c.Encounters = nil }, []string{"two-midnight"}, nil, false, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			enc := &facts.Encounter{Ref: "Encounter/s", Key: "Encounter/s", Status: "in-progress",
				Segments: []facts.Segment{{Class: "IMP", Start: clAt("2025-03-01T10:00")}}}
			c := clClaim("c", "2025-03-05T10:00", clLine(1, "99223", "2025-03-01", 1))
			c.Encounters = []*facts.Encounter{enc}
			if tt.mutClaim != nil {
				tt.mutClaim(c)
			}
			p := clPatient([]*facts.Encounter{enc}, c)
			p.Tasks = tt.tasks
			r := clRun("2025-03-06T09:00", clSource(clMedicareRules()))
			for _, id := range tt.raised {
				if r.raised == nil {
					r.raised = map[*facts.Encounter][]Finding{}
				}
				f := Finding{Check: id, Encounter: enc, Due: r.asOf.Add(-time.Hour)}
				if tt.dueLater {
					f.Due = r.asOf.Add(6 * time.Hour)
				}
				r.raised[enc] = append(r.raised[enc], f)
			}
			got := clFindings(r, p, CheckClaimBeforeDetermination)
			if !tt.want {
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
			if f.Episode != "Encounter/s" || f.Encounter != enc || !f.Due.Equal(c.Created) || f.Status != StatusOverdue {
				t.Errorf("episode %q encounter %v due %v status %s, want the stay, due at creation, overdue", f.Episode, f.Encounter, f.Due, f.Status)
			}
			if !strings.Contains(f.Description, tt.wantText) {
				t.Errorf("description %q lacks %q", f.Description, tt.wantText)
			}
			if s := clEvidence(f, EvStay); len(s) != 1 || *s[0].Ref != "Encounter/s" {
				t.Errorf("stay evidence %v", s)
			}
		})
	}
}

func TestClaimBeforeDeterminationSwitchAndNoIdentifierSystem(t *testing.T) {
	t.Parallel()
	enc := &facts.Encounter{Ref: "Encounter/s", Key: "Encounter/s", Segments: []facts.Segment{{Class: "IMP", Start: clAt("2025-03-01T10:00")}}}
	c := clClaim("c", "2025-03-05T10:00", clLine(1, "99223", "2025-03-01", 1))
	c.Encounters = []*facts.Encounter{enc}
	p := clPatient([]*facts.Encounter{enc}, c)
	p.Tasks = []*facts.Task{{Ref: "Task/t", Status: "requested", Focus: "Encounter/s", Identifiers: []facts.Identifier{{System: "", Value: "x"}}}}

	// Without a configured identifier system no input Task is taken for ours.
	r := clRun("2025-03-06T09:00", clSource(clMedicareRules()))
	r.cfg.IdentifierSystem = ""
	if got := clFindings(r, p, CheckClaimBeforeDetermination); len(got) != 0 {
		t.Errorf("no identifier system: got %d findings, want 0", len(got))
	}
	rs := clMedicareRules()
	rs.Checks.ClaimBeforeDetermination = rules.Switch{}
	r = clRun("2025-03-06T09:00", clSource(rs))
	r.raised = map[*facts.Encounter][]Finding{enc: {{Check: "two-midnight"}}}
	if got := clFindings(r, p, CheckClaimBeforeDetermination); len(got) != 0 {
		t.Errorf("switch off: got %d findings, want 0", len(got))
	}
}

// The claim held for a review raised in this run is the same finding
// before and after the review's Task exists (the live service writes it in
// its first pass): its evidence must not gain the Task, or the live service
// would write the claim's Task twice and disagree with the offline review,
// which has no such Task. An open review Task whose review this run does
// not raise is still cited.
func TestClaimBeforeDeterminationStableOnceItsReviewTaskExists(t *testing.T) {
	t.Parallel()
	const sys = "https://utilreview.example/task-id"
	reviewTask := func(ref, code string) *facts.Task {
		return &facts.Task{Ref: ref, Status: "requested", Focus: "Encounter/s",
			Identifiers: []facts.Identifier{{System: sys, Value: code + "|Encounter/s"}},
			Codes:       []facts.Code{{System: "https://utilreview.example/CodeSystem/checks", Code: code}}}
	}
	evidence := func(tasks ...*facts.Task) string {
		enc := &facts.Encounter{Ref: "Encounter/s", Key: "Encounter/s", Status: "in-progress",
			Segments: []facts.Segment{{Class: "IMP", Start: clAt("2025-03-01T10:00")}}}
		c := clClaim("c", "2025-03-05T10:00", clLine(1, "99223", "2025-03-01", 1))
		c.Encounters = []*facts.Encounter{enc}
		p := clPatient([]*facts.Encounter{enc}, c)
		p.Tasks = tasks
		r := clRun("2025-03-06T09:00", clSource(clMedicareRules()))
		r.raised = map[*facts.Encounter][]Finding{enc: {{Check: "two-midnight", Encounter: enc, Due: r.asOf.Add(-time.Hour)}}}
		got := clFindings(r, p, CheckClaimBeforeDetermination)
		if len(got) != 1 {
			t.Fatalf("got %d findings, want 1", len(got))
		}
		var b strings.Builder
		for _, e := range got[0].Evidence {
			switch {
			case e.Ref != nil:
				fmt.Fprintf(&b, "%s=%s;", e.Type, *e.Ref)
			case e.String != nil:
				fmt.Fprintf(&b, "%s=%s;", e.Type, *e.String)
			default:
				fmt.Fprintf(&b, "%s;", e.Type)
			}
		}
		return b.String() + got[0].Description
	}
	before := evidence()
	if after := evidence(reviewTask("Task/tm", "two-midnight")); after != before {
		t.Errorf("with the raised review's Task:\n%s\nwithout:\n%s", after, before)
	}
	if other := evidence(reviewTask("Task/ar", "admission-review")); !strings.Contains(other, "Task/ar") {
		t.Errorf("an open admission-review Task, not raised in this run, is not cited: %s", other)
	}
}
