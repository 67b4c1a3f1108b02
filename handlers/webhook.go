package handlers

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/propagation"

	"github.com/utilreview/utilreview/fhir"
	"github.com/utilreview/utilreview/service/queue"
)

// The webhook accepts every delivery style of docs/fhir-server-behaviour.md.
// A notification is only a hint that a patient may have changed: it is
// queued (the queue coalesces) and answered 204 No Content, the one answer
// that ends both rest-hook and topic retries. Nothing here talks to the FHIR
// server. A full-resource notification of a version the service wrote
// itself (its own Task and CommunicationRequest writes come back) queues
// nothing: the intake recognises it in the same Redis call as the enqueue.
//
//   - PUT /fhir/notify/{type}/{id}: rest-hook with a full-resource payload
//     (HAPI's If-Match is about its own store: ignored).
//   - DELETE /fhir/notify/{type}/{id}: rest-hook delete (HAPI's
//     send-delete extension); the patient is not known, the processor
//     resolves it from the resource.
//   - POST /fhir/notify with an empty body (any Content-Type; HAPI sends
//     form-urlencoded): rest-hook with an empty payload, a ping: a catch-up
//     search is requested.
//   - POST /fhir/notify with a Backport notification Bundle: one entry per
//     event, and the event numbers go to the intake, which says when a gap or
//     a reset calls for a catch-up.
//   - POST /fhir/notify with a single resource: as PUT (some servers POST).

// delivery is what one webhook request turned out to be, for the metric and
// the log line.
type delivery struct {
	style    string // put, delete, ping, bundle, resource; post until known
	outcome  string // accepted or coalesced, when it succeeded
	resource string // "Type/id" once checked
	version  string
	entries  int // entries handed to the intake
}

// webhook wraps a notification handler: the secret is checked first
// (nothing of the body is read without it), then every delivery is counted
// and logged whatever its end.
func (s *Server) webhook(style string, h func(echo.Context, *delivery) error) echo.HandlerFunc {
	return func(c echo.Context) error {
		d := &delivery{style: style}
		err := s.checkSecret(c.Request())
		if err == nil {
			err = h(c, d)
		}
		s.metrics.received.WithLabelValues(d.style, outcome(d, err)).Inc()
		s.logDelivery(c, d, err)
		if err != nil {
			return err
		}
		return c.NoContent(http.StatusNoContent)
	}
}

// checkSecret compares the bearer credential with the webhook secret in
// constant time (of the SHA-256 sums, so the length does not show either).
func (s *Server) checkSecret(r *http.Request) error {
	token, ok := bearer(r)
	if !ok {
		return errNoCredentials
	}
	sum := sha256.Sum256([]byte(token))
	if subtle.ConstantTimeCompare(sum[:], s.secretSum[:]) != 1 {
		return errBadSecret
	}
	return nil
}

// bearer is the token of an "Authorization: Bearer <token>" header (the
// scheme is case-insensitive, RFC 9110).
func bearer(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return token, true
}

func (s *Server) notifyPut(c echo.Context, d *delivery) error {
	ref, err := pathResource(c)
	if err != nil {
		return err
	}
	body, release, err := s.readBody(c)
	if err != nil {
		return err
	}
	defer release()
	if len(body) == 0 {
		return badRequest("a PUT notification must carry the resource")
	}
	if !acceptedMediaType(c.Request().Header.Get("Content-Type")) {
		return errMediaType
	}
	sum, err := fhir.SummarizeResource(body)
	if err != nil {
		return notificationRefused(err)
	}
	if sum.Type+"/"+sum.ID != ref {
		return badRequest("the resource's type and id are not those of the path")
	}
	return s.enqueueResource(c.Request().Context(), d, sum, body)
}

func (s *Server) notifyDelete(c echo.Context, d *delivery) error {
	ref, err := pathResource(c)
	if err != nil {
		return err
	}
	d.resource = ref
	return s.enqueue(c.Request().Context(), d, queue.Entry{Resource: ref, Reason: "delete"})
}

func (s *Server) notifyPost(c echo.Context, d *delivery) error {
	body, release, err := s.readBody(c)
	if err != nil {
		return err
	}
	defer release()
	ctx := c.Request().Context()
	if len(bytes.TrimSpace(body)) == 0 {
		d.style = "ping"
		if err := s.in.RequestCatchUp(ctx, "ping"); err != nil {
			return unavailable("the queue cannot take the notification now", err)
		}
		return nil
	}
	if !acceptedMediaType(c.Request().Header.Get("Content-Type")) {
		return errMediaType
	}
	sum, err := fhir.SummarizeResource(body)
	if err != nil {
		return notificationRefused(err)
	}
	if sum.Type != "Bundle" {
		d.style = "resource"
		if !fhir.Summarizes(sum.Type) {
			return badRequest("not a notification, nor a resource of a type the service follows")
		}
		if fhir.RelativeRef(sum.Type+"/"+sum.ID) == "" {
			return badRequest("the resource has no valid id")
		}
		return s.enqueueResource(ctx, d, sum, body)
	}
	d.style = "bundle"
	n, err := fhir.ParseNotification(body)
	if err != nil {
		return notificationRefused(err)
	}
	return s.notification(ctx, d, n)
}

// notification takes a Backport notification. An event-notification gives
// one entry per event whose focus is a followed type (with the patient when
// the payload carries the resource), then its event numbers go to the
// intake. A heartbeat's events-since-subscription-start is passed as an
// event number too: when it is ahead of what the intake saw, the events in
// between were missed (or are still on their way, which the intake's grace
// period allows for). Handshakes and query answers need nothing.
func (s *Server) notification(ctx context.Context, d *delivery, n *fhir.Notification) error {
	switch n.Type {
	case "event-notification":
	case "heartbeat":
		if n.EventsSinceStart > 0 {
			return s.observe(ctx, n.Subscription, []int64{n.EventsSinceStart})
		}
		return nil
	default:
		return nil
	}
	numbers := make([]int64, 0, len(n.Events))
	unfocused := false
	counts := map[queue.Admission]int{}
	ignored := 0 // events of irrelevant resources: not offered to the queue
	for _, ev := range n.Events {
		numbers = append(numbers, ev.Number)
		switch r, _ := fhir.ParseReference(ev.Focus); {
		case ev.Focus == "":
			unfocused = true // payload empty: the event says only that something changed
			continue
		case !fhir.Summarizes(r.Type):
			continue
		case ev.Resource != nil && irrelevant(r.Type, ev.Resource):
			ignored++
			continue
		}
		// An id-only event (no resource) has no version: it cannot be told
		// from a clinician's change, and is queued.
		e := queue.Entry{Resource: ev.Focus, Reason: "notification"}
		if ev.Resource != nil {
			if sum, err := fhir.SummarizeResource(ev.Resource); err == nil {
				e.Patient, e.Version = sum.Patient, sum.Version
			}
		}
		d.resource, d.version = e.Resource, e.Version
		a, err := s.enqueueEntry(ctx, d, e)
		if err != nil {
			return err
		}
		counts[a]++
	}
	switch {
	case counts[queue.Queued] > 0:
	case counts[queue.Coalesced] > 0:
		d.outcome = outcomeCoalesced
	case counts[queue.OwnWrite] > 0:
		d.outcome = outcomeOwnWrite
	case ignored > 0:
		d.outcome = outcomeIgnored
	}
	if unfocused {
		if err := s.in.RequestCatchUp(ctx, "empty-event"); err != nil {
			return unavailable("the queue cannot take the notification now", err)
		}
	}
	if len(numbers) == 0 {
		return nil
	}
	return s.observe(ctx, n.Subscription, numbers)
}

func (s *Server) observe(ctx context.Context, subscription string, numbers []int64) error {
	catchUp, err := s.in.ObserveEvent(ctx, subscription, numbers)
	if err != nil {
		return unavailable("the queue cannot take the notification now", err)
	}
	if catchUp {
		if err := s.in.RequestCatchUp(ctx, "event-gap"); err != nil {
			return unavailable("the queue cannot take the notification now", err)
		}
	}
	return nil
}

// irrelevant reports whether a notified resource can change no worklist: a
// Provenance that targets no Task. In topic mode every Provenance is
// notified (a topic filter cannot chain to the Task's identifier); the
// processor checks that a Task target is utilreview's.
func irrelevant(typ string, resource []byte) bool {
	return typ == "Provenance" && len(fhir.Targets(resource, "Task")) == 0
}

// enqueueResource queues the review of a resource's patient, unless the
// resource is irrelevant.
func (s *Server) enqueueResource(ctx context.Context, d *delivery, sum fhir.ResourceSummary, body []byte) error {
	d.resource, d.version = sum.Type+"/"+sum.ID, sum.Version
	if irrelevant(sum.Type, body) {
		d.outcome = outcomeIgnored
		return nil
	}
	return s.enqueue(ctx, d, queue.Entry{
		Patient: sum.Patient, Resource: d.resource, Version: sum.Version, Reason: "notification",
	})
}

func (s *Server) enqueue(ctx context.Context, d *delivery, e queue.Entry) error {
	a, err := s.enqueueEntry(ctx, d, e)
	if err != nil {
		return err
	}
	switch a {
	case queue.Coalesced:
		d.outcome = outcomeCoalesced
	case queue.OwnWrite:
		d.outcome = outcomeOwnWrite
	}
	return nil
}

// enqueueEntry hands one entry to the intake with the request's trace
// context, so that the processing span joins the webhook's trace. The
// intake recognises a version the service wrote itself in the same Redis
// round trip as the enqueue: such a notification is answered 204 and
// queues nothing.
func (s *Server) enqueueEntry(ctx context.Context, d *delivery, e queue.Entry) (queue.Admission, error) {
	carrier := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, carrier)
	if len(carrier) > 0 {
		e.Trace = carrier
	}
	e.Enqueued = s.now()
	start := time.Now()
	a, err := s.in.Admit(ctx, e)
	s.metrics.enqueue.Observe(time.Since(start).Seconds())
	if err != nil {
		return a, unavailable("the queue cannot take the notification now", err)
	}
	if a != queue.OwnWrite {
		d.entries++
	}
	return a, nil
}

// pathResource is "Type/id" of the path, refused unless it names a
// resource of a type the service follows.
func pathResource(c echo.Context) (string, error) {
	ref := c.Param("type") + "/" + c.Param("id")
	r, ok := fhir.ParseReference(ref)
	if !ok || r.Relative() != ref {
		return "", badRequest("the path does not name a resource by type and id")
	}
	if !fhir.Summarizes(r.Type) {
		return "", badRequest("the service does not follow this resource type")
	}
	return ref, nil
}

// readBody reads the whole body, at most MaxBody bytes (413 beyond).
// release returns the buffer to the pool; body is invalid after it.
func (s *Server) readBody(c echo.Context) (body []byte, release func(), err error) {
	r := c.Request()
	if r.ContentLength > s.cfg.MaxBody {
		return nil, nil, errTooLarge
	}
	buf, _ := s.buffers.Get().(*bytes.Buffer)
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	buf.Reset()
	release = func() {
		if buf.Cap() <= 1<<20 { // do not keep a rare large buffer forever
			s.buffers.Put(buf)
		}
	}
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength) + bytes.MinRead)
	}
	_, err = buf.ReadFrom(http.MaxBytesReader(c.Response().Writer, r.Body, s.cfg.MaxBody))
	if err != nil {
		release()
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, nil, errTooLarge
		}
		return nil, nil, badRequest("the body could not be read")
	}
	return buf.Bytes(), release, nil
}

// acceptedMediaType reports whether a non-empty body's Content-Type may be
// FHIR JSON: JSON, FHIR JSON (R4 and the older form), or form-urlencoded,
// which HAPI's generic client declares on every POST.
func acceptedMediaType(ct string) bool {
	mt, _, _ := strings.Cut(ct, ";")
	switch strings.ToLower(strings.TrimSpace(mt)) {
	case "", "application/fhir+json", "application/json", "application/json+fhir", "application/x-www-form-urlencoded":
		return true
	}
	return false
}

// logDelivery writes one line per delivery: debug when accepted, info when
// refused, error when the queue failed. Types, ids, versions and statuses
// only: never the body.
func (s *Server) logDelivery(c echo.Context, d *delivery, err error) {
	ctx := c.Request().Context()
	level, status := slog.LevelDebug, http.StatusNoContent
	var he *httpError
	if err != nil {
		he = asHTTPError(err)
		level, status = slog.LevelInfo, he.status
		if status >= 500 {
			level = slog.LevelError
		}
	}
	if !s.log.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("style", d.style), slog.String("outcome", outcome(d, err)), slog.Int("status", status),
	}
	if d.resource != "" {
		attrs = append(attrs, slog.String("resource", d.resource))
	}
	if d.version != "" {
		attrs = append(attrs, slog.String("version", d.version))
	}
	if d.entries > 0 {
		attrs = append(attrs, slog.Int("entries", d.entries))
	}
	if he != nil {
		attrs = append(attrs, slog.String("error", he.Error()))
	}
	if id := traceID(ctx); id != "" {
		attrs = append(attrs, slog.String("trace_id", id))
	}
	s.log.LogAttrs(ctx, level, "notification", attrs...)
}
