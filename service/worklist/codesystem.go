package worklist

import (
	"github.com/utilreview/utilreview/fhir"
	"github.com/utilreview/utilreview/service/checks"
	"github.com/utilreview/utilreview/service/rules"
)

// Evidence types the writer adds to Task.input besides the checks' own.
const (
	// EvidenceRuleSet names the payer rule set applied (id@version).
	EvidenceRuleSet = "rule-set"
	// EvidenceReason carries a reason code beyond the first, which goes to
	// Task.reasonCode (0..1).
	EvidenceReason = "reason"
)

// Communication categories (CommunicationRequest.category).
const (
	CategoryPayerNotification    = "payer-notification"
	CategoryPriorAuthorization   = "prior-authorization"
	CategoryDocumentationRequest = "documentation-request"
	CategoryPhysicianQuery       = "physician-query"
	CategoryPatientNotice        = "patient-notice"
)

// CategoryConcepts lists the communication-category codes: the known ones,
// then any other category a check definition names.
func CategoryConcepts() []checks.Concept {
	out := []checks.Concept{
		{Code: CategoryPayerNotification, Display: "Payer notification",
			Definition: "Notify the payer, e.g. of an inpatient admission, within the payer's deadline."},
		{Code: CategoryPriorAuthorization, Display: "Prior authorization request",
			Definition: "Request, or confirm, the payer's prior authorization for a service."},
		{Code: CategoryDocumentationRequest, Display: "Documentation request",
			Definition: "Ask for documentation the review needs, from the payer or the care team."},
		{Code: CategoryPhysicianQuery, Display: "Physician query",
			Definition: "Ask the attending physician to document or clarify, e.g. the expected length of stay."},
		{Code: CategoryPatientNotice, Display: "Patient notice",
			Definition: "Deliver a notice the patient must receive, e.g. the MOON or the Important Message from Medicare."},
	}
	for _, d := range checks.Definitions() {
		if d.Communication != "" && !has(out, d.Communication) {
			out = append(out, checks.Concept{Code: d.Communication, Display: d.Communication,
				Definition: "Communication asked for by the " + d.ID + " check."})
		}
	}
	return out
}

// CustomConcepts lists the custom (CEL) checks of rule sets as check codes
// "custom:<id>", for Config.CustomChecks; an id used by several rule sets is
// listed once.
func CustomConcepts(sets []*rules.RuleSet) []checks.Concept {
	var out []checks.Concept
	for _, rs := range sets {
		if rs == nil {
			continue
		}
		for _, c := range rs.Custom {
			if c == nil || c.ID == "" {
				continue
			}
			code := "custom:" + c.ID
			if has(out, code) {
				continue
			}
			out = append(out, checks.Concept{Code: code, Display: "Custom check " + c.ID,
				Definition: "A payer-specific check written in CEL in the rule set " + rs.ID + "."})
		}
	}
	return out
}

func has(cs []checks.Concept, code string) bool {
	for _, c := range cs {
		if c.Code == code {
			return true
		}
	}
	return false
}

// checkConcepts are the built-in checks and the configured custom ones.
func (w *Writer) checkConcepts() []checks.Concept {
	defs := checks.Definitions()
	out := make([]checks.Concept, 0, len(defs)+len(w.cfg.CustomChecks))
	for _, d := range defs {
		if d.ID == "" || has(out, d.ID) {
			continue
		}
		out = append(out, checks.Concept{Code: d.ID, Display: d.Title, Definition: d.What})
	}
	for _, c := range w.cfg.CustomChecks {
		if c.Code != "" && !has(out, c.Code) {
			out = append(out, c)
		}
	}
	return out
}

// evidenceConcepts are the checks' evidence types and the writer's own.
func (w *Writer) evidenceConcepts() []checks.Concept {
	out := checks.EvidenceTypes()
	own := []checks.Concept{
		{Code: EvidenceRuleSet, Display: "Payer rule set",
			Definition: "The payer rule set the check applied, as id@version."},
		{Code: EvidenceReason, Display: "Reason code",
			Definition: "A further code the finding is about (the first is in Task.reasonCode)."},
	}
	for _, c := range own {
		if !has(out, c.Code) {
			out = append(out, c)
		}
	}
	return out
}

// CodeSystem ids (PUT CodeSystem/<id> in the transaction Bundle).
const (
	CheckCodeSystemID    = "utilreview-check"
	EvidenceCodeSystemID = "utilreview-evidence-type"
	StatusCodeSystemID   = "utilreview-business-status"
	CategoryCodeSystemID = "utilreview-communication-category"
	// AvoidableDaysReasonCodeSystemID: why days of a stay were avoidable,
	// the reason a UR clinician gives with a determination's avoidable-days
	// output (service/determination), for the UR committee report.
	AvoidableDaysReasonCodeSystemID = "utilreview-avoidable-days-reason"
)

// CodeSystems are utilreview's five CodeSystems under the canonical base:
// check, evidence-type, business-status, communication-category and
// avoidable-days-reason, status active, content complete.
func (w *Writer) CodeSystems() []*fhir.CodeSystem {
	return []*fhir.CodeSystem{
		w.codeSystem(CheckCodeSystemID, w.checkSystem, "UtilreviewCheck", "utilreview checks",
			"The utilization checks utilreview runs; a Task's code names the check that raised it.", w.checkConcepts()),
		w.codeSystem(EvidenceCodeSystemID, w.evidenceSystem, "UtilreviewEvidenceType", "utilreview evidence types",
			"The kinds of evidence utilreview writes in Task.input.type.", w.evidenceConcepts()),
		w.codeSystem(StatusCodeSystemID, w.statusSystem, "UtilreviewBusinessStatus", "utilreview business statuses",
			"Where a finding's Task stands, in Task.businessStatus.", checks.BusinessStatuses()),
		w.codeSystem(CategoryCodeSystemID, w.categorySystem, "UtilreviewCommunicationCategory", "utilreview communication categories",
			"What kind of message a CommunicationRequest from utilreview asks for.", CategoryConcepts()),
		w.codeSystem(AvoidableDaysReasonCodeSystemID, w.cfg.Base+"/CodeSystem/avoidable-days-reason", "UtilreviewAvoidableDaysReason",
			"utilreview avoidable-days reasons", "Why days of a stay were avoidable: the reason a UR clinician gives with the "+
				"avoidable-days output of a completed Task's determination, for the UR committee report.", checks.AvoidableDaysReasons()),
	}
}

func (w *Writer) codeSystem(id, url, name, title, description string, concepts []checks.Concept) *fhir.CodeSystem {
	cs := &fhir.CodeSystem{
		ID: id, URL: url, Version: w.cfg.Version, Name: name, Title: title,
		Status: "active", Publisher: "utilreview", Description: description,
		CaseSensitive: true, Content: "complete",
		Concept: make([]fhir.CodeSystemConcept, 0, len(concepts)),
	}
	seen := make(map[string]bool, len(concepts))
	for _, c := range concepts {
		if c.Code == "" || seen[c.Code] {
			continue // codes must be unique (csd-1)
		}
		seen[c.Code] = true
		cs.Concept = append(cs.Concept, fhir.CodeSystemConcept{Code: c.Code, Display: c.Display, Definition: c.Definition})
	}
	return cs
}
