package e2e

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/utilreview/utilreview/e2e/harness"
)

// An R4 rest-hook Subscription with payload application/fhir+json gets PUT [endpoint]/Encounter/[id] with the
// full resource and every channel header, for the create and for each update. Deletes are sent as
// DELETE [endpoint]/Encounter/[id] only when HAPI's send-delete-messages extension is set.
func TestRestHookFullResource(t *testing.T) {
	t.Parallel()
	c := harness.NewFHIR(t)
	tag := harness.UniqueTag(t)
	secret := "Bearer " + harness.UniqueID("secret")
	plain, withDeletes := harness.NewReceiver(t), harness.NewReceiver(t)

	_, activation := subscribe(t, c, restHook{
		criteria: "Encounter?_tag=" + tag.Param(), endpoint: plain.URL + "/hook",
		payload: "application/fhir+json", headers: []string{"Authorization: " + secret},
	}.resource())
	subscribe(t, c, restHook{
		criteria: "Encounter?_tag=" + tag.Param(), endpoint: withDeletes.URL + "/hook",
		payload: "application/fhir+json", headers: []string{"Authorization: " + secret}, sendDeletes: true,
	}.resource())
	t.Logf("Subscription active %s after create", activation.Round(time.Millisecond))

	sent := time.Now()
	id := c.Create(encounter(tag, "planned"))
	path := "/hook/Encounter/" + id
	got := plain.WaitFor(t, deliveryTimeout, 1, "PUT "+path, isPutOf(path))[0]
	t.Logf("create -> PUT delivered after %s", got.At.Sub(sent).Round(time.Millisecond))

	if h := got.Header.Get("Authorization"); h != secret {
		t.Errorf("Authorization header: got %q, want the channel header's value", h)
	}
	if ct := got.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/fhir+json") {
		t.Errorf("Content-Type: got %q, want application/fhir+json", ct)
	}
	res := decodeResource(t, got.Body)
	if res["resourceType"] != "Encounter" || res["id"] != id || res["status"] != "planned" || versionOf(res) != "1" {
		t.Errorf("payload: got %v/%v status %v version %s, want the full Encounter/%s version 1",
			res["resourceType"], res["id"], res["status"], versionOf(res), id)
	}
	t.Logf("PUT %s headers: %s; If-Match %q", got.Path, headerNames(got.Header), got.Header.Get("If-Match"))

	// Updates in quick succession: every version is delivered; record latency and order.
	statuses := []string{"arrived", "in-progress", "onleave", "finished"}
	updatedAt := map[string]time.Time{}
	for i, st := range statuses {
		enc := encounter(tag, st)
		enc["id"] = id
		updatedAt[strconv.Itoa(i+2)] = time.Now()
		c.Put("Encounter/"+id, enc).MustStatus(t, http.StatusOK)
	}
	all := plain.WaitFor(t, deliveryTimeout, 1+len(statuses), "PUT for every version", isPutOf(path))
	var order []string
	seen := map[string]int{}
	for _, r := range all {
		v := versionOf(decodeResource(t, r.Body))
		order = append(order, v)
		seen[v]++
		if at, ok := updatedAt[v]; ok && seen[v] == 1 {
			t.Logf("update to version %s -> delivered after %s", v, r.At.Sub(at).Round(time.Millisecond))
		}
	}
	t.Logf("versions in arrival order: %v", order)
	for v := 1; v <= 1+len(statuses); v++ {
		if seen[strconv.Itoa(v)] == 0 {
			t.Errorf("version %d never delivered (got %v)", v, order)
		}
	}

	// Delete: only the subscription with the extension hears of it.
	c.Delete("Encounter/"+id).MustStatus(t, http.StatusOK, http.StatusNoContent)
	del := withDeletes.WaitFor(t, deliveryTimeout, 1, "DELETE "+path, func(r harness.Received) bool {
		return r.Method == http.MethodDelete && r.Path == path
	})[0]
	if len(del.Body) != 0 || del.Header.Get("Authorization") != secret {
		t.Errorf("DELETE: got %d body bytes, Authorization %q; want no body and the header", len(del.Body), del.Header.Get("Authorization"))
	}
	time.Sleep(3 * time.Second) // the delete was delivered to the other subscription; give this one the same chance
	for _, r := range plain.Requests() {
		if r.Method != http.MethodPut {
			t.Errorf("subscription without the delete extension got %s %s", r.Method, r.Path)
		}
	}
}

func headerNames(h http.Header) string {
	var names []string
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// With no channel.payload the notification is a bare POST to the endpoint itself, no body, with the headers.
func TestRestHookEmptyPayload(t *testing.T) {
	t.Parallel()
	c := harness.NewFHIR(t)
	tag := harness.UniqueTag(t)
	r := harness.NewReceiver(t)
	subscribe(t, c, restHook{
		criteria: "Encounter?_tag=" + tag.Param(), endpoint: r.URL + "/bare",
		headers: []string{"X-Utilreview-Secret: s3"},
	}.resource())

	sent := time.Now()
	c.Create(encounter(tag, "planned"))
	got := r.WaitFor(t, deliveryTimeout, 1, "bare POST", func(harness.Received) bool { return true })[0]
	t.Logf("create -> bare %s %s after %s, Content-Type %q, headers: %s", got.Method, got.Path,
		got.At.Sub(sent).Round(time.Millisecond), got.Header.Get("Content-Type"), headerNames(got.Header))
	t.Logf("bare POST If-None-Exist %q", got.Header.Get("If-None-Exist"))
	if got.Method != http.MethodPost || got.Path != "/bare" || len(got.Body) != 0 {
		t.Errorf("got %s %s with %d body bytes, want POST /bare with no body", got.Method, got.Path, len(got.Body))
	}
	if got.Header.Get("X-Utilreview-Secret") != "s3" {
		t.Errorf("channel header missing: %v", got.Header)
	}
}

// How HAPI treats the receiver's answer decides what utilreview's webhook must answer. Each case creates one
// Encounter and counts deliveries until the receiver has been quiet for a while.
func TestRestHookReceiverAnswers(t *testing.T) {
	t.Parallel()
	const operationOutcome = `{"resourceType":"OperationOutcome","issue":[{"severity":"information","code":"informational"}]}`
	tests := []struct {
		name        string
		payload     string
		status      int
		contentType string
		body        string
		// wantRetries: more than one delivery of the same notification.
		wantRetries bool
	}{
		{"500 is retried", "application/fhir+json", 500, "", "", true},
		{"200 with a JSON body that is not FHIR is retried (duplicates)", "application/fhir+json", 200, "application/json", `{"ok":true}`, true},
		{"200 with a FHIR content type and a non-JSON body is retried (duplicates)", "application/fhir+json", 200, "application/fhir+json", "ok", true},
		{"200 with a text/plain body is final", "application/fhir+json", 200, "text/plain", "ok", false},
		{"200 with an empty body is final", "application/fhir+json", 200, "", "", false},
		{"204 is final", "application/fhir+json", 204, "", "", false},
		{"200 with an OperationOutcome is final", "application/fhir+json", 200, "application/fhir+json", operationOutcome, false},
		{"bare POST: 500 is not retried", "", 500, "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := harness.NewFHIR(t)
			tag := harness.UniqueTag(t)
			r := harness.NewReceiver(t)
			r.SetResponder(func(harness.Received) (int, string, []byte) { return tt.status, tt.contentType, []byte(tt.body) })
			subID, _ := subscribe(t, c, restHook{criteria: "Encounter?_tag=" + tag.Param(), endpoint: r.URL, payload: tt.payload}.resource())

			sent := time.Now()
			id := c.Create(encounter(tag, "planned"))
			r.WaitFor(t, deliveryTimeout, 1, "first delivery", func(harness.Received) bool { return true })
			// HAPI retries for about a minute with gaps growing from 1 s to 6 s: 15 s of quiet means it is done.
			got := quietFor(r, 15*time.Second, 120*time.Second)
			span := got[len(got)-1].At.Sub(got[0].At)
			t.Logf("%d deliveries of Encounter/%s, first after %s, span %s, gaps: %s",
				len(got), id, got[0].At.Sub(sent).Round(time.Millisecond), span.Round(time.Millisecond), intervals(got))
			for _, g := range got {
				if g.Method != got[0].Method || g.Path != got[0].Path {
					t.Errorf("delivery %s %s differs from the first (%s %s)", g.Method, g.Path, got[0].Method, got[0].Path)
				}
			}
			if tt.wantRetries && len(got) < 2 {
				t.Errorf("got %d deliveries, want retries", len(got))
			}
			if !tt.wantRetries && len(got) != 1 {
				t.Errorf("got %d deliveries, want exactly 1", len(got))
			}
			// Giving up is silent: the Subscription stays active and nothing records the dropped notification.
			if st := c.Get("Subscription/" + subID).Resource(t)["status"]; st != "active" {
				t.Errorf("Subscription status after deliveries: got %v, want active", st)
			}
		})
	}
}
