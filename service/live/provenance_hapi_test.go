package live_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/utilreview/utilreview/service/queue"
)

// TestProvenanceTriggerFindsTheTasksPatient: a queued Provenance names no
// patient; the processor reads it and reviews the patient of the first
// utilreview Task it targets (the Task named by a versioned reference, or
// the Provenance found in its history once deleted). A Provenance of
// another system's Task, or of no Task, reviews nobody.
func TestProvenanceTriggerFindsTheTasksPatient(t *testing.T) {
	t.Parallel()
	s := newSetup(t)
	ctx := context.Background()
	patient := "Patient/" + s.c.Create(map[string]any{"resourceType": "Patient"})
	task := func(system string) string {
		return "Task/" + s.c.Create(map[string]any{
			"resourceType": "Task", "status": "completed", "intent": "order",
			"identifier": []any{map[string]any{"system": system, "value": "provenance-trigger"}},
			"for":        map[string]any{"reference": patient},
		})
	}
	ours, foreign := task(s.system), task("urn:example:other-worklist")
	encounter := "Encounter/" + s.c.Create(map[string]any{
		"resourceType": "Encounter", "status": "finished", "class": map[string]any{"code": "IMP"},
		"subject": map[string]any{"reference": patient},
	})
	provenance := func(target string) string {
		return "Provenance/" + s.c.Create(map[string]any{
			"resourceType": "Provenance", "target": []any{map[string]any{"reference": target}},
			"recorded": "2026-11-20T11:50:00-05:00", "agent": []any{map[string]any{"who": map[string]any{"reference": patient}}},
		})
	}
	deleted := provenance(ours)
	s.c.Delete(deleted).MustStatus(t, http.StatusOK, http.StatusNoContent)

	p := s.processor(time.Date(2026, 11, 20, 12, 0, 0, 0, s.opt.Location), 400)
	for _, tc := range []struct {
		name, provenance, want string
	}{
		{"a utilreview Task, versioned", provenance(ours + "/_history/1"), patient},
		{"another system's Task, then a utilreview Task", "Provenance/" + s.c.Create(map[string]any{
			"resourceType": "Provenance", "recorded": "2026-11-20T11:50:00-05:00",
			"target": []any{map[string]any{"reference": foreign}, map[string]any{"reference": ours}},
			"agent":  []any{map[string]any{"who": map[string]any{"reference": patient}}},
		}), patient},
		{"deleted: its last version", deleted, patient},
		{"another system's Task only", provenance(foreign), ""},
		{"no Task", provenance(encounter), ""},
	} {
		out, err := p.Process(ctx, queue.Entry{Resource: tc.provenance, Reason: "notification"})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if out.Patient != tc.want {
			t.Errorf("%s: reviewed %q, want %q", tc.name, out.Patient, tc.want)
		}
	}
}
