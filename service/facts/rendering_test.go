package facts

import (
	"testing"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/utilreview/utilreview/fhir"
)

// TestRenderingProvider: a line's rendering provider is the careTeam member
// its careTeamSequence names (the primary one among several), else the
// claim's one primary member, else its only member; "" when ambiguous. The
// duplicate-line edit compares it (two rendering providers on one day are
// two services).
func TestRenderingProvider(t *testing.T) {
	str := func(s string) *string { return &s }
	member := func(seq int, ref, role string) fm.ClaimCareTeam {
		m := fm.ClaimCareTeam{Sequence: seq, Provider: fm.Reference{Reference: str(ref)}}
		if role != "" {
			m.Role = &fm.CodeableConcept{Coding: []fm.Coding{{Code: str(role)}}}
		}
		return m
	}
	tests := []struct {
		name  string
		team  []fm.ClaimCareTeam
		items [][]int // careTeamSequence of each item
		want  []string
	}{
		{"item names its member", []fm.ClaimCareTeam{member(1, "Practitioner/a", "primary"), member(2, "Practitioner/b", "primary")},
			[][]int{{1}, {2}}, []string{"Practitioner/a", "Practitioner/b"}},
		{"item names two: the primary", []fm.ClaimCareTeam{member(1, "Practitioner/a", "assist"), member(2, "Practitioner/b", "primary")},
			[][]int{{1, 2}}, []string{"Practitioner/b"}},
		{"item names two, no primary: the first", []fm.ClaimCareTeam{member(1, "Practitioner/a", "assist"), member(2, "Practitioner/b", "")},
			[][]int{{2, 1}}, []string{"Practitioner/a"}},
		{"no sequence: the claim's one primary", []fm.ClaimCareTeam{member(1, "Practitioner/a", "assist"), member(2, "Practitioner/b", "primary")},
			[][]int{nil}, []string{"Practitioner/b"}},
		{"no sequence: the claim's only member", []fm.ClaimCareTeam{member(1, "Practitioner/a", "")},
			[][]int{nil}, []string{"Practitioner/a"}},
		{"no sequence, two members, no primary: unknown", []fm.ClaimCareTeam{member(1, "Practitioner/a", ""), member(2, "Practitioner/b", "")},
			[][]int{nil}, []string{""}},
		{"no care team", nil, [][]int{nil}, []string{""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl := &fm.Claim{
				Status: fm.FinancialResourceStatusCodesActive, Use: fm.UseClaim, Created: "2025-03-05",
				Type: fm.CodeableConcept{Coding: []fm.Coding{{Code: str("professional")}}}, Patient: fm.Reference{Reference: str("Patient/p1")},
				Provider: fm.Reference{Reference: str("Organization/o")}, CareTeam: tt.team,
			}
			for i, seqs := range tt.items {
				cl.Item = append(cl.Item, fm.ClaimItem{Sequence: i + 1, CareTeamSequence: seqs, ServicedDate: str("2025-03-04"),
					ProductOrService: fm.CodeableConcept{Coding: []fm.Coding{{System: str("http://www.ama-assn.org/go/cpt"), Code: str("99213")}}}})
			}
			set := Build([]*fhir.Resource{{Type: "Claim", ID: "c1", Source: fhir.Source{File: "code", Entry: -1}, Value: cl}}, Options{})
			noProblems(t, set)
			c := claims(set)["Claim/c1"]
			if c == nil || len(c.Lines) != len(tt.want) {
				t.Fatalf("claim %+v", c)
			}
			for i, w := range tt.want {
				if c.Lines[i].Rendering != w {
					t.Errorf("line %d rendering %q, want %q", i+1, c.Lines[i].Rendering, w)
				}
			}
		})
	}
}
