package live_test

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/utilreview/utilreview/fhir"
	"github.com/utilreview/utilreview/service/live"
	"github.com/utilreview/utilreview/service/queue"
)

// searchFHIR answers searches from resources by type and records the
// parameters; nothing else is used.
type searchFHIR struct {
	memoryFHIR
	byType map[string][]string
	params map[string]url.Values
}

func (s *searchFHIR) Search(_ context.Context, typ string, params url.Values, each func(fhir.Entry) error) error {
	s.params[typ] = params
	for _, r := range s.byType[typ] {
		if err := each(fhir.Entry{Resource: []byte(r)}); err != nil {
			return err
		}
	}
	return nil
}

// recordingSchedule records what a re-review schedules; lost makes it
// answer that the claim was lost.
type recordingSchedule struct {
	mu       sync.Mutex
	entries  []queue.Entry
	interval time.Duration
	lost     bool
}

func (s *recordingSchedule) schedule(_ context.Context, entries []queue.Entry, interval time.Duration) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lost {
		return false, nil
	}
	s.entries = append(s.entries, entries...)
	s.interval = interval
	return true, nil
}

// After a rules version becomes current, the patients of open utilreview
// Tasks and of stays in progress are scheduled once each, paced at the
// rate; nothing is reported scheduled when the claim was lost.
func TestRereviewSchedulesOpenWorkPaced(t *testing.T) {
	t.Parallel()
	f := &searchFHIR{params: map[string]url.Values{}, byType: map[string][]string{
		"Task": {
			`{"resourceType":"Task","id":"t1","for":{"reference":"Patient/a"}}`,
			`{"resourceType":"Task","id":"t2","for":{"reference":"Patient/b"}}`,
			`{"resourceType":"Task","id":"t3","for":{"reference":"Patient/a"}}`,
			`{"resourceType":"Task","id":"t4"}`,
		},
		"Encounter": {
			`{"resourceType":"Encounter","id":"e1","subject":{"reference":"Patient/b"}}`,
			`{"resourceType":"Encounter","id":"e2","subject":{"reference":"Patient/c"}}`,
		},
	}}
	r := live.NewRereview(live.RereviewConfig{
		IdentifierSystem: "https://utilreview.dev/fhir/identifier/finding",
		Filter:           url.Values{"_tag": {"urn:ward|7"}},
		Rate:             20,
	}, f)
	s := &recordingSchedule{}
	n, err := r.Run(context.Background(), "abc", s.schedule)
	if err != nil || n != 3 {
		t.Fatalf("Run: %d %v, want 3 patients", n, err)
	}
	var got []string
	for _, e := range s.entries {
		got = append(got, e.Patient)
		if e.Reason != live.ReasonRules {
			t.Errorf("reason %q, want %q", e.Reason, live.ReasonRules)
		}
	}
	if !slices.Equal(got, []string{"Patient/a", "Patient/b", "Patient/c"}) {
		t.Errorf("scheduled %v, want a, b, c once each", got)
	}
	if s.interval != 50*time.Millisecond {
		t.Errorf("interval %s at 20 a second, want 50ms", s.interval)
	}
	if p := f.params["Task"]; p.Get("identifier") != "https://utilreview.dev/fhir/identifier/finding|" || p.Get("status") == "" {
		t.Errorf("Task search %v: want the identifier system and the open statuses", p)
	}
	if p := f.params["Encounter"]; p.Get("status") != "in-progress,onleave" || p.Get("_tag") != "urn:ward|7" {
		t.Errorf("Encounter search %v: want stays in progress under the filter", p)
	}

	lost := &recordingSchedule{lost: true}
	if n, err := r.Run(context.Background(), "abc", lost.schedule); !errors.Is(err, live.ErrClaimLost) || n != 0 {
		t.Errorf("Run with the claim lost: %d %v, want 0 and ErrClaimLost", n, err)
	}
}
