package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// determinationRecord is a stay with a completed admission-review Task
// whose determination is pended (A4), owned by Practitioner/clerk.
const determinationRecord = `{"resourceType":"Bundle","type":"collection","entry":[
 {"resource":{"resourceType":"Patient","id":"p1"}},
 {"resource":{"resourceType":"Encounter","id":"e1","status":"in-progress","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"IMP"},
   "subject":{"reference":"Patient/p1"},"period":{"start":"2026-11-20T10:00:00-05:00"}}},
 {"resource":{"resourceType":"Coverage","id":"c1","status":"active","beneficiary":{"reference":"Patient/p1"},"payor":[{"display":"medicare"}]}},
 {"resource":{"resourceType":"Task","id":"t1","identifier":[{"system":"https://utilreview.dev/fhir/identifier/finding","value":"admission-review-x"}],
   "status":"completed","intent":"order","code":{"coding":[{"system":"https://utilreview.dev/fhir/CodeSystem/check","code":"admission-review"}]},
   "focus":{"reference":"Encounter/e1"},"for":{"reference":"Patient/p1"},"owner":{"reference":"Practitioner/clerk"},
   "executionPeriod":{"end":"2026-11-20T12:00:00-05:00"},
   "output":[{"type":{"coding":[{"code":"determination"}]},"valueCodeableConcept":{"coding":[{"system":"https://codesystem.x12.org/005010/306","code":"A4"}]}}]}}
]}`

// TestReviewersConfiguration: review and serve read the clinical reviewers
// from the same flags and variables (UTILREVIEW_REVIEWERS, _FILE): a
// completion outside them asks a reviewer to determine; with none
// configured every determination counts (here a pended one).
func TestReviewersConfiguration(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "record.json")
	if err := os.WriteFile(in, []byte(determinationRecord), 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "reviewers.txt")
	if err := os.WriteFile(file, []byte("# UR nurses\nPractitioner/nurse-1\nrole:physician-advisor\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"review", "--as-of", "2026-11-20T13:00:00-05:00", "--format", "ndjson", in}
	tests := []struct {
		name string
		env  map[string]string
		flag []string
		want string
	}{
		{"none: everyone's", nil, nil, `"check":"determination-pended"`},
		{"variable: the clerk is not a reviewer", map[string]string{"UTILREVIEW_REVIEWERS": "Practitioner/nurse-1"}, nil, `"check":"determination-reviewer"`},
		{"file", map[string]string{"UTILREVIEW_REVIEWERS_FILE": file}, nil, `"check":"determination-reviewer"`},
		{"flag: the clerk is", nil, []string{"--reviewers", "Practitioner/clerk"}, `"check":"determination-pended"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := append([]string{args[0]}, tt.flag...)
			a = append(a, args[1:]...)
			code, out, errOut := runCLI(t, tt.env, a...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if !strings.Contains(out, tt.want) {
				t.Errorf("output lacks %s:\n%s", tt.want, out)
			}
		})
	}
	if code, _, errOut := runCLI(t, map[string]string{"UTILREVIEW_REVIEWERS": "Patient/p1"}, args...); code != 2 || !strings.Contains(errOut, "--reviewers") {
		t.Errorf("a Patient as reviewer: exit %d, stderr %q; want 2 naming --reviewers", code, errOut)
	}
}
