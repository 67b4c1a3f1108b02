package checks

import (
	"fmt"
	"time"

	"github.com/utilreview/utilreview/service/facts"
)

// Determinations: a UR clinician completes a utilreview Task with a
// determination output (an X12 306 code; facts.Determination). The live
// service records it as a Da Vinci PAS-shaped ClaimResponse
// (service/determination); the checks here raise the work that follows
// from it, as findings like any other, so their Tasks are reconciled the
// same way (deterministic identifiers, conditional creates, cancelled when
// the determination changes):
//
//   - a completion by someone outside the clinical reviewers is not a
//     determination: a reviewer must determine (determination-reviewer);
//   - not certified (A3): the peer-to-peer and appeal window
//     (determination-appeal) and, where the rule set asks for it (Medicaid),
//     the written notice of the adverse decision (determination-notice);
//   - pended (A4): the determination is due again (determination-pended);
//   - certified (A1), partial (A2), modified (A6): nothing follows; what was
//     authorized is in the ClaimResponse.

// Check ids of the determination follow-ups.
const (
	CheckDeterminationReviewer = "determination-reviewer"
	CheckDeterminationAppeal   = "determination-appeal"
	CheckDeterminationNotice   = "determination-notice"
	CheckDeterminationPended   = "determination-pended"
)

// Evidence types of the determination follow-ups.
const (
	evDeterminedTask     = "determined-task"
	evDetermination      = facts.OutputDetermination
	evDeterminedAt       = "determined-at"
	evPeerToPeerDeadline = "peer-to-peer-deadline"
	evAppealDeadline     = "appeal-deadline"
	evNoticeWorkingDays  = "notice-working-days"
)

const ruleSourceDetermination = "42 CFR 482.30 (hospital utilization review: determinations by UR physicians and committee members)"

var determinationDefinitions = []Definition{
	{
		ID:    CheckDeterminationReviewer,
		Title: "Determination by a clinical reviewer",
		On:    "determination",
		What: "A utilreview Task completed with a determination output by someone outside the configured clinical " +
			"reviewers (the agent of a Provenance that targets the completed Task version, else the Task's owner). " +
			"The determination is not recorded; this Task asks a clinical reviewer to determine, due at the end of " +
			"the rule set's business day after the completion.",
		Why: "Only UR physicians and qualified reviewers make determinations; a completion by anyone else is not " +
			"one, and a completed Task cannot be reopened (FHIR R4 Task state machine).",
		Source:     ruleSourceDetermination,
		Thresholds: "checks.determination.redetermine_business_days (default 1); the reviewers: UTILREVIEW_REVIEWERS.",
		Owner:      URTeam,
		Priority:   Urgent,
	},
	{
		ID:    CheckDeterminationAppeal,
		Title: "Peer-to-peer or appeal after a not-certified determination",
		On:    "determination",
		What: "A determination of not certified (X12 306 A3) recorded by a clinical reviewer. The physician advisor " +
			"arranges the peer-to-peer review with the attending, or the appeal: due at the end of the peer-to-peer " +
			"window's last day (calendar days after the determination), else of the appeal window's.",
		Why: "An adverse determination can be reviewed again only within the payer's windows; after them it stands.",
		Source: "Payer rules (peer-to-peer and appeal windows); Medicare: 42 CFR 405.942(a) (120 days); Medicare " +
			"Advantage: 42 CFR 422.582(b) (65 days); Medicaid managed care: 42 CFR 438.402(c)(2)(ii) (60 days).",
		Thresholds: "checks.determination.peer_to_peer_days (default 14; 0: none offered), checks.determination.appeal_days (default 60; 0: none tracked).",
		Owner:      PhysicianAdvisor,
		Priority:   Urgent,
	},
	{
		ID:    CheckDeterminationNotice,
		Title: "Written notice of an adverse determination",
		On:    "determination",
		What: "A determination of not certified (X12 306 A3) under a rule set that requires a written notice of the " +
			"adverse decision (Medicaid): the UR team sends it to the patient, the attending physician and the " +
			"agency, due at the end of the rule set's working day after the determination (weekends and the holiday " +
			"calendar skipped).",
		Why: "Medicaid requires written notice of an adverse decision within working days of it.",
		Source: "42 CFR 456.126 (admission review); 42 CFR 456.136-456.137 (continued stay review), as the rule set " +
			"cites them.",
		Thresholds: "checks.determination.adverse_notice (enabled, working_days, admission_source, continued_stay_source).",
		Switch:     "checks.determination.adverse_notice.enabled",
		Owner:      URTeam,
		Priority:   Urgent,
	},
	{
		ID:    CheckDeterminationPended,
		Title: "Pended determination due again",
		On:    "determination",
		What: "A determination of pended (X12 306 A4) recorded by a clinical reviewer: the review is due again at the " +
			"Task's next-review output, else at the end of the rule set's business day after the determination.",
		Why:        "A pended determination is not a decision: the stay stays under review until one is made.",
		Source:     ruleSourceDetermination,
		Thresholds: "checks.determination.pended_business_days (default 1); the Task's next-review output.",
		Owner:      URTeam,
		Priority:   Routine,
	},
}

var determinationEvidenceTypes = []Concept{
	{facts.OutputDetermination, "Determination", "Task.output: the clinician's determination, an X12 306 code (https://codesystem.x12.org/005010/306): A1 certified in total, A2 certified partial, A3 not certified, A4 pended, A6 modified. In a follow-up Task's input: the determination it follows."},
	{facts.OutputAuthorizedPeriod, "Authorized period", "Task.output (valuePeriod): the period the determination authorizes."},
	{facts.OutputAuthorizedDays, "Authorized days", "Task.output (valueInteger): the number of days the determination authorizes."},
	{facts.OutputDeterminationReason, "Determination reason", "Task.output (valueCodeableConcept): the reason for the determination, e.g. an X12 886 code (https://codesystem.x12.org/external/886)."},
	{facts.OutputDeterminationNote, "Determination note", "Task.output (valueString, valueMarkdown or valueAnnotation): the reviewer's note, written into the ClaimResponse's processNote."},
	{facts.OutputNextReview, "Next review", "Task.output (valueDateTime or valueDate): when a pended (A4) determination is due again."},
	{facts.OutputAuthorizationNumber, "Authorization number", "Task.output (valueString): the authorization number; else the determination's identifier value is used."},
	{facts.OutputAvoidableDays, "Avoidable days", "Task.output (valueInteger): days of the stay that were avoidable, for the UR committee report."},
	{facts.OutputAvoidableDaysReason, "Avoidable days reason", "Task.output (valueCodeableConcept): why the days were avoidable, a code of utilreview's avoidable-days-reason CodeSystem."},
	{evDeterminedTask, "Determined Task", "The completed Task whose determination the follow-up is about."},
	{evDeterminedAt, "Determined at", "When the determination was made (the completed Task's executionPeriod.end, else lastModified)."},
	{evPeerToPeerDeadline, "Peer-to-peer deadline", "The last moment a peer-to-peer review of the determination can be asked for."},
	{evAppealDeadline, "Appeal deadline", "The last moment the determination can be appealed."},
	{evNoticeWorkingDays, "Notice working days", "Working days after the determination within which the written notice of an adverse decision is due."},
}

// AvoidableDaysReasons are the codes of utilreview's avoidable-days-reason
// CodeSystem (<base>/CodeSystem/avoidable-days-reason).
func AvoidableDaysReasons() []Concept {
	return []Concept{
		{"awaiting-post-acute-placement", "Awaiting post-acute placement", "The patient no longer needed the hospital's level of care and waited for a skilled nursing, rehabilitation, long-term care or home health placement."},
		{"awaiting-test-or-procedure", "Awaiting test or procedure", "A test or procedure, or its result, was not available when needed."},
		{"awaiting-consult", "Awaiting consult", "A consultation was not available when needed."},
		{"physician-delay", "Physician delay", "A physician's order, decision or documentation came late (e.g. the discharge order)."},
		{"patient-family-delay", "Patient or family delay", "The patient or family delayed the discharge or a decision."},
		{"other", "Other", "Another reason, in the determination note."},
	}
}

// continuedStayChecks are the checks whose Task is a continued-stay review;
// a determination on any other is on the admission.
var continuedStayChecks = map[string]bool{
	CheckContinuedStayReview: true,
	CheckLOSExceedsGMLOS:     true,
}

// determinations raises the follow-ups of the determinations recorded on
// the patient's completed utilreview Tasks.
func (r *run) determinations(p *facts.Patient) []Finding {
	var out []Finding
	for _, t := range p.Tasks {
		d := t.Determination
		if d == nil || t.Status != "completed" || t.Completed.IsZero() {
			continue
		}
		value := t.IdentifierValue(r.cfg.IdentifierSystem)
		if r.cfg.IdentifierSystem != "" && value == "" {
			continue
		}
		if value == "" {
			value = t.Ref
		}
		base, ok := r.determinationBase(p, t, value)
		if !ok {
			continue
		}
		dt := &base.RuleSet.Checks.Determination
		cal := base.RuleSet.Calendar()
		at := t.Completed.In(r.loc)
		reviewed := "the review"
		if len(t.Codes) > 0 && t.Codes[0].Code != "" {
			reviewed = "the " + t.Codes[0].Code + " review"
		}
		if r.cfg.Reviewer != nil && !r.cfg.Reviewer(t) {
			due := businessDayEnd(cal, at, dt.Redetermine())
			f := base.follow(CheckDeterminationReviewer, Urgent, URTeam, due, r)
			f.Description = fmt.Sprintf("%s was completed %s with a determination (%s %s) by someone outside the clinical "+
				"reviewers: it is not recorded. A clinical reviewer (UR nurse or physician advisor) determines and records it, by %s.",
				upperFirst(reviewed), at.Format(descriptionTimeLayout), d.Code, d.Display, due.Format(descriptionTimeLayout))
			out = append(out, f)
			continue
		}
		switch d.Code {
		case "A3":
			p2p, appeal := dt.PeerToPeer(), dt.Appeal()
			if p2p > 0 || appeal > 0 {
				var p2pEnd, appealEnd time.Time
				if p2p > 0 {
					p2pEnd = endOfDay(at, p2p, r.loc)
				}
				if appeal > 0 {
					appealEnd = endOfDay(at, appeal, r.loc)
				}
				due, what := p2pEnd, "ask for a peer-to-peer review with the attending physician"
				if due.IsZero() {
					due, what = appealEnd, "appeal"
				}
				f := base.follow(CheckDeterminationAppeal, Urgent, PhysicianAdvisor, due, r)
				f.Horizon = appealEnd
				if f.Horizon.IsZero() {
					f.Horizon = p2pEnd
				}
				f.Description = fmt.Sprintf("Not certified (A3) at %s on %s. Decide whether to %s, by %s.",
					at.Format(descriptionTimeLayout), reviewed, what, due.Format(descriptionTimeLayout))
				if !p2pEnd.IsZero() {
					f.Evidence = append(f.Evidence, TimeEvidence(evPeerToPeerDeadline, p2pEnd))
				}
				if !appealEnd.IsZero() {
					f.Description += " Appeal by " + appealEnd.Format(descriptionTimeLayout) + "."
					f.Evidence = append(f.Evidence, TimeEvidence(evAppealDeadline, appealEnd))
				}
				out = append(out, f)
			}
			if an := dt.AdverseNotice; an.Enabled && an.WorkingDays > 0 {
				due := businessDayEnd(cal, at, an.WorkingDays)
				source := an.AdmissionSource
				if t.Codes != nil && continuedStayChecks[t.Codes[0].Code] {
					source = an.ContinuedStaySource
				}
				f := base.follow(CheckDeterminationNotice, Urgent, URTeam, due, r)
				f.Description = fmt.Sprintf("Not certified (A3) at %s on %s: send the written notice of the adverse decision "+
					"to the patient, the attending physician and the agency within %s, by %s.",
					at.Format(descriptionTimeLayout), reviewed, plural(an.WorkingDays, "working day"), due.Format(descriptionTimeLayout))
				f.Evidence = append(f.Evidence, IntEvidence(evNoticeWorkingDays, an.WorkingDays))
				if source != "" {
					f.Evidence = append(f.Evidence, StringEvidence(evRuleSource, source))
				}
				out = append(out, f)
			}
		case "A4":
			due, why := d.NextReview, "at the next review the reviewer set"
			if due.IsZero() {
				due = businessDayEnd(cal, at, dt.Pended())
				why = "at the end of " + plural(dt.Pended(), "business day") + " after it"
			}
			f := base.follow(CheckDeterminationPended, Routine, URTeam, due.In(r.loc), r)
			f.Description = fmt.Sprintf("Pended (A4) at %s on %s: the determination is due again %s, by %s.",
				at.Format(descriptionTimeLayout), reviewed, why, due.In(r.loc).Format(descriptionTimeLayout))
			out = append(out, f)
		}
	}
	return out
}

// determinationBase is the finding a follow-up starts from: the reviewed
// stay or claim, its payer's rule set, the episode (the completed Task's
// identifier value) and the evidence every follow-up carries.
func (r *run) determinationBase(p *facts.Patient, t *facts.Task, value string) (Finding, bool) {
	f := Finding{Patient: p, Episode: value}
	var payer *facts.Payer
	for _, ref := range []string{t.Focus, t.Encounter} {
		if ref == "" {
			continue
		}
		for _, e := range p.Encounters {
			if e.Ref == ref {
				f.Encounter, f.FocusRef, f.FocusKey, payer = e, e.Ref, stayKey(e), e.Payer
			}
		}
		for _, c := range p.Claims {
			if c.Ref == ref && f.FocusRef == "" {
				f.Claim, f.Encounter, f.FocusRef, f.FocusKey, payer = c, claimStay(c), c.Ref, c.Key, c.Payer
			}
		}
		if f.FocusRef != "" {
			break
		}
	}
	if f.FocusRef == "" {
		return f, false
	}
	// A stay or claim outside the review window (Config.Since) is history:
	// its Tasks are left alone, and no follow-up is raised for it.
	if f.Claim != nil && r.before(claimThrough(f.Claim)) || f.Claim == nil && f.Encounter != nil && r.before(f.Encounter.End) {
		return f, false
	}
	rs, _ := r.rules.For(payer, t.Completed)
	if rs == nil {
		return f, false
	}
	f.RuleSet = rs
	f.Evidence = []Evidence{
		RefEvidence(evDeterminedTask, t.Ref),
		CodeEvidence(evDetermination, facts.Code{System: facts.X12ReviewActionSystem, Code: t.Determination.Code, Display: t.Determination.Display}),
		TimeEvidence(evDeterminedAt, t.Completed),
		ruleSetEvidence(rs),
	}
	return f, true
}

// follow is a follow-up finding of the base.
func (f Finding) follow(check string, pr Priority, ow Owner, due time.Time, r *run) Finding {
	f.Check, f.Priority, f.Owner, f.Due = check, pr, ow, due
	f.Status = r.statusFor(due)
	f.Evidence = append([]Evidence(nil), f.Evidence...)
	return f
}
