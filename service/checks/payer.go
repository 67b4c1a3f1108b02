package checks

import (
	"fmt"
	"strings"
	"time"

	"github.com/utilreview/utilreview/service/facts"
	"github.com/utilreview/utilreview/service/rules"
)

// CheckPayerNotConfigured: the stay's payer matches no configured rule set.
const CheckPayerNotConfigured = "payer-not-configured"

// Evidence types naming payers and coverages (codes of utilreview's
// evidence CodeSystem).
const (
	evPayerIdentifier  = "payer-identifier"
	evMedicareCoverage = "medicare-coverage"
	// EvRetroactiveAuth: whether the payer accepts a prior-authorization
	// request after the date of service (rule data).
	EvRetroactiveAuth = "retroactive-authorization"
	ruleSourceOPDPA   = "42 CFR 419.82 (Medicare OPD prior authorization: no provisional affirmation after the service)"
)

var payerEvidenceTypes = []Concept{
	{evPayerIdentifier, "Payer identifier", "The payer's business identifier as the input gives it (system|value), e.g. its payer id or NPI."},
	{evMedicareCoverage, "Medicare coverage", "The Medicare coverage (fee-for-service or Advantage) in force during the stay that makes the patient a Medicare beneficiary, as the input names it, when it is not the stay's primary payer."},
	{EvRetroactiveAuth, "Retroactive authorization", "Whether the payer accepts a prior-authorization request after the date of service (checks.prior_auth.retroactive)."},
}

var payerDefinitions = []Definition{
	{
		ID:    CheckPayerNotConfigured,
		Title: "Payer matches no configured rule set (data quality)",
		On:    "encounter",
		What: "An inpatient or observation stay whose payer (as the input names it: Organization identifier and name, or the " +
			"coverage display text) matches no configured payer rule set, so the default rule set was applied. One finding per " +
			"stay, business status data-gap, due at the end of the day after the stay began. Evidence names the payer as the " +
			"input does and the default rule set applied; the review summary lists such payers with counts. A stay without any " +
			"payer gets missing-coverage instead.",
		Why: "The default rules may not be the payer's: its notification window, review cadence and authorization list can " +
			"differ. Either the payer is recorded wrongly (patient access verifies it) or its rule set is missing (add one, or " +
			"a match name or identifier to an existing one).",
		Source:     "Payer provider manuals: eligibility verification at admission; utilreview data-quality rule.",
		Thresholds: "None. The match order (identifier, Organization.name, display text) is in docs/rules.md.",
		Switch:     "checks.missing_coverage.enabled of the default rule set applied",
		Owner:      PatientAccessTeam,
		Priority:   Routine,
	},
}

// payerEvidence names the payer as the input does: its label and its
// first identifier (system|value).
func payerEvidence(py *facts.Payer) []Evidence {
	if py == nil {
		return nil
	}
	var out []Evidence
	if l := py.Label(); l != "" {
		out = append(out, StringEvidence(evPayer, l))
	}
	if id := firstIdentifier(py); id != nil {
		v := id.Value
		if id.System != "" {
			v = id.System + "|" + id.Value
		}
		out = append(out, StringEvidence(evPayerIdentifier, v))
	}
	return out
}

// namePayer adds the payer, as the input names it, to the evidence of
// every finding of a stay or claim that does not name one yet (issue 7
// point 9): the worklist shows whose rules and whose deadlines apply
// beside the rule set applied.
func namePayer(fs []Finding, py *facts.Payer) {
	ev := payerEvidence(py)
	if len(ev) == 0 {
		return
	}
	for i := range fs {
		if hasEvidence(fs[i].Evidence, evPayer) {
			continue
		}
		n := len(fs[i].Evidence)
		fs[i].Evidence = append(fs[i].Evidence[:n:n], ev...)
	}
}

// firstIdentifier is the payer's first identifier with a system, else its
// first with a value; nil when none.
func firstIdentifier(py *facts.Payer) *facts.Identifier {
	if py == nil {
		return nil
	}
	var first *facts.Identifier
	for i := range py.Identifiers {
		id := &py.Identifiers[i]
		if id.Value == "" {
			continue
		}
		if id.System != "" {
			return id
		}
		if first == nil {
			first = id
		}
	}
	return first
}

// recipientDisplay names the payer on a CommunicationRequest as the input
// names it; fallback when the input gives no name at all.
func recipientDisplay(py *facts.Payer, fallback string) string {
	if l := py.Label(); l != "" {
		return l
	}
	return fallback
}

// payerNotConfigured: the stay's payer matched no rule set and got the
// default one. Like missing-coverage it is a data-quality check.
func (r *run) payerNotConfigured(out []Finding, c *encCtx) []Finding {
	py := c.e.Payer
	if py == nil || c.matched || c.rs == nil || (c.s.ipStart.IsZero() && !c.s.hasObs) {
		return out
	}
	if !c.rs.Checks.MissingCoverage.Enabled {
		return out
	}
	kind, class := "Observation stay", ClassObservation
	if !c.s.ipStart.IsZero() {
		kind, class = "Inpatient stay", ClassInpatient
	}
	name := py.Label()
	if name == "" {
		name = "(unnamed)"
	}
	f := r.newFinding(CheckPayerNotConfigured, Routine, PatientAccessTeam, c, dayEnd(c.s.start, 1, r.loc))
	f.Status = StatusDataGap
	f.Description = kind + " starting " + c.s.start.In(r.loc).Format(descriptionDateLayout) + ": its payer \"" + name +
		"\" matches no configured payer rule set, so the default rules (" + c.rs.Name + ") were applied. Verify the payer " +
		"recorded for the stay; if it is right, ask for its rule set (or a match name or identifier on an existing one) to be added."
	f.Evidence = append(payerEvidence(py),
		StringEvidence(evEncounterClass, class),
		TimeEvidence(evStayStart, c.s.start),
		StringEvidence(evRuleSource, ruleSourceCoverage),
		ruleSetEvidence(c.rs),
	)
	return append(out, f)
}

// medicareRules is the Medicare rule set that governs a stay's beneficiary
// notices (the Important Message, 42 CFR 405.1205(b); the MOON, 42 CFR
// 489.20(y)) and the coverage it comes from: the stay's own rule set when
// it is a Medicare program, else the first coverage in force during the
// stay (primary or secondary) whose payer matches a Medicare
// fee-for-service or Medicare Advantage rule set. Nil when the patient has
// no Medicare coverage the rules know.
func (r *run) medicareRules(c *encCtx) (*rules.RuleSet, *facts.Payer) {
	if c.rs != nil && c.rs.Program.Medicare() {
		return c.rs, c.e.Payer
	}
	if r.rules == nil {
		return nil, nil
	}
	for _, py := range c.e.Coverages {
		if py == c.e.Payer {
			continue // its rule set is c.rs
		}
		if rs, ok := r.rules.For(py, c.e.Start); ok && rs != nil && rs.Program.Medicare() {
			return rs, py
		}
	}
	return nil, nil
}

// medicareEvidence is what a beneficiary notice says about whose notice it
// is: the Medicare coverage when it is not the stay's payer, and the
// Medicare rule set applied.
func medicareEvidence(c *encCtx, mrs *rules.RuleSet, mpy *facts.Payer) []Evidence {
	var out []Evidence
	if mpy != nil && mpy != c.e.Payer {
		out = append(out, StringEvidence(evMedicareCoverage, recipientDisplay(mpy, "Medicare")))
	}
	return append(out, ruleSetEvidence(mrs))
}

// beneficiaryText says, for a description, which coverage makes the
// patient a Medicare beneficiary when it is not the stay's payer.
func beneficiaryText(c *encCtx, mpy *facts.Payer) string {
	if mpy == nil || mpy == c.e.Payer {
		return ""
	}
	return " (Medicare coverage \"" + recipientDisplay(mpy, "Medicare") + "\" besides the primary payer)"
}

// moon: a Medicare beneficiary in observation for more than 24 hours gets
// the MOON by hour 36, or at release (discharge, admission, transfer) if
// that comes first (42 CFR 489.20(y)). The beneficiary's Medicare coverage
// decides, primary or secondary.
func (r *run) moon(out []Finding, c *encCtx) []Finding {
	s := &c.s
	if !s.hasObs {
		return out
	}
	mrs, mpy := r.medicareRules(c)
	if mrs == nil || !mrs.Checks.Observation.Enabled || !mrs.Checks.Observation.MOON {
		return out
	}
	ongoing := s.obsEnd.IsZero()
	until := s.obsEnd
	if ongoing {
		until = r.asOf
	}
	elapsed := until.Sub(s.obsStart)
	if elapsed <= moonAfterHours*time.Hour {
		return out
	}
	due := s.obsStart.Add(defaultMOONHours * time.Hour)
	if !ongoing && s.obsEnd.Before(due) {
		due = s.obsEnd
	}
	// The text and evidence cite instants, not the hours so far, while
	// observation goes on (see observationChecks).
	since := s.obsStart.In(r.loc).Format(descriptionTimeLayout)
	ended := ""
	if !ongoing {
		ended = fmt.Sprintf(" until %s (%s hours)", s.obsEnd.In(r.loc).Format(descriptionTimeLayout), num(roundTenth(elapsed.Hours())))
	}
	f := r.newFinding(CheckObservationMOON, Urgent, URTeam, c, due)
	f.RuleSet = mrs
	f.Description = fmt.Sprintf("Medicare beneficiary%s in observation since %s%s, more than 24 hours (since %s): the Medicare Outpatient Observation Notice (MOON) must be delivered, explained and signed by hour 36 (%s), or at discharge or admission if sooner.",
		beneficiaryText(c, mpy), since, ended, s.obsStart.Add(moonAfterHours*time.Hour).In(r.loc).Format(descriptionTimeLayout), due.In(r.loc).Format(descriptionTimeLayout))
	ev := make([]Evidence, 0, 8)
	ev = append(ev, TimeEvidence(evObservationStart, s.obsStart))
	if !ongoing {
		ev = append(ev, TimeEvidence(evObservationEnd, s.obsEnd), DecimalEvidence(evObservationHours, roundTenth(elapsed.Hours())))
	}
	ev = append(ev, StringEvidence(evRuleSource, ruleSourceMOON))
	f.Evidence = append(ev, medicareEvidence(c, mrs, mpy)...)
	return append(out, f)
}

// UnmatchedPayers adds to counts, per payer as the input names it
// (Payer.Label), the patient's stays and claims in the review whose payer
// matches no configured rule set (the default rules were applied to them).
// The review summary lists them.
func (e *Engine) UnmatchedPayers(p *facts.Patient, counts map[string]int) {
	if e.rules == nil || p == nil {
		return
	}
	r := &run{cfg: e.cfg}
	count := func(py *facts.Payer, on time.Time) {
		if py == nil {
			return
		}
		if _, ok := e.rules.For(py, on); ok {
			return
		}
		name := strings.TrimSpace(py.Label())
		if name == "" {
			name = "(unnamed payer)"
		}
		counts[name]++
	}
	for _, enc := range p.Encounters {
		if !r.before(enc.End) {
			count(enc.Payer, enc.Start)
		}
	}
	for _, cl := range p.Claims {
		if !claimIgnored(cl) && !r.before(claimThrough(cl)) {
			count(cl.Payer, claimRuleDate(cl))
		}
	}
}
