package checks

import (
	"time"

	"github.com/utilreview/utilreview/service/facts"
	"github.com/utilreview/utilreview/service/rules"
)

// History is not work. Every check has an actionable horizon: the instant
// after which what the finding asks for can no longer be done (a notice
// cannot be delivered after the stay, a continued-stay review cannot happen
// after discharge, a claim long past its filing limit cannot be billed).
// A finding reviewed after its horizon is moot: it carries Moot, business
// status missed and its horizon as evidence, and the pipeline does not raise
// it as new work (it counts it as missed and keeps it for the committee
// report) unless asked to; a Task already written for it is kept, marked
// missed, because a missed notice is a compliance event to document.

// Grace periods of the horizons, documented in the Definitions.
const (
	// notificationGrace: an admission notification sent within a day of its
	// deadline or of discharge still reaches the payer before the claim.
	notificationGrace = 24 * time.Hour
	// timelyFilingGraceDays: after the filing deadline, time to find proof of
	// timely filing or to claim an exception (42 CFR 424.44(b)).
	timelyFilingGraceDays = 30
)

// defaultFilingLimit is the filing limit horizons count with when the rule
// set states none: Medicare's 12 calendar months (42 CFR 424.44).
var defaultFilingLimit = rules.TimelyFiling{Enabled: true, LimitMonths: 12}

// EvActionableUntil is the evidence type of a moot finding's horizon.
const EvActionableUntil = "actionable-until"

var horizonEvidenceTypes = []Concept{
	{EvActionableUntil, "Actionable until", "The check's actionable horizon for this finding: after it what the finding asks for can no longer be done, so the finding is moot and recorded as missed."},
}

// horizonKind says how a check's horizon is computed.
type horizonKind int

const (
	// horizonNone: actionable for as long as the finding holds.
	horizonNone horizonKind = iota
	// horizonNotification: 24 hours after the later of the deadline and
	// discharge; none while the stay goes on.
	horizonNotification
	// horizonDischarge: discharge; none while the stay goes on.
	horizonDischarge
	// horizonObservationEnd: the end of observation (the inpatient order or
	// discharge); none while observation goes on.
	horizonObservationEnd
	// horizonStayFiling: the end of the last day of the payer's filing limit
	// counted from discharge; none while the stay goes on.
	horizonStayFiling
	// horizonClaim: the claim's adjudication (the first accepting
	// ClaimResponse or ExplanationOfBenefit) or its filing deadline,
	// whichever comes first.
	horizonClaim
	// horizonTimelyFiling: timelyFilingGraceDays after the filing deadline.
	horizonTimelyFiling
	// horizonOwn: the horizon the check set on the finding (a deadline of
	// its own, such as the appeal window's end).
	horizonOwn
)

type horizonRule struct {
	kind horizonKind
	doc  string // the rationale, written into Definition.Horizon
}

// Rationales shared by several checks.
const (
	stayFilingDoc = "the payer's timely-filing limit counted from discharge (the rule set's checks.timely_filing " +
		"limit; 12 months, Medicare's, when it sets none: 42 CFR 424.44); none while the stay goes on."
	claimHorizonDoc = "the claim's adjudication (the created time of the first ClaimResponse or ExplanationOfBenefit " +
		"with outcome complete or partial) or its filing deadline (the service's through date plus the payer's limit; " +
		"12 months when the rule set sets none), whichever comes first."
	genericHorizonDoc = "For a stay: " + stayFilingDoc + " For a claim: " + claimHorizonDoc
)

// horizons are the checks' horizons. A check missing here (a custom
// check, or one added later) gets the generic one of its focus: a stay's
// filing limit after discharge, a claim's adjudication or filing deadline.
var horizons = map[string]horizonRule{
	CheckAdmissionNotification: {horizonNotification, "24 hours after the later of the notification deadline and " +
		"discharge; none while the stay goes on. During the stay a late notification still opens the payer's concurrent " +
		"review, and within a day of the deadline or of discharge it still reaches the payer before the claim; later " +
		"the payer reviews the stay retrospectively with the claim, and the missed notification is a compliance event " +
		"to document, not a message to send."},
	CheckAdmissionReview: {horizonDischarge, "Discharge; none while the stay goes on. The initial review decides " +
		"the patient's status (inpatient or observation) while the patient is in the hospital (42 CFR 482.30(c), " +
		"(d)): the order can be changed, with the UR physician's concurrence, only before discharge (Condition Code " +
		"44). A stay billed after discharge is reviewed by two-midnight (short stays) and by the payer's retrospective " +
		"review; the missed admission review is a compliance event to document."},
	CheckTwoMidnight: {horizonStayFiling, stayFilingDoc + " After discharge the review decides how the stay is billed " +
		"(inpatient, or the Part B inpatient services of 42 CFR 414.5, billed within the same limit); once no claim " +
		"for the stay can be filed, nothing the review finds can change one."},
	CheckObservationMOON: {horizonObservationEnd, "The end of observation (discharge, transfer or the inpatient " +
		"order); none while observation goes on. The MOON is delivered to the patient in the hospital before then " +
		"(42 CFR 489.20(y); CMS-10611 instructions); afterwards it cannot be given."},
	CheckObservationSecondMidnight: {horizonObservationEnd, "The end of observation; none while observation goes on. " +
		"The decision to admit is made while the patient is in observation: an inpatient order is written at or " +
		"before admission, never after discharge (42 CFR 412.3)."},
	CheckObservation48h: {horizonObservationEnd, "The end of observation; none while observation goes on. The " +
		"physician advisor's review decides whether to admit or discharge; once observation has ended that decision " +
		"has been made."},
	CheckConditionCode44: {horizonDischarge, "Discharge; none while the stay goes on. The change from inpatient to " +
		"outpatient, with the UR physician's concurrence, is made before discharge (42 CFR 482.30(d); Medicare " +
		"Claims Processing Manual ch. 1, 50.3); afterwards the stay is billed as it stood."},
	CheckImportantMessage: {horizonDischarge, "Discharge; none while the stay goes on. Both copies are delivered to " +
		"the patient in the hospital (42 CFR 405.1205(b), (c)); they cannot be delivered after discharge. The " +
		"follow-up copy's finding is known only once the stay has ended, so it is always moot: it is counted as " +
		"missed (and shown with --include-moot) for the committee report."},
	CheckLOSExceedsGMLOS: {horizonDischarge, "Discharge; none while the stay goes on. The review justifies continued " +
		"stay while the patient is in the hospital (42 CFR 482.30(d)); after discharge the length of stay is " +
		"history for the UR committee, not a review to do."},
	CheckContinuedStayReview: {horizonDischarge, "Discharge; none while the stay goes on. Continued-stay reviews are " +
		"of patients in the hospital (42 CFR 482.30(d); Medicaid 42 CFR 456.128, 456.137); none can happen after " +
		"discharge. A review overdue when the patient left is kept as a moot finding (its Task marked missed); one " +
		"not yet due at discharge no longer holds."},
	CheckReadmission30d: {horizonStayFiling, "For the readmission, " + stayFilingDoc + " The review decides whether " +
		"the stays are billed apart or combined; once no claim can be filed it is a quality measure CMS computes from " +
		"the claims (HRRP), not a review."},
	CheckSNFThreeDay: {horizonDischarge, "Discharge; none while the stay goes on. The patient must be told before " +
		"leaving that Medicare may not cover the SNF stay; afterwards the SNF's coverage is decided by the SNF " +
		"(42 CFR 409.30), not by the hospital's review."},
	CheckMissingCoverage: {horizonStayFiling, stayFilingDoc + " Insurance found until then can still be billed."},
	CheckPayerNotConfigured: {horizonStayFiling, stayFilingDoc + " Until then the payer can be configured (or the " +
		"coverage corrected) and the stay reviewed and billed under that payer's own rules."},
	CheckStaleEncounter: {horizonNone, "None: a record left open, written imprecisely or finished without an end " +
		"is wrong today and can be corrected today, however old."},
	CheckPriorAuthRequired: {horizonClaim, claimHorizonDoc + " Until then the claim can be held or corrected; after " +
		"payment a wrong payment is an overpayment for the refund process (42 CFR 401.305), not this finding."},
	CheckMUEExceeded:        {horizonClaim, claimHorizonDoc + " The edit corrects the claim before the payer decides it."},
	CheckDuplicateClaimLine: {horizonClaim, claimHorizonDoc + " The edit corrects the claim before the payer decides it; a paid duplicate is an overpayment for the refund process (42 CFR 401.305)."},
	CheckTimelyFiling: {horizonTimelyFiling, "30 days after the filing deadline (the end of its last day): time to " +
		"find proof of timely filing or to claim an exception (42 CFR 424.44(b)); later the claim cannot be billed " +
		"and is history, not work. (Accepted claims are not raised at all.)"},
	CheckClaimBeforeDetermination: {horizonClaim, claimHorizonDoc + " A claim the payer has decided can no longer be held."},
	CheckDeterminationReviewer: {horizonNone, "None: a determination that was never validly made can be made as long " +
		"as the Task it answers matters; the reviewer closes this Task."},
	CheckDeterminationAppeal: {horizonOwn, "The end of the appeal window (checks.determination.appeal_days after the " +
		"determination; the peer-to-peer window's end when no appeal window is tracked): afterwards the determination stands."},
	CheckDeterminationNotice: {horizonNone, "None: a late written notice of an adverse decision is still owed to the " +
		"patient, and its lateness is a compliance event to document."},
	CheckDeterminationPended: {horizonNone, "None: a pended determination is open until a determination is made."},
	CheckPaymentWindow: {horizonClaim, "For the outpatient claim, " + claimHorizonDoc + " Services paid separately " +
		"after that are an overpayment for the refund process (42 CFR 401.305)."},
}

// horizonOf is the horizon rule of a check.
func horizonOf(check string) (horizonRule, bool) {
	h, ok := horizons[check]
	return h, ok
}

// horizonDoc is the rationale of a check's horizon, for its Definition.
func horizonDoc(check string) string {
	doc := genericHorizonDoc
	if h, ok := horizonOf(check); ok {
		doc = h.doc
	}
	if doc != "" && 'a' <= doc[0] && doc[0] <= 'z' {
		doc = string(doc[0]-'a'+'A') + doc[1:]
	}
	return doc
}

// settle sets each finding's horizon and marks those past it moot.
func (r *run) settle(fs []Finding) {
	var stays map[*facts.Encounter]*stay
	for i := range fs {
		f := &fs[i]
		f.Horizon = r.horizon(f, &stays)
		if !f.Horizon.IsZero() && r.asOf.After(f.Horizon) {
			r.makeMoot(f)
		}
	}
}

// makeMoot marks a finding reviewed past its horizon.
func (r *run) makeMoot(f *Finding) {
	f.Moot = true
	f.Status = StatusMissed
	f.Description += " Past its actionable horizon (" + f.Horizon.In(r.loc).Format(descriptionTimeLayout) +
		"): it can no longer be done; record it as missed."
	n := len(f.Evidence)
	f.Evidence = append(f.Evidence[:n:n], TimeEvidence(EvActionableUntil, f.Horizon))
}

// notMoot returns the findings that are not moot: fs itself when none is.
func notMoot(fs []Finding) []Finding {
	for i := range fs {
		if fs[i].Moot {
			out := append(make([]Finding, 0, len(fs)-1), fs[:i]...)
			for j := i + 1; j < len(fs); j++ {
				if !fs[j].Moot {
					out = append(out, fs[j])
				}
			}
			return out
		}
	}
	return fs
}

// leftAtDischarge returns the findings of checks whose horizon is discharge
// that were overdue when the stay ended and that this review no longer
// raises (a continued-stay review stops with the stay): what was left
// undone when the patient left. They are past their horizon, hence moot, so
// that a Task already written for one is marked missed rather than
// cancelled. A finding not yet due at discharge no longer holds: its Task
// is cancelled as before.
func (r *run) leftAtDischarge(p *facts.Patient, e *facts.Encounter, fs []Finding) []Finding {
	if e == nil || e.End.IsZero() || e.End.After(r.asOf) || !r.reviewable(e) || ambulatoryOnly(e) {
		return nil
	}
	// The review as it stood just before discharge.
	before := run{asOf: e.End.Add(-time.Nanosecond), loc: r.loc, cfg: r.cfg, rules: r.rules}
	var out []Finding
	for _, f := range before.encounter(p, e) {
		if h, ok := horizonOf(f.Check); !ok || h.kind != horizonDischarge || !f.Due.Before(e.End) {
			continue
		}
		if !hasEpisode(fs, f.Check, f.Episode) {
			out = append(out, f)
		}
	}
	return out
}

func hasEpisode(fs []Finding, check, episode string) bool {
	for i := range fs {
		if fs[i].Check == check && fs[i].Episode == episode {
			return true
		}
	}
	return false
}

// horizon computes a finding's horizon; zero means none (yet).
func (r *run) horizon(f *Finding, stays *map[*facts.Encounter]*stay) time.Time {
	h, ok := horizonOf(f.Check)
	if !ok {
		// Custom checks and checks without a rule: the generic horizon of the focus.
		h.kind = horizonStayFiling
		if f.Claim != nil {
			h.kind = horizonClaim
		}
	}
	switch h.kind {
	case horizonClaim:
		if f.Claim == nil {
			return time.Time{}
		}
		return r.claimHorizon(f.Claim, f.RuleSet)
	case horizonTimelyFiling:
		if f.Claim == nil {
			return time.Time{}
		}
		return endOfDay(r.filingEnd(claimThroughOrCreated(f.Claim), f.RuleSet), timelyFilingGraceDays, r.loc)
	case horizonNone:
		return time.Time{}
	case horizonOwn:
		return f.Horizon
	}
	if f.Encounter == nil {
		return time.Time{}
	}
	s := r.stayAt(f.Encounter, f.RuleSet, stays)
	discharged := !s.open && !s.end.IsZero()
	switch h.kind {
	case horizonNotification:
		if !discharged {
			return time.Time{}
		}
		last := s.end
		if f.Due.After(last) {
			last = f.Due
		}
		return last.Add(notificationGrace)
	case horizonDischarge:
		if !discharged {
			return time.Time{}
		}
		return s.end
	case horizonObservationEnd:
		if s.hasObs && !s.obsEnd.IsZero() {
			return s.obsEnd
		}
		if discharged {
			return s.end
		}
		return time.Time{}
	case horizonStayFiling:
		if !discharged {
			return time.Time{}
		}
		return r.filingEnd(s.end, f.RuleSet)
	}
	return time.Time{}
}

// stayAt is the stay as of the review time, worked out once per encounter.
func (r *run) stayAt(e *facts.Encounter, rs *rules.RuleSet, stays *map[*facts.Encounter]*stay) *stay {
	if s := (*stays)[e]; s != nil {
		return s
	}
	var obsClasses []string
	if rs != nil {
		obsClasses = rs.Checks.Observation.Classes
	}
	s := analyseStay(e, obsClasses, r.asOf)
	if *stays == nil {
		*stays = make(map[*facts.Encounter]*stay)
	}
	(*stays)[e] = &s
	return &s
}

// filingEnd is the end (23:59:59, facility time) of the last day a claim
// for services through the given time may be filed: the rule set's limit,
// else defaultFilingLimit.
func (r *run) filingEnd(through time.Time, rs *rules.RuleSet) time.Time {
	tf := &defaultFilingLimit
	if rs != nil && rs.Checks.TimelyFiling.HasLimit() {
		tf = &rs.Checks.TimelyFiling
	}
	return endOfDay(tf.LastDay(dayOf(through, r.loc)).In(r.loc), 0, r.loc)
}

// claimHorizon is the claim's adjudication or its filing deadline,
// whichever comes first. An accepted claim whose acceptance is not dated
// counts as decided from its creation.
func (r *run) claimHorizon(c *facts.Claim, rs *rules.RuleSet) time.Time {
	h := r.filingEnd(claimThroughOrCreated(c), rs)
	if c.Accepted {
		at := c.AcceptedAt
		if at.IsZero() {
			at = c.Created
		}
		if !at.IsZero() && at.Before(h) {
			h = at
		}
	}
	return h
}

// claimThroughOrCreated is the service's through date, else the claim's
// creation.
func claimThroughOrCreated(c *facts.Claim) time.Time {
	if t := throughDate(c); !t.IsZero() {
		return t
	}
	return c.Created
}
