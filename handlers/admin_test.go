package handlers_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/utilreview/utilreview/handlers"
	"github.com/utilreview/utilreview/service/queue"
)

func TestAdminAuth(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		token  string // configured
		header string
		status int
		code   string
	}{
		{"disabled without a token", "", "Bearer " + adminToken, 404, "not-found"},
		{"no credentials", adminToken, "", 401, "login"},
		{"the webhook secret is not the admin token", adminToken, "Bearer " + secret, 403, "forbidden"},
		{"wrong token", adminToken, "Bearer " + adminToken + "0", 403, "forbidden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, func(c *handlers.Config) { c.AdminToken = tt.token })
			ts.dl.list = []queue.DeadLetter{{ID: "1-0"}}
			for _, req := range []*http.Request{
				request(http.MethodGet, "/admin/deadletters", nil, "Authorization", tt.header),
				request(http.MethodPost, "/admin/deadletters/1-0/replay", nil, "Authorization", tt.header),
			} {
				checkOutcome(t, ts.do(req), tt.status, tt.code)
			}
		})
	}
}

func TestAdminDeadLetters(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	ts := newTestServer(t, nil)
	ts.dl.list = []queue.DeadLetter{
		{ID: "1700000000000-0", Entry: queue.Entry{Patient: "Patient/p1", Resource: "Encounter/e1", Version: "4", Reason: "notification",
			Attempt: 8, Enqueued: at.Add(-time.Hour), Trace: map[string]string{"traceparent": "00-x"}}, Error: "fhir: 500", At: at},
		{ID: "1700000000001-0", Entry: queue.Entry{Resource: "Claim/c1", Reason: "delete"}, Error: "fhir: 404", At: at},
	}
	auth := []string{"Authorization", "Bearer " + adminToken}

	w := ts.do(request(http.MethodGet, "/admin/deadletters", nil, auth...))
	if w.Code != http.StatusOK {
		t.Fatalf("got %d %s, want 200", w.Code, w.Body)
	}
	var got []map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatalf("not a JSON list: %v: %s", err, w.Body)
	}
	want := `[{"id":"1700000000000-0","patient":"Patient/p1","resource":"Encounter/e1","version":"4","reason":"notification","attempts":8,"enqueued":"2026-11-29T09:00:00Z","error":"fhir: 500","at":"2026-11-29T10:00:00Z"},` +
		`{"id":"1700000000001-0","resource":"Claim/c1","reason":"delete","attempts":0,"error":"fhir: 404","at":"2026-11-29T10:00:00Z"}]`
	if strings.TrimSpace(w.Body.String()) != want {
		t.Errorf("got %s\nwant %s", w.Body, want)
	}
	if w := ts.do(request(http.MethodGet, "/admin/deadletters?limit=1", nil, auth...)); strings.Count(w.Body.String(), `"id"`) != 1 {
		t.Errorf("limit=1 gave %s", w.Body)
	}
	for _, limit := range []string{"0", "-1", "x", "1001"} {
		checkOutcome(t, ts.do(request(http.MethodGet, "/admin/deadletters?limit="+limit, nil, auth...)), 400, "structure")
	}

	if w := ts.do(request(http.MethodPost, "/admin/deadletters/1700000000000-0/replay", nil, auth...)); w.Code != http.StatusNoContent {
		t.Errorf("replay: got %d %s, want 204", w.Code, w.Body)
	}
	checkOutcome(t, ts.do(request(http.MethodPost, "/admin/deadletters/1-1/replay", nil, auth...)), 404, "not-found")

	ts.dl.err = errors.New("redis: connection pool timeout")
	checkOutcome(t, ts.do(request(http.MethodGet, "/admin/deadletters", nil, auth...)), 503, "transient")
	checkOutcome(t, ts.do(request(http.MethodPost, "/admin/deadletters/1700000000000-0/replay", nil, auth...)), 503, "transient")
}

// Without a dead-letter store the routes do not exist.
func TestAdminWithoutDeadLetters(t *testing.T) {
	t.Parallel()
	srv, err := handlers.New(handlers.Config{WebhookSecret: secret, AdminToken: adminToken}, newFakeIntake(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{srv: srv}
	checkOutcome(t, ts.do(request(http.MethodGet, "/admin/deadletters", nil, "Authorization", "Bearer "+adminToken)), 404, "not-found")
}

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(c *handlers.Config) {
		c.Ready = map[string]handlers.Checker{
			"redis": func(context.Context) error { return nil },
		}
	})
	if w := ts.do(request(http.MethodGet, "/healthz", nil)); w.Code != http.StatusOK {
		t.Errorf("healthz: got %d", w.Code)
	}
	if w := ts.do(request(http.MethodGet, "/readyz", nil)); w.Code != http.StatusOK {
		t.Errorf("readyz: got %d %s", w.Code, w.Body)
	}

	ts = newTestServer(t, func(c *handlers.Config) {
		c.Ready = map[string]handlers.Checker{
			"redis": func(context.Context) error { return errors.New("AUTH failed for redis://:hunter2@cache:6379") },
			"fhir": func(ctx context.Context) error { // hangs until the probe's deadline
				<-ctx.Done()
				return ctx.Err()
			},
			"subscriptions": func(context.Context) error { return nil },
		}
	})
	start := time.Now()
	w := ts.do(request(http.MethodGet, "/readyz", nil))
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("readyz took %s with a hanging check", d)
	}
	checkOutcome(t, w, http.StatusServiceUnavailable, "transient")
	var oo struct {
		Issue []struct{ Diagnostics string }
	}
	_ = json.Unmarshal(w.Body.Bytes(), &oo)
	var diags []string
	for _, is := range oo.Issue {
		diags = append(diags, is.Diagnostics)
	}
	if strings.Join(diags, "|") != "not ready: fhir|not ready: redis" {
		t.Errorf("got issues %q, want the fhir and redis checks named", diags)
	}
	if strings.Contains(w.Body.String(), "hunter2") {
		t.Errorf("readyz answers a check's error: %s", w.Body)
	}
}

func TestMetricsRoute(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	ts.do(request(http.MethodPost, "/fhir/notify", nil, "Authorization", "Bearer "+secret))
	w := ts.do(request(http.MethodGet, "/metrics", nil))
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `utilreview_notifications_received_total{outcome="accepted",style="ping"} 1`) {
		t.Errorf("metrics: got %d\n%s", w.Code, w.Body)
	}
	// Without a gatherer there is no route.
	srv, err := handlers.New(handlers.Config{WebhookSecret: secret}, newFakeIntake(), nil)
	if err != nil {
		t.Fatal(err)
	}
	checkOutcome(t, (&testServer{srv: srv}).do(request(http.MethodGet, "/metrics", nil)), 404, "not-found")
}
