package checks

import (
	"slices"
	"strings"

	"github.com/utilreview/utilreview/service/facts"
	"github.com/utilreview/utilreview/service/rules"
)

// isReviewCheck reports whether a check is a review whose determination
// can change the stay's claim: the admission status (two-midnight,
// admission-review, Condition Code 44), the observation-to-inpatient
// decision, and prior authorization. While one is open the claim should
// wait. Not the SNF 3-day rule (42 CFR 409.30 decides the SNF's coverage,
// not the hospital's claim), not length of stay past GMLOS or a continued-
// stay review (they do not change an IPPS DRG payment), not a readmission,
// and not notices, notification, coverage or data-quality findings.
func isReviewCheck(id string) bool {
	switch id {
	case CheckTwoMidnight, CheckAdmissionReview, CheckConditionCode44,
		CheckObservationSecondMidnight, CheckObservation48h, CheckPriorAuthRequired:
		return true
	}
	return false
}

// dueNow reports whether a raised review is due: a finding raised ahead of
// its event (observation-second-midnight during its lead hours, before the
// second midnight) is not yet due and does not hold a claim.
func (r *run) dueNow(f *Finding) bool {
	return !raisedAhead(f.Check) || !f.Due.After(r.asOf)
}

// taskDueNow is dueNow for a review Task in the input: its deadline is
// restriction.period.end.
func (r *run) taskDueNow(t *facts.Task) bool {
	for _, cd := range t.Codes {
		if raisedAhead(cd.Code) && !t.Due.IsZero() && t.Due.After(r.asOf) {
			return false
		}
	}
	return true
}

// raisedAhead: checks raised before the event they are due at.
func raisedAhead(id string) bool {
	return id == CheckObservationSecondMidnight || id == CheckObservation48h
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
			if isReviewCheck(rf.Check) && r.dueNow(&rf) && !containsString(open, rf.Check) {
				open = append(open, rf.Check)
				ev = append(ev, StringEvidence(EvOpenReview, rf.Check))
			}
		}
		raisedOpen := slices.Clone(open)
		if p != nil && r.cfg.IdentifierSystem != "" {
			for _, t := range p.Tasks {
				// A stay known only by identifier has no Ref: no Task can point at it.
				if t == nil || enc.Ref == "" || t.State() != facts.TaskOpen || (t.Focus != enc.Ref && t.Encounter != enc.Ref) ||
					!t.HasIdentifier(r.cfg.IdentifierSystem) || !isReviewTask(t) || !r.taskDueNow(t) {
					continue
				}
				if t.BusinessStatus == StatusMissed {
					continue // a missed review can no longer change the claim
				}
				if slices.ContainsFunc(t.Codes, func(cd facts.Code) bool { return isReviewCheck(cd.Code) && containsString(raisedOpen, cd.Code) }) {
					// The Task of a review raised above: that finding speaks
					// for it. Citing the Task too would change the evidence
					// once the live service has written it (a second write
					// after the first), and the offline review, which has
					// no such Task, would disagree with the live one.
					continue
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

// isOtherCheck reports whether id is a known check that is not a review
// holding a claim: every other built-in check, and custom checks.
func isOtherCheck(id string) bool {
	if strings.HasPrefix(id, "custom:") {
		return true
	}
	for _, defs := range [2][]Definition{encounterDefinitions, claimDefinitions} {
		for i := range defs {
			if defs[i].ID == id {
				return !isReviewCheck(id)
			}
		}
	}
	return false
}
