package fhir

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// indexInput is synthetic: a RESTful Bundle with absolute fullUrls, a
// transaction Bundle with urn: fullUrls, and contained resources.
var indexInput = [...]string{`{"resourceType":"Bundle","type":"searchset","entry":[
 {"fullUrl":"http://a.example/fhir/Patient/1","resource":{"resourceType":"Patient","id":"1"}},
 {"fullUrl":"http://a.example/fhir/Practitioner/nid","resource":{"resourceType":"Practitioner"}},
 {"fullUrl":"http://a.example/fhir/Claim/c1/_history/4","resource":{"resourceType":"Claim","id":"c1",
   "contained":[{"resourceType":"Coverage","id":"cov","status":"active","beneficiary":{"reference":"#"},"payor":[{"reference":"#org"}]},
                {"resourceType":"Organization","id":"org"}]}}
]}`,
	`{"resourceType":"Bundle","type":"transaction","entry":[
 {"fullUrl":"urn:uuid:0d4c6f3e-8a1b-4c2d-9e5f-000000000001","resource":{"resourceType":"Encounter","id":"e1","status":"finished","class":{"code":"IMP"}}},
 {"fullUrl":"urn:oid:1.2.3.4","resource":{"resourceType":"Organization"}},
 {"fullUrl":"urn:uuid:0d4c6f3e-8a1b-4c2d-9e5f-000000000002","resource":{"resourceType":"Patient","id":"dup","gender":"male"}}
]}`,
	`{"resourceType":"Patient","id":"dup","gender":"female"}`,
}

func buildIndex(t testing.TB) (*Index, map[string]*Resource) {
	t.Helper()
	ix := NewIndex()
	byName := map[string]*Resource{}
	r := NewReader()
	for i, in := range indexInput {
		errs := r.ReadBytes(fmt.Sprintf("in%d.json", i+1), []byte(in), func(r *Resource) {
			ix.Add(r)
			byName[describeOrNil(r)] = r
			for _, c := range r.Contained {
				byName[describeOrNil(c)] = c
			}
		})
		if len(errs) != 0 {
			t.Fatalf("reading index input: %v", errs)
		}
	}
	return ix, byName
}

func TestResolve(t *testing.T) {
	t.Parallel()
	ix, res := buildIndex(t)
	claim := res["Claim/c1@in1.json entry 2"]
	practitioner := res["Practitioner/@in1.json entry 1"]
	coverage := res["Coverage/cov@in1.json entry 2 contained #cov"]
	org := res["Organization/org@in1.json entry 2 contained #org"]
	encounter := res["Encounter/e1@in2.json entry 0"]
	if claim == nil || practitioner == nil || coverage == nil || org == nil || encounter == nil {
		t.Fatalf("fixture did not read as expected: %v", res)
	}
	tests := []struct {
		ref  string
		from *Resource
		want string // key into res, "" for nil
	}{
		{"Patient/1", nil, "Patient/1@in1.json entry 0"},
		{"Patient/1/_history/2", nil, "Patient/1@in1.json entry 0"},
		{"http://a.example/fhir/Patient/1", nil, "Patient/1@in1.json entry 0"},
		{"http://a.example/fhir/Patient/1/_history/7", nil, "Patient/1@in1.json entry 0"},
		{"https://other.example/r4/Patient/1", nil, "Patient/1@in1.json entry 0"},
		{"http://a.example/fhir/Claim/c1/_history/4", nil, "Claim/c1@in1.json entry 2"},
		{"Claim/c1", nil, "Claim/c1@in1.json entry 2"},
		// No id: only the fullUrl knows it, absolute or relative to the Bundle's base.
		{"http://a.example/fhir/Practitioner/nid", nil, "Practitioner/@in1.json entry 1"},
		{"Practitioner/nid", claim, "Practitioner/@in1.json entry 1"},
		{"Practitioner/nid", coverage, "Practitioner/@in1.json entry 1"}, // from a contained resource: its container's base
		{"Practitioner/nid", nil, ""},
		{"Practitioner/nid", encounter, ""}, // urn:uuid fullUrl has no base
		{"urn:uuid:0d4c6f3e-8a1b-4c2d-9e5f-000000000001", nil, "Encounter/e1@in2.json entry 0"},
		{"urn:oid:1.2.3.4", nil, "Organization/@in2.json entry 1"},
		{"urn:uuid:0d4c6f3e-8a1b-4c2d-9e5f-00000000000f", nil, ""},
		// The last of two Patient/dup wins; the first still resolves by its fullUrl.
		{"Patient/dup", nil, "Patient/dup@in3.json"},
		{"urn:uuid:0d4c6f3e-8a1b-4c2d-9e5f-000000000002", nil, "Patient/dup@in2.json entry 2"},
		{"#cov", claim, "Coverage/cov@in1.json entry 2 contained #cov"},
		{"#org", coverage, "Organization/org@in1.json entry 2 contained #org"}, // sibling
		{"#", coverage, "Claim/c1@in1.json entry 2"},
		{"#missing", claim, ""},
		{"#cov", nil, ""},
		{"#cov", encounter, ""},
		{"Coverage/cov", nil, ""}, // contained resources are not global
		{"", claim, ""},
		{"Patient?identifier=http://x|1", nil, ""},
		{"Patient/", nil, ""},
		{"/", nil, ""},
		{"1", nil, ""},
		{"patient/1", nil, ""},
		{"http://a.example/fhir/Patient/404", nil, ""},
	}
	for _, tc := range tests {
		got := ix.Resolve(tc.ref, tc.from)
		want := res[tc.want]
		if tc.want != "" && want == nil {
			t.Fatalf("%q: bad test, no resource %q", tc.ref, tc.want)
		}
		if got != want {
			t.Errorf("Resolve(%q): got %v, want %s", tc.ref, describeOrNil(got), tc.want)
		}
	}
}

func describeOrNil(r *Resource) string {
	if r == nil {
		return "nil"
	}
	return r.Type + "/" + r.ID + "@" + r.Source.String()
}

func TestResolveDoesNotAllocate(t *testing.T) {
	ix, res := buildIndex(t)
	claim := res["Claim/c1@in1.json entry 2"]
	for _, ref := range []string{
		"Patient/1", "Patient/1/_history/2", "http://a.example/fhir/Patient/1", "https://other.example/Patient/1",
		"urn:uuid:0d4c6f3e-8a1b-4c2d-9e5f-000000000001", "#cov", "Patient/404",
	} {
		if n := testing.AllocsPerRun(100, func() { ix.Resolve(ref, claim) }); n != 0 {
			t.Errorf("Resolve(%q): %v allocations, want 0", ref, n)
		}
	}
}

func TestFullURLBase(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"http://a.example/fhir/Patient/1":               "http://a.example/fhir",
		"https://a.example/Patient/1/_history/3":        "https://a.example",
		"http://a.example/fhir/Patient/1/":              "http://a.example/fhir",
		"urn:uuid:0d4c6f3e-8a1b-4c2d-9e5f-000000000001": "",
		"http://a.example/fhir/metadata":                "",
		"":                                              "",
	}
	for in, want := range tests {
		if got := fullURLBase(in); got != want {
			t.Errorf("fullURLBase(%q): got %q, want %q", in, got, want)
		}
	}
}

// TestDuplicatesAcrossFiles: of two resources with the same Type/id in
// different files, the one read last (files in lexical order) wins, every run.
func TestDuplicatesAcrossFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for name, gender := range map[string]string{"b.json": "male", "a.json": "female", "sub/c.ndjson": "other"} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		data := `{"resourceType":"Patient","id":"dup","gender":"` + gender + `"}`
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for run := 0; run < 3; run++ {
		ix := NewIndex()
		if errs := NewReader().ReadPaths([]string{dir}, ix.Add); len(errs) != 0 {
			t.Fatal(errs)
		}
		got := ix.Resolve("Patient/dup", nil)
		if got == nil || filepath.ToSlash(got.Source.File) != filepath.ToSlash(filepath.Join(dir, "sub", "c.ndjson")) {
			t.Fatalf("run %d: Patient/dup from %v, want sub/c.ndjson (last in lexical order)", run, describeOrNil(got))
		}
	}
}
