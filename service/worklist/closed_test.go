package worklist

import (
	"testing"

	"github.com/utilreview/utilreview/service/checks"
	"github.com/utilreview/utilreview/service/facts"
)

// IsClosed agrees with Plan: only a completed, cancelled or rejected Task
// with the finding's identifier (in utilreview's system) closes it.
func TestIsClosed(t *testing.T) {
	w := New(Config{})
	f := encounterFinding()
	id := w.Identifier(&f)
	other := encounterFinding()
	other.Episode = "another"
	otherID := w.Identifier(&other)
	tests := []struct {
		name     string
		existing []*facts.Task
		want     bool
	}{
		{"no Tasks", nil, false},
		{"completed", []*facts.Task{{Status: "completed", Identifiers: []facts.Identifier{{System: id.System, Value: id.Value}}}}, true},
		{"rejected", []*facts.Task{{Status: "rejected", Identifiers: []facts.Identifier{{System: id.System, Value: id.Value}}}}, true},
		{"still open", []*facts.Task{{Status: "in-progress", Identifiers: []facts.Identifier{{System: id.System, Value: id.Value}}}}, false},
		{"another finding's Task", []*facts.Task{{Status: "completed", Identifiers: []facts.Identifier{{System: otherID.System, Value: otherID.Value}}}}, false},
		{"same value, other system", []*facts.Task{{Status: "completed", Identifiers: []facts.Identifier{{System: "urn:other", Value: id.Value}}}}, false},
		{"entered in error", []*facts.Task{{Status: "entered-in-error", Identifiers: []facts.Identifier{{System: id.System, Value: id.Value}}}}, false},
	}
	for _, tc := range tests {
		if got := w.IsClosed(&f, tc.existing); got != tc.want {
			t.Errorf("%s: IsClosed = %v, want %v", tc.name, got, tc.want)
		}
		open, closed := w.Plan([]checks.Finding{f}, tc.existing)
		if planClosed := closed == 1 && len(open) == 0; planClosed != tc.want {
			t.Errorf("%s: Plan closed it %v, IsClosed says %v", tc.name, planClosed, tc.want)
		}
	}
}
