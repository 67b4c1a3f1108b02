package checks

import (
	"strings"
	"testing"

	"github.com/utilreview/utilreview/service/facts"
)

func TestDuplicateClaimLine(t *testing.T) {
	t.Parallel()
	type want struct {
		claim   string // focus
		episode string
		other   string // duplicate-of-claim evidence, "" for the same claim
	}
	tests := []struct {
		name   string
		claims func() []*facts.Claim
		want   []want
	}{
		{"twice on one claim", func() []*facts.Claim {
			return []*facts.Claim{clClaim("a", "2025-03-05T10:00", clLine(1, "99213", "2025-03-04", 1), clLine(2, "99213", "2025-03-04", 1))}
		}, []want{{"Claim/a", "99213|2025-03-04|line-1|line-2", ""}}},
		{"twice on one draft claim", func() []*facts.Claim {
			c := clClaim("a", "2025-03-05T10:00", clLine(1, "99213", "2025-03-04", 1), clLine(2, "99213", "2025-03-04", 1))
			c.Status = "draft"
			return []*facts.Claim{c}
		}, []want{{"Claim/a", "99213|2025-03-04|line-1|line-2", ""}}},
		{"three times on one claim: each later line once", func() []*facts.Claim {
			return []*facts.Claim{clClaim("a", "2025-03-05T10:00", clLine(1, "99213", "2025-03-04", 1), clLine(2, "99213", "2025-03-04", 1), clLine(3, "99213", "2025-03-04", 1))}
		}, []want{{"Claim/a", "99213|2025-03-04|line-1|line-2", ""}, {"Claim/a", "99213|2025-03-04|line-1|line-3", ""}}},
		{"same code, different days", func() []*facts.Claim {
			return []*facts.Claim{clClaim("a", "2025-03-05T10:00", clLine(1, "99213", "2025-03-04", 1), clLine(2, "99213", "2025-03-05", 1))}
		}, nil},
		{"repeat modifier 76 on the second line", func() []*facts.Claim {
			return []*facts.Claim{clClaim("a", "2025-03-05T10:00", clLine(1, "71045", "2025-03-04", 1), clLine(2, "71045", "2025-03-04", 1, "76"))}
		}, nil},
		{"laterality on the first line (lower case)", func() []*facts.Claim {
			return []*facts.Claim{clClaim("a", "2025-03-05T10:00", clLine(1, "20610", "2025-03-04", 1, "rt"), clLine(2, "20610", "2025-03-04", 1))}
		}, nil},
		{"a modifier that is not exempt", func() []*facts.Claim {
			return []*facts.Claim{clClaim("a", "2025-03-05T10:00", clLine(1, "99213", "2025-03-04", 1, "25"), clLine(2, "99213", "2025-03-04", 1, "25"))}
		}, []want{{"Claim/a", "99213|2025-03-04|line-1|line-2", ""}}},
		{"two active claims: raised once, on the later", func() []*facts.Claim {
			return []*facts.Claim{
				clClaim("b", "2025-03-07T10:00", clLine(1, "99213", "2025-03-04", 1)),
				clClaim("a", "2025-03-05T10:00", clLine(3, "99213", "2025-03-04", 1)),
			}
		}, []want{{"Claim/b", "99213|2025-03-04|Claim/a", "Claim/a"}}},
		{"same creation time: the later reference", func() []*facts.Claim {
			return []*facts.Claim{
				clClaim("a", "2025-03-05T10:00", clLine(1, "99213", "2025-03-04", 1)),
				clClaim("b", "2025-03-05T10:00", clLine(1, "99213", "2025-03-04", 1)),
			}
		}, []want{{"Claim/b", "99213|2025-03-04|Claim/a", "Claim/a"}}},
		{"same code twice on the later claim: one finding for the pair of claims, one for the lines", func() []*facts.Claim {
			return []*facts.Claim{
				clClaim("a", "2025-03-05T10:00", clLine(1, "99213", "2025-03-04", 1)),
				clClaim("b", "2025-03-06T10:00", clLine(1, "99213", "2025-03-04", 1), clLine(2, "99213", "2025-03-04", 1)),
			}
		}, []want{{"Claim/b", "99213|2025-03-04|Claim/a", "Claim/a"}, {"Claim/b", "99213|2025-03-04|line-1|line-2", ""}}},
		{"replacement claim", func() []*facts.Claim {
			b := clClaim("b", "2025-03-06T10:00", clLine(1, "99213", "2025-03-04", 1))
			b.Replaces = []string{"Claim/a"}
			return []*facts.Claim{clClaim("a", "2025-03-05T10:00", clLine(1, "99213", "2025-03-04", 1)), b}
		}, nil},
		{"replaced claim named on the earlier one", func() []*facts.Claim {
			a := clClaim("a", "2025-03-05T10:00", clLine(1, "99213", "2025-03-04", 1))
			a.Replaces = []string{"Claim/b"}
			return []*facts.Claim{a, clClaim("b", "2025-03-06T10:00", clLine(1, "99213", "2025-03-04", 1))}
		}, nil},
		{"earlier claim cancelled", func() []*facts.Claim {
			a := clClaim("a", "2025-03-05T10:00", clLine(1, "99213", "2025-03-04", 1))
			a.Status = "cancelled"
			return []*facts.Claim{a, clClaim("b", "2025-03-06T10:00", clLine(1, "99213", "2025-03-04", 1))}
		}, nil},
		{"later claim a draft: not yet a duplicate of an active claim", func() []*facts.Claim {
			b := clClaim("b", "2025-03-06T10:00", clLine(1, "99213", "2025-03-04", 1))
			b.Status = "draft"
			return []*facts.Claim{clClaim("a", "2025-03-05T10:00", clLine(1, "99213", "2025-03-04", 1)), b}
		}, nil},
		{"other claim a preauthorization request", func() []*facts.Claim {
			a := clClaim("a", "2025-03-01T10:00", clLine(1, "99213", "2025-03-04", 1))
			a.Use = "preauthorization"
			return []*facts.Claim{a, clClaim("b", "2025-03-06T10:00", clLine(1, "99213", "2025-03-04", 1))}
		}, nil},
		{"different payers (coordination of benefits)", func() []*facts.Claim {
			b := clClaim("b", "2025-03-06T10:00", clLine(1, "99213", "2025-03-04", 1))
			b.Payer = &facts.Payer{OrganizationRef: "Organization/medicaid", Name: "State Medicaid"}
			return []*facts.Claim{clClaim("a", "2025-03-05T10:00", clLine(1, "99213", "2025-03-04", 1)), b}
		}, nil},
		{"one payer unknown: not told apart", func() []*facts.Claim {
			b := clClaim("b", "2025-03-06T10:00", clLine(1, "99213", "2025-03-04", 1))
			b.Payer = nil
			return []*facts.Claim{clClaim("a", "2025-03-05T10:00", clLine(1, "99213", "2025-03-04", 1)), b}
		}, []want{{"Claim/b", "99213|2025-03-04|Claim/a", "Claim/a"}}},
		{"exempt modifier on the other claim's line", func() []*facts.Claim {
			return []*facts.Claim{
				clClaim("a", "2025-03-05T10:00", clLine(1, "97110", "2025-03-04", 1, "59")),
				clClaim("b", "2025-03-06T10:00", clLine(1, "97110", "2025-03-04", 1)),
			}
		}, nil},
		{"CPT and HCPCS system, lower and upper case: the same code", func() []*facts.Claim {
			a := clClaim("a", "2025-03-05T10:00", clLine(1, "J1100", "2025-03-04", 1))
			b := clClaim("b", "2025-03-06T10:00", clLine(1, "j1100", "2025-03-04", 1))
			b.Lines[0].Codes[0].System = "cpt"
			return []*facts.Claim{a, b}
		}, []want{{"Claim/b", "J1100|2025-03-04|Claim/a", "Claim/a"}}},
		{"undated lines fall back to the billable period", func() []*facts.Claim {
			a := clClaim("a", "2025-03-05T10:00", clLine(1, "99213", "", 1))
			a.BillableStart = clAt("2025-03-04T09:00")
			b := clClaim("b", "2025-03-06T10:00", clLine(1, "99213", "2025-03-04", 1))
			return []*facts.Claim{a, b}
		}, []want{{"Claim/b", "99213|2025-03-04|Claim/a", "Claim/a"}}},
		// An exact duplicate is the same provider, claim type, code and date
		// (payer duplicate edits, CARC 18): a hospital's facility claim and
		// the physician's professional claim for one visit code are two
		// services, and so are two rendering providers' visits on one day.
		{"facility and professional claims for the same visit code", func() []*facts.Claim {
			b := clClaim("b", "2025-03-06T10:00", clLine(1, "99284", "2025-03-04", 1))
			b.Type, b.Provider = "professional", "Practitioner/dr-a"
			return []*facts.Claim{clClaim("a", "2025-03-05T10:00", clLine(1, "99284", "2025-03-04", 1)), b}
		}, nil},
		{"facility and professional claims, same billing provider", func() []*facts.Claim {
			b := clClaim("b", "2025-03-06T10:00", clLine(1, "99284", "2025-03-04", 1))
			b.Type = "professional"
			return []*facts.Claim{clClaim("a", "2025-03-05T10:00", clLine(1, "99284", "2025-03-04", 1)), b}
		}, nil},
		{"two professional claims of the same provider", func() []*facts.Claim {
			a := clClaim("a", "2025-03-05T10:00", clLine(1, "99213", "2025-03-04", 1))
			b := clClaim("b", "2025-03-06T10:00", clLine(1, "99213", "2025-03-04", 1))
			a.Type, b.Type = "professional", "professional"
			a.Provider, b.Provider = "Organization/group", "Organization/group"
			return []*facts.Claim{a, b}
		}, []want{{"Claim/b", "99213|2025-03-04|Claim/a", "Claim/a"}}},
		{"different billing providers", func() []*facts.Claim {
			b := clClaim("b", "2025-03-06T10:00", clLine(1, "99213", "2025-03-04", 1))
			b.Provider = "Organization/other-hospital"
			return []*facts.Claim{clClaim("a", "2025-03-05T10:00", clLine(1, "99213", "2025-03-04", 1)), b}
		}, nil},
		{"billing provider unknown on one claim: not told apart", func() []*facts.Claim {
			b := clClaim("b", "2025-03-06T10:00", clLine(1, "99213", "2025-03-04", 1))
			b.Provider = ""
			return []*facts.Claim{clClaim("a", "2025-03-05T10:00", clLine(1, "99213", "2025-03-04", 1)), b}
		}, []want{{"Claim/b", "99213|2025-03-04|Claim/a", "Claim/a"}}},
		{"two rendering providers on two claims", func() []*facts.Claim {
			a := clClaim("a", "2025-03-05T10:00", rendered(clLine(1, "99232", "2025-03-04", 1), "Practitioner/dr-a"))
			b := clClaim("b", "2025-03-06T10:00", rendered(clLine(1, "99232", "2025-03-04", 1), "Practitioner/dr-b"))
			a.Type, b.Type = "professional", "professional"
			return []*facts.Claim{a, b}
		}, nil},
		{"two rendering providers on one claim", func() []*facts.Claim {
			return []*facts.Claim{clClaim("a", "2025-03-05T10:00",
				rendered(clLine(1, "99232", "2025-03-04", 1), "Practitioner/dr-a"), rendered(clLine(2, "99232", "2025-03-04", 1), "Practitioner/dr-b"))}
		}, nil},
		{"one rendering provider twice on one claim", func() []*facts.Claim {
			return []*facts.Claim{clClaim("a", "2025-03-05T10:00",
				rendered(clLine(1, "99232", "2025-03-04", 1), "Practitioner/dr-a"), rendered(clLine(2, "99232", "2025-03-04", 1), "Practitioner/dr-a"))}
		}, []want{{"Claim/a", "99232|2025-03-04|line-1|line-2", ""}}},
		{"three lines, two rendering providers: the repeat of dr-a pairs with dr-a's line", func() []*facts.Claim {
			return []*facts.Claim{clClaim("a", "2025-03-05T10:00",
				rendered(clLine(1, "99232", "2025-03-04", 1), "Practitioner/dr-a"), rendered(clLine(2, "99232", "2025-03-04", 1), "Practitioner/dr-b"),
				rendered(clLine(3, "99232", "2025-03-04", 1), "Practitioner/dr-a"))}
		}, []want{{"Claim/a", "99232|2025-03-04|line-1|line-3", ""}}},
		{"SNOMED codes (Synthea) are not billing codes", func() []*facts.Claim {
			a := clClaim("a", "2025-03-05T10:00", facts.Line{Sequence: 1, Codes: []facts.Code{{System: "http://snomed.info/sct", Code: "185349003"}}})
			b := clClaim("b", "2025-03-05T11:00", facts.Line{Sequence: 1, Codes: []facts.Code{{System: "http://snomed.info/sct", Code: "185349003"}}})
			a.BillableStart, b.BillableStart = clAt("2025-03-04T09:00"), clAt("2025-03-04T09:00")
			return []*facts.Claim{a, b}
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := clPatient(nil, tt.claims()...)
			got := clFindings(clRun("2025-03-08T09:00", clSource(clMedicareRules())), p, CheckDuplicateClaimLine)
			if len(got) != len(tt.want) {
				for _, f := range got {
					t.Logf("got %s %s", f.FocusRef, f.Episode)
				}
				t.Fatalf("got %d findings, want %d", len(got), len(tt.want))
			}
			for i, w := range tt.want {
				f := got[i]
				clCommon(t, f, f.Claim)
				if f.FocusRef != w.claim || f.Episode != w.episode {
					t.Errorf("finding %d: %s %q, want %s %q", i, f.FocusRef, f.Episode, w.claim, w.episode)
				}
				other := clEvidence(f, EvDuplicateClaim)
				switch {
				case w.other == "" && len(other) != 0:
					t.Errorf("finding %d: duplicate-of-claim %v, want none", i, *other[0].Ref)
				case w.other != "" && (len(other) != 1 || *other[0].Ref != w.other):
					t.Errorf("finding %d: duplicate-of-claim %v, want %s", i, other, w.other)
				}
				if f.Owner != BillingTeam || f.Priority != Routine {
					t.Errorf("finding %d: owner %s priority %s", i, f.Owner, f.Priority)
				}
				// Worked before the later claim goes out: the day after its creation.
				if want := endOfDay(f.Claim.Created, 1, clLoc); !f.Due.Equal(want) {
					t.Errorf("finding %d: due %v, want %v", i, f.Due, want)
				}
			}
		})
	}
}

func TestDuplicateAcrossPatients(t *testing.T) {
	t.Parallel()
	// The index is per patient: the same service for two patients is no
	// duplicate, even when one run reviews both.
	r := clRun("2025-03-08T09:00", clSource(clMedicareRules()))
	p1 := clPatient(nil, clClaim("a", "2025-03-05T10:00", clLine(1, "99213", "2025-03-04", 1)))
	p2 := clPatient(nil, clClaim("b", "2025-03-06T10:00", clLine(1, "99213", "2025-03-04", 1)))
	p2.Ref, p2.Key = "Patient/p2", "Patient/p2"
	if got := clFindings(r, p1, CheckDuplicateClaimLine); len(got) != 0 {
		t.Errorf("patient 1: got %d findings, want 0", len(got))
	}
	if got := clFindings(r, p2, CheckDuplicateClaimLine); len(got) != 0 {
		t.Errorf("patient 2: got %d findings, want 0", len(got))
	}
}

func TestDuplicateDescription(t *testing.T) {
	t.Parallel()
	p := clPatient(nil,
		clClaim("a", "2025-03-05T10:00", clLine(1, "99213", "2025-03-04", 1)),
		clClaim("b", "2025-03-06T10:00", clLine(2, "99213", "2025-03-04", 1)))
	got := clFindings(clRun("2025-03-08T09:00", clSource(clMedicareRules())), p, CheckDuplicateClaimLine)
	if len(got) != 1 {
		t.Fatalf("got %d findings, want 1", len(got))
	}
	for _, want := range []string{"Line 2 bills CPT 99213 on 2025-03-04", "line 1 of claim Claim/a", "59, 76, 77, 91"} {
		if !strings.Contains(got[0].Description, want) {
			t.Errorf("description %q lacks %q", got[0].Description, want)
		}
	}
}

// rendered sets a line's rendering provider.
func rendered(l facts.Line, ref string) facts.Line {
	l.Rendering = ref
	return l
}
