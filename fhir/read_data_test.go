package fhir

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// sharedData is the repository's copy of the shared data set
// (testdata/shared/PROVENANCE.md); a test that needs it fails without it.
const sharedData = "../testdata/shared/data"

func sharedDir(t testing.TB, sub string) string {
	t.Helper()
	dir := filepath.Join(sharedData, sub)
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("shared data: %v", err)
	}
	return dir
}

// independentCounts counts resources per type by decoding into map[string]any,
// the way the reader should see them: Bundle entries (and the entries of a
// Bundle nested one level), contained resources of containers whose type the
// reader decodes, keyed "Type" and "Type (contained)".
func independentCounts(t *testing.T, r *Reader, data []byte) map[string]int {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("independent decode: %v", err)
	}
	counts := map[string]int{}
	var visit func(res map[string]any, depth int)
	visit = func(res map[string]any, depth int) {
		typ, _ := res["resourceType"].(string)
		if typ == "Bundle" && depth <= maxBundleDepth {
			entries, _ := res["entry"].([]any)
			for _, e := range entries {
				if inner, ok := e.(map[string]any)["resource"].(map[string]any); ok {
					visit(inner, depth+1)
				}
			}
			return
		}
		counts[typ]++
		if !r.Decodes(typ) {
			return
		}
		contained, _ := res["contained"].([]any)
		for _, c := range contained {
			ct, _ := c.(map[string]any)["resourceType"].(string)
			counts[ct+" (contained)"]++
		}
	}
	visit(doc, 0)
	return counts
}

func readerCounts(t *testing.T, r *Reader, name string, data []byte) map[string]int {
	t.Helper()
	counts := map[string]int{}
	errs := r.ReadBytes(name, data, func(res *Resource) {
		counts[res.Type]++
		checkValue(t, r, res)
		for _, c := range res.Contained {
			counts[c.Type+" (contained)"]++
			checkValue(t, r, c)
			if c.Container() != res || c.Source.Contained != c.ID {
				t.Errorf("%s: contained %s: container or Source.Contained not set", res.Source, c.ID)
			}
		}
	})
	for _, err := range errs {
		t.Errorf("%v", err)
	}
	return counts
}

// checkValue verifies that a decoded Value is the samply struct of its type
// with the same id, and that undecoded types have no Value.
func checkValue(t *testing.T, r *Reader, res *Resource) {
	t.Helper()
	if !r.Decodes(res.Type) {
		if res.Value != nil {
			t.Errorf("%s: %s has Value %T, want nil", res.Source, res.Type, res.Value)
		}
		return
	}
	v := reflect.ValueOf(res.Value)
	if v.Kind() != reflect.Pointer || v.Elem().Type().Name() != res.Type {
		t.Errorf("%s: Value is %T, want *fhir.%s", res.Source, res.Value, res.Type)
		return
	}
	id := v.Elem().FieldByName("Id")
	got := ""
	if !id.IsNil() {
		got = id.Elem().String()
	}
	if got != res.ID {
		t.Errorf("%s: Value id %q, Resource.ID %q", res.Source, got, res.ID)
	}
}

func TestReadSyntheaCounts(t *testing.T) {
	t.Parallel()
	dir := sharedDir(t, "synthea")
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Synthea files in %s: %v", dir, err)
	}
	r := NewReader()
	total := map[string]int{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		want := independentCounts(t, r, data)
		got := readerCounts(t, r, f, data)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: counts\n got %v\nwant %v", filepath.Base(f), got, want)
		}
		for k, n := range got {
			total[k] += n
		}
	}
	// SOURCES.md: 345 AMB + 37 EMER + 23 IMP encounters; no standalone
	// Coverage, one contained in each ExplanationOfBenefit.
	if total["Encounter"] != 405 {
		t.Errorf("Encounters: got %d, want 405", total["Encounter"])
	}
	if total["Coverage"] != 0 || total["Coverage (contained)"] != total["ExplanationOfBenefit"] {
		t.Errorf("Coverage: got %d standalone and %d contained for %d ExplanationOfBenefit, want 0 and one each",
			total["Coverage"], total["Coverage (contained)"], total["ExplanationOfBenefit"])
	}
}

// TestReadExamples reads the HL7 R4 and Da Vinci examples: every FHIR file
// reads and decodes; the only problems are the CDS Hooks files, which are
// JSON but not FHIR resources.
func TestReadExamples(t *testing.T) {
	t.Parallel()
	r := NewReader(resourceTypeNames()...) // decode every type samply knows
	for _, sub := range []string{"fhir-r4-examples", "davinci"} {
		dir := sharedDir(t, sub)
		var files []string
		err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, ".json") {
				files = append(files, p)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		sort.Strings(files)
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(f, "crd-hooks") {
				errs := r.ReadBytes(f, data, func(*Resource) { t.Errorf("%s: emitted a resource from a CDS Hooks file", f) })
				var ie *InputError
				if len(errs) != 1 || !errors.As(errs[0], &ie) || ie.Err.Error() != "missing resourceType" {
					t.Errorf("%s: got errors %v, want one missing resourceType", f, errs)
				}
				continue
			}
			want := independentCounts(t, r, data)
			got := readerCounts(t, r, f, data)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s: counts\n got %v\nwant %v", f, got, want)
			}
		}
	}
}
