package fhir

import (
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// Writing. The samply structs cannot be marshalled as they are for what
// utilreview writes: TaskInput, TaskOutput and CommunicationRequestPayload
// emit every value[x] at once, and required backbone fields emit zero values.
// So the few resources utilreview writes have their own small types here,
// each appending its JSON straight into a byte slice: no reflection, no
// intermediate maps, and every element left out when it is empty (FHIR
// forbids empty strings, objects and arrays). A choice element is a Value,
// which holds exactly one value[x] by construction.

// JSONAppender is anything that appends its FHIR JSON to b.
type JSONAppender interface {
	AppendJSON(b []byte) []byte
}

// RawJSON is JSON written as it is: a resource already serialized (e.g. an
// existing Task with the elements utilreview owns rewritten).
type RawJSON []byte

// AppendJSON appends the bytes.
func (r RawJSON) AppendJSON(b []byte) []byte { return append(b, r...) }

// Coding is a code from a code system.
type Coding struct {
	System  string
	Code    string
	Display string
}

// IsZero reports whether the coding has nothing to write.
func (c Coding) IsZero() bool { return c.System == "" && c.Code == "" && c.Display == "" }

// AppendJSON appends the coding as a JSON object.
func (c Coding) AppendJSON(b []byte) []byte {
	o := openObject(b)
	o.str("system", c.System)
	o.str("code", c.Code)
	o.str("display", c.Display)
	return o.close()
}

// CodeableConcept is a concept given by codings and/or text.
type CodeableConcept struct {
	Coding []Coding
	Text   string
}

// IsZero reports whether the concept has nothing to write.
func (c CodeableConcept) IsZero() bool {
	if c.Text != "" {
		return false
	}
	for _, cd := range c.Coding {
		if !cd.IsZero() {
			return false
		}
	}
	return true
}

// AppendJSON appends the concept as a JSON object; empty codings are left out.
func (c CodeableConcept) AppendJSON(b []byte) []byte {
	o := openObject(b)
	n := 0
	for _, cd := range c.Coding {
		if cd.IsZero() {
			continue
		}
		if n == 0 {
			o.key("coding")
			o.b = append(o.b, '[')
		} else {
			o.b = append(o.b, ',')
		}
		o.b = cd.AppendJSON(o.b)
		n++
	}
	if n > 0 {
		o.b = append(o.b, ']')
	}
	o.str("text", c.Text)
	return o.close()
}

// Concept is a CodeableConcept with one coding, the common case.
func Concept(system, code, display string) CodeableConcept {
	return CodeableConcept{Coding: []Coding{{System: system, Code: code, Display: display}}}
}

// Identifier is a business identifier.
type Identifier struct {
	System string
	Value  string
}

// IsZero reports whether the identifier has nothing to write.
func (id Identifier) IsZero() bool { return id.System == "" && id.Value == "" }

// AppendJSON appends the identifier as a JSON object.
func (id Identifier) AppendJSON(b []byte) []byte {
	o := openObject(b)
	o.str("system", id.System)
	o.str("value", id.Value)
	return o.close()
}

// Token is the identifier as a search token "system|value", as used in
// conditional creates (If-None-Exist: identifier=<token>).
func (id Identifier) Token() string { return id.System + "|" + id.Value }

// Reference points at another resource: a literal reference ("Type/id" or an
// absolute URL), a logical one (Identifier, with Type), or only a display.
type Reference struct {
	Reference  string
	Type       string
	Identifier Identifier
	Display    string
}

// IsZero reports whether the reference has nothing to write.
func (r Reference) IsZero() bool {
	return r.Reference == "" && r.Identifier.IsZero() && r.Display == ""
}

// AppendJSON appends the reference as a JSON object.
func (r Reference) AppendJSON(b []byte) []byte {
	o := openObject(b)
	o.str("reference", r.Reference)
	o.str("type", r.Type)
	if !r.Identifier.IsZero() {
		o.key("identifier")
		o.b = r.Identifier.AppendJSON(o.b)
	}
	o.str("display", r.Display)
	return o.close()
}

// Period is a time range; a zero end is open.
type Period struct {
	Start time.Time
	End   time.Time
}

// IsZero reports whether the period has nothing to write.
func (p Period) IsZero() bool { return !ValidDateTime(p.Start) && !ValidDateTime(p.End) }

// AppendJSON appends the period as a JSON object.
func (p Period) AppendJSON(b []byte) []byte {
	o := openObject(b)
	o.dateTime("start", p.Start)
	o.dateTime("end", p.End)
	return o.close()
}

// dateTimeLayout writes seconds precision with the numeric offset of the
// time's location, as FHIR dateTime and instant require when there is a time.
const dateTimeLayout = "2006-01-02T15:04:05-07:00"

// dateLayout writes a FHIR date: the calendar day, no time and no offset.
const dateLayout = "2006-01-02"

// ValidDateTime reports whether t can be written as a FHIR dateTime: not
// zero and with a four-digit year.
func ValidDateTime(t time.Time) bool {
	if t.IsZero() {
		return false
	}
	y := t.Year()
	return y >= 1 && y <= 9999
}

// AppendDateTime appends t as a FHIR dateTime with seconds precision and the
// offset of t's location (pass t.In(facility) to write facility time).
func AppendDateTime(b []byte, t time.Time) []byte {
	return t.AppendFormat(b, dateTimeLayout)
}

// FormatDateTime is AppendDateTime to a string; "" for a time that cannot be written.
func FormatDateTime(t time.Time) string {
	if !ValidDateTime(t) {
		return ""
	}
	var buf [32]byte
	return string(AppendDateTime(buf[:0], t))
}

// object appends the members of one JSON object. Helpers skip empty values,
// so no empty string, object or array is ever written.
type object struct {
	b     []byte
	empty bool
}

func openObject(b []byte) object { return object{b: append(b, '{'), empty: true} }

func (o *object) close() []byte { return append(o.b, '}') }

// key writes the member name and colon (the name is a known ASCII literal).
func (o *object) key(k string) {
	if !o.empty {
		o.b = append(o.b, ',')
	}
	o.empty = false
	o.b = append(o.b, '"')
	o.b = append(o.b, k...)
	o.b = append(o.b, '"', ':')
}

func (o *object) str(k, v string) {
	if v == "" {
		return
	}
	o.key(k)
	o.b = AppendString(o.b, v)
}

func (o *object) integer(k string, v int) {
	o.key(k)
	o.b = strconv.AppendInt(o.b, int64(v), 10)
}

func (o *object) boolean(k string, v bool) {
	o.key(k)
	o.b = strconv.AppendBool(o.b, v)
}

func (o *object) dateTime(k string, t time.Time) {
	if !ValidDateTime(t) {
		return
	}
	o.key(k)
	o.b = append(o.b, '"')
	o.b = AppendDateTime(o.b, t)
	o.b = append(o.b, '"')
}

// value writes a nested element that knows whether it is empty.
func (o *object) value(k string, v interface {
	JSONAppender
	IsZero() bool
}) {
	if v.IsZero() {
		return
	}
	o.key(k)
	o.b = v.AppendJSON(o.b)
}

func (o *object) ref(k string, r Reference) {
	if r.IsZero() {
		return
	}
	o.key(k)
	o.b = r.AppendJSON(o.b)
}

func (o *object) concept(k string, c CodeableConcept) {
	if c.IsZero() {
		return
	}
	o.key(k)
	o.b = c.AppendJSON(o.b)
}

// element is a complex value the writer leaves out when it is empty.
type element interface {
	IsZero() bool
	AppendJSON([]byte) []byte
}

// writeArray writes an array of elements, leaving out empty ones and the
// array itself when nothing is left (FHIR forbids empty arrays).
func writeArray[T element](o *object, k string, xs []T) {
	n := 0
	for _, x := range xs {
		if x.IsZero() {
			continue
		}
		if n == 0 {
			o.key(k)
			o.b = append(o.b, '[')
		} else {
			o.b = append(o.b, ',')
		}
		o.b = x.AppendJSON(o.b)
		n++
	}
	if n > 0 {
		o.b = append(o.b, ']')
	}
}

func (o *object) refs(k string, rs []Reference)           { writeArray(o, k, rs) }
func (o *object) concepts(k string, cs []CodeableConcept) { writeArray(o, k, cs) }
func (o *object) identifiers(k string, ids []Identifier)  { writeArray(o, k, ids) }

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD so
// that the output is always valid JSON; HTML characters are not escaped.
func AppendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, "\ufffd"...)
			i += size
			start = i
			continue
		}
		// U+2028 and U+2029 are valid JSON but break JavaScript readers.
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendDecimal appends a FHIR decimal; the caller has rejected NaN and infinities.
func appendDecimal(b []byte, f float64) []byte {
	return strconv.AppendFloat(b, f, 'f', -1, 64)
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
