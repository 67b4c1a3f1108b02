// Package checks holds the utilization checks: pure functions from facts,
// payer rules and a clock to findings. Nothing here does I/O.
package checks

import (
	"time"

	"github.com/utilreview/utilreview/service/facts"
	"github.com/utilreview/utilreview/service/rules"
)

// Priority follows FHIR's request-priority codes.
type Priority string

const (
	Routine Priority = "routine"
	Urgent  Priority = "urgent"
	ASAP    Priority = "asap"
	Stat    Priority = "stat"
)

// Owner is who works a finding; configuration maps it to a reference.
type Owner string

const (
	URTeam            Owner = "ur-team"
	PhysicianAdvisor  Owner = "physician-advisor"
	BillingTeam       Owner = "billing"
	PatientAccessTeam Owner = "patient-access"
)

// Finding is one thing a clinician or coordinator must look at.
type Finding struct {
	Check    string // check id, e.g. "two-midnight" or "custom:<id>"
	Priority Priority
	Owner    Owner

	Patient   *facts.Patient
	Encounter *facts.Encounter // the stay, when there is one
	Claim     *facts.Claim     // the claim, for claim checks
	// FocusRef is "Encounter/id" or "Claim/id"; FocusKey the focus's stable key.
	FocusRef string
	FocusKey string
	// Episode distinguishes findings of the same check on the same focus: the
	// stay for most checks, the review cycle for continued-stay-review, the
	// index stay + readmission pair for readmission-30d.
	Episode string

	Due         time.Time // the deadline
	Description string    // plain words for a nurse
	Reasons     []facts.Code
	Evidence    []Evidence
	// Status is the business status code (utilreview status CodeSystem),
	// e.g. "awaiting-review", "overdue", "data-gap".
	Status string

	RuleSet *rules.RuleSet // the payer rule set applied; nil when none
	// Communication is set when the check also asks for a CommunicationRequest.
	Communication *Communication

	// Horizon is when the finding stops being actionable (its check's
	// Definition.Horizon); zero when it has none (yet). Moot: the review
	// time is past it, Status is StatusMissed, and the pipeline raises the
	// finding only when asked to or when a Task already exists for it.
	Horizon time.Time
	Moot    bool
}

// Communication asks for a message to be sent (to the payer, or to the attending).
type Communication struct {
	Category  string // utilreview communication category code, e.g. "payer-notification"
	Recipient string // "Organization/id" of the payer, or the attending's reference
	// RecipientIdentifier is the payer's business identifier when there is
	// no Recipient: a payer the input names only by identifier (no
	// Organization resource) can still be addressed by a logical reference.
	RecipientIdentifier *facts.Identifier
	// RecipientDisplay names the recipient when there is no reference to
	// write (e.g. a payer known only by Synthea's display text).
	RecipientDisplay string
	Payload          string
}

// Evidence is one typed fact supporting a finding. Exactly one value field
// is set; the writer turns it into exactly one Task.input value[x].
type Evidence struct {
	Type string // code in the utilreview evidence CodeSystem, e.g. "inpatient-days"

	Int      *int
	Decimal  *float64
	String   *string
	Bool     *bool
	DateTime *time.Time
	Date     *time.Time // a calendar day (date of service, filing deadline): its day in the facility zone, no time of day
	Code     *facts.Code
	Ref      *string // "Type/id"
}

// Evidence constructors keep exactly one value set.
func IntEvidence(typ string, v int) Evidence         { return Evidence{Type: typ, Int: &v} }
func DecimalEvidence(typ string, v float64) Evidence { return Evidence{Type: typ, Decimal: &v} }
func StringEvidence(typ string, v string) Evidence   { return Evidence{Type: typ, String: &v} }
func BoolEvidence(typ string, v bool) Evidence       { return Evidence{Type: typ, Bool: &v} }
func TimeEvidence(typ string, v time.Time) Evidence  { return Evidence{Type: typ, DateTime: &v} }
func DateEvidence(typ string, v time.Time) Evidence  { return Evidence{Type: typ, Date: &v} }
func CodeEvidence(typ string, v facts.Code) Evidence { return Evidence{Type: typ, Code: &v} }
func RefEvidence(typ string, v string) Evidence      { return Evidence{Type: typ, Ref: &v} }

// Definition documents a check; docs/checks.md is generated from these.
type Definition struct {
	ID         string
	Title      string
	On         string // "encounter" or "claim"
	What       string
	Why        string
	Source     string // regulation or guidance cited
	Thresholds string // which rule-set fields set it
	Switch     string // the rule-set switch, e.g. "checks.two_midnight.enabled"
	Owner      Owner
	Priority   Priority
	// Communication names the CommunicationRequest category when the check asks for one.
	Communication string
	// Horizon says until when a finding of the check is actionable, and why
	// (filled from horizon.go by Definitions).
	Horizon string
}

// Concept is one code of a utilreview CodeSystem, with its display and
// definition; the CodeSystem resources are generated from these.
type Concept struct {
	Code       string
	Display    string
	Definition string
}

// EvidenceTypes lists the codes of the evidence-type CodeSystem: every
// Evidence.Type a check may write.
func EvidenceTypes() []Concept {
	out := make([]Concept, 0, len(encounterEvidenceTypes)+len(claimEvidenceTypes)+len(horizonEvidenceTypes))
	out = append(out, encounterEvidenceTypes...)
	for _, list := range [][]Concept{claimEvidenceTypes, payerEvidenceTypes, horizonEvidenceTypes, determinationEvidenceTypes} {
		for _, c := range list {
			if !hasConcept(out, c.Code) {
				out = append(out, c)
			}
		}
	}
	return out
}

func hasConcept(cs []Concept, code string) bool {
	for _, c := range cs {
		if c.Code == code {
			return true
		}
	}
	return false
}

// Business statuses of a finding's Task (Task.businessStatus).
const (
	StatusAwaitingReview = "awaiting-review"
	StatusDueSoon        = "due-soon"
	StatusOverdue        = "overdue"
	StatusDataGap        = "data-gap"
	StatusMissed         = "missed"
)

// BusinessStatuses lists the codes of the business-status CodeSystem.
func BusinessStatuses() []Concept {
	return []Concept{
		{StatusAwaitingReview, "Awaiting review", "The finding waits for a clinician's review; its deadline has not passed."},
		{StatusDueSoon, "Due soon", "The deadline falls within the next 24 hours."},
		{StatusOverdue, "Overdue", "The deadline has passed without the finding being closed."},
		{StatusDataGap, "Data gap", "The check could not be completed because data it needs is missing from the record; a person must supply or verify it."},
		{StatusMissed, "Missed", "The finding is past its check's actionable horizon (e.g. a notice not delivered before discharge): it can no longer be done, and the team documents it as a missed compliance event."},
	}
}
