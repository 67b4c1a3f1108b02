package checks

import (
	"fmt"
	"time"

	"github.com/utilreview/utilreview/service/facts"
)

// missingCoverage: an inpatient or observation stay with no payer the input
// resolves to. Without a payer no payer rule can be applied, so this is a
// data-quality check and runs even when no rule set is loaded.
func (r *run) missingCoverage(out []Finding, c *encCtx) []Finding {
	if c.e.Payer != nil || (c.s.ipStart.IsZero() && !c.s.hasObs) {
		return out
	}
	if c.rs != nil && !c.rs.Checks.MissingCoverage.Enabled {
		return out
	}
	kind, class := "Observation stay", ClassObservation
	if !c.s.ipStart.IsZero() {
		kind, class = "Inpatient stay", ClassInpatient
	}
	f := r.newFinding(CheckMissingCoverage, Routine, PatientAccessTeam, c, dayEnd(c.s.start, 1, r.loc))
	f.Status = StatusDataGap
	f.Description = kind + " starting " + c.s.start.In(r.loc).Format(descriptionDateLayout) +
		" has no payer in the record: no Coverage, claim insurance or account names one. Verify the patient's insurance and record it, so that the payer's notification and review rules can be applied."
	f.Evidence = []Evidence{
		StringEvidence(evEncounterClass, class),
		TimeEvidence(evStayStart, c.s.start),
		StringEvidence(evRuleSource, ruleSourceCoverage),
		ruleSetEvidence(c.rs),
	}
	return append(out, f)
}

// admissionNotification: the payer must hear of an inpatient admission
// within its hours of the inpatient order.
func (r *run) admissionNotification(out []Finding, c *encCtx) []Finding {
	an := &c.rs.Checks.AdmissionNotification
	ip := c.s.ipStart
	if !an.Enabled || an.Hours <= 0 || ip.IsZero() || c.e.Payer == nil {
		// Without a payer there is nobody to notify: missing-coverage says so.
		return out
	}
	if payerNotified(c.p, c.e) {
		return out
	}
	hours := an.Hours
	var exemption string
	for i := range an.Exemptions {
		ex := &an.Exemptions[i]
		if ex.Hours <= 0 {
			continue
		}
		if _, ok := anyCodeOn(c.rs.CodeList(ex.CodeList), c.e, ip); ok {
			hours, exemption = ex.Hours, ex.Name
			break
		}
	}
	due := ip.In(r.loc).Add(time.Duration(hours) * time.Hour)
	moved := false
	if an.NextBusinessDay {
		// A nil calendar still knows weekends; holidays need the rule set's table.
		next := c.rs.Calendar().NextBusinessDayEnd(due)
		moved = !next.Equal(due)
		due = next
	}
	payer := payerLabel(c.e.Payer, c.rs, c.matched)
	f := r.newFinding(CheckAdmissionNotification, Urgent, URTeam, c, due)
	desc := fmt.Sprintf("Inpatient admission (order %s): %s requires notification within %d hours of the inpatient order",
		ip.In(r.loc).Format(descriptionTimeLayout), payer, hours)
	if exemption != "" {
		desc += " (" + exemption + " window)"
	}
	if moved {
		desc += "; the deadline fell on a weekend or holiday and moves to the end of the next business day"
	}
	f.Description = desc + ". Notify the payer and record the notification."
	f.Evidence = append([]Evidence{
		TimeEvidence(evInpatientOrder, ip),
		IntEvidence(evNotificationHours, hours),
	}, payerEvidence(c.e.Payer)...)
	f.Evidence = append(f.Evidence,
		BoolEvidence(evNextBusinessDay, moved),
		StringEvidence(evRuleSource, ruleSourceAdmissionNote),
		ruleSetEvidence(c.rs),
	)
	if exemption != "" {
		f.Evidence = append(f.Evidence, StringEvidence(evNotificationExempt, exemption))
	}
	f.Communication = &Communication{
		Category:            CategoryPayerNotification,
		Recipient:           c.e.Payer.OrganizationRef,
		RecipientIdentifier: payerIdentifier(c.e.Payer),
		RecipientDisplay:    recipientDisplay(c.e.Payer, payer),
		Payload: "Notification of inpatient admission for the referenced encounter: inpatient order " +
			ip.In(r.loc).Format(descriptionTimeLayout) + " (" + r.loc.String() + ").",
	}
	return append(out, f)
}

// payerNotified reports a completed Communication about the stay sent to
// its payer. When the payer has no Organization to address (Synthea's
// display text), a completed payer-notification about the stay counts.
func payerNotified(p *facts.Patient, e *facts.Encounter) bool {
	if p == nil || e.Payer == nil {
		return false
	}
	org := e.Payer.OrganizationRef
	for _, cm := range p.Communications {
		if cm == nil || cm.Status != "completed" || !hasString(cm.About, e.Ref) {
			continue
		}
		if org != "" {
			if hasString(cm.Recipients, org) {
				return true
			}
			continue
		}
		for _, cat := range cm.Categories {
			if cat.Code == CategoryPayerNotification {
				return true
			}
		}
	}
	return false
}

func hasString(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}
