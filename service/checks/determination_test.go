package checks

import (
	"testing"
	"time"

	"github.com/utilreview/utilreview/service/facts"
	"github.com/utilreview/utilreview/service/rules"
)

const detSystem = "https://utilreview.dev/fhir/identifier/finding"

// detTask is a completed utilreview Task on the stay with a determination.
func detTask(id, check, code string, completed time.Time, edit func(t *facts.Task)) *facts.Task {
	t := &facts.Task{
		Ref: "Task/" + id, Version: "2", Status: "completed",
		Identifiers: []facts.Identifier{{System: detSystem, Value: check + "-" + id}},
		Codes:       []facts.Code{{System: "https://utilreview.dev/fhir/CodeSystem/check", Code: check}},
		Focus:       "Encounter/d1", Encounter: "Encounter/d1",
		Owner: "Practitioner/nurse-1", Completed: completed,
		Determination: &facts.Determination{Code: code, Display: facts.X12ReviewActionCodes[code]},
	}
	if edit != nil {
		edit(t)
	}
	return t
}

// detReview runs the engine with the shipped rule sets over one stay paid
// by payer and the Tasks given.
func detReview(t *testing.T, payer string, reviewer func(*facts.Task) bool, tasks ...*facts.Task) []Finding {
	t.Helper()
	reg, err := rules.LoadDefaults()
	if err != nil {
		t.Fatal(err)
	}
	loc := enLoc(t)
	e := enStay(t, "d1", "IMP 2026-11-20T10:00")
	e.Payer = &facts.Payer{Name: payer}
	p := enPatient(e)
	p.Tasks = tasks
	eng := NewEngine(Config{Location: loc, IdentifierSystem: detSystem, Reviewer: reviewer}, reg)
	var out []Finding
	for _, f := range eng.Review(p, time.Date(2026, 11, 25, 18, 0, 0, 0, loc)) {
		switch f.Check {
		case CheckDeterminationReviewer, CheckDeterminationAppeal, CheckDeterminationNotice, CheckDeterminationPended:
			out = append(out, f)
		}
	}
	return out
}

// TestDeterminationFollowUps: the work that follows a determination, with
// the payer's windows from rule data (docs/rules.md, checks.determination).
func TestDeterminationFollowUps(t *testing.T) {
	loc := enLoc(t)
	// Wednesday 2026-11-25, the day before Thanksgiving (a federal holiday
	// in the shipped calendar).
	at := time.Date(2026, 11, 25, 15, 0, 0, 0, loc)
	eod := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 23, 59, 59, 0, loc) }
	nurses := func(t *facts.Task) bool { return t.Owner == "Practitioner/nurse-1" }
	type want struct {
		check   string
		due     time.Time
		horizon time.Time
		source  string
	}
	tests := []struct {
		name     string
		payer    string
		check    string // the reviewed Task's check
		code     string
		edit     func(t *facts.Task)
		reviewer func(*facts.Task) bool
		want     []want
	}{
		{name: "A1 certified: nothing follows", payer: "medicare", code: "A1"},
		{name: "A2 partial: nothing follows", payer: "medicare", code: "A2"},
		{name: "A6 modified: nothing follows (the ClaimResponse records what was authorized)", payer: "medicare", code: "A6"},
		// Medicare FFS: no peer-to-peer (0), redetermination within 120 days (42 CFR 405.942(a)).
		{name: "A3 Medicare FFS: appeal in 120 days", payer: "medicare", code: "A3",
			want: []want{{check: CheckDeterminationAppeal, due: eod(2027, 3, 25), horizon: eod(2027, 3, 25)}}},
		// Medicaid (illustrative): peer-to-peer 14 days, appeal 60 days
		// (42 CFR 438.402(c)(2)(ii)), written notice within 2 working days
		// (42 CFR 456.126 admission; 456.136-137 continued stay): Thursday
		// is Thanksgiving, so Friday and Monday are the working days.
		{name: "A3 Medicaid admission: peer-to-peer, appeal and notice", payer: "Example State Medicaid", check: CheckAdmissionReview, code: "A3",
			want: []want{ // in order of due time
				{check: CheckDeterminationNotice, due: eod(2026, 11, 30), source: "42 CFR 456.126 (admission review, notice of adverse decision)"},
				{check: CheckDeterminationAppeal, due: eod(2026, 12, 9), horizon: eod(2027, 1, 24)},
			}},
		{name: "A3 Medicaid continued stay: the continued-stay source", payer: "Example State Medicaid", check: CheckContinuedStayReview, code: "A3",
			want: []want{ // in order of due time
				{check: CheckDeterminationNotice, due: eod(2026, 11, 30), source: "42 CFR 456.136-456.137 (continued stay review, notice of adverse decision within 2 working days)"},
				{check: CheckDeterminationAppeal, due: eod(2026, 12, 9), horizon: eod(2027, 1, 24)},
			}},
		{name: "A3 default commercial: the documented defaults 14 and 60", payer: "private", code: "A3",
			want: []want{{check: CheckDeterminationAppeal, due: eod(2026, 12, 9), horizon: eod(2027, 1, 24)}}},
		{name: "A4 pended with next-review", payer: "medicare", code: "A4",
			edit: func(t *facts.Task) { t.Determination.NextReview = time.Date(2026, 11, 27, 12, 0, 0, 0, loc) },
			want: []want{{check: CheckDeterminationPended, due: time.Date(2026, 11, 27, 12, 0, 0, 0, loc)}}},
		{name: "A4 pended without: next business day (Thanksgiving skipped)", payer: "medicare", code: "A4",
			want: []want{{check: CheckDeterminationPended, due: eod(2026, 11, 27)}}},
		{name: "non-reviewer: not recorded, a reviewer determines", payer: "Example State Medicaid", code: "A3",
			reviewer: func(*facts.Task) bool { return false },
			want:     []want{{check: CheckDeterminationReviewer, due: eod(2026, 11, 27)}}},
		{name: "reviewer set that holds the owner", payer: "medicare", code: "A4", reviewer: nurses,
			want: []want{{check: CheckDeterminationPended, due: eod(2026, 11, 27)}}},
		{name: "not completed: nothing", payer: "medicare", code: "A3",
			edit: func(t *facts.Task) { t.Status = "in-progress" }},
		{name: "not a utilreview Task: nothing", payer: "medicare", code: "A3",
			edit: func(t *facts.Task) { t.Identifiers[0].System = "urn:other" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check := tt.check
			if check == "" {
				check = CheckAdmissionReview
			}
			task := detTask("t1", check, tt.code, at, tt.edit)
			got := detReview(t, tt.payer, tt.reviewer, task)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d follow-ups %v, want %d", len(got), checksOf(got), len(tt.want))
			}
			for i, w := range tt.want {
				f := got[i]
				if f.Check != w.check || !f.Due.Equal(w.due) {
					t.Errorf("follow-up %d: %s due %s, want %s due %s", i, f.Check, f.Due, w.check, w.due)
				}
				if !f.Horizon.Equal(w.horizon) {
					t.Errorf("%s: horizon %s, want %s", f.Check, f.Horizon, w.horizon)
				}
				if f.Episode != task.Identifiers[0].Value || f.FocusRef != "Encounter/d1" {
					t.Errorf("%s: episode %q focus %q, want the Task's identifier and its focus", f.Check, f.Episode, f.FocusRef)
				}
				if !hasEvidence(f.Evidence, evDeterminedTask) || !hasEvidence(f.Evidence, evDetermination) {
					t.Errorf("%s: evidence %v lacks the determined Task and code", f.Check, f.Evidence)
				}
				if w.source != "" {
					found := false
					for _, ev := range f.Evidence {
						found = found || ev.Type == evRuleSource && ev.String != nil && *ev.String == w.source
					}
					if !found {
						t.Errorf("%s: no rule-source %q in %v", f.Check, w.source, f.Evidence)
					}
				}
			}
		})
	}
}

// TestDeterminationOutsideWindow: a stay that ended before the review
// window (review --since, UTILREVIEW_REVIEW_WINDOW_DAYS) gets no follow-up.
func TestDeterminationOutsideWindow(t *testing.T) {
	reg, err := rules.LoadDefaults()
	if err != nil {
		t.Fatal(err)
	}
	loc := enLoc(t)
	at := time.Date(2026, 11, 25, 15, 0, 0, 0, loc)
	for _, tt := range []struct {
		since time.Time
		want  int
	}{{time.Time{}, 1}, {time.Date(2026, 11, 1, 0, 0, 0, 0, loc), 1}, {time.Date(2026, 12, 1, 0, 0, 0, 0, loc), 0}} {
		e := enStay(t, "d1", "IMP 2026-11-20T10:00 2026-11-24T10:00")
		e.Payer = &facts.Payer{Name: "medicare"}
		p := enPatient(e)
		p.Tasks = []*facts.Task{detTask("t1", CheckAdmissionReview, "A4", at, nil)}
		eng := NewEngine(Config{Location: loc, IdentifierSystem: detSystem, Since: tt.since}, reg)
		n := 0
		for _, f := range eng.Review(p, time.Date(2026, 12, 5, 12, 0, 0, 0, loc)) {
			if f.Check == CheckDeterminationPended {
				n++
			}
		}
		if n != tt.want {
			t.Errorf("since %s: %d pended follow-ups, want %d", tt.since, n, tt.want)
		}
	}
}

func checksOf(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Check+"@"+f.Due.String())
	}
	return out
}

// determinationDefinitionFindings reach every determination check, for
// TestFindingsFollowDefinitions.
func determinationDefinitionFindings(t *testing.T) []Finding {
	loc := enLoc(t)
	at := time.Date(2026, 11, 25, 15, 0, 0, 0, loc)
	var out []Finding
	out = append(out, detReview(t, "Example State Medicaid", nil, detTask("a", CheckAdmissionReview, "A3", at, nil))...)
	out = append(out, detReview(t, "medicare", nil, detTask("b", CheckAdmissionReview, "A4", at, nil))...)
	out = append(out, detReview(t, "medicare", func(*facts.Task) bool { return false }, detTask("c", CheckAdmissionReview, "A1", at, nil))...)
	return out
}
