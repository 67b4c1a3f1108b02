package review

import (
	"fmt"
	"testing"
)

// TestLogicalPatients: pass 1 joins a resource to a patient named by
// identifier alone exactly where facts reads one: subject, patient,
// beneficiary or for without a reference, in the resource or a contained
// one, whatever else the Reference holds.
func TestLogicalPatients(t *testing.T) {
	tests := []struct {
		name, raw string
		want      []string
	}{
		{"subject by identifier", `{"resourceType":"Encounter","subject":{"identifier":{"system":"mrn","value":"42"}}}`, []string{"mrn|42"}},
		{"an extension before the identifier", `{"resourceType":"Claim","patient":{"extension":[{"url":"x","valueString":"y"}],"type":"Patient","identifier":{"system":"mrn","value":"7"}}}`, []string{"mrn|7"}},
		{"a reference wins", `{"resourceType":"Encounter","subject":{"reference":"Patient/p","identifier":{"system":"mrn","value":"42"}}}`, nil},
		{"no value", `{"resourceType":"Encounter","subject":{"identifier":{"system":"mrn"}}}`, nil},
		{"the provider's identifier names no patient", `{"resourceType":"Encounter","serviceProvider":{"identifier":{"system":"npi","value":"7"}}}`, nil},
		{"a resource's own identifiers", `{"resourceType":"Claim","identifier":[{"system":"s","value":"v"}],"patient":{"reference":"Patient/p"}}`, nil},
		{"in a contained resource", `{"resourceType":"Task","contained":[{"resourceType":"Coverage","beneficiary":{"identifier":{"system":"m","value":"1"}}}],"for":{"identifier":{"system":"m","value":"2"}}}`, []string{"m|2", "m|1"}},
		{"another shape is skipped, the rest read", `{"resourceType":"X","subject":"text","patient":{"identifier":{"system":"m","value":"3"}}}`, []string{"m|3"}},
	}
	for _, tt := range tests {
		if got := logicalPatients([]byte(tt.raw)); fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}
