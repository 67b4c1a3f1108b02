package handlers_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/utilreview/utilreview/e2e/harness"
	"github.com/utilreview/utilreview/handlers"
	"github.com/utilreview/utilreview/service/queue"
)

// The webhook on the real queue (Redis of the harness): *queue.Queue is the
// Intake and the DeadLetters, duplicates coalesce in Redis, and the admin
// routes read the real dead-letter stream.
func TestWebhookOnRealQueue(t *testing.T) {
	t.Parallel()
	rdb, prefix := harness.Redis(t)
	q, err := queue.New(rdb, queue.Config{Prefix: prefix})
	if err != nil {
		t.Fatalf("queue.New: %v", err)
	}
	srv, err := handlers.New(handlers.Config{WebhookSecret: secret, AdminToken: adminToken}, q, q)
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{srv: srv}
	enc := readTestdata(t, "Encounter-synthea-inpatient.json")
	auth := []string{"Content-Type", "application/fhir+json", "Authorization", "Bearer " + secret}
	for _, req := range []*http.Request{
		request(http.MethodPut, "/fhir/notify/"+encounterRef, enc, hapiHeaders("3")...),
		request(http.MethodPut, "/fhir/notify/"+encounterRef, enc, hapiHeaders("3")...), // HAPI's retry
		request(http.MethodPost, "/fhir/notify", topicNotification("event-notification", "Subscription/77", 1, encounterRef, enc), auth...),
		request(http.MethodDelete, "/fhir/notify/Claim/c-1", nil, auth...),
		request(http.MethodPost, "/fhir/notify", nil, auth...),
	} {
		if w := ts.do(req); w.Code != http.StatusNoContent {
			t.Fatalf("%s %s: got %d %s, want 204", req.Method, req.URL.Path, w.Code, w.Body)
		}
	}
	st, err := q.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Depth != 2 {
		t.Errorf("queue depth %d, want 2 (the patient once, the deleted Claim)", st.Depth)
	}
	if requested, err := q.TakeCatchUpRequest(context.Background()); err != nil || !requested {
		t.Errorf("no catch-up requested by the ping (%v)", err)
	}

	admin := []string{"Authorization", "Bearer " + adminToken}
	if w := ts.do(request(http.MethodGet, "/admin/deadletters", nil, admin...)); w.Code != http.StatusOK || w.Body.String() != "[]\n" {
		t.Errorf("dead letters: got %d %q, want 200 []", w.Code, w.Body)
	}
	checkOutcome(t, ts.do(request(http.MethodPost, "/admin/deadletters/1-0/replay", nil, admin...)), 404, "not-found")
}

// The service's own Task and CommunicationRequest writes come back as
// notifications; the versions it wrote are recorded in Redis
// (queue.RecordOwnWrites, by the processor after its transaction), and a
// full-resource notification of such a version is answered 204 and queues
// nothing (outcome "own-write"), in the same Redis round trip as an
// enqueue. Any other version (a clinician's edit) and an id-only
// notification (no version to compare) are queued as before.
func TestWebhookSkipsOwnWrites(t *testing.T) {
	t.Parallel()
	task := func(id, version string) []byte {
		return []byte(`{"resourceType":"Task","id":"` + id + `","meta":{"versionId":"` + version + `"},"status":"requested","intent":"order","for":{"reference":"Patient/p-` + id + `"}}`)
	}
	commRequest := func(id, version string) []byte {
		return []byte(`{"resourceType":"CommunicationRequest","id":"` + id + `","meta":{"versionId":"` + version + `"},"status":"active","subject":{"reference":"Patient/p-` + id + `"}}`)
	}
	auth := []string{"Content-Type", "application/fhir+json", "Authorization", "Bearer " + secret}
	tests := []struct {
		name    string
		own     map[string]string // recorded before the notification
		req     *http.Request
		outcome string
		queued  bool
	}{
		{"the Task version the service wrote", map[string]string{"Task/t1": "2"},
			request(http.MethodPut, "/fhir/notify/Task/t1", task("t1", "2"), hapiHeaders("2")...), "own-write", false},
		{"a Task version before the one the service wrote (its If-Match update read it)", map[string]string{"Task/t2": "3"},
			request(http.MethodPut, "/fhir/notify/Task/t2", task("t2", "2"), hapiHeaders("2")...), "own-write", false},
		{"a clinician's edit after the service's write", map[string]string{"Task/t3": "2"},
			request(http.MethodPut, "/fhir/notify/Task/t3", task("t3", "3"), hapiHeaders("3")...), "accepted", true},
		{"a Task the service never wrote", map[string]string{"Task/other": "1"},
			request(http.MethodPut, "/fhir/notify/Task/t4", task("t4", "1"), hapiHeaders("1")...), "accepted", true},
		{"the CommunicationRequest version the service wrote", map[string]string{"CommunicationRequest/r1": "1"},
			request(http.MethodPut, "/fhir/notify/CommunicationRequest/r1", commRequest("r1", "1"), hapiHeaders("1")...), "own-write", false},
		{"an own version in a topic notification with the resource", map[string]string{"Task/t5": "4"},
			request(http.MethodPost, "/fhir/notify", topicNotification("event-notification", "Subscription/9", 1, "Task/t5", task("t5", "4")), auth...), "own-write", false},
		{"an id-only topic event (no version to compare)", map[string]string{"Task/t6": "4"},
			request(http.MethodPost, "/fhir/notify", topicNotification("event-notification", "Subscription/9", 2, "Task/t6", nil), auth...), "accepted", true},
		{"a delete (no version)", map[string]string{"Task/t7": "4"},
			request(http.MethodDelete, "/fhir/notify/Task/t7", nil, auth...), "accepted", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rdb, prefix := harness.Redis(t)
			reg := prometheus.NewRegistry()
			q, err := queue.New(rdb, queue.Config{Prefix: prefix})
			if err != nil {
				t.Fatal(err)
			}
			srv, err := handlers.New(handlers.Config{WebhookSecret: secret, Registerer: reg}, q, q)
			if err != nil {
				t.Fatal(err)
			}
			ts := &testServer{srv: srv, reg: reg}
			ctx := context.Background()
			if err := q.RecordOwnWrites(ctx, tt.own); err != nil {
				t.Fatal(err)
			}
			if w := ts.do(tt.req); w.Code != http.StatusNoContent {
				t.Fatalf("got %d %s, want 204", w.Code, w.Body)
			}
			st, err := q.Stats(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got := st.Depth > 0; got != tt.queued {
				t.Errorf("queue depth %d, want queued %v", st.Depth, tt.queued)
			}
			found := false
			for _, style := range []string{"put", "bundle", "delete"} {
				if ts.metric(t, `utilreview_notifications_received_total{outcome="`+tt.outcome+`",style="`+style+`"}`) == "1" {
					found = true
				}
			}
			if !found {
				t.Errorf("no notification counted with outcome %q", tt.outcome)
			}
		})
	}
}
