package fhir_test

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/utilreview/utilreview/fhir"
)

// hapiTopicNotification is an event-notification as HAPI 8.8 sends it for an
// R4 topic-based Subscription (docs/fhir-server-behaviour.md): the
// SubscriptionStatus with its r4 profile, counts as valueString, the
// timestamp as valueDate, a versionless focus, then the full Encounter.
const hapiTopicNotification = `{
  "resourceType": "Bundle",
  "id": "4f0c2d1e-notification",
  "meta": {"lastUpdated": "2026-11-29T10:15:02.113+00:00"},
  "type": "history",
  "timestamp": "2026-11-29T10:15:02.113+00:00",
  "entry": [
    {
      "fullUrl": "urn:uuid:7e7fa4a0-4b59-4c4f-9a0c-1f7c1d6a0d11",
      "resource": {
        "resourceType": "Parameters",
        "meta": {"profile": ["http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-status-r4"]},
        "parameter": [
          {"name": "subscription", "valueReference": {"reference": "Subscription/77"}},
          {"name": "topic", "valueCanonical": "http://utilreview.example/SubscriptionTopic/encounter"},
          {"name": "status", "valueCode": "active"},
          {"name": "type", "valueCode": "event-notification"},
          {"name": "events-since-subscription-start", "valueString": "5"},
          {"name": "notification-event", "part": [
            {"name": "event-number", "valueString": "5"},
            {"name": "timestamp", "valueDate": "2026-11-29"},
            {"name": "focus", "valueReference": {"reference": "Encounter/enc-1"}}
          ]}
        ]
      }
    },
    {
      "fullUrl": "http://127.0.0.1:39501/fhir/Encounter/enc-1/_history/3",
      "resource": {
        "resourceType": "Encounter",
        "id": "enc-1",
        "meta": {"versionId": "3", "lastUpdated": "2026-11-29T10:15:01.907+00:00"},
        "status": "in-progress",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
        "subject": {"reference": "Patient/pat-1"}
      },
      "request": {"method": "PUT", "url": "Encounter/enc-1"}
    }
  ]
}`

// statusBundle wraps SubscriptionStatus parameters (a JSON array) and extra
// entries into a history Bundle.
func statusBundle(params string, entries ...string) []byte {
	out := `{"resourceType":"Bundle","type":"history","entry":[{"resource":{"resourceType":"Parameters","parameter":` + params + `}}`
	for _, e := range entries {
		out += "," + e
	}
	return []byte(out + "]}")
}

func TestParseNotification(t *testing.T) {
	t.Parallel()
	pas, err := os.ReadFile("testdata/read/Bundle-PASSubscriptionNotification.json")
	if err != nil {
		t.Fatal(err)
	}
	encounter := `{"resourceType":"Encounter","id":"e9","meta":{"versionId":"2"},"subject":{"reference":"Patient/p9"}}`
	tests := []struct {
		name string
		body []byte
		want fhir.Notification
		// resources are the events' Resource ids ("" for none).
		resources []string
	}{
		{
			name: "HAPI 8.8 event-notification, full resource",
			body: []byte(hapiTopicNotification),
			want: fhir.Notification{
				Type: "event-notification", Subscription: "Subscription/77",
				Topic: "http://utilreview.example/SubscriptionTopic/encounter", Status: "active", EventsSinceStart: 5,
				Events: []fhir.NotificationEvent{{Number: 5, Focus: "Encounter/enc-1"}},
			},
			resources: []string{"enc-1"},
		},
		{
			name: "Da Vinci PAS example: focus matched by fullUrl, timestamp valueInstant",
			body: pas,
			want: fhir.Notification{
				Type: "event-notification", Subscription: "Subscription/PASSubscriptionExample",
				Topic:  "http://hl7.org/fhir/us/davinci-pas/SubscriptionTopic/PASSubscriptionTopic",
				Events: []fhir.NotificationEvent{{Number: 2, Focus: "Bundle/ReferralAuthorizationResponseBundleExample"}},
			},
			resources: []string{"ReferralAuthorizationResponseBundleExample"},
		},
		{
			name: "handshake: no events, absolute subscription reference",
			body: statusBundle(`[{"name":"subscription","valueReference":{"reference":"https://ehr.example/fhir/Subscription/s1/_history/2"}},
				{"name":"status","valueCode":"requested"},{"name":"type","valueCode":"handshake"},
				{"name":"events-since-subscription-start","valueString":"0"}]`),
			want: fhir.Notification{Type: "handshake", Subscription: "Subscription/s1", Status: "requested"},
		},
		{
			name: "heartbeat with an R5-style integer64 (a JSON string)",
			body: statusBundle(`[{"name":"subscription","valueReference":{"reference":"Subscription/s1"}},
				{"name":"type","valueCode":"heartbeat"},{"name":"events-since-subscription-start","valueInteger64":"41"}]`),
			want: fhir.Notification{Type: "heartbeat", Subscription: "Subscription/s1", EventsSinceStart: 41},
		},
		{
			name: "empty payload: events with numbers only, unsignedInt counts",
			body: statusBundle(`[{"name":"subscription","valueReference":{"reference":"Subscription/s1"}},
				{"name":"type","valueCode":"event-notification"},{"name":"events-since-subscription-start","valueUnsignedInt":12},
				{"name":"notification-event","part":[{"name":"event-number","valueUnsignedInt":11}]},
				{"name":"notification-event","part":[{"name":"event-number","valueString":"12"}]}]`),
			want: fhir.Notification{Type: "event-notification", Subscription: "Subscription/s1", EventsSinceStart: 12,
				Events: []fhir.NotificationEvent{{Number: 11}, {Number: 12}}},
			resources: []string{"", ""},
		},
		{
			name: "id-only payload: focus without the resource",
			body: statusBundle(`[{"name":"subscription","valueReference":{"reference":"Subscription/s1"}},
				{"name":"type","valueCode":"event-notification"},
				{"name":"notification-event","part":[{"name":"event-number","valueString":"3"},{"name":"focus","valueReference":{"reference":"Claim/c1"}}]}]`),
			want: fhir.Notification{Type: "event-notification", Subscription: "Subscription/s1",
				Events: []fhir.NotificationEvent{{Number: 3, Focus: "Claim/c1"}}},
			resources: []string{""},
		},
		{
			name: "two events, resources matched by type and id without fullUrl",
			body: statusBundle(`[{"name":"subscription","valueReference":{"reference":"Subscription/s1"}},
				{"name":"type","valueCode":"event-notification"},
				{"name":"notification-event","part":[{"name":"event-number","valueString":"7"},{"name":"focus","valueReference":{"reference":"Encounter/e9"}}]},
				{"name":"notification-event","part":[{"name":"event-number","valueString":"8"},{"name":"focus","valueReference":{"reference":"Encounter/other"}}]}]`,
				`{"resource":{"resourceType":"Encounter","id":"other"}}`, `{"resource":`+encounter+`}`),
			want: fhir.Notification{Type: "event-notification", Subscription: "Subscription/s1",
				Events: []fhir.NotificationEvent{{Number: 7, Focus: "Encounter/e9"}, {Number: 8, Focus: "Encounter/other"}}},
			resources: []string{"e9", "other"},
		},
		{
			name: "urn:uuid focus takes Type/id from the entry it names",
			body: statusBundle(`[{"name":"subscription","valueReference":{"reference":"Subscription/s1"}},
				{"name":"type","valueCode":"event-notification"},
				{"name":"notification-event","part":[{"name":"event-number","valueString":"1"},{"name":"focus","valueReference":{"reference":"urn:uuid:0d4c6f3e-8a1b-4c2d-9e5f-000000000001"}}]}]`,
				`{"fullUrl":"urn:uuid:0d4c6f3e-8a1b-4c2d-9e5f-000000000001","resource":`+encounter+`}`),
			want: fhir.Notification{Type: "event-notification", Subscription: "Subscription/s1",
				Events: []fhir.NotificationEvent{{Number: 1, Focus: "Encounter/e9"}}},
			resources: []string{"e9"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := fhir.ParseNotification(tt.body)
			if err != nil {
				t.Fatalf("ParseNotification: %v", err)
			}
			var ids []string
			for i := range got.Events {
				id := ""
				if r := got.Events[i].Resource; r != nil {
					s, err := fhir.SummarizeResource(r)
					if err != nil {
						t.Fatalf("event %d: Resource does not summarize: %v", i, err)
					}
					id = s.ID
				}
				ids = append(ids, id)
				got.Events[i].Resource = nil
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("got %+v,\nwant %+v", *got, tt.want)
			}
			if !reflect.DeepEqual(ids, tt.resources) {
				t.Errorf("got event resources %q, want %q", ids, tt.resources)
			}
		})
	}
}

func TestParseNotificationRefuses(t *testing.T) {
	t.Parallel()
	sub := `{"name":"subscription","valueReference":{"reference":"Subscription/s1"}}`
	event := `{"name":"type","valueCode":"event-notification"}`
	tests := []struct {
		name, body, want string
	}{
		{"not JSON", `{"resourceType":"Bundle",`, "body is not JSON"},
		{"a JSON array", `[1]`, "body is not a JSON object"},
		{"a resource", `{"resourceType":"Encounter","id":"e1"}`, "not a Bundle"},
		{"a transaction Bundle", `{"resourceType":"Bundle","type":"transaction","entry":[]}`, "Bundle.type is not history"},
		{"no entries", `{"resourceType":"Bundle","type":"history"}`, "Bundle has no entry: the first must be the SubscriptionStatus"},
		{"entry of the wrong kind", `{"resourceType":"Bundle","type":"history","entry":[{"fullUrl":12}]}`, "Bundle.entry.fullUrl has a value of the wrong kind"},
		{"first entry a Patient", `{"resourceType":"Bundle","type":"history","entry":[{"resource":{"resourceType":"Patient","id":"Jane-Doe"}}]}`, "first entry is not a SubscriptionStatus Parameters"},
		{"Parameters without type", string(statusBundle(`[` + sub + `]`)), "SubscriptionStatus has no type"},
		{"unknown type", string(statusBundle(`[` + sub + `,{"name":"type","valueCode":"Jane Doe"}]`)), "SubscriptionStatus.type is not a notification type"},
		{"no subscription", string(statusBundle(`[` + event + `]`)), "SubscriptionStatus has no subscription reference"},
		{"subscription names a Patient", string(statusBundle(`[` + event + `,{"name":"subscription","valueReference":{"reference":"Patient/Jane-Doe"}}]`)), "SubscriptionStatus.subscription is not a Subscription reference"},
		{"count with a sign", string(statusBundle(`[` + sub + `,` + event + `,{"name":"events-since-subscription-start","valueString":"-4"}]`)), "events-since-subscription-start is not a non-negative integer"},
		{"count too large", string(statusBundle(`[` + sub + `,` + event + `,{"name":"events-since-subscription-start","valueString":"99999999999999999999"}]`)), "events-since-subscription-start is not a non-negative integer"},
		{"event without number", string(statusBundle(`[` + sub + `,` + event + `,{"name":"notification-event","part":[{"name":"focus","valueReference":{"reference":"Encounter/e1"}}]}]`)), "notification-event has no event-number"},
		{"event number not a number", string(statusBundle(`[` + sub + `,` + event + `,{"name":"notification-event","part":[{"name":"event-number","valueString":"1984-03-02"}]}]`)), "notification-event.event-number is not a non-negative integer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := fhir.ParseNotification([]byte(tt.body))
			if err == nil {
				t.Fatalf("got %+v, want error %q", got, tt.want)
			}
			var ne *fhir.NotificationError
			if !errors.As(err, &ne) {
				t.Errorf("error %v is a %T, want *fhir.NotificationError", err, err)
			}
			if msg := err.Error(); msg != "notification: "+tt.want {
				t.Errorf("got error %q, want %q", msg, "notification: "+tt.want)
			}
			for _, value := range []string{"Jane", "1984", "-4"} {
				if strings.Contains(err.Error(), value) {
					t.Errorf("error %q quotes the input value %q", err, value)
				}
			}
		})
	}
}

func TestSummarizeResource(t *testing.T) {
	t.Parallel()
	read := func(name string) string {
		b, err := os.ReadFile("testdata/read/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	tests := []struct {
		name, body string
		want       fhir.ResourceSummary
	}{
		{"R4 example Encounter", read("Encounter-f201.json"), fhir.ResourceSummary{Type: "Encounter", ID: "f201", Patient: "Patient/f201"}},
		{"R4 example Claim, contained patient", read("Claim-100152.json"), fhir.ResourceSummary{Type: "Claim", ID: "100152"}},
		{"PAS Coverage", read("Coverage-InsuranceExample.json"), fhir.ResourceSummary{Type: "Coverage", ID: "InsuranceExample", Patient: "Patient/SubscriberExample"}},
		{"Patient is its own patient", `{"resourceType":"Patient","id":"p1","meta":{"versionId":"4"},"name":[{"family":"Doe"}]}`,
			fhir.ResourceSummary{Type: "Patient", ID: "p1", Version: "4", Patient: "Patient/p1"}},
		{"resourceType last, version, absolute versioned reference",
			`{"subject":{"reference":"https://ehr.example/fhir/Patient/p2/_history/7"},"meta":{"lastUpdated":"2026-01-01T00:00:00Z","versionId":"12"},"id":"e2","resourceType":"Encounter"}`,
			fhir.ResourceSummary{Type: "Encounter", ID: "e2", Version: "12", Patient: "Patient/p2"}},
		{"Condition.subject", `{"resourceType":"Condition","id":"c","subject":{"reference":"Patient/p"}}`, fhir.ResourceSummary{Type: "Condition", ID: "c", Patient: "Patient/p"}},
		{"Procedure.subject", `{"resourceType":"Procedure","id":"c","subject":{"reference":"Patient/p"}}`, fhir.ResourceSummary{Type: "Procedure", ID: "c", Patient: "Patient/p"}},
		{"Communication.subject", `{"resourceType":"Communication","id":"c","subject":{"reference":"Patient/p"}}`, fhir.ResourceSummary{Type: "Communication", ID: "c", Patient: "Patient/p"}},
		{"CommunicationRequest.subject", `{"resourceType":"CommunicationRequest","id":"c","subject":{"reference":"Patient/p"}}`, fhir.ResourceSummary{Type: "CommunicationRequest", ID: "c", Patient: "Patient/p"}},
		{"ExplanationOfBenefit.patient", `{"resourceType":"ExplanationOfBenefit","id":"c","patient":{"reference":"Patient/p"}}`, fhir.ResourceSummary{Type: "ExplanationOfBenefit", ID: "c", Patient: "Patient/p"}},
		{"ClaimResponse.patient", `{"resourceType":"ClaimResponse","id":"c","patient":{"reference":"Patient/p"}}`, fhir.ResourceSummary{Type: "ClaimResponse", ID: "c", Patient: "Patient/p"}},
		{"Coverage.beneficiary, not subscriber", `{"resourceType":"Coverage","id":"c","subscriber":{"reference":"Patient/s"},"beneficiary":{"reference":"Patient/b"}}`, fhir.ResourceSummary{Type: "Coverage", ID: "c", Patient: "Patient/b"}},
		{"Task.for, not owner", `{"resourceType":"Task","id":"t","owner":{"reference":"Practitioner/x"},"for":{"reference":"Patient/p"}}`, fhir.ResourceSummary{Type: "Task", ID: "t", Patient: "Patient/p"}},
		{"Account: the first Patient subject", `{"resourceType":"Account","id":"a","subject":[{"reference":"Device/d"},{"display":"x"},{"reference":"Patient/p"},{"reference":"Patient/q"}]}`, fhir.ResourceSummary{Type: "Account", ID: "a", Patient: "Patient/p"}},
		{"contained patient", `{"resourceType":"Encounter","id":"e","contained":[{"resourceType":"Patient","id":"p"}],"subject":{"reference":"#p"}}`, fhir.ResourceSummary{Type: "Encounter", ID: "e"}},
		{"logical reference only", `{"resourceType":"Claim","id":"c","patient":{"identifier":{"system":"urn:mrn","value":"123"}}}`, fhir.ResourceSummary{Type: "Claim", ID: "c"}},
		{"urn reference", `{"resourceType":"Claim","id":"c","patient":{"reference":"urn:uuid:0d4c6f3e-8a1b-4c2d-9e5f-000000000001"}}`, fhir.ResourceSummary{Type: "Claim", ID: "c"}},
		{"a Group subject", `{"resourceType":"Encounter","id":"e","subject":{"reference":"Group/g"}}`, fhir.ResourceSummary{Type: "Encounter", ID: "e"}},
		{"the wrong element", `{"resourceType":"Claim","id":"c","subject":{"reference":"Patient/p"}}`, fhir.ResourceSummary{Type: "Claim", ID: "c"}},
		{"a reference of the wrong kind", `{"resourceType":"Encounter","id":"e","subject":"Patient/p"}`, fhir.ResourceSummary{Type: "Encounter", ID: "e"}},
		{"a type not read", `{"resourceType":"Observation","id":"o","meta":{"versionId":"1"},"subject":{"reference":"Patient/p"}}`, fhir.ResourceSummary{Type: "Observation", ID: "o", Version: "1"}},
		{"escaped member names and values", `{"resource\u0054ype":"Encounter","id":"e\u0031","subject":{"reference":"Patient\/p"}}`, fhir.ResourceSummary{Type: "Encounter", ID: "e1", Patient: "Patient/p"}},
		{"the last duplicate wins, as encoding/json", `{"resourceType":"Encounter","id":"a","id":"b"}`, fhir.ResourceSummary{Type: "Encounter", ID: "b"}},
		{"Patient without an id", `{"resourceType":"Patient"}`, fhir.ResourceSummary{Type: "Patient"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := fhir.SummarizeResource([]byte(tt.body))
			if err != nil {
				t.Fatalf("SummarizeResource: %v", err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestSummarizeResourceRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, body, want string }{
		{"empty", ``, "resource: body is not JSON"},
		{"not JSON", `Jane Doe`, "resource: body is not JSON"},
		{"an array", `[{"resourceType":"Patient"}]`, "resource: body is not a JSON object"},
		{"a string", `"Patient"`, "resource: body is not a JSON object"},
		{"no resourceType", `{"id":"Jane-Doe"}`, "resource: no resourceType"},
		{"resourceType not a string", `{"resourceType":12345678}`, "resource: no resourceType"},
		{"resourceType not a type name", `{"resourceType":"patient jane"}`, "resource: resourceType is not a resource type name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := fhir.SummarizeResource([]byte(tt.body))
			if err == nil {
				t.Fatalf("got %+v, want error %q", got, tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("got error %q, want %q", err, tt.want)
			}
			if got != (fhir.ResourceSummary{}) {
				t.Errorf("got %+v with the error, want the zero summary", got)
			}
		})
	}
}

func TestSummarizes(t *testing.T) {
	t.Parallel()
	for _, typ := range []string{"Patient", "Encounter", "Claim", "Coverage", "Condition", "Procedure", "Communication",
		"CommunicationRequest", "ExplanationOfBenefit", "ClaimResponse", "Account", "Task", "Provenance"} {
		if !fhir.Summarizes(typ) {
			t.Errorf("Summarizes(%s) = false, want true", typ)
		}
	}
	for _, typ := range []string{"Observation", "Bundle", "Parameters", "", "encounter"} {
		if fhir.Summarizes(typ) {
			t.Errorf("Summarizes(%q) = true, want false", typ)
		}
	}
}

func BenchmarkSummarizeResource(b *testing.B) {
	body, err := os.ReadFile("testdata/read/Encounter-f201.json")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := fhir.SummarizeResource(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseNotification(b *testing.B) {
	body := []byte(hapiTopicNotification)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := fhir.ParseNotification(body); err != nil {
			b.Fatal(err)
		}
	}
}

func TestTargets(t *testing.T) {
	t.Parallel()
	pv := []byte(`{"resourceType":"Provenance","target":[{"reference":"Encounter/e1"},{"reference":"Task/t1/_history/2"},` +
		`{"display":"no reference"},{"reference":"Task/t2"}]}`)
	var got []string
	for _, r := range fhir.Targets(pv, "Task") {
		got = append(got, r.ID+"@"+r.Version)
	}
	if fmt.Sprint(got) != "[t1@2 t2@]" {
		t.Errorf("Task targets %v, want t1 at version 2 and t2", got)
	}
	if n := len(fhir.Targets(pv, "Patient")); n != 0 {
		t.Errorf("%d Patient targets, want none", n)
	}
	if n := len(fhir.Targets([]byte(`{"target":`), "Task")); n != 0 {
		t.Errorf("%d targets in broken JSON, want none", n)
	}
}
