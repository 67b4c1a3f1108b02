package facts

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/utilreview/utilreview/fhir"
)

// A clinician records a determination by completing a utilreview Task with
// outputs (Task.output), matched by their type's code (in utilreview's
// evidence-type CodeSystem, <base>/CodeSystem/evidence-type):
//
//	determination          valueCodeableConcept, an X12 306 code (A1, A2, A3, A4, A6)
//	authorized-period      valuePeriod: the period authorized (A1, A2, A6)
//	authorized-days        valueInteger (or unsignedInt, positiveInt): days authorized
//	determination-reason   valueCodeableConcept: the reason, e.g. an X12 886 code
//	determination-note     valueString, valueMarkdown or valueAnnotation: free text
//	next-review            valueDateTime or valueDate: when a pended (A4) determination is due again
//	authorization-number   valueString: the authorization (reference) number
//	avoidable-days         valueInteger: days of the stay that were avoidable
//	avoidable-days-reason  valueCodeableConcept: why (utilreview's avoidable-days-reason CodeSystem)
//
// Only a determination output whose value carries an X12 306 coding makes a
// determination; the others refine it.

// X12ReviewActionSystem is the X12 306 (Action Code) code system of review
// decisions, as Da Vinci PAS uses it.
const X12ReviewActionSystem = "https://codesystem.x12.org/005010/306"

// Task output type codes (see above).
const (
	OutputDetermination       = "determination"
	OutputAuthorizedPeriod    = "authorized-period"
	OutputAuthorizedDays      = "authorized-days"
	OutputDeterminationReason = "determination-reason"
	OutputDeterminationNote   = "determination-note"
	OutputNextReview          = "next-review"
	OutputAuthorizationNumber = "authorization-number"
	OutputAvoidableDays       = "avoidable-days"
	OutputAvoidableDaysReason = "avoidable-days-reason"
)

// Determination is what a clinician decided, from a completed Task's outputs.
type Determination struct {
	Code    string // X12 306: A1, A2, A3, A4, A6
	Display string
	// PeriodStart and PeriodEnd are the authorized period as written (FHIR
	// date or dateTime); empty when not given.
	PeriodStart, PeriodEnd string
	// Days authorized; 0 when not given.
	Days int
	// Reason is the reason code (X12 886 or another system); nil when none.
	Reason *Code
	// Note is free text; it may be PHI and is never logged.
	Note string
	// NextReview is when a pended determination is due again, as written
	// and as read; empty and zero when not given.
	NextReviewRaw string
	NextReview    time.Time
	// AuthorizationNumber is the number the clinician gave, "" when none.
	AuthorizationNumber string
	// AvoidableDays (with HasAvoidableDays) and its reason.
	AvoidableDays    int
	HasAvoidableDays bool
	AvoidableReason  *Code
}

// Agent is an agent of a Provenance that targets a Task.
type Agent struct {
	Who   string // resolved reference "Type/id", or the reference as written
	Roles []Code // agent.role and agent.type codings, and a PractitionerRole's codes
	// Practitioner is the Practitioner a PractitionerRole agent names,
	// when the input holds that PractitionerRole.
	Practitioner string
}

// RoleOf is what a PractitionerRole in the input says: the Practitioner
// it names ("Practitioner/id") and its role codes (PractitionerRole.code).
type RoleOf struct {
	Practitioner string
	Roles        []Code
}

type rawPractitionerRole struct {
	ID           string `json:"id"`
	Practitioner *struct {
		Reference string `json:"reference"`
	} `json:"practitioner"`
	Code []rawConcept `json:"code"`
}

// practitionerRoles indexes the input's PractitionerRoles by "PractitionerRole/id".
func (b *builder) practitionerRoles() map[string]RoleOf {
	if len(b.roleRes) == 0 {
		return nil
	}
	out := map[string]RoleOf{}
	for _, r := range b.roleRes {
		var pr rawPractitionerRole
		if json.Unmarshal(r.Raw, &pr) != nil || pr.ID == "" {
			continue
		}
		var ro RoleOf
		if pr.Practitioner != nil {
			if ref, ok := fhir.ParseReference(pr.Practitioner.Reference); ok && ref.Type == "Practitioner" {
				ro.Practitioner = "Practitioner/" + ref.ID
			}
		}
		for i := range pr.Code {
			ro.Roles = append(ro.Roles, pr.Code[i].codes()...)
		}
		out["PractitionerRole/"+pr.ID] = ro
	}
	return out
}

// X12ReviewActionCodes are the X12 306 codes a determination may carry,
// with their displays as Da Vinci PAS writes them.
var X12ReviewActionCodes = map[string]string{
	"A1": "Certified in total",
	"A2": "Certified - partial",
	"A3": "Not Certified",
	"A4": "Pended",
	"A6": "Modified",
}

type rawCoding struct {
	System  string `json:"system"`
	Code    string `json:"code"`
	Display string `json:"display"`
}

type rawConcept struct {
	Coding []rawCoding `json:"coding"`
	Text   string      `json:"text"`
}

type rawTaskWork struct {
	Meta struct {
		LastUpdated string `json:"lastUpdated"`
	} `json:"meta"`
	LastModified    string `json:"lastModified"`
	ExecutionPeriod *struct {
		End string `json:"end"`
	} `json:"executionPeriod"`
	Owner *struct {
		Reference string `json:"reference"`
		Display   string `json:"display"`
	} `json:"owner"`
	Output []struct {
		Type                 rawConcept  `json:"type"`
		ValueCodeableConcept *rawConcept `json:"valueCodeableConcept"`
		ValueCoding          *rawCoding  `json:"valueCoding"`
		ValuePeriod          *struct {
			Start string `json:"start"`
			End   string `json:"end"`
		} `json:"valuePeriod"`
		ValueInteger     *int    `json:"valueInteger"`
		ValueUnsignedInt *int    `json:"valueUnsignedInt"`
		ValuePositiveInt *int    `json:"valuePositiveInt"`
		ValueString      *string `json:"valueString"`
		ValueMarkdown    *string `json:"valueMarkdown"`
		ValueAnnotation  *struct {
			Text string `json:"text"`
		} `json:"valueAnnotation"`
		ValueDateTime *string `json:"valueDateTime"`
		ValueDate     *string `json:"valueDate"`
	} `json:"output"`
}

func (c *rawConcept) codes() []Code {
	if c == nil {
		return nil
	}
	out := make([]Code, 0, len(c.Coding))
	for _, x := range c.Coding {
		if x.Code != "" {
			out = append(out, Code{System: x.System, Code: x.Code, Display: x.Display})
		}
	}
	return out
}

func (c *rawConcept) has(code string) bool {
	for _, x := range c.Coding {
		if x.Code == code {
			return true
		}
	}
	return false
}

// taskWork reads what a clinician wrote on a Task: its owner, when it was
// completed and the determination in its outputs.
func (b *builder) taskWork(r *fhir.Resource, t *Task) {
	var raw rawTaskWork
	if json.Unmarshal(r.Raw, &raw) != nil {
		return
	}
	if raw.Owner != nil {
		t.OwnerDisplay = raw.Owner.Display
		if raw.Owner.Reference != "" {
			if ref, ok := fhir.ParseReference(raw.Owner.Reference); ok && ref.Type != "" {
				t.Owner = ref.Type + "/" + ref.ID
			} else {
				t.Owner = raw.Owner.Reference
			}
			t.OwnerRole = b.roles[t.Owner]
		}
	}
	for _, s := range []string{executionEnd(&raw), raw.LastModified, raw.Meta.LastUpdated} {
		if s == "" {
			continue
		}
		if at, err := b.parseTime(s); err == nil {
			t.Completed = at
			break
		}
	}
	if t.Status != "completed" {
		return
	}
	var d Determination
	found := false
	for i := range raw.Output {
		o := &raw.Output[i]
		switch {
		case o.Type.has(OutputDetermination):
			cc := o.ValueCodeableConcept
			if cc == nil && o.ValueCoding != nil {
				cc = &rawConcept{Coding: []rawCoding{*o.ValueCoding}}
			}
			if cc == nil {
				continue
			}
			for _, x := range cc.Coding {
				if x.System != X12ReviewActionSystem {
					continue
				}
				if _, ok := X12ReviewActionCodes[x.Code]; ok {
					d.Code, d.Display, found = x.Code, x.Display, true
					break
				}
			}
		case o.Type.has(OutputAuthorizedPeriod) && o.ValuePeriod != nil:
			d.PeriodStart, d.PeriodEnd = o.ValuePeriod.Start, o.ValuePeriod.End
		case o.Type.has(OutputAuthorizedDays):
			if n := firstInt(o.ValueInteger, o.ValueUnsignedInt, o.ValuePositiveInt); n != nil && *n > 0 {
				d.Days = *n
			}
		case o.Type.has(OutputDeterminationReason):
			if cs := o.ValueCodeableConcept.codes(); len(cs) > 0 {
				d.Reason = &cs[0]
			} else if o.ValueCoding != nil && o.ValueCoding.Code != "" {
				d.Reason = &Code{System: o.ValueCoding.System, Code: o.ValueCoding.Code, Display: o.ValueCoding.Display}
			}
		case o.Type.has(OutputDeterminationNote):
			switch {
			case o.ValueString != nil:
				d.Note = *o.ValueString
			case o.ValueMarkdown != nil:
				d.Note = *o.ValueMarkdown
			case o.ValueAnnotation != nil:
				d.Note = o.ValueAnnotation.Text
			}
		case o.Type.has(OutputNextReview):
			s := ""
			if o.ValueDateTime != nil {
				s = *o.ValueDateTime
			} else if o.ValueDate != nil {
				s = *o.ValueDate
			}
			if s == "" {
				continue
			}
			if at, err := b.parseTime(s); err == nil {
				d.NextReviewRaw, d.NextReview = s, at
			}
		case o.Type.has(OutputAuthorizationNumber) && o.ValueString != nil:
			d.AuthorizationNumber = strings.TrimSpace(*o.ValueString)
		case o.Type.has(OutputAvoidableDays):
			if n := firstInt(o.ValueInteger, o.ValueUnsignedInt, o.ValuePositiveInt); n != nil && *n >= 0 {
				d.AvoidableDays, d.HasAvoidableDays = *n, true
			}
		case o.Type.has(OutputAvoidableDaysReason):
			if cs := o.ValueCodeableConcept.codes(); len(cs) > 0 {
				d.AvoidableReason = &cs[0]
			} else if o.ValueCoding != nil && o.ValueCoding.Code != "" {
				d.AvoidableReason = &Code{System: o.ValueCoding.System, Code: o.ValueCoding.Code, Display: o.ValueCoding.Display}
			}
		}
	}
	if found {
		if d.Display == "" {
			d.Display = X12ReviewActionCodes[d.Code]
		}
		t.Determination = &d
	}
}

func executionEnd(raw *rawTaskWork) string {
	if raw.ExecutionPeriod == nil {
		return ""
	}
	return raw.ExecutionPeriod.End
}

func firstInt(ps ...*int) *int {
	for _, p := range ps {
		if p != nil {
			return p
		}
	}
	return nil
}

type rawProvenance struct {
	Target []struct {
		Reference string `json:"reference"`
	} `json:"target"`
	Agent []struct {
		Type *rawConcept  `json:"type"`
		Role []rawConcept `json:"role"`
		Who  struct {
			Reference string `json:"reference"`
		} `json:"who"`
	} `json:"agent"`
}

// provenanceAgents indexes the agents of the input's Provenances by the
// Task version they target: "Task/id/_history/v", or "Task/id" for an
// unversioned target.
func (b *builder) provenanceAgents() map[string][]Agent {
	if len(b.provenanceRes) == 0 {
		return nil
	}
	out := map[string][]Agent{}
	for _, r := range b.provenanceRes {
		var p rawProvenance
		if json.Unmarshal(r.Raw, &p) != nil {
			continue
		}
		var agents []Agent
		for _, a := range p.Agent {
			ag := Agent{Who: a.Who.Reference}
			if ref, ok := fhir.ParseReference(a.Who.Reference); ok && ref.Type != "" {
				ag.Who = ref.Type + "/" + ref.ID
			}
			ag.Roles = append(ag.Roles, a.Type.codes()...)
			for i := range a.Role {
				ag.Roles = append(ag.Roles, a.Role[i].codes()...)
			}
			if ro, ok := b.roles[ag.Who]; ok {
				ag.Practitioner = ro.Practitioner
				ag.Roles = append(ag.Roles, ro.Roles...)
			}
			agents = append(agents, ag)
		}
		for _, tg := range p.Target {
			ref, ok := fhir.ParseReference(tg.Reference)
			if !ok || ref.Type != "Task" {
				continue
			}
			key := "Task/" + ref.ID
			if ref.Version != "" {
				key += "/_history/" + ref.Version
			}
			out[key] = append(out[key], agents...)
		}
	}
	return out
}

// attachProvenance gives each Task the agents of the Provenances that
// target its current version (or the Task without a version).
func attachProvenance(t *Task, byTarget map[string][]Agent) {
	if len(byTarget) == 0 || t.Ref == "" {
		return
	}
	if t.Version != "" {
		t.Agents = append(t.Agents, byTarget[t.Ref+"/_history/"+t.Version]...)
	}
	t.Agents = append(t.Agents, byTarget[t.Ref]...)
}
