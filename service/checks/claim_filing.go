package checks

import (
	"time"

	"github.com/utilreview/utilreview/service/facts"
	"github.com/utilreview/utilreview/service/rules"
)

// timelyFiling raises a finding for a claim the payer has not accepted
// whose filing deadline has passed or falls within the warning lead.
func (r *run) timelyFiling(p *facts.Patient, c *facts.Claim, rs *rules.RuleSet, out []Finding) []Finding {
	tf := &rs.Checks.TimelyFiling
	if !tf.Enabled || !tf.HasLimit() || c.Accepted || !hospitalClaim(c) {
		return out
	}
	deadline, through, ok := r.filingDeadline(c, rs)
	if !ok {
		if c.Created.IsZero() {
			return out // nothing to anchor a finding on; the reader reports the missing created
		}
		f := r.claimFinding(CheckTimelyFiling, Urgent, BillingTeam, p, c, rs, c.Created)
		f.Status = StatusDataGap
		f.Description = "The claim has no date of service (billablePeriod or item.serviced), so its timely filing deadline " +
			"cannot be computed; " + payerName(rs, c.Payer) + " accepts claims up to " + tf.LimitText() +
			" after the service's through date. Check the claim's service dates."
		f.Evidence = append(f.Evidence, StringEvidence(EvMissingData, "Claim.billablePeriod"), filingLimitEvidence(tf))
		return append(out, f)
	}
	daysLeft := daysBetweenDates(dayOf(r.asOf, r.loc), dayOf(deadline, r.loc))
	if daysLeft > tf.WarningDays {
		return out
	}
	f := r.claimFinding(CheckTimelyFiling, Urgent, BillingTeam, p, c, rs, deadline)
	through = StartOfDay(through, r.loc)
	throughText := dateText(dayOf(through, r.loc))
	deadlineText := dateText(dayOf(deadline, r.loc))
	payer := payerName(rs, c.Payer)
	lead := "The claim's last date of service is " + throughText + " and " + payer + " accepts claims for " +
		tf.LimitText() + " after it"
	switch {
	case deadline.Before(r.asOf):
		f.Description = lead + ": the filing deadline " + deadlineText + " has passed and no acceptance is on record. " +
			"Check whether the claim reached the payer in time (proof of timely filing) or whether an exception applies."
	case daysLeft == 0:
		f.Description = lead + ": the filing deadline is today, " + deadlineText + ", and no acceptance is on record. File the claim today."
	default:
		// The deadline's date, not "in N days": a count that moves with the
		// clock would rewrite the live service's Task every day.
		f.Description = lead + ": the filing deadline is " + deadlineText + " and no acceptance is on record. File or correct the claim before then."
	}
	f.Evidence = append(f.Evidence,
		DateEvidence(EvThroughDate, through),
		filingLimitEvidence(tf),
		DateEvidence(EvFilingDeadline, StartOfDay(deadline, r.loc)),
		IntEvidence(EvWarningDays, tf.WarningDays),
	)
	return append(out, f)
}

// filingLimitEvidence is the payer's limit as the rule set states it.
func filingLimitEvidence(tf *rules.TimelyFiling) Evidence {
	if tf.LimitMonths > 0 {
		return IntEvidence(EvFilingLimitMonths, tf.LimitMonths)
	}
	return IntEvidence(EvFilingLimitDays, tf.LimitDays)
}

// daysBetweenDates is the number of calendar days from a to b.
func daysBetweenDates(a, b rules.Date) int {
	return daysBetween(a.Y, time.Month(a.M), a.D, b.Y, time.Month(b.M), b.D)
}
