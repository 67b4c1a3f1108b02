package determination

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/utilreview/utilreview/service/checks"
	"github.com/utilreview/utilreview/service/rules"
)

// billingClaim is the hospital's institutional claim for the stay, created
// while the stay's admission review is open.
const billingClaim = `{"resourceType":"Claim","id":"bill","status":"active","use":"claim",
	"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/claim-type","code":"institutional"}]},
	"patient":{"reference":"Patient/p1"},"created":"2026-11-24T10:00:00-05:00","provider":{"reference":"Organization/hosp"},
	"insurer":{"reference":"Organization/payer"},"priority":{"coding":[{"code":"normal"}]},
	"billablePeriod":{"start":"2026-11-20T10:00:00-05:00","end":"2026-11-23T12:00:00-05:00"},
	"insurance":[{"sequence":1,"focal":true,"coverage":{"reference":"Coverage/cov"}}],
	"item":[{"sequence":1,"encounter":[{"reference":"Encounter/e1"}],"revenue":{"coding":[{"code":"0120"}]},
	  "productOrService":{"coding":[{"system":"http://www.ama-assn.org/go/cpt","code":"99223"}]},"servicedDate":"2026-11-20"}]}`

// TestOwnResponsesAreNotThePayers: utilreview's own determination
// ClaimResponses (use preauthorization, answering the billing claim or its
// own preauthorization Claim) and its preauthorization Claims are not the
// payer's: the claim is not accepted by them (facts' markAccepted), so the
// claim checks (timely filing, claim-before-determination, prior
// authorization) see the same claim; the only new findings are the
// determination's own follow-ups.
func TestOwnResponsesAreNotThePayers(t *testing.T) {
	reg, err := rules.LoadDefaults()
	if err != nil {
		t.Fatal(err)
	}
	loc, _ := time.LoadLocation("America/New_York")
	r := recorder(t)
	eng := checks.NewEngine(checks.Config{Location: loc, IdentifierSystem: finding}, reg)
	// Within the Medicaid rule set's timely-filing warning (12 months from
	// the stay's end, warned 30 days before): a claim the payer has not
	// accepted gets timely-filing; an accepted one does not.
	asOf := time.Date(2027, 11, 5, 12, 0, 0, 0, loc)
	findings := func(extra ...string) ([]string, bool) {
		m := record(x12("A3"), func(m map[string]string) {
			m["Encounter"] = strings.Replace(m["Encounter"], `"status":"in-progress"`, `"status":"finished"`, 1)
			m["Encounter"] = strings.Replace(m["Encounter"], `"start":"2026-11-20T10:00:00-05:00"`, `"start":"2026-11-20T10:00:00-05:00","end":"2026-11-23T12:00:00-05:00"`, 1)
			m["Claim"] = billingClaim
		})
		p, _ := patientOf(t, m, extra...)
		var out []string
		for _, f := range eng.Review(p, asOf) {
			if !strings.HasPrefix(f.Check, "determination-") {
				out = append(out, f.Check+"|"+f.Episode+"|"+f.Due.String())
			}
		}
		sort.Strings(out)
		accepted := false
		for _, c := range p.Claims {
			if c.Ref == "Claim/bill" {
				accepted = c.Accepted
			}
		}
		return out, accepted
	}
	before, acc := findings()
	if acc {
		t.Fatal("the billing claim is accepted with no response at all")
	}
	t.Logf("findings: %v", before)
	if !strings.Contains(strings.Join(before, " "), "timely-filing|") {
		t.Fatal("no timely-filing finding for the unaccepted claim: the comparison would prove nothing")
	}

	// utilreview's ClaimResponse answering the billing claim, and a
	// preauthorization Claim with its ClaimResponse (outcome complete).
	m := record(x12("A1"), func(m map[string]string) { m["Claim"] = billingClaim })
	p, res := patientOf(t, m)
	var own []string
	for _, w := range r.Plan(p, r.Index(res)).Writes {
		var v map[string]any
		_ = json.Unmarshal(w.Body, &v)
		v["id"] = "own-" + strings.ToLower(w.Type)
		b, _ := json.Marshal(v)
		own = append(own, string(b))
	}
	if len(own) != 1 || !strings.Contains(own[0], `"Claim/bill"`) || !strings.Contains(own[0], `"outcome":"complete"`) {
		t.Fatalf("want one ClaimResponse answering Claim/bill, got %v", own)
	}
	preauth := strings.Replace(strings.Replace(billingClaim, `"use":"claim"`, `"use":"preauthorization"`, 1), `"id":"bill"`, `"id":"pa","identifier":[{"system":"`+base+`/identifier/preauthorization","value":"stay-x"}]`, 1)
	preauthResp := strings.Replace(strings.Replace(own[0], `"Claim/bill"`, `"Claim/pa"`, 1), `"own-claimresponse"`, `"own-claimresponse-2"`, 1)
	preauthResp = strings.Replace(preauthResp, `"admission-review-abc"`, `"other-abc"`, -1)

	after, acc := findings(append(own, preauth, preauthResp)...)
	if acc {
		t.Error("utilreview's preauthorization ClaimResponse marked the billing claim accepted (as if the payer had adjudicated it)")
	}
	if strings.Join(before, "\n") != strings.Join(after, "\n") {
		t.Errorf("findings changed with utilreview's own resources:\nbefore %v\nafter  %v", before, after)
	}
	// A payer's ClaimResponse (use claim) still accepts it.
	payers := strings.Replace(strings.Replace(own[0], `"use":"preauthorization"`, `"use":"claim"`, 1), `"identifier":[`, `"identifier":[{"system":"urn:payer","value":"1"},`, 1)
	if _, acc := findings(payers); !acc {
		t.Error("a payer's ClaimResponse with use claim and outcome complete no longer accepts the claim")
	}
}
