package subscriptions_test

// Tests against the real FHIR server of the harness (HAPI FHIR 8.8): skipped
// without one (failed with CI=true). Each test uses its own instance name and a
// filter on its own tag, so tests sharing the server never see each other's
// Subscriptions nor get each other's notifications.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/utilreview/utilreview/e2e/harness"
	"github.com/utilreview/utilreview/fhir"
	"github.com/utilreview/utilreview/service/subscriptions"
)

const (
	tagSystem = "https://utilreview.dev/fhir/CodeSystem/instance"
	// activationTimeout is as long as the end-to-end tests wait: under
	// load HAPI has kept dozens of Subscriptions requested for over a
	// minute before activating them in a batch (docs/fhir-server-behaviour.md);
	// a CI simulation saw 60 s run out.
	activationTimeout = 3 * time.Minute
	deliveryTimeout   = 180 * time.Second
	// unreachable is a PublicURL nobody listens on: the tests that do not
	// look at deliveries filter on a tag no resource carries, so HAPI never
	// tries to deliver there.
	unreachable = "http://127.0.0.1:9"
)

// setup is one test's instance on the shared server.
type setup struct {
	t        *testing.T
	fhir     *harness.FHIR
	client   *fhir.Client
	instance string
	tag      harness.Tag
}

func newSetup(t *testing.T) *setup {
	t.Helper()
	base := harness.FHIRURL(t)
	c, err := fhir.NewClient(fhir.ClientConfig{BaseURL: base})
	if err != nil {
		t.Fatal(err)
	}
	return &setup{t: t, fhir: harness.NewFHIR(t), client: c, instance: harness.UniqueID("sub"), tag: harness.UniqueTag(t)}
}

// config is a rest-hook config of this test's instance, following types, filtered on the test's tag.
func (s *setup) config(types ...string) subscriptions.Config {
	return subscriptions.Config{
		Instance:  s.instance,
		PublicURL: unreachable,
		Secret:    "secret-" + s.instance,
		Types:     types,
		Filter:    "_tag=" + s.tag.Param(),
	}
}

// manager returns a Manager; the instance's Subscriptions are removed when the test ends.
func (s *setup) manager(cfg subscriptions.Config) *subscriptions.Manager {
	s.t.Helper()
	m, err := subscriptions.New(s.client, cfg)
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() {
		// Remove waits for the server to activate what it deletes (see Manager.Remove).
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		if _, err := m.Remove(ctx); err != nil {
			s.t.Errorf("cleanup: %v", err)
		}
	})
	return m
}

func (s *setup) ensure(m *subscriptions.Manager) subscriptions.Report {
	s.t.Helper()
	rep, err := m.Ensure(context.Background())
	if err != nil {
		s.t.Fatalf("Ensure: %v", err)
	}
	return rep
}

// listed returns the Subscriptions on the server that carry the instance tag.
func (s *setup) listed(instance string) []map[string]any {
	s.t.Helper()
	raw, _ := s.fhir.SearchAll(harness.Query("Subscription", "_tag", tagSystem+"|"+instance, "_count", "100"), 10)
	var out []map[string]any
	for _, r := range raw {
		var m map[string]any
		if err := json.Unmarshal(r, &m); err != nil {
			s.t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// byType groups the instance's Subscriptions by the type of their slot tag.
func (s *setup) byType(instance string) map[string][]map[string]any {
	s.t.Helper()
	out := map[string][]map[string]any{}
	for _, sub := range s.listed(instance) {
		typ := "(no slot tag)"
		for _, tag := range sub["meta"].(map[string]any)["tag"].([]any) {
			tg := tag.(map[string]any)
			if code, _ := tg["code"].(string); tg["system"] == tagSystem && strings.HasPrefix(code, instance+":") {
				typ = strings.TrimPrefix(code, instance+":")
			}
		}
		out[typ] = append(out[typ], sub)
	}
	return out
}

// exactlyOneEach fails unless the instance has exactly one Subscription per type and no other.
func (s *setup) exactlyOneEach(instance string, types []string) map[string]map[string]any {
	s.t.Helper()
	got := s.byType(instance)
	one := map[string]map[string]any{}
	for typ, subs := range got {
		if !slices.Contains(types, typ) {
			s.t.Errorf("Subscription of %s: not followed, should not exist (%d)", typ, len(subs))
		}
	}
	for _, typ := range types {
		if n := len(got[typ]); n != 1 {
			s.t.Errorf("%s: got %d Subscriptions, want 1", typ, n)
			continue
		}
		one[typ] = got[typ][0]
	}
	return one
}

func (s *setup) waitActive(m *subscriptions.Manager) time.Duration {
	s.t.Helper()
	start := time.Now()
	harness.Eventually(s.t, activationTimeout, 100*time.Millisecond, "Active", func() (bool, error) {
		ok, err := m.Active(context.Background())
		if ok || err != nil {
			return ok, err
		}
		var states []string
		for _, sub := range s.listed(s.instance) {
			states = append(states, fmt.Sprintf("%v %v %v", sub["id"], sub["status"], sub["error"]))
		}
		return false, fmt.Errorf("statuses: %v", states)
	})
	return time.Since(start)
}

func channelOf(sub map[string]any) map[string]any { return sub["channel"].(map[string]any) }

func TestEnsureCreatesTheSetOnHAPI(t *testing.T) {
	t.Parallel()
	s := newSetup(t)
	cfg := s.config(subscriptions.DefaultTypes...)
	m := s.manager(cfg)

	start := time.Now()
	rep := s.ensure(m)
	t.Logf("first Ensure took %s: %+v", time.Since(start).Round(time.Millisecond), rep)
	if rep.Created != len(subscriptions.DefaultTypes) || rep.Repaired != 0 || rep.Deleted != 0 {
		t.Errorf("first Ensure: got %+v, want %d created", rep, len(subscriptions.DefaultTypes))
	}
	for typ, sub := range s.exactlyOneEach(s.instance, subscriptions.DefaultTypes) {
		if got, want := sub["criteria"], typ+"?_tag="+s.tag.Param(); got != want {
			t.Errorf("%s criteria: got %v, want %v", typ, got, want)
		}
		ch := channelOf(sub)
		if ch["type"] != "rest-hook" || ch["endpoint"] != unreachable+"/fhir/notify" || ch["payload"] != "application/fhir+json" {
			t.Errorf("%s channel: got type %v endpoint %v payload %v", typ, ch["type"], ch["endpoint"], ch["payload"])
		}
		if h, _ := ch["header"].([]any); len(h) != 1 || h[0] != "Authorization: Bearer "+cfg.Secret {
			t.Errorf("%s header: got %d headers, want the Authorization header with the secret", typ, len(h))
		}
		ext, _ := ch["extension"].([]any)
		if len(ext) != 1 || ext[0].(map[string]any)["url"] != subscriptions.SendDeleteExtension || ext[0].(map[string]any)["valueBoolean"] != true {
			t.Errorf("%s: send-delete extension: got %v", typ, ext)
		}
	}

	took := s.waitActive(m)
	t.Logf("all %d Subscriptions active %s after Ensure", len(subscriptions.DefaultTypes), took.Round(time.Millisecond))

	again := s.ensure(m)
	if again.Created != 0 || again.Repaired != 0 || again.Deleted != 0 || again.Active != len(subscriptions.DefaultTypes) {
		t.Errorf("second Ensure: got %+v, want nothing done and all %d active", again, len(subscriptions.DefaultTypes))
	}
	s.exactlyOneEach(s.instance, subscriptions.DefaultTypes)
}

func TestEnsureRepairsAndCleansUpOnHAPI(t *testing.T) {
	t.Parallel()
	s := newSetup(t)
	types := []string{"Encounter", "Claim", "Coverage", "Task"}
	var logs bytes.Buffer
	cfg := s.config(types...)
	cfg.Logger = slog.New(slog.NewJSONHandler(&syncWriter{w: &logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	m := s.manager(cfg)

	// The drifted Subscriptions are written by the test, not by Ensure: HAPI
	// activates a requested Subscription late (and sometimes twice), writing
	// the requested version back and undoing a change made in between. These
	// are created off or active, which HAPI's activation leaves alone.
	// Encounter's is off, Claim's points elsewhere, Coverage's is there twice,
	// Task's is missing.
	raw := func(typ, status, endpoint string) map[string]any {
		return map[string]any{
			"resourceType": "Subscription",
			"meta": map[string]any{"tag": []any{
				map[string]any{"system": tagSystem, "code": s.instance},
				map[string]any{"system": tagSystem, "code": s.instance + ":" + typ},
			}},
			"status":   status,
			"reason":   "drifted",
			"criteria": typ + "?_tag=" + s.tag.Param(),
			"channel": map[string]any{
				"extension": []any{map[string]any{"url": subscriptions.SendDeleteExtension, "valueBoolean": true}},
				"type":      "rest-hook", "endpoint": endpoint, "payload": "application/fhir+json",
				"header": []any{"Authorization: Bearer " + cfg.Secret},
			},
		}
	}
	right := unreachable + "/fhir/notify"
	s.fhir.Create(raw("Encounter", "off", right))
	s.fhir.Create(raw("Claim", "active", unreachable+"/elsewhere"))
	keptID := s.fhir.Create(raw("Coverage", "active", right))
	dupID := s.fhir.Create(raw("Coverage", "active", right))

	rep := s.ensure(m)
	if rep.Repaired != 2 || rep.Deleted != 1 || rep.Created != 1 || rep.Active != 1 {
		t.Errorf("Ensure: got %+v, want 1 created, 2 repaired, 1 deleted, 1 active", rep)
	}
	after := s.exactlyOneEach(s.instance, types)
	if st := after["Encounter"]["status"]; st != "requested" && st != "active" {
		t.Errorf("Encounter Subscription status: got %v, want requested or active", st)
	}
	if ep := channelOf(after["Claim"])["endpoint"]; ep != unreachable+"/fhir/notify" {
		t.Errorf("Claim endpoint: got %v", ep)
	}
	if id := after["Coverage"]["id"]; id != keptID {
		t.Errorf("kept Subscription/%v of Coverage, want the older one (%s, not %s)", id, keptID, dupID)
	}
	s.waitActive(m)

	// A type no longer followed: its Subscription goes.
	fewer := cfg
	fewer.Types = []string{"Encounter", "Claim", "Task"}
	m2, err := subscriptions.New(s.client, fewer)
	if err != nil {
		t.Fatal(err)
	}
	if rep := s.ensure(m2); rep.Deleted != 1 || rep.Created != 0 || rep.Repaired != 0 {
		t.Errorf("Ensure without Coverage: got %+v, want 1 deleted", rep)
	}
	s.exactlyOneEach(s.instance, fewer.Types)

	// Mode off: the instance keeps none.
	offCfg := fewer
	offCfg.Mode = subscriptions.ModeOff
	m3, err := subscriptions.New(s.client, offCfg)
	if err != nil {
		t.Fatal(err)
	}
	if rep := s.ensure(m3); rep.Deleted != 3 {
		t.Errorf("Ensure in mode off: got %+v, want 3 deleted", rep)
	}
	// HAPI may undo a delete: a stale activation of the Subscription writes
	// it back (docs/fhir-server-behaviour.md, "A delete can be undone"), seen
	// here once under CI's load. The service runs Ensure again periodically;
	// so does this test, until none is left.
	harness.Eventually(t, 90*time.Second, 2*time.Second, "mode off: no Subscription of the instance left", func() (bool, error) {
		got := s.listed(s.instance)
		if len(got) == 0 {
			return true, nil
		}
		s.ensure(m3)
		return false, fmt.Errorf("%d Subscriptions left", len(got))
	})

	if strings.Contains(logs.String(), cfg.Secret) {
		t.Errorf("the log shows the secret:\n%s", logs.String())
	}
	for _, want := range []string{`"subscription repaired"`, `"subscription deleted"`, `"drift":["status"]`, `"drift":["endpoint"]`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log: no %s in\n%s", want, logs.String())
		}
	}
}

// Two replicas starting at once end with exactly one Subscription per type.
func TestConcurrentEnsureOnHAPI(t *testing.T) {
	t.Parallel()
	// One Remove per round's instance, all at once when the test ends (each waits out its quiet period).
	var cleanup []*subscriptions.Manager
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		var wg sync.WaitGroup
		for _, m := range cleanup {
			wg.Go(func() {
				if _, err := m.Remove(ctx); err != nil {
					t.Errorf("cleanup: %v", err)
				}
			})
		}
		wg.Wait()
	})
	for round := range 5 {
		s := newSetup(t)
		cfg := s.config(subscriptions.DefaultTypes...)
		a, err := subscriptions.New(s.client, cfg)
		if err != nil {
			t.Fatal(err)
		}
		b, err := subscriptions.New(s.client, cfg)
		if err != nil {
			t.Fatal(err)
		}
		cleanup = append(cleanup, a)
		var wg sync.WaitGroup
		start := make(chan struct{})
		reps := make([]subscriptions.Report, 2)
		errs := make([]error, 2)
		for i, m := range []*subscriptions.Manager{a, b} {
			wg.Go(func() {
				<-start
				reps[i], errs[i] = m.Ensure(context.Background())
			})
		}
		began := time.Now()
		close(start)
		wg.Wait()
		t.Logf("round %d: both Ensures done after %s", round, time.Since(began).Round(time.Millisecond))
		for i, err := range errs {
			if err != nil {
				t.Errorf("round %d: replica %d: %v", round, i, err)
			}
		}
		t.Logf("round %d: replica reports %+v and %+v", round, reps[0], reps[1])
		if got := reps[0].Created + reps[1].Created; got != len(subscriptions.DefaultTypes) {
			t.Errorf("round %d: created %d in all, want %d", round, got, len(subscriptions.DefaultTypes))
		}
		s.exactlyOneEach(s.instance, subscriptions.DefaultTypes)
		if t.Failed() {
			return
		}
	}
}

func TestTopicModeOnHAPI(t *testing.T) {
	t.Parallel()
	s := newSetup(t)
	// The test server holds these three topics (e2e/hapi/topics).
	types := []string{"Encounter", "Claim", "Task"}
	cfg := s.config(types...)
	cfg.Mode = subscriptions.ModeTopic
	m := s.manager(cfg)
	rep := s.ensure(m)
	if rep.Created != 3 || len(rep.MissingTopics) != 0 {
		t.Errorf("Ensure: got %+v, want 3 created and no missing topic", rep)
	}
	for typ, sub := range s.exactlyOneEach(s.instance, types) {
		profile := sub["meta"].(map[string]any)["profile"].([]any)
		if !slices.Contains(profile, any(subscriptions.BackportProfile)) {
			t.Errorf("%s: profile %v, want the backport profile", typ, profile)
		}
		if got, want := sub["criteria"], subscriptions.DefaultTopicURL(typ); got != want {
			t.Errorf("%s criteria: got %v, want %v", typ, got, want)
		}
		fc := sub["_criteria"].(map[string]any)["extension"].([]any)[0].(map[string]any)
		if fc["url"] != subscriptions.BackportFilterCriteria || fc["valueString"] != typ+"?_tag="+s.tag.Param() {
			t.Errorf("%s filter criteria: got %v", typ, fc)
		}
		pc := channelOf(sub)["_payload"].(map[string]any)["extension"].([]any)[0].(map[string]any)
		if pc["url"] != subscriptions.BackportPayloadContent || pc["valueCode"] != "full-resource" {
			t.Errorf("%s payload content: got %v", typ, pc)
		}
	}
	took := s.waitActive(m)
	t.Logf("topic Subscriptions active %s after Ensure", took.Round(time.Millisecond))
	if again := s.ensure(m); again.Created+again.Repaired+again.Deleted != 0 || again.Active != 3 {
		t.Errorf("second Ensure: got %+v, want nothing done and 3 active", again)
	}

	// Switching the instance to rest-hook repairs the same three Subscriptions in place.
	cfg.Mode = subscriptions.ModeRestHook
	m2, err := subscriptions.New(s.client, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rep := s.ensure(m2); rep.Repaired != 3 || rep.Created+rep.Deleted != 0 {
		t.Errorf("Ensure after switching to rest-hook: got %+v, want 3 repaired", rep)
	}
	for typ, sub := range s.exactlyOneEach(s.instance, types) {
		if sub["criteria"] != typ+"?_tag="+s.tag.Param() || sub["_criteria"] != nil {
			t.Errorf("%s after switching to rest-hook: criteria %v, filter extension %v", typ, sub["criteria"], sub["_criteria"])
		}
	}
}

// A followed type whose topic the server does not hold is reported. (The
// test server holds a topic for every default type, e2e/hapi/topics: the
// test names one it does not hold.)
func TestTopicModeMissingTopicOnHAPI(t *testing.T) {
	t.Parallel()
	s := newSetup(t)
	cfg := s.config("Encounter", "Coverage")
	cfg.Mode = subscriptions.ModeTopic
	missing := subscriptions.DefaultTopicBase + "coverage-changed-nowhere"
	cfg.TopicURL = func(typ string) string {
		if typ == "Coverage" {
			return missing
		}
		return subscriptions.DefaultTopicURL(typ)
	}
	rep := s.ensure(s.manager(cfg))
	if want := []string{missing}; !slices.Equal(rep.MissingTopics, want) {
		t.Errorf("missing topics: got %v, want %v", rep.MissingTopics, want)
	}
}

func TestRemoveOnlyOwnOnHAPI(t *testing.T) {
	t.Parallel()
	mine, theirs := newSetup(t), newSetup(t)
	types := []string{"Encounter", "Claim", "Task"}
	m := mine.manager(mine.config(types...))
	other := theirs.manager(theirs.config(types...))
	mine.ensure(m)
	theirs.ensure(other)

	listed := len(mine.listed(mine.instance))
	n, err := m.Remove(context.Background())
	// Every Subscription of the instance: one per type, or more when HAPI
	// made a duplicate (a CI run had 4 for 3 types: a conditional create
	// retried under load), which the next Ensure would also delete.
	if err != nil || n < max(listed, len(types)) {
		t.Errorf("Remove: got %d, %v; want the %d listed (at least %d)", n, err, listed, len(types))
	}
	if got := mine.listed(mine.instance); len(got) != 0 {
		t.Errorf("after Remove: %d of the instance's Subscriptions left", len(got))
	}
	theirs.exactlyOneEach(theirs.instance, types)
	if n, err := m.Remove(context.Background()); n != 0 || err != nil {
		t.Errorf("second Remove: got %d, %v; want 0, nil", n, err)
	}
	if ok, err := m.Active(context.Background()); ok || err != nil {
		t.Errorf("Active with no Subscriptions: got %v, %v; want false", ok, err)
	}
}

// End to end once: Ensure's rest-hook Subscription delivers a change of a followed type, with the secret.
func TestDeliveryOnHAPI(t *testing.T) {
	t.Parallel()
	s := newSetup(t)
	r := harness.NewReceiver(t)
	r.SetResponder(func(harness.Received) (int, string, []byte) { return http.StatusNoContent, "", nil })
	cfg := s.config("Encounter", "Task")
	cfg.PublicURL = r.URL
	m := s.manager(cfg)
	s.ensure(m)
	s.waitActive(m)

	enc := map[string]any{
		"resourceType": "Encounter",
		"meta":         map[string]any{"tag": []any{s.tag}},
		"status":       "planned",
		"class":        map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
	}
	sent := time.Now()
	id := s.fhir.Create(enc)
	path := "/fhir/notify/Encounter/" + id
	// HAPI answers a Subscription "active" before it matches on it (it
	// registers the Subscription for matching asynchronously): a write in
	// between is never notified, which a CI run met (no delivery in 3
	// minutes). So the Encounter is written again, as a new version, each
	// 15 s without a delivery; the first delivery is what is checked.
	isPut := func(g harness.Received) bool { return g.Method == http.MethodPut && g.Path == path }
	for attempt := 1; ; attempt++ {
		delivered := false
		for wait := time.Now().Add(15 * time.Second); !delivered && time.Now().Before(wait); time.Sleep(200 * time.Millisecond) {
			for _, g := range r.Requests() {
				delivered = delivered || isPut(g)
			}
		}
		if delivered || attempt == 6 {
			break
		}
		t.Logf("no delivery %s after the write: writing the Encounter again (attempt %d)", time.Since(sent).Round(time.Second), attempt+1)
		enc["id"] = id
		enc["status"] = map[bool]string{true: "planned", false: "arrived"}[attempt%2 == 0]
		s.fhir.Put("Encounter/"+id, enc).MustStatus(t, http.StatusOK)
	}
	got := r.WaitFor(t, deliveryTimeout, 1, "PUT "+path, isPut)[0]
	t.Logf("write -> PUT %s after %s", path, got.At.Sub(sent).Round(time.Millisecond))
	if h := got.Header.Get("Authorization"); h != "Bearer "+cfg.Secret {
		t.Errorf("Authorization: got %q, want Bearer <secret>", h)
	}
	var body map[string]any
	if err := json.Unmarshal(got.Body, &body); err != nil || body["id"] != id {
		t.Errorf("payload: got %.200s (%v), want the Encounter", got.Body, err)
	}

	// The send-delete extension (checked on the resource in TestEnsureCreatesTheSetOnHAPI): HAPI then sends
	// DELETE for a delete. Recorded, not asserted: in 1 of 5 runs, on a loaded server, HAPI delivered the PUT
	// but never the DELETE (the catch-up search, not this notification, is what the service relies on).
	s.fhir.Delete("Encounter/"+id).MustStatus(t, http.StatusOK, http.StatusNoContent)
	deadline := time.Now().Add(20 * time.Second)
	deleted := false
	for !deleted && time.Now().Before(deadline) {
		for _, g := range r.Requests() {
			if g.Method == http.MethodDelete && g.Path == path {
				deleted = true
				if g.Header.Get("Authorization") != "Bearer "+cfg.Secret {
					t.Errorf("DELETE without the Authorization header")
				}
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("DELETE %s delivered: %v", path, deleted)
	for _, g := range r.Requests() {
		if !strings.HasPrefix(g.Path, "/fhir/notify/Encounter/"+id) {
			t.Errorf("unexpected delivery %s %s", g.Method, g.Path)
		}
	}
}

// syncWriter lets concurrent log writes into one buffer.
type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
