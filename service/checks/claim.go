package checks

import (
	"strings"
	"time"

	"github.com/utilreview/utilreview/service/facts"
	"github.com/utilreview/utilreview/service/rules"
)

// Claim check ids: stable, they appear in Task.code.
const (
	CheckPriorAuthRequired        = "prior-auth-required"
	CheckMUEExceeded              = "mue-exceeded"
	CheckDuplicateClaimLine       = "duplicate-claim-line"
	CheckTimelyFiling             = "timely-filing"
	CheckClaimBeforeDetermination = "claim-before-determination"
	CheckPaymentWindow            = "payment-window-3day"
)

// Communication category of the prior-authorization request to the payer.
const CategoryPriorAuthorization = "prior-authorization"

var claimDefinitions = []Definition{
	{
		ID:    CheckPriorAuthRequired,
		Title: "Prior authorization required",
		On:    "claim",
		What: "A claim line bills a CPT or HCPCS code that is on the payer's prior-authorization list on the line's date of service " +
			"(entries carry effective dates; a paired entry such as J0585-J0588 applies only when the same claim also bills one of its " +
			"partner codes, 64612 or 64615), the claim is of a type the payer's rule covers (for Medicare fee-for-service: " +
			"institutional claims not for an inpatient stay, i.e. hospital outpatient claims), and the claim carries no " +
			"insurance.preAuthRef. One finding per claim lists every such line; it is due on the earliest flagged date of service " +
			"and overdue once that date has passed, with a CommunicationRequest asking the payer for the authorization. Found " +
			"after a line's date of service (the day has ended in the facility time zone), the request goes to the payer only " +
			"when its rule data allows retroactive authorization (checks.prior_auth.retroactive, within retroactive_days); " +
			"otherwise (always for Medicare fee-for-service, 42 CFR 419.82) the finding says so, goes to billing (do not bill " +
			"the claim without review), is due by the end of the day after the claim's creation (no later than its filing " +
			"deadline) and asks the payer for nothing.",
		Why: "The payer denies a service that needed prior authorization and was performed or billed without it; the request " +
			"must reach the payer before the service, with the clinical documentation.",
		Source: "42 CFR 419.80-419.89 (Medicare hospital outpatient department prior authorization, no affirmation after the service: 42 CFR 419.82; list at 42 CFR 419.83 and " +
			"the CMS OPD prior authorization list); payer provider manuals for other payers.",
		Thresholds: "checks.prior_auth.code_list (code list with per-code effective dates and with_any partner codes), " +
			"checks.prior_auth.claim_types, checks.prior_auth.outpatient_only, checks.prior_auth.retroactive and " +
			"retroactive_days (whether and how long after the date of service the payer authorizes).",
		Switch:        "checks.prior_auth.enabled",
		Owner:         URTeam,
		Priority:      Urgent,
		Communication: CategoryPriorAuthorization,
	},
	{
		ID:    CheckMUEExceeded,
		Title: "Units above the Medically Unlikely Edit",
		On:    "claim",
		What: "The units of service billed for a CPT or HCPCS code exceed its Medically Unlikely Edit value: per claim line when " +
			"the MUE adjudication indicator is 1, or summed over the claim's lines with the same code and date of service when it " +
			"is 2 (policy) or 3 (clinical). A line without a quantity counts as 1 unit. Institutional and professional claims only. " +
			"Units are summed within one claim: the engine does not add units of the same code and date billed on the patient's " +
			"other claims. The correction is due by the end of the day after the claim's creation (billing edits are worked " +
			"before the claim goes to the payer), and no later than its timely-filing deadline.",
		Why: "Payers deny the line (indicator 1) or the whole code for the day (indicators 2 and 3) when units exceed the MUE; " +
			"billing must correct the units or document why more were given.",
		Source:     "CMS National Correct Coding Initiative, Medically Unlikely Edits (MUE) tables; Medicare Claims Processing Manual ch. 23.",
		Thresholds: "checks.mue.table (an MUE table in CMS's CSV layout: code, MUE value, adjudication indicator, rationale).",
		Switch:     "checks.mue.enabled",
		Owner:      BillingTeam,
		Priority:   Routine,
	},
	{
		ID:    CheckDuplicateClaimLine,
		Title: "Duplicate claim line",
		On:    "claim",
		What: "An exact duplicate: the same CPT or HCPCS code billed for the same patient on the same date of service twice on one " +
			"claim (draft or active), or on two active claims to the same payer, by the same provider on the same claim type, and " +
			"neither line carries a duplicate-exempt modifier and neither claim replaces the other (Claim.related with " +
			"relationship prior). Compared: the code (CPT and HCPCS alike, case-insensitive), the date of service (the line's " +
			"serviced date, else the claim's billable period, in the facility time zone), Claim.type, the billing provider " +
			"(Claim.provider), the rendering provider (the careTeam member the line's careTeamSequence names, else the claim's " +
			"one primary careTeam member) and the payer. A facility (institutional) claim and a professional claim for the same " +
			"visit code are not duplicates, nor are two lines of different rendering providers on the same day; a provider or " +
			"type the input does not give is not told apart. The finding is raised once per pair, on " +
			"the later claim (by creation time, then reference) or on the later line of the same claim. Claims to different " +
			"payers are not duplicates (coordination of benefits sends the same service to each payer). The correction is due " +
			"by the end of the day after the later claim's creation (billing edits are worked before the claim goes to the " +
			"payer), and no later than its timely-filing deadline.",
		Why: "Payers deny exact duplicates (CARC 18), and a duplicate that is paid is an overpayment to return.",
		Source: "Payer duplicate-claim edits (claim adjustment reason code 18); modifiers 59, 76, 77, 91, XE, XP, XS, XU, RT and LT " +
			"mark distinct or repeat services (CMS NCCI Policy Manual ch. 1).",
		Thresholds: "checks.duplicate_lines.exempt_modifiers (a line carrying any of them is never a duplicate).",
		Switch:     "checks.duplicate_lines.enabled",
		Owner:      BillingTeam,
		Priority:   Routine,
	},
	{
		ID:    CheckTimelyFiling,
		Title: "Timely filing limit",
		On:    "claim",
		What: "An institutional or professional claim not yet accepted by the payer (no ClaimResponse or ExplanationOfBenefit with outcome complete or partial) " +
			"whose filing deadline, the service's through date (billablePeriod.end, else the latest line service date) plus the " +
			"payer's limit, has passed or falls within the warning lead. The limit is in calendar days, or in calendar months " +
			"(the same day of the month, or the month's last day when it has no such day), so that \"1 calendar year\" is 12 " +
			"months and not 365 days, which end a day early across 29 February. The deadline is the end of that day " +
			"in the facility time zone. A claim without any service date gets a data-gap finding.",
		Why:        "A claim filed after the payer's limit is denied and cannot be billed to the patient.",
		Source:     "42 CFR 424.44 (Medicare: 1 calendar year after the date of service); commercial payer contracts (often 90-180 days).",
		Thresholds: "checks.timely_filing.limit_days or checks.timely_filing.limit_months (Medicare: 12), checks.timely_filing.warning_days.",
		Switch:     "checks.timely_filing.enabled",
		Owner:      BillingTeam,
		Priority:   Urgent,
	},
	{
		ID:    CheckClaimBeforeDetermination,
		Title: "Claim before the UR determination",
		On:    "claim",
		What: "A draft or active institutional or professional claim (use claim, not accepted) for a stay whose utilreview review is still open: a Task in the " +
			"input with utilreview's identifier system, focused on the stay or with the stay as its encounter, in status " +
			"requested, received, accepted, ready, in-progress or on-hold; or a review finding this run raised for the stay. " +
			"Only reviews whose determination can change the claim hold it: the admission status (two-midnight, admission-review, " +
			"condition-code-44), the observation-to-inpatient decision (observation-second-midnight, observation-48h) and prior " +
			"authorization (prior-auth-required); an observation finding raised ahead of its event (before the second midnight) is " +
			"not yet due and does not hold it. Not the SNF 3-day rule (42 CFR 409.30 decides the SNF's coverage, not the " +
			"hospital's claim), not length of stay past GMLOS or continued stay (no IPPS DRG payment change), not readmission; " +
			"notices, notifications, coverage and data-quality findings neither. Due at the claim's creation: the claim should " +
			"not have been prepared yet.",
		Why: "A claim that goes out before utilization review has decided the stay's status (inpatient or observation) or its " +
			"medical necessity may bill the wrong level of care and has to be cancelled and rebilled.",
		Source:     "UR practice: the review paperwork is complete before the claim is sent to the payer (42 CFR 482.30 UR plan).",
		Thresholds: "none (Config.IdentifierSystem identifies utilreview's Tasks).",
		Switch:     "checks.claim_before_determination.enabled",
		Owner:      BillingTeam,
		Priority:   Urgent,
	},
	{
		ID:    CheckPaymentWindow,
		Title: "Outpatient services in the pre-admission payment window",
		On:    "claim",
		What: "A hospital outpatient claim (institutional, not for an inpatient stay) of the same patient has services dated on " +
			"an inpatient admission's date or within the window's days before it (calendar days in the facility time zone, from " +
			"the inpatient order), billed separately from the inpatient claim. All outpatient hospital services of the admitting " +
			"hospital count, diagnostic or not, because related non-diagnostic services belong on the inpatient claim too and " +
			"the engine cannot tell clinical relatedness; when both claims name a provider, only the same provider's claims " +
			"count. Professional claims are outside the rule, and so are lines the payer's rule data excludes by HCPCS/CPT code or " +
			"UB-04 revenue code (for Medicare, by statute: ambulance services, HCPCS A0021-A0999 or revenue code 054x, and " +
			"maintenance renal dialysis, revenue codes 082x-085x and 088x). The payer's rule set of the inpatient stay applies. The services " +
			"must be on the inpatient claim before it is billed, so the finding is due by the end of the day after the inpatient " +
			"claim's creation; without an inpatient claim in the input, the end of the day after discharge; for a stay in " +
			"progress, the end of the day after the later of the inpatient order and the outpatient claim's creation (hold the " +
			"outpatient claim). Never later than the outpatient claim's timely-filing deadline.",
		Why: "Medicare pays these services as part of the inpatient stay (DRG payment); billing them separately is an " +
			"overpayment that must be combined onto the inpatient claim or refunded.",
		Source:     "42 CFR 412.2(c)(5) (3 days for IPPS hospitals, 1 day for hospitals outside the IPPS); SSA 1886(a)(4) (ambulance and maintenance dialysis excluded); Medicare Claims Processing Manual ch. 3, 40.3.",
		Thresholds: "checks.payment_window.days (3 for IPPS hospitals, 1 otherwise); checks.payment_window.exclusions (name, source, hcpcs codes or ranges, revenue codes, families such as 054x or ranges such as 082x-085x).",
		Switch:     "checks.payment_window.enabled",
		Owner:      BillingTeam,
		Priority:   Routine,
	},
}

// claimIgnored reports whether no claim check looks at c: requests for
// prior authorization or predetermination are not claims for payment, and
// cancelled or entered-in-error claims are void. Drafts are checked: edits
// are most useful before the claim goes out.
func claimIgnored(c *facts.Claim) bool {
	switch c.Use {
	case "preauthorization", "predetermination":
		return true
	}
	switch c.Status {
	case "cancelled", "entered-in-error":
		return true
	}
	return false
}

// hospitalClaim reports whether c bills hospital or physician services
// (institutional or professional; an unknown type is given the benefit of
// the doubt). Pharmacy, oral and vision claims follow other rules
// (pharmacy benefit point-of-sale adjudication, dental plans) and are outside
// timely filing under 42 CFR 424.44, the MUE tables and UR holds.
func hospitalClaim(c *facts.Claim) bool {
	switch c.Type {
	case "institutional", "professional", "":
		return true
	}
	return false
}

// claimActive reports whether c has been submitted (status active, or no
// status given); drafts are not yet with the payer.
func claimActive(c *facts.Claim) bool { return c.Status == "active" || c.Status == "" }

func (r *run) claim(p *facts.Patient, c *facts.Claim) []Finding {
	if c == nil || claimIgnored(c) {
		return nil
	}
	rs, _ := r.rules.For(c.Payer, claimRuleDate(c))
	var out []Finding
	if rs != nil {
		out = r.priorAuthRequired(p, c, rs, out)
		out = r.mueExceeded(p, c, rs, out)
		out = r.duplicateClaimLine(p, c, rs, out)
		out = r.timelyFiling(p, c, rs, out)
		out = r.claimBeforeDetermination(p, c, rs, out)
	}
	// The payment window follows the inpatient stay's payer, not the
	// outpatient claim's: it looks its rule set up itself.
	out = r.paymentWindow(p, c, out)
	return out
}

// claimRuleDate is the date that picks the claim's rule-set version.
func claimRuleDate(c *facts.Claim) time.Time {
	if !c.BillableStart.IsZero() {
		return c.BillableStart
	}
	return c.Created
}

// lineDate is a line's date of service: its serviced date or period start,
// else the claim's billable period start, else the claim's creation.
func lineDate(c *facts.Claim, l *facts.Line) time.Time {
	switch {
	case !l.ServiceStart.IsZero():
		return l.ServiceStart
	case !c.BillableStart.IsZero():
		return c.BillableStart
	}
	return c.Created
}

// billingCode is the line's first CPT or HCPCS coding, its code trimmed
// and in upper case (HCPCS letters are sometimes written in lower case), so
// that episodes and comparisons do not depend on how the input wrote it.
func billingCode(l *facts.Line) (facts.Code, bool) {
	for _, cd := range l.Codes {
		if isBillingSystem(cd.System) {
			if cd.Code = normCode(cd.Code); cd.Code != "" {
				return cd, true
			}
		}
	}
	return facts.Code{}, false
}

// normCode trims and upper-cases a code, allocating only when it must.
func normCode(s string) string {
	s = strings.TrimSpace(s)
	for i := 0; i < len(s); i++ {
		if 'a' <= s[i] && s[i] <= 'z' {
			return strings.ToUpper(s)
		}
	}
	return s
}

func isBillingSystem(system string) bool {
	if system == rules.SystemCPT || system == rules.SystemHCPCS {
		return true // the common spelling, without the alias lookup
	}
	s := rules.CanonicalSystem(system)
	return s == rules.SystemCPT || s == rules.SystemHCPCS
}

// systemName is the short name of a billing code system for descriptions.
func systemName(system string) string {
	switch rules.CanonicalSystem(system) {
	case rules.SystemCPT:
		return "CPT"
	case rules.SystemHCPCS:
		return "HCPCS"
	}
	return "code"
}

// forInpatientStay reports whether c bills an inpatient stay: it reaches an
// encounter with an inpatient segment, or it carries an MS-DRG.
func forInpatientStay(c *facts.Claim) bool {
	if c.DRG != "" {
		return true
	}
	for _, e := range c.Encounters {
		if e != nil && !InpatientStart(e).IsZero() {
			return true
		}
	}
	return false
}

// claimStay is the encounter a claim finding names: the inpatient stay
// when the claim reaches one, else its first encounter.
func claimStay(c *facts.Claim) *facts.Encounter {
	var first *facts.Encounter
	for _, e := range c.Encounters {
		if e == nil {
			continue
		}
		if !InpatientStart(e).IsZero() {
			return e
		}
		if first == nil {
			first = e
		}
	}
	return first
}

// claimFinding fills what every claim finding shares.
func (r *run) claimFinding(id string, pr Priority, ow Owner, p *facts.Patient, c *facts.Claim, rs *rules.RuleSet, due time.Time) Finding {
	return Finding{
		Check:     id,
		Priority:  pr,
		Owner:     ow,
		Patient:   p,
		Encounter: claimStay(c),
		Claim:     c,
		FocusRef:  c.Ref,
		FocusKey:  c.Key,
		Episode:   c.Key,
		Due:       due,
		Status:    r.statusFor(due),
		RuleSet:   rs,
		Evidence:  ruleSetEvidenceOf(rs),
	}
}

// ruleSetEvidenceOf names the rule set applied ("id@version").
func ruleSetEvidenceOf(rs *rules.RuleSet) []Evidence {
	// Room for the evidence every check adds, so appends do not regrow it.
	out := make([]Evidence, 0, 8)
	if rs == nil {
		return out
	}
	return append(out, StringEvidence(EvRuleSet, rs.ID+"@"+rs.Version))
}

// filingDeadline is the end (23:59:59 in the facility zone) of the last
// day the payer accepts the claim; ok is false when the payer sets no limit
// or the claim has no service date.
func (r *run) filingDeadline(c *facts.Claim, rs *rules.RuleSet) (deadline, through time.Time, ok bool) {
	if rs == nil || !rs.Checks.TimelyFiling.HasLimit() {
		return time.Time{}, time.Time{}, false
	}
	through = throughDate(c)
	if through.IsZero() {
		return time.Time{}, time.Time{}, false
	}
	last := rs.Checks.TimelyFiling.LastDay(dayOf(through, r.loc))
	return endOfDay(last.In(r.loc), 0, r.loc), through, true
}

// editDue is when a billing edit on c must be fixed: edits are worked
// before the claim goes to the payer, so by the end of the day after its
// creation (see dueDayAfter).
func (r *run) editDue(c *facts.Claim, rs *rules.RuleSet) time.Time {
	return r.dueDayAfter(c.Created, c, rs)
}

// dueDayAfter is the end of the day after anchor in the facility zone,
// never later than c's filing deadline: a corrected claim must still reach
// the payer in time. Without an anchor it is the filing deadline (zero
// when there is none either).
func (r *run) dueDayAfter(anchor time.Time, c *facts.Claim, rs *rules.RuleSet) time.Time {
	deadline, _, ok := r.filingDeadline(c, rs)
	if anchor.IsZero() {
		if ok {
			return deadline
		}
		return time.Time{}
	}
	due := endOfDay(anchor, 1, r.loc)
	if ok && deadline.Before(due) {
		due = deadline
	}
	return due
}

// throughDate is the service's through date: billablePeriod.end, else the
// latest line service date, else the billable period start.
func throughDate(c *facts.Claim) time.Time {
	if !c.BillableEnd.IsZero() {
		return c.BillableEnd
	}
	var t time.Time
	for i := range c.Lines {
		l := &c.Lines[i]
		e := l.ServiceEnd
		if e.IsZero() {
			e = l.ServiceStart
		}
		if e.After(t) {
			t = e
		}
	}
	if t.IsZero() {
		t = c.BillableStart
	}
	return t
}

// endOfDay is 23:59:59 of the calendar day days after t's day, in loc.
func endOfDay(t time.Time, days int, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d+days+1, 0, 0, 0, 0, loc).Add(-time.Second)
}

// dayOf is t's calendar date in loc.
func dayOf(t time.Time, loc *time.Location) rules.Date { return rules.DateOf(t.In(loc)) }

// dateText writes a date as YYYY-MM-DD.
func dateText(d rules.Date) string {
	b := make([]byte, 0, 10)
	b = appendInt(b, d.Y, 4)
	b = append(b, '-')
	b = appendInt(b, d.M, 2)
	b = append(b, '-')
	b = appendInt(b, d.D, 2)
	return string(b)
}

func appendInt(b []byte, v, width int) []byte {
	var tmp [20]byte
	i := len(tmp)
	neg := v < 0
	if neg {
		v = -v
	}
	for v > 0 || i == len(tmp) {
		i--
		tmp[i] = byte('0' + v%10)
		v /= 10
	}
	for len(tmp)-i < width {
		i--
		tmp[i] = '0'
	}
	if neg {
		b = append(b, '-')
	}
	return append(b, tmp[i:]...)
}

// payerName names the payer in plain words: the Organization's name, else
// the rule set's name, else the display text the input gave.
func payerName(rs *rules.RuleSet, py *facts.Payer) string {
	if py != nil && py.Name != "" {
		return py.Name
	}
	if rs != nil && rs.Name != "" {
		return rs.Name
	}
	if py != nil && py.Display != "" {
		return py.Display
	}
	return "the payer"
}
