package checks

import (
	"testing"

	"github.com/utilreview/utilreview/service/rules"
)

func TestObservationMOON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		segs []string
		asOf string
		rs   func() *rules.RuleSet
		due  string // "" for no finding
	}{
		{name: "exactly 24 h is not more than 24", segs: []string{"OBSENC 2026-03-02T10:00"}, asOf: "2026-03-03T10:00"},
		{name: "a minute over 24 h: due at hour 36", segs: []string{"OBSENC 2026-03-02T10:00"}, asOf: "2026-03-03T10:01", due: "2026-03-03T22:00"},
		{name: "hour 36 over spring forward is 37 clock hours", segs: []string{"OBSENC 2026-03-07T20:00"}, asOf: "2026-03-08T22:00", due: "2026-03-09T09:00"},
		{name: "hour 36 over fall back is 35 clock hours", segs: []string{"OBSENC 2026-10-31T20:00"}, asOf: "2026-11-01T22:00", due: "2026-11-02T07:00"},
		{name: "discharged at hour 30: due at discharge", segs: []string{"OBSENC 2026-03-02T10:00 2026-03-03T16:00"}, asOf: "2026-03-05T10:00", due: "2026-03-03T16:00"},
		{name: "admitted at hour 30: due at the inpatient order", segs: []string{"OBSENC 2026-03-02T10:00 2026-03-03T16:00", "IMP 2026-03-03T16:00"}, asOf: "2026-03-04T10:00", due: "2026-03-03T16:00"},
		{name: "observation of 40 h: due at hour 36", segs: []string{"OBSENC 2026-03-02T10:00 2026-03-04T02:00"}, asOf: "2026-03-05T10:00", due: "2026-03-03T22:00"},
		{name: "discharged at hour 20", segs: []string{"OBSENC 2026-03-02T10:00 2026-03-03T06:00"}, asOf: "2026-03-05T10:00"},
		{name: "payer-configured observation class", segs: []string{"OBS 2026-03-02T10:00"}, asOf: "2026-03-03T12:00", due: "2026-03-03T22:00"},
		{name: "ED time before observation does not count", segs: []string{"EMER 2026-03-02T00:00 2026-03-02T10:00", "OBSENC 2026-03-02T10:00"}, asOf: "2026-03-03T09:00"},
		{name: "open segment ends where the next begins", segs: []string{"OBSENC 2026-03-02T10:00", "IMP 2026-03-03T06:00"}, asOf: "2026-03-05T10:00"},
		{name: "not a Medicare beneficiary", segs: []string{"OBSENC 2026-03-02T10:00"}, asOf: "2026-03-03T12:00", rs: func() *rules.RuleSet {
			rs := enMedicare()
			rs.Program = rules.Commercial
			return rs
		}},
		{name: "MOON off", segs: []string{"OBSENC 2026-03-02T10:00"}, asOf: "2026-03-03T12:00", rs: func() *rules.RuleSet {
			rs := enMedicare()
			rs.Checks.Observation.MOON = false
			return rs
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rs := enMedicare()
			if tc.rs != nil {
				rs = tc.rs()
			}
			e := enStay(t, "o1", tc.segs...)
			// enStay takes the last segment's end as the stay's end; an open
			// segment followed by another is a class change, not a discharge.
			got := enReview(enRun(t, tc.asOf, rs), enPatient(e), CheckObservationMOON)
			if tc.due == "" {
				if len(got) != 0 {
					t.Fatalf("got %d findings, want none: %s", len(got), got[0].Description)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("got %d findings, want 1", len(got))
			}
			enCheckShape(t, got[0])
			enWantDue(t, got[0], enAt(t, tc.due))
		})
	}
}

func TestObservationSecondMidnight(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		segs []string
		asOf string
		lead int
		due  string
	}{
		{name: "before the lead time", segs: []string{"OBSENC 2026-03-02T20:00"}, asOf: "2026-03-03T17:59", lead: 6},
		{name: "at the lead time: about to cross", segs: []string{"OBSENC 2026-03-02T20:00"}, asOf: "2026-03-03T18:00", lead: 6, due: "2026-03-04T00:00"},
		{name: "no lead: raised at the second midnight", segs: []string{"OBSENC 2026-03-02T20:00"}, asOf: "2026-03-04T00:00", due: "2026-03-04T00:00"},
		{name: "no lead: a second before it", segs: []string{"OBSENC 2026-03-02T20:00"}, asOf: "2026-03-03T23:59:59"},
		{name: "ended before the second midnight", segs: []string{"OBSENC 2026-03-02T20:00 2026-03-03T23:00"}, asOf: "2026-03-05T10:00", lead: 6},
		{name: "ended exactly at the second midnight: present for it", segs: []string{"OBSENC 2026-03-02T20:00 2026-03-04T00:00"}, asOf: "2026-03-05T10:00", lead: 6, due: "2026-03-04T00:00"},
		{name: "observation started at midnight: that midnight is not one of the two", segs: []string{"OBSENC 2026-03-02T00:00"}, asOf: "2026-03-03T12:00", lead: 6},
		{name: "second midnight over spring forward", segs: []string{"OBSENC 2026-03-07T20:00"}, asOf: "2026-03-08T18:00", lead: 6, due: "2026-03-09T00:00"},
		{name: "second midnight over fall back", segs: []string{"OBSENC 2026-10-31T20:00"}, asOf: "2026-11-01T18:00", lead: 6, due: "2026-11-02T00:00"},
		{name: "admitted as inpatient: answered", segs: []string{"OBSENC 2026-03-02T20:00 2026-03-04T08:00", "IMP 2026-03-04T08:00"}, asOf: "2026-03-04T10:00", lead: 6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rs := enMedicare()
			rs.Checks.Observation.SecondMidnightLeadHours = tc.lead
			e := enStay(t, "o2", tc.segs...)
			got := enReview(enRun(t, tc.asOf, rs), enPatient(e), CheckObservationSecondMidnight)
			if tc.due == "" {
				if len(got) != 0 {
					t.Fatalf("got %d findings, want none: %s", len(got), got[0].Description)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("got %d findings, want 1", len(got))
			}
			enCheckShape(t, got[0])
			enWantDue(t, got[0], enAt(t, tc.due))
			if ev, _ := enEvidence(got[0], evSecondMidnight); ev.DateTime == nil || !ev.DateTime.Equal(enAt(t, tc.due)) {
				t.Errorf("second-midnight evidence %v", ev.DateTime)
			}
		})
	}
}

// observation-48h is raised the rule's lead (default 4 hours) before the
// limit while observation goes on, due at the limit: at hour 44 it is not
// overdue (Medicare Benefit Policy Manual ch. 6, 20.6: observation should
// rarely exceed 48 hours, so the decision is asked for before it does).
func TestObservation48h(t *testing.T) {
	t.Parallel()
	lead := func(n int) *int { return &n }
	tests := []struct {
		name   string
		segs   []string
		asOf   string
		limit  int
		lead   *int // nil: the default 4 hours
		due    string
		status string
	}{
		{name: "hour 43:59: not yet", segs: []string{"OBSENC 2026-03-02T10:00"}, asOf: "2026-03-04T05:59"},
		{name: "hour 44: raised, due at hour 48, not overdue", segs: []string{"OBSENC 2026-03-02T10:00"}, asOf: "2026-03-04T06:00", due: "2026-03-04T10:00", status: StatusDueSoon},
		{name: "exactly 48 h: due now", segs: []string{"OBSENC 2026-03-02T10:00"}, asOf: "2026-03-04T10:00", due: "2026-03-04T10:00", status: StatusDueSoon},
		{name: "a minute beyond 48 h", segs: []string{"OBSENC 2026-03-02T10:00"}, asOf: "2026-03-04T10:01", due: "2026-03-04T10:00", status: StatusOverdue},
		{name: "lead 0: not before the limit", segs: []string{"OBSENC 2026-03-02T10:00"}, asOf: "2026-03-04T09:59", lead: lead(0)},
		{name: "lead 0: raised at the limit", segs: []string{"OBSENC 2026-03-02T10:00"}, asOf: "2026-03-04T10:00", lead: lead(0), due: "2026-03-04T10:00", status: StatusDueSoon},
		{name: "lead 0: a minute beyond", segs: []string{"OBSENC 2026-03-02T10:00"}, asOf: "2026-03-04T10:01", lead: lead(0), due: "2026-03-04T10:00", status: StatusOverdue},
		{name: "lead 8: hour 40", segs: []string{"OBSENC 2026-03-02T10:00"}, asOf: "2026-03-04T02:00", lead: lead(8), due: "2026-03-04T10:00", status: StatusDueSoon},
		{name: "48 elapsed hours over spring forward", segs: []string{"OBSENC 2026-03-07T10:00"}, asOf: "2026-03-09T12:00", due: "2026-03-09T11:00", status: StatusOverdue},
		{name: "hour 44 over spring forward is 07:00", segs: []string{"OBSENC 2026-03-07T10:00"}, asOf: "2026-03-09T07:00", due: "2026-03-09T11:00", status: StatusDueSoon},
		{name: "finished at 50 h", segs: []string{"OBSENC 2026-03-02T10:00 2026-03-04T12:00"}, asOf: "2026-03-09T12:00", due: "2026-03-04T10:00", status: StatusOverdue},
		{name: "finished at 47 h: the limit was not reached", segs: []string{"OBSENC 2026-03-02T10:00 2026-03-04T09:00"}, asOf: "2026-03-09T12:00"},
		{name: "payer limit 24 h", segs: []string{"OBSENC 2026-03-02T10:00"}, asOf: "2026-03-03T11:00", limit: 24, due: "2026-03-03T10:00", status: StatusOverdue},
		{name: "payer limit 24 h: hour 20", segs: []string{"OBSENC 2026-03-02T10:00"}, asOf: "2026-03-03T06:00", limit: 24, due: "2026-03-03T10:00", status: StatusDueSoon},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rs := enMedicare()
			if tc.limit > 0 {
				rs.Checks.Observation.MaxHours = tc.limit
			}
			rs.Checks.Observation.MaxHoursLeadHours = tc.lead
			e := enStay(t, "o3", tc.segs...)
			got := enReview(enRun(t, tc.asOf, rs), enPatient(e), CheckObservation48h)
			if tc.due == "" {
				if len(got) != 0 {
					t.Fatalf("got %d findings, want none", len(got))
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("got %d findings, want 1", len(got))
			}
			f := got[0]
			enCheckShape(t, f)
			enWantDue(t, f, enAt(t, tc.due))
			if f.Owner != PhysicianAdvisor || f.Priority != Urgent || f.Status != tc.status {
				t.Errorf("owner %q priority %q status %q, want physician advisor, urgent, %s", f.Owner, f.Priority, f.Status, tc.status)
			}
		})
	}
	t.Run("observation checks off", func(t *testing.T) {
		rs := enMedicare()
		rs.Checks.Observation.Enabled = false
		e := enStay(t, "o4", "OBSENC 2026-03-02T10:00")
		for _, f := range enRun(t, "2026-03-05T10:00", rs).encounter(enPatient(e), e) {
			switch f.Check {
			case CheckObservationMOON, CheckObservationSecondMidnight, CheckObservation48h:
				t.Errorf("%s raised with observation checks off", f.Check)
			}
		}
	})
}
