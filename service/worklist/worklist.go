// Package worklist turns findings into the FHIR R4 resources a UR team works
// from: a Task per finding, a CommunicationRequest where the check asks for a
// message, utilreview's CodeSystems, and a transaction Bundle that creates
// them conditionally. Identifiers are deterministic, so writing the same
// finding twice never creates two Tasks; Plan drops findings whose Task was
// already completed, cancelled or rejected.
//
// Task.code is the check; Task.reasonCode (0..1) is the clinical or billing
// code that triggered the finding when there is one (the MS-DRG, discharge
// disposition, HRRP cohort diagnosis or procedure, service code), taken from
// the first of checks.Finding.Reasons; further reasons become Task.input of
// type "reason". A finding with no triggering code has no reasonCode: its
// rule and evidence are in Task.input.
package worklist

import (
	"time"

	"github.com/utilreview/utilreview/fhir"
	"github.com/utilreview/utilreview/service/checks"
)

// DefaultBase is the default canonical base of utilreview's CodeSystems and
// identifier system.
const DefaultBase = "https://utilreview.dev/fhir"

// Config says how findings are written.
type Config struct {
	// Base is the canonical base URL: CodeSystems are <Base>/CodeSystem/check,
	// evidence-type, business-status and communication-category.
	// Default DefaultBase.
	Base string
	// IdentifierSystem is the system of Task and CommunicationRequest
	// identifiers. Default <Base>/identifier/finding.
	IdentifierSystem string
	// Owners maps who works a finding to the Task.owner reference (a
	// reference and/or a display). Missing roles get DefaultOwners.
	Owners map[checks.Owner]fhir.Reference
	// Sender is CommunicationRequest.sender. Default: display "Utilization
	// Review department".
	Sender fhir.Reference
	// Requester is Task.requester and CommunicationRequest.requester: who
	// asks for the work. Default: display "utilreview (automated utilization
	// review)".
	Requester fhir.Reference
	// Location is the facility time zone in which dateTimes are written.
	// Default UTC.
	Location *time.Location
	// CustomChecks are the custom (CEL) checks of the loaded rule sets, so
	// that the check CodeSystem lists their "custom:<id>" codes too; see
	// CustomConcepts.
	CustomChecks []checks.Concept
	// Version is written as CodeSystem.version when set (e.g. the build version).
	Version string
}

// DefaultOwners are the Task.owner references used when Config.Owners has
// none for a role: display-only references, since the teams' resources
// differ per hospital.
func DefaultOwners() map[checks.Owner]fhir.Reference {
	return map[checks.Owner]fhir.Reference{
		checks.URTeam:            {Display: "Utilization Review team"},
		checks.PhysicianAdvisor:  {Display: "Physician advisor"},
		checks.BillingTeam:       {Display: "Patient financial services (billing)"},
		checks.PatientAccessTeam: {Display: "Patient access"},
	}
}

// Default references of Config.Sender and Config.Requester.
const (
	DefaultSenderDisplay    = "Utilization Review department"
	DefaultRequesterDisplay = "utilreview (automated utilization review)"
)

// Writer writes findings as FHIR resources. It is safe for concurrent use:
// nothing in it changes after New.
type Writer struct {
	cfg Config

	checkSystem    string
	evidenceSystem string
	statusSystem   string
	categorySystem string

	// displays of the CodeSystems' codes, so that codings carry them
	checkTitle      map[string]string
	evidenceDisplay map[string]string
	statusDisplay   map[string]string
	categoryDisplay map[string]string
}

// New returns a Writer; empty Config fields take their defaults.
func New(cfg Config) *Writer {
	if cfg.Base == "" {
		cfg.Base = DefaultBase
	}
	for len(cfg.Base) > 1 && cfg.Base[len(cfg.Base)-1] == '/' {
		cfg.Base = cfg.Base[:len(cfg.Base)-1]
	}
	if cfg.IdentifierSystem == "" {
		cfg.IdentifierSystem = cfg.Base + "/identifier/finding"
	}
	owners := DefaultOwners()
	for role, ref := range cfg.Owners {
		if !ref.IsZero() {
			owners[role] = ref
		}
	}
	cfg.Owners = owners
	if cfg.Sender.IsZero() {
		cfg.Sender = fhir.Reference{Display: DefaultSenderDisplay}
	}
	if cfg.Requester.IsZero() {
		cfg.Requester = fhir.Reference{Display: DefaultRequesterDisplay}
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	w := &Writer{
		cfg:             cfg,
		checkSystem:     cfg.Base + "/CodeSystem/check",
		evidenceSystem:  cfg.Base + "/CodeSystem/evidence-type",
		statusSystem:    cfg.Base + "/CodeSystem/business-status",
		categorySystem:  cfg.Base + "/CodeSystem/communication-category",
		checkTitle:      make(map[string]string),
		evidenceDisplay: make(map[string]string),
		statusDisplay:   make(map[string]string),
		categoryDisplay: make(map[string]string),
	}
	for _, c := range w.checkConcepts() {
		w.checkTitle[c.Code] = c.Display
	}
	for _, c := range w.evidenceConcepts() {
		w.evidenceDisplay[c.Code] = c.Display
	}
	for _, c := range checks.BusinessStatuses() {
		w.statusDisplay[c.Code] = c.Display
	}
	for _, c := range CategoryConcepts() {
		w.categoryDisplay[c.Code] = c.Display
	}
	return w
}

// Base is the canonical base in use.
func (w *Writer) Base() string { return w.cfg.Base }

// IdentifierSystem is the system of the identifiers the Writer writes; the
// engine's checks.Config.IdentifierSystem must be the same, so that it
// recognizes utilreview's Tasks in the input.
func (w *Writer) IdentifierSystem() string { return w.cfg.IdentifierSystem }

// CheckSystem is the url of the check CodeSystem (Task.code's system).
func (w *Writer) CheckSystem() string { return w.checkSystem }

// EvidenceSystem is the url of the evidence-type CodeSystem (Task.input.type's system).
func (w *Writer) EvidenceSystem() string { return w.evidenceSystem }

// StatusSystem is the url of the business-status CodeSystem.
func (w *Writer) StatusSystem() string { return w.statusSystem }

// CategorySystem is the url of the communication-category CodeSystem.
func (w *Writer) CategorySystem() string { return w.categorySystem }
