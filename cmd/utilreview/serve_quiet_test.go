package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/utilreview/utilreview/e2e/harness"
	"github.com/utilreview/utilreview/e2e/worklisttest"
)

// quietFor is issue 6's quiet proof: after convergence, with nothing
// changing, no write for 2 minutes. The test runs in parallel with the
// other serve tests (make test runs them with -parallel 8), so its wait
// overlaps theirs instead of adding to the run's wall time.
const quietFor = 2 * time.Minute

// TestServeQuiet is issue 6's proofs of quiet and of the skipped own
// writes, against HAPI's real deliveries: after the worklist converged,
// with nothing changing for 2 minutes, the service makes no write (no new
// version of any of its Tasks or CommunicationRequests in HAPI's
// _history, and its write metrics unchanged); the notifications of its own
// Task and CommunicationRequest writes (HAPI delivers every one of them)
// were answered without a review (outcome own-write). Then a clinician's
// edit of a Task (a note) is a version the service did not write: it is
// queued and reviewed, and the review writes nothing (the note is the
// clinician's).
func TestServeQuiet(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped under -short: 2 minutes against HAPI and Redis")
	}
	t.Parallel()
	l := newLiveEnv(t, "2026-11-20T12:00:00-05:00")
	// The first catch-up after the data were written finds them all (it
	// cannot know the webhook queued them) and reviews each patient once
	// more; at a 20 s interval that falls before the quiet's last 90 s, in
	// which not even a review may happen. Later catch-ups find only versions
	// already queued, or the service's own.
	l.env["UTILREVIEW_CATCHUP_INTERVAL"] = "20s"
	l.redisOf(t)
	base, _ := l.start(t, "")
	c := harness.NewFHIR(t)
	st := c.PutBundle("../../testdata/examples/ur-scenarios.json", idSuffix(), l.tag)
	wantTasks, wantRequests := l.offline(t, st.File)
	l.converge(t, c, wantTasks, wantRequests, 5*time.Second)

	// HAPI delivers the notifications of the service's writes about a
	// second after each: wait until they came and were recognised.
	harness.Eventually(t, 60*time.Second, time.Second, "notifications of the service's own writes answered as own-write", func() (bool, error) {
		n := metricWith(t, base, "utilreview_notifications_received_total", `outcome="own-write"`)
		return n > 0, fmt.Errorf("%v own-write notifications", n)
	})

	// The quiet: from the newest version of the test's Tasks and
	// CommunicationRequests, nothing new in HAPI's history for 2 minutes.
	// The catch-ups of those minutes (every 60 s) find the service's own
	// Tasks again and skip them too.
	since := l.newestVersion(t, c)
	writes := metric(t, base, "utilreview_writes_total")
	reviews := metric(t, base, "utilreview_review_duration_seconds_count")
	quietStart := time.Now()
	deadline := quietStart.Add(quietFor)
	settled := -1.0 // reviews when the first 30 s of the quiet are over (work in flight at its start)
	for time.Now().Before(deadline) {
		time.Sleep(min(15*time.Second, time.Until(deadline)))
		if n := l.historySince(t, c, since); n != 0 {
			t.Fatalf("%d new versions of the service's Tasks and CommunicationRequests %s into the quiet, want none", n, time.Since(quietStart).Round(time.Second))
		}
		if w := metric(t, base, "utilreview_writes_total"); w != writes {
			t.Fatalf("utilreview_writes_total moved from %v to %v %s into the quiet, want no write", writes, w, time.Since(quietStart).Round(time.Second))
		}
		if settled < 0 && time.Since(quietStart) >= 30*time.Second {
			settled = metric(t, base, "utilreview_review_duration_seconds_count")
		}
	}
	// Not even a review in the last 90 s (four catch-ups ran in them): the
	// catch-ups' hits were the service's own Task versions or versions an
	// earlier catch-up had already queued.
	final := metric(t, base, "utilreview_review_duration_seconds_count")
	own := metricWith(t, base, "utilreview_notifications_received_total", `outcome="own-write"`)
	puts := metricWith(t, base, "utilreview_notifications_received_total", `style="put"`)
	t.Logf("quiet for %s: no write; %v of %v rest-hook notifications were the service's own writes, skipped; %v reviews in the quiet's first 30 s, %v after; %v catch-up hits skipped as own writes, %v catch-ups",
		quietFor, own, puts, settled-reviews, final-settled,
		metricWith(t, base, "utilreview_queue_own_writes_skipped_total", `reason="catch-up"`), metric(t, base, "utilreview_catchups_total"))
	if final != settled {
		t.Errorf("%v reviews in the last 90 s of the quiet, want none (nothing changed)", final-settled)
	}

	// A clinician's edit: a note on an open Task. Its notification is not
	// the service's own version: queued and reviewed, and nothing written.
	task := serverTask(t, c, l.system, "two-midnight", firstEncounter(t, st.Resources, "e2-"))
	task["note"] = []any{map[string]any{"text": "called the attending; awaiting the note"}}
	edited := c.Put("Task/"+task["id"].(string), task).MustStatus(t, http.StatusOK).Resource(t)
	version := edited["meta"].(map[string]any)["versionId"]
	reviews = metric(t, base, "utilreview_review_duration_seconds_count")
	accepted := metricWith(t, base, "utilreview_notifications_received_total", `outcome="accepted"`)
	harness.Eventually(t, 90*time.Second, 500*time.Millisecond, "the clinician's Task edit is queued and reviewed", func() (bool, error) {
		a := metricWith(t, base, "utilreview_notifications_received_total", `outcome="accepted"`)
		r := metric(t, base, "utilreview_review_duration_seconds_count")
		return a > accepted && r > reviews, fmt.Errorf("accepted notifications %v -> %v, reviews %v -> %v", accepted, a, reviews, r)
	})
	if w := metric(t, base, "utilreview_writes_total"); w != writes {
		t.Errorf("utilreview_writes_total moved from %v to %v after a clinician's note, want no write", writes, w)
	}
	got := c.Get("Task/"+task["id"].(string)).MustStatus(t, http.StatusOK).Resource(t)
	if v := got["meta"].(map[string]any)["versionId"]; v != version {
		t.Errorf("the noted Task is at version %v, want the clinician's %v", v, version)
	}
}

// firstEncounter is "Encounter/<id>" of the stored Encounter whose id
// starts with prefix.
func firstEncounter(t *testing.T, resources []map[string]any, prefix string) string {
	t.Helper()
	for _, r := range resources {
		if id, _ := r["id"].(string); r["resourceType"] == "Encounter" && strings.HasPrefix(id, prefix) {
			return "Encounter/" + id
		}
	}
	t.Fatalf("no Encounter %s*", prefix)
	return ""
}

// newestVersion is the latest meta.lastUpdated of the test's Tasks and
// CommunicationRequests.
func (l *liveEnv) newestVersion(t *testing.T, c *harness.FHIR) time.Time {
	t.Helper()
	var newest time.Time
	for _, typ := range []string{"Task", "CommunicationRequest"} {
		for _, it := range worklisttest.Server(t, c, typ, l.system) {
			lu, err := time.Parse(time.RFC3339Nano, it.LastUpdated)
			if err != nil {
				t.Fatalf("lastUpdated %q: %v", it.LastUpdated, err)
			}
			if lu.After(newest) {
				newest = lu
			}
		}
	}
	if newest.IsZero() {
		t.Fatal("the service wrote nothing")
	}
	return newest
}

// historySince counts the versions of the test's Tasks and
// CommunicationRequests (identifier in its system) written after since,
// from the type-level _history HAPI keeps (other tests' versions are in it
// too and are left out).
func (l *liveEnv) historySince(t *testing.T, c *harness.FHIR, since time.Time) int {
	t.Helper()
	n := 0
	for _, typ := range []string{"Task", "CommunicationRequest"} {
		q := typ + "/_history?_since=" + since.Add(time.Millisecond).UTC().Format("2006-01-02T15:04:05.000Z") + "&_count=500"
		raws, _ := c.SearchAll(q, 20)
		for _, raw := range raws {
			var r map[string]any
			if err := json.Unmarshal(raw, &r); err != nil {
				t.Fatal(err)
			}
			if idValue(r, l.system) != "" {
				n++
			}
		}
	}
	return n
}

// TestServeCatchUpDelete: a resource deleted while no notification can
// tell of it (the service has no Subscriptions here; the same holds while
// it is down past HAPI's retry minute, or when HAPI drops the send-delete
// notification, which docs/fhir-server-behaviour.md saw once under load)
// is found by the catch-up in the type's _history, and the patient's review
// reconciles: a patient's only Coverage deleted, its observation Task
// (which needed the payer's rules) is cancelled and a missing-coverage Task
// appears, exactly as review finds over the resources left.
func TestServeCatchUpDelete(t *testing.T) {
	t.Parallel()
	l := newLiveEnv(t, "2026-11-20T12:00:00-05:00")
	l.env["UTILREVIEW_SUBSCRIPTIONS"] = "off"
	l.env["UTILREVIEW_CATCHUP_INTERVAL"] = "3s"
	l.redisOf(t)
	c := harness.NewFHIR(t)
	svc := l.run(t, "127.0.0.1:0", serveOptions{})
	st := c.PutBundle("../../testdata/examples/ur-scenarios.json", idSuffix(), l.tag)
	tasks, requests := l.offline(t, st.File)
	l.converge(t, c, tasks, requests, 3*time.Second)

	var left []map[string]any
	deleted := ""
	for _, r := range st.Resources {
		if id, _ := r["id"].(string); r["resourceType"] == "Coverage" && strings.HasPrefix(id, "cov-p3-") {
			deleted = "Coverage/" + id
			continue
		}
		left = append(left, r)
	}
	if deleted == "" {
		t.Fatal("no Coverage cov-p3 in the examples")
	}
	c.Delete(deleted).MustStatus(t, http.StatusOK, http.StatusNoContent)
	wantTasks, wantRequests := l.offline(t, collectionFile(t, c.Base, left))
	if d := worklisttest.Diff(tasks, wantTasks); d == "" {
		t.Fatal("review finds the same worklist without the Coverage: the test proves nothing")
	}
	wantTasks, wantRequests = withCancelled(tasks, wantTasks), withRevoked(requests, wantRequests)
	l.converge(t, c, wantTasks, wantRequests, 3*time.Second)
	if n := metricWith(t, svc.base, "utilreview_catchup_deletes_total", `outcome="enqueued"`); n < 1 {
		t.Errorf("utilreview_catchup_deletes_total{outcome=enqueued} %v, want at least 1", n)
	}
}

// TestServeQuietRealClock: the quiet with the clock moving (the real one,
// no UTILREVIEW_AS_OF), over the examples. Findings whose deadline counts
// from the review that raised them (the Capital plan's custom check,
// deadline_from: review) once moved their deadline at every review, and the
// service rewrote one Task every second or two, woken by its own wake-ups,
// while TestServeQuiet, at a fixed clock, saw nothing. After the writes
// settle, a minute passes with no write and no wake-up.
func TestServeQuietRealClock(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped under -short: over a minute against HAPI and Redis")
	}
	t.Parallel()
	l := newLiveEnv(t, "")
	l.redisOf(t)
	base, _ := l.start(t, "")
	c := harness.NewFHIR(t)
	st := c.PutBundle("../../testdata/examples/ur-scenarios.json", idSuffix(), l.tag)
	if len(st.Resources) < 30 {
		t.Fatalf("%d resources stored", len(st.Resources))
	}
	// Settled: Tasks written, and no write for 15 s.
	last, stable := -1.0, time.Now()
	harness.Eventually(t, 120*time.Second, time.Second, "the service's writes settled", func() (bool, error) {
		w := metric(t, base, "utilreview_writes_total")
		if w != last {
			last, stable = w, time.Now()
		}
		return w > 0 && time.Since(stable) >= 15*time.Second, fmt.Errorf("%v writes, the last %s ago", w, time.Since(stable).Round(time.Second))
	})
	writes := metric(t, base, "utilreview_writes_total")
	wakeups := metric(t, base, "utilreview_queue_wakeups_fired_total")
	time.Sleep(time.Minute)
	if w := metric(t, base, "utilreview_writes_total"); w != writes {
		t.Errorf("utilreview_writes_total moved from %v to %v in a minute with nothing changed, want no write", writes, w)
	}
	if n := metric(t, base, "utilreview_queue_wakeups_fired_total"); n != wakeups {
		t.Errorf("%v wake-ups fired in a minute with nothing changed, want none before a deadline or horizon", n-wakeups)
	}
}
