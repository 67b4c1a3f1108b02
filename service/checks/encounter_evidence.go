package checks

// Evidence types the encounter checks write (Task.input.type codes in
// utilreview's evidence CodeSystem). The codes are API: Tasks already in
// EHRs carry them, so rename nothing; add new codes instead.
const (
	evRuleSet              = "rule-set"
	evRuleSource           = "rule-source"
	evStayStart            = "stay-start"
	evStayEnd              = "stay-end"
	evInpatientOrder       = "inpatient-order"
	evTotalMidnights       = "total-midnights"
	evInpatientDays        = "inpatient-days"
	evMinMidnights         = "min-midnights"
	evObservationStart     = "observation-start"
	evObservationEnd       = "observation-end"
	evObservationHours     = "observation-hours"
	evObservationLimit     = "observation-limit-hours"
	evObservationLimitAt   = "observation-limit-at"
	evSecondMidnight       = "second-midnight"
	evClassChange          = "class-change"
	evNewClass             = "new-class"
	evEncounterClass       = "encounter-class"
	evNotificationHours    = "notification-hours"
	evNotificationExempt   = "notification-exemption"
	evNextBusinessDay      = "next-business-day"
	evPayer                = "payer"
	evIMCopy               = "im-copy"
	evDRG                  = "drg"
	evGMLOS                = "gmlos"
	evGMLOSFactor          = "gmlos-factor"
	evEscalationFactor     = "escalation-factor"
	evThresholdDays        = "threshold-days"
	evDefaultReviewDay     = "default-review-day"
	evReviewCycle          = "review-cycle"
	evReviewDay            = "review-day"
	evCadenceDays          = "cadence-days"
	evNormLOS              = "norm-los"
	evNormPercentile       = "norm-percentile"
	evIndexStay            = "index-stay"
	evIndexDischarge       = "index-discharge"
	evDaysSinceDischarge   = "days-since-discharge"
	evWindowDays           = "window-days"
	evHRRPCohort           = "hrrp-cohort"
	evHRRPCode             = "hrrp-code"
	evDischargeDisposition = "discharge-disposition"
	evDaysOpen             = "days-open"
	evEmergencyStaleDays   = "emergency-stale-days"
	evStartPrecision       = "start-precision"
	evEndPrecision         = "end-precision"
	evPrecedingEncounter   = "preceding-encounter"
	evStaleAfterDays       = "stale-after-days"
	evReviewBusinessDays   = "review-business-days"
	evPayerProgram         = "payer-program"
	evTwoMidnightBenchmark = "two-midnight-benchmark"
	evBenchmarkMidnight    = "benchmark-midnight"
	evMissedCycles         = "missed-cycles"
)

// encounterEvidenceTypes is the vocabulary above with displays and
// definitions, for the evidence CodeSystem (see EvidenceTypes).
var encounterEvidenceTypes = []Concept{
	{evRuleSet, "Rule set", "The payer rule set applied, as its id and version."},
	{evRuleSource, "Rule source", "The regulation, manual or guidance the rule comes from."},
	{evStayStart, "Stay start", "Start of the hospital stay (Encounter.period.start), including emergency or observation time before any inpatient order."},
	{evStayEnd, "Stay end", "End of the hospital stay (Encounter.period.end): the discharge."},
	{evInpatientOrder, "Inpatient order", "Start of inpatient status: the start of the first inpatient period in Encounter.classHistory, else the stay's start."},
	{evTotalMidnights, "Total midnights", "Midnights in the facility's time zone the patient spent in the hospital, counted from the start of the stay (emergency and observation time included)."},
	{evInpatientDays, "Inpatient days", "Inpatient days counted in midnights from the inpatient order, as CMS counts inpatient days, to the discharge or to the review time while the stay goes on."},
	{evMinMidnights, "Minimum inpatient midnights", "The number of inpatient midnights the rule requires."},
	{evObservationStart, "Observation start", "Start of observation services."},
	{evObservationEnd, "Observation end", "End of observation services (discharge, or the inpatient order)."},
	{evObservationHours, "Observation hours", "Hours of observation in total, once it has ended (an ongoing stay cites its start instead, so that its findings do not change with the clock)."},
	{evObservationLimit, "Observation limit", "Hours of observation after which the payer's rule asks for escalation."},
	{evObservationLimitAt, "Observation limit reached", "The instant observation reaches (or reached) the payer's limit: its start plus the limit."},
	{evSecondMidnight, "Second midnight", "The second midnight after the start of observation, in the facility's time zone."},
	{evClassChange, "Class change", "When the stay's class changed (Encounter.classHistory)."},
	{evNewClass, "New class", "The class the stay changed to."},
	{evEncounterClass, "Encounter class", "The stay's class that made the check apply."},
	{evNotificationHours, "Notification hours", "Hours from the inpatient order the payer allows for the admission notification."},
	{evNotificationExempt, "Notification exemption", "The payer's exemption that gave the stay a different notification window (e.g. maternity)."},
	{evNextBusinessDay, "Next business day", "True when a deadline falling on a weekend or holiday was moved to the end of the next business day."},
	{evPayer, "Payer", "The payer as the input names it (organization name or coverage text)."},
	{evIMCopy, "Important Message copy", "Which copy of the Important Message from Medicare is due: initial or follow-up."},
	{evDRG, "MS-DRG", "The stay's MS-DRG."},
	{evGMLOS, "GMLOS", "The MS-DRG's geometric mean length of stay in days (CMS IPPS table)."},
	{evGMLOSFactor, "GMLOS factor", "The payer's multiplier of GMLOS at which a continued-stay review is due."},
	{evEscalationFactor, "Escalation factor", "The payer's multiplier of GMLOS at which the physician advisor reviews the stay."},
	{evThresholdDays, "Threshold days", "The length of stay in days at which the check fires."},
	{evDefaultReviewDay, "Default review day", "The payer's review day for stays without a known MS-DRG."},
	{evReviewCycle, "Review cycle", "The number of the concurrent review cycle, counted from the inpatient order."},
	{evReviewDay, "Review day", "The inpatient day on which this review is due."},
	{evCadenceDays, "Review cadence", "Days between concurrent reviews."},
	{evNormLOS, "Norm LOS", "The length-of-stay norm for the stay at the payer's percentile, in days."},
	{evNormPercentile, "Norm percentile", "The percentile of the length-of-stay norm table the payer uses."},
	{evIndexStay, "Index stay", "The earlier inpatient stay the readmission follows."},
	{evIndexDischarge, "Index discharge", "Discharge from the index stay."},
	{evDaysSinceDischarge, "Days since discharge", "Calendar days from the index stay's discharge to the readmission."},
	{evWindowDays, "Readmission window", "The payer's readmission window in days."},
	{evHRRPCohort, "HRRP cohort", "The CMS Hospital Readmissions Reduction Program cohort of the index stay (AMI, HF, PN, COPD, CABG, THA/TKA)."},
	{evHRRPCode, "HRRP code", "The index stay's principal diagnosis or procedure code that placed it in the HRRP cohort."},
	{evDischargeDisposition, "Discharge disposition", "Where the patient went at discharge (Encounter.hospitalization.dischargeDisposition)."},
	{evDaysOpen, "Days open", "Midnights from the encounter's start to its recorded end (finished encounters only: an open one cites its start, so that its finding does not change with the clock)."},
	{evEmergencyStaleDays, "Emergency limit", "Days after which an emergency encounter is treated as a data-quality problem (3)."},
	{evStartPrecision, "Start precision", "The precision period.start was written with (year or month) when it is coarser than a day."},
	{evEndPrecision, "End precision", "The precision period.end was written with (year or month) when it is coarser than a day."},
	{evPrecedingEncounter, "Preceding encounter", "An emergency or observation encounter recorded separately before the stay (linked by partOf, or ending at most 2 hours before it) whose time counts toward the stay."},
	{evStaleAfterDays, "Stale after", "Days in progress after which an encounter is treated as stale data."},
	{evReviewBusinessDays, "Review business days", "Business days after the inpatient order (or the start of observation) by whose end the payer's rules expect the initial admission review."},
	{evPayerProgram, "Payer program", "The program of the payer rule set applied: medicare-ffs, medicare-advantage, medicaid or commercial."},
	{evTwoMidnightBenchmark, "Two-midnight benchmark", "The midnights in the hospital the two-midnight benchmark expects (42 CFR 412.3(d)), counted from arrival, emergency and observation time included."},
	{evBenchmarkMidnight, "Benchmark midnight", "The stay's second midnight counted from arrival, in the facility's time zone: the moment the two-midnight benchmark is met."},
	{evMissedCycles, "Missed cycles", "Concurrent review cycles whose review day has passed with no completed review closing them; the open finding is for the earliest of them."},
}
