package checks

// Encounter check ids: stable, they appear in Task.code.
const (
	CheckAdmissionNotification     = "admission-notification"
	CheckAdmissionReview           = "admission-review"
	CheckTwoMidnight               = "two-midnight"
	CheckObservationMOON           = "observation-moon"
	CheckObservationSecondMidnight = "observation-second-midnight"
	CheckObservation48h            = "observation-48h"
	CheckConditionCode44           = "condition-code-44"
	CheckImportantMessage          = "important-message"
	CheckLOSExceedsGMLOS           = "los-exceeds-gmlos"
	CheckContinuedStayReview       = "continued-stay-review"
	CheckReadmission30d            = "readmission-30d"
	CheckSNFThreeDay               = "snf-three-day"
	CheckMissingCoverage           = "missing-coverage"
	CheckStaleEncounter            = "stale-encounter"
)

// Time rules every encounter check shares, said once for the docs.
const encounterTimeNote = " Times are read in the facility time zone; a midnight is 00:00 there, and a stay present at a midnight has that midnight counted (CMS counts inpatient days this way), so DST days count once. "

var encounterDefinitions = []Definition{
	{
		ID:    CheckAdmissionNotification,
		Title: "Admission notification to the payer",
		On:    "encounter",
		What: "An inpatient stay (class IMP, ACUTE or NONAC, from the inpatient order: the start of the first inpatient period in " +
			"Encounter.classHistory, else period.start) whose payer requires notification. Due the payer's hours after the inpatient " +
			"order; when next-business-day handling is on and the deadline falls on a weekend or on a holiday of the rule set's " +
			"calendar, at the end (23:59:59) of the next business day. A stay whose diagnosis, reason or type code is on an " +
			"exemption's code list (e.g. maternity) gets that exemption's hours instead. Satisfied, and not raised, when the input " +
			"holds a completed Communication about the encounter sent to the payer's Organization (or, for a payer known only by " +
			"display text, a completed Communication about the encounter in the payer-notification category). Not raised for a " +
			"stay with no payer (missing-coverage covers it). Also writes a CommunicationRequest to the payer." + encounterTimeNote,
		Why: "Payers deny or reduce payment for admissions they were not told about in time; the notification starts their " +
			"concurrent review.",
		Source: "Payer provider manuals (commercial and Medicare Advantage plans typically require notice within 24 hours or by the " +
			"next business day; some allow 48 or 96 hours for maternity). Traditional Medicare requires none.",
		Thresholds: "checks.admission_notification.hours, .next_business_day (with the rule set's calendar), " +
			".exemptions[] (name, code_list, hours).",
		Switch:        "checks.admission_notification.enabled",
		Owner:         URTeam,
		Priority:      Urgent,
		Communication: CategoryPayerNotification,
	},
	{
		ID:    CheckAdmissionReview,
		Title: "Initial admission review by the UR team",
		On:    "encounter",
		What: "Every inpatient stay (from the inpatient order) and every observation placement (from the start of observation; " +
			"episode \"<stay>+observation\"), one finding per stay and status: once an inpatient order follows the observation, " +
			"the admission (episode: the stay) is the one to review. Due at the end (23:59:59) of the rule set's business day " +
			"after the order's day (1: the next business day; weekends and the rule set's holidays skipped). For a two-midnight " +
			"payer (checks.two_midnight on) it is the concurrent status review: due one second before the stay's second midnight, " +
			"counted from arrival (emergency and observation time included, as for two-midnight), when that comes sooner and " +
			"the order came before it. A stay discharged before that is due at discharge: the status can only change while " +
			"the patient is in (Condition Code 44). Evidence: the midnights so far, the payer and its program, and for a " +
			"two-midnight payer the benchmark and its midnight. Raised with the default rules for a stay with no payer too." + encounterTimeNote,
		Why: "The hospital's UR plan reviews every admission for medical necessity and the right status; an inpatient or " +
			"observation status is cheapest to correct while the patient is still in, before the second midnight and before " +
			"discharge. After a short discharge only two-midnight's retrospective review remains.",
		Source: "42 CFR 482.30 (utilization review plan: admissions); 42 CFR 412.3(d) (two-midnight benchmark); 42 CFR 482.30(d) " +
			"and Medicare Claims Processing Manual ch. 1, 50.3 (Condition Code 44, before discharge).",
		Thresholds: "checks.admission_review.business_days (with the rule set's calendar); checks.two_midnight.enabled.",
		Switch:     "checks.admission_review.enabled",
		Owner:      URTeam,
		Priority:   Urgent,
	},
	{
		ID:    CheckTwoMidnight,
		Title: "Inpatient stay shorter than two midnights",
		On:    "encounter",
		What: "A finished inpatient stay whose total hospital time, from arrival (emergency and observation time before the " +
			"inpatient order included) to discharge, spans fewer than 2 midnights. Arrival also counts emergency or observation " +
			"time recorded as separate encounters of the same patient: one the stay is partOf (or that is partOf the stay), or " +
			"one ending at most 2 hours before the stay (or such an encounter) starts; each is named as preceding-encounter " +
			"evidence. Not raised when a procedure of the stay is on " +
			"the rule set's \"inpatient-only\" code list on the day it was performed, or when the stay ended in a way the rule " +
			"excuses: death (the patient's death date falls within the stay, or discharge disposition NUBC 20, 40, 41, 42 / " +
			"R4 exp), transfer to another hospital (NUBC 02, 05, 43, 62, 63, 65, 66 and their planned-readmission forms 82, 85, " +
			"88, 90, 91, 93, 94 / R4 other-hcf, psy, rehab), leaving against medical advice (NUBC 07 / R4 aadvice) or hospice " +
			"election (NUBC 50, 51 / R4 hosp). Not raised either when the stay changed from inpatient to another class and " +
			"condition-code-44 is on: that review supersedes this one. The retrospective review after a short discharge; " +
			"admission-review is the concurrent one. Due by the end of the day after discharge, before the claim is billed." + encounterTimeNote,
		Why: "Medicare pays an inpatient claim when, at the inpatient order, the physician reasonably expected care to span two " +
			"midnights; a short stay must show that documented expectation or it is denied as an outpatient case.",
		Source:     "42 CFR 412.3(d) (two-midnight benchmark and presumption); Medicare Advantage plans since CMS-4201-F (42 CFR 422.101(b)(2)).",
		Thresholds: "Benchmark of 2 midnights (regulatory). Code list inpatient-only.",
		Switch:     "checks.two_midnight.enabled",
		Owner:      URTeam,
		Priority:   Routine,
	},
	{
		ID:    CheckObservationMOON,
		Title: "Medicare Outpatient Observation Notice (MOON)",
		On:    "encounter",
		What: "Observation (class OBSENC, or one of the payer's observation classes) for more than 24 hours, counted from the start " +
			"of observation to its end (the inpatient order or discharge) or to the review time, for a Medicare beneficiary " +
			"(the stay's rule set, or the rule set of any other coverage in force during the stay, primary or secondary, is " +
			"Medicare fee-for-service or Medicare Advantage; that Medicare rule set's settings apply). Due at hour 36 of observation, or when observation ended " +
			"if that was sooner. Exactly 24 hours does not fire." + encounterTimeNote,
		Why: "The NOTICE Act requires hospitals to tell Medicare beneficiaries in writing, and orally, that they are outpatients " +
			"in observation and what that means for their costs and for SNF coverage.",
		Source:     "Notice of Observation Treatment and Implication for Care Eligibility (NOTICE) Act, Pub. L. 114-42; 42 CFR 489.20(y); CMS-10611 (MOON).",
		Thresholds: "24 h and 36 h (statutory). Observation classes: checks.observation.classes.",
		Switch:     "checks.observation.enabled and checks.observation.moon of the Medicare rule set",
		Owner:      URTeam,
		Priority:   Urgent,
	},
	{
		ID:    CheckObservationSecondMidnight,
		Title: "Observation at its second midnight",
		On:    "encounter",
		What: "Observation that is about to cross its second midnight (from the lead hours before it, while observation goes on) " +
			"or that was present at it. Due at the second midnight after the start of observation. Not raised once an inpatient " +
			"order followed the observation: the decision has been made." + encounterTimeNote,
		Why: "Once care has spanned two midnights the two-midnight benchmark is met; keeping the patient in observation leaves " +
			"them liable for outpatient cost sharing and without a qualifying inpatient stay.",
		Source:     "42 CFR 412.3(d)(1) (time in observation counts toward the benchmark); Medicare Benefit Policy Manual ch. 6, 20.6.",
		Thresholds: "checks.observation.second_midnight_lead_hours (0: raised at the second midnight). Observation classes: checks.observation.classes.",
		Switch:     "checks.observation.enabled",
		Owner:      URTeam,
		Priority:   Routine,
	},
	{
		ID:    CheckObservation48h,
		Title: "Observation beyond 48 hours",
		On:    "encounter",
		What: "Observation reaching the payer's limit (48 hours by default): raised the rule's lead (4 hours by default) before " +
			"the limit while observation goes on, and due at the limit from the start of observation, so it is not overdue when " +
			"raised; an observation that ended after the limit is raised too (overdue), one that ended before it is not. It goes " +
			"to the physician advisor as urgent. While observation goes on, the text and evidence cite its start and the instant " +
			"of the limit, not the hours so far, so that the finding changes only when the limit is passed or observation ends " +
			"(the same holds for observation-moon and observation-second-midnight)." + encounterTimeNote,
		Why: "Observation is meant to decide within 24 to 48 hours whether to admit or discharge; longer stays are rarely " +
			"reasonable and are audited.",
		Source:     "Medicare Benefit Policy Manual ch. 6, 20.6; Medicare contractor guidance on observation beyond 48 hours.",
		Thresholds: "checks.observation.max_hours (default 48), checks.observation.max_hours_lead_hours (default 4).",
		Switch:     "checks.observation.enabled",
		Owner:      PhysicianAdvisor,
		Priority:   Urgent,
	},
	{
		ID:    CheckConditionCode44,
		Title: "Inpatient changed to outpatient (Condition Code 44)",
		On:    "encounter",
		What: "A stay whose class history shows an inpatient period followed by a non-inpatient class (observation or another " +
			"outpatient class). Due 24 hours after the change, or at discharge if that is sooner." + encounterTimeNote,
		Why: "A hospital may change an inpatient to outpatient only before discharge, with the UR committee physician's " +
			"concurrence and with the patient and attending informed; otherwise the stay must be billed as inpatient.",
		Source:     "42 CFR 482.30(d); Medicare Claims Processing Manual ch. 1, 50.3 (Condition Code 44).",
		Thresholds: "None.",
		Switch:     "checks.condition_code_44.enabled",
		Owner:      PhysicianAdvisor,
		Priority:   Urgent,
	},
	{
		ID:    CheckImportantMessage,
		Title: "Important Message from Medicare",
		On:    "encounter",
		What: "A Medicare beneficiary's inpatient stay: the stay's rule set, or the rule set of any other coverage in force " +
			"during the stay (primary or secondary, e.g. Medicare secondary to an employer plan), is Medicare fee-for-service or " +
			"Medicare Advantage, and that Medicare rule set's settings apply. The initial copy is due at the end of the 2nd calendar day after the " +
			"inpatient order's day, or at discharge if that comes first (episode: the stay). Once the stay has ended more than 2 calendar days after admission, a " +
			"follow-up copy was due no more than 2 days before discharge: a second finding, due at discharge (episode: " +
			"\"<stay>+follow-up\"). While the stay goes on, discharge is unknown, so only the initial copy is raised." + encounterTimeNote,
		Why: "Hospitals must tell Medicare inpatients of their discharge appeal rights in writing, at admission and again " +
			"shortly before discharge.",
		Source:     "42 CFR 405.1205 (405.1205(b): every Medicare beneficiary inpatient); CMS-R-193 (Important Message from Medicare) and its form instructions.",
		Thresholds: "checks.important_message.days_after_admission (2), .days_before_discharge (2).",
		Switch:     "checks.important_message.enabled of the Medicare rule set (Medicare programs only)",
		Owner:      URTeam,
		Priority:   Routine,
	},
	{
		ID:    CheckLOSExceedsGMLOS,
		Title: "Length of stay at or above the MS-DRG's GMLOS",
		On:    "encounter",
		What: "Inpatient days (midnights from the inpatient order to the review time, or to discharge) at or above the stay's " +
			"MS-DRG GMLOS × factor, while the stay goes on (a discharged stay's length belongs in the committee report); due at " +
			"the end of the day the stay reached it. When that day is also the review day of a continued-stay-review cycle, the " +
			"two are one review: no finding of its own, its evidence goes on that cycle's continued-stay-review finding (and once " +
			"that cycle is closed, it is done). At or above GMLOS × escalation factor, a " +
			"second finding (episode \"<stay>+escalation\") goes to the physician advisor as urgent, always its own. The MS-DRG comes from the " +
			"stay's claims in the CMS MS-DRG system only. Without a known MS-DRG (none, or not in the table) the payer's default " +
			"review day applies instead, and the finding cites that rule, not the GMLOS table." + encounterTimeNote,
		Why: "A stay past the expected length for its DRG costs the hospital under DRG payment and may no longer need acute " +
			"care: continued stay must be justified.",
		Source:     "CMS IPPS MS-DRG relative weights and geometric mean LOS (Table 5); hospital UR plans (42 CFR 482.30(c)).",
		Thresholds: "checks.gmlos.table, .factor (default 1.0), .escalation_factor, .default_review_day.",
		Switch:     "checks.gmlos.enabled",
		Owner:      URTeam,
		Priority:   Routine,
	},
	{
		ID:    CheckContinuedStayReview,
		Title: "Concurrent (continued-stay) review due",
		On:    "encounter",
		What: "An inpatient stay in progress. The next concurrent review falls every N inpatient days from the inpatient order " +
			"or, with a norm table, first on the day the stay reaches the norm's percentile LOS (by MS-DRG, else the principal " +
			"diagnosis's ICD-10-CM prefix) and then every N days. At most one finding per stay (episode \"cycle-<n>\"), due at " +
			"the end of its review day: the earliest cycle whose review no completed (or cancelled) Task closes, the current one " +
			"when all earlier are closed. While it runs behind, its evidence counts the missed cycles (\"missed-cycles\") instead " +
			"of one overdue Task per cycle; closing it opens the next cycle due. A los-exceeds-gmlos review due the same day is " +
			"merged into it (with the GMLOS evidence)." + encounterTimeNote,
		Why: "UR plans review every continued stay at set intervals; Medicaid requires the first continued-stay review no later " +
			"than the norm length of stay.",
		Source:     "42 CFR 482.30(d)-(e); Medicaid: 42 CFR 456.128 (first review by the 50th percentile norm), 456.137.",
		Thresholds: "checks.concurrent_review.every_days, .norm_table, .percentile (50, 75 or 90).",
		Switch:     "checks.concurrent_review.enabled",
		Owner:      URTeam,
		Priority:   Routine,
	},
	{
		ID:    CheckReadmission30d,
		Title: "Readmission within the window",
		On:    "encounter",
		What: "An inpatient admission whose day is within the payer's window (30 days by default, counted in calendar days from " +
			"the discharge day) of the same patient's latest earlier inpatient discharge. Not raised when planned: the " +
			"readmission's codes are on the planned-readmission code list, its hospitalization.reAdmission says planned, or the " +
			"earlier stay was discharged with a planned readmission (NUBC 81-95). Not raised either when the earlier stay ended " +
			"in a transfer to another acute care hospital (NUBC 02, 05, 66, 82, 85, 94 / R4 other-hcf): a transfer chain, not " +
			"a readmission. Marked with the HRRP cohort when the earlier " +
			"stay's principal diagnosis (or reason code when none is marked principal) or a procedure is on a cohort's code list " +
			"(ICD-10-CM, ICD-10-PCS or SNOMED CT). Episode \"<earlier stay>+<readmission>\"; due at the end of the day after the " +
			"inpatient order." + encounterTimeNote,
		Why: "Unplanned readmissions may reveal a premature discharge; payers may combine or deny them, and CMS reduces payments " +
			"for excess readmissions in the HRRP cohorts.",
		Source:     "CMS Hospital Readmissions Reduction Program (42 CFR 412.150-412.154); payer readmission policies.",
		Thresholds: "checks.readmission.window_days, .planned_code_list, .hrrp_cohorts (cohort name -> code list).",
		Switch:     "checks.readmission.enabled",
		Owner:      URTeam,
		Priority:   Routine,
	},
	{
		ID:    CheckSNFThreeDay,
		Title: "SNF discharge without a qualifying 3-day stay",
		On:    "encounter",
		What: "Discharge disposition skilled nursing facility (NUBC 03, 61, 83, 89 in http://www.nubc.org/patient-discharge or " +
			"https://www.nubc.org/CodeSystem/PatDischargeStatus; R4 discharge-disposition snf) with fewer than the required " +
			"inpatient midnights counted from the inpatient order (emergency and observation time do not count). Due at " +
			"discharge, or, while the patient is still in, at the midnight that would complete the qualifying stay." + encounterTimeNote,
		Why: "Medicare covers SNF care only after an inpatient stay of at least 3 consecutive midnights; without it the patient " +
			"may bear the SNF cost and must be told before discharge.",
		Source:     "42 CFR 409.30(a); Medicare Benefit Policy Manual ch. 8, 20.1. Many Medicare Advantage plans waive it.",
		Thresholds: "checks.snf_three_day.min_midnights (3).",
		Switch:     "checks.snf_three_day.enabled",
		Owner:      URTeam,
		Priority:   Routine,
	},
	{
		ID:    CheckMissingCoverage,
		Title: "Inpatient or observation stay without a payer",
		On:    "encounter",
		What: "An inpatient or observation stay for which no payer could be resolved (no Coverage, claim insurance, account or " +
			"payer text). Business status data-gap; due at the end of the day after the stay began. Runs even when no rule set " +
			"is loaded, unless the applicable rule set switches it off.",
		Why: "Without a payer no payer rule (notification, authorization, review cadence) can be applied and the stay may go " +
			"unpaid; patient access must verify insurance.",
		Source:     "Payer provider manuals: eligibility verification at admission.",
		Thresholds: "None.",
		Switch:     "checks.missing_coverage.enabled",
		Owner:      PatientAccessTeam,
		Priority:   Routine,
	},
	{
		ID:    CheckStaleEncounter,
		Title: "Encounter period unusable: left in progress, imprecise or without an end (data quality)",
		On:    "encounter",
		What: "Any encounter still in progress (no end, or an end after the review time) more than the configured number of " +
			"days after its start (365 by default, --stale-days); any finished encounter longer than that (episode " +
			"\"<stay>+too-long\"); and an emergency encounter (class EMER) longer than 3 days, finished or not (episode " +
			"\"<stay>+long-emergency\"), since an emergency visit lasts hours. It replaces every other finding for the encounter: " +
			"length-of-stay, review and observation findings on such a record would be absurd. Business status data-gap; due " +
			"when the encounter became stale (its start plus the threshold). Its text and evidence cite the start, the threshold " +
			"and, once finished, the end, never a count that grows with the clock. The same check also flags an inpatient or " +
			"observation stay whose period.start or period.end is written to " +
			"the month or year only (episode \"<stay>+imprecise-period\"), or that is finished with no end at all (episode " +
			"\"<stay>+no-end\"): no day or midnight is counted from such a period, so it replaces the timed findings (only " +
			"missing-coverage may accompany it); due at the end of the day after the recorded start. Custom encounter checks " +
			"do not run for any of these.",
		Why:        "Encounters never closed in the EHR distort length of stay, census and review worklists.",
		Source:     "utilreview data-quality rule.",
		Thresholds: "Engine setting stale_after_days (--stale-days, not a payer rule); 3 days for emergency encounters (checks.EmergencyStaleDays).",
		Switch:     "Always on.",
		Owner:      PatientAccessTeam,
		Priority:   Routine,
	},
}
