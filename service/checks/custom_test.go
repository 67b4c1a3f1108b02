package checks

import (
	"strings"
	"testing"
	"time"

	"github.com/utilreview/utilreview/fhir"
	"github.com/utilreview/utilreview/service/facts"
	"github.com/utilreview/utilreview/service/rules"
)

// Synthetic custom checks in the shape of the shipped examples.

func clCustomRules(t *testing.T, checks ...*rules.CustomCheck) *rules.RuleSet {
	t.Helper()
	env, err := rules.NewCELEnv()
	if err != nil {
		t.Fatal(err)
	}
	for _, cc := range checks {
		if werr, merr := cc.Compile(env); werr != nil || merr != nil {
			t.Fatalf("compile %s: %v %v", cc.ID, werr, merr)
		}
	}
	rs := clOff()
	rs.Custom = checks
	return rs
}

func TestCustomEncounter(t *testing.T) {
	t.Parallel()
	long := &rules.CustomCheck{ID: "long-stay", On: "encounter", Priority: "urgent", Owner: "physician-advisor", DeadlineHours: 24,
		When:    `encounter.in_progress && los_days > 5`,
		Message: `Stay at {{.los_days}} inpatient days ({{.midnights}} midnights in hospital).`}
	obs := &rules.CustomCheck{ID: "obs-long", On: "encounter", Priority: "routine", DeadlineHours: 2,
		When:    `encounter.observation_hours > 30.0`,
		Message: `Observation {{.encounter.observation_hours}} h.`}
	ended := &rules.CustomCheck{ID: "needs-end", On: "encounter", When: `encounter.end > encounter.start`, Message: "x"}
	claimOnly := &rules.CustomCheck{ID: "claim-only", On: "claim", When: `true`, Message: "x"}
	rs := clCustomRules(t, long, obs, ended, claimOnly)

	// ED 2025-03-01 20:00, observation 03-01 22:00 .. 03-03 08:00 (34 h),
	// inpatient from 03-03 08:00, in progress.
	mk := func(status string) *facts.Encounter {
		return &facts.Encounter{Ref: "Encounter/e", Key: "urn:mrn|V1", Status: status, Class: "IMP", Start: clAt("2025-03-01T20:00"), Payer: clMedicare,
			Segments: []facts.Segment{
				{Class: "EMER", Start: clAt("2025-03-01T20:00"), End: clAt("2025-03-01T22:00")},
				{Class: "OBSENC", Start: clAt("2025-03-01T22:00"), End: clAt("2025-03-03T08:00")},
				{Class: "IMP", Start: clAt("2025-03-03T08:00")},
			}}
	}
	tests := []struct {
		name   string
		status string
		asOf   string
		want   []string
	}{
		{"day 5: only the observation check", "in-progress", "2025-03-08T12:00", []string{"custom:obs-long"}},
		{"day 6: both", "in-progress", "2025-03-09T00:30", []string{"custom:long-stay", "custom:obs-long"}},
		{"entered in error: none", "entered-in-error", "2025-03-09T00:30", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := mk(tt.status)
			p := clPatient([]*facts.Encounter{e})
			got := clRun(tt.asOf, clSource(rs)).customEncounter(p, e)
			var ids []string
			for _, f := range got {
				ids = append(ids, f.Check)
				clCheckEvidence(t, f)
				if f.FocusRef != "Encounter/e" || f.FocusKey != "urn:mrn|V1" || f.Episode != "urn:mrn|V1" || f.Encounter != e || f.Patient != p || f.RuleSet != rs {
					t.Errorf("%s: focus %q key %q episode %q", f.Check, f.FocusRef, f.FocusKey, f.Episode)
				}
			}
			if strings.Join(ids, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("got %v, want %v", ids, tt.want)
			}
			for _, f := range got {
				switch f.Check {
				case "custom:long-stay":
					if f.Description != "Stay at 6 inpatient days (8 midnights in hospital)." {
						t.Errorf("description %q", f.Description)
					}
					if f.Priority != Urgent || f.Owner != PhysicianAdvisor || !f.Due.Equal(e.Start.Add(24*time.Hour)) || f.Status != StatusOverdue {
						t.Errorf("long-stay: priority %s owner %s due %v status %s", f.Priority, f.Owner, f.Due, f.Status)
					}
				case "custom:obs-long":
					if f.Description != "Observation 34 h." || f.Priority != Routine || f.Owner != URTeam {
						t.Errorf("obs-long: %q %s %s", f.Description, f.Priority, f.Owner)
					}
				}
			}
		})
	}
}

// TestCustomEncounterStay: custom checks see the stay as the built-in checks
// do: nothing for stays those skip, and the timeline as of the review time.
func TestCustomEncounterStay(t *testing.T) {
	t.Parallel()
	long := &rules.CustomCheck{ID: "long-stay", On: "encounter", When: `encounter.in_progress && los_days > 5`,
		Message: `{{.los_days}} days, {{.midnights}} midnights`}
	ended := &rules.CustomCheck{ID: "ended", On: "encounter", When: `!encounter.in_progress && encounter.end > encounter.start`,
		Message: `{{.los_days}} days, {{.midnights}} midnights`}
	rs := clCustomRules(t, long, ended)
	tests := []struct {
		name   string
		status string
		end    string
		asOf   string
		want   string // "check: description", "" for none
	}{
		{"in progress on day 6", "in-progress", "", "2025-03-09T00:30", "custom:long-stay: 6 days, 8 midnights"},
		{"discharge after the review time is not yet known", "finished", "2025-03-20T10:00", "2025-03-09T00:30", "custom:long-stay: 6 days, 8 midnights"},
		{"discharged", "finished", "2025-03-09T10:00", "2025-03-20T10:00", "custom:ended: 6 days, 8 midnights"},
		{"stale: one stale-encounter finding instead", "in-progress", "", "2026-04-01T10:00", ""},
		{"planned", "planned", "", "2025-03-09T00:30", ""},
		{"cancelled", "cancelled", "", "2025-03-09T00:30", ""},
		{"starts after the review time", "in-progress", "", "2025-03-01T10:00", ""},
		{"finished without any end", "no-end", "", "2025-03-20T10:00", ""},
		{"start known to the month only", "imprecise", "", "2025-03-09T00:30", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := &facts.Encounter{Ref: "Encounter/e", Key: "urn:mrn|V1", Status: tt.status, Class: "IMP", Start: clAt("2025-03-01T20:00"), Payer: clMedicare,
				Segments: []facts.Segment{
					{Class: "EMER", Start: clAt("2025-03-01T20:00"), End: clAt("2025-03-03T08:00")},
					{Class: "IMP", Start: clAt("2025-03-03T08:00")},
				}}
			if tt.end != "" {
				e.End = clAt(tt.end)
				e.Segments[1].End = e.End
			}
			if tt.status == "no-end" {
				e.Status, e.Segments = "finished", e.Segments[1:]
			}
			if tt.status == "imprecise" {
				e.Status, e.StartPrecision = "in-progress", fhir.Month
			}
			p := clPatient([]*facts.Encounter{e})
			var got []string
			for _, f := range clRun(tt.asOf, clSource(rs)).customEncounter(p, e) {
				got = append(got, f.Check+": "+f.Description)
			}
			if strings.Join(got, "; ") != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCustomClaim(t *testing.T) {
	t.Parallel()
	imaging := &rules.CustomCheck{ID: "imaging-without-preauth", On: "claim", Priority: "urgent", Owner: "ur-team", DeadlineHours: 48,
		When:    `claim.use == "claim" && !claim.has_preauth && claim.line_codes.exists(c, c in ["70551", "72148"])`,
		Message: `Advanced imaging ({{range $i, $c := .claim.line_codes}}{{if $i}}, {{end}}{{$c}}{{end}}) without prior authorization.`}
	old := &rules.CustomCheck{ID: "senior", On: "claim", Priority: "bogus", Owner: "nobody", When: `patient.age_years >= 65`, Message: `{{.patient.age_years}} years`}
	rs := clCustomRules(t, imaging, old)
	tests := []struct {
		name string
		mut  func(*facts.Claim, *facts.Patient)
		want []string
	}{
		{"imaging without authorization", nil, []string{"custom:imaging-without-preauth"}},
		{"with authorization", func(c *facts.Claim, _ *facts.Patient) { c.PreAuthRefs = []string{"A1"} }, nil},
		{"predetermination ignored", func(c *facts.Claim, _ *facts.Patient) { c.Use = "predetermination" }, nil},
		{"cancelled ignored", func(c *facts.Claim, _ *facts.Patient) { c.Status = "cancelled" }, nil},
		{"age 65 on the claim's date", func(c *facts.Claim, p *facts.Patient) {
			c.PreAuthRefs = []string{"A1"}
			p.BirthDate = time.Date(1960, 3, 4, 0, 0, 0, 0, time.UTC)
		}, []string{"custom:senior"}},
		{"65th birthday the day after", func(c *facts.Claim, p *facts.Patient) {
			c.PreAuthRefs = []string{"A1"}
			p.BirthDate = time.Date(1960, 3, 5, 0, 0, 0, 0, time.UTC)
		}, nil},
		{"birth date unknown: age -1", func(c *facts.Claim, _ *facts.Patient) { c.PreAuthRefs = []string{"A1"} }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := clClaim("c", "2025-03-04T10:00", clLine(1, "70551", "2025-03-04", 1))
			c.BillableStart = clAt("2025-03-04T09:00")
			p := clPatient(nil, c)
			if tt.mut != nil {
				tt.mut(c, p)
			}
			got := clRun("2025-03-05T09:00", clSource(rs)).customClaim(p, c)
			var ids []string
			for _, f := range got {
				ids = append(ids, f.Check)
				clCommon(t, f, c)
			}
			if strings.Join(ids, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("got %v, want %v", ids, tt.want)
			}
			for _, f := range got {
				switch f.Check {
				case "custom:imaging-without-preauth":
					if f.Description != "Advanced imaging (70551) without prior authorization." || f.Priority != Urgent || f.Owner != URTeam ||
						!f.Due.Equal(c.Created.Add(48*time.Hour)) || f.Status != StatusAwaitingReview || f.Episode != c.Key {
						t.Errorf("imaging: %q %s %s %v %s", f.Description, f.Priority, f.Owner, f.Due, f.Status)
					}
					if w := clEvidence(f, EvCustomRule); len(w) != 1 || !strings.Contains(*w[0].String, "has_preauth") {
						t.Errorf("custom-rule evidence %v", w)
					}
				case "custom:senior":
					// Unknown priority and owner fall back to routine and the UR team.
					if f.Description != "65 years" || f.Priority != Routine || f.Owner != URTeam || !f.Due.Equal(c.Created) {
						t.Errorf("senior: %q %s %s %v", f.Description, f.Priority, f.Owner, f.Due)
					}
				}
			}
		})
	}
}

func TestCustomNotCompiledOrNoRules(t *testing.T) {
	t.Parallel()
	// A check never compiled cannot be evaluated: it does not fire.
	rs := clOff()
	rs.Custom = []*rules.CustomCheck{{ID: "raw", On: "claim", When: "true", Message: "x"}, nil}
	c := clClaim("c", "2025-03-04T10:00", clLine(1, "70551", "2025-03-04", 1))
	p := clPatient(nil, c)
	if got := clRun("2025-03-05T09:00", clSource(rs)).customClaim(p, c); len(got) != 0 {
		t.Errorf("uncompiled: got %d findings, want 0", len(got))
	}
	r := clRun("2025-03-05T09:00", clRules{})
	if got := r.customClaim(p, c); len(got) != 0 {
		t.Errorf("no rule set: got %d findings", len(got))
	}
	if got := r.customEncounter(p, &facts.Encounter{}); len(got) != 0 {
		t.Errorf("no rule set, empty encounter: got %d findings", len(got))
	}
	if r.customClaim(p, nil) != nil || r.customEncounter(p, nil) != nil {
		t.Error("nil focus: want nil")
	}
}

func TestCustomViaEngine(t *testing.T) {
	t.Parallel()
	// The engine runs custom checks after the built-in ones and sorts by due time.
	cc := &rules.CustomCheck{ID: "any-claim", On: "claim", DeadlineHours: 1, When: `claim.type == "institutional"`, Message: "{{.claim.type}} claim"}
	rs := clCustomRules(t, cc)
	c := clClaim("c", "2025-03-04T10:00", clLine(1, "70551", "2025-03-04", 1))
	p := clPatient(nil, c)
	got := NewEngine(Config{Location: clLoc}, clSource(rs)).Review(p, clAt("2025-03-05T09:00"))
	if len(got) != 1 || got[0].Check != "custom:any-claim" || got[0].Description != "institutional claim" {
		t.Fatalf("got %+v, want one custom:any-claim finding", got)
	}
}

// The deadline counts from what the rule data names.
func TestCustomDeadlineFrom(t *testing.T) {
	t.Parallel()
	// ED 2025-03-01 20:00, inpatient 03-02 08:00, discharged 03-09 10:00.
	e := &facts.Encounter{Ref: "Encounter/e", Key: "Encounter/e", Status: "finished", Class: "IMP",
		Start: clAt("2025-03-01T20:00"), End: clAt("2025-03-09T10:00"), Payer: clMedicare,
		Segments: []facts.Segment{
			{Class: "EMER", Start: clAt("2025-03-01T20:00"), End: clAt("2025-03-02T08:00")},
			{Class: "IMP", Start: clAt("2025-03-02T08:00"), End: clAt("2025-03-09T10:00")},
		}}
	inProgress := *e
	inProgress.Status, inProgress.End = "in-progress", time.Time{}
	inProgress.Segments = []facts.Segment{e.Segments[0], {Class: "IMP", Start: clAt("2025-03-02T08:00")}}
	tests := []struct {
		from string
		enc  *facts.Encounter
		asOf string
		want string // due = base + 10 h
	}{
		{"", e, "2025-03-20T12:00", "2025-03-02T06:00"},
		{rules.DeadlineFromStart, e, "2025-03-20T12:00", "2025-03-02T06:00"},
		{rules.DeadlineFromInpatientOrder, e, "2025-03-20T12:00", "2025-03-02T18:00"},
		{rules.DeadlineFromDischarge, e, "2025-03-20T12:00", "2025-03-09T20:00"},
		{rules.DeadlineFromDischarge, &inProgress, "2025-03-05T12:00", "2025-03-05T22:00"},
		{rules.DeadlineFromReview, e, "2025-03-20T12:00", "2025-03-20T22:00"},
	}
	for _, tt := range tests {
		cc := &rules.CustomCheck{ID: "any", On: "encounter", DeadlineHours: 10, DeadlineFrom: tt.from, When: `true`, Message: "x"}
		rs := clCustomRules(t, cc)
		got := clRun(tt.asOf, clSource(rs)).customEncounter(clPatient([]*facts.Encounter{tt.enc}), tt.enc)
		if len(got) != 1 {
			t.Fatalf("from %q: got %d findings, want 1", tt.from, len(got))
		}
		if want := clAt(tt.want); !got[0].Due.Equal(want) {
			t.Errorf("from %q (%s): due %v, want %v", tt.from, tt.enc.Status, got[0].Due, want)
		}
	}
}

// A custom check whose expression cannot be evaluated on the facts does not
// fire, and the engine says so through Config.OnCustomError.
func TestCustomEvalErrorReported(t *testing.T) {
	t.Parallel()
	ended := &rules.CustomCheck{ID: "needs-end", On: "encounter", DeadlineHours: 1, When: `encounter.end > encounter.start`, Message: "x"}
	rs := clCustomRules(t, ended)
	e := &facts.Encounter{Ref: "Encounter/e", Key: "Encounter/e", Status: "in-progress", Class: "IMP", Start: clAt("2025-03-01T20:00"), Payer: clMedicare,
		Segments: []facts.Segment{{Class: "IMP", Start: clAt("2025-03-01T20:00")}}}
	p := clPatient([]*facts.Encounter{e})
	var got []string
	r := clRun("2025-03-03T12:00", clSource(rs))
	r.cfg.OnCustomError = func(check string, err error) {
		if err == nil {
			t.Error("OnCustomError called without an error")
		}
		got = append(got, check)
	}
	if fs := r.customEncounter(p, e); len(fs) != 0 {
		t.Errorf("got %d findings from a check that could not decide, want none", len(fs))
	}
	if strings.Join(got, ",") != "custom:needs-end" {
		t.Errorf("OnCustomError heard %v, want [custom:needs-end]", got)
	}
}
