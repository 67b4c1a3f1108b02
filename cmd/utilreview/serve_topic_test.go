package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/utilreview/utilreview/e2e/harness"
	"github.com/utilreview/utilreview/e2e/worklisttest"
	"github.com/utilreview/utilreview/service/subscriptions"
)

// TestServeTopicEqualsReview is TestServeEqualsReview's loop in topic mode
// (UTILREVIEW_SUBSCRIPTIONS=topic, Subscriptions Backport IG), against the
// real HAPI and Redis: one Backport Subscription per followed type on the
// test server's topics (e2e/hapi/topics), resources written to HAPI reach the
// service only as HAPI's notification Bundles (the periodic catch-up is set
// far beyond the test's length), and the Tasks and CommunicationRequests on
// the server equal what `review --as-of` finds over the same resources. A
// clinician completing a Task reaches the service through the Task topic.
// The event numbers are recorded per Subscription in Redis, each equal to the
// number of events HAPI sent it; every number arrives (no hole is left), and
// no reset, jump or ping sets off a catch-up beyond the one at start. The
// gap grace is long here: HAPI's two delivery threads are shared with the
// other tests' Subscriptions, whose dead endpoints (services the tests have
// stopped) hold them for a minute of retries each, so a delivery can arrive
// later than the default 30 s on a loaded CI machine and set off a correct,
// but here unwanted, event-gap catch-up.
func TestServeTopicEqualsReview(t *testing.T) {
	t.Parallel()
	l := newLiveEnv(t, "2026-11-20T12:00:00-05:00")
	l.env["UTILREVIEW_SUBSCRIPTIONS"] = "topic"
	// Only notifications may bring the changes: the catch-up runs at start
	// (before anything is written) and then not within the test.
	l.env["UTILREVIEW_CATCHUP_INTERVAL"] = "1h"
	l.env["UTILREVIEW_EVENT_GAP_GRACE"] = "10m"
	rdb, prefix := l.redisOf(t)

	t0 := time.Now()
	base, _ := l.start(t, "")
	t.Logf("topic mode: %d Subscriptions active, service ready %.1f s after start", len(followedTypes()), time.Since(t0).Seconds())

	// The Subscriptions: one per followed type, each on its type's topic.
	c := harness.NewFHIR(t)
	subs := l.topicSubscriptions(t, c)
	if len(subs) != len(followedTypes()) {
		t.Fatalf("%d Subscriptions of the instance, want one per followed type (%d): %v", len(subs), len(followedTypes()), subs)
	}

	events := func() map[string]int64 { return l.eventMax(t, rdb, prefix, subs) }
	sfx := idSuffix()
	probes := l.probeTopics(t, c, sfx, events)
	from := events() // the event numbers after the probes
	// Late probe events (above) may have set off a catch-up; what follows
	// must not.
	catchupsBefore := map[string]float64{}
	for _, trigger := range []string{"request", "event-gap", "interval"} {
		catchupsBefore[trigger] = metricWith(t, base, "utilreview_catchups_total", `trigger="`+trigger+`"`)
	}

	// A subset of the example scenarios: p2 (claim held for the two-midnight
	// review, readmission), p3 (observation), p5 (a commercial payer's
	// admission notification, with a CommunicationRequest), p7 (claims only).
	st := c.PutBundle(scenarioSubset(t, "p2", "p3", "p5", "p7"), sfx, l.tag)
	written := time.Now()
	stored := append(append([]map[string]any(nil), st.Resources...), probes...)
	wantTasks, wantRequests := l.offline(t, collectionFile(t, c.Base, stored))
	if len(wantTasks) < 10 || len(wantRequests) == 0 {
		t.Fatalf("offline review found %d Tasks and %d CommunicationRequests, want at least 10 and 1", len(wantTasks), len(wantRequests))
	}
	harness.Eventually(t, 60*time.Second, 100*time.Millisecond, "the server's Tasks equal review's", func() (bool, error) {
		d := worklisttest.Diff(worklisttest.Server(t, c, "Task", l.system), wantTasks)
		return d == "", fmt.Errorf("%s", d)
	})
	t.Logf("topic mode: the Tasks equal review's %.1f s after the transaction (%d Tasks, %d CommunicationRequests)",
		time.Since(written).Seconds(), len(wantTasks), len(wantRequests))
	l.converge(t, c, wantTasks, wantRequests, 10*time.Second)

	// Every resource written was one event of its type's Subscription.
	counts := map[string]int64{}
	for _, r := range st.Resources {
		counts[r["resourceType"].(string)]++
	}
	// (Eventually: the worklist may converge before a late delivery of an
	// event that changed nothing has arrived.)
	var got map[string]int64
	harness.Eventually(t, 60*time.Second, 250*time.Millisecond, "one event per resource written", func() (bool, error) {
		got = events()
		for _, typ := range []string{"Encounter", "Coverage", "Claim"} {
			if got[typ]-from[typ] != counts[typ] {
				return false, fmt.Errorf("%s Subscription: last event number %d recorded, want %d (%d after the probes, one per %s written)", typ, got[typ], from[typ]+counts[typ], from[typ], typ)
			}
		}
		return true, nil
	})
	// The service's own Task writes come back through the Task topic.
	if got["Task"]-from["Task"] < int64(len(wantTasks)) {
		t.Errorf("Task Subscription: last event number %d recorded, want at least %d (one per Task created)", got["Task"], from["Task"]+int64(len(wantTasks)))
	}

	// A clinician completes the two-midnight review of stay e2: the Task
	// topic brings it, and the claim held for it has its Task cancelled.
	review := serverTask(t, c, l.system, "two-midnight", "Encounter/e2-"+sfx)
	review["status"] = "completed"
	done := c.Put("Task/"+review["id"].(string), review).MustStatus(t, http.StatusOK).Resource(t)
	held := serverTask(t, c, l.system, "claim-before-determination", "Claim/c2-"+sfx)
	harness.Eventually(t, 60*time.Second, 250*time.Millisecond, "the held claim's Task cancelled", func() (bool, error) {
		got := c.Get("Task/"+held["id"].(string)).MustStatus(t, http.StatusOK).Resource(t)
		return got["status"] == "cancelled", fmt.Errorf("status %v", got["status"])
	})
	withDone := append(append([]map[string]any(nil), stored...), done)
	wantTasks, wantRequests = l.offline(t, collectionFile(t, c.Base, withDone))
	onServer := worklisttest.Server(t, c, "Task", l.system)
	for id, status := range map[string]string{idValue(done, l.system): "completed", idValue(held, l.system): "cancelled"} {
		if _, open := wantTasks[id]; open || onServer[id].Status != status {
			t.Fatalf("Task %s: offline open %v, on the server %q; want closed, %s", id, open, onServer[id].Status, status)
		}
		wantTasks[id] = onServer[id]
	}
	l.converge(t, c, wantTasks, wantRequests, 10*time.Second)

	// A type the scenarios do not write: a Condition recorded for the
	// observation stay e4 reaches the service through its own topic (the
	// Condition Subscription's next event), and the worklist equals review's
	// over the resources with the Condition among them.
	before := events()["Condition"]
	cond := map[string]any{
		"resourceType": "Condition", "id": "cond-e4-" + sfx,
		"meta":           map[string]any{"tag": []any{map[string]any{"system": l.tag.System, "code": l.tag.Code}}},
		"clinicalStatus": map[string]any{"coding": []any{map[string]any{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}}},
		"category":       []any{map[string]any{"coding": []any{map[string]any{"system": "http://terminology.hl7.org/CodeSystem/condition-category", "code": "encounter-diagnosis"}}}},
		"code":           map[string]any{"coding": []any{map[string]any{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "R07.9"}}},
		"subject":        map[string]any{"reference": "Patient/p3-" + sfx},
		"encounter":      map[string]any{"reference": "Encounter/e4-" + sfx},
	}
	cond = c.Put("Condition/cond-e4-"+sfx, cond).MustStatus(t, http.StatusCreated).Resource(t)
	harness.Eventually(t, 30*time.Second, 100*time.Millisecond, "the Condition event recorded", func() (bool, error) {
		n := events()["Condition"]
		return n == before+1, fmt.Errorf("Condition Subscription: last event %d, want %d", n, before+1)
	})
	wantTasks, wantRequests = l.offline(t, collectionFile(t, c.Base, append(withDone, cond)))
	for _, id := range []string{idValue(done, l.system), idValue(held, l.system)} {
		wantTasks[id] = onServer[id] // closed: stay as they are
	}
	l.converge(t, c, wantTasks, wantRequests, 5*time.Second)

	// Latency per event: an Encounter changed (its narrative only, which no
	// check reads) is recorded as the next event number of the Encounter
	// Subscription; the worklist does not move.
	enc := c.Get("Encounter/e4-"+sfx).MustStatus(t, http.StatusOK).Resource(t)
	var lat []time.Duration
	for i := 1; i <= 5; i++ {
		before := events()["Encounter"]
		enc["text"] = map[string]any{"status": "generated", "div": fmt.Sprintf(`<div xmlns="http://www.w3.org/1999/xhtml">revision %d</div>`, i)}
		start := time.Now()
		enc = c.Put("Encounter/e4-"+sfx, enc).MustStatus(t, http.StatusOK).Resource(t)
		harness.Eventually(t, 30*time.Second, 20*time.Millisecond, "the Encounter event recorded", func() (bool, error) {
			n := events()["Encounter"]
			return n == before+1, fmt.Errorf("last event %d, want %d", n, before+1)
		})
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	t.Logf("topic mode: write to HAPI until its event number is recorded: min %v, median %v, max %v (5 updates)",
		lat[0].Round(time.Millisecond), lat[2].Round(time.Millisecond), lat[4].Round(time.Millisecond))
	l.converge(t, c, wantTasks, wantRequests, 5*time.Second)

	// Everything came by topic notification; the one catch-up was the start's.
	if n := metricWith(t, base, "utilreview_notifications_received_total", `style="bundle"`); n == 0 {
		t.Error("no notification Bundle received")
	}
	if n := metricWith(t, base, "utilreview_notifications_received_total", `style="put"`); n != 0 {
		t.Errorf("%v rest-hook PUTs received in topic mode, want 0", n)
	}
	for _, trigger := range []string{"request", "event-gap", "interval"} {
		if n := metricWith(t, base, "utilreview_catchups_total", `trigger="`+trigger+`"`) - catchupsBefore[trigger]; n != 0 {
			t.Errorf("%v catch-ups triggered by %s after the probes, want 0 (no gap, reset or ping in an orderly run)", n, trigger)
		}
	}
	// Every event number arrives, late ones included.
	harness.Eventually(t, 90*time.Second, 500*time.Millisecond, "no event number missing", func() (bool, error) {
		var missing []string
		for sub, typ := range subs {
			holes, err := rdb.ZCard(context.Background(), prefix+"events:"+sub+":holes").Result()
			if err != nil {
				return false, err
			}
			if holes != 0 {
				missing = append(missing, fmt.Sprintf("%s (%s): %d", sub, typ, holes))
			}
		}
		return len(missing) == 0, fmt.Errorf("event numbers still missing: %v", missing)
	})
}

// probeTopics writes a probe patient's Encounter, Coverage, Claim and
// Condition (tagged, so followed) until the service has recorded an event of
// each type's Subscription, and returns the probe's resources as stored.
// HAPI answers a Subscription "active" before it delivers on it: it
// activates by writing the status and registers the Subscription for
// matching only when it processes that write, asynchronously (0.1 to 0.7 s
// later on an idle server); a write in between is never notified, and this
// test has no periodic catch-up to find it.
func (l *liveEnv) probeTopics(t *testing.T, c *harness.FHIR, sfx string, events func() map[string]int64) []map[string]any {
	t.Helper()
	tag := []any{map[string]any{"system": l.tag.System, "code": l.tag.Code}}
	coding := func(system, code string) map[string]any {
		return map[string]any{"coding": []any{map[string]any{"system": system, "code": code}}}
	}
	ref := func(r string) map[string]any { return map[string]any{"reference": r} }
	pat, org := "Patient/probe-"+sfx, "Organization/probe-"+sfx
	var stored []map[string]any
	for _, r := range []map[string]any{
		{"resourceType": "Organization", "id": "probe-" + sfx, "meta": map[string]any{"tag": tag}, "name": "Probe payer"},
		{"resourceType": "Patient", "id": "probe-" + sfx, "meta": map[string]any{"tag": tag}},
	} {
		stored = append(stored, c.Put(r["resourceType"].(string)+"/"+r["id"].(string), r).MustStatus(t, http.StatusCreated).Resource(t))
	}
	probes := []map[string]any{
		{"resourceType": "Encounter", "id": "probe-" + sfx, "status": "cancelled",
			"class": map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"}, "subject": ref(pat),
			"period": map[string]any{"start": "2026-11-19T09:00:00-05:00", "end": "2026-11-19T09:30:00-05:00"}},
		{"resourceType": "Coverage", "id": "probe-" + sfx, "status": "cancelled", "beneficiary": ref(pat), "payor": []any{ref(org)}},
		{"resourceType": "Claim", "id": "probe-" + sfx, "status": "entered-in-error",
			"type": coding("http://terminology.hl7.org/CodeSystem/claim-type", "professional"), "use": "claim", "patient": ref(pat),
			"created": "2026-11-19T10:00:00-05:00", "provider": ref(org),
			"priority":  coding("http://terminology.hl7.org/CodeSystem/processpriority", "normal"),
			"insurance": []any{map[string]any{"sequence": 1, "focal": true, "coverage": ref("Coverage/probe-" + sfx)}}},
		{"resourceType": "Condition", "id": "probe-" + sfx, "subject": ref(pat),
			"clinicalStatus": coding("http://terminology.hl7.org/CodeSystem/condition-clinical", "resolved"),
			"code":           coding("http://hl7.org/fhir/sid/icd-10-cm", "Z00.00")},
	}
	start := time.Now()
	base := events()
	for attempt := 1; ; attempt++ {
		for _, r := range probes {
			r["meta"] = map[string]any{"tag": tag}
			r["text"] = map[string]any{"status": "generated", "div": fmt.Sprintf(`<div xmlns="http://www.w3.org/1999/xhtml">probe %d</div>`, attempt)}
			c.Put(r["resourceType"].(string)+"/"+r["id"].(string), r).MustStatus(t, http.StatusOK, http.StatusCreated)
		}
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			now, missing := events(), ""
			for _, r := range probes {
				if typ := r["resourceType"].(string); now[typ] <= base[typ] {
					missing += " " + typ
				}
			}
			if missing == "" {
				t.Logf("topic mode: every probed Subscription delivers, %.1f s after ready (probe written %d times)", time.Since(start).Seconds(), attempt)
				settleProbes(t, probes, base, attempt, events)
				for _, r := range probes {
					stored = append(stored, c.Get(r["resourceType"].(string)+"/"+r["id"].(string)).MustStatus(t, http.StatusOK).Resource(t))
				}
				return stored
			}
			if attempt == 12 && time.Now().Add(100*time.Millisecond).After(deadline) {
				t.Fatalf("no event after 12 probe writes:%s", missing)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// settleProbes waits until the probe writes' events have stopped coming.
// On a loaded server the writes made before HAPI registered a Subscription
// for matching may still be delivered, late and out of order (a CI run saw
// 8 of 9 arrive after the test had moved on): every write's event recorded,
// or no new event for 10 s, within 60 s.
func settleProbes(t *testing.T, probes []map[string]any, base map[string]int64, writes int, events func() map[string]int64) {
	t.Helper()
	last, changed := events(), time.Now()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		now, all := events(), true
		for _, r := range probes {
			typ := r["resourceType"].(string)
			all = all && now[typ] >= base[typ]+int64(writes)
		}
		if all {
			return
		}
		if !maps.Equal(now, last) {
			last, changed = now, time.Now()
		} else if time.Since(changed) > 10*time.Second {
			return
		}
	}
	t.Logf("topic mode: probe events still arriving after 60 s: %v", events())
}

// topicSubscriptions are the instance's Subscriptions on the server, by
// "Subscription/id", each with the followed type whose topic it names.
func (l *liveEnv) topicSubscriptions(t *testing.T, c *harness.FHIR) map[string]string {
	t.Helper()
	byTopic := map[string]string{}
	for _, typ := range followedTypes() {
		byTopic[subscriptions.DefaultTopicURL(typ)] = typ
	}
	raws, _ := c.SearchAll(harness.Query("Subscription", "_tag", subscriptions.DefaultCanonicalBase+"/CodeSystem/instance|"+l.env["UTILREVIEW_INSTANCE"], "_count", "50"), 5)
	out := map[string]string{}
	for _, raw := range raws {
		var s struct {
			ID       string
			Criteria string
			Status   string
			Meta     struct{ Profile []string }
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			t.Fatal(err)
		}
		typ, ok := byTopic[s.Criteria]
		if !ok || s.Status != "active" || !slices.Contains(s.Meta.Profile, subscriptions.BackportProfile) {
			t.Fatalf("Subscription/%s: criteria %q, status %q, profiles %v; want an active Backport Subscription on a followed type's topic", s.ID, s.Criteria, s.Status, s.Meta.Profile)
		}
		out["Subscription/"+s.ID] = typ
	}
	return out
}

// eventMax is the last event number the service recorded per followed type
// (0 for a Subscription that had no event yet).
func (l *liveEnv) eventMax(t *testing.T, rdb *redis.Client, prefix string, subs map[string]string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for sub, typ := range subs {
		v, err := rdb.HGet(context.Background(), prefix+"events:"+sub+":state", "max").Result()
		if errors.Is(err, redis.Nil) {
			continue // none yet
		}
		if err != nil {
			t.Fatalf("%s: %v", sub, err)
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			t.Fatalf("%s: event number %q", sub, v)
		}
		out[typ] = n
	}
	return out
}

// scenarioSubset writes the example scenarios of the given patients (their
// resources and every Organization) to a file for PutBundle.
func scenarioSubset(t *testing.T, patients ...string) string {
	t.Helper()
	data, err := os.ReadFile("../../testdata/examples/ur-scenarios.json")
	if err != nil {
		t.Fatal(err)
	}
	var b struct {
		ResourceType string            `json:"resourceType"`
		Type         string            `json:"type"`
		Entry        []json.RawMessage `json:"entry"`
	}
	if err := json.Unmarshal(data, &b); err != nil {
		t.Fatal(err)
	}
	var keep []json.RawMessage
	for _, raw := range b.Entry {
		var e struct {
			Resource map[string]any `json:"resource"`
		}
		if err := json.Unmarshal(raw, &e); err != nil {
			t.Fatal(err)
		}
		if scenarioPatient(e.Resource) == "" || slices.Contains(patients, scenarioPatient(e.Resource)) {
			keep = append(keep, raw)
		}
	}
	b.Entry = keep
	out, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "scenarios.json")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// scenarioPatient is the example patient id a resource belongs to, "" for
// an Organization.
func scenarioPatient(r map[string]any) string {
	if r["resourceType"] == "Patient" {
		return r["id"].(string)
	}
	for _, k := range []string{"subject", "patient", "beneficiary"} {
		if ref, ok := r[k].(map[string]any); ok {
			if s, ok := ref["reference"].(string); ok {
				return strings.TrimPrefix(s, "Patient/")
			}
		}
	}
	return ""
}

// TestTopicsForEveryFollowedType: the test server (e2e/hapi/topics, loaded
// by scripts/hapi.sh at start) holds a topic for every type `serve` follows,
// at the canonical topic mode subscribes to, triggered by that type's
// create, update and delete. Without one, HAPI activates the Subscription
// and never notifies (docs/fhir-server-behaviour.md).
func TestTopicsForEveryFollowedType(t *testing.T) {
	files, err := filepath.Glob("../../e2e/hapi/topics/*.json")
	if err != nil {
		t.Fatal(err)
	}
	const ext = "http://hl7.org/fhir/"
	type extension struct {
		URL         string      `json:"url"`
		ValueURI    string      `json:"valueUri"`
		ValueCode   string      `json:"valueCode"`
		ValueString string      `json:"valueString"`
		Extension   []extension `json:"extension"`
	}
	triggers := map[string][]string{} // topic canonical -> "Resource:interaction"
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var b struct {
			ResourceType string
			Code         struct {
				Coding []struct{ System, Code string }
			}
			Extension []extension
		}
		if err := json.Unmarshal(data, &b); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if b.ResourceType != "Basic" || len(b.Code.Coding) != 1 || b.Code.Coding[0].Code != "SubscriptionTopic" {
			t.Errorf("%s: not an R4 SubscriptionTopic (Basic with code SubscriptionTopic)", f)
			continue
		}
		var url string
		var trig []string
		for _, e := range b.Extension {
			switch {
			case e.URL == ext+"5.0/StructureDefinition/extension-SubscriptionTopic.url":
				url = e.ValueURI
			case e.URL == ext+"4.3/StructureDefinition/extension-SubscriptionTopic.resourceTrigger":
				var res string
				var inter []string
				for _, p := range e.Extension {
					switch p.URL {
					case "resource":
						res = p.ValueURI
					case "supportedInteraction":
						inter = append(inter, p.ValueCode)
					}
				}
				for _, i := range inter {
					trig = append(trig, res+":"+i)
				}
			}
		}
		triggers[url] = trig
	}
	for _, typ := range followedTypes() {
		u := subscriptions.DefaultTopicURL(typ)
		got, ok := triggers[u]
		if !ok {
			t.Errorf("%s: no topic %s in e2e/hapi/topics", typ, u)
			continue
		}
		// HAPI 8.8 compares resourceTrigger.resource with the plain type name.
		if want := []string{typ + ":create", typ + ":update", typ + ":delete"}; !slices.Equal(got, want) {
			t.Errorf("%s: topic %s triggers %v, want %v", typ, u, got, want)
		}
	}
}
