package checks

import (
	"strconv"
	"strings"
	"time"

	"github.com/utilreview/utilreview/service/facts"
	"github.com/utilreview/utilreview/service/rules"
)

// priorAuthRequired raises one finding for a claim without an
// authorization number whose lines bill codes on the payer's
// prior-authorization list.
func (r *run) priorAuthRequired(p *facts.Patient, c *facts.Claim, rs *rules.RuleSet, out []Finding) []Finding {
	pa := &rs.Checks.PriorAuth
	if !pa.Enabled || len(c.PreAuthRefs) > 0 || len(c.Lines) == 0 {
		return out
	}
	if len(pa.ClaimTypes) > 0 && !containsString(pa.ClaimTypes, c.Type) {
		return out
	}
	if pa.OutpatientOnly && forInpatientStay(c) {
		return out
	}
	list := rs.CodeList(pa.CodeList)
	if list == nil {
		return out
	}

	var (
		f     Finding
		found bool
		parts []string
		due   time.Time
		// late: lines whose date of service has passed beyond what the
		// payer authorizes retroactively (all of them, for Medicare FFS).
		late []string
	)
	for i := range c.Lines {
		l := &c.Lines[i]
		code, ok := billingCode(l)
		if !ok {
			continue
		}
		dos := lineDate(c, l)
		if dos.IsZero() {
			continue // no date to pick the list's version: the claim has no created either
		}
		entry, ok := list.Match(code, dos.In(r.loc))
		if !ok {
			continue
		}
		partner, paired := "", len(entry.WithAny) > 0
		if paired {
			if partner = billsAnyOf(c, entry.WithAny); partner == "" {
				continue // e.g. J0585 without 64612 or 64615
			}
		}
		if !found {
			found = true
			f = r.claimFinding(CheckPriorAuthRequired, Urgent, URTeam, p, c, rs, time.Time{})
		}
		if !pa.AcceptsRequest(dayOf(dos, r.loc), dayOf(r.asOf, r.loc)) {
			late = append(late, strconv.Itoa(l.Sequence))
		}
		day := StartOfDay(dos, r.loc)
		if due.IsZero() || day.Before(due) {
			due = day
		}
		date := dateText(dayOf(dos, r.loc))
		part := "line " + strconv.Itoa(l.Sequence) + " bills " + systemName(code.System) + " " + code.Code + " on " + date
		if paired {
			part += " together with " + partner
		}
		parts = append(parts, part)
		f.Evidence = append(f.Evidence,
			IntEvidence(EvClaimLine, l.Sequence),
			CodeEvidence(EvServiceCode, code),
			DateEvidence(EvDateOfService, day),
		)
		if paired {
			f.Evidence = append(f.Evidence, StringEvidence(EvPairedCode, partner))
		}
		f.Reasons = appendReason(f.Reasons, code)
	}
	if !found {
		return out
	}
	payer := payerName(rs, c.Payer)
	desc := upperFirst(strings.Join(parts, "; ")) + "; " + payer + " requires prior authorization for "
	if len(parts) == 1 {
		desc += "this service"
	} else {
		desc += "these services"
	}
	if list.Source != "" {
		desc += " (" + list.Source + ")"
	}
	desc += " and the claim has no authorization number."
	f.Evidence = append(f.Evidence, StringEvidence(EvCodeList, pa.CodeList))
	if list.Source != "" {
		f.Evidence = append(f.Evidence, StringEvidence(EvRuleSource, list.Source))
	}
	f.Evidence = append(f.Evidence, payerEvidence(c.Payer)...)
	f.Evidence = append(f.Evidence, BoolEvidence(EvRetroactiveAuth, pa.Retroactive))
	if len(late) > 0 {
		// Found after the date of service, and the payer does not
		// authorize retroactively (Medicare FFS: 42 CFR 419.82): asking
		// the payer is pointless; billing holds the claim for review.
		f.Owner = BillingTeam
		f.Due = r.editDue(c, rs)
		if f.Due.IsZero() {
			// No creation date and no filing limit: the day after the service.
			f.Due = endOfDay(due, 1, r.loc)
		}
		f.Status = r.statusFor(f.Due)
		which := "the date of service has"
		if len(parts) > 1 {
			which = "the date of service of line " + strings.Join(late, ", ") + " has"
			if len(late) > 1 {
				which = "the dates of service of lines " + strings.Join(late, ", ") + " have"
			}
		}
		desc += " " + upperFirst(which) + " passed and " + payer + " does not authorize retroactively"
		if rs.Program == rules.MedicareFFS {
			desc += " (42 CFR 419.82: the claim is denied without a provisional affirmation obtained before the service)"
			f.Evidence = append(f.Evidence, StringEvidence(EvRuleSource, ruleSourceOPDPA))
		} else if pa.Retroactive {
			desc += " beyond " + plural(pa.RetroactiveDays, "day") + " after the service"
		}
		desc += ": do not bill this claim without review (billing, with UR: remove or correct the lines, or document why no authorization was needed)."
		f.Description = desc
		return append(out, f)
	}
	f.Due = due
	f.Status = r.statusFor(due)
	f.Description = desc
	kind := "Request for prior authorization: "
	if dayOf(due, r.loc).Before(dayOf(r.asOf, r.loc)) {
		kind = "Request for retroactive prior authorization: "
	}
	f.Communication = &Communication{
		Category:            CategoryPriorAuthorization,
		Recipient:           payerRef(c.Payer),
		RecipientIdentifier: payerIdentifier(c.Payer),
		RecipientDisplay:    recipientDisplay(c.Payer, ""),
		Payload:             kind + strings.Join(parts, "; ") + " (claim " + c.Key + ").",
	}
	return append(out, f)
}

// billsAnyOf returns the first of codes that the claim bills on any line
// (CPT or HCPCS), or "".
func billsAnyOf(c *facts.Claim, codes []string) string {
	for i := range c.Lines {
		for _, cd := range c.Lines[i].Codes {
			if !isBillingSystem(cd.System) {
				continue
			}
			for _, want := range codes {
				if strings.EqualFold(strings.TrimSpace(want), cd.Code) {
					return cd.Code
				}
			}
		}
	}
	return ""
}

func payerRef(py *facts.Payer) string {
	if py == nil {
		return ""
	}
	return py.OrganizationRef
}

// payerIdentifier is the payer's identifier as the input gives it, to name
// the payer on a CommunicationRequest beside its Organization reference,
// or alone when there is none: the first with a system, else the first;
// nil when the payer has no identifier.
func payerIdentifier(py *facts.Payer) *facts.Identifier {
	id := firstIdentifier(py)
	if id == nil {
		return nil
	}
	v := *id
	return &v
}

func containsString(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// upperFirst capitalises an ASCII first letter.
func upperFirst(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
