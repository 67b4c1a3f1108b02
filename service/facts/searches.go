package facts

import "net/url"

// PatientSearches are the FHIR searches that gather a patient's context
// (patient is "Patient/id"): every resource type Build reads, by the
// element that names the patient, with the Organizations payer resolution
// needs and, with the Tasks, the Provenances, owners and agents that say who
// determined a completed one. All of the patient's resources are read,
// whatever their dates: the checks' history (readmissions, payment windows,
// duplicates, filing limits) reaches back as far as the data does. The live
// service and the committee report both read a patient with these.
func PatientSearches(patient string) []string {
	q := func(typ, param string, extra ...string) string {
		v := url.Values{param: {patient}, "_count": {"500"}}
		for i := 0; i+1 < len(extra); i += 2 {
			v.Add(extra[i], extra[i+1])
		}
		return typ + "?" + v.Encode()
	}
	return []string{
		patient,
		q("Encounter", "subject", "_include", "Encounter:service-provider"),
		q("Claim", "patient", "_include", "Claim:insurer", "_include", "Claim:provider"),
		q("Coverage", "beneficiary", "_include", "Coverage:payor"),
		q("ExplanationOfBenefit", "patient"),
		q("ClaimResponse", "patient"),
		q("Condition", "subject"),
		q("Procedure", "subject"),
		q("Account", "subject"),
		q("Task", "patient", "_revinclude", "Provenance:target", "_include", "Task:owner", "_include:iterate", "Provenance:agent"),
		q("Communication", "subject"),
	}
}
