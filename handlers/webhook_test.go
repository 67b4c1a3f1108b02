package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/utilreview/utilreview/handlers"
	"github.com/utilreview/utilreview/service/queue"
)

// Every delivery style of docs/fhir-server-behaviour.md, as HAPI sends it,
// is accepted with 204 and handed to the intake as the right entries,
// catch-up requests and event numbers.
func TestWebhookDeliveryStyles(t *testing.T) {
	t.Parallel()
	enc := readTestdata(t, "Encounter-synthea-inpatient.json")
	provenance := func(id, target string) []byte {
		return fmt.Appendf(nil, `{"resourceType":"Provenance","id":%q,"meta":{"versionId":"1"},"target":[{"reference":%q}],`+
			`"recorded":"2026-11-20T11:50:00-05:00","agent":[{"who":{"reference":"Practitioner/n1"}}]}`, id, target)
	}
	tests := []struct {
		name     string
		req      func() *http.Request
		gap      bool // what ObserveEvent answers
		entries  []queue.Entry
		catchUps []string
		observed map[string][]int64
		style    string
		outcome  string // default accepted
	}{
		{
			name: "rest-hook full resource: PUT with If-Match",
			req: func() *http.Request {
				return request(http.MethodPut, "/fhir/notify/"+encounterRef, enc, hapiHeaders("3")...)
			},
			entries: []queue.Entry{{Patient: patientRef, Resource: encounterRef, Version: "3", Reason: "notification"}},
			style:   "put",
		},
		{
			name: "rest-hook delete (send-delete extension): no body",
			req: func() *http.Request {
				return request(http.MethodDelete, "/fhir/notify/"+encounterRef, nil, "Authorization", "Bearer "+secret)
			},
			entries: []queue.Entry{{Resource: encounterRef, Reason: "delete"}},
			style:   "delete",
		},
		{
			name: "rest-hook empty payload: bare POST, form-urlencoded, no body",
			req: func() *http.Request {
				return request(http.MethodPost, "/fhir/notify", nil,
					"Content-Type", "application/x-www-form-urlencoded; charset=UTF-8", "Authorization", "Bearer "+secret)
			},
			catchUps: []string{"ping"},
			style:    "ping",
		},
		{
			name: "bare POST with any Content-Type is a ping",
			req: func() *http.Request {
				return request(http.MethodPost, "/fhir/notify", []byte(" \n"), "Content-Type", "text/plain", "Authorization", "Bearer "+secret)
			},
			catchUps: []string{"ping"},
			style:    "ping",
		},
		{
			name: "topic event-notification with the full resource (HAPI 8.8 Bundle)",
			req: func() *http.Request {
				return request(http.MethodPost, "/fhir/notify", topicNotification("event-notification", "Subscription/77", 5, encounterRef, enc),
					"Content-Type", "application/fhir+json; charset=UTF-8", "Authorization", "Bearer "+secret)
			},
			entries:  []queue.Entry{{Patient: patientRef, Resource: encounterRef, Version: "3", Reason: "notification"}},
			observed: map[string][]int64{"Subscription/77": {5}},
			style:    "bundle",
		},
		{
			name: "topic event-notification after a gap: catch-up requested",
			req: func() *http.Request {
				return request(http.MethodPost, "/fhir/notify", topicNotification("event-notification", "Subscription/77", 9, encounterRef, enc),
					"Content-Type", "application/fhir+json", "Authorization", "Bearer "+secret)
			},
			gap:      true,
			entries:  []queue.Entry{{Patient: patientRef, Resource: encounterRef, Version: "3", Reason: "notification"}},
			catchUps: []string{"event-gap"},
			observed: map[string][]int64{"Subscription/77": {9}},
			style:    "bundle",
		},
		{
			name: "topic id-only: the resource without its patient",
			req: func() *http.Request {
				return request(http.MethodPost, "/fhir/notify", topicNotification("event-notification", "Subscription/77", 6, "Claim/c-1", nil),
					"Content-Type", "application/fhir+json", "Authorization", "Bearer "+secret)
			},
			entries:  []queue.Entry{{Resource: "Claim/c-1", Reason: "notification"}},
			observed: map[string][]int64{"Subscription/77": {6}},
			style:    "bundle",
		},
		{
			name: "topic empty payload: a catch-up, numbers observed",
			req: func() *http.Request {
				return request(http.MethodPost, "/fhir/notify", topicNotification("event-notification", "Subscription/77", 7, "", nil),
					"Content-Type", "application/fhir+json", "Authorization", "Bearer "+secret)
			},
			catchUps: []string{"empty-event"},
			observed: map[string][]int64{"Subscription/77": {7}},
			style:    "bundle",
		},
		{
			name: "handshake: nothing to do",
			req: func() *http.Request {
				return request(http.MethodPost, "/fhir/notify", topicNotification("handshake", "Subscription/77", 0, "", nil),
					"Content-Type", "application/fhir+json", "Authorization", "Bearer "+secret)
			},
			style: "bundle",
		},
		{
			name: "heartbeat: its count is observed, a gap catches up",
			req: func() *http.Request {
				return request(http.MethodPost, "/fhir/notify", topicNotification("heartbeat", "Subscription/77", 12, "", nil),
					"Content-Type", "application/fhir+json", "Authorization", "Bearer "+secret)
			},
			gap:      true,
			catchUps: []string{"event-gap"},
			observed: map[string][]int64{"Subscription/77": {12}},
			style:    "bundle",
		},
		{
			name: "topic event of a Provenance of a Task: queued, its patient found by the processor",
			req: func() *http.Request {
				return request(http.MethodPost, "/fhir/notify", topicNotification("event-notification", "Subscription/78", 3, "Provenance/pv-1",
					provenance("pv-1", "Task/t-1/_history/2")), "Content-Type", "application/fhir+json", "Authorization", "Bearer "+secret)
			},
			entries:  []queue.Entry{{Resource: "Provenance/pv-1", Version: "1", Reason: "notification"}},
			observed: map[string][]int64{"Subscription/78": {3}},
			style:    "bundle",
		},
		{
			name: "topic event of a Provenance of no Task: nothing queued, its number observed",
			req: func() *http.Request {
				return request(http.MethodPost, "/fhir/notify", topicNotification("event-notification", "Subscription/78", 4, "Provenance/pv-2",
					provenance("pv-2", encounterRef)), "Content-Type", "application/fhir+json", "Authorization", "Bearer "+secret)
			},
			observed: map[string][]int64{"Subscription/78": {4}},
			style:    "bundle",
			outcome:  "ignored",
		},
		{
			name: "rest-hook PUT of a Provenance of no Task: nothing queued",
			req: func() *http.Request {
				return request(http.MethodPut, "/fhir/notify/Provenance/pv-2", provenance("pv-2", encounterRef), hapiHeaders("1")...)
			},
			style:   "put",
			outcome: "ignored",
		},
		{
			name: "a resource POSTed to the endpoint, as some servers do",
			req: func() *http.Request {
				return request(http.MethodPost, "/fhir/notify", enc, "Content-Type", "application/json", "Authorization", "bearer "+secret)
			},
			entries: []queue.Entry{{Patient: patientRef, Resource: encounterRef, Version: "3", Reason: "notification"}},
			style:   "resource",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, nil)
			ts.in.gap = tt.gap
			before := time.Now()
			w := ts.do(tt.req())
			if w.Code != http.StatusNoContent || w.Body.Len() != 0 {
				t.Fatalf("got %d %q, want 204 No Content", w.Code, w.Body)
			}
			for i := range ts.in.entries {
				e := &ts.in.entries[i]
				if e.Enqueued.Before(before) || e.Enqueued.After(time.Now()) {
					t.Errorf("entry %d: Enqueued %v, want the time of the request", i, e.Enqueued)
				}
				e.Enqueued = time.Time{}
				if e.Trace["traceparent"] == "" {
					t.Errorf("entry %d: no traceparent in %v", i, e.Trace)
				}
				e.Trace = nil
			}
			if !reflect.DeepEqual(ts.in.entries, tt.entries) {
				t.Errorf("got entries %+v,\nwant %+v", ts.in.entries, tt.entries)
			}
			if !reflect.DeepEqual(ts.in.catchUps, tt.catchUps) {
				t.Errorf("got catch-up requests %q, want %q", ts.in.catchUps, tt.catchUps)
			}
			if tt.observed == nil {
				tt.observed = map[string][]int64{}
			}
			if !reflect.DeepEqual(ts.in.observed, tt.observed) {
				t.Errorf("got observed events %v, want %v", ts.in.observed, tt.observed)
			}
			if tt.outcome == "" {
				tt.outcome = "accepted"
			}
			if got := ts.metric(t, `utilreview_notifications_received_total{outcome="`+tt.outcome+`",style="`+tt.style+`"}`); got != "1" {
				t.Errorf("%s %s deliveries counted %q, want 1", tt.outcome, tt.style, got)
			}
		})
	}
}

// A duplicate delivery (HAPI retries for a minute) is accepted again and
// counted as coalesced: the patient is already waiting.
func TestWebhookDuplicateIsCoalesced(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	enc := readTestdata(t, "Encounter-synthea-inpatient.json")
	for range 3 {
		if w := ts.do(request(http.MethodPut, "/fhir/notify/"+encounterRef, enc, hapiHeaders("3")...)); w.Code != http.StatusNoContent {
			t.Fatalf("got %d, want 204", w.Code)
		}
	}
	if len(ts.in.entries) != 1 {
		t.Errorf("got %d entries, want 1", len(ts.in.entries))
	}
	if got := ts.metric(t, `utilreview_notifications_received_total{outcome="coalesced",style="put"}`); got != "2" {
		t.Errorf("coalesced deliveries counted %q, want 2", got)
	}
	if got := ts.metric(t, `utilreview_webhook_enqueue_duration_seconds_count`); got != "3" {
		t.Errorf("enqueue latency observed %q times, want 3", got)
	}
}

// The W3C trace context of the FHIR server's request reaches the entry, so
// that processing joins the webhook's trace, and the log line carries it.
func TestWebhookCarriesTraceContext(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	req := request(http.MethodPut, "/fhir/notify/"+encounterRef, readTestdata(t, "Encounter-synthea-inpatient.json"),
		append(hapiHeaders("3"), "traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")...)
	if w := ts.do(req); w.Code != http.StatusNoContent {
		t.Fatalf("got %d, want 204", w.Code)
	}
	if len(ts.in.entries) != 1 {
		t.Fatalf("got %d entries, want 1", len(ts.in.entries))
	}
	tp := ts.in.entries[0].Trace["traceparent"]
	if !strings.HasPrefix(tp, "00-"+traceID+"-") || strings.Contains(tp, "00f067aa0ba902b7") {
		t.Errorf("got traceparent %q, want trace %s with the webhook's own span", tp, traceID)
	}
	if !strings.Contains(ts.logbuf.String(), `"trace_id":"`+traceID+`"`) {
		t.Errorf("log has no trace id: %s", ts.logbuf)
	}
}

// Bad deliveries are refused with an OperationOutcome and the status the
// issue asks for, and nothing reaches the intake.
func TestWebhookRefusesBadDeliveries(t *testing.T) {
	t.Parallel()
	enc := readTestdata(t, "Encounter-synthea-inpatient.json")
	auth := []string{"Content-Type", "application/fhir+json", "Authorization", "Bearer " + secret}
	patient := []byte(`{"resourceType":"Patient","id":"zq-1","name":[{"family":"Quuxley","given":["Zebediah"]}],"birthDate":"1931-02-03"}`)
	tests := []struct {
		name    string
		req     *http.Request
		maxBody int64
		status  int
		code    string
		outcome string
	}{
		{"no secret", request(http.MethodPut, "/fhir/notify/"+encounterRef, enc, "Content-Type", "application/fhir+json"),
			0, 401, "login", "unauthorized"},
		{"wrong secret", request(http.MethodPut, "/fhir/notify/"+encounterRef, enc, "Content-Type", "application/fhir+json", "Authorization", "Bearer "+secret+"x"),
			0, 401, "security", "unauthorized"},
		{"the secret in another scheme", request(http.MethodPost, "/fhir/notify", nil, "Authorization", "Basic "+secret),
			0, 401, "login", "unauthorized"},
		{"the bare secret", request(http.MethodDelete, "/fhir/notify/"+encounterRef, nil, "Authorization", secret),
			0, 401, "login", "unauthorized"},
		{"oversized, with Content-Length", request(http.MethodPut, "/fhir/notify/"+encounterRef, enc, auth...),
			512, 413, "too-long", "too-large"},
		{"oversized, chunked", chunked(request(http.MethodPost, "/fhir/notify", enc, auth...)),
			512, 413, "too-long", "too-large"},
		{"not JSON", request(http.MethodPut, "/fhir/notify/"+encounterRef, []byte("<Encounter/>"), auth...),
			0, 400, "structure", "bad-request"},
		{"POSTed not JSON", request(http.MethodPost, "/fhir/notify", []byte("status=finished&name=Zebediah"), "Content-Type", "application/x-www-form-urlencoded", "Authorization", "Bearer "+secret),
			0, 400, "structure", "bad-request"},
		{"not a JSON media type", request(http.MethodPut, "/fhir/notify/"+encounterRef, enc, "Content-Type", "application/xml", "Authorization", "Bearer "+secret),
			0, 415, "not-supported", "bad-request"},
		{"a JSON array", request(http.MethodPost, "/fhir/notify", []byte(`[{"resourceType":"Encounter"}]`), auth...),
			0, 400, "structure", "bad-request"},
		{"no resourceType", request(http.MethodPost, "/fhir/notify", []byte(`{"id":"Zebediah"}`), auth...),
			0, 400, "structure", "bad-request"},
		{"wrong resourceType for the path", request(http.MethodPut, "/fhir/notify/Encounter/zq-1", patient, auth...),
			0, 400, "structure", "bad-request"},
		{"type/id mismatch", request(http.MethodPut, "/fhir/notify/Encounter/other-id", enc, auth...),
			0, 400, "structure", "bad-request"},
		{"a type the service does not follow", request(http.MethodPut, "/fhir/notify/Observation/o1", []byte(`{"resourceType":"Observation","id":"o1"}`), auth...),
			0, 400, "structure", "bad-request"},
		{"a path that names no resource", request(http.MethodDelete, "/fhir/notify/encounter/x", nil, auth...),
			0, 400, "structure", "bad-request"},
		{"POSTed resource of a type not followed", request(http.MethodPost, "/fhir/notify", []byte(`{"resourceType":"Observation","id":"o1"}`), auth...),
			0, 400, "structure", "bad-request"},
		{"POSTed resource without id", request(http.MethodPost, "/fhir/notify", []byte(`{"resourceType":"Encounter","subject":{"reference":"Patient/p"}}`), auth...),
			0, 400, "structure", "bad-request"},
		{"a transaction Bundle", request(http.MethodPost, "/fhir/notify", []byte(`{"resourceType":"Bundle","type":"transaction","entry":[{"resource":`+string(patient)+`}]}`), auth...),
			0, 400, "structure", "bad-request"},
		{"a history Bundle that is not a notification", request(http.MethodPost, "/fhir/notify", []byte(`{"resourceType":"Bundle","type":"history","entry":[{"resource":`+string(patient)+`}]}`), auth...),
			0, 400, "structure", "bad-request"},
		{"a notification whose event number is a date", request(http.MethodPost, "/fhir/notify",
			bytes.Replace(topicNotification("event-notification", "Subscription/77", 5, encounterRef, enc), []byte(`{"name":"event-number","valueString":"5"}`), []byte(`{"name":"event-number","valueString":"1931-02-03"}`), 1), auth...),
			0, 400, "structure", "bad-request"},
		{"a PUT without a body", request(http.MethodPut, "/fhir/notify/"+encounterRef, nil, auth...),
			0, 400, "structure", "bad-request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, func(c *handlers.Config) { c.MaxBody = tt.maxBody })
			w := ts.do(tt.req)
			checkOutcome(t, w, tt.status, tt.code)
			if tt.status == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") != "Bearer" {
				t.Errorf("401 without WWW-Authenticate: Bearer")
			}
			if ts.in.handedOver() {
				t.Errorf("the intake got entries %v, catch-ups %v, events %v; want nothing", ts.in.entries, ts.in.catchUps, ts.in.observed)
			}
			for _, value := range []string{"Zebediah", "Quuxley", "1931-02-03", "other-id", "zq-1", "224a9d89", "Observation"} {
				if strings.Contains(w.Body.String(), value) || strings.Contains(ts.logbuf.String(), value) {
					t.Errorf("the answer or the log quotes the input value %q:\n%s\n%s", value, w.Body, ts.logbuf)
				}
			}
			var total float64
			for _, style := range []string{"put", "delete", "post", "ping", "bundle", "resource"} {
				if v := ts.metric(t, `utilreview_notifications_received_total{outcome="`+tt.outcome+`",style="`+style+`"}`); v != "" {
					total++
				}
			}
			if total != 1 {
				t.Errorf("refusal counted under %g styles with outcome %s, want 1", total, tt.outcome)
			}
		})
	}
}

// chunked makes a request's length unknown in advance, as a chunked body.
func chunked(r *http.Request) *http.Request {
	r.ContentLength = -1
	return r
}

// When the queue cannot take a notification (Redis down), the webhook
// answers 503 so that the FHIR server retries.
func TestWebhookQueueDown(t *testing.T) {
	t.Parallel()
	enc := readTestdata(t, "Encounter-synthea-inpatient.json")
	auth := []string{"Content-Type", "application/fhir+json", "Authorization", "Bearer " + secret}
	for name, req := range map[string]func() *http.Request{
		"put": func() *http.Request {
			return request(http.MethodPut, "/fhir/notify/"+encounterRef, enc, hapiHeaders("3")...)
		},
		"delete": func() *http.Request { return request(http.MethodDelete, "/fhir/notify/"+encounterRef, nil, auth...) },
		"ping":   func() *http.Request { return request(http.MethodPost, "/fhir/notify", nil, auth...) },
		"bundle": func() *http.Request {
			return request(http.MethodPost, "/fhir/notify", topicNotification("event-notification", "Subscription/77", 5, encounterRef, enc), auth...)
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, nil)
			ts.in.err = errRedisDown
			w := ts.do(req())
			checkOutcome(t, w, http.StatusServiceUnavailable, "transient")
			if strings.Contains(w.Body.String(), "127.0.0.1") {
				t.Errorf("the answer shows the queue's error: %s", w.Body)
			}
			if !strings.Contains(ts.logbuf.String(), "connection refused") {
				t.Errorf("the log does not have the cause: %s", ts.logbuf)
			}
			if got := ts.metric(t, `utilreview_notifications_received_total{outcome="unavailable",style="`+name+`"}`); got != "1" {
				t.Errorf("unavailable counted %q, want 1", got)
			}
		})
	}
}

// The log never carries a resource's content: a Patient with a distinctive
// name and birth date is notified, and neither appears in the log.
func TestWebhookLogsNoPHI(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	patient := []byte(`{"resourceType":"Patient","id":"zq-1","meta":{"versionId":"2"},"identifier":[{"system":"urn:mrn","value":"MRN-77341"}],"name":[{"family":"Quuxley","given":["Zebediah"]}],"birthDate":"1931-02-03"}`)
	auth := []string{"Content-Type", "application/fhir+json", "Authorization", "Bearer " + secret}
	for _, req := range []*http.Request{
		request(http.MethodPut, "/fhir/notify/Patient/zq-1", patient, auth...),
		request(http.MethodPut, "/fhir/notify/Patient/other", patient, auth...),
		request(http.MethodPost, "/fhir/notify", patient, auth...),
	} {
		ts.do(req)
	}
	if len(ts.in.entries) != 1 || ts.in.entries[0].Patient != "Patient/zq-1" {
		t.Errorf("got entries %+v, want one for Patient/zq-1", ts.in.entries)
	}
	log := ts.logbuf.String()
	for _, phi := range []string{"Quuxley", "Zebediah", "1931-02-03", "MRN-77341"} {
		if strings.Contains(log, phi) {
			t.Errorf("the log has %q:\n%s", phi, log)
		}
	}
	var line map[string]any
	first, _, _ := strings.Cut(log, "\n")
	if err := json.Unmarshal([]byte(first), &line); err != nil || line["resource"] != "Patient/zq-1" || line["version"] != "2" {
		t.Errorf("first log line %s: want JSON with resource Patient/zq-1, version 2 (%v)", first, err)
	}
}

// Routes that do not exist answer an OperationOutcome too.
func TestUnknownRoutes(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	checkOutcome(t, ts.do(request(http.MethodGet, "/fhir/notify/Encounter/e1", nil, "Authorization", "Bearer "+secret)), 405, "not-supported")
	checkOutcome(t, ts.do(request(http.MethodGet, "/nothing-here", nil)), 404, "not-found")
}

func TestNewRefusesConfig(t *testing.T) {
	t.Parallel()
	in := newFakeIntake()
	for name, cfg := range map[string]handlers.Config{
		"no secret":        {},
		"negative MaxBody": {WebhookSecret: secret, MaxBody: -1},
	} {
		if _, err := handlers.New(cfg, in, nil); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
	if _, err := handlers.New(handlers.Config{WebhookSecret: secret}, nil, nil); err == nil {
		t.Errorf("New accepted a nil intake")
	}
}

// BenchmarkWebhookPut is the per-request cost of a full-resource PUT of a
// real Encounter through the whole handler (auth, decode, metrics, trace
// context), with an intake that does nothing: untraced (no OTEL endpoint:
// the no-op provider) and traced (every span recorded, none exported).
func BenchmarkWebhookPut(b *testing.B) {
	enc := readTestdata(b, "Encounter-synthea-inpatient.json")
	headers := hapiHeaders("3")
	traced := otel.GetTracerProvider()
	defer otel.SetTracerProvider(traced)
	for _, bm := range []struct {
		name     string
		provider trace.TracerProvider
	}{{"untraced", noop.NewTracerProvider()}, {"traced", traced}} {
		b.Run(bm.name, func(b *testing.B) {
			otel.SetTracerProvider(bm.provider)
			srv, err := handlers.New(handlers.Config{WebhookSecret: secret}, nopIntake{}, nil)
			if err != nil {
				b.Fatal(err)
			}
			h := srv.Handler()
			b.SetBytes(int64(len(enc)))
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					w := &discardWriter{h: http.Header{}}
					h.ServeHTTP(w, request(http.MethodPut, "/fhir/notify/"+encounterRef, enc, headers...))
					if w.status != http.StatusNoContent {
						b.Fatalf("got %d", w.status)
					}
				}
			})
		})
	}
}

type nopIntake struct{}

func (nopIntake) Admit(_ context.Context, _ queue.Entry) (queue.Admission, error) {
	return queue.Queued, nil
}
func (nopIntake) RequestCatchUp(_ context.Context, _ string) error { return nil }
func (nopIntake) ObserveEvent(_ context.Context, _ string, _ []int64) (bool, error) {
	return false, nil
}

// discardWriter is a ResponseWriter that keeps only the status, cheaper
// than httptest.ResponseRecorder in the benchmark.
type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(code int)        { w.status = code }

type panicIntake struct{ nopIntake }

func (panicIntake) Admit(context.Context, queue.Entry) (queue.Admission, error) { panic("intake bug") }

// A panic below a handler is answered 500 with an OperationOutcome, not a
// dropped connection.
func TestWebhookPanicIsAnInternalError(t *testing.T) {
	t.Parallel()
	srv, err := handlers.New(handlers.Config{WebhookSecret: secret}, panicIntake{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	w := (&testServer{srv: srv}).do(request(http.MethodPut, "/fhir/notify/"+encounterRef,
		readTestdata(t, "Encounter-synthea-inpatient.json"), hapiHeaders("3")...))
	checkOutcome(t, w, http.StatusInternalServerError, "exception")
	if strings.Contains(w.Body.String(), "intake bug") {
		t.Errorf("the answer shows the panic: %s", w.Body)
	}
}
