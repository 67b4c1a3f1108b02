package live_test

import (
	"context"
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

type recordingQueue struct {
	mu      sync.Mutex
	entries []queue.Entry
	at      []time.Time
}

func (q *recordingQueue) Enqueue(_ context.Context, e queue.Entry) (bool, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.entries = append(q.entries, e)
	q.at = append(q.at, time.Now())
	return true, nil
}

// After a rules version becomes current, the patients of open utilreview
// Tasks and of stays in progress are queued once each, paced.
func TestRereviewQueuesOpenWorkPaced(t *testing.T) {
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
	q := &recordingQueue{}
	r := live.NewRereview(live.RereviewConfig{
		IdentifierSystem: "https://utilreview.dev/fhir/identifier/finding",
		Filter:           url.Values{"_tag": {"urn:ward|7"}},
		Rate:             20,
	}, f, q)
	start := time.Now()
	n, err := r.Run(context.Background(), "abc")
	if err != nil || n != 3 {
		t.Fatalf("Run: %d %v, want 3 patients", n, err)
	}
	var got []string
	for _, e := range q.entries {
		got = append(got, e.Patient)
		if e.Reason != live.ReasonRules {
			t.Errorf("reason %q, want %q", e.Reason, live.ReasonRules)
		}
	}
	if !slices.Equal(got, []string{"Patient/a", "Patient/b", "Patient/c"}) {
		t.Errorf("queued %v, want a, b, c once each", got)
	}
	// 3 patients at 20 a second: at least two intervals of 50 ms.
	if d := time.Since(start); d < 90*time.Millisecond {
		t.Errorf("3 patients queued in %s at 20/s: not paced", d)
	}
	if p := f.params["Task"]; p.Get("identifier") != "https://utilreview.dev/fhir/identifier/finding|" || p.Get("status") == "" {
		t.Errorf("Task search %v: want the identifier system and the open statuses", p)
	}
	if p := f.params["Encounter"]; p.Get("status") != "in-progress,onleave" || p.Get("_tag") != "urn:ward|7" {
		t.Errorf("Encounter search %v: want stays in progress under the filter", p)
	}
}
