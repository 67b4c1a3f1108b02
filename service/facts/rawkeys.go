package facts

import "github.com/utilreview/utilreview/fhir"

// hasTopLevelKey reports whether the JSON object in raw has the key at its
// top level. It exists because samply's structs decode a missing required
// code (Encounter.status, Claim.status) as the enum's zero value, which is a
// real code ("planned", "active"): only the raw JSON tells that the element
// was absent. It scans bytes without allocating and stops at the key, so the
// cost is a small part of what decoding the resource already paid; callers
// ask only when the decoded value is the zero value.
func hasTopLevelKey(raw []byte, key string) bool {
	depth := 0
	expectKey := false
	for i := 0; i < len(raw); i++ {
		switch raw[i] {
		case '{':
			depth++
			expectKey = depth == 1
		case '[':
			depth++
		case '}', ']':
			depth--
		case ',':
			expectKey = depth == 1
		case '"':
			j := i + 1
			for j < len(raw) && raw[j] != '"' {
				if raw[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(raw) {
				return false
			}
			if depth == 1 && expectKey && string(raw[i+1:j]) == key {
				return true
			}
			expectKey = false
			i = j
		}
	}
	return false
}

// absent reports whether a top-level element is missing from the resource's
// JSON. Without Raw (a resource built in code) nothing is known to be
// missing, and the decoded value is trusted.
func absent(r *fhir.Resource, key string) bool {
	return len(r.Raw) > 0 && !hasTopLevelKey(r.Raw, key)
}
