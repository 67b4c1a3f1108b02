// Package fhir reads and writes FHIR R4 JSON: single resources, Bundles, NDJSON
// and directories of them; it resolves references between what it read and
// writes resources with exactly one value[x] per choice element.
package fhir

import (
	"encoding/json"
	"fmt"
)

// Source says where a resource or a problem was found in the input, precisely
// enough for a person to open the file and look.
type Source struct {
	File string // path as given on the command line (or a name for in-memory input)
	// Line is the 1-based line in an NDJSON file. In an InputError about
	// another file it is the line where the problem starts; otherwise 0.
	Line int
	// Entry is the 0-based index in Bundle.entry; -1 for a resource that is
	// not inside a Bundle.
	Entry int
	// Nested is 1 + the index in the entry list of a Bundle that is itself
	// the resource of entry Entry (a Bundle inside a Bundle, flattened by the
	// reader); 0 when the resource is not in a nested Bundle.
	Nested int
	// Contained is the id of a contained resource inside the resource above, if any.
	Contained string
}

func (s Source) String() string { return s.describe("") }

// describe is the place as String gives it, with ref ("Type/id" of the
// resource, or of the container of a contained one) before the contained
// id: "b.json entry 3 Claim/c1 contained #cov". Entries count from 0, as
// Bundle.entry indexes do.
func (s Source) describe(ref string) string {
	out := s.File
	if s.Line > 0 {
		out += fmt.Sprintf(":%d", s.Line)
	}
	if s.Entry >= 0 {
		out += fmt.Sprintf(" entry %d", s.Entry)
	}
	if s.Nested > 0 {
		out += fmt.Sprintf(" (inner Bundle entry %d)", s.Nested-1)
	}
	if ref != "" {
		out += " " + ref
	}
	if s.Contained != "" {
		out += " contained #" + s.Contained
	}
	return out
}

// Resource is one resource read from the input.
type Resource struct {
	Type    string // resourceType
	ID      string // Resource.id, may be empty
	FullURL string // Bundle.entry.fullUrl, may be empty
	Source  Source
	// Raw is the resource's JSON as read.
	Raw json.RawMessage
	// Offset is where Raw starts in the data given to ReadBytes (or to
	// ReadNDJSON, ReadResource): with a file's content, its byte offset in
	// the file, so that the resource can be read again alone (ReadResource).
	Offset int
	// Value is the decoded samply struct pointer (*fm.Encounter, *fm.Claim, ...)
	// for the types the reader was asked to decode; nil for the others.
	Value any
	// Contained holds the decoded contained resources, each with its own
	// Source (Contained set) and Value; they resolve as "#id" from this resource.
	Contained []*Resource
	// Scan is what the reader's scan of Raw found, decoded or not.
	Scan Scan

	// container is the resource this one is contained in (nil when it is not
	// contained), so that "#id" references between siblings resolve.
	container *Resource
}

// Scan locates members of a resource in its Raw, as the reader's
// validating scan met them, for callers that look into resources without
// decoding them (the indexed review's first pass): each span is [start, end)
// of the member's value in Raw, zero when absent. Only top-level resources
// have them.
type Scan struct {
	Contained [2]int // the "contained" array
	// Patient are the values of "subject", "patient", "beneficiary" and
	// "for", the members by which a resource names its patient.
	Patient [4][2]int
	// Folded is set when the spans may not be all there is: a key is
	// escaped, not ASCII, or one of these names in another case (which
	// encoding/json matches to the same field), or one of them is
	// repeated. Look at Raw whole then.
	Folded bool
	// Scanned is set by the reader: without it (a Resource made otherwise)
	// the spans say nothing.
	Scanned bool
}

// Container is the resource r is contained in, or nil.
func (r *Resource) Container() *Resource { return r.container }

// Ref is the resource's relative reference "Type/id", or "" without an id.
func (r *Resource) Ref() string {
	if r.ID == "" {
		return ""
	}
	return r.Type + "/" + r.ID
}

// InputError is a problem with one file, line or entry of the input. Reading
// goes on after it: the other entries and files are still read.
//
// Its text has one form: "file[:line] entry N Type/id: problem", the line
// for NDJSON and whole-file JSON, the entry (0-based) inside a Bundle, and
// Type/id when the resource's id is known (ids are not PHI; nothing else of
// the resource is quoted).
type InputError struct {
	Source Source
	// Ref is "Type/id" of the resource the problem is about, or of the
	// container of a contained one; "" when not known.
	Ref string
	Err error
}

func (e *InputError) Error() string { return e.Source.describe(e.Ref) + ": " + e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }
