package checks

import (
	"strings"

	"github.com/utilreview/utilreview/service/facts"
	"github.com/utilreview/utilreview/service/rules"
)

// isReviewCheck reports whether a check ends in a clinician's
// determination about the stay (its status, medical necessity or length):
// while one is open the stay's claim should wait. Notices (MOON, Important
// Message), payer notification, coverage and data-quality findings do not
// change what is billed, so they do not hold a claim.
func isReviewCheck(id string) bool {
	switch id {
	case "two-midnight", "observation-second-midnight", "observation-48h", "condition-code-44",
		"los-exceeds-gmlos", "continued-stay-review", "readmission-30d", "snf-three-day":
		return true
	}
	return false
}

// claimBeforeDetermination raises a finding for a claim whose stay still
// has an open utilreview review.
func (r *run) claimBeforeDetermination(p *facts.Patient, c *facts.Claim, rs *rules.RuleSet, out []Finding) []Finding {
	if !rs.Checks.ClaimBeforeDetermination.Enabled || c.Use != "claim" || c.Accepted || !hospitalClaim(c) {
		return out
	}
	for _, enc := range c.Encounters {
		if enc == nil {
			continue
		}
		var ev []Evidence
		var open []string
		for _, rf := range r.raised[enc] {
			if isReviewCheck(rf.Check) && !containsString(open, rf.Check) {
				open = append(open, rf.Check)
				ev = append(ev, StringEvidence(EvOpenReview, rf.Check))
			}
		}
		if p != nil && r.cfg.IdentifierSystem != "" {
			for _, t := range p.Tasks {
				// A stay known only by identifier has no Ref: no Task can point at it.
				if t == nil || enc.Ref == "" || t.State() != facts.TaskOpen || (t.Focus != enc.Ref && t.Encounter != enc.Ref) ||
					!t.HasIdentifier(r.cfg.IdentifierSystem) || !isReviewTask(t) {
					continue
				}
				if t.BusinessStatus == StatusMissed {
					continue // a missed review can no longer change the claim
				}
				ev = append(ev, RefEvidence(EvReviewTask, t.Ref))
				for _, cd := range t.Codes {
					if isReviewCheck(cd.Code) && !containsString(open, cd.Code) {
						open = append(open, cd.Code)
					}
				}
			}
		}
		if len(ev) == 0 {
			continue
		}
		f := r.claimFinding(CheckClaimBeforeDetermination, Urgent, BillingTeam, p, c, rs, c.Created)
		f.Encounter = enc
		f.Episode = enc.Key
		f.Evidence = append(append(f.Evidence, RefEvidence(EvStay, enc.Ref)), ev...)
		verb := "was created"
		if c.Status == "draft" {
			verb = "is being prepared"
		}
		what := "an open review Task"
		if len(open) > 0 {
			what = strings.Join(open, ", ")
		}
		f.Description = "The claim for this stay " + verb + " while utilization review of the stay is still open (" +
			what + "). Hold the claim until the UR determination is recorded, then bill the level of " +
			"care and days it supports."
		out = append(out, f)
	}
	return out
}

// isReviewTask reports whether a utilreview Task is a review: its code is a
// review check, or it names no other known check (Tasks written by an older
// version may carry no code).
func isReviewTask(t *facts.Task) bool {
	other := false
	for _, cd := range t.Codes {
		if isReviewCheck(cd.Code) {
			return true
		}
		if isOtherCheck(cd.Code) {
			other = true
		}
	}
	return !other
}

// isOtherCheck reports whether id is a check that is not a review: the
// encounter notices, notification, coverage and data-quality checks, the
// claim checks and custom checks.
func isOtherCheck(id string) bool {
	switch id {
	case "admission-notification", "observation-moon", "important-message", "missing-coverage", "stale-encounter":
		return true
	}
	if strings.HasPrefix(id, "custom:") {
		return true
	}
	for i := range claimDefinitions {
		if claimDefinitions[i].ID == id {
			return true
		}
	}
	return false
}
