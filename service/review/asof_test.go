package review

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/utilreview/utilreview/service/checks"
	"github.com/utilreview/utilreview/service/facts"
)

// asOfRecord is synthetic (made up for this test): patient a, Original
// Medicare, inpatient 2026-03-02 10:00 to 03-03 15:00 (1 midnight) and
// discharged to a SNF, the stay's claim created 03-04 09:00; patient b, the
// fictional Example Medicare Advantage Plan (24 h notification), inpatient
// from Monday 2026-03-02 10:00 to 03-09 10:00, the plan notified late, on
// 03-04 12:00; patient c, Original Medicare, in observation from 03-02 10:00,
// admitted as an inpatient at 03-03 12:00, discharged 03-06 10:00. Payers
// come from Coverage, so they are known during the stay.
const asOfRecord = `{"resourceType": "Bundle", "type": "collection", "entry": [
 {"resource": {"resourceType": "Patient", "id": "a"}},
 {"resource": {"resourceType": "Patient", "id": "b"}},
 {"resource": {"resourceType": "Organization", "id": "medicare", "name": "Original Medicare"}},
 {"resource": {"resourceType": "Organization", "id": "ma", "name": "Example Medicare Advantage Plan"}},
 {"resource": {"resourceType": "Coverage", "id": "cov-a", "status": "active", "beneficiary": {"reference": "Patient/a"},
   "payor": [{"reference": "Organization/medicare"}], "period": {"start": "2020-01-01"}}},
 {"resource": {"resourceType": "Coverage", "id": "cov-b", "status": "active", "beneficiary": {"reference": "Patient/b"},
   "payor": [{"reference": "Organization/ma"}], "period": {"start": "2020-01-01"}}},
 {"resource": {"resourceType": "Encounter", "id": "stay-a", "status": "finished",
   "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"}, "subject": {"reference": "Patient/a"},
   "period": {"start": "2026-03-02T10:00:00-05:00", "end": "2026-03-03T15:00:00-05:00"},
   "hospitalization": {"dischargeDisposition": {"coding": [{"system": "http://www.nubc.org/patient-discharge", "code": "03"}]}}}},
 {"resource": {"resourceType": "Claim", "id": "claim-a", "status": "active", "use": "claim",
   "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "institutional"}]},
   "patient": {"reference": "Patient/a"}, "created": "2026-03-04T09:00:00-05:00", "provider": {"reference": "Organization/hospital"},
   "priority": {"coding": [{"code": "normal"}]}, "insurance": [{"sequence": 1, "focal": true, "coverage": {"reference": "Coverage/cov-a"}}],
   "item": [{"sequence": 1, "productOrService": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "99223"}]},
     "servicedPeriod": {"start": "2026-03-02", "end": "2026-03-03"}, "encounter": [{"reference": "Encounter/stay-a"}]}]}},
 {"resource": {"resourceType": "Encounter", "id": "stay-b", "status": "finished",
   "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"}, "subject": {"reference": "Patient/b"},
   "period": {"start": "2026-03-02T10:00:00-05:00", "end": "2026-03-09T10:00:00-04:00"}}},
 {"resource": {"resourceType": "Patient", "id": "c"}},
 {"resource": {"resourceType": "Coverage", "id": "cov-c", "status": "active", "beneficiary": {"reference": "Patient/c"},
   "payor": [{"reference": "Organization/medicare"}], "period": {"start": "2020-01-01"}}},
 {"resource": {"resourceType": "Encounter", "id": "stay-c", "status": "finished",
   "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"}, "subject": {"reference": "Patient/c"},
   "classHistory": [{"class": {"code": "OBSENC"}, "period": {"start": "2026-03-02T10:00:00-05:00", "end": "2026-03-03T12:00:00-05:00"}}],
   "period": {"start": "2026-03-02T10:00:00-05:00", "end": "2026-03-06T10:00:00-05:00"}}},
 {"resource": {"resourceType": "Communication", "id": "notice-b", "status": "completed", "subject": {"reference": "Patient/b"},
   "encounter": {"reference": "Encounter/stay-b"}, "recipient": [{"reference": "Organization/ma"}], "sent": "2026-03-04T12:00:00-05:00"}}
]}`

// TestAsOfIsAPointInTime: a review as of an instant sees the record as it
// stood then, by clinical and billing dates. A stay in progress then is in
// progress: no retrospective two-midnight review (42 CFR 412.3(d): it asks
// about a finished short stay), no SNF 3-day warning (the SNF discharge is
// not known before it happens, 42 CFR 409.30), no follow-up Important
// Message (due before a discharge not yet known, 42 CFR 405.1205(c)); a
// claim created later does not exist, so it is neither held nor cited; a
// notification sent later does not satisfy the payer's deadline yet.
func TestAsOfIsAPointInTime(t *testing.T) {
	t.Parallel()
	loc := mustLoc(t, "America/New_York")
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02T15:04", s, loc)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		asOf     string
		raised   []string // "check focus" that must be raised
		moot     []string // ... that must be moot (not raised)
		absent   []string // ... neither raised nor moot
		inStayA  bool     // stay-a in progress
		claimA   bool     // claim-a exists
		reviewed string   // what the row shows
	}{
		{asOf: "2026-03-03T11:00", inStayA: true,
			raised:   []string{"observation-moon Encounter/stay-c"},
			absent:   []string{"important-message Encounter/stay-c"},
			reviewed: "c in observation for 25 hours, the inpatient order an hour ahead: the MOON is due (NOTICE Act), no Important Message yet"},
		{asOf: "2026-03-03T12:00", inStayA: true,
			raised:   []string{"important-message Encounter/stay-a", "admission-notification Encounter/stay-b"},
			absent:   []string{"two-midnight Encounter/stay-a", "snf-three-day Encounter/stay-a", "claim-before-determination Claim/claim-a"},
			reviewed: "mid-stay: a's stay in progress, its claim not yet created; b's notification overdue"},
		{asOf: "2026-03-03T13:00", inStayA: true,
			raised:   []string{"important-message Encounter/stay-c"},
			moot:     []string{"observation-moon Encounter/stay-c"},
			reviewed: "c admitted at 12:00: an inpatient now (Important Message, 42 CFR 405.1205), the MOON moot since observation ended"},
		{asOf: "2026-03-03T16:00",
			raised:   []string{"two-midnight Encounter/stay-a", "admission-notification Encounter/stay-b"},
			moot:     []string{"important-message Encounter/stay-a", "snf-three-day Encounter/stay-a"},
			absent:   []string{"claim-before-determination Claim/claim-a"},
			reviewed: "an hour after a's discharge: the notices were due before it (moot), the two-midnight review is open, no claim yet"},
		{asOf: "2026-03-04T10:00", claimA: true,
			raised:   []string{"two-midnight Encounter/stay-a", "claim-before-determination Claim/claim-a", "admission-notification Encounter/stay-b"},
			reviewed: "a's claim created while its two-midnight review is open; b's plan not yet told"},
		{asOf: "2026-03-04T13:00", claimA: true,
			raised:   []string{"two-midnight Encounter/stay-a", "claim-before-determination Claim/claim-a"},
			absent:   []string{"admission-notification Encounter/stay-b"},
			reviewed: "b's plan notified at 12:00 (late, during the stay): satisfied"},
	}
	for _, tt := range tests {
		t.Run(tt.asOf, func(t *testing.T) {
			t.Parallel()
			opt := testOptions(t)
			opt.AsOf = at(tt.asOf)
			res, err := RunFiles(context.Background(), []File{{Name: "asof.json", Data: []byte(asOfRecord)}}, opt)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Errors) > 0 {
				t.Fatalf("input problems: %v", res.Errors)
			}
			raised, moot := keys(res.Findings), keys(res.Moot)
			for _, k := range tt.raised {
				if !slices.Contains(raised, k) {
					t.Errorf("%s: %s not raised; raised %v", tt.reviewed, k, raised)
				}
			}
			for _, k := range tt.moot {
				if !slices.Contains(moot, k) {
					t.Errorf("%s: %s not moot; moot %v", tt.reviewed, k, moot)
				}
			}
			for _, k := range tt.absent {
				if slices.Contains(raised, k) || slices.Contains(moot, k) {
					t.Errorf("%s: %s found", tt.reviewed, k)
				}
			}
			stayA, claimA := find(res.Set)
			if stayA == nil {
				t.Fatal("no stay-a")
			}
			if inStay := stayA.End.IsZero() && stayA.Status == "in-progress"; inStay != tt.inStayA {
				t.Errorf("%s: stay-a in progress %v (end %v, status %s), want %v", tt.reviewed, inStay, stayA.End, stayA.Status, tt.inStayA)
			}
			if (claimA != nil) != tt.claimA {
				t.Errorf("%s: claim-a present %v, want %v", tt.reviewed, claimA != nil, tt.claimA)
			}
			citesNothingLater(t, res, opt.AsOf)
		})
	}
}

func keys(fs []checks.Finding) []string {
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		out = append(out, f.Check+" "+f.FocusRef)
	}
	return out
}

func find(set *facts.Set) (stay *facts.Encounter, claim *facts.Claim) {
	for _, p := range set.Patients {
		for _, e := range p.Encounters {
			if e.Ref == "Encounter/stay-a" {
				stay = e
			}
		}
		for _, c := range p.Claims {
			if c.Ref == "Claim/claim-a" {
				claim = c
			}
		}
	}
	return stay, claim
}

// citesNothingLater fails when a finding (raised or moot) names or rests on
// a claim created after asOf or a stay that began after it.
func citesNothingLater(t *testing.T, res *Result, asOf time.Time) {
	t.Helper()
	created := map[string]time.Time{}
	for _, p := range res.Set.Patients {
		for _, c := range p.Claims {
			if c.Created.After(asOf) {
				t.Errorf("%s created %v is in the facts as of %v", c.Ref, c.Created, asOf)
			}
			created[c.Ref] = c.Created
		}
		for _, e := range p.Encounters {
			if e.Start.After(asOf) {
				t.Errorf("%s began %v, after %v", e.Ref, e.Start, asOf)
			}
			if e.End.After(asOf) {
				t.Errorf("%s ends %v, after %v: it should be in progress", e.Ref, e.End, asOf)
			}
		}
	}
	for _, f := range append(append([]checks.Finding(nil), res.Findings...), res.Moot...) {
		var cited []*facts.Claim
		if f.Claim != nil {
			cited = append(cited, f.Claim)
		}
		if f.Encounter != nil {
			cited = append(cited, f.Encounter.Claims...)
		}
		for _, c := range cited {
			if c.Created.After(asOf) {
				t.Errorf("%s %s rests on %s created %v, after %v", f.Check, f.FocusRef, c.Ref, c.Created, asOf)
			}
		}
		for _, ev := range f.Evidence {
			if ev.Ref != nil && strings.HasPrefix(*ev.Ref, "Claim/") {
				if _, ok := created[*ev.Ref]; !ok {
					t.Errorf("%s %s cites %s, not in the record as of %v", f.Check, f.FocusRef, *ev.Ref, asOf)
				}
			}
		}
	}
}

// TestAsOf2000SeesNo2016Claim: over Synthea, a review as of 2000-01-01 sees
// none of the claims created since (the 2016 claims of the dual-eligible
// patient among them): they are counted as not yet in existence, and no
// finding rests on one.
func TestAsOf2000SeesNo2016Claim(t *testing.T) {
	t.Parallel()
	asOf := time.Date(2000, 1, 1, 0, 0, 0, 0, mustLoc(t, "America/New_York"))
	res := runPaths(t, asOf, filepath.Join(sharedData, "synthea"))
	if len(res.Errors) > 0 {
		t.Fatalf("input problems: %v", res.Errors)
	}
	for _, p := range res.Set.Patients {
		for _, c := range p.Claims {
			if c.Ref == "Claim/24bc8698-d036-42e0-a1d7-a3a74b9c2c30" {
				t.Errorf("the 2016 ED claim is seen as of 2000")
			}
		}
	}
	if res.Set.Later["Claim"] == 0 || res.Set.Later["Encounter"] == 0 {
		t.Errorf("nothing counted as later than 2000: %v", res.Set.Later)
	}
	citesNothingLater(t, res, asOf)
}

// TestSyntheaMidStay: the dual-eligible patient's inpatient stay of
// 2016-04-03 02:58 to 04-04 02:58, reviewed at 14:00 on its first day: the
// stay is in progress (no two-midnight review yet: it asks about a finished
// stay, 42 CFR 412.3(d)), and the stay's claim, created at discharge the
// next day, is neither seen nor cited. Synthea writes no Coverage, so until
// that claim exists the record names no payer for the stay: the review
// says so (missing-coverage) instead of borrowing the payer from the
// future.
func TestSyntheaMidStay(t *testing.T) {
	t.Parallel()
	asOf := time.Date(2016, 4, 3, 14, 0, 0, 0, mustLoc(t, "America/New_York"))
	res := runPaths(t, asOf, filepath.Join(sharedData, "synthea"))
	if len(res.Errors) > 0 {
		t.Fatalf("input problems: %v", res.Errors)
	}
	const stay = "Encounter/2b9b9a23-4903-4aa6-994b-0db71831ebb6"
	var got []string
	for _, f := range append(append([]checks.Finding(nil), res.Findings...), res.Moot...) {
		if f.FocusRef == stay {
			got = append(got, f.Check)
		}
	}
	slices.Sort(got)
	if !slices.Contains(got, checks.CheckMissingCoverage) || slices.Contains(got, checks.CheckTwoMidnight) {
		t.Errorf("mid-stay findings %v: want missing-coverage and no two-midnight", got)
	}
	for _, p := range res.Set.Patients {
		for _, e := range p.Encounters {
			if e.Ref == stay && (!e.End.IsZero() || e.Status != "in-progress" || len(e.Claims) != 0) {
				t.Errorf("mid-stay: end %v status %s claims %d, want in progress with no claim", e.End, e.Status, len(e.Claims))
			}
		}
	}
	citesNothingLater(t, res, asOf)
}
