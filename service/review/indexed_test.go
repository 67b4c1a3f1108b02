package review

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/utilreview/utilreview/fhir"
)

// indexedInputs are every test input of the repository (as in
// cmd/utilreview's TestReviewGolden).
var indexedInputs = []string{
	"../../testdata/examples",
	"../../testdata/fhir-server",
	filepath.Join(sharedData, "synthea"),
	filepath.Join(sharedData, "fhir-r4-examples"),
	filepath.Join(sharedData, "davinci"),
	"../../e2e/testdata",
	"../../handlers/testdata",
	"testdata/davinci-derived",
	"../facts/testdata",
	"../checks/testdata",
	"../../fhir/testdata/read",
	"../../cmd/utilreview/testdata/bad-input",
}

// summaryPrint adds the counts RunIndexed keeps instead of a Set.
func summaryPrint(res *Result) string {
	return fmt.Sprintf("patients=%d encounters=%d claims=%d skipped=%v later=%v", res.Patients, res.Encounters, res.Claims, res.Skipped, res.Later)
}

// TestIndexedSameAsRun: the two-pass review (issue 12: memory bounded by
// the largest patient) finds what the whole-input review finds, with the
// same input problems in the same order, over every test input, whether
// each group of resources is its own batch or all are one batch.
func TestIndexedSameAsRun(t *testing.T) {
	eachIndexedInput(t, func(t *testing.T, dir string, opt Options) {
		whole, err := Run(context.Background(), []string{dir}, opt)
		if err != nil {
			t.Fatal(err)
		}
		res := whole
		res.Set = nil
		want := fingerprintNoSet(t, res, opt) + summaryPrint(whole)
		for _, batch := range []int64{1, 0} {
			opt.BatchBytes = batch
			got, err := RunIndexed(context.Background(), []string{dir}, opt)
			if err != nil {
				t.Fatal(err)
			}
			if g := fingerprintNoSet(t, got, opt) + summaryPrint(got); g != want {
				t.Errorf("batch %d: indexed review differs from the whole one:\n%s", batch, firstLineDiff(want, g))
			}
		}
	})
}

// eachIndexedInput runs test over every test input, with the moot findings
// set apart and raised, at the README's clock.
func eachIndexedInput(t *testing.T, test func(t *testing.T, dir string, opt Options)) {
	for _, dir := range indexedInputs {
		for _, moot := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s-moot=%v", filepath.Base(dir), moot), func(t *testing.T) {
				opt := testOptions(t)
				opt.AsOf = time.Date(2026, 11, 20, 12, 0, 0, 0, opt.Location)
				opt.IncludeMoot = moot
				test(t, dir, opt)
			})
		}
	}
}

// TestPassOneFinds: what pass 1 keeps of a resource to group it: the
// references that can join (not "#id", conditional ones, or references to
// types that do not join), each once, and the identifiers by which it names
// a patient.
func TestPassOneFinds(t *testing.T) {
	raw := []byte(`{"resourceType":"Claim","patient":{"reference":"Patient/p1"},"provider":{"reference":"Organization/o1"},
	 "careTeam":[{"provider":{"reference":"Practitioner?identifier=x|1"}},{"provider":{"reference" : "Practitioner/9"}}],
	 "item":[{"encounter":[{"reference":"urn:uuid:e1"}]},{"encounter":[{"reference":"urn:uuid:e1"}]}],
	 "insurance":[{"coverage":{"reference":"#cov"}}],"x":{"reference":"http://h/fhir/Encounter/e2/_history/3"},
	 "contained":[{"resourceType":"Patient","identifier":[{"system":"s","value":"v"}]}]}`)
	got := references(raw)
	want := []string{"Patient/p1", "urn:uuid:e1", "http://h/fhir/Encounter/e2/_history/3"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("references = %q, want %q", got, want)
	}
	strong, weak := patientIdentifiers(&fhir.Resource{Type: "Claim", Raw: raw})
	if fmt.Sprint(strong) != "[s|v]" || weak != nil {
		t.Errorf("contained Patient: strong %q weak %q, want [s|v] and none", strong, weak)
	}
	logical := []byte(`{"resourceType":"Encounter","subject":{"display":"x","identifier":{"system":"mrn","value":"42"}},"serviceProvider":{"identifier":{"system":"npi","value":"7"}}}`)
	if strong, _ := patientIdentifiers(&fhir.Resource{Type: "Encounter", Raw: logical}); fmt.Sprint(strong) != "[mrn|42]" {
		t.Errorf("logical subject: %q, want [mrn|42] (the provider's identifier names no patient)", strong)
	}
	p := []byte(`{"resourceType":"Patient","identifier":[{"system":"mrn","value":"42"}]}`)
	if strong, weak := patientIdentifiers(&fhir.Resource{Type: "Patient", Raw: p}); strong == nil || weak != nil {
		t.Errorf("Patient without id: strong %q weak %q", strong, weak)
	}
	if strong, weak := patientIdentifiers(&fhir.Resource{Type: "Patient", ID: "p", Raw: p}); strong != nil || weak == nil {
		t.Errorf("Patient with id: strong %q weak %q", strong, weak)
	}
}
