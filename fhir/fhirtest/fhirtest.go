// Package fhirtest checks FHIR R4 JSON in tests: against the official R4 JSON
// schema (the repository's copy, testdata/shared/schema/fhir.r4.schema.json
// under the module root) and against fhir.CheckConformance, which checks what
// the schema cannot see (required elements, exactly one value[x], no empty
// values).
package fhirtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/utilreview/utilreview/fhir"
)

// SchemaEnv names an environment variable that, when set, is the path of the
// R4 JSON schema to use instead of the repository's copy.
const SchemaEnv = "UTILREVIEW_FHIR_SCHEMA"

// SchemaRel is the repository's copy of the R4 JSON schema, relative to the
// module root (provenance in testdata/shared/PROVENANCE.md).
const SchemaRel = "testdata/shared/schema/fhir.r4.schema.json"

// maxMessage bounds one schema error's text: a failure inside a oneOf over
// every resource type lists each branch.
const maxMessage = 4000

// schemaSet compiles the schema lazily, one definition per resource type;
// the compiler is not safe for concurrent use, the compiled schemas are.
type schemaSet struct {
	mu     sync.Mutex
	c      *jsonschema.Compiler
	url    string
	byType map[string]*jsonschema.Schema
}

// loaded is per test binary: reading and parsing the 3 MB schema once is
// what keeps many small validations fast.
var loaded = sync.OnceValues(func() (*schemaSet, error) {
	path, err := findSchema()
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("fhirtest: open schema: %w", err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		return nil, fmt.Errorf("fhirtest: parse schema %s: %w", path, err)
	}
	c := jsonschema.NewCompiler()
	url := "file://" + filepath.ToSlash(path)
	if err := c.AddResource(url, doc); err != nil {
		return nil, fmt.Errorf("fhirtest: add schema: %w", err)
	}
	return &schemaSet{c: c, url: url, byType: make(map[string]*jsonschema.Schema)}, nil
})

// findSchema returns the schema's path: SchemaEnv when set, otherwise the
// repository's copy. It never looks outside the repository.
func findSchema() (string, error) {
	if p := os.Getenv(SchemaEnv); p != "" {
		return filepath.Abs(p)
	}
	root, err := moduleRoot()
	if err != nil {
		return "", fmt.Errorf("%w: %v; set %s", ErrNoSchema, err, SchemaEnv)
	}
	p := filepath.Join(root, filepath.FromSlash(SchemaRel))
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%w: %v; set %s", ErrNoSchema, err, SchemaEnv)
	}
	return p, nil
}

// moduleRoot returns the directory holding go.mod, found by walking up from
// the working directory (go test runs each package in its own directory).
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("fhirtest: working directory: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("fhirtest: no go.mod above the working directory")
		}
		dir = parent
	}
}

func (s *schemaSet) forType(resourceType string) (*jsonschema.Schema, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sch, ok := s.byType[resourceType]; ok {
		return sch, nil
	}
	sch, err := s.c.Compile(s.url + "#/definitions/" + resourceType)
	if err != nil {
		return nil, fmt.Errorf("fhirtest: compile schema for %s: %w", resourceType, err)
	}
	s.byType[resourceType] = sch
	return sch, nil
}

// Schema validates one resource's JSON against the R4 JSON schema definition
// of its resourceType; for a Bundle, each entry's resource is validated on
// its own first, so that an error names the entry instead of every branch of
// the schema's oneOf. It returns nil when the resource is valid.
func Schema(resource []byte) []error {
	set, err := loaded()
	if err != nil {
		return []error{err}
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(resource))
	if err != nil {
		return []error{fmt.Errorf("fhirtest: invalid JSON: %w", err)}
	}
	return set.validate(inst, "")
}

func (s *schemaSet) validate(inst any, path string) []error {
	m, ok := inst.(map[string]any)
	if !ok {
		return []error{fmt.Errorf("%snot a JSON object", prefix(path))}
	}
	rt, _ := m["resourceType"].(string)
	if rt == "" || strings.ContainsAny(rt, "/#~") {
		return []error{fmt.Errorf("%sresourceType missing or invalid", prefix(path))}
	}
	var errs []error
	if rt == "Bundle" {
		if entries, ok := m["entry"].([]any); ok {
			for i, e := range entries {
				em, _ := e.(map[string]any)
				if r, ok := em["resource"]; ok {
					errs = append(errs, s.validate(r, fmt.Sprintf("%sentry[%d].resource", prefix(path)+"Bundle.", i))...)
				}
			}
		}
		if len(errs) > 0 {
			return errs
		}
	}
	sch, err := s.forType(rt)
	if err != nil {
		return []error{err}
	}
	if err := sch.Validate(inst); err != nil {
		msg := err.Error()
		if len(msg) > maxMessage {
			msg = msg[:maxMessage] + " ..."
		}
		return []error{fmt.Errorf("%sschema: %s", prefix(path), msg)}
	}
	return nil
}

func prefix(path string) string {
	if path == "" {
		return ""
	}
	return path + ": "
}

// Problems returns every schema and conformance problem of the resource's JSON.
func Problems(resource []byte) []error {
	errs := Schema(resource)
	return append(errs, fhir.CheckConformance(resource)...)
}

// ValidateSchema fails t when the resource's JSON is not valid against the R4 JSON schema.
func ValidateSchema(t testing.TB, resource []byte) {
	t.Helper()
	for _, err := range Schema(resource) {
		t.Errorf("%s", err)
	}
}

// Conform fails t when the resource's JSON fails the R4 JSON schema or
// fhir.CheckConformance.
func Conform(t testing.TB, resource []byte) {
	t.Helper()
	errs := Problems(resource)
	for _, err := range errs {
		t.Errorf("%s", err)
	}
	if len(errs) > 0 {
		t.Logf("resource: %s", indent(resource))
	}
}

func indent(b []byte) string {
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return string(b)
	}
	return out.String()
}

// ErrNoSchema is returned (wrapped) when the schema file cannot be found.
var ErrNoSchema = errors.New("fhirtest: R4 JSON schema not found")
