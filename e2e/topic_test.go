package e2e

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/utilreview/utilreview/e2e/harness"
)

const (
	backport            = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
	encounterTopicURL   = "http://utilreview.example/fhir/SubscriptionTopic/encounter-changed"
	subscriptionStatusR = backport + "backport-subscription-status-r4"
)

// notification is an R4 topic-based notification Bundle as the Subscriptions Backport IG defines it.
type notification struct {
	ResourceType string `json:"resourceType"`
	Type         string `json:"type"`
	Entry        []struct {
		FullURL  string          `json:"fullUrl"`
		Resource json.RawMessage `json:"resource"`
	} `json:"entry"`
}

type parameters struct {
	ResourceType string `json:"resourceType"`
	Meta         struct {
		Profile []string `json:"profile"`
	} `json:"meta"`
	Parameter []parameter `json:"parameter"`
}

type parameter struct {
	Name           string                      `json:"name"`
	ValueString    string                      `json:"valueString"`
	ValueCode      string                      `json:"valueCode"`
	ValueCanonical string                      `json:"valueCanonical"`
	ValueDate      string                      `json:"valueDate"`
	ValueInstant   string                      `json:"valueInstant"`
	ValueReference *struct{ Reference string } `json:"valueReference"`
	Part           []parameter                 `json:"part"`
}

func (p parameters) get(name string) *parameter {
	for i := range p.Parameter {
		if p.Parameter[i].Name == name {
			return &p.Parameter[i]
		}
	}
	return nil
}

// topicSubscription is a backport Subscription on the project's Encounter topic, filtered to one test's tag.
func topicSubscription(tag harness.Tag, endpoint, secret string) map[string]any {
	return map[string]any{
		"resourceType": "Subscription",
		"meta":         map[string]any{"profile": []any{backport + "backport-subscription"}},
		"status":       "requested",
		"reason":       "utilreview end-to-end test",
		"criteria":     encounterTopicURL,
		"_criteria": map[string]any{"extension": []any{map[string]any{
			"url": backport + "backport-filter-criteria", "valueString": "Encounter?_tag=" + tag.Param(),
		}}},
		"channel": map[string]any{
			"type":     "rest-hook",
			"endpoint": endpoint,
			"payload":  "application/fhir+json",
			"_payload": map[string]any{"extension": []any{map[string]any{
				"url": backport + "backport-payload-content", "valueCode": "full-resource",
			}}},
			"header": []any{"Authorization: " + secret},
		},
	}
}

func part(p *parameter, name string) *parameter {
	for i := range p.Part {
		if p.Part[i].Name == name {
			return &p.Part[i]
		}
	}
	return nil
}

// A topic-based Subscription (Subscriptions Backport IG, R4) on the project's Encounter topic, filtered to this
// test's Encounters, gets notification Bundles (type history) whose first entry is the SubscriptionStatus
// Parameters and whose second is the full Encounter; event numbers count up per subscription.
func TestTopicSubscriptionNotifications(t *testing.T) {
	t.Parallel()
	c := harness.NewFHIR(t)
	tag := harness.UniqueTag(t)
	r := harness.NewReceiver(t)
	secret := "Bearer " + harness.UniqueID("topic")

	subID, activation := subscribe(t, c, topicSubscription(tag, r.URL+"/notify", secret))
	t.Logf("topic Subscription/%s active %s after create", subID, activation.Round(time.Millisecond))

	// 204: the answer that ends a topic notification (see TestTopicReceiverAnswers).
	r.SetResponder(func(harness.Received) (int, string, []byte) { return http.StatusNoContent, "", nil })

	// Create and two updates, each written after the previous notification arrived.
	var id string
	for i, st := range []string{"planned", "in-progress", "finished"} {
		sent := time.Now()
		if i == 0 {
			id = c.Create(encounter(tag, st))
		} else {
			enc := encounter(tag, st)
			enc["id"] = id
			c.Put("Encounter/"+id, enc).MustStatus(t, http.StatusOK)
		}
		g := r.WaitFor(t, deliveryTimeout, i+1, "notification", func(harness.Received) bool { return true })[i]
		t.Logf("write %d (%s) -> notification %s %s after %s", i+1, st, g.Method, g.Path, g.At.Sub(sent).Round(time.Millisecond))
	}
	// An Encounter of another test (other tag) must not be notified.
	c.Create(encounter(harness.UniqueTag(t), "planned"))
	got := quietFor(r, 5*time.Second, 30*time.Second)
	if len(got) != 3 {
		t.Errorf("got %d notifications, want 3 (create and two updates of this test's Encounter only)", len(got))
	}

	var eventNumbers []int
	var types, order []string
	for i, g := range got {
		if g.Method != http.MethodPost || g.Path != "/notify" {
			t.Errorf("notification %d: got %s %s, want POST /notify", i, g.Method, g.Path)
		}
		if g.Header.Get("Authorization") != secret {
			t.Errorf("notification %d: channel header missing", i)
		}
		if ct := g.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/fhir+json") {
			t.Errorf("notification %d: Content-Type %q", i, ct)
		}
		var b notification
		if err := json.Unmarshal(g.Body, &b); err != nil {
			t.Fatalf("notification %d: %v", i, err)
		}
		if b.ResourceType != "Bundle" || b.Type != "history" || len(b.Entry) < 1 {
			t.Fatalf("notification %d: got %s type %s with %d entries, want a history Bundle", i, b.ResourceType, b.Type, len(b.Entry))
		}
		var status parameters
		if err := json.Unmarshal(b.Entry[0].Resource, &status); err != nil || status.ResourceType != "Parameters" {
			t.Fatalf("notification %d: first entry is not Parameters: %.300s", i, b.Entry[0].Resource)
		}
		if len(status.Meta.Profile) == 0 || status.Meta.Profile[0] != subscriptionStatusR {
			t.Errorf("notification %d: SubscriptionStatus profile %v", i, status.Meta.Profile)
		}
		typ := status.get("type")
		if typ == nil {
			t.Fatalf("notification %d: no type parameter", i)
		}
		types = append(types, typ.ValueCode)
		if s := status.get("subscription"); s == nil || s.ValueReference == nil || !strings.Contains(s.ValueReference.Reference, "Subscription/"+subID) {
			t.Errorf("notification %d: subscription parameter %+v, want Subscription/%s", i, s, subID)
		}
		if tp := status.get("topic"); tp == nil || tp.ValueCanonical != encounterTopicURL {
			t.Errorf("notification %d: topic parameter %+v", i, tp)
		}
		ev := status.get("notification-event")
		if ev == nil {
			t.Fatalf("notification %d: no notification-event", i)
		}
		n, err := strconv.Atoi(part(ev, "event-number").ValueString)
		if err != nil {
			t.Fatalf("notification %d: event-number: %v", i, err)
		}
		eventNumbers = append(eventNumbers, n)
		if since := status.get("events-since-subscription-start"); since == nil || since.ValueString != strconv.Itoa(n) {
			t.Errorf("notification %d: events-since-subscription-start %+v, want %d", i, since, n)
		}
		if f := part(ev, "focus"); f == nil || f.ValueReference == nil || f.ValueReference.Reference != "Encounter/"+id {
			t.Errorf("notification %d: focus %+v, want Encounter/%s", i, f, id)
		}
		if len(b.Entry) != 2 {
			t.Fatalf("notification %d: got %d entries, want SubscriptionStatus and the Encounter", i, len(b.Entry))
		}
		enc := decodeResource(t, b.Entry[1].Resource)
		if enc["resourceType"] != "Encounter" || enc["id"] != id {
			t.Errorf("notification %d: second entry %v/%v, want Encounter/%s", i, enc["resourceType"], enc["id"], id)
		}
		order = append(order, versionOf(enc))
		if ts := part(ev, "timestamp"); ts != nil && i == 0 {
			t.Logf("notification-event timestamp: valueDate %q valueInstant %q", ts.ValueDate, ts.ValueInstant)
		}
	}
	t.Logf("notification types %v, event numbers in arrival order %v, Encounter versions %v", types, eventNumbers, order)
	for i, typ := range types {
		// HAPI 8.8 sends no handshake (nor heartbeat) for R4 topic subscriptions: only event-notifications.
		if typ != "event-notification" {
			t.Errorf("notification %d: type %q, want event-notification", i, typ)
		}
	}
	if !slices.Equal(eventNumbers, []int{1, 2, 3}) || !slices.Equal(order, []string{"1", "2", "3"}) {
		t.Errorf("got event numbers %v for versions %v, want 1 2 3 for versions 1 2 3", eventNumbers, order)
	}

	// Three updates in quick succession: which versions are notified, with which event numbers.
	for _, st := range []string{"onleave", "in-progress", "finished"} {
		enc := encounter(tag, st)
		enc["id"] = id
		c.Put("Encounter/"+id, enc).MustStatus(t, http.StatusOK)
	}
	r.WaitFor(t, deliveryTimeout, 4, "a notification for the quick updates", func(harness.Received) bool { return true })
	quick := quietFor(r, 5*time.Second, 60*time.Second)[3:]
	var quickEvents []string
	lastVersionSeen := false
	for _, g := range quick {
		var b notification
		if err := json.Unmarshal(g.Body, &b); err != nil || len(b.Entry) < 2 {
			t.Fatalf("quick update notification: %.300s", g.Body)
		}
		var p parameters
		_ = json.Unmarshal(b.Entry[0].Resource, &p)
		v := versionOf(decodeResource(t, b.Entry[1].Resource))
		lastVersionSeen = lastVersionSeen || v == "6"
		quickEvents = append(quickEvents, part(p.get("notification-event"), "event-number").ValueString+"/v"+v)
	}
	t.Logf("3 quick updates (versions 4-6) -> %d notifications, event-number/version: %v", len(quick), quickEvents)
	if !lastVersionSeen {
		t.Errorf("the last version (6) was never notified: %v", quickEvents)
	}

	// The IG's $status operation; record whether this server has it.
	st := c.Get("Subscription/" + subID + "/$status")
	t.Logf("GET Subscription/%s/$status: %d %.200s", subID, st.Status, st.Body)
}

// What a topic notification's receiver must answer: HAPI posts the notification Bundle as a transaction and
// reads the answer as a transaction-response, so 204, or 200 with a Bundle, ends it; 200 with an empty body or
// an OperationOutcome is retried like a failure (duplicates for about a minute).
func TestTopicReceiverAnswers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		status      int
		contentType string
		body        string
		wantRetries bool
	}{
		{"204 is final", http.StatusNoContent, "", "", false},
		{"200 with a transaction-response Bundle is final", http.StatusOK, "application/fhir+json", `{"resourceType":"Bundle","type":"transaction-response"}`, false},
		{"200 with an empty body is retried", http.StatusOK, "", "", true},
		{"200 with an OperationOutcome is retried", http.StatusOK, "application/fhir+json", `{"resourceType":"OperationOutcome","issue":[{"severity":"information","code":"informational"}]}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := harness.NewFHIR(t)
			tag := harness.UniqueTag(t)
			r := harness.NewReceiver(t)
			r.SetResponder(func(harness.Received) (int, string, []byte) { return tt.status, tt.contentType, []byte(tt.body) })
			subscribe(t, c, topicSubscription(tag, r.URL, "Bearer "+harness.UniqueID("topic")))
			c.Create(encounter(tag, "planned"))
			r.WaitFor(t, deliveryTimeout, 1, "first notification", func(harness.Received) bool { return true })
			got := quietFor(r, 15*time.Second, 120*time.Second)
			t.Logf("%d deliveries over %s, gaps: %s", len(got), got[len(got)-1].At.Sub(got[0].At).Round(time.Millisecond), intervals(got))
			if tt.wantRetries && len(got) < 2 {
				t.Errorf("got %d deliveries, want retries", len(got))
			}
			if !tt.wantRetries && len(got) != 1 {
				t.Errorf("got %d deliveries, want exactly 1", len(got))
			}
		})
	}
}
