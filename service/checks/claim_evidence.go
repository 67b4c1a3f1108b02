package checks

// Evidence types the claim and custom checks write (codes of utilreview's
// evidence CodeSystem).
const (
	EvRuleSet           = "rule-set"
	EvClaimLine         = "claim-line"
	EvServiceCode       = "service-code"
	EvDateOfService     = "date-of-service"
	EvPairedCode        = "paired-code"
	EvCodeList          = "code-list"
	EvRuleSource        = "rule-source"
	EvUnitsBilled       = "units-billed"
	EvMUEValue          = "mue-value"
	EvMUEIndicator      = "mue-indicator"
	EvDuplicateClaim    = "duplicate-of-claim"
	EvDuplicateLine     = "duplicate-of-line"
	EvThroughDate       = "through-date"
	EvFilingLimitDays   = "filing-limit-days"
	EvFilingLimitMonths = "filing-limit-months"
	EvFilingDeadline    = "filing-deadline"
	EvWarningDays       = "filing-warning-days"
	EvStay              = "stay"
	EvOpenReview        = "open-review"
	EvReviewTask        = "review-task"
	EvAdmissionDate     = "admission-date"
	EvWindowDays        = "payment-window-days"
	EvInpatientClaim    = "inpatient-claim"
	EvMissingData       = "missing-data"
	EvCustomCheck       = "custom-check"
	EvCustomRule        = "custom-rule"
)

var claimEvidenceTypes = []Concept{
	{EvRuleSet, "Rule set", "The payer rule set applied, as its id and version."},
	{EvClaimLine, "Claim line", "The sequence number (Claim.item.sequence) of the claim line the finding is about."},
	{EvServiceCode, "Service code", "The CPT or HCPCS code the claim line bills (Claim.item.productOrService)."},
	{EvDateOfService, "Date of service", "The date of service of the claim line: item.serviced[x], else the claim's billable period start."},
	{EvPairedCode, "Paired code", "The partner code billed on the same claim that makes a paired prior-authorization entry apply (e.g. 64612 for J0585)."},
	{EvCodeList, "Code list", "The name of the rule set's code list the code was found on."},
	{EvRuleSource, "Rule source", "The regulation or guidance the rule comes from, as the rule data cites it."},
	{EvUnitsBilled, "Units billed", "Units of service billed (Claim.item.quantity), for one line or summed over the lines of a date of service."},
	{EvMUEValue, "MUE value", "The Medically Unlikely Edit: the most units of the code the payer accepts per line or per date of service."},
	{EvMUEIndicator, "MUE adjudication indicator", "1: the edit applies per claim line; 2: per date of service (policy); 3: per date of service (clinical)."},
	{EvDuplicateClaim, "Duplicate of claim", "The other claim that bills the same code for the same patient on the same date of service."},
	{EvDuplicateLine, "Duplicate of line", "The sequence number of the other line, on the claim named by duplicate-of-claim or on the same claim, that bills the same service."},
	{EvThroughDate, "Through date", "The last date of service of the claim (billablePeriod.end, else the latest line service date), from which the filing limit counts."},
	{EvFilingLimitDays, "Filing limit (days)", "The payer's timely filing limit in calendar days from the through date."},
	{EvFilingLimitMonths, "Filing limit (months)", "The payer's timely filing limit in calendar months from the through date (12 for 1 calendar year)."},
	{EvFilingDeadline, "Filing deadline", "The last day the payer accepts the claim (until its end, in the facility time zone): the through date plus the filing limit."},
	{EvWarningDays, "Filing warning lead (days)", "How many days before the filing deadline the payer's rule set starts warning."},
	{EvStay, "Stay", "The encounter (hospital stay) the finding is about."},
	{EvOpenReview, "Open review", "The id of a utilreview review check still open for the stay."},
	{EvReviewTask, "Review Task", "An open utilreview Task for the stay, found in the input."},
	{EvAdmissionDate, "Admission date", "The day the inpatient stay starts, in the facility time zone: the day of the inpatient order (the IMP segment of the class history, else period.start)."},
	{EvWindowDays, "Payment window (days)", "Days before the admission date whose outpatient services belong on the inpatient claim (3 for IPPS hospitals, 1 otherwise)."},
	{EvInpatientClaim, "Inpatient claim", "The claim for the inpatient stay, when the input holds it."},
	{EvMissingData, "Missing data", "The element the check needed and did not find in the input."},
	{EvCustomCheck, "Custom check", "The id of the payer's custom (CEL) check that fired."},
	{EvCustomRule, "Custom rule", "The CEL expression of the payer's custom check."},
}
