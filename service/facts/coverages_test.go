package facts

import (
	"testing"
	"time"

	"github.com/utilreview/utilreview/fhir"
)

// coveragesBundle: a stay billed to a commercial plan with Medicare as the
// secondary insurance on its claim; a stay with only a standalone Medicare
// Coverage (Coverage.order 2) beside a primary commercial one; a stay after
// the secondary Coverage ended.
const coveragesBundle = `{"resourceType":"Bundle","type":"collection","entry":[
{"resource":{"resourceType":"Patient","id":"p"}},
{"resource":{"resourceType":"Organization","id":"acme","name":"Acme Health Plan","identifier":[{"system":"urn:example:payer","value":"ACME"}]}},
{"resource":{"resourceType":"Organization","id":"cms","name":"Medicare Part A"}},
{"resource":{"resourceType":"Coverage","id":"cov-acme","status":"active","beneficiary":{"reference":"Patient/p"},"payor":[{"reference":"Organization/acme"}],"order":1,"period":{"start":"2020-01-01"}}},
{"resource":{"resourceType":"Coverage","id":"cov-mcr","status":"active","beneficiary":{"reference":"Patient/p"},"payor":[{"reference":"Organization/cms"}],"order":2,"period":{"start":"2024-01-01","end":"2024-12-31"}}},
{"resource":{"resourceType":"Encounter","id":"e-claim","status":"finished","class":{"code":"IMP"},"subject":{"reference":"Patient/p"},"period":{"start":"2023-03-01T10:00:00Z","end":"2023-03-04T10:00:00Z"}}},
{"resource":{"resourceType":"Claim","id":"c","status":"active","use":"claim","type":{"coding":[{"code":"institutional"}]},"patient":{"reference":"Patient/p"},"created":"2023-03-05","provider":{"display":"H"},"priority":{"coding":[{"code":"normal"}]},
 "insurance":[{"sequence":1,"focal":true,"coverage":{"display":"Acme Health Plan"}},{"sequence":2,"focal":false,"coverage":{"display":"medicare"}}],
 "item":[{"sequence":1,"productOrService":{"coding":[{"code":"99221"}]},"encounter":[{"reference":"Encounter/e-claim"}]}]}},
{"resource":{"resourceType":"Encounter","id":"e-cov","status":"finished","class":{"code":"IMP"},"subject":{"reference":"Patient/p"},"period":{"start":"2024-03-01T10:00:00Z","end":"2024-03-04T10:00:00Z"}}},
{"resource":{"resourceType":"Encounter","id":"e-after","status":"finished","class":{"code":"IMP"},"subject":{"reference":"Patient/p"},"period":{"start":"2025-03-01T10:00:00Z","end":"2025-03-04T10:00:00Z"}}}
]}`

// TestEncounterCoverages: every coverage in force during the stay is
// listed, the stay's payer first, so that a secondary Medicare coverage is
// seen (42 CFR 405.1205(b): the Important Message follows the beneficiary).
func TestEncounterCoverages(t *testing.T) {
	var res []*fhir.Resource
	if errs := fhir.NewReader().ReadBytes("coverages.json", []byte(coveragesBundle), func(r *fhir.Resource) { res = append(res, r) }); len(errs) > 0 {
		t.Fatal(errs)
	}
	set := Build(res, Options{Location: time.UTC, NoPayer: noInsurance})
	noProblems(t, set)
	encs := encounters(set)
	tests := []struct {
		ref  string
		want []string // Payer.Label of each coverage, in order
	}{
		// The claim's focal insurance is the stay's payer; its secondary
		// insurance follows; the 2020 Acme Coverage is the same payer.
		{"Encounter/e-claim", []string{"Acme Health Plan", "medicare"}},
		// No claim: the primary Coverage is the payer, the secondary
		// Medicare Coverage in force in 2024 follows (Coverage.order).
		{"Encounter/e-cov", []string{"Acme Health Plan", "Medicare Part A"}},
		// The Medicare Coverage ended before this stay.
		{"Encounter/e-after", []string{"Acme Health Plan"}},
	}
	for _, tt := range tests {
		e := encs[tt.ref]
		if e == nil {
			t.Fatalf("%s missing", tt.ref)
		}
		var got []string
		for _, p := range e.Coverages {
			got = append(got, p.Label())
		}
		if len(got) == 0 || e.Coverages[0] != e.Payer {
			t.Errorf("%s: the stay's payer must come first: %v", tt.ref, got)
		}
		if len(got) != len(tt.want) {
			t.Errorf("%s: coverages %q, want %q", tt.ref, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("%s: coverages %q, want %q", tt.ref, got, tt.want)
				break
			}
		}
	}
	c := claims(set)["Claim/c"]
	if c == nil || len(c.Coverages) != 2 || c.Coverages[1].Display != "medicare" {
		t.Errorf("claim coverages: got %+v, want the focal Acme and the secondary medicare", c)
	}
}

func TestPayerLabelAndSame(t *testing.T) {
	org := &Payer{OrganizationRef: "Organization/a", Name: "Acme", Identifiers: []Identifier{{"urn:x", "1"}}}
	tests := []struct {
		name  string
		a, b  *Payer
		same  bool
		label string // a's label
	}{
		{"same organization", org, &Payer{OrganizationRef: "Organization/a"}, true, "Acme"},
		{"shared identifier", org, &Payer{Identifiers: []Identifier{{"urn:x", "1"}}, Display: "A"}, true, "Acme"},
		{"other organizations", org, &Payer{OrganizationRef: "Organization/b", Name: "Acme"}, false, "Acme"},
		{"display text, case-insensitive", &Payer{Display: "medicare"}, &Payer{Name: "Medicare"}, true, "medicare"},
		{"identifier only", &Payer{Identifiers: []Identifier{{"urn:x", "2"}}}, &Payer{Display: "x"}, false, "2"},
		{"nil", nil, org, false, ""},
	}
	for _, tt := range tests {
		if got := tt.a.Same(tt.b); got != tt.same {
			t.Errorf("%s: Same = %v, want %v", tt.name, got, tt.same)
		}
		if got := tt.a.Label(); got != tt.label {
			t.Errorf("%s: Label = %q, want %q", tt.name, got, tt.label)
		}
	}
}
