package review

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/utilreview/utilreview/service/checks"
	"github.com/utilreview/utilreview/service/facts"
)

// TestEveryFindingNamesItsPayer: issue 7 point 9. Every finding of a stay
// or claim with a payer names it in its evidence as the input does (the
// Organization's name, else the coverage text), beside the rule set
// applied, so that a nurse sees whose rules and deadlines apply on any
// Task, a claim edit as much as a notification.
func TestEveryFindingNamesItsPayer(t *testing.T) {
	t.Parallel()
	asOf := time.Date(2026, 11, 20, 12, 0, 0, 0, mustLoc(t, "America/New_York"))
	res := runPathsWith(t, asOf, true, filepath.Join("..", "..", "testdata", "examples"))
	named := 0
	for _, f := range append(res.Findings, res.Moot...) {
		var py *facts.Payer
		switch {
		case f.Claim != nil:
			py = f.Claim.Payer
		case f.Encounter != nil:
			py = f.Encounter.Payer
		}
		if py.Label() == "" {
			continue
		}
		var got []string
		for _, e := range f.Evidence {
			if e.Type == "payer" && e.String != nil {
				got = append(got, *e.String)
			}
		}
		if f.Check == checks.CheckPayerNotConfigured || len(got) == 1 && got[0] == py.Label() {
			named++
			continue
		}
		t.Errorf("%s %s: payer evidence %q, want [%q]", f.Check, f.FocusRef, got, py.Label())
	}
	if named < 20 {
		t.Errorf("only %d findings with a payer; the examples have more", named)
	}
}
