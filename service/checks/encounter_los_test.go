package checks

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/utilreview/utilreview/service/facts"
	"github.com/utilreview/utilreview/service/rules"
)

func TestLOSExceedsGMLOS(t *testing.T) {
	t.Parallel()
	type want struct {
		episode string
		due     string
		owner   Owner
	}
	tests := []struct {
		name  string
		segs  []string
		asOf  string
		drg   string
		rs    func() *rules.RuleSet
		want  []want
		days  int
		words string
	}{
		{name: "3 days, GMLOS 3.9: below", segs: []string{"IMP 2026-03-02T10:00"}, asOf: "2026-03-05T12:00", drg: "291"},
		{name: "4 days reaches 3.9", segs: []string{"IMP 2026-03-02T10:00"}, asOf: "2026-03-06T00:00", drg: "291", days: 4,
			want: []want{{"urn:example:enc|g1", "2026-03-06T23:59:59", URTeam}}, words: "GMLOS for MS-DRG 291 is 3.9 days"},
		{name: "6 days reaches the escalation (5.85)", segs: []string{"IMP 2026-03-02T10:00"}, asOf: "2026-03-08T10:00", drg: "291", days: 6,
			want: []want{{"urn:example:enc|g1", "2026-03-06T23:59:59", URTeam}, {"urn:example:enc|g1+escalation", "2026-03-08T23:59:59", PhysicianAdvisor}}},
		{name: "GMLOS exactly 3.0 reached at 3 days", segs: []string{"IMP 2026-03-02T10:00"}, asOf: "2026-03-05T00:00", drg: "065", days: 3,
			want: []want{{"urn:example:enc|g1", "2026-03-05T23:59:59", URTeam}}},
		{name: "leading zeros in the DRG code", segs: []string{"IMP 2026-03-02T10:00"}, asOf: "2026-03-05T00:00", drg: "65", days: 3,
			want: []want{{"urn:example:enc|g1", "2026-03-05T23:59:59", URTeam}}},
		// Issue 7 point 6: retrospective length of stay belongs in the committee report, not the worklist.
		{name: "discharged stay: not raised", segs: []string{"IMP 2026-03-02T10:00 2026-03-07T10:00"}, asOf: "2026-04-01T10:00", drg: "291"},
		{name: "discharged past the escalation: not raised either", segs: []string{"IMP 2026-03-02T10:00 2026-03-12T10:00"}, asOf: "2026-03-12T12:00", drg: "291"},
		{name: "observation days before the order do not count", segs: []string{"OBSENC 2026-02-27T10:00 2026-03-02T10:00", "IMP 2026-03-02T10:00"}, asOf: "2026-03-05T12:00", drg: "291"},
		{name: "factor 1.2 moves the threshold to 4.68", segs: []string{"IMP 2026-03-02T10:00"}, asOf: "2026-03-06T12:00", drg: "291", rs: func() *rules.RuleSet {
			rs := enMedicare()
			rs.Checks.GMLOS.Factor = 1.2
			return rs
		}},
		{name: "no DRG: default review day 5 not reached", segs: []string{"IMP 2026-03-02T10:00"}, asOf: "2026-03-06T12:00"},
		{name: "no DRG: default review day 5", segs: []string{"IMP 2026-03-02T10:00"}, asOf: "2026-03-07T00:00", days: 5,
			want: []want{{"urn:example:enc|g1", "2026-03-07T23:59:59", URTeam}}, words: "no MS-DRG is known"},
		{name: "DRG without GMLOS (999): default review day", segs: []string{"IMP 2026-03-02T10:00"}, asOf: "2026-03-07T00:00", drg: "999", days: 5,
			want: []want{{"urn:example:enc|g1", "2026-03-07T23:59:59", URTeam}}, words: "MS-DRG 999 has no GMLOS"},
		{name: "DRG not in the table: default review day", segs: []string{"IMP 2026-03-02T10:00"}, asOf: "2026-03-07T00:00", drg: "123", days: 5,
			want: []want{{"urn:example:enc|g1", "2026-03-07T23:59:59", URTeam}}},
		{name: "no table resolved: default review day", segs: []string{"IMP 2026-03-02T10:00"}, asOf: "2026-03-07T00:00", drg: "291", days: 5, rs: func() *rules.RuleSet {
			rs := enMedicare()
			return &rules.RuleSet{ID: rs.ID, Program: rs.Program, Checks: rs.Checks, CodeLists: rs.CodeLists}
		}, want: []want{{"urn:example:enc|g1", "2026-03-07T23:59:59", URTeam}}},
		{name: "no DRG and no default review day", segs: []string{"IMP 2026-03-02T10:00"}, asOf: "2026-03-20T00:00", rs: func() *rules.RuleSet {
			rs := enMedicare()
			rs.Checks.GMLOS.DefaultReviewDay = 0
			return rs
		}},
		{name: "observation stay", segs: []string{"OBSENC 2026-03-02T10:00 2026-03-04T10:00"}, asOf: "2026-03-20T00:00", drg: "291"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rs := enMedicare()
			if tc.rs != nil {
				rs = tc.rs()
			}
			// The length-of-stay findings alone: a concurrent review due the
			// same day would take the UR team's one in (TestLOSMergedIntoContinuedStay).
			rs.Checks.ConcurrentReview.Enabled = false
			e := enStay(t, "g1", tc.segs...)
			e.DRG = tc.drg
			got := enReview(enRun(t, tc.asOf, rs), enPatient(e), CheckLOSExceedsGMLOS)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d findings, want %d", len(got), len(tc.want))
			}
			for i, w := range tc.want {
				f := got[i]
				enCheckShape(t, f)
				if f.Episode != w.episode || f.Owner != w.owner {
					t.Errorf("finding %d: episode %q owner %q, want %q %q", i, f.Episode, f.Owner, w.episode, w.owner)
				}
				enWantDue(t, f, enAt(t, w.due))
				if ev, _ := enEvidence(f, evInpatientDays); ev.Int == nil || *ev.Int != tc.days {
					t.Errorf("inpatient-days %v, want %d", ev.Int, tc.days)
				}
				if tc.words != "" && !strings.Contains(f.Description, tc.words) {
					t.Errorf("description %q lacks %q", f.Description, tc.words)
				}
				// Issue 7 point 6: without a GMLOS the finding cites the payer's default review day, not the table.
				wantSource := ruleSourceGMLOS
				if _, ok := enEvidence(f, evDefaultReviewDay); ok {
					wantSource = ruleSourceDefaultReviewDay
				}
				if ev, _ := enEvidence(f, evRuleSource); ev.String == nil || *ev.String != wantSource {
					t.Errorf("rule-source %v, want %q", ev.String, wantSource)
				}
			}
			if len(got) > 0 && tc.drg == "291" && tc.rs == nil {
				if ev, _ := enEvidence(got[0], evGMLOS); ev.Decimal == nil || *ev.Decimal != 3.9 {
					t.Errorf("gmlos evidence %v, want 3.9", ev.Decimal)
				}
				if ev, _ := enEvidence(got[0], evDRG); ev.Code == nil || ev.Code.System != rules.SystemMSDRG || ev.Code.Code != "291" {
					t.Errorf("drg evidence %+v", ev.Code)
				}
			}
		})
	}
}

func enNorms(t testing.TB) *rules.NormTable {
	csv := "system,key,p50,p75,p90\n" +
		"ms-drg,291,4.2,6,8\n" +
		"icd-10-cm,I50,3,5,7\n" +
		"icd-10-cm,I50.2,6,8,10\n"
	nt, errs := rules.ParseNormTable("norms.csv", strings.NewReader(csv))
	if len(errs) > 0 {
		t.Fatalf("norm table: %v", errs[0])
	}
	return nt
}

func TestContinuedStayReview(t *testing.T) {
	t.Parallel()
	icd := func(code string) []facts.Diagnosis {
		return []facts.Diagnosis{{Codes: []facts.Code{{System: rules.SystemICD10CM, Code: code}}, Principal: true}}
	}
	tests := []struct {
		name      string
		segs      []string
		asOf      string
		norms     bool
		every     int
		drg       string
		dx        []facts.Diagnosis
		cycle     int // the current cycle, 0 for no finding
		reviewDay int
		due       string
		closed    []int // cycles whose review a Task closed
		missed    int   // the "missed-cycles" evidence of the one finding, 0 for none
	}{
		{name: "day 0: first review on day 3", segs: []string{"IMP 2026-03-02T10:00"}, asOf: "2026-03-02T12:00", every: 3, cycle: 1, reviewDay: 3, due: "2026-03-05T23:59:59"},
		{name: "day 3: still cycle 1, due tonight", segs: []string{"IMP 2026-03-02T10:00"}, asOf: "2026-03-05T23:00", every: 3, cycle: 1, reviewDay: 3, due: "2026-03-05T23:59:59"},
		// Issue 7 point 5: one open review per stay, the earliest cycle no completed Task closes, with the
		// cycles it runs behind counted ("missed cycles: N") instead of one overdue Task each.
		{name: "day 4: cycle 1 missed, it stays the one review (cycle 2 waits)", segs: []string{"IMP 2026-03-02T10:00"}, asOf: "2026-03-06T00:00", every: 3, cycle: 1, reviewDay: 3, due: "2026-03-05T23:59:59", missed: 1},
		{name: "day 10, nothing closed: cycle 1, 3 missed", segs: []string{"IMP 2026-03-02T10:00"}, asOf: "2026-03-12T08:00", every: 3, cycle: 1, reviewDay: 3, due: "2026-03-05T23:59:59", missed: 3},
		{name: "day 10, cycle 1 closed: cycle 2 opens, 2 missed", segs: []string{"IMP 2026-03-02T10:00"}, asOf: "2026-03-12T08:00", every: 3, cycle: 2, reviewDay: 6, due: "2026-03-08T23:59:59", closed: []int{1}, missed: 2},
		{name: "day 10, cycles 1 and 3 closed: cycle 2, 1 missed", segs: []string{"IMP 2026-03-02T10:00"}, asOf: "2026-03-12T08:00", every: 3, cycle: 2, reviewDay: 6, due: "2026-03-08T23:59:59", closed: []int{1, 3}, missed: 1},
		{name: "day 10, cycles 1-3 closed: the current cycle 4", segs: []string{"IMP 2026-03-02T10:00"}, asOf: "2026-03-12T08:00", every: 3, cycle: 4, reviewDay: 12, due: "2026-03-14T23:59:59", closed: []int{1, 2, 3}},
		{name: "day 4, cycle 1 closed: cycle 2 due day 6 (the spring-forward Sunday)", segs: []string{"IMP 2026-03-02T10:00"}, asOf: "2026-03-06T00:00", every: 3, cycle: 2, reviewDay: 6, due: "2026-03-08T23:59:59", closed: []int{1}},
		{name: "daily reviews, day 2: day 1 missed", segs: []string{"IMP 2026-03-02T10:00"}, asOf: "2026-03-04T08:00", every: 1, cycle: 1, reviewDay: 1, due: "2026-03-03T23:59:59", missed: 1},
		{name: "norm by MS-DRG: first at 4.2 -> day 5", segs: []string{"IMP 2026-03-02T10:00"}, asOf: "2026-03-03T08:00", norms: true, every: 3, drg: "291", cycle: 1, reviewDay: 5, due: "2026-03-07T23:59:59"},
		{name: "norm by MS-DRG then every 3: day 6, the norm review (day 5) missed", segs: []string{"IMP 2026-03-02T10:00"}, asOf: "2026-03-08T08:00", norms: true, every: 3, drg: "291", cycle: 1, reviewDay: 5, due: "2026-03-07T23:59:59", missed: 1},
		{name: "norm by MS-DRG then every 3: day 6, norm review closed: cycle 2 (day 8)", segs: []string{"IMP 2026-03-02T10:00"}, asOf: "2026-03-08T08:00", norms: true, every: 3, drg: "291", cycle: 2, reviewDay: 8, due: "2026-03-10T23:59:59", closed: []int{1}},
		{name: "norm by ICD-10-CM prefix I50 (I50.9)", segs: []string{"IMP 2026-03-02T10:00"}, asOf: "2026-03-03T08:00", norms: true, every: 3, dx: icd("I50.9"), cycle: 1, reviewDay: 3, due: "2026-03-05T23:59:59"},
		{name: "longest prefix wins (I50.23 -> I50.2)", segs: []string{"IMP 2026-03-02T10:00"}, asOf: "2026-03-03T08:00", norms: true, every: 3, dx: icd("I50.23"), cycle: 1, reviewDay: 6, due: "2026-03-08T23:59:59"},
		{name: "no norm row: cadence only", segs: []string{"IMP 2026-03-02T10:00"}, asOf: "2026-03-03T08:00", norms: true, every: 3, dx: icd("J18.9"), cycle: 1, reviewDay: 3, due: "2026-03-05T23:59:59"},
		{name: "norm only, past it: the norm review stays current, overdue", segs: []string{"IMP 2026-03-02T10:00"}, asOf: "2026-03-12T08:00", norms: true, drg: "291", cycle: 1, reviewDay: 5, due: "2026-03-07T23:59:59"},
		{name: "no cadence and no norm", segs: []string{"IMP 2026-03-02T10:00"}, asOf: "2026-03-03T08:00"},
		{name: "finished stay", segs: []string{"IMP 2026-03-02T10:00 2026-03-05T10:00"}, asOf: "2026-03-06T08:00", every: 3},
		{name: "observation stay", segs: []string{"OBSENC 2026-03-02T10:00"}, asOf: "2026-03-03T08:00", every: 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rs := enMedicare()
			rs.Program = rules.Medicaid
			rs.Checks.ConcurrentReview = rules.ConcurrentReview{Enabled: true, EveryDays: tc.every}
			if tc.norms {
				rs.Checks.ConcurrentReview.NormTable, rs.Checks.ConcurrentReview.Percentile = "norms.csv", 50
				rs.Resolve(nil, enNorms(t), nil, nil)
			}
			e := enStay(t, "r1", tc.segs...)
			e.DRG, e.Diagnoses = tc.drg, tc.dx
			r := enRun(t, tc.asOf, rs)
			p := enPatient(e)
			if tc.closed != nil {
				p.Tasks = []*facts.Task{{}}
				r.cfg.Closed = func(_ *facts.Patient, f *Finding) bool {
					for _, n := range tc.closed {
						if f.Episode == "cycle-"+strconv.Itoa(n) {
							return true
						}
					}
					return false
				}
			}
			got := enReview(r, p, CheckContinuedStayReview)
			if tc.cycle == 0 {
				if len(got) != 0 {
					t.Fatalf("got %d findings, want none", len(got))
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("got %d findings, want 1: one open review per stay", len(got))
			}
			f := got[0]
			enCheckShape(t, f)
			if want := "cycle-" + strconv.Itoa(tc.cycle); f.Episode != want {
				t.Errorf("episode %q, want %q", f.Episode, want)
			}
			ev, has := enEvidence(f, evMissedCycles)
			switch {
			case tc.missed == 0 && has:
				t.Errorf("missed-cycles evidence %v, want none", *ev.Int)
			case tc.missed > 0 && (!has || ev.Int == nil || *ev.Int != tc.missed):
				t.Errorf("missed-cycles evidence %+v, want %d", ev, tc.missed)
			case tc.missed > 0 && !strings.Contains(f.Description, "Missed cycles: "+strconv.Itoa(tc.missed)):
				t.Errorf("description %q does not count the missed cycles", f.Description)
			}
			if ev, _ := enEvidence(f, evReviewDay); ev.Int == nil || *ev.Int != tc.reviewDay {
				t.Errorf("review-day %v, want %d", ev.Int, tc.reviewDay)
			}
			enWantDue(t, f, enAt(t, tc.due))
			wantStatus := StatusAwaitingReview
			switch asOf := enAt(t, tc.asOf); {
			case f.Due.Before(asOf):
				wantStatus = StatusOverdue
			case !f.Due.After(asOf.Add(24 * time.Hour)):
				wantStatus = StatusDueSoon
			}
			if f.Status != wantStatus {
				t.Errorf("status %q, want %q", f.Status, wantStatus)
			}
		})
	}
}

// TestLOSMergedIntoContinuedStay: issue 7 point 6. The UR team's
// length-of-stay review (GMLOS x factor, or the payer's default review day
// without an MS-DRG) and the concurrent review due on the same day are one
// review (42 CFR 482.30(c)-(d): the UR plan's review of a continued stay),
// so one Task: the continued-stay-review finding, with the GMLOS evidence.
// The physician advisor's escalation stays its own finding, and a
// discharged stay has neither.
func TestLOSMergedIntoContinuedStay(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		segs       []string
		asOf       string
		drg        string
		every      int
		reviewDay  int   // payer default review day (0: enMedicare's 5)
		closed     []int // continued-stay cycles closed by a completed Task
		want       []string
		gmlosOnCSR bool // the continued-stay finding carries the length-of-stay evidence
	}{
		{name: "GMLOS 3.0 reached on day 3, the cycle-1 review day: one review", segs: []string{"IMP 2026-03-02T10:00"}, asOf: "2026-03-05T00:00", drg: "065", every: 3,
			want: []string{"continued-stay-review cycle-1 ur-team"}, gmlosOnCSR: true},
		{name: "GMLOS 3.9 reached on day 4, reviews on days 3, 6: two findings", segs: []string{"IMP 2026-03-02T10:00"}, asOf: "2026-03-06T00:00", drg: "291", every: 3,
			want: []string{"los-exceeds-gmlos urn:example:enc|m1 ur-team", "continued-stay-review cycle-1 ur-team"}},
		{name: "the merged cycle missed: still one review, with the GMLOS", segs: []string{"IMP 2026-03-02T10:00"}, asOf: "2026-03-06T10:00", drg: "065", every: 3,
			want: []string{"continued-stay-review cycle-1 ur-team"}, gmlosOnCSR: true},
		{name: "the merged cycle closed: the length-of-stay review is done too", segs: []string{"IMP 2026-03-02T10:00"}, asOf: "2026-03-06T10:00", drg: "065", every: 3, closed: []int{1},
			want: []string{"continued-stay-review cycle-2 ur-team"}},
		{name: "a later cycle on the GMLOS day, an earlier one still open: the GMLOS review cannot wait", segs: []string{"IMP 2026-03-02T10:00"}, asOf: "2026-03-06T10:00", drg: "065", every: 1,
			want: []string{"los-exceeds-gmlos urn:example:enc|m1 ur-team", "continued-stay-review cycle-1 ur-team"}},
		{name: "escalation stays the physician advisor's own finding", segs: []string{"IMP 2026-03-02T10:00"}, asOf: "2026-03-07T10:00", drg: "065", every: 3, closed: []int{1},
			want: []string{"los-exceeds-gmlos urn:example:enc|m1+escalation physician-advisor", "continued-stay-review cycle-2 ur-team"}},
		{name: "no MS-DRG: the default review day 6 and cycle 2 are one review", segs: []string{"IMP 2026-03-02T10:00"}, asOf: "2026-03-08T10:00", every: 3, reviewDay: 6, closed: []int{1},
			want: []string{"continued-stay-review cycle-2 ur-team"}, gmlosOnCSR: true},
		{name: "discharged: neither", segs: []string{"IMP 2026-03-02T10:00 2026-03-09T10:00"}, asOf: "2026-03-09T12:00", drg: "065", every: 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rs := enMedicare()
			rs.Checks.ConcurrentReview = rules.ConcurrentReview{Enabled: true, EveryDays: tc.every}
			if tc.reviewDay > 0 {
				rs.Checks.GMLOS.DefaultReviewDay = tc.reviewDay
			}
			e := enStay(t, "m1", tc.segs...)
			e.DRG = tc.drg
			r := enRun(t, tc.asOf, rs)
			p := enPatient(e)
			if tc.closed != nil {
				p.Tasks = []*facts.Task{{}}
				r.cfg.Closed = func(_ *facts.Patient, f *Finding) bool {
					for _, n := range tc.closed {
						if f.Check == CheckContinuedStayReview && f.Episode == "cycle-"+strconv.Itoa(n) {
							return true
						}
					}
					return false
				}
			}
			var got []string
			var csr *Finding
			for _, f := range r.encounter(p, e) {
				if f.Check != CheckLOSExceedsGMLOS && f.Check != CheckContinuedStayReview {
					continue
				}
				enCheckShape(t, f)
				got = append(got, f.Check+" "+f.Episode+" "+string(f.Owner))
				if f.Check == CheckContinuedStayReview {
					csr = &f
				}
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Fatalf("findings\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if csr == nil {
				return
			}
			_, hasGMLOS := enEvidence(*csr, evGMLOS)
			_, hasDefault := enEvidence(*csr, evDefaultReviewDay)
			if merged := hasGMLOS || hasDefault; merged != tc.gmlosOnCSR {
				t.Errorf("length-of-stay evidence on the continued-stay review: %v, want %v", merged, tc.gmlosOnCSR)
			}
			if tc.gmlosOnCSR && !strings.Contains(csr.Description, "Length of stay, the same review") {
				t.Errorf("description %q does not say the length-of-stay review is merged", csr.Description)
			}
			if hasDefault {
				// Without an MS-DRG the finding cites the payer's review day, not the GMLOS table.
				for _, ev := range csr.Evidence {
					if ev.Type == evRuleSource && *ev.String == ruleSourceGMLOS {
						t.Errorf("a stay without an MS-DRG cites %q", ruleSourceGMLOS)
					}
				}
			}
		})
	}
}
