package worklist

import (
	"net/url"
	"strings"
	"time"

	"github.com/utilreview/utilreview/fhir"
	"github.com/utilreview/utilreview/service/checks"
	"github.com/utilreview/utilreview/service/facts"
)

// Task is the Task for a finding: status requested, intent order, the check
// in Task.code, the deadline in restriction.period.end, the evidence in
// Task.input (each typed, exactly one value[x]) and references to the input
// resources by their own "Type/id".
func (w *Writer) Task(f *checks.Finding, asOf time.Time) *fhir.Task {
	t := &fhir.Task{
		Identifier:     []fhir.Identifier{w.Identifier(f)},
		Status:         "requested",
		BusinessStatus: fhir.Concept(w.statusSystem, w.businessStatus(f, asOf), ""),
		Intent:         "order",
		Priority:       priority(f.Priority),
		Code:           w.checkConcept(f.Check),
		Description:    w.description(f),
		Focus:          focusReference(f),
		For:            patientReference(f.Patient),
		AuthoredOn:     w.at(asOf),
		Requester:      w.cfg.Requester,
		Owner:          w.owner(f.Owner),
		Restriction:    fhir.Period{End: w.at(f.Due)},
	}
	t.BusinessStatus.Coding[0].Display = w.statusDisplay[t.BusinessStatus.Coding[0].Code]
	if f.Encounter != nil {
		t.Encounter = literal(f.Encounter.Ref, "Encounter")
	}
	if len(f.Reasons) > 0 {
		t.ReasonCode = codeConcept(f.Reasons[0])
	}
	t.Input = w.inputs(f)
	return t
}

// inputs are the finding's evidence, then the reasons Task.reasonCode (0..1)
// cannot hold, then the rule set applied when no evidence names it.
func (w *Writer) inputs(f *checks.Finding) []fhir.TaskInput {
	n := len(f.Evidence)
	if len(f.Reasons) > 1 {
		n += len(f.Reasons) - 1
	}
	if f.RuleSet != nil {
		n++
	}
	in := make([]fhir.TaskInput, 0, n)
	ruleSetNamed := false
	for i := range f.Evidence {
		e := &f.Evidence[i]
		if e.Type == "" {
			continue
		}
		v := w.evidenceValue(e)
		if !v.Valid() {
			continue // nothing writable (e.g. a NaN, or a urn:uuid reference)
		}
		if e.Type == EvidenceRuleSet {
			ruleSetNamed = true
		}
		in = append(in, fhir.TaskInput{Type: w.evidenceType(e.Type), Value: v})
	}
	for _, r := range f.Reasons[min(1, len(f.Reasons)):] {
		if cc := codeConcept(r); !cc.IsZero() {
			in = append(in, fhir.TaskInput{Type: w.evidenceType(EvidenceReason), Value: fhir.ConceptValue(cc)})
		}
	}
	if f.RuleSet != nil && !ruleSetNamed && f.RuleSet.ID != "" {
		name := f.RuleSet.ID
		if f.RuleSet.Version != "" {
			name += "@" + f.RuleSet.Version
		}
		in = append(in, fhir.TaskInput{Type: w.evidenceType(EvidenceRuleSet), Value: fhir.StringValue(name)})
	}
	return in
}

func (w *Writer) evidenceType(code string) fhir.CodeableConcept {
	return fhir.Concept(w.evidenceSystem, code, w.evidenceDisplay[code])
}

// evidenceValue turns the one value set in an Evidence into a value[x];
// the checks' constructors set exactly one, and should one be built by hand
// with several, the first in this order wins, so one value[x] is written.
func (w *Writer) evidenceValue(e *checks.Evidence) fhir.Value {
	switch {
	case e.Int != nil:
		return fhir.IntegerValue(*e.Int)
	case e.Decimal != nil:
		return fhir.DecimalValue(*e.Decimal)
	case e.String != nil:
		return fhir.StringValue(*e.String)
	case e.Bool != nil:
		return fhir.BooleanValue(*e.Bool)
	case e.DateTime != nil:
		return fhir.DateTimeValue(w.at(*e.DateTime))
	case e.Date != nil:
		return fhir.DateValue(w.at(*e.Date))
	case e.Code != nil:
		return fhir.ConceptValue(codeConcept(*e.Code))
	case e.Ref != nil:
		return fhir.ReferenceValue(literal(*e.Ref, ""))
	}
	return fhir.Value{}
}

// CommunicationRequest is the CommunicationRequest for a finding whose check
// asks for a message; nil when it does not. It is based on the finding's
// Task through a logical reference (the Task's identifier), which stays
// valid whether or not the Task is in the same Bundle.
func (w *Writer) CommunicationRequest(f *checks.Finding, asOf time.Time) *fhir.CommunicationRequest {
	c := f.Communication
	if c == nil {
		return nil
	}
	cr := &fhir.CommunicationRequest{
		Identifier:         []fhir.Identifier{w.CommunicationIdentifier(f)},
		BasedOn:            []fhir.Reference{{Type: "Task", Identifier: w.Identifier(f)}},
		Status:             "active",
		Priority:           priority(f.Priority),
		Subject:            patientReference(f.Patient),
		About:              []fhir.Reference{focusReference(f)},
		OccurrenceDateTime: w.at(f.Due),
		AuthoredOn:         w.at(asOf),
		Requester:          w.cfg.Requester,
		Sender:             w.cfg.Sender,
		ReasonCode:         []fhir.CodeableConcept{w.checkConcept(f.Check)},
	}
	if c.Category != "" {
		cr.Category = []fhir.CodeableConcept{fhir.Concept(w.categorySystem, c.Category, w.categoryDisplay[c.Category])}
	}
	if f.Encounter != nil {
		cr.Encounter = literal(f.Encounter.Ref, "Encounter")
	}
	recipient := literal(c.Recipient, "")
	if c.RecipientIdentifier != nil {
		// The payer as the input names it: its identifier beside the
		// Organization reference, or alone (a logical reference) for a payer
		// known only by identifier.
		if id := identifierReference(c.RecipientIdentifier.System, c.RecipientIdentifier.Value, "Organization"); !id.IsZero() {
			if recipient.IsZero() {
				recipient = id
			} else {
				recipient.Identifier = id.Identifier
			}
		}
	}
	recipient.Display = c.RecipientDisplay
	if !recipient.IsZero() {
		cr.Recipient = []fhir.Reference{recipient}
	}
	payload := c.Payload
	if payload == "" {
		payload = f.Description
	}
	if payload != "" {
		cr.Payload = []fhir.Value{fhir.StringValue(payload)}
	}
	return cr
}

// at places t in the facility zone; the zero time stays zero (not written).
func (w *Writer) at(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.In(w.cfg.Location)
}

// businessStatus is the finding's status, or one worked out from its
// deadline when the check left it empty.
func (w *Writer) businessStatus(f *checks.Finding, asOf time.Time) string {
	if f.Status != "" {
		return f.Status
	}
	switch {
	case f.Due.IsZero() || asOf.IsZero():
		return checks.StatusAwaitingReview
	case f.Due.Before(asOf):
		return checks.StatusOverdue
	case f.Due.Sub(asOf) <= 24*time.Hour:
		return checks.StatusDueSoon
	}
	return checks.StatusAwaitingReview
}

func (w *Writer) checkConcept(check string) fhir.CodeableConcept {
	return fhir.Concept(w.checkSystem, check, w.checkTitle[check])
}

// description is the finding's text for the nurse, or the check's title.
func (w *Writer) description(f *checks.Finding) string {
	if f.Description != "" {
		return f.Description
	}
	return w.checkTitle[f.Check]
}

func (w *Writer) owner(o checks.Owner) fhir.Reference {
	if ref, ok := w.cfg.Owners[o]; ok {
		return ref
	}
	return w.cfg.Owners[checks.URTeam]
}

// priority is a valid request-priority code; routine when the finding's is not.
func priority(p checks.Priority) string {
	switch p {
	case checks.Routine, checks.Urgent, checks.ASAP, checks.Stat:
		return string(p)
	}
	return string(checks.Routine)
}

func codeConcept(c facts.Code) fhir.CodeableConcept {
	cd := fhir.Coding{System: c.System, Code: c.Code, Display: c.Display}
	if cd.IsZero() {
		return fhir.CodeableConcept{}
	}
	return fhir.CodeableConcept{Coding: []fhir.Coding{cd}}
}

// literal is a literal reference to an input resource. A "urn:uuid:" or
// "urn:oid:" fullUrl or a "#contained" reference would not resolve on the
// server the output is posted to, so those are not written.
func literal(ref, typ string) fhir.Reference {
	if !isLiteral(ref) {
		return fhir.Reference{}
	}
	if typ == "" {
		typ = refType(ref)
	}
	return fhir.Reference{Reference: ref, Type: typ}
}

// refType is the resource type of "Type/id", ".../Type/id" or
// ".../Type/id/_history/v"; "" when it does not look like one.
func refType(ref string) string {
	r, _ := fhir.ParseReference(ref)
	return r.Type
}

// isLiteral reports whether ref names a resource by type and id (relative
// or absolute), as a written reference must.
func isLiteral(ref string) bool { return refType(ref) != "" }

// keyReference is a logical reference by business identifier, from a stable
// key "system|value"; zero when the key is not an identifier. The system
// must be an absolute URI: a URL, or a URN such as urn:oid:2.16.840.1.113883.4.1
// (OIDs are common identifier systems in US EHRs). Other keys (a urn:uuid
// fullUrl, a contained "#id") are not identifiers.
func keyReference(key, typ string) fhir.Reference {
	system, value, ok := strings.Cut(key, "|")
	if !ok {
		return fhir.Reference{}
	}
	return identifierReference(system, value, typ)
}

// identifierReference is a logical reference to a typ by the identifier
// system|value; zero unless the system is an absolute URI and the value set
// (an identifier without a system names nothing outside the input).
func identifierReference(system, value, typ string) fhir.Reference {
	if value == "" || !absoluteURI(system) {
		return fhir.Reference{}
	}
	return fhir.Reference{Type: typ, Identifier: fhir.Identifier{System: system, Value: value}}
}

// absoluteURI reports whether s is an absolute URI fit for an
// Identifier.system: a scheme and, for URLs, a host.
func absoluteURI(s string) bool {
	if s == "" || strings.ContainsAny(s, " \t\n#") {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && u.Scheme != "" && (u.Host != "" || u.Opaque != "")
}

// patientReference is the patient's "Patient/id", else a logical reference
// by its business identifier; zero when neither is known.
func patientReference(p *facts.Patient) fhir.Reference {
	if p == nil {
		return fhir.Reference{}
	}
	if r := literal(p.Ref, "Patient"); !r.IsZero() {
		return r
	}
	return keyReference(p.Key, "Patient")
}

// focusReference is the finding's focus (the Encounter or Claim checked).
func focusReference(f *checks.Finding) fhir.Reference {
	if r := literal(f.FocusRef, ""); !r.IsZero() {
		return r
	}
	typ := "Encounter"
	if f.Claim != nil {
		typ = "Claim"
	}
	return keyReference(f.FocusKey, typ)
}
