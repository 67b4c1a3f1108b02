package checks_test

import (
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/utilreview/utilreview/service/checks"
)

// TestClaimChecksEndToEnd runs the claim checks from a synthetic FHIR Bundle
// through the reader, the facts builder and the shipped Medicare rule set.
func TestClaimChecksEndToEnd(t *testing.T) {
	t.Parallel()
	got := reviewOn(t, "claim", time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC), filepath.Join("testdata", "claim", "outpatient.json"))
	var lines []string
	for _, f := range got {
		lines = append(lines, f.Check+" "+f.FocusRef+" "+f.Episode)
	}
	sort.Strings(lines)
	want := []string{
		"claim-before-determination Claim/clm-ip Encounter/enc-ip",
		"duplicate-claim-line Claim/clm-opd-dup 99213|2025-03-04|Claim/clm-opd",
		"payment-window-3day Claim/clm-opd Encounter/enc-ip",
		"payment-window-3day Claim/clm-opd-dup Encounter/enc-ip",
		"prior-auth-required Claim/clm-opd Claim/clm-opd",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("findings\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	for _, f := range got {
		if f.RuleSet == nil || f.RuleSet.ID != "medicare-ffs" {
			t.Errorf("%s: rule set %v, want medicare-ffs", f.Check, f.RuleSet)
		}
		if f.Check == checks.CheckPriorAuthRequired {
			// The shipped CMS list holds 64612 itself and J0585 only when paired with 64612 or 64615.
			if !strings.HasPrefix(f.Description, "Line 1 bills CPT 64612 on 2025-03-04; line 2 bills HCPCS J0585 on 2025-03-04 together with 64612;") {
				t.Errorf("prior auth description %q does not explain the paired code", f.Description)
			}
			// Reviewed on 2025-03-10, after the 2025-03-04 date of service:
			// Medicare FFS does not authorize retroactively (42 CFR 419.82),
			// so billing holds the claim and no request goes to the payer.
			if f.Communication != nil || f.Owner != checks.BillingTeam || !strings.Contains(f.Description, "42 CFR 419.82") {
				t.Errorf("prior auth: owner %s communication %+v description %q, want billing, no request, 42 CFR 419.82", f.Owner, f.Communication, f.Description)
			}
		}
	}
}

// TestClaimChecksSynthea runs the claim checks over the shared Synthea
// bundles: SNOMED-coded claims reach no prior-auth, MUE or duplicate edit;
// timely filing is quiet because Synthea's EOBs accept every claim. What
// remains is the payment window (outpatient visits on the days before an
// inpatient stay of Medicare patients) and nothing may panic.
func TestClaimChecksSynthea(t *testing.T) {
	if testing.Short() {
		t.Skip("reads all Synthea bundles")
	}
	t.Parallel()
	dir := filepath.Join("..", "..", "testdata", "shared", "data", "synthea")
	got := reviewOn(t, "claim", time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC), dir)
	per := map[string]int{}
	for _, f := range got {
		per[f.Check]++
		if f.Description == "" || f.Due.IsZero() || f.FocusRef == "" || f.Patient == nil {
			t.Errorf("incomplete finding %+v", f)
		}
	}
	for _, id := range []string{checks.CheckPriorAuthRequired, checks.CheckMUEExceeded, checks.CheckDuplicateClaimLine} {
		if per[id] != 0 {
			t.Errorf("%s: %d findings over SNOMED-coded Synthea claims, want 0", id, per[id])
		}
	}
	t.Logf("claim findings over Synthea: %v", per)
	for _, f := range got {
		t.Logf("%s %s %s: %s", f.Check, f.FocusRef, f.Episode, f.Description)
	}
}
