package checks

import (
	"strings"
	"testing"
	"time"

	"github.com/utilreview/utilreview/service/facts"
	"github.com/utilreview/utilreview/service/rules"
)

func TestPriorAuthRequired(t *testing.T) {
	t.Parallel()
	inpatient := &facts.Encounter{Ref: "Encounter/ip", Key: "Encounter/ip", Status: "finished",
		Segments: []facts.Segment{{Class: "IMP", Start: clAt("2025-03-04T08:00"), End: clAt("2025-03-06T08:00")}}}
	outpatient := &facts.Encounter{Ref: "Encounter/op", Key: "Encounter/op", Status: "finished",
		Segments: []facts.Segment{{Class: "AMB", Start: clAt("2025-03-04T08:00"), End: clAt("2025-03-04T12:00")}}}

	tests := []struct {
		name      string
		claim     *facts.Claim
		asOf      string
		wantLines []int // flagged line sequences; nil: no finding
		wantDue   time.Time
		wantStat  string
	}{
		{
			name:      "CPT on the list, no authorization, service ahead",
			claim:     clClaim("c", "2025-03-01T10:00", clLine(1, "99213", "2025-03-04", 1), clLine(2, "64612", "2025-03-04", 1)),
			asOf:      "2025-03-02T09:00",
			wantLines: []int{2}, wantDue: clDay("2025-03-04"), wantStat: StatusAwaitingReview,
		},
		{
			name:      "date of service passed: overdue",
			claim:     clClaim("c", "2025-03-01T10:00", clLine(2, "64612", "2025-03-04", 1)),
			asOf:      "2025-03-04T00:01",
			wantLines: []int{2}, wantDue: clDay("2025-03-04"), wantStat: StatusOverdue,
		},
		{
			name:      "exactly at the start of the service day: due now, not yet overdue",
			claim:     clClaim("c", "2025-03-01T10:00", clLine(2, "64612", "2025-03-04", 1)),
			asOf:      "2025-03-04T00:00",
			wantLines: []int{2}, wantDue: clDay("2025-03-04"), wantStat: StatusDueSoon,
		},
		{
			name: "authorization number present",
			claim: func() *facts.Claim {
				c := clClaim("c", "2025-03-01T10:00", clLine(1, "64612", "2025-03-04", 1))
				c.PreAuthRefs = []string{"AUTH-123"}
				return c
			}(),
			asOf: "2025-03-02T09:00",
		},
		{
			name:  "code not on the list",
			claim: clClaim("c", "2025-03-01T10:00", clLine(1, "99213", "2025-03-04", 1)),
			asOf:  "2025-03-02T09:00",
		},
		{
			name:      "paired code with its partner on another line",
			claim:     clClaim("c", "2025-03-01T10:00", clLine(1, "J0585", "2025-03-04", 100), clLine(2, "64615", "2025-03-04", 1)),
			asOf:      "2025-03-02T09:00",
			wantLines: []int{1, 2}, wantDue: clDay("2025-03-04"), wantStat: StatusAwaitingReview,
		},
		{
			name:  "paired code without its partner",
			claim: clClaim("c", "2025-03-01T10:00", clLine(1, "J0585", "2025-03-04", 100), clLine(2, "99213", "2025-03-04", 1)),
			asOf:  "2025-03-02T09:00",
		},
		{
			name:      "last day of an entry's effective period",
			claim:     clClaim("c", "2024-12-20T10:00", clLine(1, "15820", "2024-12-31", 1)),
			asOf:      "2024-12-21T09:00",
			wantLines: []int{1}, wantDue: clDay("2024-12-31"), wantStat: StatusAwaitingReview,
		},
		{
			name:  "day after an entry's effective period",
			claim: clClaim("c", "2024-12-20T10:00", clLine(1, "15820", "2025-01-01", 1)),
			asOf:  "2024-12-21T09:00",
		},
		{
			name:      "first day of an entry's effective period",
			claim:     clClaim("c", "2023-06-20T10:00", clLine(1, "22551", "2023-07-01", 1)),
			asOf:      "2023-06-21T09:00",
			wantLines: []int{1}, wantDue: clDay("2023-07-01"), wantStat: StatusAwaitingReview,
		},
		{
			name:  "day before an entry takes effect",
			claim: clClaim("c", "2023-06-20T10:00", clLine(1, "22551", "2023-06-30", 1)),
			asOf:  "2023-06-21T09:00",
		},
		{
			name: "professional claim: outside the rule's claim types",
			claim: func() *facts.Claim {
				c := clClaim("c", "2025-03-01T10:00", clLine(1, "64612", "2025-03-04", 1))
				c.Type = "professional"
				return c
			}(),
			asOf: "2025-03-02T09:00",
		},
		{
			name: "claim for an inpatient stay: not an outpatient service",
			claim: func() *facts.Claim {
				c := clClaim("c", "2025-03-01T10:00", clLine(1, "64612", "2025-03-04", 1))
				c.Encounters = []*facts.Encounter{inpatient}
				return c
			}(),
			asOf: "2025-03-02T09:00",
		},
		{
			name: "claim for an outpatient visit",
			claim: func() *facts.Claim {
				c := clClaim("c", "2025-03-01T10:00", clLine(1, "64612", "2025-03-04", 1))
				c.Encounters = []*facts.Encounter{outpatient}
				return c
			}(),
			asOf:      "2025-03-02T09:00",
			wantLines: []int{1}, wantDue: clDay("2025-03-04"), wantStat: StatusAwaitingReview,
		},
		{
			name: "line without a date falls back to the billable period",
			claim: func() *facts.Claim {
				c := clClaim("c", "2025-03-01T10:00", clLine(1, "64612", "", 1))
				c.BillableStart = clAt("2025-03-05T07:30")
				return c
			}(),
			asOf:      "2025-03-02T09:00",
			wantLines: []int{1}, wantDue: clDay("2025-03-05"), wantStat: StatusAwaitingReview,
		},
		{
			name: "code in a non-billing system (SNOMED) is not matched",
			claim: func() *facts.Claim {
				c := clClaim("c", "2025-03-01T10:00", clLine(1, "64612", "2025-03-04", 1))
				c.Lines[0].Codes[0].System = "http://snomed.info/sct"
				return c
			}(),
			asOf: "2025-03-02T09:00",
		},
		{
			name: "HCPCS alias system URL for a CPT list entry",
			claim: func() *facts.Claim {
				c := clClaim("c", "2025-03-01T10:00", clLine(1, "64612", "2025-03-04", 1))
				c.Lines[0].Codes[0].System = "urn:oid:2.16.840.1.113883.6.285"
				return c
			}(),
			asOf:      "2025-03-02T09:00",
			wantLines: []int{1}, wantDue: clDay("2025-03-04"), wantStat: StatusAwaitingReview,
		},
		{
			name:      "earliest flagged date is the deadline",
			claim:     clClaim("c", "2025-03-01T10:00", clLine(1, "64612", "2025-03-09", 1), clLine(2, "64615", "2025-03-04", 1)),
			asOf:      "2025-03-02T09:00",
			wantLines: []int{1, 2}, wantDue: clDay("2025-03-04"), wantStat: StatusAwaitingReview,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := clPatient(nil, tt.claim)
			got := clFindings(clRun(tt.asOf, clSource(clMedicareRules())), p, CheckPriorAuthRequired)
			if tt.wantLines == nil {
				if len(got) != 0 {
					t.Fatalf("got %d findings, want none: %s", len(got), got[0].Description)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("got %d findings, want 1", len(got))
			}
			f := got[0]
			clCommon(t, f, tt.claim)
			var lines []int
			for _, e := range clEvidence(f, EvClaimLine) {
				lines = append(lines, *e.Int)
			}
			if !equalInts(lines, tt.wantLines) {
				t.Errorf("flagged lines %v, want %v", lines, tt.wantLines)
			}
			if !f.Due.Equal(tt.wantDue) || f.Status != tt.wantStat {
				t.Errorf("due %v status %s, want %v %s", f.Due, f.Status, tt.wantDue, tt.wantStat)
			}
			if f.Priority != Urgent || f.Owner != URTeam || f.Episode != tt.claim.Key {
				t.Errorf("priority %s owner %s episode %q, want urgent ur-team %q", f.Priority, f.Owner, f.Episode, tt.claim.Key)
			}
			if f.Communication == nil || f.Communication.Category != CategoryPriorAuthorization || f.Communication.Recipient != "Organization/cms" || f.Communication.Payload == "" {
				t.Errorf("communication %+v, want prior-authorization to Organization/cms", f.Communication)
			}
		})
	}
}

func TestPriorAuthDescription(t *testing.T) {
	t.Parallel()
	c := clClaim("c", "2025-03-01T10:00", clLine(2, "64612", "2025-03-04", 1))
	c.Payer = &facts.Payer{Display: "medicare"} // Synthea-style: no Organization
	got := clFindings(clRun("2025-03-02T09:00", clRules{def: clMedicareRules()}), clPatient(nil, c), CheckPriorAuthRequired)
	if len(got) != 1 {
		t.Fatalf("got %d findings, want 1", len(got))
	}
	want := "Line 2 bills CPT 64612 on 2025-03-04; Medicare fee-for-service requires prior authorization for this service (42 CFR 419.83) and the claim has no authorization number."
	if got[0].Description != want {
		t.Errorf("description\n got %q\nwant %q", got[0].Description, want)
	}
	// The recipient is the payer as the input names it (Synthea's coverage
	// display), not the rule set's name, which the evidence carries apart.
	if cm := got[0].Communication; cm.Recipient != "" || cm.RecipientDisplay != "medicare" {
		t.Errorf("recipient %q display %q, want no reference and the input's name medicare", cm.Recipient, cm.RecipientDisplay)
	}
	if v := evidenceString(got[0], "payer"); v != "medicare" {
		t.Errorf("payer evidence %q, want medicare", v)
	}
	if v := evidenceString(got[0], EvRuleSet); !strings.HasPrefix(v, "medicare-ffs@") {
		t.Errorf("rule-set evidence %q, want medicare-ffs@...", v)
	}
	if !strings.Contains(got[0].Communication.Payload, "64612") {
		t.Errorf("payload %q does not name the code", got[0].Communication.Payload)
	}
}

func TestPriorAuthRuleSwitches(t *testing.T) {
	t.Parallel()
	c := clClaim("c", "2025-03-01T10:00", clLine(1, "64612", "2025-03-04", 1))
	c.Type = "professional"
	enc := &facts.Encounter{Ref: "Encounter/ip", Key: "Encounter/ip", Segments: []facts.Segment{{Class: "IMP", Start: clAt("2025-03-04T08:00")}}}
	c.Encounters = []*facts.Encounter{enc}
	tests := []struct {
		name string
		mut  func(rs *rules.RuleSet)
		want int
	}{
		{"medicare limits: professional inpatient claim not checked", func(*rules.RuleSet) {}, 0},
		{"commercial payer: every claim type, inpatient too", func(rs *rules.RuleSet) {
			rs.Checks.PriorAuth.ClaimTypes = nil
			rs.Checks.PriorAuth.OutpatientOnly = false
		}, 1},
		{"switch off", func(rs *rules.RuleSet) {
			rs.Checks.PriorAuth = rules.PriorAuth{}
		}, 0},
		{"code list missing from the rule set", func(rs *rules.RuleSet) {
			rs.Checks.PriorAuth.ClaimTypes = nil
			rs.Checks.PriorAuth.OutpatientOnly = false
			rs.Checks.PriorAuth.CodeList = "no_such_list"
		}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rs := clMedicareRules()
			tt.mut(rs)
			cc := *c
			got := clFindings(clRun("2025-03-02T09:00", clSource(rs)), clPatient(nil, &cc), CheckPriorAuthRequired)
			if len(got) != tt.want {
				t.Errorf("got %d findings, want %d", len(got), tt.want)
			}
		})
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestPriorAuthRecipientIdentifier(t *testing.T) {
	t.Parallel()
	id := facts.Identifier{System: "urn:oid:2.16.840.1.113883.3.221.5", Value: "CMS"}
	c := clClaim("c", "2025-03-01T10:00", clLine(2, "64612", "2025-03-04", 1))
	c.Payer = &facts.Payer{Identifiers: []facts.Identifier{id}} // named by identifier, no Organization
	got := clFindings(clRun("2025-03-02T09:00", clRules{def: clMedicareRules()}), clPatient(nil, c), CheckPriorAuthRequired)
	if len(got) != 1 {
		t.Fatalf("got %d findings, want 1", len(got))
	}
	cm := got[0].Communication
	if cm.Recipient != "" || cm.RecipientIdentifier == nil || *cm.RecipientIdentifier != id || cm.RecipientDisplay == "" {
		t.Errorf("recipient %q identifier %+v display %q, want no reference, the payer's identifier and a display",
			cm.Recipient, cm.RecipientIdentifier, cm.RecipientDisplay)
	}
}
