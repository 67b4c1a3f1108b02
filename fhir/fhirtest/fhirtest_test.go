package fhirtest

import (
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
