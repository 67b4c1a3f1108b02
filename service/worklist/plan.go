package worklist

import (
	"github.com/utilreview/utilreview/fhir"
	"github.com/utilreview/utilreview/service/checks"
	"github.com/utilreview/utilreview/service/facts"
)

// State is where a finding stands against the Tasks already present.
type State int

const (
	// StateNew: no Task with the finding's identifier exists.
	StateNew State = iota
	// StateOpen: a Task with the identifier exists and is not finished; the live
	// service updates it, the offline command still lists the finding
	// (a coordinator's worklist shows open work, whoever created the Task).
	StateOpen
	// StateClosed: a Task with the identifier was completed, cancelled or
	// rejected: the finding was handled and is not raised again.
	StateClosed
)

func (s State) String() string {
	switch s {
	case StateOpen:
		return "open"
	case StateClosed:
		return "closed"
	}
	return "new"
}

// Planned is one finding with its state and the existing Task it matched.
type Planned struct {
	Finding    *checks.Finding
	Identifier fhir.Identifier
	State      State
	Task       *facts.Task // the matching Task; nil when StateNew
}

// taskState classes a Task status. entered-in-error Tasks count as absent:
// they were never real work.
func taskState(status string) (State, bool) {
	switch status {
	case "completed", "cancelled", "rejected":
		return StateClosed, true
	case "entered-in-error":
		return StateNew, false
	}
	return StateOpen, true
}

// Reconcile matches findings with the Tasks already present by identifier
// (system and value). When several Tasks share the identifier, a closed one
// wins: a clinician has handled the finding.
func (w *Writer) Reconcile(findings []checks.Finding, existing []*facts.Task) []Planned {
	byValue := w.existingByValue(existing)
	out := make([]Planned, len(findings))
	for i := range findings {
		f := &findings[i]
		id := w.Identifier(f)
		out[i] = Planned{Finding: f, Identifier: id}
		if t, ok := byValue[id.Value]; ok {
			out[i].Task = t
			out[i].State, _ = taskState(t.Status)
		}
	}
	return out
}

// existingByValue indexes utilreview's Tasks by identifier value, keeping a
// closed Task over an open one; nil when there are none.
func (w *Writer) existingByValue(existing []*facts.Task) map[string]*facts.Task {
	var byValue map[string]*facts.Task
	for _, t := range existing {
		if t == nil {
			continue
		}
		st, real := taskState(t.Status)
		if !real {
			continue
		}
		for _, id := range t.Identifiers {
			if id.System != w.cfg.IdentifierSystem || id.Value == "" {
				continue
			}
			if byValue == nil {
				byValue = make(map[string]*facts.Task)
			}
			if prev, ok := byValue[id.Value]; ok {
				if ps, _ := taskState(prev.Status); ps == StateClosed || st != StateClosed {
					continue
				}
			}
			byValue[id.Value] = t
		}
	}
	return byValue
}

// Plan keeps the findings still to work (new, or with an open Task) in their
// order and counts those closed by a completed, cancelled or rejected Task
// with the same identifier. Without closed findings it returns findings
// itself, with no copy.
func (w *Writer) Plan(findings []checks.Finding, existing []*facts.Task) (open []checks.Finding, closed int) {
	byValue := w.existingByValue(existing)
	if len(byValue) == 0 {
		return findings, 0
	}
	for i := range findings {
		t, ok := byValue[w.Identifier(&findings[i]).Value]
		if ok {
			if st, _ := taskState(t.Status); st == StateClosed {
				if open == nil {
					open = make([]checks.Finding, 0, len(findings)-1)
					open = append(open, findings[:i]...)
				}
				closed++
				continue
			}
		}
		if open != nil {
			open = append(open, findings[i])
		}
	}
	if closed == 0 {
		return findings, 0
	}
	return open, closed
}

// IsClosed reports whether a completed, cancelled or rejected Task among
// existing carries the finding's identifier. It suits checks.Config.Closed,
// so that a review a clinician closed no longer holds the stay's claims.
func (w *Writer) IsClosed(f *checks.Finding, existing []*facts.Task) bool {
	if len(existing) == 0 {
		return false
	}
	id := w.Identifier(f).Value
	for _, t := range existing {
		if t == nil {
			continue
		}
		if st, real := taskState(t.Status); !real || st != StateClosed {
			continue
		}
		for _, x := range t.Identifiers {
			if x.System == w.cfg.IdentifierSystem && x.Value == id {
				return true
			}
		}
	}
	return false
}
