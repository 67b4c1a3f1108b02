package review

import (
	"context"
	"encoding/json"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/utilreview/utilreview/fhir/fhirtest"
)

// sharedData is the repository's copy of the shared data set
// (testdata/shared/PROVENANCE.md).
const sharedData = "../../testdata/shared/data"

func runPaths(t *testing.T, asOf time.Time, paths ...string) *Result {
	t.Helper()
	return runPathsWith(t, asOf, false, paths...)
}

// runPathsWith is runPaths with moot findings raised too when includeMoot.
func runPathsWith(t *testing.T, asOf time.Time, includeMoot bool, paths ...string) *Result {
	t.Helper()
	opt := testOptions(t)
	opt.AsOf = asOf.In(opt.Location)
	opt.IncludeMoot = includeMoot
	res, err := Run(context.Background(), paths, opt)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestWrittenResourcesConform writes the transaction Bundle (with the
// CodeSystems) for every input the project has, and checks every resource
// in it against the official R4 JSON schema and the conformance rules the
// schema cannot see (required elements, exactly one value[x]). Moot
// findings are raised too (--include-moot): over Synthea as of 2021 and the
// Da Vinci examples as of 2020 nearly every finding is past its horizon, and
// their Tasks (business status missed, an actionable-until input) must
// conform as well.
func TestWrittenResourcesConform(t *testing.T) {
	inputs := []struct {
		name  string
		paths []string
		asOf  time.Time
		// minFindings keeps the test from passing on an empty Bundle.
		minFindings int
	}{
		{"synthea", []string{filepath.Join(sharedData, "synthea")}, time.Date(2021, 4, 1, 16, 0, 0, 0, time.UTC), 10},
		{"hl7-r4-examples", []string{filepath.Join(sharedData, "fhir-r4-examples")}, time.Date(2026, 11, 20, 17, 0, 0, 0, time.UTC), 1},
		// The Da Vinci examples are prior-authorization requests and a planned
		// visit, which the checks skip; the derived copies (testdata, see its
		// PROVENANCE.md) turn one into a claim and one into an inpatient stay.
		{"davinci", []string{filepath.Join(sharedData, "davinci", "pas-2.2.1"), filepath.Join(sharedData, "davinci", "crd-2.0.1"), "testdata/davinci-derived"}, time.Date(2020, 8, 1, 16, 0, 0, 0, time.UTC), 3},
		{"examples", []string{"../../testdata/examples"}, time.Date(2026, 11, 20, 17, 0, 0, 0, time.UTC), 20},
	}
	for _, in := range inputs {
		t.Run(in.name, func(t *testing.T) {
			res := runPathsWith(t, in.asOf, true, in.paths...)
			if res.Files == 0 {
				t.Fatalf("no input files under %v", in.paths)
			}
			if len(res.Findings) < in.minFindings {
				t.Fatalf("got %d findings, want at least %d", len(res.Findings), in.minFindings)
			}
			w := testOptions(t).Writer
			b, err := w.TransactionBundle(res.Findings, in.asOf, true)
			if err != nil {
				t.Fatal(err)
			}
			fhirtest.Conform(t, b)
			var bundle struct {
				Entry []struct {
					Resource json.RawMessage `json:"resource"`
				} `json:"entry"`
			}
			if err := json.Unmarshal(b, &bundle); err != nil {
				t.Fatal(err)
			}
			tasks := 0
			for _, e := range bundle.Entry {
				fhirtest.Conform(t, e.Resource)
				if strings.Contains(string(e.Resource[:min(40, len(e.Resource))]), `"Task"`) {
					tasks++
				}
				if strings.Contains(string(e.Resource), "urn:uuid:") {
					t.Errorf("a written resource references a urn:uuid: %.300s", e.Resource)
				}
			}
			if tasks != len(res.Findings) {
				t.Errorf("got %d Tasks in the Bundle, want one per finding (%d)", tasks, len(res.Findings))
			}
		})
	}
}

// TestExampleScenarios reviews the synthetic scenarios in testdata/examples
// (described in its README) and checks that each raises the findings it was
// written for, and no others.
func TestExampleScenarios(t *testing.T) {
	asOf := time.Date(2026, 11, 20, 12, 0, 0, 0, mustLoc(t, "America/New_York"))
	res := runPaths(t, asOf, "../../testdata/examples")
	if len(res.Errors) > 0 {
		t.Fatalf("input problems: %v", res.Errors)
	}
	var got []string
	for _, f := range res.Findings {
		got = append(got, f.Check+" "+f.FocusRef)
	}
	sort.Strings(got)
	want := []string{
		// p1: Medicare, ED then inpatient since 11-15 02:00, MS-DRG 291 (GMLOS 3.9 days):
		// 5 inpatient midnights by the as-of time, so the stay is past its GMLOS; the
		// Medicare rule set reviews every 3 days: the missed cycle-1 review (day 3)
		// is the one open review, with "missed cycles: 1" (issue 7 point 5: no
		// second Task for cycle 2); the
		// Important Message was due by the end of 11-17; the outpatient lab of
		// 11-12 is within the 3-day payment window; the inpatient claim exists
		// while the admission review is open (it can change the claim; the
		// length-of-stay and continued-stay reviews cannot: point 8). The
		// admission review (points 3-4) was due before the second midnight
		// counted from the ED arrival (11-14 20:10): 11-15 23:59:59.
		"admission-review Encounter/e1",
		"claim-before-determination Claim/c1",
		"continued-stay-review Encounter/e1",
		"important-message Encounter/e1",
		"los-exceeds-gmlos Encounter/e1",
		"payment-window-3day Claim/c1-lab",
		// p2: a 1-midnight inpatient stay with no exception (two-midnight), its
		// claim held while that review is open; readmitted 8 days later (index
		// stay principal diagnosis J18.9: HRRP pneumonia cohort); the readmission
		// had 2 inpatient midnights (ED time does not count) and went to a SNF.
		// Both stays ended before the as-of time, so their notices (the
		// Important Message of each, 42 CFR 405.1205(b)) and the SNF warning
		// (42 CFR 409.30) are past their horizon, discharge: moot (below).
		"claim-before-determination Claim/c2",
		"readmission-30d Encounter/e3",
		"two-midnight Encounter/e2",
		// p3: observation since 11-18 09:00, 51 hours at the as-of time; the
		// placement's admission review (episode "e4+observation").
		"admission-review Encounter/e4",
		"observation-48h Encounter/e4",
		"observation-moon Encounter/e4",
		"observation-second-midnight Encounter/e4",
		// p4: inpatient changed to observation on 11-18 09:00: Condition Code
		// 44, and the observation that followed is now 51 hours long; the
		// admission review of the inpatient order.
		"admission-review Encounter/e5",
		"condition-code-44 Encounter/e5",
		"observation-48h Encounter/e5",
		"observation-moon Encounter/e5",
		"observation-second-midnight Encounter/e5",
		// p5: commercial (fictional Acme) inpatient since Friday 03:00:
		// notification due Saturday, moved to Monday; Acme reviews every 2 days;
		// the admission review by the end of Monday.
		"admission-notification Encounter/e6",
		"admission-review Encounter/e6",
		"continued-stay-review Encounter/e6",
		// p6: inpatient with no coverage on file (the default rules still
		// review the admission).
		"admission-review Encounter/e7",
		"continued-stay-review Encounter/e7",
		"missing-coverage Encounter/e7",
		// p7: 64612 with J0585 billed without an authorization (both on the
		// CMS OPD list, J0585 because 64612 is on the claim); 64612 billed
		// again on a second claim, itself without authorization; a
		// professional claim whose 1-year Medicare filing limit passed on
		// 2026-11-10. Medicare ships no MUE table, so the 600 units raise nothing.
		"duplicate-claim-line Claim/c7b",
		"prior-auth-required Claim/c7a",
		"prior-auth-required Claim/c7b",
		"timely-filing Claim/c7c",
		// p8: fictional Capital Insurance: heart-failure stay at 7 days with no
		// DRG (default review day 4; the payer's CEL check for heart failure
		// past day 5); one continued-stay review, cycle 1 with "missed cycles:
		// 2" (point 5), whose day 3 is not the default review day 4, so the
		// length-of-stay review stays its own (point 6);
		// the 24 h notification passed; 8 units of 97110 on one day
		// against the synthetic MUE of 6 per date of service.
		"admission-notification Encounter/e8",
		"admission-review Encounter/e8",
		"continued-stay-review Encounter/e8",
		"custom:heart-failure-extended-stay Encounter/e8",
		"los-exceeds-gmlos Encounter/e8",
		"mue-exceeded Claim/c8",
	}
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings differ\ngot:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	// Moot: p2's notices and admission reviews, due by discharge, which has
	// passed; missed.
	var moot []string
	for _, f := range res.Moot {
		if f.Status != "missed" || !f.Moot || !f.Horizon.Before(asOf) {
			t.Errorf("moot %s %s: status %s, moot %v, horizon %v", f.Check, f.FocusRef, f.Status, f.Moot, f.Horizon)
		}
		moot = append(moot, f.Check+" "+f.FocusRef)
	}
	sort.Strings(moot)
	if got, want := strings.Join(moot, ", "), "admission-review Encounter/e2, admission-review Encounter/e3, "+
		"important-message Encounter/e2, important-message Encounter/e3, snf-three-day Encounter/e3"; got != want {
		t.Errorf("moot findings: %s, want %s", got, want)
	}
	for _, f := range res.Findings {
		// p7's prior authorizations are found on 11-20, after the 11-16
		// date of service: Medicare FFS does not authorize retroactively
		// (42 CFR 419.82), so billing holds the claims and nothing is
		// asked of the payer.
		if f.Check == "prior-auth-required" && (f.Owner != "billing" || f.Communication != nil) {
			t.Errorf("%s %s: owner %s communication %v, want billing and no request", f.Check, f.FocusRef, f.Owner, f.Communication)
		}
	}
}

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
