package checks_test

import (
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/utilreview/utilreview/service/checks"
)

// TestEncounterChecksEndToEnd runs the encounter checks from a synthetic
// FHIR Bundle (class histories, NUBC dispositions, an MS-DRG claim, payers
// through Coverage) through the reader, the facts builder and the shipped
// rule sets (Medicare fee-for-service; Acme: 24 h notification with next
// business day, default review day 3, reviews every 2 days; no payer: the
// default). The expected list was worked out by hand, as of 2025-03-20 12:00:
//   - enc-snf (Medicare): ED 20:00, observation 23:00 to 08:00 two days later
//     (33 h: MOON, due when observation ended at the inpatient order, sooner
//     than hour 36), inpatient 2 midnights then SNF (NUBC 03): snf-three-day,
//     due at discharge; the Important Message initial copy (2 days, no
//     follow-up); 4 midnights in total, so no two-midnight; LOS 2 days is
//     below DRG 291's GMLOS.
//   - enc-re (Medicare): inpatient 10 days after enc-snf's discharge, whose
//     principal diagnosis I50.9 is in the HRRP heart-failure cohort; changed
//     to observation after 4 days (Condition Code 44, due 24 h later),
//     observation 26 h so far (MOON due at hour 36); no longer inpatient, so
//     no length-of-stay or continued-stay review (it will be billed as
//     outpatient); the Important Message fell due while still inpatient.
//   - enc-friday (Acme): admitted Friday 15:00, 24 h lands on Saturday: due
//     Monday 23:59:59, overdue; 6 days in: default review day 3 and review
//     cycle 3 (day 6, today). enc-notified was notified (no
//     admission-notification) but reached the default review day.
//   - enc-obs (no coverage): observation 50 h: missing-coverage (data gap),
//     the second midnight passed, the 48-hour escalation; no MOON, since no
//     Medicare rule set applies without a payer.
//
// The engine returns findings past their check's actionable horizon too,
// marked moot with business status missed (horizon.go): enc-snf's notices
// and SNF warning (discharged 03-05), enc-obs's observation reviews
// (discharged 03-12) and enc-notified's length-of-stay review (discharged
// in January) can no longer be done as of 03-20. enc-obs's missing coverage
// stays actionable until the filing limit after discharge, and enc-re's
// readmission review until the filing limit after its own discharge.
func TestEncounterChecksEndToEnd(t *testing.T) {
	t.Parallel()
	asOf := time.Date(2025, 3, 20, 16, 0, 0, 0, time.UTC) // 12:00 in New York
	got := reviewOn(t, "encounter", asOf, filepath.Join("testdata", "encounter", "stays.json"))
	loc, _ := time.LoadLocation("America/New_York")
	var lines []string
	for _, f := range got {
		lines = append(lines, f.Check+" "+f.FocusRef+" "+f.Episode+" "+f.Due.In(loc).Format("2006-01-02T15:04:05")+" "+f.Status)
	}
	sort.Strings(lines)
	want := []string{
		"admission-notification Encounter/enc-friday Encounter/enc-friday 2025-03-17T23:59:59 overdue",
		// admission-review (issue 7, points 3-4): one per stay. Acme admits on Friday 2025-03-14: the next business day.
		"admission-review Encounter/enc-friday Encounter/enc-friday 2025-03-17T23:59:59 overdue",
		// The admission reviews of stays discharged before the as-of time are past their horizon,
		// discharge (the status can change only while the patient is in: 42 CFR 482.30(d)): missed.
		"admission-review Encounter/enc-notified Encounter/enc-notified 2025-01-07T23:59:59 missed",
		// an observation placement with no payer: the default rules, its own episode
		"admission-review Encounter/enc-obs Encounter/enc-obs+observation 2025-03-11T23:59:59 missed",
		// Medicare, order Saturday 09:00: before the second midnight (Sunday 23:59:59), sooner than Monday's end
		"admission-review Encounter/enc-re Encounter/enc-re 2025-03-16T23:59:59 overdue",
		// Medicare, arrival 03-01 20:00: the order (03-03 08:00) came after the second midnight, so the benchmark
		// is met and the next business day applies
		"admission-review Encounter/enc-snf Encounter/enc-snf 2025-03-04T23:59:59 missed",
		"condition-code-44 Encounter/enc-re Encounter/enc-re 2025-03-20T10:00:00 overdue",
		// point 5: one open continued-stay review, the missed cycle 1 (cycle 3 is no longer a second Task)
		"continued-stay-review Encounter/enc-friday cycle-1 2025-03-16T23:59:59 overdue",
		// enc-notified's first review (day 2, every 2 days) was overdue when the
		// patient left on 01-09 and no Task closed it: left undone at discharge,
		// moot (42 CFR 482.30(d): reviews are of patients in the hospital).
		"continued-stay-review Encounter/enc-notified cycle-1 2025-01-08T23:59:59 missed",
		"important-message Encounter/enc-re Encounter/enc-re 2025-03-17T23:59:59 overdue",
		"important-message Encounter/enc-snf Encounter/enc-snf 2025-03-05T14:00:00 missed", // discharged before day 2 ended; moot since discharge (42 CFR 405.1205(b))
		"los-exceeds-gmlos Encounter/enc-friday Encounter/enc-friday 2025-03-17T23:59:59 overdue",
		// enc-notified's los-exceeds-gmlos is gone (point 6): it was not yet due when the stay
		// was discharged on 01-09, so it is neither raised nor left undone.
		"missing-coverage Encounter/enc-obs Encounter/enc-obs 2025-03-11T23:59:59 data-gap",
		"observation-48h Encounter/enc-obs Encounter/enc-obs 2025-03-12T08:00:00 missed", // observation ended at discharge
		"observation-moon Encounter/enc-re Encounter/enc-re 2025-03-20T22:00:00 due-soon",
		"observation-moon Encounter/enc-snf Encounter/enc-snf 2025-03-03T08:00:00 missed",            // observation ended at the inpatient order (42 CFR 489.20(y))
		"observation-second-midnight Encounter/enc-obs Encounter/enc-obs 2025-03-12T00:00:00 missed", // no order after discharge
		"readmission-30d Encounter/enc-re Encounter/enc-snf+Encounter/enc-re 2025-03-16T23:59:59 overdue",
		"snf-three-day Encounter/enc-snf Encounter/enc-snf 2025-03-05T14:00:00 missed", // the patient was told, or not, before leaving
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("findings\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	for _, f := range got {
		switch f.Check {
		case checks.CheckReadmission30d:
			if !strings.Contains(f.Description, "HRRP HF cohort") {
				t.Errorf("readmission description %q does not name the HRRP cohort", f.Description)
			}
		case checks.CheckAdmissionNotification:
			if f.Communication == nil || f.Communication.Recipient != "Organization/acme" || !strings.Contains(f.Description, "Acme Health Plan") {
				t.Errorf("admission notification %q, communication %+v", f.Description, f.Communication)
			}
		case checks.CheckMissingCoverage:
			if f.Status != checks.StatusDataGap {
				t.Errorf("missing-coverage status %q", f.Status)
			}
		}
	}
}

// TestEncounterChecksSynthea runs the encounter checks over the shared
// Synthea bundles (SNOMED CT codes, no classHistory, no DRG, payers by
// coverage text only) with the shipped rule sets.
func TestEncounterChecksSynthea(t *testing.T) {
	if testing.Short() {
		t.Skip("reads all Synthea bundles")
	}
	t.Parallel()
	dir := filepath.Join("..", "..", "testdata", "shared", "data", "synthea")
	got := reviewOn(t, "encounter", time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC), dir)
	per := map[string]int{}
	for _, f := range got {
		per[f.Check]++
		t.Logf("%s %s %s %s: %s", f.Due.Format(time.DateOnly), f.Check, f.FocusRef, f.Episode, f.Description)
	}
	t.Logf("encounter findings over Synthea: %v", per)
	// Synthea writes no classHistory and no observation class, and no SNF
	// disposition: those checks have nothing to see.
	for _, id := range []string{checks.CheckObservationMOON, checks.CheckObservationSecondMidnight, checks.CheckObservation48h,
		checks.CheckConditionCode44, checks.CheckSNFThreeDay} {
		if per[id] != 0 {
			t.Errorf("%s: %d findings over Synthea, want 0", id, per[id])
		}
	}
	// Christopher_Abshire_028250cc has two emergency encounters (class EMER)
	// of four days each, 2016-12-09 to 2016-12-13: an emergency visit lasts
	// hours, so each is a stale-encounter data-quality finding
	// ("+long-emergency"). No encounter is open or longer than 365 days.
	var stale []string
	for _, f := range got {
		if f.Check == checks.CheckStaleEncounter {
			stale = append(stale, f.Episode)
		}
	}
	sort.Strings(stale)
	if want := []string{"Encounter/85bb1a41-6552-41f1-9abc-4a83c61713f2+long-emergency", "Encounter/e9f685e0-ebf1-46e3-afdb-ba1c45e2f4c8+long-emergency"}; !slices.Equal(stale, want) {
		t.Errorf("stale-encounter episodes %v, want %v", stale, want)
	}
	// Reviewed by hand: the one Medicare stay shorter than two midnights,
	// admitted 2016-04-03 02:58 New York time and discharged exactly 24 h
	// later (1 midnight), with no discharge disposition and no death.
	var short []string
	for _, f := range got {
		if f.Check == checks.CheckTwoMidnight {
			short = append(short, f.FocusRef)
		}
		if f.Check == checks.CheckAdmissionNotification && (f.Communication == nil || f.Communication.RecipientDisplay == "") {
			t.Errorf("%s: admission notification without a recipient", f.FocusRef)
		}
	}
	if len(short) != 1 || short[0] != "Encounter/2b9b9a23-4903-4aa6-994b-0db71831ebb6" {
		t.Errorf("two-midnight findings %v, want Encounter/2b9b9a23-4903-4aa6-994b-0db71831ebb6", short)
	}
}
