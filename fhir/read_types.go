// Code generated from the resource types of
// github.com/samply/golang-fhir-models/fhir-models v0.3.2 (every type with an
// UnmarshalX function, less the abstract Resource and DomainResource). DO NOT EDIT.

package fhir

import fm "github.com/samply/golang-fhir-models/fhir-models/fhir"

// resourceFactory returns a constructor of the samply struct for an R4
// resourceType, or nil for a name that is not an R4 resource type.
func resourceFactory(resourceType string) func() any {
	switch resourceType {
	case "Account":
		return func() any { return new(fm.Account) }
	case "ActivityDefinition":
		return func() any { return new(fm.ActivityDefinition) }
	case "AdverseEvent":
		return func() any { return new(fm.AdverseEvent) }
	case "AllergyIntolerance":
		return func() any { return new(fm.AllergyIntolerance) }
	case "Appointment":
		return func() any { return new(fm.Appointment) }
	case "AppointmentResponse":
		return func() any { return new(fm.AppointmentResponse) }
	case "AuditEvent":
		return func() any { return new(fm.AuditEvent) }
	case "Basic":
		return func() any { return new(fm.Basic) }
	case "Binary":
		return func() any { return new(fm.Binary) }
	case "BiologicallyDerivedProduct":
		return func() any { return new(fm.BiologicallyDerivedProduct) }
	case "BodyStructure":
		return func() any { return new(fm.BodyStructure) }
	case "Bundle":
		return func() any { return new(fm.Bundle) }
	case "CapabilityStatement":
		return func() any { return new(fm.CapabilityStatement) }
	case "CarePlan":
		return func() any { return new(fm.CarePlan) }
	case "CareTeam":
		return func() any { return new(fm.CareTeam) }
	case "CatalogEntry":
		return func() any { return new(fm.CatalogEntry) }
	case "ChargeItem":
		return func() any { return new(fm.ChargeItem) }
	case "ChargeItemDefinition":
		return func() any { return new(fm.ChargeItemDefinition) }
	case "Claim":
		return func() any { return new(fm.Claim) }
	case "ClaimResponse":
		return func() any { return new(fm.ClaimResponse) }
	case "ClinicalImpression":
		return func() any { return new(fm.ClinicalImpression) }
	case "CodeSystem":
		return func() any { return new(fm.CodeSystem) }
	case "Communication":
		return func() any { return new(fm.Communication) }
	case "CommunicationRequest":
		return func() any { return new(fm.CommunicationRequest) }
	case "CompartmentDefinition":
		return func() any { return new(fm.CompartmentDefinition) }
	case "Composition":
		return func() any { return new(fm.Composition) }
	case "ConceptMap":
		return func() any { return new(fm.ConceptMap) }
	case "Condition":
		return func() any { return new(fm.Condition) }
	case "Consent":
		return func() any { return new(fm.Consent) }
	case "Contract":
		return func() any { return new(fm.Contract) }
	case "Coverage":
		return func() any { return new(fm.Coverage) }
	case "CoverageEligibilityRequest":
		return func() any { return new(fm.CoverageEligibilityRequest) }
	case "CoverageEligibilityResponse":
		return func() any { return new(fm.CoverageEligibilityResponse) }
	case "DetectedIssue":
		return func() any { return new(fm.DetectedIssue) }
	case "Device":
		return func() any { return new(fm.Device) }
	case "DeviceDefinition":
		return func() any { return new(fm.DeviceDefinition) }
	case "DeviceMetric":
		return func() any { return new(fm.DeviceMetric) }
	case "DeviceRequest":
		return func() any { return new(fm.DeviceRequest) }
	case "DeviceUseStatement":
		return func() any { return new(fm.DeviceUseStatement) }
	case "DiagnosticReport":
		return func() any { return new(fm.DiagnosticReport) }
	case "DocumentManifest":
		return func() any { return new(fm.DocumentManifest) }
	case "DocumentReference":
		return func() any { return new(fm.DocumentReference) }
	case "EffectEvidenceSynthesis":
		return func() any { return new(fm.EffectEvidenceSynthesis) }
	case "Encounter":
		return func() any { return new(fm.Encounter) }
	case "Endpoint":
		return func() any { return new(fm.Endpoint) }
	case "EnrollmentRequest":
		return func() any { return new(fm.EnrollmentRequest) }
	case "EnrollmentResponse":
		return func() any { return new(fm.EnrollmentResponse) }
	case "EpisodeOfCare":
		return func() any { return new(fm.EpisodeOfCare) }
	case "EventDefinition":
		return func() any { return new(fm.EventDefinition) }
	case "Evidence":
		return func() any { return new(fm.Evidence) }
	case "EvidenceVariable":
		return func() any { return new(fm.EvidenceVariable) }
	case "ExampleScenario":
		return func() any { return new(fm.ExampleScenario) }
	case "ExplanationOfBenefit":
		return func() any { return new(fm.ExplanationOfBenefit) }
	case "FamilyMemberHistory":
		return func() any { return new(fm.FamilyMemberHistory) }
	case "Flag":
		return func() any { return new(fm.Flag) }
	case "Goal":
		return func() any { return new(fm.Goal) }
	case "GraphDefinition":
		return func() any { return new(fm.GraphDefinition) }
	case "Group":
		return func() any { return new(fm.Group) }
	case "GuidanceResponse":
		return func() any { return new(fm.GuidanceResponse) }
	case "HealthcareService":
		return func() any { return new(fm.HealthcareService) }
	case "ImagingStudy":
		return func() any { return new(fm.ImagingStudy) }
	case "Immunization":
		return func() any { return new(fm.Immunization) }
	case "ImmunizationEvaluation":
		return func() any { return new(fm.ImmunizationEvaluation) }
	case "ImmunizationRecommendation":
		return func() any { return new(fm.ImmunizationRecommendation) }
	case "ImplementationGuide":
		return func() any { return new(fm.ImplementationGuide) }
	case "InsurancePlan":
		return func() any { return new(fm.InsurancePlan) }
	case "Invoice":
		return func() any { return new(fm.Invoice) }
	case "Library":
		return func() any { return new(fm.Library) }
	case "Linkage":
		return func() any { return new(fm.Linkage) }
	case "List":
		return func() any { return new(fm.List) }
	case "Location":
		return func() any { return new(fm.Location) }
	case "Measure":
		return func() any { return new(fm.Measure) }
	case "MeasureReport":
		return func() any { return new(fm.MeasureReport) }
	case "Media":
		return func() any { return new(fm.Media) }
	case "Medication":
		return func() any { return new(fm.Medication) }
	case "MedicationAdministration":
		return func() any { return new(fm.MedicationAdministration) }
	case "MedicationDispense":
		return func() any { return new(fm.MedicationDispense) }
	case "MedicationKnowledge":
		return func() any { return new(fm.MedicationKnowledge) }
	case "MedicationRequest":
		return func() any { return new(fm.MedicationRequest) }
	case "MedicationStatement":
		return func() any { return new(fm.MedicationStatement) }
	case "MedicinalProduct":
		return func() any { return new(fm.MedicinalProduct) }
	case "MedicinalProductAuthorization":
		return func() any { return new(fm.MedicinalProductAuthorization) }
	case "MedicinalProductContraindication":
		return func() any { return new(fm.MedicinalProductContraindication) }
	case "MedicinalProductIndication":
		return func() any { return new(fm.MedicinalProductIndication) }
	case "MedicinalProductIngredient":
		return func() any { return new(fm.MedicinalProductIngredient) }
	case "MedicinalProductInteraction":
		return func() any { return new(fm.MedicinalProductInteraction) }
	case "MedicinalProductManufactured":
		return func() any { return new(fm.MedicinalProductManufactured) }
	case "MedicinalProductPackaged":
		return func() any { return new(fm.MedicinalProductPackaged) }
	case "MedicinalProductPharmaceutical":
		return func() any { return new(fm.MedicinalProductPharmaceutical) }
	case "MedicinalProductUndesirableEffect":
		return func() any { return new(fm.MedicinalProductUndesirableEffect) }
	case "MessageDefinition":
		return func() any { return new(fm.MessageDefinition) }
	case "MessageHeader":
		return func() any { return new(fm.MessageHeader) }
	case "MolecularSequence":
		return func() any { return new(fm.MolecularSequence) }
	case "NamingSystem":
		return func() any { return new(fm.NamingSystem) }
	case "NutritionOrder":
		return func() any { return new(fm.NutritionOrder) }
	case "Observation":
		return func() any { return new(fm.Observation) }
	case "ObservationDefinition":
		return func() any { return new(fm.ObservationDefinition) }
	case "OperationDefinition":
		return func() any { return new(fm.OperationDefinition) }
	case "OperationOutcome":
		return func() any { return new(fm.OperationOutcome) }
	case "Organization":
		return func() any { return new(fm.Organization) }
	case "OrganizationAffiliation":
		return func() any { return new(fm.OrganizationAffiliation) }
	case "Parameters":
		return func() any { return new(fm.Parameters) }
	case "Patient":
		return func() any { return new(fm.Patient) }
	case "PaymentNotice":
		return func() any { return new(fm.PaymentNotice) }
	case "PaymentReconciliation":
		return func() any { return new(fm.PaymentReconciliation) }
	case "Person":
		return func() any { return new(fm.Person) }
	case "PlanDefinition":
		return func() any { return new(fm.PlanDefinition) }
	case "Practitioner":
		return func() any { return new(fm.Practitioner) }
	case "PractitionerRole":
		return func() any { return new(fm.PractitionerRole) }
	case "Procedure":
		return func() any { return new(fm.Procedure) }
	case "Provenance":
		return func() any { return new(fm.Provenance) }
	case "Questionnaire":
		return func() any { return new(fm.Questionnaire) }
	case "QuestionnaireResponse":
		return func() any { return new(fm.QuestionnaireResponse) }
	case "RelatedPerson":
		return func() any { return new(fm.RelatedPerson) }
	case "RequestGroup":
		return func() any { return new(fm.RequestGroup) }
	case "ResearchDefinition":
		return func() any { return new(fm.ResearchDefinition) }
	case "ResearchElementDefinition":
		return func() any { return new(fm.ResearchElementDefinition) }
	case "ResearchStudy":
		return func() any { return new(fm.ResearchStudy) }
	case "ResearchSubject":
		return func() any { return new(fm.ResearchSubject) }
	case "RiskAssessment":
		return func() any { return new(fm.RiskAssessment) }
	case "RiskEvidenceSynthesis":
		return func() any { return new(fm.RiskEvidenceSynthesis) }
	case "Schedule":
		return func() any { return new(fm.Schedule) }
	case "SearchParameter":
		return func() any { return new(fm.SearchParameter) }
	case "ServiceRequest":
		return func() any { return new(fm.ServiceRequest) }
	case "Slot":
		return func() any { return new(fm.Slot) }
	case "Specimen":
		return func() any { return new(fm.Specimen) }
	case "SpecimenDefinition":
		return func() any { return new(fm.SpecimenDefinition) }
	case "StructureDefinition":
		return func() any { return new(fm.StructureDefinition) }
	case "StructureMap":
		return func() any { return new(fm.StructureMap) }
	case "Subscription":
		return func() any { return new(fm.Subscription) }
	case "Substance":
		return func() any { return new(fm.Substance) }
	case "SubstanceNucleicAcid":
		return func() any { return new(fm.SubstanceNucleicAcid) }
	case "SubstancePolymer":
		return func() any { return new(fm.SubstancePolymer) }
	case "SubstanceProtein":
		return func() any { return new(fm.SubstanceProtein) }
	case "SubstanceReferenceInformation":
		return func() any { return new(fm.SubstanceReferenceInformation) }
	case "SubstanceSourceMaterial":
		return func() any { return new(fm.SubstanceSourceMaterial) }
	case "SubstanceSpecification":
		return func() any { return new(fm.SubstanceSpecification) }
	case "SupplyDelivery":
		return func() any { return new(fm.SupplyDelivery) }
	case "SupplyRequest":
		return func() any { return new(fm.SupplyRequest) }
	case "Task":
		return func() any { return new(fm.Task) }
	case "TerminologyCapabilities":
		return func() any { return new(fm.TerminologyCapabilities) }
	case "TestReport":
		return func() any { return new(fm.TestReport) }
	case "TestScript":
		return func() any { return new(fm.TestScript) }
	case "ValueSet":
		return func() any { return new(fm.ValueSet) }
	case "VerificationResult":
		return func() any { return new(fm.VerificationResult) }
	case "VisionPrescription":
		return func() any { return new(fm.VisionPrescription) }
	}
	return nil
}

// resourceTypeNames lists every R4 resourceType the reader knows, in
// alphabetical order.
func resourceTypeNames() []string {
	return []string{
		"Account",
		"ActivityDefinition",
		"AdverseEvent",
		"AllergyIntolerance",
		"Appointment",
		"AppointmentResponse",
		"AuditEvent",
		"Basic",
		"Binary",
		"BiologicallyDerivedProduct",
		"BodyStructure",
		"Bundle",
		"CapabilityStatement",
		"CarePlan",
		"CareTeam",
		"CatalogEntry",
		"ChargeItem",
		"ChargeItemDefinition",
		"Claim",
		"ClaimResponse",
		"ClinicalImpression",
		"CodeSystem",
		"Communication",
		"CommunicationRequest",
		"CompartmentDefinition",
		"Composition",
		"ConceptMap",
		"Condition",
		"Consent",
		"Contract",
		"Coverage",
		"CoverageEligibilityRequest",
		"CoverageEligibilityResponse",
		"DetectedIssue",
		"Device",
		"DeviceDefinition",
		"DeviceMetric",
		"DeviceRequest",
		"DeviceUseStatement",
		"DiagnosticReport",
		"DocumentManifest",
		"DocumentReference",
		"EffectEvidenceSynthesis",
		"Encounter",
		"Endpoint",
		"EnrollmentRequest",
		"EnrollmentResponse",
		"EpisodeOfCare",
		"EventDefinition",
		"Evidence",
		"EvidenceVariable",
		"ExampleScenario",
		"ExplanationOfBenefit",
		"FamilyMemberHistory",
		"Flag",
		"Goal",
		"GraphDefinition",
		"Group",
		"GuidanceResponse",
		"HealthcareService",
		"ImagingStudy",
		"Immunization",
		"ImmunizationEvaluation",
		"ImmunizationRecommendation",
		"ImplementationGuide",
		"InsurancePlan",
		"Invoice",
		"Library",
		"Linkage",
		"List",
		"Location",
		"Measure",
		"MeasureReport",
		"Media",
		"Medication",
		"MedicationAdministration",
		"MedicationDispense",
		"MedicationKnowledge",
		"MedicationRequest",
		"MedicationStatement",
		"MedicinalProduct",
		"MedicinalProductAuthorization",
		"MedicinalProductContraindication",
		"MedicinalProductIndication",
		"MedicinalProductIngredient",
		"MedicinalProductInteraction",
		"MedicinalProductManufactured",
		"MedicinalProductPackaged",
		"MedicinalProductPharmaceutical",
		"MedicinalProductUndesirableEffect",
		"MessageDefinition",
		"MessageHeader",
		"MolecularSequence",
		"NamingSystem",
		"NutritionOrder",
		"Observation",
		"ObservationDefinition",
		"OperationDefinition",
		"OperationOutcome",
		"Organization",
		"OrganizationAffiliation",
		"Parameters",
		"Patient",
		"PaymentNotice",
		"PaymentReconciliation",
		"Person",
		"PlanDefinition",
		"Practitioner",
		"PractitionerRole",
		"Procedure",
		"Provenance",
		"Questionnaire",
		"QuestionnaireResponse",
		"RelatedPerson",
		"RequestGroup",
		"ResearchDefinition",
		"ResearchElementDefinition",
		"ResearchStudy",
		"ResearchSubject",
		"RiskAssessment",
		"RiskEvidenceSynthesis",
		"Schedule",
		"SearchParameter",
		"ServiceRequest",
		"Slot",
		"Specimen",
		"SpecimenDefinition",
		"StructureDefinition",
		"StructureMap",
		"Subscription",
		"Substance",
		"SubstanceNucleicAcid",
		"SubstancePolymer",
		"SubstanceProtein",
		"SubstanceReferenceInformation",
		"SubstanceSourceMaterial",
		"SubstanceSpecification",
		"SupplyDelivery",
		"SupplyRequest",
		"Task",
		"TerminologyCapabilities",
		"TestReport",
		"TestScript",
		"ValueSet",
		"VerificationResult",
		"VisionPrescription",
	}
}
