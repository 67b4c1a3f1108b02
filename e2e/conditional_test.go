package e2e

import (
	"net/http"
	"sync"
	"testing"

	"github.com/utilreview/utilreview/e2e/harness"
)

const testIdentifierSystem = "https://utilreview.example/fhir/identifier/e2e"

func taggedTask(tag harness.Tag, identifier string) map[string]any {
	return map[string]any{
		"resourceType": "Task",
		"meta":         map[string]any{"tag": []any{tag}},
		"identifier":   []any{map[string]any{"system": testIdentifierSystem, "value": identifier}},
		"status":       "requested",
		"intent":       "order",
	}
}

func countTasks(t *testing.T, c *harness.FHIR, identifier string) int {
	t.Helper()
	var b harness.Bundle
	c.Get(harness.Query("Task", "identifier", testIdentifierSystem+"|"+identifier, "_summary", "count")).
		MustStatus(t, http.StatusOK).Decode(t, &b)
	if b.Total == nil {
		t.Fatal("count search without total")
	}
	return *b.Total
}

// A conditional create (If-None-Exist) sent twice leaves one resource: the second answers 200 with the first's
// id. This is how utilreview writes worklist Tasks idempotently.
func TestConditionalCreateTwiceLeavesOne(t *testing.T) {
	t.Parallel()
	c := harness.NewFHIR(t)
	tag := harness.UniqueTag(t)
	ident := harness.UniqueID("task")
	cond := http.Header{"If-None-Exist": {"identifier=" + testIdentifierSystem + "|" + ident}}

	first := c.Post("Task", taggedTask(tag, ident), cond).MustStatus(t, http.StatusCreated)
	second := c.Post("Task", taggedTask(tag, ident), cond).MustStatus(t, http.StatusOK)
	id1, id2 := first.Resource(t)["id"], second.Resource(t)["id"]
	if id1 != id2 {
		t.Errorf("second conditional create: got id %v, want %v", id2, id1)
	}
	if n := countTasks(t, c, ident); n != 1 {
		t.Errorf("got %d Tasks with the identifier, want 1", n)
	}

	// Conditional update by identifier updates the same resource (version 2) instead of creating one.
	upd := taggedTask(tag, ident)
	upd["status"] = "in-progress"
	r := c.Put(harness.Query("Task", "identifier", testIdentifierSystem+"|"+ident), upd).MustStatus(t, http.StatusOK)
	got := r.Resource(t)
	if got["id"] != id1 || versionOf(got) != "2" {
		t.Errorf("conditional update: got Task/%v version %s, want Task/%v version 2", got["id"], versionOf(got), id1)
	}
}

// The same conditional create sent concurrently: HAPI serialises the match URL, so one resource is created
// and the other requests answer 200 (or, where a race slips through, 409/412 rather than a duplicate).
func TestConditionalCreateConcurrent(t *testing.T) {
	t.Parallel()
	c := harness.NewFHIR(t)
	tag := harness.UniqueTag(t)
	ident := harness.UniqueID("task-race")
	cond := http.Header{"If-None-Exist": {"identifier=" + testIdentifierSystem + "|" + ident}}

	const n = 4
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = c.Post("Task", taggedTask(tag, ident), cond).Status
		}()
	}
	wg.Wait()
	created := countTasks(t, c, ident)
	t.Logf("%d concurrent conditional creates: statuses %v, %d Tasks stored", n, statuses, created)
	if created != 1 {
		t.Errorf("got %d Tasks after %d concurrent conditional creates, want 1", created, n)
	}
}
