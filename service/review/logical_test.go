package review

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/utilreview/utilreview/fhir"
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

// TestPatientIdentifiersScanned: pass 1 looks for patient identifiers only
// where the reader's scan says they can be (fhir.Scan: the members naming a
// patient, the contained resources), and finds what a look at the whole
// resource finds: over every test input and over resources whose keys
// encoding/json matches in another spelling, repeated, escaped, or where an
// identifier object names no patient.
func TestPatientIdentifiersScanned(t *testing.T) {
	tricky := []string{
		`{"resourceType":"Encounter","id":"e1","serviceProvider":{"identifier":{"system":"npi","value":"7"}},"subject":{"reference":"Patient/p"}}`,
		`{"resourceType":"Encounter","id":"e2","Subject":{"identifier":{"system":"mrn","value":"1"}}}`,
		`{"resourceType":"Encounter","id":"e3","subject":{"identifier":{"system":"mrn","value":"2"}},"subject":{"display":"x"}}`,
		`{"resourceType":"Encounter","id":"e4","subj\u0065ct":{"identifier":{"system":"mrn","value":"3"}}}`,
		`{"resourceType":"Encounter","id":"e5","ſubject":{"identifier":{"system":"mrn","value":"4"}}}`,
		`{"resourceType":"Claim","id":"c1","contained":[{"resourceType":"Patient","id":"p","identifier":[{"system":"mrn","value":"5"}]},{"resourceType":"Coverage","id":"cv","beneficiary":{"identifier":{"system":"mrn","value":"6"}}}],"patient":{"reference":"#p"}}`,
		`{"resourceType":"Claim","id":"c2","Contained":[{"resourceType":"Patient","id":"p","identifier":[{"system":"mrn","value":"7"}]}]}`,
		`{"resourceType":"Task","id":"t1","for":{"type":"Patient","identifier":{"system":"mrn","value":"8"}},"owner":{"identifier":{"system":"npi","value":"9"}}}`,
	}
	dir := t.TempDir()
	var paths []string
	for i, raw := range tricky {
		p := filepath.Join(dir, fmt.Sprintf("r%d.json", i))
		if err := os.WriteFile(p, []byte(raw), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	files, _ := fhir.ListFiles(append(paths, indexedInputs...))
	reader := fhir.NewReader("-")
	found, whole := 0, 0
	for _, f := range files {
		reader.ReadFile(f, func(r *fhir.Resource) {
			if !r.Scan.Scanned {
				t.Errorf("%s: not scanned", r.Source)
			}
			if r.Scan.Folded {
				whole++
			}
			strong, weak := patientIdentifiers(r)
			all := *r
			all.Scan = fhir.Scan{}
			wantStrong, wantWeak := patientIdentifiers(&all)
			if fmt.Sprint(strong, weak) != fmt.Sprint(wantStrong, wantWeak) {
				t.Errorf("%s: %q %q, looking at the whole resource %q %q", r.Source, strong, weak, wantStrong, wantWeak)
			}
			found += len(strong)
		})
	}
	if found < 8 || whole < 4 {
		t.Errorf("%d strong identifiers found and %d resources looked at whole: the cases above have at least 8 and 4", found, whole)
	}
}
