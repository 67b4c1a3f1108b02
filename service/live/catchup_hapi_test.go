package live_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/utilreview/utilreview/e2e/harness"
	"github.com/utilreview/utilreview/fhir"
	"github.com/utilreview/utilreview/service/live"
	"github.com/utilreview/utilreview/service/queue"
)

// TestCatchUpFindsDeletes, against HAPI: a search cannot see a deleted
// resource, so the catch-up also reads each type's _history since its
// deletes watermark, where HAPI lists a delete as request.method DELETE
// with no resource; the version before the delete names the patient, who
// is queued. A delete of a resource outside the filter (another tag: another
// deployment's part of the server) is not queued.
func TestCatchUpFindsDeletes(t *testing.T) {
	t.Parallel()
	c := harness.NewFHIR(t)
	client, err := fhir.NewClient(fhir.ClientConfig{BaseURL: c.Base})
	if err != nil {
		t.Fatal(err)
	}
	rdb, prefix := harness.Redis(t)
	q, err := queue.New(rdb, queue.Config{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	mine, other := harness.UniqueTag(t), harness.UniqueTag(t)
	sfx := harness.UniqueID("del")
	coverage := func(id, patient string, tag harness.Tag) map[string]any {
		return map[string]any{"resourceType": "Coverage", "id": id, "status": "active",
			"meta":        map[string]any{"tag": []any{map[string]any{"system": tag.System, "code": tag.Code}}},
			"beneficiary": map[string]any{"reference": patient}, "payor": []any{map[string]any{"display": "Medicare"}}}
	}
	for _, p := range []string{"pa-" + sfx, "pb-" + sfx} {
		c.Put("Patient/"+p, map[string]any{"resourceType": "Patient", "id": p}).MustStatus(t, 200, 201)
	}
	c.Put("Coverage/a-"+sfx, coverage("a-"+sfx, "Patient/pa-"+sfx, mine)).MustStatus(t, 200, 201)
	c.Put("Coverage/b-"+sfx, coverage("b-"+sfx, "Patient/pb-"+sfx, other)).MustStatus(t, 200, 201)

	reg := prometheus.NewRegistry()
	cu := live.NewCatchUp(live.CatchUpConfig{Types: []string{"Coverage"}, Filter: map[string][]string{"_tag": {mine.Param()}},
		Window: time.Hour, Metrics: live.NewMetrics(reg)}, client, q)
	ctx := context.Background()
	if _, err := cu.Once(ctx); err != nil {
		t.Fatal(err)
	}
	wm, ok, err := q.Watermark(ctx, "Coverage/_history")
	if err != nil || !ok {
		t.Fatalf("no deletes watermark after a catch-up (%v)", err)
	}
	// The queue emptied, as workers would: what follows is the deletes'.
	if err := rdb.Del(ctx, prefix+"stream", prefix+"waiting").Err(); err != nil {
		t.Fatal(err)
	}

	c.Delete("Coverage/a-"+sfx).MustStatus(t, 200, 204)
	c.Delete("Coverage/b-"+sfx).MustStatus(t, 200, 204)
	if _, err := cu.Once(ctx); err != nil {
		t.Fatal(err)
	}
	entries, err := rdb.XRange(ctx, prefix+"stream", "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Values["patient"].(string)+" "+e.Values["resource"].(string)+" "+e.Values["reason"].(string))
	}
	if want := "Patient/pa-" + sfx + " Coverage/a-" + sfx + " catch-up"; len(got) != 1 || got[0] != want {
		t.Errorf("queued %q, want only %q (the deleted Coverage's patient; not the other tag's)", got, want)
	}
	if n := liveDeletes(t, reg); n != 1 {
		t.Errorf("utilreview_catchup_deletes_total %v, want 1", n)
	}
	// The next catch-up's overlap lists the delete again: it was queued
	// already, and is not queued twice.
	if n, err := cu.Once(ctx); err != nil || n != 0 {
		t.Errorf("a catch-up after the delete was queued: queued %d (%v), want 0", n, err)
	}
	after, _, err := q.Watermark(ctx, "Coverage/_history")
	if err != nil || !after.After(wm) {
		t.Errorf("deletes watermark %v after the second catch-up, want past %v (%v)", after, wm, err)
	}
}

// liveDeletes is the enqueued series of utilreview_catchup_deletes_total.
func liveDeletes(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != "utilreview_catchup_deletes_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" && l.GetValue() == "enqueued" {
					sum += m.GetCounter().GetValue()
				}
			}
		}
	}
	return sum
}
