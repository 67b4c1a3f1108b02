package checks

import (
	"reflect"
	"strings"
	"testing"
)

// A record whose period cannot be right gets one stale-encounter
// data-quality finding (utilreview data-quality rule; issue 7 point 14):
// still in progress after the stale threshold (--stale-days), finished but
// longer than it, or an emergency encounter longer than 3 days.
func TestStaleEncounter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		segs    []string
		asOf    string
		after   int
		episode string // suffix of the stay key; "-" for no finding
		due     string // "" when due at the stay's start + the threshold
	}{
		{name: "in progress 400 days", segs: []string{"IMP 2025-01-01T10:00"}, asOf: "2026-02-05T10:00"},
		{name: "exactly 365 days is not yet stale", segs: []string{"IMP 2025-03-02T10:00"}, asOf: "2026-03-02T10:00", episode: "-"},
		{name: "a minute after 365 days", segs: []string{"IMP 2025-03-02T10:00"}, asOf: "2026-03-02T10:01"},
		{name: "configured 30 days", segs: []string{"IMP 2026-01-01T10:00"}, asOf: "2026-02-05T10:00", after: 30},
		{name: "finished after 4 days is not stale", segs: []string{"IMP 2024-01-01T10:00 2024-01-05T10:00"}, asOf: "2026-02-05T10:00", episode: "-"},
		{name: "an open ambulatory visit goes stale too", segs: []string{"AMB 2024-01-01T10:00"}, asOf: "2026-02-05T10:00"},
		{name: "finished after 400 days", segs: []string{"IMP 2024-01-01T10:00 2025-02-04T10:00"}, asOf: "2026-02-05T10:00", episode: "+too-long"},
		{name: "finished after exactly 365 days", segs: []string{"IMP 2024-01-01T10:00 2024-12-31T10:00"}, asOf: "2026-02-05T10:00", episode: "-"},
		{name: "finished after 40 days, threshold 30", segs: []string{"IMP 2026-01-01T10:00 2026-02-10T10:00"}, asOf: "2026-02-15T10:00", after: 30, episode: "+too-long"},
		{name: "finished ambulatory visit of 400 days", segs: []string{"AMB 2024-01-01T10:00 2025-02-04T10:00"}, asOf: "2026-02-05T10:00", episode: "+too-long"},
		{name: "emergency finished after 4 days", segs: []string{"EMER 2016-12-09T21:39 2016-12-13T21:39"}, asOf: "2021-04-01T12:00", episode: "+long-emergency", due: "2016-12-12T21:39"},
		{name: "emergency finished after exactly 3 days", segs: []string{"EMER 2016-12-09T21:39 2016-12-12T21:39"}, asOf: "2021-04-01T12:00", episode: "-"},
		{name: "emergency in progress for 3 days and a minute", segs: []string{"EMER 2026-03-01T10:00"}, asOf: "2026-03-04T10:01", episode: "+long-emergency", due: "2026-03-04T10:00"},
		{name: "emergency in progress for 2 days", segs: []string{"EMER 2026-03-01T10:00"}, asOf: "2026-03-03T10:00", episode: "-"},
		{name: "emergency in progress 400 days: stale, as any open one", segs: []string{"EMER 2025-01-01T10:00"}, asOf: "2026-02-05T10:00"},
		{name: "ED time before an inpatient stay is not an emergency encounter", segs: []string{"EMER 2026-03-01T10:00 2026-03-05T10:00", "IMP 2026-03-05T10:00 2026-03-08T10:00"}, asOf: "2026-03-09T10:00", episode: "-"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := enStay(t, "s1", tc.segs...)
			p := enPatient(e)
			r := enRun(t, tc.asOf, enMedicare())
			if tc.after > 0 {
				r.cfg.StaleAfterDays = tc.after
			}
			all := r.encounter(p, e)
			stale := enReview(r, p, CheckStaleEncounter)
			if tc.episode == "-" {
				if len(stale) != 0 {
					t.Fatalf("got a stale finding (%s), want none", stale[0].Description)
				}
				return
			}
			if len(all) != 1 || len(stale) != 1 {
				t.Fatalf("got %d findings (%d stale), want exactly one stale-encounter", len(all), len(stale))
			}
			f := stale[0]
			enCheckShape(t, f)
			if f.Status != StatusDataGap || f.Owner != PatientAccessTeam {
				t.Errorf("status %q owner %q, want data-gap, patient access", f.Status, f.Owner)
			}
			if want := stayKey(e) + tc.episode; f.Episode != want {
				t.Errorf("episode %q, want %q", f.Episode, want)
			}
			due := e.Start.AddDate(0, 0, DefaultStaleAfterDays)
			if tc.after > 0 {
				due = e.Start.AddDate(0, 0, tc.after)
			}
			if tc.due != "" {
				due = enAt(t, tc.due)
			}
			enWantDue(t, f, due)
			// An open encounter's finding cites no count that grows with
			// the clock (the live service would rewrite its Task daily).
			if _, ok := enEvidence(f, evDaysOpen); ok && e.End.IsZero() {
				t.Errorf("an open encounter's finding carries days-open")
			}
		})
	}
}

// Findings of a stay in progress change only when something meaningful does:
// reviewed at two instants an hour apart with no threshold between, every
// finding is identical, text and evidence included (issue 6: the live
// service rewrites a Task whose evidence changes, at every hourly wake-up).
func TestFindingsStableBetweenThresholds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		segs     []string
		at1, at2 string
		checks   []string // checks that must be among the findings
	}{
		// Observation from 03-02 10:00: MOON raised after hour 24, the
		// second midnight (03-04 00:00, lead 6 h: from 03-03 18:00) not yet.
		{"observation, MOON raised", []string{"OBSENC 2026-03-02T10:00"}, "2026-03-03T12:30", "2026-03-03T13:30", []string{CheckObservationMOON}},
		// Past the second midnight's lead, before hour 44.
		{"observation, second midnight nearing", []string{"OBSENC 2026-03-02T10:00"}, "2026-03-03T19:10", "2026-03-03T20:10", []string{CheckObservationMOON, CheckObservationSecondMidnight}},
		// Hours 45 and 46: the 48-hour escalation raised at hour 44, due at 48.
		{"observation, 48 h escalation raised", []string{"OBSENC 2026-03-02T10:00"}, "2026-03-04T07:00", "2026-03-04T08:00", []string{CheckObservation48h, CheckObservationSecondMidnight}},
		// Hours 50 and 51: past every threshold.
		{"observation past 48 h", []string{"OBSENC 2026-03-02T10:00"}, "2026-03-04T12:00", "2026-03-04T13:00", []string{CheckObservation48h}},
		// An inpatient stay in progress: day counts move at midnights only.
		{"inpatient in progress", []string{"EMER 2026-03-02T06:00 2026-03-02T10:00", "IMP 2026-03-02T10:00"}, "2026-03-06T12:00", "2026-03-06T13:00", []string{CheckContinuedStayReview}},
		{"stale open encounter", []string{"IMP 2025-01-01T10:00"}, "2026-02-05T10:00", "2026-02-06T10:00", []string{CheckStaleEncounter}},
		{"emergency open 4 days", []string{"EMER 2026-03-01T10:00"}, "2026-03-05T10:00", "2026-03-05T11:00", []string{CheckStaleEncounter}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := enStay(t, "s1", tc.segs...)
			p := enPatient(e)
			f1 := enRun(t, tc.at1, enMedicare()).encounter(p, e)
			f2 := enRun(t, tc.at2, enMedicare()).encounter(p, e)
			var got []string
			for _, f := range f1 {
				got = append(got, f.Check)
			}
			for _, c := range tc.checks {
				if !strings.Contains(" "+strings.Join(got, " ")+" ", " "+c+" ") {
					t.Fatalf("findings %v lack %s", got, c)
				}
			}
			if !reflect.DeepEqual(f1, f2) {
				for i := range f1 {
					if i < len(f2) && !reflect.DeepEqual(f1[i], f2[i]) {
						t.Errorf("%s differs:\n%s %+v\n%s %+v", f1[i].Check, tc.at1, f1[i], tc.at2, f2[i])
					}
				}
				t.Fatalf("findings at %s and %s differ (%d and %d findings)", tc.at1, tc.at2, len(f1), len(f2))
			}
		})
	}
}
