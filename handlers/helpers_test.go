package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/utilreview/utilreview/e2e/harness"
	"github.com/utilreview/utilreview/handlers"
	"github.com/utilreview/utilreview/service/queue"
)

const (
	secret     = "s3cret-webhook-token"
	adminToken = "admin-token-42"
)

// The service's main sets the global tracer provider and propagator; the
// tests do the same, so spans record and trace context is carried.
func TestMain(m *testing.M) {
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample())))
	otel.SetTextMapPropagator(propagation.TraceContext{})
	os.Exit(m.Run())
}

// fakeIntake records what the webhook hands over. It coalesces like the
// queue (a key already waiting is not queued again) and fails every call
// while err is set.
type fakeIntake struct {
	mu       sync.Mutex
	entries  []queue.Entry
	waiting  map[string]bool
	catchUps []string
	observed map[string][]int64
	err      error
	// gap is what ObserveEvent answers.
	gap bool
	// own are the versions the service wrote itself ("Type/id" -> version).
	own map[string]string
}

func newFakeIntake() *fakeIntake {
	return &fakeIntake{waiting: map[string]bool{}, observed: map[string][]int64{}, own: map[string]string{}}
}

func (f *fakeIntake) Admit(_ context.Context, e queue.Entry) (queue.Admission, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return queue.Queued, f.err
	}
	if v, ok := f.own[e.Resource]; ok && e.Version != "" && v == e.Version {
		return queue.OwnWrite, nil
	}
	if f.waiting[e.Key()] {
		return queue.Coalesced, nil
	}
	f.waiting[e.Key()] = true
	f.entries = append(f.entries, e)
	return queue.Queued, nil
}

func (f *fakeIntake) RequestCatchUp(_ context.Context, reason string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	f.catchUps = append(f.catchUps, reason)
	return nil
}

func (f *fakeIntake) ObserveEvent(_ context.Context, sub string, numbers []int64) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return false, f.err
	}
	f.observed[sub] = append(f.observed[sub], numbers...)
	return f.gap, nil
}

// handedOver says whether the intake got anything at all.
func (f *fakeIntake) handedOver() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.entries) > 0 || len(f.catchUps) > 0 || len(f.observed) > 0
}

type fakeDeadLetters struct {
	list []queue.DeadLetter
	err  error
}

func (f *fakeDeadLetters) DeadLetters(_ context.Context, limit int) ([]queue.DeadLetter, error) {
	if f.err != nil {
		return nil, f.err
	}
	return f.list[:min(limit, len(f.list))], nil
}

func (f *fakeDeadLetters) Replay(_ context.Context, id string) error {
	if f.err != nil {
		return f.err
	}
	for _, d := range f.list {
		if d.ID == id {
			return nil
		}
	}
	return fmt.Errorf("fake replay %q: %w", id, queue.ErrNotFound)
}

type testServer struct {
	srv    *handlers.Server
	in     *fakeIntake
	dl     *fakeDeadLetters
	reg    *prometheus.Registry
	logbuf *harness.LogBuffer
}

func newTestServer(t testing.TB, edit func(*handlers.Config)) *testServer {
	t.Helper()
	ts := &testServer{in: newFakeIntake(), dl: &fakeDeadLetters{}, reg: prometheus.NewRegistry(), logbuf: &harness.LogBuffer{}}
	cfg := handlers.Config{
		WebhookSecret: secret,
		AdminToken:    adminToken,
		Logger:        slog.New(slog.NewJSONHandler(ts.logbuf, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Registerer:    ts.reg,
	}
	if edit != nil {
		edit(&cfg)
	}
	srv, err := handlers.New(cfg, ts.in, ts.dl)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ts.srv = srv
	return ts
}

// request builds a request; header pairs are name, value.
func request(method, target string, body []byte, header ...string) *http.Request {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req := httptest.NewRequest(method, target, r)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return req
}

func (ts *testServer) do(req *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	ts.srv.Handler().ServeHTTP(w, req)
	return w
}

// hapiHeaders are the headers HAPI 8.8 sends with a full-resource rest-hook
// PUT (docs/fhir-server-behaviour.md), with the channel header carrying the
// secret.
func hapiHeaders(version string) []string {
	return []string{
		"Content-Type", "application/fhir+json; charset=UTF-8",
		"Authorization", "Bearer " + secret,
		"If-Match", `W/"` + version + `"`,
		"Accept", "application/fhir+json;q=1.0, application/json+fhir;q=0.9",
		"User-Agent", "HAPI-FHIR/8.8.0 (FHIR Client; FHIR 4.0.1/R4; apache)",
	}
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// encounter is the real Synthea inpatient Encounter of testdata (see
// PROVENANCE.md) and what the webhook must make of it.
const (
	encounterRef = "Encounter/224a9d89-f8c5-4ff5-9aef-26446a741cc2"
	patientRef   = "Patient/3e383d93-552a-46ae-a96a-1989586244c9"
)

// topicNotification is a notification Bundle as HAPI 8.8 sends it for an R4
// topic Subscription (docs/fhir-server-behaviour.md): the SubscriptionStatus
// Parameters with the backport r4 profile, counts as valueString, the
// timestamp as valueDate (day only), a versionless focus, then the full
// resource. resource nil makes it id-only; focus "" an empty payload.
func topicNotification(typ, subscription string, number int, focus string, resource []byte) []byte {
	event := []any{
		map[string]any{"name": "event-number", "valueString": fmt.Sprint(number)},
		map[string]any{"name": "timestamp", "valueDate": "2026-11-29"},
	}
	if focus != "" {
		event = append(event, map[string]any{"name": "focus", "valueReference": map[string]any{"reference": focus}})
	}
	params := []any{
		map[string]any{"name": "subscription", "valueReference": map[string]any{"reference": subscription}},
		map[string]any{"name": "topic", "valueCanonical": "http://utilreview.example/SubscriptionTopic/encounter"},
		map[string]any{"name": "status", "valueCode": "active"},
		map[string]any{"name": "type", "valueCode": typ},
		map[string]any{"name": "events-since-subscription-start", "valueString": fmt.Sprint(number)},
	}
	if typ == "event-notification" {
		params = append(params, map[string]any{"name": "notification-event", "part": event})
	}
	entries := []any{map[string]any{
		"fullUrl": "urn:uuid:7e7fa4a0-4b59-4c4f-9a0c-1f7c1d6a0d11",
		"resource": map[string]any{
			"resourceType": "Parameters",
			"meta": map[string]any{"profile": []string{
				"http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-status-r4"}},
			"parameter": params,
		},
	}}
	if resource != nil {
		entries = append(entries, map[string]any{
			"fullUrl":  "http://127.0.0.1:39501/fhir/" + focus,
			"resource": json.RawMessage(resource),
			"request":  map[string]any{"method": "PUT", "url": focus},
		})
	}
	b, err := json.Marshal(map[string]any{
		"resourceType": "Bundle", "id": "notification-1", "type": "history",
		"timestamp": "2026-11-29T10:15:02.113+00:00", "entry": entries,
	})
	if err != nil {
		panic(err)
	}
	return b
}

// checkOutcome checks an error answer: status, an OperationOutcome with
// the issue code, and none of the secrets in the body.
func checkOutcome(t *testing.T, w *httptest.ResponseRecorder, status int, code string) {
	t.Helper()
	if w.Code != status {
		t.Fatalf("got status %d, want %d (body %s)", w.Code, status, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/fhir+json" {
		t.Errorf("got Content-Type %q, want application/fhir+json", ct)
	}
	var oo struct {
		ResourceType string
		Issue        []struct{ Severity, Code, Diagnostics string }
	}
	if err := json.Unmarshal(w.Body.Bytes(), &oo); err != nil {
		t.Fatalf("answer is not JSON: %v: %s", err, w.Body)
	}
	if oo.ResourceType != "OperationOutcome" || len(oo.Issue) == 0 || oo.Issue[0].Severity != "error" {
		t.Fatalf("answer is not an error OperationOutcome: %s", w.Body)
	}
	if oo.Issue[0].Code != code {
		t.Errorf("got issue code %q, want %q (%s)", oo.Issue[0].Code, code, w.Body)
	}
	for _, s := range []string{secret, adminToken} {
		if strings.Contains(w.Body.String(), s) {
			t.Errorf("answer quotes a secret: %s", w.Body)
		}
	}
}

// metric reads one sample of the registry in the text format ("name{labels}").
func (ts *testServer) metric(t *testing.T, series string) string {
	t.Helper()
	w := ts.do(request(http.MethodGet, "/metrics", nil))
	for line := range strings.Lines(w.Body.String()) {
		if name, value, ok := strings.Cut(strings.TrimSpace(line), " "); ok && name == series {
			return value
		}
	}
	return ""
}

var errRedisDown = errors.New("dial tcp 127.0.0.1:6379: connect: connection refused")
