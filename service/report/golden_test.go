package report

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/utilreview/utilreview/fhir"
	"github.com/utilreview/utilreview/service/checks"
	"github.com/utilreview/utilreview/service/review"
)

// golden is one number the fixture must give, with how it was worked out.
type golden struct {
	table, column string
	keys          []string
	want          float64 // ignored when na
	na            bool    // the value is "not applicable" (a ratio over zero)
	why           string
}

func k(keys ...string) []string { return keys }

// TestGoldenNumbers checks the report over the fixture (fixture_test.go:
// March and April 2026, New York, as of 1 June 2026) against numbers worked
// out by hand. Each line says how.
func TestGoldenNumbers(t *testing.T) {
	t.Parallel()
	rep := fixtureReport(t)
	cases := []golden{
		// Review timeliness: utilreview Tasks whose deadline falls in the period. t5 (due in May), t7
		// (entered-in-error) and t8 (no utilreview identifier) are never counted.
		{"timeliness-by-month", "due", k("2026-03"), 3, false, "t1, t2 and t9 are due in March"},
		{"timeliness-by-month", "completed-on-time", k("2026-03"), 2, false, "t1: executionPeriod.end 09:00 before its 17:00 deadline; t9 20 March before 26 March"},
		{"timeliness-by-month", "completed-late", k("2026-03"), 1, false, "t2: no executionPeriod, meta.lastUpdated 12 March after its 11 March deadline"},
		{"timeliness-by-month", "on-time-rate", k("2026-03"), 0.67, false, "2 on time of 3 completed"},
		{"timeliness-by-month", "median-hours-to-complete", k("2026-03"), 48, false, "t1 22 h (11:00 to 09:00 next day), t2 48 h, t9 192 h: median 48"},
		{"timeliness-by-month", "due", k("2026-04"), 3, false, "t3, t4, t6"},
		{"timeliness-by-month", "open-overdue", k("2026-04"), 1, false, "t3 in-progress, due 8 April, the report is as of 1 May (end of period)"},
		{"timeliness-by-month", "cancelled-or-rejected", k("2026-04"), 1, false, "t4 cancelled"},
		{"timeliness-by-month", "completed-on-time", k("2026-04"), 1, false, "t6 completed 12:00 before 17:00"},
		{"timeliness-by-month", "median-hours-to-complete", k("2026-04"), 24, false, "t6: authored 13 April 12:00, completed 14 April 12:00"},
		{"timeliness-by-check", "due", k("admission-review"), 2, false, "t1, t2 (t5 due in May)"},
		{"timeliness-by-check", "open-overdue", k("los-exceeds-gmlos"), 1, false, "t3"},
		{"timeliness-by-check", "on-time-rate", k("los-exceeds-gmlos"), 0, true, "t3 is not completed: no rate (0 / 0)"},
		{"timeliness-by-owner", "due", k("Physician advisor"), 4, false, "t3, t4, t6, t9"},
		{"timeliness-by-owner", "completed-late", k("UR nurses"), 1, false, "t2"},
		{"timeliness-by-owner", "median-hours-to-complete", k("UR nurses"), 35, false, "t1 22 h, t2 48 h: median 35"},
		{"timeliness-by-owner", "median-hours-to-complete", k("Physician advisor"), 108, false, "t6 24 h, t9 192 h (t3 open, t4 cancelled): median 108"},
		{"timeliness-by-payer", "due", k("Acme Health Plan"), 4, false, "t1 (e1), t2 and t9 (e2), t3 (e6)"},
		{"timeliness-by-payer", "open-overdue", k("Acme Health Plan"), 1, false, "t3"},
		{"timeliness-by-payer", "due", k("Medicare"), 2, false, "t4, t6 (e4)"},
		{"timeliness-by-payer", "cancelled-or-rejected", k("Medicare"), 1, false, "t4"},

		// Length of stay: inpatient stays discharged in the month; days are midnights from the order.
		{"los-by-month", "inpatient-stays", k("2026-03"), 3, false, "e1, e2, e6 (e7 was discharged in February)"},
		{"los-by-month", "observed-days", k("2026-03"), 13, false, "e1 6 + e2 2 + e6 5"},
		{"los-by-month", "expected-days", k("2026-03"), 10.8, false, "GMLOS 3.9 (DRG 291) twice + 3.0 (DRG 292)"},
		{"los-by-month", "oe-ratio", k("2026-03"), 1.2, false, "13 / 10.8 = 1.2037"},
		{"los-by-month", "excess-days", k("2026-03"), 3.2, false, "e1 6-3.9 = 2.1, e6 5-3.9 = 1.1, e2 none (2 < 3)"},
		{"los-by-month", "inpatient-stays", k("2026-04"), 3, false, "e3, e4 (no DRG) and e8 (DRG 194)"},
		{"los-by-month", "stays-with-drg", k("2026-04"), 1, false, "e8"},
		{"los-by-month", "excess-days", k("2026-04"), 4.2, false, "e8: 7 midnights - GMLOS 2.8"},
		{"los-by-drg", "stays", k("291", "HEART FAILURE AND SHOCK WITH MCC"), 2, false, "e1, e6"},
		{"los-by-drg", "oe-ratio", k("291", "HEART FAILURE AND SHOCK WITH MCC"), 1.41, false, "11 / 7.8"},
		{"los-by-drg", "gmlos", k("292", "HEART FAILURE AND SHOCK WITH CC"), 3, false, "the FY2025 table"},
		{"los-by-drg", "excess-days", k("292", "HEART FAILURE AND SHOCK WITH CC"), 0, false, "2 midnights under a GMLOS of 3"},

		// Observation, April: e4 54 h (converted to inpatient), e5 36 h.
		{"observation-by-month", "observation-stays", k("2026-04"), 2, false, "e4, e5"},
		{"observation-by-month", "over-24h", k("2026-04"), 2, false, "54 h and 36 h"},
		{"observation-by-month", "over-48h", k("2026-04"), 1, false, "e4"},
		{"observation-by-month", "share-over-48h", k("2026-04"), 0.5, false, "1 of 2"},
		{"observation-by-month", "converted-to-inpatient", k("2026-04"), 1, false, "e4's inpatient segment follows observation"},
		{"observation-by-month", "moon-due", k("2026-04"), 1, false, "e4: a Medicare beneficiary in observation over 24 h (NOTICE Act)"},
		{"observation-by-month", "moon-done", k("2026-04"), 0, false, "no MOON Communication or completed Task"},
		{"observation-by-month", "observation-stays", k("2026-03"), 1, false, "e9, 10 hours"},
		{"observation-by-month", "share-over-24h", k("2026-03"), 0, false, "e9 is under 24 h"},
		{"observation-by-month", "conversion-rate", k("2026-03"), 0, false, "e9 was discharged from observation"},
		{"observation-hours", "stays", k("8-16 h"), 1, false, "e9"},

		{"observation-hours", "stays", k("36-48 h"), 1, false, "e5: 36 h falls in [36, 48)"},
		{"observation-hours", "stays", k("48-72 h"), 1, false, "e4: 54 h"},

		// Two-midnight: inpatient stays under 2 midnights from the order.
		{"two-midnight-by-month", "short-stays", k("2026-04"), 2, false, "e3 and e4, 1 midnight each"},
		{"two-midnight-by-month", "short-stays", k("2026-03"), 0, false, "e2 spans exactly 2 midnights"},
		{"two-midnight-by-month", "reviewed", k("2026-04"), 0, false, "no two-midnight finding: e3's payer (Acme) has the check off and e4's 2 days of observation count toward the benchmark (42 CFR 412.3)"},

		// Readmissions within 30 days, by the index stay's discharge month.
		{"readmissions-by-month", "readmissions", k("2026-03"), 1, false, "e6, 12 days after e1"},
		{"readmissions-by-month", "readmission-rate", k("2026-03"), 0.33, false, "1 of 3 discharges"},
		{"readmissions-by-month", "readmissions", k("2026-04"), 1, false, "e4, 9 days after e8 (discharged 3 April)"},
		{"readmissions-by-cohort", "readmissions", k("PN"), 1, false, "e8's principal J15.9 is in Medicare's HRRP pneumonia list"},
		{"readmissions-by-cohort", "readmissions", k("(no HRRP cohort)"), 1, false, "e1: Acme's rule set has no HRRP cohorts"},

		// Payer notifications (Acme: 24 h from the inpatient order); Medicare FFS asks none.
		{"notifications-by-payer", "due", k("Acme Health Plan"), 4, false, "e1, e2, e3, e6"},
		{"notifications-by-payer", "done", k("Acme Health Plan"), 3, false, "n1, n2, n6 (completed Communications to Acme)"},
		{"notifications-by-payer", "done-on-time", k("Acme Health Plan"), 2, false, "n1 (5 h), n6 (4 h); n2 was sent after discharge"},
		{"notifications-by-payer", "not-done", k("Acme Health Plan"), 1, false, "e3"},
		{"notifications-by-payer", "on-time-rate", k("Acme Health Plan"), 0.5, false, "2 of 4"},
		{"notices-by-check", "due", k("important-message"), 3, false, "Medicare stays: e8 (initial and follow-up copy), e4 (initial; discharge within 2 days)"},

		// Determinations: completed utilreview Tasks with an X12 306 output, by deadline month.
		{"determinations-by-month", "determinations", k("2026-03"), 2, false, "t1 A1, t2 A3 (t9's A1 is an appeal's outcome, counted with the appeals)"},
		{"determinations-by-month", "denial-rate", k("2026-03"), 0.5, false, "1 A3 of 2 decided"},
		{"determinations-by-month", "partial-denials", k("2026-04"), 1, false, "t6 A2"},
		{"determinations-by-month", "median-turnaround-hours", k("2026-03"), 35, false, "22 h and 48 h"},
		{"determinations-by-payer", "A3", k("Acme Health Plan"), 1, false, "t2 on e2 (Acme)"},
		{"determinations-by-payer", "A2", k("Medicare"), 1, false, "t6 on e4 (Medicare)"},
		{"determinations-by-payer", "denial-rate", k("Medicare"), 0, false, "no A3 of 1 decided"},

		{"appeals-by-payer", "appeals", k("Acme Health Plan"), 1, false, "t9, the appeal after t2's A3"},
		{"appeals-by-payer", "A1", k("Acme Health Plan"), 1, false, "t9 overturned: A1"},
		{"appeals-by-payer", "median-turnaround-hours", k("Acme Health Plan"), 192, false, "12 March 10:00 to 20 March 10:00: 8 days"},

		// Avoidable days.
		{"avoidable-days-by-reason", "avoidable-days", k("level-of-care"), 3, false, "t2 2 days + t6 1 day"},
		{"avoidable-days-by-reason", "tasks", k("level-of-care"), 2, false, "t2, t6"},
		{"avoidable-days-by-month", "avoidable-days", k("2026-03"), 2, false, "t2"},

		// Prior authorization: cl9, Medicare outpatient CPT 15823 (42 CFR 419.83 list) without one.
		{"prior-auth-missing-by-payer", "prior-auth-missing", k("Medicare"), 1, false, "cl9"},
		{"prior-auth-missing-by-month", "prior-auth-missing", k("2026-04"), 1, false, "cl9, service 20 April"},

		// Data quality: e9's patient has no coverage at all.
		{"data-quality-by-month", "unresolved-payer-stays", k("2026-03"), 1, false, "e9"},
		{"data-quality-by-month", "missing-coverage", k("2026-03"), 1, false, "e9: the missing-coverage check"},
		{"data-quality-by-month", "data-gaps", k("2026-03"), 1, false, "the missing-coverage finding is a data gap"},
		{"data-quality-by-month", "unresolved-payer-stays", k("2026-04"), 0, false, "every April stay has a payer"},
		{"data-quality-by-month", "stale-encounters", k("2026-03"), 0, false, "all stays finished"},
	}
	for _, c := range cases {
		tb := rep.Table(c.table)
		if tb == nil {
			t.Errorf("no table %s", c.table)
			continue
		}
		got, ok := tb.Value(c.column, c.keys...)
		switch {
		case c.na && ok:
			t.Errorf("%s %v %s = %v, want not applicable (%s)", c.table, c.keys, c.column, got, c.why)
		case !c.na && !ok:
			t.Errorf("%s %v %s: no value, want %v (%s)", c.table, c.keys, c.column, c.want, c.why)
		case !c.na && got != c.want:
			t.Errorf("%s %v %s = %v, want %v (%s)", c.table, c.keys, c.column, got, c.want, c.why)
		}
	}
	if rep.Table("readmissions-by-month").Rows[0].Keys[0] != "2026-03" {
		t.Error("February (e7's discharge) has a row: it is outside the period")
	}
	// The months of the period are all there, in order, even without data.
	m := rep.Table("timeliness-by-month")
	if len(m.Rows) != 2 || m.Rows[0].Keys[0] != "2026-03" || m.Rows[1].Keys[0] != "2026-04" {
		t.Errorf("timeliness-by-month rows = %v, want 2026-03 and 2026-04", m.Rows)
	}
	if top := rep.Table("los-top-drgs"); len(top.Rows) != 3 || top.Rows[0].Keys[0] != "194" {
		t.Errorf("los-top-drgs = %v, want 3 DRGs, 194 (4.2 excess days) first", top.Rows)
	}
}

// TestNoticeDoneByTask: a notice is done when its Task is completed, not
// only when a Communication satisfies it. The fixture's MOON notice for e4
// (Medicare, 54 hours of observation; NOTICE Act: by hour 36) gets a
// completed Task carrying its finding's identifier, completed 30 hours into
// observation: moon-done becomes 1, and done on time.
func TestNoticeDoneByTask(t *testing.T) {
	t.Parallel()
	rep := fixtureWithTask(t, nil, func(f checks.Finding) bool { return f.Check == checks.CheckObservationMOON },
		taskSpec{id: "moon", pat: "p4", enc: "e4", check: checks.CheckObservationMOON, owner: "UR nurses",
			authored: "2026-04-11T07:00:00-04:00", status: "completed", executionEnd: "2026-04-11T12:00:00-04:00"})
	for _, c := range []golden{
		{"observation-by-month", "moon-due", k("2026-04"), 1, false, "still due once"},
		{"observation-by-month", "moon-done", k("2026-04"), 1, false, "its Task is completed"},
		{"notices-by-check", "done-on-time", k("observation-moon"), 1, false, "completed 11 April 12:00, 30 h into observation, before hour 36"},
	} {
		checkValue(t, rep, c)
	}
}

// TestShortStayReviewOutcome: how a short stay's two-midnight review ended,
// one outcome at a time. The fixture gains e10, a Medicare inpatient stay
// from 20 April 08:00 to 21 April 10:00 (1 midnight): the two-midnight
// check raises a finding for it (reviewed). Its Task, as the worklist
// writes it for that finding, is completed with A3, completed without a
// determination, cancelled, still in progress, or was never written; each
// lands in exactly one outcome column.
func TestShortStayReviewOutcome(t *testing.T) {
	t.Parallel()
	extra := []obj{patient("p7"), coverage("c7", "p7", "medicare"),
		encounter("e10", "p7", segment{"IMP", "2026-04-20T08:00:00-04:00", "2026-04-21T10:00:00-04:00"})}
	outcomes := []string{"A3", "completed-without-determination", "cancelled-or-rejected", "open", "no-task"}
	for _, tc := range []struct {
		outcome, status, determination string
	}{
		{"A3", "completed", "A3"},
		{"completed-without-determination", "completed", ""},
		{"cancelled-or-rejected", "cancelled", ""},
		{"open", "in-progress", ""},
		{"no-task", "", ""},
	} {
		t.Run(tc.outcome, func(t *testing.T) {
			t.Parallel()
			var rep *Report
			if tc.status == "" {
				rep = fixtureReportWith(t, extra...)
			} else {
				spec := taskSpec{id: "tmn", pat: "p7", enc: "e10", check: checks.CheckTwoMidnight, owner: "Physician advisor",
					authored: "2026-04-20T09:00:00-04:00", status: tc.status, determination: tc.determination}
				if tc.status == "completed" {
					spec.executionEnd = "2026-04-20T15:00:00-04:00"
				}
				rep = fixtureWithTask(t, extra, func(f checks.Finding) bool {
					return f.Check == checks.CheckTwoMidnight && f.FocusRef == "Encounter/e10"
				}, spec)
			}
			checkValue(t, rep, golden{"two-midnight-by-month", "short-stays", k("2026-04"), 3, false, "e3, e4 and e10, 1 midnight each"})
			checkValue(t, rep, golden{"two-midnight-by-month", "reviewed", k("2026-04"), 1, false, "e10's two-midnight finding"})
			for _, col := range outcomes {
				want := 0.0
				if col == tc.outcome {
					want = 1
				}
				checkValue(t, rep, golden{"two-midnight-by-month", col, k("2026-04"), want, false, "e10's review ended " + tc.outcome})
			}
			checkValue(t, rep, golden{"two-midnight-by-month", "short-stays", k("2026-03"), 0, false, "unchanged: e2 spans exactly 2 midnights"})
		})
	}
}

// computeFixturePeriod is the report over resources for the fixture's
// period (March and April 2026, as of 1 June 2026).
func computeFixturePeriod(t *testing.T, resources []*fhir.Resource, loc *time.Location) *Report {
	t.Helper()
	rep, _, err := Compute(context.Background(), resources, Options{
		From: time.Date(2026, 3, 1, 0, 0, 0, 0, loc), To: time.Date(2026, 4, 30, 0, 0, 0, 0, loc),
		Now: time.Date(2026, 6, 1, 12, 0, 0, 0, loc), Review: reviewOptions(t, loc),
	})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// checkValue reports a golden number the report does not give.
func checkValue(t *testing.T, rep *Report, c golden) {
	t.Helper()
	if got, ok := rep.Table(c.table).Value(c.column, c.keys...); !ok || got != c.want {
		t.Errorf("%s %v %s = %v, want %v (%s)", c.table, c.keys, c.column, got, c.want, c.why)
	}
}

// fixtureWithTask is the report over the fixture plus extra resources and
// the Task spec describes, written for the finding match picks (the engine's
// over the lot as of 1 May 2026): the Task carries the finding's identifier
// and deadline, as the worklist writes them.
func fixtureWithTask(t *testing.T, extra []obj, match func(checks.Finding) bool, spec taskSpec) *Report {
	t.Helper()
	loc := newYork(t)
	opt := reviewOptions(t, loc)
	opt.AsOf = time.Date(2026, 5, 1, 0, 0, 0, 0, loc)
	var resources []*fhir.Resource
	read := func(name string, data []byte) {
		if errs := fhir.NewReader().ReadBytes(name, data, func(r *fhir.Resource) { resources = append(resources, r) }); len(errs) > 0 {
			t.Fatal(errs)
		}
	}
	read("fixture.json", fixtureBundle(t))
	for _, r := range extra {
		data, _ := json.Marshal(r)
		read(r["id"].(string)+".json", data)
	}
	res, err := review.RunResources(context.Background(), resources, opt)
	if err != nil {
		t.Fatal(err)
	}
	var found *checks.Finding
	for _, list := range [][]checks.Finding{res.Findings, res.Moot} {
		for i := range list {
			if match(list[i]) {
				found = &list[i]
			}
		}
	}
	if found == nil {
		t.Fatalf("no finding for Task %s (%s on %s)", spec.id, spec.check, spec.enc)
	}
	spec.due = found.Due.Format(time.RFC3339)
	task := spec.resource()
	task["identifier"] = []any{obj{"system": opt.Writer.IdentifierSystem(), "value": opt.Writer.Identifier(found).Value}}
	data, _ := json.Marshal(task)
	read(spec.id+"-task.json", data)
	return computeFixturePeriod(t, resources, loc)
}

// TestStaleEncounterCounted: a stale encounter is a data-quality finding by
// its deadline month, and a data gap. The fixture gains e11, an emergency
// encounter (class EMER) recorded from 1 April 08:00 to 6 April 08:00: an
// emergency visit over 3 days is stale from 4 April 08:00 (start + 3 days),
// so April, where the fixture alone has neither, counts one stale encounter
// and one data gap.
func TestStaleEncounterCounted(t *testing.T) {
	t.Parallel()
	rep := fixtureReportWith(t, patient("p7"), coverage("c7", "p7", "medicare"),
		encounter("e11", "p7", segment{"EMER", "2026-04-01T08:00:00-04:00", "2026-04-06T08:00:00-04:00"}))
	for _, col := range []string{"stale-encounters", "data-gaps"} {
		checkValue(t, rep, golden{"data-quality-by-month", col, k("2026-04"), 1, false, "e11, an emergency visit of 5 days (the fixture has none in April)"})
	}
	checkValue(t, rep, golden{"data-quality-by-month", "stale-encounters", k("2026-03"), 0, false, "unchanged"})
}

// TestConditionCode44Counted: a stay changed from inpatient to observation
// is a Condition Code 44 case, by its finding's deadline month. The fixture
// gains e12, a Medicare stay: inpatient order 5 March 08:00, changed to
// observation at 20:00, discharged 6 March 12:00. The finding is due a day
// after the change or at discharge if sooner: 6 March 12:00, so March,
// where the fixture alone has none, counts one.
func TestConditionCode44Counted(t *testing.T) {
	t.Parallel()
	rep := fixtureReportWith(t, patient("p7"), coverage("c7", "p7", "medicare"),
		encounter("e12", "p7", segment{"IMP", "2026-03-05T08:00:00-05:00", "2026-03-05T20:00:00-05:00"},
			segment{"OBSENC", "2026-03-05T20:00:00-05:00", "2026-03-06T12:00:00-05:00"}))
	checkValue(t, rep, golden{"two-midnight-by-month", "condition-code-44", k("2026-03"), 1, false, "e12"})
	checkValue(t, rep, golden{"two-midnight-by-month", "condition-code-44", k("2026-04"), 0, false, "none in April"})
}

// fixtureReportWith is the report over the fixture plus extra resources.
func fixtureReportWith(t *testing.T, extra ...obj) *Report {
	t.Helper()
	var resources []*fhir.Resource
	for _, r := range append(fixtureResources(), extra...) {
		data, _ := json.Marshal(r)
		if errs := fhir.NewReader().ReadBytes(r["id"].(string)+".json", data, func(r *fhir.Resource) { resources = append(resources, r) }); len(errs) > 0 {
			t.Fatal(errs)
		}
	}
	return computeFixturePeriod(t, resources, newYork(t))
}
