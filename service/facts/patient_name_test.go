package facts

import (
	"encoding/json"
	"testing"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// Name and MRN are read for the coordinator's table (review --format table):
// the official name first (FHIR R4 HumanName.use), never an old or anonymous
// one; the MRN is the identifier typed MR in HL7 v2 table 0203.
func TestPatientNameAndMRN(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, patient string
		wantName      string
		wantMRN       string
	}{
		{"given and family", `{"name":[{"family":"Doe","given":["Jane","Q"]}]}`, "Jane Q Doe", ""},
		{"text wins over parts", `{"name":[{"text":" Dr  Jane\nDoe ","family":"Doe"}]}`, "Dr Jane Doe", ""},
		{"official over usual and unmarked", `{"name":[{"family":"A"},{"use":"usual","family":"B"},{"use":"official","family":"C"}]}`, "C", ""},
		{"usual over unmarked", `{"name":[{"family":"A"},{"use":"usual","given":["B"]}]}`, "B", ""},
		{"old and anonymous never", `{"name":[{"use":"old","family":"Maiden"},{"use":"anonymous","text":"Anon"}]}`, "", ""},
		{"an empty official name is skipped", `{"name":[{"use":"official","given":[" "]},{"family":"Roe"}]}`, "Roe", ""},
		{"MRN typed MR", `{"identifier":[{"system":"urn:ssn","value":"999"},{"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"MR"}]},"value":" M-1 "}]}`, "", "M-1"},
		{"MR without a system", `{"identifier":[{"type":{"coding":[{"code":"MR"}]},"value":"M-2"}]}`, "", "M-2"},
		{"MR of another system is not an MRN", `{"identifier":[{"type":{"coding":[{"system":"urn:local","code":"MR"}]},"value":"X"}]}`, "", ""},
		{"an identifier without type is not an MRN", `{"identifier":[{"system":"urn:mrn","value":"X"}]}`, "", ""},
		{"the first MR wins", `{"identifier":[{"type":{"coding":[{"code":"SS"},{"code":"MR"}]},"value":"A"},{"type":{"coding":[{"code":"MR"}]},"value":"B"}]}`, "", "A"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var p fm.Patient
			if err := json.Unmarshal([]byte(c.patient), &p); err != nil {
				t.Fatal(err)
			}
			if got := patientName(p.Name); got != c.wantName {
				t.Errorf("name %q, want %q", got, c.wantName)
			}
			if got := patientMRN(p.Identifier); got != c.wantMRN {
				t.Errorf("MRN %q, want %q", got, c.wantMRN)
			}
		})
	}
}
