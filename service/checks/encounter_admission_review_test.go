package checks

import (
	"strings"
	"testing"

	"github.com/utilreview/utilreview/service/rules"
)

// TestAdmissionReview: issue 7 points 3 and 4. UR reviews every inpatient
// admission and observation placement promptly (the hospital's UR plan,
// 42 CFR 482.30): by the end of the rule set's business day after the
// order. For a two-midnight payer the review is the concurrent status
// review: before the stay's second midnight counted from arrival, ED and
// observation time included (42 CFR 412.3(d)(1)(i)), when that is sooner,
// and before discharge, the last moment for Condition Code 44
// (42 CFR 482.30(d); Medicare Claims Processing Manual ch. 1, 50.3).
func TestAdmissionReview(t *testing.T) {
	t.Parallel()
	medicare := func(testing.TB) *rules.RuleSet { return enMedicare() }
	commercial := func(t testing.TB) *rules.RuleSet { return enCommercial(t, true) }
	tests := []struct {
		name         string
		rs           func(testing.TB) *rules.RuleSet
		businessDays int // 0: 1
		off          bool
		noPayer      bool
		segs         []string
		asOf         string
		episode      string // "" for no finding
		due          string
		anchor       string // evidence type of the review's start
		midnights    int
		benchmark    bool // two-midnight evidence expected
		words        string
	}{
		{name: "Monday admission: end of Tuesday", rs: commercial, segs: []string{"IMP 2026-03-02T10:00"}, asOf: "2026-03-02T12:00",
			episode: "urn:example:enc|a1", due: "2026-03-03T23:59:59", anchor: evInpatientOrder, words: "next business day"},
		{name: "Friday admission: end of Monday", rs: commercial, segs: []string{"IMP 2026-03-06T10:00"}, asOf: "2026-03-07T12:00",
			episode: "urn:example:enc|a1", due: "2026-03-09T23:59:59", anchor: evInpatientOrder, midnights: 1},
		{name: "the day before Thanksgiving: end of Friday", rs: commercial, segs: []string{"IMP 2026-11-25T10:00"}, asOf: "2026-11-25T12:00",
			episode: "urn:example:enc|a1", due: "2026-11-27T23:59:59", anchor: evInpatientOrder},
		{name: "a payer's 2 business days override the default", rs: commercial, businessDays: 2, segs: []string{"IMP 2026-03-06T10:00"}, asOf: "2026-03-06T12:00",
			episode: "urn:example:enc|a1", due: "2026-03-10T23:59:59", anchor: evInpatientOrder, words: "business day 2"},
		{name: "observation placement: its own episode", rs: commercial, segs: []string{"OBSENC 2026-03-02T10:00"}, asOf: "2026-03-02T12:00",
			episode: "urn:example:enc|a1+observation", due: "2026-03-03T23:59:59", anchor: evObservationStart, words: "Observation placement"},
		{name: "observation then inpatient: the admission is the review", rs: commercial, segs: []string{"OBSENC 2026-03-02T10:00 2026-03-03T09:00", "IMP 2026-03-03T09:00"}, asOf: "2026-03-03T12:00",
			episode: "urn:example:enc|a1", due: "2026-03-04T23:59:59", anchor: evInpatientOrder, midnights: 1},
		{name: "discharged before the deadline: due at discharge", rs: commercial, segs: []string{"IMP 2026-03-02T10:00 2026-03-02T20:00"}, asOf: "2026-03-05T12:00",
			episode: "urn:example:enc|a1", due: "2026-03-02T20:00", anchor: evInpatientOrder, words: "at discharge"},
		{name: "no payer: the default rules still review it", rs: commercial, noPayer: true, segs: []string{"IMP 2026-03-02T10:00"}, asOf: "2026-03-02T12:00",
			episode: "urn:example:enc|a1", due: "2026-03-03T23:59:59", anchor: evInpatientOrder},
		{name: "switched off", rs: commercial, off: true, segs: []string{"IMP 2026-03-02T10:00"}, asOf: "2026-03-02T12:00"},
		{name: "an emergency visit alone is no admission", rs: commercial, segs: []string{"EMER 2026-03-02T10:00"}, asOf: "2026-03-02T12:00"},

		// Point 4: the two-midnight payer's concurrent status review.
		{name: "two-midnight: Friday order, due before Sunday's midnight, not Monday", rs: medicare, segs: []string{"IMP 2026-03-06T10:00"}, asOf: "2026-03-06T12:00",
			episode: "urn:example:enc|a1", due: "2026-03-07T23:59:59", anchor: evInpatientOrder, benchmark: true, words: "before the stay's second midnight"},
		{name: "two-midnight: ED time counts, the second midnight comes first", rs: medicare, segs: []string{"EMER 2026-03-01T22:00 2026-03-02T03:00", "IMP 2026-03-02T03:00"}, asOf: "2026-03-02T12:00",
			episode: "urn:example:enc|a1", due: "2026-03-02T23:59:59", anchor: evInpatientOrder, midnights: 1, benchmark: true},
		{name: "two-midnight: Monday order, the next business day ends at the same second", rs: medicare, segs: []string{"IMP 2026-03-02T10:00"}, asOf: "2026-03-02T12:00",
			episode: "urn:example:enc|a1", due: "2026-03-03T23:59:59", anchor: evInpatientOrder, benchmark: true},
		{name: "two-midnight: benchmark met in observation before the order", rs: medicare, segs: []string{"OBS 2026-03-01T08:00 2026-03-03T09:00", "IMP 2026-03-03T09:00"}, asOf: "2026-03-03T12:00",
			episode: "urn:example:enc|a1", due: "2026-03-04T23:59:59", anchor: evInpatientOrder, midnights: 2, benchmark: true},
		{name: "two-midnight: observation placement reviewed before its second midnight", rs: medicare, segs: []string{"OBS 2026-03-06T10:00"}, asOf: "2026-03-07T12:00",
			episode: "urn:example:enc|a1+observation", due: "2026-03-07T23:59:59", anchor: evObservationStart, midnights: 1, benchmark: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rs := tc.rs(t)
			bd := tc.businessDays
			if bd == 0 {
				bd = 1
			}
			rs.Checks.AdmissionReview = rules.AdmissionReview{Enabled: !tc.off, BusinessDays: bd}
			e := enStay(t, "a1", tc.segs...)
			if tc.noPayer {
				e.Payer = nil
			}
			got := enReview(enRun(t, tc.asOf, rs), enPatient(e), CheckAdmissionReview)
			if tc.episode == "" {
				if len(got) != 0 {
					t.Fatalf("got %d findings, want none", len(got))
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("got %d findings, want 1 (one per stay)", len(got))
			}
			f := got[0]
			enCheckShape(t, f)
			if f.Episode != tc.episode || f.Owner != URTeam || f.Priority != Urgent {
				t.Errorf("episode %q owner %s priority %s, want %q ur-team urgent", f.Episode, f.Owner, f.Priority, tc.episode)
			}
			enWantDue(t, f, enAt(t, tc.due))
			if _, ok := enEvidence(f, tc.anchor); !ok {
				t.Errorf("no %s evidence", tc.anchor)
			}
			if ev, _ := enEvidence(f, evTotalMidnights); ev.Int == nil || *ev.Int != tc.midnights {
				t.Errorf("total-midnights %v, want %d", ev.Int, tc.midnights)
			}
			if ev, _ := enEvidence(f, evPayerProgram); ev.String == nil || *ev.String != string(rs.Program) {
				t.Errorf("payer-program %v, want %s", ev.String, rs.Program)
			}
			if ev, _ := enEvidence(f, evReviewBusinessDays); ev.Int == nil || *ev.Int != bd {
				t.Errorf("review-business-days %v, want %d", ev.Int, bd)
			}
			if _, ok := enEvidence(f, evPayer); ok == tc.noPayer {
				t.Errorf("payer evidence present %v with no payer %v", ok, tc.noPayer)
			}
			ev, hasBench := enEvidence(f, evTwoMidnightBenchmark)
			if hasBench != tc.benchmark || (hasBench && *ev.Int != 2) {
				t.Errorf("two-midnight-benchmark evidence %v, want %v", hasBench, tc.benchmark)
			}
			if _, ok := enEvidence(f, evBenchmarkMidnight); ok != tc.benchmark {
				t.Errorf("benchmark-midnight evidence %v, want %v", ok, tc.benchmark)
			}
			src, _ := enEvidence(f, evRuleSource)
			if wantSrc := map[bool]string{true: ruleSourceStatusReview, false: ruleSourceAdmissionReview}[tc.benchmark]; src.String == nil || *src.String != wantSrc {
				t.Errorf("rule-source %v, want %q", src.String, wantSrc)
			}
			if tc.words != "" && !strings.Contains(f.Description, tc.words) {
				t.Errorf("description %q lacks %q", f.Description, tc.words)
			}
		})
	}
}

// TestConditionCode44SupersedesTwoMidnight: issue 7 point 7. A stay
// changed from inpatient to outpatient before discharge is reviewed by
// condition-code-44 (42 CFR 482.30(d); Medicare Claims Processing Manual
// ch. 1, 50.3); the retrospective two-midnight review (42 CFR 412.3(d)) of
// an inpatient claim no longer applies to it.
func TestConditionCode44SupersedesTwoMidnight(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		segs      []string
		cc44Off   bool
		wantTwoMN bool
		wantCC44  bool
	}{
		{name: "short inpatient stay: two-midnight", segs: []string{"IMP 2026-03-02T10:00 2026-03-03T09:00"}, wantTwoMN: true},
		{name: "inpatient changed to observation: condition-code-44 only", segs: []string{"IMP 2026-03-02T10:00 2026-03-02T18:00", "OBSENC 2026-03-02T18:00 2026-03-03T09:00"}, wantCC44: true},
		{name: "condition-code-44 switched off: two-midnight stays", segs: []string{"IMP 2026-03-02T10:00 2026-03-02T18:00", "OBSENC 2026-03-02T18:00 2026-03-03T09:00"}, cc44Off: true, wantTwoMN: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rs := enMedicare()
			rs.Checks.ConditionCode44.Enabled = !tc.cc44Off
			e := enStay(t, "c1", tc.segs...)
			r := enRun(t, "2026-03-05T12:00", rs)
			p := enPatient(e)
			if got := len(enReview(r, p, CheckTwoMidnight)); (got == 1) != tc.wantTwoMN || got > 1 {
				t.Errorf("two-midnight findings %d, want %v", got, tc.wantTwoMN)
			}
			if got := len(enReview(r, p, CheckConditionCode44)); (got == 1) != tc.wantCC44 || got > 1 {
				t.Errorf("condition-code-44 findings %d, want %v", got, tc.wantCC44)
			}
		})
	}
}
