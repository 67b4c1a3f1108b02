// Package facts turns FHIR resources into the per-patient facts the checks
// read: stays with their class timeline, claims with their lines, payers,
// diagnoses and procedures, and the Tasks and Communications already present.
//
// Facts hold times already placed in the facility's time zone and references
// already resolved, so that the checks never parse or look anything up.
package facts

import (
	"strings"
	"time"

	"github.com/utilreview/utilreview/fhir"
)

// Code is one coding.
type Code struct {
	System  string
	Code    string
	Display string
}

// Identifier is a business identifier.
type Identifier struct {
	System string
	Value  string
}

// Set is everything read from one input, grouped per patient.
type Set struct {
	Patients []*Patient // in input order of first appearance
	// Counts of resources read, per resourceType, including skipped types.
	Read map[string]int
	// Skipped counts resources of types the engine does not read.
	Skipped map[string]int
	// Later counts, per resourceType, the resources left out because they
	// did not exist yet at Options.AsOf (by their clinical and billing
	// dates); nil when none was.
	Later map[string]int
	// Problems are input problems found while building facts (wrong shapes,
	// absurd values); they name the file and entry.
	Problems []error
}

// Patient groups one patient's facts. Patient resources may be absent from
// the input: then Ref is the subject reference the other resources share.
//
// A contained Patient has no identity outside its container: it is the
// patient with the same business identifier, else a patient of its own whose
// Key is container and id ("Claim/MED-1#patient-1"). Its Ref is "": writers
// refer to it by Key when Key is an identifier "system|value", else not at
// all. "#id" is never a Ref or a Key on its own.
type Patient struct {
	Ref string // "Patient/id" when the id is known, else the reference as written; "" for a contained Patient
	// Key is the stable key: business identifier "system|value", else Ref,
	// else (contained) "Container/id#id".
	Key        string
	Source     fhir.Source
	BirthDate  time.Time // zero when unknown
	Deceased   bool
	DeceasedAt time.Time // zero when unknown
	// Name and MRN are for the coordinator's own screen (review --format
	// table) only: PHI, never logged and never written to Tasks. Name is
	// the official (else first usable) HumanName as written; MRN the value
	// of the first identifier typed MR (v2-0203). "" when the input has none.
	Name string
	MRN  string

	Encounters     []*Encounter // sorted by Start
	Claims         []*Claim     // sorted by Created, then Ref
	Tasks          []*Task
	Communications []*Communication
}

// Segment is one stretch of an encounter in one class (inpatient,
// observation, emergency...), from Encounter.classHistory, or the whole
// period when there is no class history.
type Segment struct {
	Class string // v3 ActCode code as written: IMP, ACUTE, NONAC, OBSENC, EMER, AMB, SS, ...
	Start time.Time
	End   time.Time // zero while open
}

// Diagnosis is a diagnosis of a stay or claim, codes taken from the
// CodeableConcept or from the referenced Condition.
type Diagnosis struct {
	Codes     []Code
	Principal bool // rank 1, use/type principal or billing, or claim sequence 1 when none is marked
}

// Procedure is a procedure performed during a stay or billed on a claim.
type Procedure struct {
	Codes     []Code
	Performed time.Time // zero when unknown
}

// Payer is who pays for a stay or claim, as far as the input tells.
type Payer struct {
	OrganizationRef string // "Organization/id" when resolvable
	Identifiers     []Identifier
	Name            string // Organization.name
	// Display is the text the input gave instead of a resolvable payer, such
	// as Synthea's Claim.insurance.coverage.display ("medicare", "private").
	Display     string
	CoverageRef string // "Coverage/id" when a Coverage was resolved
}

// Label names the payer as the input names it, for people: the
// Organization's name, else the display text, else its first identifier's
// value, else the Organization reference; "" for a nil payer.
func (p *Payer) Label() string {
	switch {
	case p == nil:
		return ""
	case p.Name != "":
		return p.Name
	case p.Display != "":
		return p.Display
	}
	for _, id := range p.Identifiers {
		if id.Value != "" {
			return id.Value
		}
	}
	return p.OrganizationRef
}

// Same reports whether two payers are the same as far as the input tells:
// the same Organization, a shared identifier, else the same name or display
// text.
func (p *Payer) Same(o *Payer) bool {
	if p == nil || o == nil {
		return p == o
	}
	if p == o {
		return true
	}
	if p.OrganizationRef != "" && p.OrganizationRef == o.OrganizationRef {
		return true
	}
	for _, a := range p.Identifiers {
		for _, b := range o.Identifiers {
			if a.Value != "" && a == b {
				return true
			}
		}
	}
	if p.OrganizationRef != "" && o.OrganizationRef != "" {
		return false
	}
	return p.Label() != "" && strings.EqualFold(p.Label(), o.Label())
}

// Encounter is a stay or visit.
type Encounter struct {
	Ref     string // "Encounter/id"
	Key     string // stable key: business identifier "system|value", else Ref
	Source  fhir.Source
	Patient *Patient

	Status   string // planned | arrived | triaged | in-progress | onleave | finished | cancelled | entered-in-error | unknown
	Class    string // current Encounter.class code
	Segments []Segment
	Start    time.Time // period.start (or the first segment's start)
	End      time.Time // period.end; zero while in progress
	// StartPrecision and EndPrecision are the precisions period.start and
	// period.end were written with (fhir.Day for "2024-03-10"); zero when
	// absent. A Start taken from the first segment has that segment's
	// start precision. Checks use them to refuse counting days from a
	// month- or year-precision date.
	StartPrecision fhir.Precision
	EndPrecision   fhir.Precision
	// PartOf is Encounter.partOf as "Encounter/id" (resolved in the input
	// when possible), "" when absent or not a reference to an Encounter.
	PartOf string

	Types                []Code
	Reasons              []Code
	DischargeDisposition []Code
	ReAdmission          []Code // hospitalization.reAdmission
	Diagnoses            []Diagnosis
	Procedures           []Procedure // Procedure resources of this encounter and claim procedures
	Attending            string      // Practitioner reference of the attending (or first) participant
	ServiceProvider      string      // Organization reference

	Payer *Payer // nil when no payer could be resolved
	// Coverages are the payers of every coverage in force during the stay,
	// the stay's own Payer first, then the other insurances of its claims
	// (primary before secondary as the claims order them), its Accounts'
	// coverages and the patient's Coverages whose period overlaps the stay
	// (by Coverage.order); each payer once. A secondary Medicare coverage
	// makes the patient a Medicare beneficiary even when another payer is
	// primary (the Important Message and the MOON follow the beneficiary).
	Coverages []*Payer
	// Uninsured is true when the input says there is no payer (a display
	// text such as Synthea's "no_insurance", or self-pay); Payer is nil then.
	Uninsured bool
	DRG       string   // MS-DRG code from a claim, "" when none
	Claims    []*Claim // claims that reach this encounter
}

// Line is one claim line (Claim.item).
type Line struct {
	Sequence     int
	Codes        []Code // productOrService codings
	Modifiers    []string
	Units        float64 // quantity.value; 1 when absent
	ServiceStart time.Time
	ServiceEnd   time.Time // equals ServiceStart for a servicedDate
	Revenue      []Code
	Encounters   []string // item.encounter references as resolved "Encounter/id"
	// Rendering is the rendering provider's reference: the careTeam member
	// item.careTeamSequence names (its primary one, else the first), else the
	// claim's one primary careTeam member; "" when the claim does not say.
	Rendering string
}

// Claim is a claim for services.
type Claim struct {
	Ref     string // "Claim/id"
	Key     string // stable key: business identifier "system|value", else Ref
	Source  fhir.Source
	Patient *Patient

	Status        string // active | cancelled | draft | entered-in-error
	Use           string // claim | preauthorization | predetermination
	Type          string // institutional | professional | oral | pharmacy | vision
	SubType       []Code
	Created       time.Time
	BillableStart time.Time
	BillableEnd   time.Time
	Provider      string

	Encounters []*Encounter // resolved through item.encounter, the Claim.encounter extension or supportingInfo
	Payer      *Payer
	// Coverages are the payers of all the claim's insurances (focal first,
	// then by Claim.insurance.sequence as written), each payer once.
	Coverages   []*Payer
	Uninsured   bool // the input says there is no payer; Payer is nil then
	PreAuthRefs []string
	Replaces    []string // references of claims this one replaces (Claim.related with relationship prior)
	Lines       []Line
	DRG         string // MS-DRG code, "" when none
	Diagnoses   []Diagnosis
	Procedures  []Procedure
	// Accepted is true when a ClaimResponse or ExplanationOfBenefit for this
	// claim reports outcome complete or partial.
	Accepted bool
	// AcceptedAt is when the first such response was created; zero when
	// not accepted or when its created date cannot be read.
	AcceptedAt time.Time
}

// Task is a Task already present, written by utilreview or by others.
type Task struct {
	Ref         string
	Version     string // meta.versionId, "" when the input does not say (files)
	Identifiers []Identifier
	Status      string // draft | requested | received | accepted | rejected | ready | cancelled | in-progress | on-hold | failed | completed | entered-in-error
	Codes       []Code
	Focus       string // resolved "Type/id"
	Encounter   string
	// BusinessStatus is the first code of Task.businessStatus.
	BusinessStatus string
	// Due is restriction.period.end, zero when absent.
	Due time.Time
	// Raw is the Task's JSON as read: the live service rewrites only the
	// elements utilreview owns and keeps the rest (a clinician's notes,
	// owner, output) as they are.
	Raw []byte
	// Owner is Task.owner as a reference ("Type/id" when it names one),
	// OwnerDisplay its display: who holds the Task (at completion, for a
	// completed one).
	Owner        string
	OwnerDisplay string
	// OwnerRole is what the input says of an owner that is a
	// PractitionerRole: its practitioner and role codes (zero otherwise).
	OwnerRole RoleOf
	// Completed is when the Task was last worked: executionPeriod.end, else
	// lastModified, else meta.lastUpdated (the completion time of a
	// completed Task); zero when none is written.
	Completed time.Time
	// Determination is the determination a clinician recorded on a
	// completed Task (see determination.go); nil when none.
	Determination *Determination
	// Agents are the agents of Provenances that target the Task's current
	// version (or the Task without a version).
	Agents []Agent
}

// TaskState is where a Task stands for utilreview: the one classification
// of Task statuses that the engine and the writer share.
type TaskState int

const (
	// TaskAbsent: entered-in-error (or no status): never real work, as if
	// the Task did not exist.
	TaskAbsent TaskState = iota
	// TaskOpen: still to be worked (draft, requested, received, accepted,
	// ready, in-progress, on-hold, failed).
	TaskOpen
	// TaskClosed: completed, cancelled or rejected: the finding was handled
	// and is not raised again.
	TaskClosed
)

// TaskStateOf classes a Task status.
func TaskStateOf(status string) TaskState {
	switch status {
	case "completed", "cancelled", "rejected":
		return TaskClosed
	case "entered-in-error", "":
		return TaskAbsent
	}
	return TaskOpen
}

// State is the Task's TaskState.
func (t *Task) State() TaskState { return TaskStateOf(t.Status) }

// Untouched reports whether no one has started working the Task yet
// (requested or ready): such a Task may be cancelled when its finding no
// longer holds; a started one is only annotated.
func (t *Task) Untouched() bool {
	return t.Status == "requested" || t.Status == "ready" || t.Status == "draft"
}

// HasIdentifier reports whether the Task carries an identifier in system
// (value set), i.e. was written by the utilreview that uses that system.
func (t *Task) HasIdentifier(system string) bool {
	for _, id := range t.Identifiers {
		if id.System == system && id.Value != "" {
			return true
		}
	}
	return false
}

// IdentifierValue is the value of the Task's first identifier in system, "" when none.
func (t *Task) IdentifierValue(system string) string {
	for _, id := range t.Identifiers {
		if id.System == system && id.Value != "" {
			return id.Value
		}
	}
	return ""
}

// Communication is a Communication already present, e.g. the payer notified.
type Communication struct {
	Ref        string
	Status     string // preparation | in-progress | not-done | on-hold | stopped | completed | entered-in-error | unknown
	Categories []Code
	Recipients []string // resolved references
	About      []string // resolved references (about and encounter)
	Sent       time.Time
	BasedOn    []string
}
