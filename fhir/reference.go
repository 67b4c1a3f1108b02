package fhir

import "strings"

// Ref is a FHIR literal reference taken apart: the one parser of references
// that the reader, the facts, the writer and the live service share.
type Ref struct {
	// Base is what comes before Type/id in an absolute reference
	// ("https://ehr.example/fhir"), "" in a relative one.
	Base string
	// Type and ID name the resource ("Encounter", "e1").
	Type, ID string
	// Version is the version of a versioned reference (.../_history/3).
	Version string
	// URN is the whole reference when it is a urn:uuid: or urn:oid: one,
	// which names a Bundle entry by its fullUrl; Type and ID are then empty.
	URN string
	// Contained is the id of a contained resource ("#id"), without the "#".
	Contained string
}

// ParseReference reads a literal reference: relative ("Type/id",
// "Type/id/_history/v"), absolute ("<base>/Type/id", with or without
// _history), "urn:uuid:..."/"urn:oid:..." or contained ("#id"). ok is false
// for anything else (empty, whitespace, a type that is not a FHIR type name,
// an empty id).
func ParseReference(s string) (r Ref, ok bool) {
	if s == "" || strings.TrimSpace(s) != s || strings.ContainsAny(s, " \t\r\n?") {
		return Ref{}, false
	}
	if s[0] == '#' {
		if len(s) == 1 {
			return Ref{}, false
		}
		return Ref{Contained: s[1:]}, true
	}
	if strings.HasPrefix(s, "urn:uuid:") || strings.HasPrefix(s, "urn:oid:") {
		if len(s) == len("urn:uuid:") || strings.HasSuffix(s, ":") {
			return Ref{}, false
		}
		return Ref{URN: s}, true
	}
	parts := strings.Split(s, "/")
	n := len(parts)
	if n >= 4 && parts[n-2] == "_history" {
		r.Version = parts[n-1]
		if r.Version == "" {
			return Ref{}, false
		}
		parts, n = parts[:n-2], n-2
	}
	if n < 2 || !IsTypeName(parts[n-2]) || !IsID(parts[n-1]) {
		return Ref{}, false
	}
	r.Type, r.ID = parts[n-2], parts[n-1]
	if n > 2 {
		r.Base = strings.Join(parts[:n-2], "/")
		if !strings.Contains(r.Base, "://") {
			// "a/b/Type/id" without a scheme is not a reference FHIR defines.
			return Ref{}, false
		}
	}
	return r, true
}

// Relative is "Type/id", "" when the reference does not name a resource by
// type and id (urn, contained).
func (r Ref) Relative() string {
	if r.Type == "" {
		return ""
	}
	return r.Type + "/" + r.ID
}

// RelativeRef is ParseReference(s).Relative(): "Type/id" for a relative or
// absolute reference (versions dropped), "" otherwise.
func RelativeRef(s string) string {
	r, ok := ParseReference(s)
	if !ok {
		return ""
	}
	return r.Relative()
}

// IsTypeName reports whether s has the form of a FHIR resource type name: an
// upper-case ASCII letter, then ASCII letters.
func IsTypeName(s string) bool {
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// IsID reports whether s is a FHIR id: 1 to 64 of A-Z a-z 0-9 - and '.'.
func IsID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}
