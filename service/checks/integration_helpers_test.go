package checks_test

import (
	"testing"
	"time"

	"github.com/utilreview/utilreview/fhir"
	"github.com/utilreview/utilreview/service/checks"
	"github.com/utilreview/utilreview/service/facts"
	"github.com/utilreview/utilreview/service/rules"
)

// reviewOn reads FHIR files, builds facts (failing on any input problem) and
// runs the engine with the shipped rule sets, keeping the findings of the
// checks whose Definition is on "encounter" or "claim".
func reviewOn(t testing.TB, on string, asOf time.Time, paths ...string) []checks.Finding {
	t.Helper()
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	var res []*fhir.Resource
	if errs := fhir.NewReader().ReadPaths(paths, func(r *fhir.Resource) { res = append(res, r) }); len(errs) > 0 {
		t.Fatalf("reading: %v", errs)
	}
	set := facts.Build(res, facts.Options{Location: loc, NoPayer: rules.IsNoPayer})
	if len(set.Problems) > 0 {
		t.Fatalf("facts problems: %v", set.Problems)
	}
	reg, err := rules.LoadDefaults()
	if err != nil {
		t.Fatalf("shipped rules: %v", err)
	}
	keep := map[string]bool{}
	for _, d := range checks.Definitions() {
		if d.On == on {
			keep[d.ID] = true
		}
	}
	if len(keep) == 0 {
		t.Fatalf("no checks are on %q", on)
	}
	eng := checks.NewEngine(checks.Config{Location: loc, IdentifierSystem: "https://utilreview.example/task-id"}, reg)
	var out []checks.Finding
	for _, p := range set.Patients {
		for _, f := range eng.Review(p, asOf) {
			if keep[f.Check] {
				out = append(out, f)
			}
		}
	}
	return out
}
