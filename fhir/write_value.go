package fhir

import (
	"math"
	"strconv"
	"time"
)

// ValueKind names the type of a choice element's value[x].
type ValueKind uint8

// The value[x] types utilreview writes.
const (
	NoValue ValueKind = iota
	IntegerKind
	DecimalKind
	StringKind
	BooleanKind
	DateTimeKind
	CodeableConceptKind
	CodingKind
	ReferenceKind
	DateKind
)

// Value is the value of a choice element (value[x], content[x], ...). It
// holds exactly one value of one type: the constructors set one, and the
// writer writes one member, named prefix + type ("valueInteger").
type Value struct {
	kind    ValueKind
	b       bool
	i       int64
	f       float64
	s       string
	t       time.Time
	coding  Coding
	concept CodeableConcept
	ref     Reference
}

// IntegerValue is a valueInteger. FHIR integers are 32-bit: a larger value
// is written as a valueDecimal with the same digits rather than a wrong integer.
func IntegerValue(v int) Value { return Value{kind: IntegerKind, i: int64(v)} }

// DecimalValue is a valueDecimal; NaN and infinities are not writable (Valid is false).
func DecimalValue(v float64) Value { return Value{kind: DecimalKind, f: v} }

// StringValue is a valueString.
func StringValue(v string) Value { return Value{kind: StringKind, s: v} }

// BooleanValue is a valueBoolean.
func BooleanValue(v bool) Value { return Value{kind: BooleanKind, b: v} }

// DateTimeValue is a valueDateTime, written in t's location.
func DateTimeValue(t time.Time) Value { return Value{kind: DateTimeKind, t: t} }

// DateValue is a valueDate: the calendar day of t in t's location
// (pass t.In(facility) to write the facility's day).
func DateValue(t time.Time) Value { return Value{kind: DateKind, t: t} }

// CodingValue is a valueCoding.
func CodingValue(c Coding) Value { return Value{kind: CodingKind, coding: c} }

// ConceptValue is a valueCodeableConcept.
func ConceptValue(c CodeableConcept) Value { return Value{kind: CodeableConceptKind, concept: c} }

// ReferenceValue is a valueReference.
func ReferenceValue(r Reference) Value { return Value{kind: ReferenceKind, ref: r} }

// Kind is the type of the value, NoValue for the zero Value.
func (v Value) Kind() ValueKind { return v.kind }

// Valid reports whether the value can be written: set, and not empty (an
// empty string, a NaN, a zero time or an empty concept would be invalid FHIR).
func (v Value) Valid() bool {
	switch v.kind {
	case IntegerKind, BooleanKind:
		return true
	case DecimalKind:
		return finite(v.f)
	case StringKind:
		return v.s != ""
	case DateTimeKind, DateKind:
		return ValidDateTime(v.t)
	case CodingKind:
		return !v.coding.IsZero()
	case CodeableConceptKind:
		return !v.concept.IsZero()
	case ReferenceKind:
		return !v.ref.IsZero()
	}
	return false
}

// suffix is the type part of the member name.
func (v Value) suffix() string {
	switch v.kind {
	case IntegerKind:
		if v.i < math.MinInt32 || v.i > math.MaxInt32 {
			return "Decimal"
		}
		return "Integer"
	case DecimalKind:
		return "Decimal"
	case StringKind:
		return "String"
	case BooleanKind:
		return "Boolean"
	case DateTimeKind:
		return "DateTime"
	case DateKind:
		return "Date"
	case CodingKind:
		return "Coding"
	case CodeableConceptKind:
		return "CodeableConcept"
	case ReferenceKind:
		return "Reference"
	}
	return ""
}

// appendMember writes `"<prefix><Type>":<value>` into o; nothing when the
// value is not Valid.
func (v Value) appendMember(o *object, prefix string) {
	if !v.Valid() {
		return
	}
	if !o.empty {
		o.b = append(o.b, ',')
	}
	o.empty = false
	o.b = append(o.b, '"')
	o.b = append(o.b, prefix...)
	o.b = append(o.b, v.suffix()...)
	o.b = append(o.b, '"', ':')
	switch v.kind {
	case IntegerKind:
		o.b = strconv.AppendInt(o.b, v.i, 10)
	case DecimalKind:
		o.b = appendDecimal(o.b, v.f)
	case StringKind:
		o.b = AppendString(o.b, v.s)
	case BooleanKind:
		o.b = strconv.AppendBool(o.b, v.b)
	case DateTimeKind:
		o.b = append(o.b, '"')
		o.b = AppendDateTime(o.b, v.t)
		o.b = append(o.b, '"')
	case DateKind:
		o.b = append(o.b, '"')
		o.b = v.t.AppendFormat(o.b, dateLayout)
		o.b = append(o.b, '"')
	case CodingKind:
		o.b = v.coding.AppendJSON(o.b)
	case CodeableConceptKind:
		o.b = v.concept.AppendJSON(o.b)
	case ReferenceKind:
		o.b = v.ref.AppendJSON(o.b)
	}
}
