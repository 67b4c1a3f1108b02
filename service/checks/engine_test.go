package checks

import (
	"testing"

	"github.com/utilreview/utilreview/service/facts"
	"github.com/utilreview/utilreview/service/rules"
)

// Since leaves out stays and claims that ended before it, while older stays
// still serve as history (the index stay of a readmission).
func TestEngineSince(t *testing.T) {
	t.Parallel()
	old := enStay(t, "old", "IMP 2026-01-05T10:00 2026-01-06T09:00") // one midnight: two-midnight
	index := enStay(t, "index", "IMP 2026-02-01T10:00 2026-02-04T09:00")
	re := enStay(t, "re", "IMP 2026-02-20T10:00 2026-02-23T09:00") // readmitted 16 days after index
	p := enPatient(old, index, re)
	oldClaim := &facts.Claim{Ref: "Claim/old", Key: "Claim/old", Patient: p, Status: "active", Use: "claim",
		Created: enAt(t, "2025-01-10T10:00"), BillableEnd: enAt(t, "2025-01-02T00:00")}
	p.Claims = []*facts.Claim{oldClaim}

	cases := []struct {
		name     string
		since    string
		want     []string // focus + check that must be raised
		wantNone []string // focus refs that must raise nothing
	}{
		{"everything", "", []string{"Encounter/old two-midnight", "Encounter/re readmission-30d", "Claim/old timely-filing"}, nil},
		{"since February", "2026-02-10T00:00", []string{"Encounter/re readmission-30d"}, []string{"Encounter/old", "Encounter/index", "Claim/old"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := Config{Location: enLoc(t)}
			if c.since != "" {
				cfg.Since = enAt(t, c.since)
			}
			eng := NewEngine(cfg, enRules{rs: enMedicareWithClaims(), matched: true})
			got := map[string]bool{}
			byFocus := map[string]int{}
			for _, f := range eng.Review(p, enAt(t, "2026-03-01T12:00")) {
				got[f.FocusRef+" "+f.Check] = true
				byFocus[f.FocusRef]++
			}
			for _, w := range c.want {
				if !got[w] {
					t.Errorf("missing %s; got %v", w, got)
				}
			}
			for _, ref := range c.wantNone {
				if byFocus[ref] > 0 {
					t.Errorf("got %d findings on %s, want none before Since", byFocus[ref], ref)
				}
			}
		})
	}
}

// enMedicareWithClaims is the encounter tests' Medicare rule set with timely
// filing on, so that one claim check shows Since applies to claims too.
func enMedicareWithClaims() *rules.RuleSet {
	rs := enMedicare()
	rs.Checks.TimelyFiling.Enabled = true
	rs.Checks.TimelyFiling.LimitDays = 365
	rs.Checks.TimelyFiling.WarningDays = 30
	return rs
}

// A review closed by a clinician no longer holds the stay's claim.
func TestEngineClosedReviewReleasesClaim(t *testing.T) {
	t.Parallel()
	short := enStay(t, "short", "IMP 2026-02-01T10:00 2026-02-02T09:00") // two-midnight
	p := enPatient(short)
	claim := &facts.Claim{Ref: "Claim/c", Key: "Claim/c", Patient: p, Status: "active", Use: "claim", Type: "institutional",
		Created: enAt(t, "2026-02-03T10:00"), BillableEnd: enAt(t, "2026-02-02T09:00"), Encounters: []*facts.Encounter{short}}
	short.Claims = []*facts.Claim{claim}
	p.Claims = []*facts.Claim{claim}
	p.Tasks = []*facts.Task{{Ref: "Task/done", Status: "completed"}}
	rs := enMedicare()
	rs.Checks.ClaimBeforeDetermination.Enabled = true
	for _, closed := range []bool{false, true} {
		cfg := Config{Location: enLoc(t), Closed: func(*facts.Patient, *Finding) bool { return closed }}
		got := 0
		for _, f := range NewEngine(cfg, enRules{rs: rs, matched: true}).Review(p, enAt(t, "2026-02-05T12:00")) {
			if f.Check == CheckClaimBeforeDetermination {
				got++
			}
		}
		if want := map[bool]int{false: 1, true: 0}[closed]; got != want {
			t.Errorf("reviews closed %v: got %d claim-before-determination findings, want %d", closed, got, want)
		}
	}
}
