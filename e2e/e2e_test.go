// Package e2e holds end-to-end tests that prove how the real FHIR server (HAPI FHIR R4 JPA, e2e/hapi) behaves
// where utilreview's design depends on it: transactions, _lastUpdated search and paging, conditional writes,
// validation, and REST-hook and topic-based subscription delivery. What they observe is written down in
// docs/fhir-server-behaviour.md. Run them with `make test`; they skip under -short.
package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/utilreview/utilreview/e2e/harness"
)

// Generous bounds for a 2-core machine that also runs the JVM; waits poll and return early.
// Activation is measured at 0.2 s idle, but under load (the live service's tests create Subscriptions in
// parallel) HAPI activated some only after 40 s and more: see docs/fhir-server-behaviour.md. Deliveries share
// HAPI's delivery threads with the retries the tests provoke (a minute of them per refused notification): a CI
// run saw a first delivery wait more than 60 s.
const (
	activationTimeout = 180 * time.Second
	deliveryTimeout   = 180 * time.Second
)

const actCodeSystem = "http://terminology.hl7.org/CodeSystem/v3-ActCode"

func encounter(tag harness.Tag, status string) map[string]any {
	return map[string]any{
		"resourceType": "Encounter",
		"meta":         map[string]any{"tag": []any{tag}},
		"status":       status,
		"class":        map[string]any{"system": actCodeSystem, "code": "IMP"},
	}
}

// restHook describes an R4 rest-hook Subscription.
type restHook struct {
	criteria string
	endpoint string
	payload  string // "" for a notification without a body
	headers  []string
	// sendDeletes sets HAPI's extension that makes it deliver DELETE [endpoint]/[type]/[id] on delete.
	sendDeletes bool
}

func (h restHook) resource() map[string]any {
	channel := map[string]any{"type": "rest-hook", "endpoint": h.endpoint}
	if h.payload != "" {
		channel["payload"] = h.payload
	}
	if len(h.headers) > 0 {
		channel["header"] = h.headers
	}
	if h.sendDeletes {
		channel["extension"] = []any{map[string]any{
			"url":          "http://hapifhir.io/fhir/StructureDefinition/subscription-send-delete-messages",
			"valueBoolean": true,
		}}
	}
	return map[string]any{
		"resourceType": "Subscription",
		"status":       "requested",
		"reason":       "utilreview end-to-end test",
		"criteria":     h.criteria,
		"channel":      channel,
	}
}

// subscribe creates the Subscription, waits until the server has activated it, and deletes it when the test
// ends. It returns the id and how long activation took.
func subscribe(t *testing.T, c *harness.FHIR, sub map[string]any) (string, time.Duration) {
	t.Helper()
	start := time.Now()
	id := c.Create(sub)
	t.Cleanup(func() { c.Delete("Subscription/" + id) })
	harness.Eventually(t, activationTimeout, 100*time.Millisecond, "Subscription/"+id+" active", func() (bool, error) {
		got := c.Get("Subscription/" + id).Resource(t)
		switch got["status"] {
		case "active":
			return true, nil
		case "error":
			t.Fatalf("Subscription/%s went to error: %v", id, got["error"])
		}
		return false, fmt.Errorf("status %v", got["status"])
	})
	activated := time.Since(start)
	// Active is not yet delivering (docs/fhir-server-behaviour.md): HAPI
	// registers the Subscription for matching asynchronously, 0.1 to 0.7 s
	// after it reads active on an idle server, longer on a loaded one, and a
	// write in between is never notified. The tests below count deliveries
	// of their first write, so they give it time.
	time.Sleep(3 * time.Second)
	return id, activated
}

// decodeResource decodes a received body as a FHIR resource.
func decodeResource(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("decode notification body: %v; body starts %.300s", err, body)
	}
	return m
}

func versionOf(r map[string]any) string {
	meta, _ := r["meta"].(map[string]any)
	v, _ := meta["versionId"].(string)
	return v
}

func isPutOf(path string) func(harness.Received) bool {
	return func(r harness.Received) bool { return r.Method == http.MethodPut && r.Path == path }
}

// quietFor waits until the receiver has had no new request for quiet (or max passed) and returns everything it
// received. It is how tests count retries and duplicates, which have no natural end event.
func quietFor(r *harness.Receiver, quiet, max time.Duration) []harness.Received {
	deadline := time.Now().Add(max)
	for {
		got := r.Requests()
		last := time.Time{}
		if len(got) > 0 {
			last = got[len(got)-1].At
		}
		if (!last.IsZero() && time.Since(last) >= quiet) || time.Now().After(deadline) {
			return got
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// intervals formats the gaps between consecutive requests.
func intervals(got []harness.Received) string {
	var parts []string
	for i := 1; i < len(got); i++ {
		parts = append(parts, got[i].At.Sub(got[i-1].At).Round(10*time.Millisecond).String())
	}
	return strings.Join(parts, " ")
}
