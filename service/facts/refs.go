package facts

import (
	"fmt"
	"strings"
	"time"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/utilreview/utilreview/fhir"
)

// ownID is the resource's own id: Resource.id, or the id at the end of a
// RESTful fullUrl naming this resource. A urn:uuid fullUrl is not an id: a
// server assigns its own id to a resource POSTed without one, so "Type/uuid"
// would dangle (Synthea sets Resource.id as well, the same uuid).
// Contained resources have no id of their own outside their container.
func ownID(r *fhir.Resource) string {
	if r.Source.Contained != "" {
		return ""
	}
	if r.ID != "" {
		return r.ID
	}
	// A RESTful fullUrl ending in this resource's Type/id names the id too.
	if strings.Contains(r.FullURL, "://") {
		if ref := normalizeRef(r.FullURL); len(ref) > len(r.Type)+1 && ref[:len(r.Type)] == r.Type && ref[len(r.Type)] == '/' {
			return ref[len(r.Type)+1:]
		}
	}
	return ""
}

// errNoIdentity is the problem of a resource that what utilreview writes
// could not refer to.
const errNoIdentity = "has no id or identifier: it cannot be referenced"

// identity is the reference and stable key of a resource: ref "Type/id"
// with its own id (else ""), key ref, else (a resource known only by a
// urn:uuid fullUrl) its business identifier "system|value". Resource ids are
// stable on a server and kept by Bulk export; a business identifier that a
// resource gains or changes must not give its finding a second identity.
// ok is false when it has neither: then nothing written could
// refer to it and the caller leaves it out.
func identity(r *fhir.Resource, ids []fm.Identifier) (ref, key string, ok bool) {
	ref = refOf(r)
	key = ref
	if key == "" {
		key = identifierKey(ids)
	}
	return ref, key, key != ""
}

// refOf is "Type/id" with the resource's own id, or "" without one.
func refOf(r *fhir.Resource) string {
	id := ownID(r)
	if id == "" {
		return ""
	}
	return r.Type + "/" + id
}

// normalizeRef turns a reference as written into "Type/id" where it names
// one (fhir.ParseReference: absolute URLs lose their base and _history
// suffix). urn:uuid and contained ("#id") references, and anything that is
// not a reference, stay as written.
func normalizeRef(s string) string {
	if rel := fhir.RelativeRef(s); rel != "" {
		return rel
	}
	return s
}

// refType is the resource type of a "Type/id" (or absolute) reference, ""
// when the reference does not say (urn:uuid, contained).
func refType(s string) string {
	r, _ := fhir.ParseReference(s)
	return r.Type
}

// resolveType resolves a reference of resource from and returns the target
// only when it is of the wanted type and decoded; callers may then assert
// the target's Value to that type's struct.
func (b *builder) resolveType(ref *fm.Reference, from *fhir.Resource, typ string) *fhir.Resource {
	if ref == nil || ref.Reference == nil || *ref.Reference == "" {
		return nil
	}
	res := b.ix.Resolve(*ref.Reference, from)
	if res == nil || res.Type != typ || res.Value == nil {
		// Value is nil when the reader was not asked to decode the type:
		// then the target says nothing the facts could use.
		return nil
	}
	return res
}

// refString is a reference as facts keep it: "Type/id" of the resolved
// target, else the reference as written (normalized), else "".
func (b *builder) refString(ref *fm.Reference, from *fhir.Resource) string {
	if ref == nil || ref.Reference == nil || *ref.Reference == "" {
		return ""
	}
	if res := b.ix.Resolve(*ref.Reference, from); res != nil {
		if r := refOf(res); r != "" {
			return r
		}
	}
	return normalizeRef(*ref.Reference)
}

// identifierKey is the stable key "system|value" of a business identifier:
// the official one, else the first with both system and value; "" when none.
func identifierKey(ids []fm.Identifier) string {
	first := ""
	for i := range ids {
		id := &ids[i]
		if id.System == nil || id.Value == nil || *id.System == "" || *id.Value == "" {
			continue
		}
		if id.Use != nil && *id.Use == fm.IdentifierUseOfficial {
			return *id.System + "|" + *id.Value
		}
		if first == "" {
			first = *id.System + "|" + *id.Value
		}
	}
	return first
}

// resourceIdentifierKey is identifierKey of the resource's own
// Resource.identifier, for the types Build reads; "" when none.
func resourceIdentifierKey(r *fhir.Resource) string {
	if r == nil {
		return ""
	}
	var ids []fm.Identifier
	switch v := r.Value.(type) {
	case *fm.Patient:
		ids = v.Identifier
	case *fm.Encounter:
		ids = v.Identifier
	case *fm.Claim:
		ids = v.Identifier
	case *fm.Coverage:
		ids = v.Identifier
	case *fm.ExplanationOfBenefit:
		ids = v.Identifier
	case *fm.ClaimResponse:
		ids = v.Identifier
	case *fm.Condition:
		ids = v.Identifier
	case *fm.Procedure:
		ids = v.Identifier
	case *fm.Organization:
		ids = v.Identifier
	case *fm.Account:
		ids = v.Identifier
	case *fm.Task:
		ids = v.Identifier
	case *fm.Communication:
		ids = v.Identifier
	}
	return identifierKey(ids)
}

// identifiers copies identifiers that have a value.
func identifiers(ids []fm.Identifier) []Identifier {
	var out []Identifier
	for i := range ids {
		if ids[i].Value == nil || *ids[i].Value == "" {
			continue
		}
		out = append(out, Identifier{System: str(ids[i].System), Value: *ids[i].Value})
	}
	return out
}

func str(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// appendCodes appends the codings of a concept that carry a code.
func appendCodes(dst []Code, cc *fm.CodeableConcept) []Code {
	if cc == nil {
		return dst
	}
	for i := range cc.Coding {
		c := &cc.Coding[i]
		if c.Code == nil || *c.Code == "" {
			continue
		}
		dst = append(dst, Code{System: str(c.System), Code: *c.Code, Display: str(c.Display)})
	}
	return dst
}

// hasCode reports whether a concept has a coding with the code (any system).
func hasCode(cc *fm.CodeableConcept, codes ...string) bool {
	if cc == nil {
		return false
	}
	for i := range cc.Coding {
		if cc.Coding[i].Code == nil {
			continue
		}
		for _, want := range codes {
			if *cc.Coding[i].Code == want {
				return true
			}
		}
	}
	return false
}

// firstCode is the first code of a concept, "" when none.
func firstCode(cc *fm.CodeableConcept) string {
	if cc == nil {
		return ""
	}
	for i := range cc.Coding {
		if cc.Coding[i].Code != nil && *cc.Coding[i].Code != "" {
			return *cc.Coding[i].Code
		}
	}
	return ""
}

func appendUnique(list []*fhir.Resource, r *fhir.Resource) []*fhir.Resource {
	for _, x := range list {
		if x == r {
			return list
		}
	}
	return append(list, r)
}

// parseTime reads a FHIR date, dateTime or instant and places it in the
// facility location. Partial dates stand for the start of their period.
func (b *builder) parseTime(s string) (time.Time, error) {
	t, _, err := fhir.ParseDateTime(s, b.loc)
	if err != nil {
		return time.Time{}, err
	}
	return t.In(b.loc), nil
}

// upperBound is the first instant after the period a FHIR date or dateTime
// stands for, at its precision: a Period.end written as a date includes
// that whole day. t is the parsed start of that period.
func upperBound(t time.Time, prec fhir.Precision) time.Time {
	switch prec {
	case fhir.Year:
		return t.AddDate(1, 0, 0)
	case fhir.Month:
		return t.AddDate(0, 1, 0)
	case fhir.Day:
		return t.AddDate(0, 0, 1)
	case fhir.Minute:
		return t.Add(time.Minute)
	}
	return t.Add(time.Nanosecond)
}

// period is a parsed FHIR Period.
type period struct {
	start, end time.Time
	// startPrec and endPrec are the precisions start and end were written
	// with; zero when absent.
	startPrec, endPrec fhir.Precision
	// endUpper is the first instant after the end at its precision; zero
	// without an end.
	endUpper time.Time
	// endBefore reports an end before the start, with the end read at its
	// own precision (an end date of the start's day is not before it).
	endBefore bool
}

// parsePeriod parses a Period; field names the element for messages.
// A partial start or end stands for the start of its period (the reader's
// rule), which keeps midnight counting exact; whether the end is before the
// start is judged at the end's own precision.
func (b *builder) parsePeriod(p *fm.Period, field string) (period, error) {
	var out period
	if p == nil {
		return out, nil
	}
	if p.Start != nil {
		t, prec, err := fhir.ParseDateTime(*p.Start, b.loc)
		if err != nil {
			return out, wrapField(field+".start", err)
		}
		out.start, out.startPrec = t.In(b.loc), prec
	}
	if p.End != nil {
		t, prec, err := fhir.ParseDateTime(*p.End, b.loc)
		if err != nil {
			return out, wrapField(field+".end", err)
		}
		out.end, out.endPrec = t.In(b.loc), prec
		out.endUpper = upperBound(out.end, prec)
		if !out.start.IsZero() {
			switch {
			case !out.endUpper.After(out.start):
				out.endBefore = true
			case out.end.Before(out.start):
				// A partial end in the start's own day (or month, year): the
				// stay ended that day after it started; the start of the day
				// would put the end before the start.
				out.end = out.start
			}
		}
	}
	return out, nil
}

// wrapField names the element whose value could not be read.
func wrapField(field string, err error) error {
	return fmt.Errorf("%s: %w", field, err)
}

// valueOf is the decoded struct of a resolved resource; ok is false for nil
// or another type, so that a reference never makes Build panic.
func valueOf[T any](r *fhir.Resource) (v T, ok bool) {
	if r == nil {
		return v, false
	}
	v, ok = r.Value.(T)
	return v, ok
}
