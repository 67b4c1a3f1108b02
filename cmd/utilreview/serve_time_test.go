package main

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/utilreview/utilreview/e2e/harness"
	"github.com/utilreview/utilreview/e2e/worklisttest"
)

// testClock is the real clock moved forward by what the test adds: it runs
// at the real rate (the queue's retries and lease waits still come due) and
// jumps when told.
type testClock struct{ ahead atomic.Int64 }

func (c *testClock) Now() time.Time          { return time.Now().Add(time.Duration(c.ahead.Load())) }
func (c *testClock) Advance(d time.Duration) { c.ahead.Add(int64(d)) }

// TestServeObservationCrosses48h is issue 6's proof of time: an observation
// stay at hour 43 when the service reviews it gets its observation-48h Task
// within a minute of hour 44 (the escalation is raised 4 hours before its
// deadline at hour 48, issue 7 point 14) with no write to the FHIR server,
// from the wake-up the review scheduled in Redis. The service has no Subscriptions
// and its periodic catch-up is an hour apart, so nothing else can wake the
// patient.
func TestServeObservationCrosses48h(t *testing.T) {
	t.Parallel()
	l := newLiveEnv(t, "")
	// No Subscriptions: the test delivers the stay's one notification
	// itself, and nothing (no HAPI delivery of the service's own Task
	// writes, no periodic catch-up) can bring a review after the clock
	// moves but the wake-up.
	l.env["UTILREVIEW_SUBSCRIPTIONS"] = "off"
	l.env["UTILREVIEW_CATCHUP_INTERVAL"] = "1h"
	l.redisOf(t)
	c := harness.NewFHIR(t)
	clock := &testClock{}
	loc, err := time.LoadLocation(l.env["UTILREVIEW_TZ"])
	if err != nil {
		t.Fatal(err)
	}
	start := clock.Now().Add(-43 * time.Hour).Truncate(time.Second).In(loc)

	// A Medicare beneficiary in observation since start, still there.
	sfx := idSuffix()
	tag := []any{map[string]any{"system": l.tag.System, "code": l.tag.Code}}
	res := []map[string]any{
		{"resourceType": "Organization", "id": "medicare-" + sfx, "active": true, "name": "Medicare",
			"type": []any{map[string]any{"coding": []any{map[string]any{"system": "http://terminology.hl7.org/CodeSystem/organization-type", "code": "pay"}}}}},
		{"resourceType": "Patient", "id": "obs-" + sfx, "gender": "unknown", "birthDate": "1948-03-02"},
		{"resourceType": "Coverage", "id": "cov-obs-" + sfx, "status": "active", "beneficiary": map[string]any{"reference": "Patient/obs-" + sfx},
			"period": map[string]any{"start": "2026-01-01"}, "payor": []any{map[string]any{"reference": "Organization/medicare-" + sfx}}},
		{"resourceType": "Encounter", "id": "enc-obs-" + sfx, "status": "in-progress",
			"class":   map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OBSENC"},
			"subject": map[string]any{"reference": "Patient/obs-" + sfx}, "period": map[string]any{"start": start.Format(time.RFC3339)},
			"reasonCode": []any{map[string]any{"coding": []any{map[string]any{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "R07.9"}}}}},
	}
	var entries []any
	for _, r := range res {
		r["meta"] = map[string]any{"tag": tag}
		ref := r["resourceType"].(string) + "/" + r["id"].(string)
		entries = append(entries, map[string]any{"fullUrl": c.Base + "/" + ref, "resource": r, "request": map[string]any{"method": "PUT", "url": ref}})
	}
	file := collectionFile(t, c.Base, res)
	offlineAt := func(at time.Time) (map[string]worklisttest.Item, map[string]worklisttest.Item) {
		l.env["UTILREVIEW_AS_OF"] = at.In(loc).Format(time.RFC3339)
		defer func() { l.env["UTILREVIEW_AS_OF"] = "" }()
		return l.offline(t, file)
	}

	svc := l.run(t, "127.0.0.1:0", serveOptions{now: clock.Now})
	c.Transaction(map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": entries})
	// The Encounter's notification, as HAPI sends it (TestServeEqualsReview
	// proves HAPI's delivery).
	notify(t, svc.base, l.env["UTILREVIEW_WEBHOOK_SECRET"], c.Get("Encounter/enc-obs-"+sfx).MustStatus(t, http.StatusOK).Body)
	versions := func() string {
		r := c.Get("Encounter/enc-obs-"+sfx).MustStatus(t, http.StatusOK).Resource(t)
		return fmt.Sprint(r["meta"].(map[string]any)["versionId"])
	}
	encVersion := versions()

	// Hour 43: the observation Tasks of 24 hours and of the second midnight,
	// not yet the 48-hour one; the service settles.
	wantTasks, wantRequests := offlineAt(clock.Now())
	if has48h(wantTasks) {
		t.Fatalf("offline at hour 43 already finds observation-48h")
	}
	if len(wantTasks) == 0 {
		t.Fatalf("offline at hour 43 finds nothing for the observation stay, want its MOON and second-midnight Tasks")
	}
	l.converge(t, c, wantTasks, wantRequests, 5*time.Second)
	if has48h(worklisttest.Server(t, c, "Task", l.system)) {
		t.Fatal("the observation-48h Task exists at hour 43")
	}

	// Move the clock past hour 44 (it was ~43 h plus the seconds the test
	// took): nothing is written to the server, the wake-up alone must bring
	// the review.
	wakeups := metric(t, svc.base, "utilreview_queue_wakeups_fired_total")
	jump := start.Add(44*time.Hour + 5*time.Second).Sub(clock.Now())
	clock.Advance(jump)
	crossed := time.Now()
	harness.Eventually(t, time.Minute, 500*time.Millisecond, "the observation-48h Task appears within a minute of hour 44", func() (bool, error) {
		return has48h(worklisttest.Server(t, c, "Task", l.system)), fmt.Errorf("no observation-48h Task")
	})
	t.Logf("observation-48h Task %s after the clock passed hour 44 (moved %s ahead)", time.Since(crossed).Round(100*time.Millisecond), jump.Round(time.Second))
	if n := metric(t, svc.base, "utilreview_queue_wakeups_fired_total"); n <= wakeups {
		t.Errorf("wake-ups fired: %v before the clock moved, %v after, want more", wakeups, n)
	}
	if v := versions(); v != encVersion {
		t.Errorf("the Encounter is at version %s, want %s: the test wrote nothing", v, encVersion)
	}

	wantTasks, wantRequests = offlineAt(clock.Now())
	if !has48h(wantTasks) {
		t.Fatalf("offline after hour 44 does not find observation-48h")
	}
	l.converge(t, c, wantTasks, wantRequests, 5*time.Second)
}

func has48h(items map[string]worklisttest.Item) bool {
	for _, it := range items {
		if it.Code == "observation-48h" && it.Status == "requested" {
			return true
		}
	}
	return false
}
