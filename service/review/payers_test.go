package review

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"
)

// payersBundle: an inpatient stay whose claim names its primary payer only
// by a text no rule set matches ("Tricare Select") and Medicare as the
// secondary insurance. Synthetic.
const payersBundle = `{"resourceType":"Bundle","type":"collection","entry":[
{"resource":{"resourceType":"Patient","id":"p"}},
{"resource":{"resourceType":"Encounter","id":"e","status":"in-progress","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"IMP"},"subject":{"reference":"Patient/p"},"period":{"start":"2026-03-02T10:00:00-05:00"}}},
{"resource":{"resourceType":"Claim","id":"c","status":"active","use":"claim","type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/claim-type","code":"institutional"}]},"patient":{"reference":"Patient/p"},"created":"2026-03-03","provider":{"display":"H"},"priority":{"coding":[{"code":"normal"}]},
 "insurance":[{"sequence":1,"focal":true,"coverage":{"display":"Tricare Select"}},{"sequence":2,"focal":false,"coverage":{"display":"medicare"}}],
 "item":[{"sequence":1,"productOrService":{"coding":[{"system":"http://www.ama-assn.org/go/cpt","code":"99221"}]},"servicedDate":"2026-03-02","encounter":[{"reference":"Encounter/e"}]}]}}
]}`

// TestPayersThroughThePipeline (issue 7 points 9 and 10): the unmatched
// primary payer gets the default rules, one payer-not-configured finding
// and a line in the summary's unmatched payers (the stay and its claim);
// the secondary Medicare coverage makes the patient a Medicare beneficiary,
// so the Important Message is due (42 CFR 405.1205(b)) under the Medicare
// rule set.
func TestPayersThroughThePipeline(t *testing.T) {
	opt := testOptions(t)
	opt.AsOf = time.Date(2026, 3, 3, 12, 0, 0, 0, opt.Location)
	res, err := RunFiles(context.Background(), []File{{Name: "payers.json", Data: []byte(payersBundle)}}, opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) > 0 {
		t.Fatalf("input problems: %v", res.Errors)
	}
	var checks []string
	for _, f := range res.Findings {
		checks = append(checks, f.Check)
		switch f.Check {
		case "payer-not-configured":
			if f.RuleSet == nil || !f.RuleSet.Default || !strings.Contains(f.Description, `"Tricare Select"`) {
				t.Errorf("payer-not-configured: rule set %v description %q", f.RuleSet, f.Description)
			}
		case "important-message":
			if f.RuleSet == nil || f.RuleSet.ID != "medicare-ffs" {
				t.Errorf("important-message under %v, want medicare-ffs", f.RuleSet)
			}
		}
	}
	sort.Strings(checks)
	for _, want := range []string{"important-message", "payer-not-configured"} {
		if i := sort.SearchStrings(checks, want); i == len(checks) || checks[i] != want {
			t.Errorf("findings %v lack %s", checks, want)
		}
	}
	if len(res.UnmatchedPayers) != 1 || res.UnmatchedPayers["Tricare Select"] != 2 {
		t.Errorf("unmatched payers %v, want Tricare Select: 2 (the stay and its claim)", res.UnmatchedPayers)
	}
}
