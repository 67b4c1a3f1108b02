package review

import (
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestSyntheaGolden reviews all 24 Synthea patients in ../shared/data/synthea
// as of 2021-04-01 12:00 in New York (just after the newest encounter in the
// data) and pins what it finds. Synthea codes in SNOMED CT, writes no DRG and
// no standalone Coverage, and names payers only by Claim.insurance.coverage
// display ("private", "medicaid", "medicare", "dual_eligible",
// "no_insurance"), so the paths it reaches are the inpatient stay checks of
// the default commercial, Medicaid and Medicare rule sets. A change in these
// numbers is a change in behaviour: look at it, don't just update it.
func TestSyntheaGolden(t *testing.T) {
	asOf := time.Date(2021, 4, 1, 12, 0, 0, 0, mustLoc(t, "America/New_York"))
	res := runPaths(t, asOf, filepath.Join(sharedData, "synthea"))
	if len(res.Errors) > 0 {
		t.Fatalf("input problems: %v", res.Errors)
	}
	if got := len(res.Set.Patients); got != 24 {
		t.Fatalf("got %d patients, want 24", got)
	}
	perCheck := map[string]int{}
	byPatient := map[string][]string{}
	for _, f := range res.Findings {
		perCheck[f.Check]++
		byPatient[f.Patient.Ref] = append(byPatient[f.Patient.Ref], f.Check+" "+f.FocusRef)
	}
	want := map[string]int{
		// The data holds 23 inpatient stays: every one whose payer asks for
		// notification (the default commercial for "private", 24 h; the
		// Medicaid example for "medicaid", 48 h) and has no completed
		// Communication to the payer; Medicare fee-for-service requires none,
		// which leaves out the one stay of a dual-eligible patient.
		"admission-notification": 22,
		// Synthea gives no DRG: stays reaching the payer's default review day
		// (day 3 for the default commercial rule set) are reviewed. The
		// Medicaid example turns the GMLOS check off (Medicaid reviews by its
		// LOS norm table, as continued-stay reviews of stays in progress, and
		// every Synthea stay is finished).
		"los-exceeds-gmlos": 7,
		// The dual-eligible patient below.
		"two-midnight":        1,
		"important-message":   1,
		"payment-window-3day": 1,
		// Christopher_Abshire_028250cc has two "Emergency Encounter"s (class
		// EMER) recorded from 2016-12-09 21:39 to 2016-12-13 21:39 EST, four
		// days each: an emergency visit lasts hours, so each is a
		// stale-encounter data-quality finding (episode "+long-emergency",
		// issue 7 point 14). Nothing else is raised on them (EMER only).
		"stale-encounter": 2,
	}
	if !equalCounts(perCheck, want) {
		t.Errorf("findings per check\n got %v\nwant %v", perCheck, want)
	}

	// Three patients reviewed by hand.
	patients := []struct {
		ref  string
		want []string
	}{
		{
			// Michele_Wolf_9fd25274 (dual_eligible: Medicare primary, so
			// Medicare fee-for-service). An ED visit at 2016-04-03 02:58 EDT,
			// and an inpatient stay from 02:58 to 02:58 the next day: one
			// midnight, no discharge disposition (so no death, transfer,
			// AMA or hospice exception) and no inpatient-only procedure:
			// two-midnight. The Important Message was due within 2 days of
			// admission. The ED visit's claim (chest X-ray) falls on the
			// admission date but is billed apart from the inpatient claim:
			// payment-window-3day. No notification: Medicare FFS needs none;
			// no GMLOS review: one day is short of the default review day.
			ref: "Patient/0f49d2d0-59be-4f72-a22b-0a582367b44b",
			want: []string{
				"important-message Encounter/2b9b9a23-4903-4aa6-994b-0db71831ebb6",
				"payment-window-3day Claim/24bc8698-d036-42e0-a1d7-a3a74b9c2c30",
				"two-midnight Encounter/2b9b9a23-4903-4aa6-994b-0db71831ebb6",
			},
		},
		{
			// Trenton_Turner_54a45132 (medicaid): five one-day inpatient
			// stays years apart (1999 to 2020). The Medicaid example wants
			// notification within 48 h of each; none is a readmission (the
			// stays are years apart) and the Medicaid example does not
			// apply the two-midnight rule.
			ref: "Patient/a6fb5437-10d5-4f70-81a0-4f43bfbd9fb0",
			want: []string{
				"admission-notification Encounter/6d6da75c-d6ca-4a3e-bada-142b4a5646dc",
				"admission-notification Encounter/872a002e-41d7-41bd-b6ca-77efb897e123",
				"admission-notification Encounter/a97e7e95-9235-4145-82ba-4d1024860cd4",
				"admission-notification Encounter/b629ee62-0c3e-4bd4-b9f6-06cfdf454c31",
				"admission-notification Encounter/e80515d5-f4f6-4732-a9b5-ee64e5c1cd02",
			},
		},
		{
			// Lemuel_Hodkiewicz_ece76cc5 (private: the default commercial
			// rule set): appendicitis, inpatient 2000-02-23 07:11 EST to
			// 02-27, 4 midnights. Notification due 24 h after the order; no
			// DRG, and 4 days reach the default review day 3.
			ref: "Patient/563460b4-b997-4772-a548-a9f877eb4c12",
			want: []string{
				"admission-notification Encounter/8ca871d7-a5da-4c1a-b2dd-f960af8a2290",
				"los-exceeds-gmlos Encounter/8ca871d7-a5da-4c1a-b2dd-f960af8a2290",
			},
		},
	}
	for _, p := range patients {
		got := byPatient[p.ref]
		sort.Strings(got)
		if strings.Join(got, "\n") != strings.Join(p.want, "\n") {
			t.Errorf("%s:\n got %v\nwant %v", p.ref, got, p.want)
		}
	}
	for _, f := range res.Findings {
		if f.Check == "two-midnight" {
			if want := time.Date(2016, 4, 5, 23, 59, 59, 0, asOf.Location()); !f.Due.Equal(want) {
				t.Errorf("two-midnight due %v, want the end of the day after discharge, %v", f.Due, want)
			}
		}
	}
}

func equalCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
