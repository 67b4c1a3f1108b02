package review

import "encoding/json"

// patientRefs are the elements by which a resource names its patient, as
// facts reads them (Encounter.subject, Claim.patient, Coverage.beneficiary,
// Task.for), decoded only as far as a logical reference needs.
type patientRefs struct {
	Subject, Patient, Beneficiary, For *logicalRef
}

// logicalRef is a Reference by identifier: facts takes the identifier as
// the patient's only when the reference itself is empty.
type logicalRef struct {
	Reference  string
	Identifier *struct{ System, Value string }
}

// key is the logical reference's "system|value", or "" when it is none.
func (r *logicalRef) key() string {
	if r == nil || r.Reference != "" || r.Identifier == nil || r.Identifier.Value == "" {
		return ""
	}
	return r.Identifier.System + "|" + r.Identifier.Value
}

// logicalPatients returns the "system|value" of every logical reference by
// which raw, or a resource it contains, names its patient. raw is valid
// JSON (pass 1 has scanned it); an element of another shape than a
// Reference is skipped, as encoding/json skips it, and the others are
// still read.
func logicalPatients(raw []byte) []string {
	var v struct {
		patientRefs
		Contained []patientRefs
	}
	_ = json.Unmarshal(raw, &v) // a type mismatch leaves the other fields filled
	var out []string
	for _, p := range append([]patientRefs{v.patientRefs}, v.Contained...) {
		for _, r := range []*logicalRef{p.Subject, p.Patient, p.Beneficiary, p.For} {
			if k := r.key(); k != "" {
				out = append(out, k)
			}
		}
	}
	return out
}
