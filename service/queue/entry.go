// Package queue is the live service's durable intake: Redis Streams with a
// consumer group, one entry per patient to review.
package queue

import "time"

// Entry is one unit of work: review one patient against the FHIR server's
// current state. It names the patient and what triggered it, never the
// resource's content (the processor reads the server: a notification is
// only a hint).
type Entry struct {
	// Patient is "Patient/id", the patient to review. It is empty when the
	// trigger's patient is not known (a delete notification carries no
	// body): the processor then resolves it from Resource.
	Patient string
	// Resource is "Type/id" of the resource whose change triggered the entry
	// and Version its version when known; for tracing, metrics and the
	// delete case only.
	Resource string
	Version  string
	// Reason says why the entry exists: "notification", "delete",
	// "catch-up", "wake-up", "replay".
	Reason string
	// Trace carries the W3C trace context (traceparent, tracestate) of what
	// enqueued the entry, so the processing span joins the webhook's trace.
	Trace map[string]string
	// Attempt counts the earlier failed attempts (0 on the first).
	Attempt int
	// Enqueued is when the entry was first accepted.
	Enqueued time.Time
	// ID is the stream entry id, set by the queue on delivery.
	ID string
}

// Key is what entries coalesce on: the patient, else the resource.
func (e Entry) Key() string {
	if e.Patient != "" {
		return e.Patient
	}
	return e.Resource
}
