package handlers_test

import (
	"context"
	"net/http"
	"testing"

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
