package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/utilreview/utilreview/e2e/harness"
	"github.com/utilreview/utilreview/e2e/worklisttest"
)

// liveEnv is the environment of one test's services: its own instance,
// Redis prefix, identifier system and subscription filter (a tag on its
// resources), so tests sharing HAPI and Redis never see each other's work.
type liveEnv struct {
	env    map[string]string
	tag    harness.Tag
	system string
}

func newLiveEnv(t *testing.T, asOf string) *liveEnv {
	t.Helper()
	fhirURL, redisAddr := harness.FHIRURL(t), harness.RedisAddr(t)
	id := harness.UniqueID("serve")
	tag := harness.UniqueTag(t)
	system := "https://utilreview.dev/fhir/identifier/" + id
	return &liveEnv{tag: tag, system: system, env: map[string]string{
		"UTILREVIEW_FHIR_URL":            fhirURL,
		"UTILREVIEW_REDIS_URL":           "redis://" + redisAddr + "/0",
		"UTILREVIEW_WEBHOOK_SECRET":      "test-secret-" + id,
		"UTILREVIEW_INSTANCE":            id,
		"UTILREVIEW_REDIS_PREFIX":        "{" + id + "}:",
		"UTILREVIEW_SUBSCRIPTION_FILTER": "_tag=" + tag.Param(),
		"UTILREVIEW_IDENTIFIER_SYSTEM":   system,
		"UTILREVIEW_AS_OF":               asOf,
		"UTILREVIEW_TZ":                  "America/New_York",
		"UTILREVIEW_SHUTDOWN_TIMEOUT":    "10s",
	}}
}

// start runs `serve` in process on a free loopback port until the test
// ends; publicURL "" makes the service its own public URL. It returns the
// service's base URL and its log.
func (l *liveEnv) start(t *testing.T, publicURL string) (string, *harness.LogBuffer) {
	t.Helper()
	p := l.runAt(t, "127.0.0.1:0", publicURL, serveOptions{})
	// Leave the shared server as found, before the service stops (cleanups
	// run last first): Subscriptions to a closed port keep HAPI retrying.
	t.Cleanup(func() {
		var out bytes.Buffer
		getenv := l.getenv(nil)
		if err := runSubscriptions(context.Background(), []string{"remove", "--watch", "5s"}, getenv, &out, &out); err != nil {
			t.Errorf("subscriptions remove: %v", err)
		}
	})
	return p.base, p.log
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// offline is review's worklist over the stored files, with the service's
// configuration (the same flags and variables).
func (l *liveEnv) offline(t *testing.T, files ...string) (tasks, requests map[string]worklisttest.Item) {
	t.Helper()
	getenv := func(k string) string { return l.env[k] }
	cfg, err := parseServeFlags([]string{"--public-url", "http://127.0.0.1:1"}, getenv, io.Discard, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	opt, err := cfg.options()
	if err != nil {
		t.Fatal(err)
	}
	opt.AsOf = cfg.AsOf
	opt.Checks.Since = time.Date(cfg.AsOf.In(cfg.TZ).Year(), cfg.AsOf.In(cfg.TZ).Month(), cfg.AsOf.In(cfg.TZ).Day(), 0, 0, 0, 0, cfg.TZ).AddDate(0, 0, -cfg.WindowDays)
	return worklisttest.Offline(t, opt, files...)
}

// converge waits until the server's worklist equals want, then until it
// stays unchanged (no Task or CommunicationRequest version moves) for quiet.
func (l *liveEnv) converge(t *testing.T, c *harness.FHIR, wantTasks, wantRequests map[string]worklisttest.Item, quiet time.Duration) {
	t.Helper()
	var last string
	harness.Eventually(t, 120*time.Second, time.Second, "the server's worklist equals review's", func() (bool, error) {
		d := worklisttest.Diff(worklisttest.Server(t, c, "Task", l.system), wantTasks)
		if d == "" {
			d = worklisttest.Diff(worklisttest.Server(t, c, "CommunicationRequest", l.system), wantRequests)
		}
		last = d
		return d == "", fmt.Errorf("%s", d)
	})
	_ = last
	snapshot := func() string {
		var b strings.Builder
		for _, typ := range []string{"Task", "CommunicationRequest"} {
			items := worklisttest.Server(t, c, typ, l.system)
			keys := make([]string, 0, len(items))
			for k := range items {
				keys = append(keys, k)
			}
			sortStrings(keys)
			for _, k := range keys {
				fmt.Fprintf(&b, "%s %s %s\n", k, items[k].Version, items[k].LastUpdated)
			}
		}
		return b.String()
	}
	prev := snapshot()
	stableSince := time.Now()
	harness.Eventually(t, 120*time.Second, 2*time.Second, "the worklist stays unchanged (no write) for "+quiet.String(), func() (bool, error) {
		now := snapshot()
		if now != prev {
			prev, stableSince = now, time.Now()
		}
		return time.Since(stableSince) >= quiet, fmt.Errorf("still changing")
	})
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// TestServeEqualsReview runs the whole loop against the real HAPI and
// Redis: resources written to the FHIR server reach the service by
// Subscription, queue and processing, and within a deadline the Tasks and
// CommunicationRequests on the server are exactly those `review` finds over
// the same resources; then the service stays quiet (its own writes come
// back as notifications and change nothing). Every notification is then
// replayed three times, shuffled, to two replicas sharing one Redis: no
// identifier gets a second Task.
func TestServeEqualsReview(t *testing.T) {
	t.Parallel()
	l := newLiveEnv(t, "2026-11-20T12:00:00-05:00")
	base, log := l.start(t, "")
	c := harness.NewFHIR(t)
	suffix := harness.UniqueID("")
	st := c.PutBundle("../../testdata/examples/ur-scenarios.json", suffix[len(suffix)-8:], l.tag)
	wantTasks, wantRequests := l.offline(t, st.File)
	if len(wantTasks) < 20 {
		t.Fatalf("offline review found %d findings, want at least 20", len(wantTasks))
	}
	l.converge(t, c, wantTasks, wantRequests, 15*time.Second)

	// A clinician completes the status review of stay e2 in the EHR (the
	// two-midnight review, which can change the claim; its admission review
	// is moot, the stay having ended before the as-of time, so it has no
	// Task): the Task's notifications (utilreview follows its own Tasks by
	// their identifier system) have the patient reviewed again, and the
	// claim held for those reviews (claim-before-determination on c2) is
	// released: its untouched Task cancelled. The result equals review's
	// over the same resources with the completed Tasks among them.
	sfx := st.Resources[0]["id"].(string)[strings.LastIndex(st.Resources[0]["id"].(string), "-")+1:]
	held := serverTask(t, c, l.system, "claim-before-determination", "Claim/c2-"+sfx)
	var completed []map[string]any
	for _, check := range []string{"two-midnight"} {
		review := serverTask(t, c, l.system, check, "Encounter/e2-"+sfx)
		review["status"] = "completed"
		completed = append(completed, c.Put("Task/"+review["id"].(string), review).MustStatus(t, http.StatusOK).Resource(t))
	}
	harness.Eventually(t, 120*time.Second, time.Second, "the held claim's Task cancelled", func() (bool, error) {
		got := c.Get("Task/"+held["id"].(string)).MustStatus(t, http.StatusOK).Resource(t)
		return got["status"] == "cancelled", fmt.Errorf("status %v", got["status"])
	})
	withDone := append(append([]map[string]any(nil), st.Resources...), completed...)
	wantTasks, wantRequests = l.offline(t, collectionFile(t, c.Base, withDone))
	// The completed and the cancelled Tasks stay on the server as they are.
	onServer := worklisttest.Server(t, c, "Task", l.system)
	closed := map[string]string{idValue(held, l.system): "cancelled"}
	for _, done := range completed {
		closed[idValue(done, l.system)] = "completed"
	}
	for id, status := range closed {
		if _, open := wantTasks[id]; open || onServer[id].Status != status {
			t.Fatalf("Task %s: offline open %v, on the server %q; want closed, %s", id, open, onServer[id].Status, status)
		}
		wantTasks[id] = onServer[id]
	}
	l.converge(t, c, wantTasks, wantRequests, 10*time.Second)

	// A second replica on the same Redis and instance.
	base2, _ := l.start(t, base)
	secret := l.env["UTILREVIEW_WEBHOOK_SECRET"]
	type delivery struct {
		base string
		body []byte
	}
	var ds []delivery
	for _, r := range st.Resources {
		if r["resourceType"] == "Organization" {
			continue
		}
		body, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 3; i++ {
			ds = append(ds, delivery{base, body}, delivery{base2, body})
		}
	}
	rand.Shuffle(len(ds), func(i, j int) { ds[i], ds[j] = ds[j], ds[i] })
	for _, d := range ds {
		notify(t, d.base, secret, d.body)
	}
	l.converge(t, c, wantTasks, wantRequests, 10*time.Second)

	// No PHI in the log: the examples' names, birth dates and identifier
	// values never appear.
	out := log.String()
	for _, r := range st.Resources {
		for _, v := range phiValues(r) {
			if strings.Contains(out, v) {
				t.Errorf("the service log contains a %s value of %s/%s", "PHI", r["resourceType"], r["id"])
			}
		}
	}
}

// phiValues are a resource's values that must never be logged: names,
// birth dates, identifier values, free text.
func phiValues(r map[string]any) []string {
	var out []string
	for _, n := range asList(r["name"]) {
		nm, _ := n.(map[string]any)
		for _, g := range asList(nm["given"]) {
			if s, _ := g.(string); len(s) > 3 {
				out = append(out, s)
			}
		}
		if s, _ := nm["family"].(string); len(s) > 3 {
			out = append(out, s)
		}
	}
	if s, _ := r["birthDate"].(string); s != "" {
		out = append(out, s)
	}
	for _, id := range asList(r["identifier"]) {
		im, _ := id.(map[string]any)
		if s, _ := im["value"].(string); len(s) > 3 {
			out = append(out, s)
		}
	}
	return out
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// serverTask is the test's Task of a check on a focus.
func serverTask(t *testing.T, c *harness.FHIR, system, check, focus string) map[string]any {
	t.Helper()
	m, err := findTask(c, system, check, "focus", focus)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// findTask is the Task of a check among the test's Tasks (identifier
// system) that a search parameter (focus, patient) finds.
func findTask(c *harness.FHIR, system, check, param, value string) (map[string]any, error) {
	raws, _ := c.SearchAll(harness.Query("Task", "identifier", system+"|", param, value), 5)
	for _, raw := range raws {
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, err
		}
		if codeOf(m) == check {
			return m, nil
		}
	}
	return nil, fmt.Errorf("no %s Task among the %d with %s %s", check, len(raws), param, value)
}

func codeOf(task map[string]any) string {
	code, _ := task["code"].(map[string]any)
	for _, c := range asList(code["coding"]) {
		if s, _ := c.(map[string]any)["code"].(string); s != "" {
			return s
		}
	}
	return ""
}

// idValue is a resource's identifier value in system ("" system: the first).
func idValue(r map[string]any, system string) string {
	for _, x := range asList(r["identifier"]) {
		m, _ := x.(map[string]any)
		if system == "" || m["system"] == system {
			s, _ := m["value"].(string)
			return s
		}
	}
	return ""
}
