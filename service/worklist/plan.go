package worklist

import (
	"github.com/utilreview/utilreview/service/checks"
	"github.com/utilreview/utilreview/service/facts"
)

// existingByValue indexes utilreview's Tasks by identifier value, keeping a
// closed Task over an open one; nil when there are none.
func (w *Writer) existingByValue(existing []*facts.Task) map[string]*facts.Task {
	var byValue map[string]*facts.Task
	for _, t := range existing {
		if t == nil {
			continue
		}
		st := t.State()
		if st == facts.TaskAbsent {
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
				if prev.State() == facts.TaskClosed || st != facts.TaskClosed {
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
			if t.State() == facts.TaskClosed {
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
		if t.State() != facts.TaskClosed {
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

// TaskOf returns the utilreview Task among existing (in any state but
// entered-in-error; a closed one over an open one) that carries the
// finding's identifier, nil when none does.
func (w *Writer) TaskOf(f *checks.Finding, existing []*facts.Task) *facts.Task {
	if len(existing) == 0 {
		return nil
	}
	return w.existingByValue(existing)[w.Identifier(f).Value]
}

// TaskIndex returns a lookup telling whether a utilreview Task among
// existing (in any state but entered-in-error) carries a finding's
// identifier: a finding past its horizon keeps such a Task, marked missed.
func (w *Writer) TaskIndex(existing []*facts.Task) func(f *checks.Finding) bool {
	byValue := w.existingByValue(existing)
	return func(f *checks.Finding) bool {
		if len(byValue) == 0 {
			return false
		}
		_, ok := byValue[w.Identifier(f).Value]
		return ok
	}
}
