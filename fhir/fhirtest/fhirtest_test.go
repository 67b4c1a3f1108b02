package fhirtest

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSchemaAndProblems(t *testing.T) {
	tests := []struct {
		name     string
		json     string
		schema   string // substring of the first schema error; "" for none
		problems int    // schema and conformance problems together
	}{
		{"valid Task", `{"resourceType":"Task","status":"requested","intent":"order"}`, "", 0},
		{"invalid JSON", `{"resourceType":`, "invalid JSON", 2},
		{"no resourceType", `{"status":"requested"}`, "resourceType missing", 2},
		{"not an object", `[]`, "not a JSON object", 2},
		{"unknown element", `{"resourceType":"Task","status":"requested","intent":"order","colour":"red"}`, "schema", 1},
		{"bad code", `{"resourceType":"Task","status":"finished","intent":"order"}`, "schema", 2},
		{"empty string", `{"resourceType":"Task","status":"requested","intent":"order","description":""}`, "schema", 2},
		{"bad entry names its entry", `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Task","status":"x","intent":"order"}}]}`,
			"Bundle.entry[0].resource", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := Schema([]byte(tt.json))
			if tt.schema == "" && len(errs) > 0 {
				t.Fatalf("schema: got %v, want none", errs)
			}
			if tt.schema != "" && (len(errs) == 0 || !strings.Contains(errs[0].Error(), tt.schema)) {
				t.Fatalf("schema: got %v, want an error containing %q", errs, tt.schema)
			}
			if got := Problems([]byte(tt.json)); len(got) != tt.problems {
				t.Errorf("problems: got %d %v, want %d", len(got), got, tt.problems)
			}
		})
	}
}

func TestFindSchemaFromEnv(t *testing.T) {
	t.Setenv(SchemaEnv, "does-not-matter.json")
	p, err := findSchema()
	if err != nil || !strings.HasSuffix(p, "does-not-matter.json") {
		t.Errorf("got %q, %v; want the path from %s", p, err, SchemaEnv)
	}
}

// TestFindSchemaRepoCopy: without SchemaEnv the schema is the repository's
// own copy, found from the package directory, never ../shared.
func TestFindSchemaRepoCopy(t *testing.T) {
	t.Setenv(SchemaEnv, "")
	p, err := findSchema()
	if err != nil {
		t.Fatal(err)
	}
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(root, filepath.FromSlash(SchemaRel)); p != want {
		t.Errorf("got %s, want %s", p, want)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(p), "..", "PROVENANCE.md")); err != nil {
		t.Errorf("the schema's copy has no provenance beside it: %v", err)
	}
}

// TestSharedCopyUnchanged checks the provenance's claim that
// testdata/shared holds files copied unchanged from ../shared, where
// ../shared is beside the checkout (CI, the developers' machines). Without
// it the test skips: the tests read only the repository's copy.
func TestSharedCopyUnchanged(t *testing.T) {
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	shared := filepath.Join(root, "..", "shared")
	if _, err := os.Stat(shared); err != nil {
		t.Skipf("no ../shared beside the checkout to compare with: %v", err)
	}
	copyRoot := filepath.Join(root, "testdata", "shared")
	files := 0
	err = filepath.WalkDir(copyRoot, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(copyRoot, p)
		if err != nil || rel == "PROVENANCE.md" {
			return err
		}
		mine, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		theirs, err := os.ReadFile(filepath.Join(shared, rel))
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			return nil
		}
		files++
		if !bytes.Equal(mine, theirs) {
			t.Errorf("%s differs from ../shared/%s: copy it again and update testdata/shared/PROVENANCE.md", rel, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 100 {
		t.Errorf("compared %d files, want the whole copy (over 100)", files)
	}
}
