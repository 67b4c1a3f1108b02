package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
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
	for time.Now().Before(deadline) {
		time.Sleep(min(15*time.Second, time.Until(deadline)))
		if n := l.historySince(t, c, since); n != 0 {
			t.Fatalf("%d new versions of the service's Tasks and CommunicationRequests %s into the quiet, want none", n, time.Since(quietStart).Round(time.Second))
		}
		if w := metric(t, base, "utilreview_writes_total"); w != writes {
			t.Fatalf("utilreview_writes_total moved from %v to %v %s into the quiet, want no write", writes, w, time.Since(quietStart).Round(time.Second))
		}
	}
	own := metricWith(t, base, "utilreview_notifications_received_total", `outcome="own-write"`)
	taskPuts := metricWith(t, base, "utilreview_notifications_received_total", `style="put"`)
	t.Logf("quiet for %s: no write; %v of %v rest-hook notifications were the service's own writes, skipped; %v reviews during the quiet (catch-up re-reads), %v catch-up hits skipped as own writes",
		quietFor, own, taskPuts, metric(t, base, "utilreview_review_duration_seconds_count")-reviews,
		metricWith(t, base, "utilreview_queue_own_writes_skipped_total", `reason="catch-up"`))

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

// metricWith is the sum of the series of a metric whose labels contain
// label (e.g. `outcome="own-write"`) on base's /metrics.
func metricWith(t *testing.T, base, name, label string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatalf("/metrics: %v", err)
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") || !strings.Contains(line, label) {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			t.Fatalf("/metrics: %q: %v", line, err)
		}
		sum += v
	}
	return sum
}
