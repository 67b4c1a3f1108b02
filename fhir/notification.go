package fhir

import (
	"encoding/json"
	"errors"
)

// Notification is a Subscriptions Backport IG (R4) notification: a Bundle of
// type history whose first entry is the SubscriptionStatus Parameters.
type Notification struct {
	// Type is handshake, heartbeat, event-notification, query-status or
	// query-event.
	Type string
	// Subscription is "Subscription/id".
	Subscription string
	// Topic is the topic's canonical URL, "" when absent.
	Topic string
	// Status is the Subscription's status as the sender reports it, "" when absent.
	Status string
	// EventsSinceStart is events-since-subscription-start, 0 when absent.
	EventsSinceStart int64
	// Events are the notification-event parameters, in the Bundle's order.
	Events []NotificationEvent
}

// NotificationEvent is one notification-event of a notification.
type NotificationEvent struct {
	// Number is the event-number, counted per Subscription by the sender.
	Number int64
	// Focus is "Type/id" of the resource the event is about, "" when the
	// payload is empty or the focus names no resource by type and id.
	Focus string
	// Resource is the focus resource as the Bundle carries it (payload
	// full-resource), nil when it does not.
	Resource json.RawMessage
}

// NotificationError is a notification or resource the parser refuses. Its
// text names the problem and the element, never a value of the input: the
// webhook answers and logs it, and input values can be PHI.
type NotificationError struct{ msg string }

func (e *NotificationError) Error() string { return e.msg }

func notificationError(msg string) error { return &NotificationError{msg: "notification: " + msg} }

var notificationTypes = map[string]bool{
	"handshake": true, "heartbeat": true, "event-notification": true, "query-status": true, "query-event": true,
}

// The JSON shapes of a notification. encoding/json matches member names
// without regard to case, which FHIR does not; a sender that miscases them
// is not worth a slower hand-written walk here (notification Bundles are the
// rarer style: rest-hook full-resource PUTs go through SummarizeResource).
type notificationBundle struct {
	ResourceType string `json:"resourceType"`
	Type         string `json:"type"`
	Entry        []struct {
		FullURL  string          `json:"fullUrl"`
		Resource json.RawMessage `json:"resource"`
	} `json:"entry"`
}

type statusParameters struct {
	ResourceType string      `json:"resourceType"`
	Parameter    []parameter `json:"parameter"`
}

// parameter is a Parameters.parameter (or one of its parts) with the value
// types a SubscriptionStatus uses. timestamp (valueInstant, or valueDate
// from HAPI 8.8) is not read: nothing here depends on it.
type parameter struct {
	Name           string  `json:"name"`
	ValueString    *string `json:"valueString"`
	ValueCode      *string `json:"valueCode"`
	ValueCanonical *string `json:"valueCanonical"`
	ValueURI       *string `json:"valueUri"`
	ValueReference *struct {
		Reference string `json:"reference"`
	} `json:"valueReference"`
	// Counts: R4 backport sends valueString; R5's integer64 is a JSON
	// string, unsignedInt and the others are JSON numbers.
	ValueInteger64   json.RawMessage `json:"valueInteger64"`
	ValueUnsignedInt json.RawMessage `json:"valueUnsignedInt"`
	ValuePositiveInt json.RawMessage `json:"valuePositiveInt"`
	ValueInteger     json.RawMessage `json:"valueInteger"`
	Part             []parameter     `json:"part"`
}

func (p *parameter) text() (string, bool) {
	for _, v := range []*string{p.ValueCode, p.ValueString, p.ValueCanonical, p.ValueURI} {
		if v != nil {
			return *v, true
		}
	}
	return "", false
}

// count reads a non-negative integer from whichever value[x] carries it.
func (p *parameter) count() (int64, bool) {
	if p.ValueString != nil {
		return parseCount(*p.ValueString)
	}
	for _, raw := range []json.RawMessage{p.ValueInteger64, p.ValueUnsignedInt, p.ValuePositiveInt, p.ValueInteger} {
		if raw == nil {
			continue
		}
		s := string(raw)
		if len(raw) > 0 && raw[0] == '"' {
			if json.Unmarshal(raw, &s) != nil {
				return 0, false
			}
		}
		return parseCount(s)
	}
	return 0, false
}

// parseCount accepts 1 to 18 ASCII digits: no sign, no exponent, nothing
// that could overflow an int64.
func parseCount(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

func find(ps []parameter, name string) *parameter {
	for i := range ps {
		if ps[i].Name == name {
			return &ps[i]
		}
	}
	return nil
}

// ParseNotification reads a Subscriptions Backport IG notification Bundle.
// The SubscriptionStatus is recognised by its content (a Parameters with a
// subscription and a notification type), its profile is not required. Each
// event's Resource is the Bundle entry its focus names, matched by fullUrl
// or by type and id. Errors are *NotificationError.
func ParseNotification(body []byte) (*Notification, error) {
	var b notificationBundle
	if err := json.Unmarshal(body, &b); err != nil {
		return nil, shapeError("Bundle", err)
	}
	switch {
	case b.ResourceType != "Bundle":
		return nil, notificationError("not a Bundle")
	case b.Type != "history":
		return nil, notificationError("Bundle.type is not history")
	case len(b.Entry) == 0:
		return nil, notificationError("Bundle has no entry: the first must be the SubscriptionStatus")
	}
	var status statusParameters
	if err := json.Unmarshal(b.Entry[0].Resource, &status); err != nil || status.ResourceType != "Parameters" {
		return nil, notificationError("first entry is not a SubscriptionStatus Parameters")
	}
	n := &Notification{}
	ps := status.Parameter
	typ := find(ps, "type")
	if typ == nil {
		return nil, notificationError("SubscriptionStatus has no type")
	}
	if n.Type, _ = typ.text(); !notificationTypes[n.Type] {
		return nil, notificationError("SubscriptionStatus.type is not a notification type")
	}
	sub := find(ps, "subscription")
	if sub == nil || sub.ValueReference == nil {
		return nil, notificationError("SubscriptionStatus has no subscription reference")
	}
	if r, ok := ParseReference(sub.ValueReference.Reference); !ok || r.Type != "Subscription" {
		return nil, notificationError("SubscriptionStatus.subscription is not a Subscription reference")
	} else {
		n.Subscription = r.Relative()
	}
	if p := find(ps, "topic"); p != nil {
		n.Topic, _ = p.text()
	}
	if p := find(ps, "status"); p != nil {
		n.Status, _ = p.text()
	}
	if p := find(ps, "events-since-subscription-start"); p != nil {
		var ok bool
		if n.EventsSinceStart, ok = p.count(); !ok {
			return nil, notificationError("events-since-subscription-start is not a non-negative integer")
		}
	}

	entries := make([]bundleEntry, 0, len(b.Entry)-1)
	for _, e := range b.Entry[1:] {
		be := bundleEntry{fullURL: e.FullURL, resource: e.Resource}
		if s, err := SummarizeResource(e.Resource); err == nil && s.ID != "" {
			be.self = s.Type + "/" + s.ID
		}
		entries = append(entries, be)
	}
	for i := range ps {
		if ps[i].Name != "notification-event" {
			continue
		}
		parts := ps[i].Part
		num := find(parts, "event-number")
		if num == nil {
			return nil, notificationError("notification-event has no event-number")
		}
		var ev NotificationEvent
		var ok bool
		if ev.Number, ok = num.count(); !ok {
			return nil, notificationError("notification-event.event-number is not a non-negative integer")
		}
		if f := find(parts, "focus"); f != nil && f.ValueReference != nil {
			ev.Focus, ev.Resource = focusResource(entries, f.ValueReference.Reference)
		}
		n.Events = append(n.Events, ev)
	}
	return n, nil
}

// bundleEntry is an entry after the SubscriptionStatus, with "Type/id" of
// its resource ("" when it has none or is not a resource).
type bundleEntry struct {
	fullURL  string
	self     string
	resource json.RawMessage
}

// focusResource finds the entry holding the resource a focus reference
// names: the one whose own type and id are the focus, or, for a focus that
// is not Type/id (a urn:uuid), the one whose fullUrl is the reference, which
// then gives the focus its Type/id. The resource is nil when no entry holds
// it (payload empty or id-only).
func focusResource(entries []bundleEntry, ref string) (focus string, resource json.RawMessage) {
	focus = RelativeRef(ref)
	for _, e := range entries {
		if e.self == "" {
			continue
		}
		if focus != "" && e.self == focus {
			return focus, e.resource
		}
		if focus == "" && e.fullURL == ref {
			return e.self, e.resource
		}
	}
	return focus, nil
}

// shapeError reports a body encoding/json refused, naming the element from
// the decoder's field path (built from this file's JSON names, not from the
// input) and never the offending value.
func shapeError(what string, err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		elem := what
		return notificationError(elem + "." + te.Field + " has a value of the wrong kind")
	}
	if errors.As(err, &te) {
		return notificationError("body is not a JSON object")
	}
	return notificationError("body is not JSON")
}

// ResourceSummary is what the webhook needs of a notified resource: which
// resource, which version, and which patient to review.
type ResourceSummary struct {
	Type, ID, Version string
	// Patient is "Patient/id": the resource itself for a Patient, else the
	// patient its patient element references. "" when that reference is
	// absent, contained, logical (identifier only), a urn or not a Patient:
	// the processor then resolves the patient from the server.
	Patient string
}

// patientElement is where each type the engine reads names its patient.
var patientElement = map[string]string{
	"Encounter":            "subject",
	"Claim":                "patient",
	"Coverage":             "beneficiary",
	"Condition":            "subject",
	"Procedure":            "subject",
	"Communication":        "subject",
	"CommunicationRequest": "subject",
	"ExplanationOfBenefit": "patient",
	"ClaimResponse":        "patient",
	"Account":              "subject", // 0..*: the first Patient
	"Task":                 "for",
}

// Summarizes reports whether a resource of this type can name a patient to
// review: Patient, the types the engine reads (SummarizeResource finds their
// patient), and Provenance, which names none itself (its Patient is ""): the
// processor reads the Task it targets, since a Provenance written after a
// Task's completion says who determined it.
func Summarizes(resourceType string) bool {
	_, ok := patientElement[resourceType]
	return ok || resourceType == "Patient" || resourceType == "Provenance"
}

// Targets are a Provenance's literal target references (versioned or not)
// to resources of type typ, decoding only the targets: the webhook asks it
// of every Provenance a topic notifies (one that targets no Task is
// dropped), the processor to find the Task whose patient to review.
func Targets(provenance []byte, typ string) []Ref {
	var p struct {
		Target []struct {
			Reference string `json:"reference"`
		} `json:"target"`
	}
	if json.Unmarshal(provenance, &p) != nil {
		return nil
	}
	var out []Ref
	for _, t := range p.Target {
		if r, ok := ParseReference(t.Reference); ok && r.Type == typ && r.ID != "" {
			out = append(out, r)
		}
	}
	return out
}

// SummarizeResource reads a resource's type, id, meta.versionId and patient
// reference without decoding the rest: the webhook calls it on every
// notification. For a type Summarizes does not know, Patient is "". Errors
// are *NotificationError.
func SummarizeResource(body []byte) (ResourceSummary, error) {
	var s ResourceSummary
	if !json.Valid(body) {
		return s, resourceError("body is not JSON")
	}
	it, ok := newObjectIter(body, 0)
	if !ok {
		return s, resourceError("body is not a JSON object")
	}
	var meta, patientVal [2]int
	var candidates [4][2]int // subject, patient, beneficiary, for: resourceType may come last
	names := [4]string{"subject", "patient", "beneficiary", "for"}
	haveType := false
	for {
		m, ok := it.next()
		if !ok {
			break
		}
		switch {
		case m.key(body, "resourceType"):
			s.Type, haveType = stringValue(body, m.ValStart, m.ValEnd)
		case m.key(body, "id"):
			s.ID, _ = stringValue(body, m.ValStart, m.ValEnd)
		case m.key(body, "meta"):
			meta = [2]int{m.ValStart, m.ValEnd}
		default:
			for i, n := range names {
				if m.key(body, n) {
					candidates[i] = [2]int{m.ValStart, m.ValEnd}
				}
			}
		}
	}
	if it.Bad {
		return ResourceSummary{}, resourceError("body is not a JSON object")
	}
	if !haveType || s.Type == "" {
		return ResourceSummary{}, resourceError("no resourceType")
	}
	if !IsTypeName(s.Type) {
		return ResourceSummary{}, resourceError("resourceType is not a resource type name")
	}
	if meta[1] > 0 {
		s.Version = memberString(body, meta, "versionId")
	}
	if s.Type == "Patient" {
		if IsID(s.ID) {
			s.Patient = "Patient/" + s.ID
		}
		return s, nil
	}
	elem, ok := patientElement[s.Type]
	if !ok {
		return s, nil
	}
	for i, n := range names {
		if n == elem {
			patientVal = candidates[i]
		}
	}
	if patientVal[1] == 0 {
		return s, nil
	}
	if s.Type == "Account" {
		arr, ok := newArrayIter(body, patientVal[0])
		if !ok {
			return s, nil
		}
		for {
			start, end, ok := arr.next()
			if !ok {
				break
			}
			if p := patientRef(body, [2]int{start, end}); p != "" {
				s.Patient = p
				break
			}
		}
		return s, nil
	}
	s.Patient = patientRef(body, patientVal)
	return s, nil
}

func resourceError(msg string) error { return &NotificationError{msg: "resource: " + msg} }

// patientRef is "Patient/id" when the Reference object at b[v[0]:v[1]] is a
// literal reference to a Patient, else "".
func patientRef(b []byte, v [2]int) string {
	r, ok := ParseReference(memberString(b, v, "reference"))
	if !ok || r.Type != "Patient" {
		return ""
	}
	return r.Relative()
}

// memberString is the string member name of the object at b[v[0]:v[1]], ""
// when the value is not an object or the member not a string.
func memberString(b []byte, v [2]int, name string) string {
	it, ok := newObjectIter(b[:v[1]], v[0])
	if !ok {
		return ""
	}
	out := ""
	for {
		m, ok := it.next()
		if !ok {
			return out
		}
		if m.key(b, name) {
			out, _ = stringValue(b, m.ValStart, m.ValEnd)
		}
	}
}
