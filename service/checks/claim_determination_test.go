package checks

import (
	"strings"
	"testing"

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
		want     bool
		wantText string
	}{
		{"open review raised this run", nil, []string{"los-exceeds-gmlos"}, nil, true, "los-exceeds-gmlos"},
		{"only informational findings raised", nil, []string{"admission-notification", "important-message", "missing-coverage", "stale-encounter"}, nil, false, ""},
		{"open review Task in the input", nil, nil, []*facts.Task{task("in-progress", "continued-stay-review", nil)}, true, "continued-stay-review"},
		{"review Task on hold", nil, nil, []*facts.Task{task("on-hold", "two-midnight", nil)}, true, "two-midnight"},
		{"review Task through Task.encounter, no code", nil, nil, []*facts.Task{task("requested", "", func(t *facts.Task) { t.Focus, t.Encounter = "", "Encounter/s" })}, true, "an open review Task"},
		{"review Task completed", nil, nil, []*facts.Task{task("completed", "two-midnight", nil)}, false, ""},
		// A review past its horizon (business status missed) can no longer change the claim.
		{"review Task missed", nil, nil, []*facts.Task{task("in-progress", "continued-stay-review", func(t *facts.Task) { t.BusinessStatus = StatusMissed })}, false, ""},
		{"review Task cancelled", nil, nil, []*facts.Task{task("cancelled", "two-midnight", nil)}, false, ""},
		{"someone else's Task", nil, nil, []*facts.Task{task("requested", "two-midnight", func(t *facts.Task) { t.Identifiers = []facts.Identifier{{System: "urn:other", Value: "1"}} })}, false, ""},
		{"open Task of a notice, not a review", nil, nil, []*facts.Task{task("requested", "observation-moon", nil)}, false, ""},
		{"open Task for another stay", nil, nil, []*facts.Task{task("requested", "two-midnight", func(t *facts.Task) { t.Focus = "Encounter/other" })}, false, ""},
		{"claim accepted", func(c *facts.Claim) { c.Accepted = true }, []string{"two-midnight"}, nil, false, ""},
		{"draft claim", func(c *facts.Claim) { c.Status = "draft" }, []string{"two-midnight"}, nil, true, "is being prepared"},
		{"preauthorization request", func(c *facts.Claim) { c.Use = "preauthorization" }, []string{"two-midnight"}, nil, false, ""},
		{"claim for another stay", func(c *facts.Claim) { c.Encounters = nil }, []string{"two-midnight"}, nil, false, ""},
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
				r.raised[enc] = append(r.raised[enc], Finding{Check: id, Encounter: enc})
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
