package facts

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/utilreview/utilreview/fhir"
)

// sharedData is the repository's copy of the shared data set
// (testdata/shared/PROVENANCE.md).
const sharedData = "../../testdata/shared/data"

// readAll reads paths with the engine's reader; it fails the test when the
// data is missing.
func readAll(t *testing.T, paths ...string) ([]*fhir.Resource, []error) {
	t.Helper()
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("shared data: %v", err)
		}
	}
	var out []*fhir.Resource
	errs := fhir.NewReader().ReadPaths(paths, func(r *fhir.Resource) { out = append(out, r) })
	return out, errs
}

// noInsurance is how the shipped rule sets read Synthea's display text.
func noInsurance(d string) bool { return d == "no_insurance" }

// TestSyntheaBuilds: every Synthea file builds without a problem, and every
// inpatient stay has a payer display, or nil with Uninsured for
// "no_insurance".
func TestSyntheaBuilds(t *testing.T) {
	res, errs := readAll(t, filepath.Join(sharedData, "synthea"))
	if len(errs) > 0 {
		t.Fatalf("reader errors: %v", errs)
	}
	set := Build(res, Options{NoPayer: noInsurance})
	for _, p := range set.Problems {
		t.Errorf("problem: %v", p)
	}
	if got := len(set.Patients); got != 24 {
		t.Errorf("patients: got %d, want 24 (one per file)", got)
	}
	imp, withPayer, uninsured, withDiagnosis := 0, 0, 0, 0
	for _, p := range set.Patients {
		if p.Key == p.Ref {
			t.Errorf("patient %s: key is the reference, want the Synthea identifier", p.Ref)
		}
		for _, e := range p.Encounters {
			if e.Class != "IMP" {
				continue
			}
			imp++
			switch {
			case e.Payer != nil && e.Payer.Display != "":
				withPayer++
			case e.Payer == nil && e.Uninsured:
				uninsured++
			default:
				t.Errorf("%s: inpatient stay without payer (payer %+v)", e.Ref, e.Payer)
			}
			if len(e.Claims) == 0 {
				t.Errorf("%s: inpatient stay without claims", e.Ref)
			}
			if len(e.Segments) != 1 || e.Segments[0].Class != "IMP" || !e.Segments[0].Start.Equal(e.Start) {
				t.Errorf("%s: segments %+v, want one IMP segment from the start", e.Ref, e.Segments)
			}
			if len(e.Diagnoses) > 0 {
				withDiagnosis++
			}
		}
		for _, c := range p.Claims {
			if len(c.Encounters) == 0 && len(c.Lines) > 0 && len(c.Lines[0].Encounters) > 0 {
				t.Errorf("%s: item.encounter did not link", c.Ref)
			}
		}
	}
	if imp != 23 {
		t.Errorf("inpatient stays: got %d, want 23", imp)
	}
	if withDiagnosis == 0 {
		t.Errorf("no inpatient stay has a diagnosis")
	}
	if withPayer == 0 {
		t.Errorf("no inpatient stay has a payer display")
	}
	t.Logf("inpatient stays: %d, with payer display %d, uninsured %d, with diagnosis %d; read %v; skipped %v", imp, withPayer, uninsured, withDiagnosis, set.Read, set.Skipped)
}

// TestExamplesBuild: the HL7 and Da Vinci examples build without panics;
// their problems are InputErrors naming a source.
func TestExamplesBuild(t *testing.T) {
	res, _ := readAll(t, filepath.Join(sharedData, "fhir-r4-examples"), filepath.Join(sharedData, "davinci"))
	set := Build(res, Options{NoPayer: noInsurance})
	for _, p := range set.Problems {
		var ie *fhir.InputError
		if !errors.As(p, &ie) || ie.Source.File == "" {
			t.Errorf("problem without source: %v", p)
		}
	}
	total := 0
	for _, n := range set.Read {
		total += n
	}
	if total != len(res) {
		t.Errorf("read counts %d resources, want %d", total, len(res))
	}
	t.Logf("patients %d, problems %d", len(set.Patients), len(set.Problems))
	for _, p := range set.Problems {
		t.Logf("  %v", p)
	}
}
