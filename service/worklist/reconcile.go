package worklist

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/utilreview/utilreview/fhir"
	"github.com/utilreview/utilreview/service/checks"
	"github.com/utilreview/utilreview/service/facts"
)

// Action is what the live service does to bring the server's Tasks in line
// with the findings.
type Action string

const (
	// ActionCreate: a new finding; its Task (and CommunicationRequest) are
	// created conditionally on their identifiers.
	ActionCreate Action = "create"
	// ActionUpdate: the finding's deadline, priority, evidence, description or
	// business status changed; the Task's utilreview-owned elements are
	// rewritten, version-aware (If-Match).
	ActionUpdate Action = "update"
	// ActionCancel: the finding no longer holds and no one has started the
	// Task: it is cancelled with a statusReason.
	ActionCancel Action = "cancel"
	// ActionNote: the finding no longer holds but a clinician has started
	// the Task: it gets one note, and is otherwise left alone.
	ActionNote Action = "note"
	// ActionRevoke: the CommunicationRequest of a cancelled Task is revoked.
	ActionRevoke Action = "revoke"
)

// OwnedElements are the Task elements utilreview writes and rewrites; every
// other element (status, owner, notes, output, executionPeriod, authoredOn
// after creation) belongs to the people working the Task and is never
// touched by an update.
var OwnedElements = []string{
	"identifier", "code", "description", "focus", "for", "encounter", "restriction",
	"priority", "businessStatus", "input", "reasonCode",
}

// NoteMarker starts the note added to a started Task whose finding no longer
// holds; it is how a later run sees the note is already there.
const NoteMarker = "utilreview: the finding behind this review no longer holds"

// statusReasonText is the Task.statusReason of a Task utilreview cancels.
const statusReasonText = "Cancelled by utilreview: the finding no longer holds (the stay or claim changed)."

// Request is a CommunicationRequest already on the server, as the live
// service reads it, for revoking the request of a cancelled Task.
type Request struct {
	Ref        string // "CommunicationRequest/id"
	Version    string
	Status     string
	Identifier string // value of its identifier in the identifier system
	// BasedOnTask is the identifier value of the Task it is based on.
	BasedOnTask string
	Raw         []byte
}

// Change is one write of a Plan.
type Change struct {
	Action     Action
	Check      string // the check of the finding or of the existing Task
	Identifier fhir.Identifier
	Finding    *checks.Finding // the finding (create, update); nil otherwise
	Task       *facts.Task     // the existing Task (update, cancel, note); nil for create
	Request    *Request        // the existing CommunicationRequest (revoke)
	// Body is the resource to write: the new Task (create), or the existing
	// Task or CommunicationRequest with utilreview's changes (update,
	// cancel, note, revoke).
	Body []byte
	// CommunicationRequest is the new CommunicationRequest of a create,
	// when the check asks for one.
	CommunicationRequest []byte
	CommunicationID      fhir.Identifier
}

// Ref is the "Type/id" the change writes, "" for a create.
func (c *Change) Ref() string {
	switch {
	case c.Request != nil:
		return c.Request.Ref
	case c.Task != nil:
		return c.Task.Ref
	}
	return ""
}

// Version is the version the change was computed from (its If-Match).
func (c *Change) Version() string {
	switch {
	case c.Request != nil:
		return c.Request.Version
	case c.Task != nil:
		return c.Task.Version
	}
	return ""
}

// Plan is what the live service writes for one patient.
type Plan struct {
	Changes []Change
	// Open are the findings still to work (new, or with an open Task);
	// Closed counts those a completed, cancelled or rejected Task closed.
	Open   []checks.Finding
	Closed int
	// Unchanged counts open findings whose Task already says what the
	// finding says: nothing to write.
	Unchanged int
}

// Empty reports whether the plan writes nothing.
func (p *Plan) Empty() bool { return len(p.Changes) == 0 }

// Reconcile plans the writes that bring the existing utilreview Tasks (and
// CommunicationRequests) of one patient in line with its findings:
//   - a finding with no Task: create;
//   - a finding whose open Task says something else in the elements
//     utilreview owns: update (the rest of the Task kept as it is);
//   - a finding whose Task is closed: nothing (never reopened);
//   - an open utilreview Task whose finding no longer holds, on a focus the
//     review covered (inScope) or that no longer exists: cancel it when no one
//     has started it (and revoke its CommunicationRequests), else note it once.
//
// inScope reports whether the review looked at a focus ("Type/id"): Tasks on
// stays and claims outside the review window are left alone.
func (w *Writer) Reconcile(findings []checks.Finding, existing []*facts.Task, requests []*Request, inScope func(focus string) bool, asOf time.Time) (*Plan, error) {
	plan := &Plan{}
	byValue := w.existingByValue(existing)
	wanted := make(map[string]bool, len(findings))
	for i := range findings {
		f := &findings[i]
		id := w.Identifier(f)
		if wanted[id.Value] {
			continue // one finding raised twice: one Task
		}
		wanted[id.Value] = true
		t := byValue[id.Value]
		if t != nil && t.State() == facts.TaskClosed {
			plan.Closed++
			continue
		}
		plan.Open = append(plan.Open, *f)
		task := w.Task(f, asOf)
		if t == nil {
			c := Change{Action: ActionCreate, Check: f.Check, Identifier: id, Finding: f, Body: task.AppendJSON(nil)}
			if cr := w.CommunicationRequest(f, asOf); cr != nil {
				c.CommunicationRequest = cr.AppendJSON(nil)
				c.CommunicationID = cr.Identifier[0]
			}
			plan.Changes = append(plan.Changes, c)
			continue
		}
		if f.Communication == nil {
			// The finding no longer asks for a message (a prior
			// authorization the payer can no longer give, 42 CFR 419.82):
			// the request its Task made earlier is revoked.
			if err := revokeRequests(plan, requests, id, f.Check); err != nil {
				return nil, err
			}
		}
		if t.Raw == nil {
			plan.Unchanged++ // read without its JSON: nothing to compare or rewrite
			continue
		}
		body, changed, err := rewriteOwned(t.Raw, task.AppendJSON(nil))
		if err != nil {
			return nil, fmt.Errorf("worklist.Reconcile: %s: %w", t.Ref, err)
		}
		if !changed {
			plan.Unchanged++
			continue
		}
		plan.Changes = append(plan.Changes, Change{Action: ActionUpdate, Check: f.Check, Identifier: id, Finding: f, Task: t, Body: body})
	}

	// Tasks whose finding no longer holds, in a stable order.
	var gone []*facts.Task
	for value, t := range byValue {
		if wanted[value] || t.State() != facts.TaskOpen || t.Ref == "" || t.Raw == nil {
			continue
		}
		if t.Focus != "" && inScope != nil && !inScope(t.Focus) {
			continue
		}
		gone = append(gone, t)
	}
	sort.Slice(gone, func(i, j int) bool { return gone[i].Ref < gone[j].Ref })
	for _, t := range gone {
		id := fhir.Identifier{System: w.cfg.IdentifierSystem, Value: t.IdentifierValue(w.cfg.IdentifierSystem)}
		check := taskCheck(t, w.checkSystem)
		if t.Untouched() {
			body, err := cancelTask(t.Raw)
			if err != nil {
				return nil, fmt.Errorf("worklist.Reconcile: %s: %w", t.Ref, err)
			}
			plan.Changes = append(plan.Changes, Change{Action: ActionCancel, Check: check, Identifier: id, Task: t, Body: body})
			if err := revokeRequests(plan, requests, id, check); err != nil {
				return nil, err
			}
			continue
		}
		body, added, err := noteTask(t.Raw, w.at(asOf))
		if err != nil {
			return nil, fmt.Errorf("worklist.Reconcile: %s: %w", t.Ref, err)
		}
		if added {
			plan.Changes = append(plan.Changes, Change{Action: ActionNote, Check: check, Identifier: id, Task: t, Body: body})
		}
	}
	return plan, nil
}

// revokeRequests plans the revocation of the revocable
// CommunicationRequests based on the Task with identifier id.
func revokeRequests(plan *Plan, requests []*Request, id fhir.Identifier, check string) error {
	for _, r := range requests {
		if r.BasedOnTask != id.Value || !revocable(r.Status) || r.Raw == nil {
			continue
		}
		body, err := setStatus(r.Raw, "revoked", "")
		if err != nil {
			return fmt.Errorf("worklist.Reconcile: %s: %w", r.Ref, err)
		}
		plan.Changes = append(plan.Changes, Change{Action: ActionRevoke, Check: check, Identifier: id, Request: r, Body: body})
	}
	return nil
}

// taskCheck is the check code of an existing Task (its Task.code in the
// check CodeSystem), "" when it has none.
func taskCheck(t *facts.Task, system string) string {
	for _, c := range t.Codes {
		if c.System == system {
			return c.Code
		}
	}
	return ""
}

func revocable(status string) bool {
	return status == "draft" || status == "active" || status == "on-hold"
}

// PlanBundle is the plan's transaction Bundle: creates are conditional on
// the identifiers (a racing create answers 409, never a duplicate), updates
// are version-aware (If-Match: a Task a clinician changed since it was read
// answers 409 and the patient is reviewed again). Nil when the plan is empty.
func (w *Writer) PlanBundle(plan *Plan) []byte {
	if plan.Empty() {
		return nil
	}
	bw := fhir.NewBundleWriter(make([]byte, 0, 4096*len(plan.Changes)), "transaction")
	for i := range plan.Changes {
		c := &plan.Changes[i]
		switch c.Action {
		case ActionCreate:
			bw.Add(conditionalCreate("Task", c.Identifier, fhir.RawJSON(c.Body)))
			if c.CommunicationRequest != nil {
				bw.Add(conditionalCreate("CommunicationRequest", c.CommunicationID, fhir.RawJSON(c.CommunicationRequest)))
			}
		default:
			ref := c.Ref()
			bw.Add(fhir.BundleEntry{
				FullURL:  w.cfg.Base + "/" + ref, // informative; the request URL is what counts
				Resource: fhir.RawJSON(c.Body),
				Request:  fhir.BundleRequest{Method: "PUT", URL: ref, IfMatch: c.Version()},
			})
		}
	}
	return bw.Finish()
}

// decodeObject decodes a JSON object keeping numbers as written.
func decodeObject(raw []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, fmt.Errorf("decoding the resource: %w", err)
	}
	if m == nil {
		return nil, fmt.Errorf("not a JSON object")
	}
	return m, nil
}

// encodeObject writes a resource object back; meta (versionId,
// lastUpdated) is the server's and is left out of an update.
func encodeObject(m map[string]any) ([]byte, error) {
	if meta, ok := m["meta"].(map[string]any); ok {
		delete(meta, "versionId")
		delete(meta, "lastUpdated")
		if len(meta) == 0 {
			delete(m, "meta")
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// rewriteOwned returns the existing Task with the elements utilreview owns
// taken from the desired one, and whether any of them differs.
func rewriteOwned(existing, desired []byte) ([]byte, bool, error) {
	have, err := decodeObject(existing)
	if err != nil {
		return nil, false, err
	}
	want, err := decodeObject(desired)
	if err != nil {
		return nil, false, err
	}
	changed := false
	for _, k := range OwnedElements {
		wv, wok := want[k]
		hv, hok := have[k]
		if wok != hok || (wok && !sameJSON(wv, hv)) {
			changed = true
			if wok {
				have[k] = wv
			} else {
				delete(have, k)
			}
		}
	}
	if !changed {
		return nil, false, nil
	}
	body, err := encodeObject(have)
	return body, true, err
}

// cancelTask is the Task cancelled by utilreview, with a statusReason.
func cancelTask(existing []byte) ([]byte, error) {
	return setStatus(existing, "cancelled", statusReasonText)
}

func setStatus(existing []byte, status, reason string) ([]byte, error) {
	m, err := decodeObject(existing)
	if err != nil {
		return nil, err
	}
	m["status"] = status
	if reason != "" {
		m["statusReason"] = map[string]any{"text": reason}
	}
	return encodeObject(m)
}

// noteTask adds utilreview's note to a started Task whose finding no longer
// holds, once: added is false when the note is already there.
func noteTask(existing []byte, at time.Time) (body []byte, added bool, err error) {
	m, err := decodeObject(existing)
	if err != nil {
		return nil, false, err
	}
	notes, _ := m["note"].([]any)
	for _, n := range notes {
		if nm, ok := n.(map[string]any); ok {
			if text, _ := nm["text"].(string); strings.HasPrefix(text, NoteMarker) {
				return nil, false, nil
			}
		}
	}
	note := map[string]any{
		"authorString": "utilreview",
		"text": NoteMarker + " (the stay or claim changed). The Task was already being worked, so utilreview " +
			"left it open: close it if no review is needed.",
	}
	if !at.IsZero() {
		note["time"] = at.Format(time.RFC3339)
	}
	m["note"] = append(notes, note)
	body, err = encodeObject(m)
	return body, err == nil, err
}

// sameJSON compares decoded JSON values; numbers compare by value, so a
// server that writes 1.50 as 1.5 does not look like a change.
func sameJSON(a, b any) bool {
	switch av := a.(type) {
	case map[string]any:
		bv, ok := b.(map[string]any)
		if !ok || len(av) != len(bv) {
			return false
		}
		for k, x := range av {
			y, ok := bv[k]
			if !ok || !sameJSON(x, y) {
				return false
			}
		}
		return true
	case []any:
		bv, ok := b.([]any)
		if !ok || len(av) != len(bv) {
			return false
		}
		for i := range av {
			if !sameJSON(av[i], bv[i]) {
				return false
			}
		}
		return true
	case json.Number:
		bv, ok := b.(json.Number)
		if !ok {
			return false
		}
		if av == bv {
			return true
		}
		x, err1 := av.Float64()
		y, err2 := bv.Float64()
		return err1 == nil && err2 == nil && x == y
	default:
		return a == b
	}
}
