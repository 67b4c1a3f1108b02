package review

import (
	"os"
	"testing"
	"time"

	"github.com/utilreview/utilreview/fhir"
	"github.com/utilreview/utilreview/service/facts"
	"github.com/utilreview/utilreview/service/worklist"
)

// TestReviewDeadlineKeptByItsTask: the Capital plan's custom check
// heart-failure-extended-stay counts its deadline from the review that
// raised it (deadline_from: review, 24 h). Reviewed again two hours later
// with its Task on the server, the finding keeps that Task's deadline, so
// the live service neither rewrites the Task nor wakes up for a deadline
// that keeps moving away (a newcomer saw one Task rewritten every 1 to 2 s).
// Without its Task, the deadline counts from this review.
func TestReviewDeadlineKeptByItsTask(t *testing.T) {
	t.Parallel()
	const check = "custom:heart-failure-extended-stay"
	raw, err := os.ReadFile("../../testdata/examples/ur-scenarios.json")
	if err != nil {
		t.Fatal(err)
	}
	var resources []*fhir.Resource
	if errs := fhir.NewReader().ReadBytes("ur-scenarios.json", raw, func(r *fhir.Resource) { resources = append(resources, r) }); len(errs) > 0 {
		t.Fatal(errs)
	}
	loc := mustLoc(t, "America/New_York")
	first := time.Date(2026, 11, 20, 12, 0, 0, 0, loc)
	later := first.Add(2 * time.Hour)
	review := func(asOf time.Time, tasks ...*facts.Task) *Patient {
		t.Helper()
		opt := testOptions(t)
		opt.AsOf = asOf
		pl := NewPipeline(opt, nil)
		for _, p := range pl.Facts(resources).Patients {
			if p.Ref == "Patient/p8" {
				p.Tasks = tasks
				res, err := pl.ReviewPatient(p, nil, asOf)
				if err != nil {
					t.Fatal(err)
				}
				return res
			}
		}
		t.Fatal("no Patient/p8")
		return nil
	}
	due := func(res *Patient) time.Time {
		t.Helper()
		for _, f := range res.Findings {
			if f.Check == check {
				return f.Due
			}
		}
		t.Fatalf("no %s finding", check)
		return time.Time{}
	}

	r1 := review(first)
	due1 := due(r1)
	if want := first.Add(24 * time.Hour); !due1.Equal(want) {
		t.Fatalf("first review: due %v, want 24 h after it, %v", due1, want)
	}
	var id facts.Identifier
	opt := testOptions(t)
	for i := range r1.Findings {
		if f := &r1.Findings[i]; f.Check == check {
			x := opt.Writer.Identifier(f)
			id = facts.Identifier{System: x.System, Value: x.Value}
		}
	}
	var created []byte
	for _, c := range r1.Plan.Changes {
		if c.Check == check && c.Action == worklist.ActionCreate {
			created = c.Body
		}
	}
	if created == nil {
		t.Fatal("first review: no Task created")
	}
	task := &facts.Task{Ref: "Task/hf", Version: "1", Status: "requested", Focus: "Encounter/e8", Due: due1, Raw: withID(t, created, "hf"),
		Identifiers: []facts.Identifier{id},
		Codes:       []facts.Code{{System: opt.Writer.CheckSystem(), Code: check}}}

	r2 := review(later, task)
	if got := due(r2); !got.Equal(due1) {
		t.Errorf("two hours later, with its Task: due %v, want the Task's %v", got, due1)
	}
	for _, c := range r2.Plan.Changes {
		if c.Check == check {
			t.Errorf("two hours later, with its Task: %s planned, want nothing written", c.Action)
		}
	}
	if got, want := due(review(later)), later.Add(24*time.Hour); !got.Equal(want) {
		t.Errorf("two hours later, no Task: due %v, want 24 h after this review, %v", got, want)
	}
}
