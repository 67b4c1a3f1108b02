package checks

import (
	"strings"
	"testing"

	"github.com/utilreview/utilreview/service/facts"
	"github.com/utilreview/utilreview/service/rules"
)

// TestEncounterHorizons: each encounter check's finding is actionable up to
// its horizon and moot after it (business status missed, the horizon as
// evidence), as the check's Definition documents. Each row cites the rule
// the horizon comes from. before is an as-of at which the finding must be
// raised and actionable; after (when set) one at which it must be moot with
// the given horizon. A row without after checks that the finding has no
// horizon yet (a stay in progress) or none at all.
func TestEncounterHorizons(t *testing.T) {
	t.Parallel()
	limit90 := enMedicare()
	limit90.Checks.TimelyFiling = rules.TimelyFiling{Enabled: true, LimitDays: 90}
	tests := []struct {
		name, rule string
		rs         *rules.RuleSet
		segs       []string
		edit       func(p *facts.Patient, e *facts.Encounter)
		check      string
		episode    string // suffix of the stay key ("" for the stay itself), or "cycle-N"
		before     string // "" when the finding exists only after its horizon
		after      string
		horizon    string
	}{
		{name: "notification, discharged after the deadline: a day after discharge",
			rule: "payer manuals: notification opens concurrent review; 24 h grace (Definition)",
			rs:   enCommercial(t, false), segs: []string{"IMP 2026-03-02T10:00 2026-03-06T10:00"},
			check: CheckAdmissionNotification, before: "2026-03-07T09:59", after: "2026-03-07T10:01", horizon: "2026-03-07T10:00"},
		{name: "notification, discharged before the deadline: a day after the deadline",
			rule: "payer manuals: a notice within the payer's window is timely even after discharge",
			rs:   enCommercial(t, false), segs: []string{"IMP 2026-03-02T10:00 2026-03-02T20:00"},
			check: CheckAdmissionNotification, before: "2026-03-04T09:00", after: "2026-03-04T11:00", horizon: "2026-03-04T10:00"},
		{name: "notification, stay in progress: no horizon, however late",
			rule: "payer manuals: a late notice during the stay still opens concurrent review",
			rs:   enCommercial(t, false), segs: []string{"IMP 2026-03-02T10:00"},
			check: CheckAdmissionNotification, before: "2026-03-25T10:00"},
		{name: "two-midnight: the filing limit after discharge, 12 months without one",
			rule: "42 CFR 424.44 (12 months); 42 CFR 414.5 (Part B inpatient rebilling within the limit)",
			rs:   enMedicare(), segs: []string{"IMP 2026-03-02T10:00 2026-03-03T15:00"},
			check: CheckTwoMidnight, before: "2027-03-03T23:00", after: "2027-03-04T01:00", horizon: "2027-03-03T23:59:59"},
		{name: "two-midnight: the rule set's filing limit",
			rule: "checks.timely_filing.limit_days of the payer",
			rs:   limit90, segs: []string{"IMP 2026-03-02T10:00 2026-03-03T15:00"},
			check: CheckTwoMidnight, before: "2026-06-01T12:00", after: "2026-06-02T00:30", horizon: "2026-06-01T23:59:59"},
		{name: "MOON: until observation ends at the inpatient order",
			rule: "42 CFR 489.20(y); CMS-10611: delivered before admission, discharge or transfer",
			rs:   enMedicare(), segs: []string{"OBSENC 2026-03-02T10:00", "IMP 2026-03-03T20:00"},
			check: CheckObservationMOON, before: "2026-03-03T19:00", after: "2026-03-03T21:00", horizon: "2026-03-03T20:00"},
		{name: "second midnight: until observation ends at discharge",
			rule: "42 CFR 412.3: no inpatient order after discharge",
			rs:   enMedicare(), segs: []string{"OBSENC 2026-03-02T10:00 2026-03-04T14:00"},
			check: CheckObservationSecondMidnight, before: "2026-03-04T13:00", after: "2026-03-04T15:00", horizon: "2026-03-04T14:00"},
		{name: "48 hours: until observation ends",
			rule: "Medicare Benefit Policy Manual ch. 6, 20.6: the admit-or-discharge decision",
			rs:   enMedicare(), segs: []string{"OBSENC 2026-03-02T10:00 2026-03-04T14:00"},
			check: CheckObservation48h, before: "2026-03-04T13:00", after: "2026-03-04T15:00", horizon: "2026-03-04T14:00"},
		{name: "condition code 44: until discharge",
			rule: "42 CFR 482.30(d); Medicare Claims Processing Manual ch. 1, 50.3: before discharge",
			rs:   enMedicare(), segs: []string{"IMP 2026-03-02T10:00", "OBSENC 2026-03-03T10:00 2026-03-03T18:00"},
			check: CheckConditionCode44, before: "2026-03-03T17:00", after: "2026-03-03T19:00", horizon: "2026-03-03T18:00"},
		{name: "Important Message, initial copy: until discharge",
			rule: "42 CFR 405.1205(b): delivered in the hospital",
			rs:   enMedicare(), segs: []string{"IMP 2026-03-02T10:00 2026-03-03T12:00"},
			check: CheckImportantMessage, before: "2026-03-03T11:00", after: "2026-03-03T13:00", horizon: "2026-03-03T12:00"},
		{name: "Important Message, follow-up copy: known only after discharge, so moot at once",
			rule: "42 CFR 405.1205(c): no more than 2 days before discharge",
			rs:   enMedicare(), segs: []string{"IMP 2026-03-02T10:00 2026-03-08T10:00"},
			check: CheckImportantMessage, episode: "+follow-up", after: "2026-03-08T11:00", horizon: "2026-03-08T10:00"},
		{name: "length of stay: until discharge",
			rule: "42 CFR 482.30(d): continued stay is justified while the patient is in",
			rs:   enMedicare(), segs: []string{"IMP 2026-03-02T10:00 2026-03-09T10:00"},
			check: CheckLOSExceedsGMLOS, before: "2026-03-09T09:00", after: "2026-03-09T11:00", horizon: "2026-03-09T10:00"},
		{name: "continued-stay review overdue at discharge: left undone, moot",
			rule: "42 CFR 482.30(d); 42 CFR 456.128: reviews of patients in the hospital",
			rs:   enMedicare(), segs: []string{"IMP 2026-03-02T10:00 2026-03-09T10:00"},
			check: CheckContinuedStayReview, episode: "cycle-1", before: "2026-03-09T09:00", after: "2026-03-09T11:00", horizon: "2026-03-09T10:00"},
		{name: "SNF 3-day: until discharge",
			rule: "42 CFR 409.30: the patient is told before leaving",
			rs:   enMedicare(), segs: []string{"IMP 2026-03-02T10:00 2026-03-04T10:00"},
			edit:  func(_ *facts.Patient, e *facts.Encounter) { e.DischargeDisposition = nubc("03") },
			check: CheckSNFThreeDay, before: "2026-03-04T09:00", after: "2026-03-04T11:00", horizon: "2026-03-04T10:00"},
		{name: "missing coverage: the filing limit after discharge",
			rule: "42 CFR 424.44: insurance found later is billed within the limit",
			rs:   enMedicare(), segs: []string{"IMP 2026-03-02T10:00 2026-03-04T10:00"},
			edit:  func(_ *facts.Patient, e *facts.Encounter) { e.Payer = nil },
			check: CheckMissingCoverage, before: "2027-03-04T12:00", after: "2027-03-05T00:30", horizon: "2027-03-04T23:59:59"},
		{name: "readmission: the filing limit after the readmission's discharge",
			rule: "42 CFR 412.150-412.154 (HRRP measured from claims); 42 CFR 424.44",
			rs:   enMedicare(), segs: []string{"IMP 2026-01-20T10:00 2026-01-25T10:00"},
			edit: func(p *facts.Patient, _ *facts.Encounter) {
				idx := enAddEncounter(t, p, "index", "", "IMP 2026-01-02T10:00 2026-01-05T10:00")
				p.Encounters = append([]*facts.Encounter{idx}, p.Encounters[:len(p.Encounters)-1]...)
			},
			check: CheckReadmission30d, episode: "+urn:example:enc|s", before: "2027-01-25T12:00", after: "2027-01-26T00:30", horizon: "2027-01-25T23:59:59"},
		{name: "stale encounter: none, a record can always be corrected",
			rule: "utilreview data-quality rule",
			rs:   enMedicare(), segs: []string{"IMP 2024-01-02T10:00"},
			check: CheckStaleEncounter, before: "2030-01-01T10:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := enStay(t, "s", tt.segs...)
			p := enPatient(e)
			if tt.edit != nil {
				tt.edit(p, e)
			}
			eng := NewEngine(Config{Location: enLoc(t)}, enRules{rs: tt.rs, matched: true})
			find := func(asOf string) *Finding {
				for _, f := range eng.Review(p, enAt(t, asOf)) {
					if f.Check != tt.check || f.Encounter != e {
						continue
					}
					if tt.episode == "" && f.Episode == stayKey(e) || tt.episode != "" && strings.HasSuffix(f.Episode, tt.episode) {
						return &f
					}
				}
				return nil
			}
			if tt.before != "" {
				f := find(tt.before)
				if f == nil {
					t.Fatalf("%s: no finding as of %s", tt.rule, tt.before)
				}
				if f.Moot || f.Status == StatusMissed {
					t.Errorf("%s: moot as of %s (horizon %v), want actionable", tt.rule, tt.before, f.Horizon)
				}
				if tt.after == "" && !f.Horizon.IsZero() {
					t.Errorf("%s: horizon %v, want none", tt.rule, f.Horizon)
				}
			}
			if tt.after == "" {
				return
			}
			f := find(tt.after)
			if f == nil {
				t.Fatalf("%s: no finding as of %s", tt.rule, tt.after)
			}
			want := enAt(t, tt.horizon)
			if !f.Moot || f.Status != StatusMissed || !f.Horizon.Equal(want) {
				t.Errorf("%s: as of %s moot %v status %s horizon %v, want moot, missed, %v", tt.rule, tt.after, f.Moot, f.Status, f.Horizon, want)
			}
			if ev, ok := enEvidence(*f, EvActionableUntil); !ok || ev.DateTime == nil || !ev.DateTime.Equal(want) {
				t.Errorf("%s: actionable-until evidence %+v", tt.rule, ev)
			}
			if !strings.Contains(f.Description, "record it as missed") {
				t.Errorf("%s: description %q does not say it was missed", tt.rule, f.Description)
			}
		})
	}
}

// TestContinuedStayNotDueAtDischargeNoLongerHolds: in the hospital the stay
// has one open continued-stay review, the earliest cycle not closed
// (cycle-1, with the cycles missed since as evidence: issue 7 point 5);
// after discharge it stays as a moot finding (42 CFR 482.30(d)) and no
// later cycle is raised.
func TestContinuedStayNotDueAtDischargeNoLongerHolds(t *testing.T) {
	t.Parallel()
	e := enStay(t, "s", "IMP 2026-03-02T10:00 2026-03-09T10:00")
	p := enPatient(e)
	eng := NewEngine(Config{Location: enLoc(t)}, enRules{rs: enMedicare(), matched: true})
	cycles := func(asOf string) []string {
		var out []string
		for _, f := range eng.Review(p, enAt(t, asOf)) {
			if f.Check == CheckContinuedStayReview {
				out = append(out, f.Episode+" "+f.Status)
			}
		}
		return out
	}
	if got, want := strings.Join(cycles("2026-03-09T09:00"), ", "), "cycle-1 overdue"; got != want {
		t.Errorf("in the hospital: %s, want %s", got, want)
	}
	if got, want := strings.Join(cycles("2026-03-09T11:00"), ", "), "cycle-1 missed"; got != want {
		t.Errorf("after discharge: %s, want %s", got, want)
	}
}

// TestClaimHorizons: claim findings are actionable until the claim is
// adjudicated or its filing deadline passes; timely-filing for a
// documented 30-day grace after the deadline.
func TestClaimHorizons(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, rule string
		claim      func() *facts.Claim
		check      string
		before     string
		after      string
		horizon    string
	}{
		{name: "MUE edit: until the filing deadline (365 days in the test rules)",
			rule: "42 CFR 424.44; NCCI MUE edits are worked before the payer decides",
			claim: func() *facts.Claim {
				return clClaim("m", "2025-03-05T10:00", clLine(1, "97110", "2025-03-04", 5))
			},
			check: CheckMUEExceeded, before: "2026-03-04T12:00", after: "2026-03-05T01:00", horizon: "2026-03-04T23:59:59"},
		{name: "MUE edit: until the claim is adjudicated",
			rule: "an ExplanationOfBenefit with outcome complete: the payer has decided",
			claim: func() *facts.Claim {
				c := clClaim("m", "2025-03-05T10:00", clLine(1, "97110", "2025-03-04", 5))
				c.Accepted, c.AcceptedAt = true, clAt("2025-03-10T09:00")
				return c
			},
			check: CheckMUEExceeded, after: "2025-03-10T10:00", horizon: "2025-03-10T09:00"},
		{name: "timely filing: 30 days after the deadline",
			rule: "42 CFR 424.44(b): proof of timely filing or an exception",
			claim: func() *facts.Claim {
				c := clClaim("l", "2025-03-05T10:00", clLine(1, "99213", "2024-01-04", 1))
				c.BillableEnd = clAt("2024-01-04T17:00")
				return c
			},
			check: CheckTimelyFiling, before: "2025-02-02T12:00", after: "2025-02-03T00:30", horizon: "2025-02-02T23:59:59"},
		{name: "timely filing: a claim years past its limit is history",
			rule: "42 CFR 424.44",
			claim: func() *facts.Claim {
				c := clClaim("l", "2016-03-05T10:00", clLine(1, "99213", "2016-03-04", 1))
				c.BillableEnd = clAt("2016-03-04T17:00")
				return c
			},
			check: CheckTimelyFiling, after: "2021-04-01T12:00", horizon: "2017-04-03T23:59:59"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := tt.claim()
			p := clPatient(nil, c)
			eng := NewEngine(Config{Location: clLoc}, clSource(clMedicareRules()))
			find := func(asOf string) *Finding {
				for _, f := range eng.Review(p, clAt(asOf)) {
					if f.Check == tt.check {
						return &f
					}
				}
				return nil
			}
			if tt.before != "" {
				f := find(tt.before)
				if f == nil || f.Moot {
					t.Fatalf("%s: as of %s want an actionable finding, got %+v", tt.rule, tt.before, f)
				}
			}
			f := find(tt.after)
			want := enAt(t, tt.horizon)
			if f == nil || !f.Moot || f.Status != StatusMissed || !f.Horizon.Equal(want) {
				t.Fatalf("%s: as of %s want moot with horizon %v, got %+v", tt.rule, tt.after, want, f)
			}
		})
	}
}

// TestMootReviewHoldsNoClaim: a review past its horizon can no longer
// change the claim, so it does not hold it (claim-before-determination);
// the same review while the patient is in does.
func TestMootReviewHoldsNoClaim(t *testing.T) {
	t.Parallel()
	rs := enMedicare()
	rs.Checks.ClaimBeforeDetermination = rules.Switch{Enabled: true}
	// The admission review (status can still change) holds the claim; a
	// continued-stay review does not (issue 7 point 8).
	rs.Checks.AdmissionReview = rules.AdmissionReview{Enabled: true, BusinessDays: 1}
	e := enStay(t, "s", "IMP 2026-03-02T10:00 2026-03-09T10:00")
	c := &facts.Claim{Ref: "Claim/c", Key: "Claim/c", Status: "active", Use: "claim", Type: "institutional",
		Created: enAt(t, "2026-03-08T10:00"), Encounters: []*facts.Encounter{e}}
	p := enPatient(e)
	p.Claims = []*facts.Claim{c}
	c.Patient = p
	eng := NewEngine(Config{Location: enLoc(t)}, enRules{rs: rs, matched: true})
	held := func(asOf string) bool {
		for _, f := range eng.Review(p, enAt(t, asOf)) {
			if f.Check == CheckClaimBeforeDetermination {
				return true
			}
		}
		return false
	}
	if !held("2026-03-09T09:00") {
		t.Errorf("in the hospital, with reviews open: claim not held")
	}
	if held("2026-03-09T11:00") {
		t.Errorf("after discharge, the reviews are moot: claim still held")
	}
}

// TestNextChangeAtHorizon: the live service wakes when a finding's horizon
// passes, so that its Task is marked missed on time.
func TestNextChangeAtHorizon(t *testing.T) {
	t.Parallel()
	e := enStay(t, "s", "IMP 2026-03-02T10:00 2026-03-06T10:00")
	p := enPatient(e)
	eng := NewEngine(Config{Location: enLoc(t)}, enRules{rs: enCommercial(t, false), matched: true})
	asOf := enAt(t, "2026-03-06T11:00")
	fs := eng.Review(p, asOf)
	if got, want := eng.NextChange(p, fs, asOf), enAt(t, "2026-03-07T10:00").Add(wakeSlack); !got.Equal(want) {
		t.Errorf("next change %v, want the notification's horizon %v", got, want)
	}
}

// TestDefinitionsHaveHorizons: every built-in check documents its horizon
// and has a rule of its own; docs/checks.md shows it.
func TestDefinitionsHaveHorizons(t *testing.T) {
	t.Parallel()
	for _, d := range Definitions() {
		if _, ok := horizonOf(d.ID); !ok {
			t.Errorf("%s: no horizon rule in horizons", d.ID)
		}
		if d.Horizon == "" {
			t.Errorf("%s: Definition.Horizon is empty", d.ID)
		}
	}
	for id := range horizons {
		found := false
		for _, d := range Definitions() {
			found = found || d.ID == id
		}
		if !found {
			t.Errorf("horizon for unknown check %s", id)
		}
	}
	if !strings.Contains(string(DocMarkdown()), "**Actionable until:**") {
		t.Errorf("docs do not show the horizons")
	}
}
