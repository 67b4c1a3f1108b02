package subscriptions

// Unit tests of the Manager through the real fhir.Client against a small
// in-memory FHIR server (httptest), for what HAPI does too rarely to test on
// it at will: lost races, a version moving under an update, late activation,
// errors. The behaviour on HAPI itself is tested in hapi_test.go.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/utilreview/utilreview/fhir"
)

// fakeFHIR holds Subscriptions in memory and answers the interactions the
// Manager uses, the way HAPI does (conditional create, If-Match, 409s).
type fakeFHIR struct {
	mu     sync.Mutex
	nextID int
	subs   map[string]map[string]any // id -> resource as JSON
	// hooks, each called with mu held; a non-zero status is answered instead.
	onCreate func(f *fakeFHIR, res map[string]any) int
	onUpdate func(f *fakeFHIR, id string) int
	onSearch func(f *fakeFHIR)
	calls    []string
}

func newFake(t *testing.T) (*fakeFHIR, *fhir.Client) {
	t.Helper()
	f := &fakeFHIR{nextID: 100, subs: map[string]map[string]any{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c, err := fhir.NewClient(fhir.ClientConfig{BaseURL: srv.URL + "/fhir", MaxAttempts: 1, Transport: http.DefaultTransport})
	if err != nil {
		t.Fatal(err)
	}
	return f, c
}

func (f *fakeFHIR) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	path := strings.TrimPrefix(r.URL.Path, "/fhir/")
	f.calls = append(f.calls, r.Method+" "+path)
	typ, id, _ := strings.Cut(path, "/")
	switch {
	case r.Method == http.MethodGet && typ == "Basic":
		f.bundle(w, nil)
	case r.Method == http.MethodGet && id == "":
		if f.onSearch != nil {
			f.onSearch(f)
		}
		f.bundle(w, f.withTag(r.URL.Query().Get("_tag")))
	case r.Method == http.MethodGet:
		f.answer(w, f.subs[id], http.StatusOK)
	case r.Method == http.MethodPost:
		var res map[string]any
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &res); err != nil {
			outcome(w, http.StatusBadRequest, "not JSON")
			return
		}
		if cond := r.Header.Get("If-None-Exist"); cond != "" {
			q, _ := url.ParseQuery(cond)
			if found := f.withTag(q.Get("_tag")); len(found) == 1 {
				f.answer(w, found[0], http.StatusOK)
				return
			} else if len(found) > 1 {
				outcome(w, http.StatusPreconditionFailed, "multiple matches")
				return
			}
		}
		if f.onCreate != nil {
			if st := f.onCreate(f, res); st != 0 {
				outcome(w, st, "HAPI-2745 create raced; "+string(body))
				return
			}
		}
		f.answer(w, f.store(res), http.StatusCreated)
	case r.Method == http.MethodPut:
		cur, ok := f.subs[id]
		if !ok {
			outcome(w, http.StatusNotFound, "gone")
			return
		}
		if f.onUpdate != nil {
			if st := f.onUpdate(f, id); st != 0 {
				outcome(w, st, "update refused")
				return
			}
		}
		if im := r.Header.Get("If-Match"); im != "" && im != `W/"`+version(cur)+`"` {
			outcome(w, http.StatusConflict, "HAPI-0989 stale version")
			return
		}
		var res map[string]any
		body, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(body, &res)
		res["id"] = id
		f.setVersion(res, version(cur))
		f.subs[id] = res
		f.answer(w, res, http.StatusOK)
	case r.Method == http.MethodDelete:
		if _, ok := f.subs[id]; !ok {
			outcome(w, http.StatusNotFound, "gone")
			return
		}
		delete(f.subs, id)
		outcome(w, http.StatusOK, "deleted")
	default:
		outcome(w, http.StatusMethodNotAllowed, "no")
	}
}

// store adds a Subscription with a new id (mu held).
func (f *fakeFHIR) store(res map[string]any) map[string]any {
	f.nextID++
	res["id"] = strconv.Itoa(f.nextID)
	f.setVersion(res, "0")
	f.subs[res["id"].(string)] = res
	return res
}

func (f *fakeFHIR) setVersion(res map[string]any, prev string) {
	n, _ := strconv.Atoi(prev)
	m, _ := res["meta"].(map[string]any)
	if m == nil {
		m = map[string]any{}
		res["meta"] = m
	}
	m["versionId"] = strconv.Itoa(n + 1)
}

func version(res map[string]any) string {
	m, _ := res["meta"].(map[string]any)
	v, _ := m["versionId"].(string)
	return v
}

// withTag returns the Subscriptions carrying the tag "system|code", by id.
func (f *fakeFHIR) withTag(param string) []map[string]any {
	system, code, _ := strings.Cut(param, "|")
	var out []map[string]any
	for _, res := range f.subs {
		m, _ := res["meta"].(map[string]any)
		tags, _ := m["tag"].([]any)
		for _, t := range tags {
			tg := t.(map[string]any)
			if tg["system"] == system && tg["code"] == code {
				out = append(out, res)
				break
			}
		}
	}
	slices.SortFunc(out, func(a, b map[string]any) int { return compareIDs(a["id"].(string), b["id"].(string)) })
	return out
}

func (f *fakeFHIR) bundle(w http.ResponseWriter, resources []map[string]any) {
	var entries []any
	for _, r := range resources {
		entries = append(entries, map[string]any{"resource": r, "search": map[string]any{"mode": "match"}})
	}
	f.answer(w, map[string]any{"resourceType": "Bundle", "type": "searchset", "entry": entries}, http.StatusOK)
}

func (f *fakeFHIR) answer(w http.ResponseWriter, res map[string]any, status int) {
	if res == nil {
		outcome(w, http.StatusNotFound, "not found")
		return
	}
	w.Header().Set("Content-Type", "application/fhir+json")
	if v := version(res); v != "" {
		w.Header().Set("ETag", `W/"`+v+`"`)
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(res)
}

func outcome(w http.ResponseWriter, status int, diagnostics string) {
	w.Header().Set("Content-Type", "application/fhir+json")
	w.WriteHeader(status)
	sev := "error"
	if status < 300 {
		sev = "information"
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"resourceType": "OperationOutcome", "issue": []any{
		map[string]any{"severity": sev, "code": "processing", "diagnostics": diagnostics},
	}})
}

// setStatus sets the status of every stored Subscription (mu held).
func (f *fakeFHIR) setStatus(st string) {
	for _, res := range f.subs {
		if res["status"] != st {
			res["status"] = st
			f.setVersion(res, version(res))
		}
	}
}

func (f *fakeFHIR) bySlot(cfg Config) map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := map[string]int{}
	for _, res := range f.subs {
		data, _ := json.Marshal(res)
		s, _ := decodeSubscription(data)
		n[cfg.slot(s)]++
	}
	return n
}

func testManager(t *testing.T, c Client, cfg Config) *Manager {
	t.Helper()
	m, err := New(c, cfg)
	if err != nil {
		t.Fatal(err)
	}
	m.poll, m.quiet = 5*time.Millisecond, 20*time.Millisecond
	return m
}

func fakeConfig(types ...string) Config {
	return Config{Instance: "unit", PublicURL: "http://svc.example", Secret: "very-secret-value", Types: types}
}

func TestEnsureOnFake(t *testing.T) {
	t.Parallel()
	f, c := newFake(t)
	cfg := fakeConfig(DefaultTypes...)
	m := testManager(t, c, cfg)
	ctx := context.Background()

	rep, err := m.Ensure(ctx)
	if err != nil || rep.Created != len(DefaultTypes) || rep.Pending != len(DefaultTypes) {
		t.Fatalf("first Ensure: got %+v, %v; want %d created", rep, err, len(DefaultTypes))
	}
	if ok, err := m.Active(ctx); ok || err != nil {
		t.Errorf("Active before activation: got %v, %v; want false", ok, err)
	}
	f.mu.Lock()
	f.setStatus(statusActive)
	f.mu.Unlock()
	if ok, err := m.Active(ctx); !ok || err != nil {
		t.Errorf("Active after activation: got %v, %v; want true", ok, err)
	}
	rep, err = m.Ensure(ctx)
	if err != nil || rep.Created+rep.Repaired+rep.Deleted+rep.Deferred+rep.Pending != 0 || rep.Active != len(DefaultTypes) {
		t.Errorf("second Ensure: got %+v, %v; want nothing done, all active", rep, err)
	}
	for _, typ := range DefaultTypes {
		if n := f.bySlot(mustConfig(t, cfg))[typ]; n != 1 {
			t.Errorf("%s: %d Subscriptions, want 1", typ, n)
		}
	}
}

// A conditional create that loses the race (HAPI: 409) is "someone else created
// it": Ensure reads the slot again and does not create a second one.
func TestEnsureLostCreateRaceOnFake(t *testing.T) {
	t.Parallel()
	f, c := newFake(t)
	cfg := fakeConfig("Encounter", "Claim")
	other := mustConfig(t, cfg)
	raced := false
	f.onCreate = func(f *fakeFHIR, res map[string]any) int {
		if raced || !strings.Contains(res["criteria"].(string), "Encounter") {
			return 0
		}
		raced = true
		// The other replica's create wins while ours is in flight.
		data, _ := json.Marshal(other.desired("Encounter"))
		var winner map[string]any
		_ = json.Unmarshal(data, &winner)
		f.store(winner)
		return http.StatusConflict
	}
	m := testManager(t, c, cfg)
	rep, err := m.Ensure(context.Background())
	if err != nil || rep.Created != 1 || rep.Pending != 2 {
		t.Errorf("Ensure: got %+v, %v; want 1 created (Claim) and Encounter's found", rep, err)
	}
	if got := f.bySlot(other); got["Encounter"] != 1 || got["Claim"] != 1 {
		t.Errorf("Subscriptions per type: got %v, want one each", got)
	}
}

// An update refused because the version moved (the server activating it, a
// replica repairing it) is retried on the fresh version.
func TestEnsureRepairRetriesOnFake(t *testing.T) {
	t.Parallel()
	f, c := newFake(t)
	cfg := fakeConfig("Encounter")
	m := testManager(t, c, cfg)
	ctx := context.Background()
	if _, err := m.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	for _, res := range f.subs {
		res["status"] = statusError
		res["channel"].(map[string]any)["endpoint"] = "http://old.example/fhir/notify"
	}
	bumped := false
	f.onUpdate = func(f *fakeFHIR, id string) int {
		if !bumped {
			bumped = true
			f.setVersion(f.subs[id], version(f.subs[id])) // someone else wrote it meanwhile
		}
		return 0
	}
	f.mu.Unlock()

	rep, err := m.Ensure(ctx)
	if err != nil || rep.Repaired != 1 {
		t.Fatalf("Ensure: got %+v, %v; want 1 repaired", rep, err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, res := range f.subs {
		if res["status"] != statusRequested || res["channel"].(map[string]any)["endpoint"] != "http://svc.example/fhir/notify" {
			t.Errorf("after repair: status %v endpoint %v", res["status"], res["channel"].(map[string]any)["endpoint"])
		}
	}
	if !bumped {
		t.Error("the update conflict was never exercised")
	}
}

// Duplicates: the lowest id is kept; one the server has not activated yet is
// left for a later Ensure (deleting it now would be undone by its activation).
func TestEnsureDuplicatesOnFake(t *testing.T) {
	t.Parallel()
	f, c := newFake(t)
	cfg := fakeConfig("Encounter")
	full := mustConfig(t, cfg)
	f.mu.Lock()
	var ids []string
	for _, st := range []string{statusActive, statusActive, statusRequested} {
		data, _ := json.Marshal(full.desired("Encounter"))
		var res map[string]any
		_ = json.Unmarshal(data, &res)
		res["status"] = st
		ids = append(ids, f.store(res)["id"].(string))
	}
	f.mu.Unlock()

	m := testManager(t, c, cfg)
	rep, err := m.Ensure(context.Background())
	if err != nil || rep.Deleted != 1 || rep.Deferred != 1 || rep.Active != 1 {
		t.Errorf("Ensure: got %+v, %v; want 1 deleted, 1 deferred, 1 active", rep, err)
	}
	f.mu.Lock()
	_, kept := f.subs[ids[0]]
	_, deferred := f.subs[ids[2]]
	f.setStatus(statusActive)
	f.mu.Unlock()
	if !kept || !deferred {
		t.Errorf("kept the lowest id: %v; deferred the requested one: %v", kept, deferred)
	}
	rep, err = m.Ensure(context.Background())
	if err != nil || rep.Deleted != 1 || rep.Deferred != 0 {
		t.Errorf("Ensure once activated: got %+v, %v; want the last duplicate deleted", rep, err)
	}
}

// Remove waits for the server to activate a Subscription before deleting it,
// and deletes again what a late activation brings back.
func TestRemoveOnFake(t *testing.T) {
	t.Parallel()
	f, c := newFake(t)
	cfg := fakeConfig("Encounter", "Claim")
	m := testManager(t, c, cfg)
	ctx := context.Background()
	if _, err := m.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	theirs := testManager(t, c, Config{Instance: "other", PublicURL: "http://o.example", Secret: "x", Types: []string{"Encounter"}})
	if _, err := theirs.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	var deletedWhileRequested, resurrected bool
	searches := 0
	var lastDeleted map[string]any
	f.onSearch = func(f *fakeFHIR) {
		searches++
		if searches == 3 {
			f.setStatus(statusActive) // the server activates them
		}
		if searches == 5 && lastDeleted != nil && !resurrected {
			resurrected = true // a late activation brings one back
			f.subs[lastDeleted["id"].(string)] = lastDeleted
		}
	}
	wrapped := &deleteSpy{Client: c, f: f, saw: func(res map[string]any) {
		if res["status"] == statusRequested {
			deletedWhileRequested = true
		}
		lastDeleted = res
	}}
	m.c = wrapped
	n, err := m.Remove(ctx)
	if err != nil || n != 3 {
		t.Errorf("Remove: got %d, %v; want 3 (two, and the one that came back)", n, err)
	}
	if deletedWhileRequested {
		t.Error("deleted a Subscription the server had not activated")
	}
	if !resurrected {
		t.Error("the late activation was never exercised")
	}
	if got := f.bySlot(mustConfig(t, cfg)); got["Encounter"]+got["Claim"] != 0 {
		t.Errorf("left: %v", got)
	}
	if got := len(f.withTagLocked("https://utilreview.dev/fhir/CodeSystem/instance|other")); got != 1 {
		t.Errorf("the other instance has %d Subscriptions, want its 1 untouched", got)
	}
}

func (f *fakeFHIR) withTagLocked(param string) []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.withTag(param)
}

// deleteSpy shows the test what is about to be deleted.
type deleteSpy struct {
	Client
	f   *fakeFHIR
	saw func(res map[string]any)
}

func (d *deleteSpy) Delete(ctx context.Context, typ, id string) (*fhir.Response, error) {
	d.f.mu.Lock()
	if res, ok := d.f.subs[id]; ok {
		d.saw(res)
	}
	d.f.mu.Unlock()
	return d.Client.Delete(ctx, typ, id)
}

func TestRemoveGivesUpWhenNeverActivatedOnFake(t *testing.T) {
	t.Parallel()
	_, c := newFake(t)
	cfg := fakeConfig("Encounter")
	cfg.ActivationWait = 30 * time.Millisecond
	m := testManager(t, c, cfg)
	ctx := context.Background()
	if _, err := m.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	// Never activated (a server with subscriptions switched off): deleted after the wait.
	if n, err := m.Remove(ctx); n != 1 || err != nil {
		t.Errorf("Remove: got %d, %v; want 1", n, err)
	}
}

// The secret is neither in errors nor in the log, even when the server quotes it.
func TestSecretNeverShownOnFake(t *testing.T) {
	t.Parallel()
	f, c := newFake(t)
	var logs bytes.Buffer
	cfg := fakeConfig("Encounter")
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f.onCreate = func(*fakeFHIR, map[string]any) int { return http.StatusUnprocessableEntity }
	m := testManager(t, c, cfg)
	_, err := m.Ensure(context.Background())
	if err == nil {
		t.Fatal("Ensure: want the server's refusal")
	}
	if !fhir.IsStatus(err, http.StatusUnprocessableEntity) {
		t.Errorf("error %v: want the 422 to stay visible to errors.As", err)
	}
	f.onCreate = nil
	if _, err := m.Ensure(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{err.Error(), logs.String()} {
		if strings.Contains(text, cfg.Secret) {
			t.Errorf("shows the secret: %s", text)
		}
	}
	// A wrapped cause whose text quotes the secret is masked.
	quoted := m.fail("Ensure", fmt.Errorf("server said: header %q", "Authorization: Bearer "+cfg.Secret))
	if strings.Contains(quoted.Error(), cfg.Secret) || !strings.Contains(quoted.Error(), masked) {
		t.Errorf("masked error: got %q", quoted)
	}
}

func TestModeOffOnFake(t *testing.T) {
	t.Parallel()
	f, c := newFake(t)
	on := testManager(t, c, fakeConfig("Encounter", "Claim"))
	if _, err := on.Ensure(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.setStatus(statusActive)
	f.calls = nil
	f.mu.Unlock()
	off := testManager(t, c, Config{Instance: "unit", Mode: ModeOff})
	if ok, err := off.Active(context.Background()); !ok || err != nil {
		t.Errorf("Active in mode off: got %v, %v; want true", ok, err)
	}
	rep, err := off.Ensure(context.Background())
	if err != nil || rep.Deleted != 2 || rep.Created != 0 {
		t.Errorf("Ensure in mode off: got %+v, %v; want the 2 deleted", rep, err)
	}
}

func TestNewNeedsAClient(t *testing.T) {
	t.Parallel()
	if _, err := New(nil, fakeConfig("Encounter")); err == nil {
		t.Error("New(nil): want an error")
	}
	_, c := newFake(t)
	_, err := New(c, Config{Secret: "abc\ndef-secret"})
	if err == nil || strings.Contains(err.Error(), "def-secret") {
		t.Errorf("New with a bad config: got %v, want an error that does not show the secret", err)
	}
}
