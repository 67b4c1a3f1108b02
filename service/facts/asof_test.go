package facts

import (
	"strings"
	"testing"
	"time"

	"github.com/utilreview/utilreview/fhir"
)

// asOfBundle is a synthetic record (made up for this test, no patient's):
// one stay ED -> observation -> inpatient, 2026-03-01 08:00 to 03-06 10:00,
// discharged to a SNF; an ED claim created 03-02 and adjudicated 03-05; the
// stay's claim created 03-06 12:00; a Condition recorded 03-04, a Procedure
// performed 03-05; the payer notified 03-03 and again 03-05; a later visit
// on 03-10; the patient's death on 03-20. Times are New York.
const asOfBundle = `{"resourceType": "Bundle", "type": "collection", "entry": [
 {"resource": {"resourceType": "Patient", "id": "p", "deceasedDateTime": "2026-03-20T10:00:00-04:00"}},
 {"resource": {"resourceType": "Organization", "id": "payer", "name": "Example Plan"}},
 {"resource": {"resourceType": "Encounter", "id": "stay", "status": "finished",
   "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
   "classHistory": [
     {"class": {"code": "EMER"}, "period": {"start": "2026-03-01T08:00:00-05:00", "end": "2026-03-01T12:00:00-05:00"}},
     {"class": {"code": "OBSENC"}, "period": {"start": "2026-03-01T12:00:00-05:00", "end": "2026-03-03T09:00:00-05:00"}},
     {"class": {"code": "IMP"}, "period": {"start": "2026-03-03T09:00:00-05:00"}}],
   "subject": {"reference": "Patient/p"},
   "period": {"start": "2026-03-01T08:00:00-05:00", "end": "2026-03-06T10:00:00-05:00"},
   "hospitalization": {"dischargeDisposition": {"coding": [{"system": "http://www.nubc.org/patient-discharge", "code": "03"}]}}}},
 {"resource": {"resourceType": "Encounter", "id": "later", "status": "finished",
   "class": {"code": "AMB"}, "subject": {"reference": "Patient/p"},
   "period": {"start": "2026-03-10T09:00:00-04:00", "end": "2026-03-10T10:00:00-04:00"}}},
 {"resource": {"resourceType": "Condition", "id": "cond", "subject": {"reference": "Patient/p"},
   "encounter": {"reference": "Encounter/stay"}, "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "I50.9"}]},
   "recordedDate": "2026-03-04T10:00:00-05:00"}},
 {"resource": {"resourceType": "Procedure", "id": "proc", "status": "completed", "subject": {"reference": "Patient/p"},
   "encounter": {"reference": "Encounter/stay"}, "code": {"coding": [{"system": "http://www.cms.gov/Medicare/Coding/ICD10", "code": "02HV33Z"}]},
   "performedDateTime": "2026-03-05T14:00:00-05:00"}},
 {"resource": {"resourceType": "Claim", "id": "ed-claim", "status": "active", "use": "claim",
   "type": {"coding": [{"code": "institutional"}]}, "patient": {"reference": "Patient/p"},
   "created": "2026-03-02T09:00:00-05:00", "provider": {"reference": "Organization/hospital"}, "priority": {"coding": [{"code": "normal"}]},
   "insurance": [{"sequence": 1, "focal": true, "coverage": {"display": "Example Plan"}}],
   "item": [{"sequence": 1, "productOrService": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "99285"}]},
     "servicedDate": "2026-03-01", "encounter": [{"reference": "Encounter/stay"}]}]}},
 {"resource": {"resourceType": "ExplanationOfBenefit", "id": "ed-eob", "status": "active", "use": "claim",
   "type": {"coding": [{"code": "institutional"}]}, "patient": {"reference": "Patient/p"},
   "created": "2026-03-05T09:00:00-05:00", "insurer": {"display": "Example Plan"}, "provider": {"reference": "Organization/hospital"},
   "claim": {"reference": "Claim/ed-claim"}, "outcome": "complete",
   "insurance": [{"focal": true, "coverage": {"display": "Example Plan"}}]}},
 {"resource": {"resourceType": "Claim", "id": "stay-claim", "status": "active", "use": "claim",
   "type": {"coding": [{"code": "institutional"}]}, "patient": {"reference": "Patient/p"},
   "created": "2026-03-06T12:00:00-05:00", "provider": {"reference": "Organization/hospital"}, "priority": {"coding": [{"code": "normal"}]},
   "insurance": [{"sequence": 1, "focal": true, "coverage": {"display": "Example Plan"}}],
   "diagnosis": [{"sequence": 1, "diagnosisCodeableConcept": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "J18.9"}]},
     "packageCode": {"coding": [{"system": "https://www.cms.gov/Medicare/Medicare-Fee-for-Service-Payment/AcuteInpatientPPS/MS-DRG-Classifications-and-Software", "code": "291"}]}}],
   "item": [{"sequence": 1, "productOrService": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "99223"}]},
     "servicedPeriod": {"start": "2026-03-03", "end": "2026-03-06"}, "encounter": [{"reference": "Encounter/stay"}]}]}},
 {"resource": {"resourceType": "Communication", "id": "notice-1", "status": "completed", "subject": {"reference": "Patient/p"},
   "encounter": {"reference": "Encounter/stay"}, "recipient": [{"reference": "Organization/payer"}], "sent": "2026-03-03T10:00:00-05:00"}},
 {"resource": {"resourceType": "Communication", "id": "notice-2", "status": "completed", "subject": {"reference": "Patient/p"},
   "encounter": {"reference": "Encounter/stay"}, "recipient": [{"reference": "Organization/payer"}], "sent": "2026-03-05T10:00:00-05:00"}}
]}`

// TestAsOf: a review as of a past instant sees only what existed then,
// judged by clinical and billing dates (Claim.created, Encounter.period,
// Condition.recordedDate, Procedure.performed, Communication.sent,
// ExplanationOfBenefit.created), and a stay in progress then is seen in
// progress: no end, no discharge disposition, the classes begun by then.
func TestAsOf(t *testing.T) {
	loc := newYork(t)
	var res []*fhir.Resource
	if errs := fhir.NewReader().ReadBytes("asof.json", []byte(asOfBundle), func(r *fhir.Resource) { res = append(res, r) }); len(errs) > 0 {
		t.Fatalf("reading: %v", errs)
	}
	at := func(s string) time.Time {
		if s == "" {
			return time.Time{}
		}
		v, err := time.ParseInLocation("2006-01-02T15:04", s, loc)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name, asOf  string
		status      string   // of the stay
		end         string   // of the stay, "" while in progress
		class       string   // the stay's class as of then
		segments    []string // "CLASS start [end]"
		disposition bool
		encounters  []string
		claims      []string // and whether each is accepted, "+"
		drg         string
		diagnoses   int
		procedures  int
		comms       []string
		deceased    bool
		later       map[string]int
	}{
		{name: "no as-of: everything",
			status: "finished", end: "2026-03-06T10:00", class: "IMP",
			segments:    []string{"EMER 2026-03-01T08:00 2026-03-01T12:00", "OBSENC 2026-03-01T12:00 2026-03-03T09:00", "IMP 2026-03-03T09:00 2026-03-06T10:00"},
			disposition: true, encounters: []string{"Encounter/stay", "Encounter/later"},
			claims: []string{"Claim/ed-claim+", "Claim/stay-claim"}, drg: "291", diagnoses: 2, procedures: 1,
			comms: []string{"Communication/notice-1", "Communication/notice-2"}, deceased: true},
		{name: "in observation: the stay is in progress, nothing billed or recorded yet",
			asOf: "2026-03-02T12:00", status: "in-progress", class: "OBSENC",
			segments:   []string{"EMER 2026-03-01T08:00 2026-03-01T12:00", "OBSENC 2026-03-01T12:00"},
			encounters: []string{"Encounter/stay"}, claims: []string{"Claim/ed-claim"},
			later: map[string]int{"Encounter": 1, "Claim": 1, "ExplanationOfBenefit": 1, "Communication": 2}},
		{name: "inpatient, mid-stay: the condition recorded, the first notice sent, the ED claim adjudicated not yet",
			asOf: "2026-03-04T12:00", status: "in-progress", class: "IMP",
			segments:   []string{"EMER 2026-03-01T08:00 2026-03-01T12:00", "OBSENC 2026-03-01T12:00 2026-03-03T09:00", "IMP 2026-03-03T09:00"},
			encounters: []string{"Encounter/stay"}, claims: []string{"Claim/ed-claim"}, diagnoses: 1,
			comms: []string{"Communication/notice-1"},
			later: map[string]int{"Encounter": 1, "Claim": 1, "ExplanationOfBenefit": 1, "Communication": 1}},
		{name: "after discharge, before the stay's claim",
			asOf: "2026-03-06T11:00", status: "finished", end: "2026-03-06T10:00", class: "IMP",
			segments:    []string{"EMER 2026-03-01T08:00 2026-03-01T12:00", "OBSENC 2026-03-01T12:00 2026-03-03T09:00", "IMP 2026-03-03T09:00 2026-03-06T10:00"},
			disposition: true, encounters: []string{"Encounter/stay"}, claims: []string{"Claim/ed-claim+"}, diagnoses: 1, procedures: 1,
			comms: []string{"Communication/notice-1", "Communication/notice-2"},
			later: map[string]int{"Encounter": 1, "Claim": 1}},
		{name: "the day after: the stay's claim and its DRG; the death still ahead",
			asOf: "2026-03-07T09:00", status: "finished", end: "2026-03-06T10:00", class: "IMP",
			segments:    []string{"EMER 2026-03-01T08:00 2026-03-01T12:00", "OBSENC 2026-03-01T12:00 2026-03-03T09:00", "IMP 2026-03-03T09:00 2026-03-06T10:00"},
			disposition: true, encounters: []string{"Encounter/stay"}, claims: []string{"Claim/ed-claim+", "Claim/stay-claim"}, drg: "291",
			diagnoses: 2, procedures: 1, comms: []string{"Communication/notice-1", "Communication/notice-2"},
			later: map[string]int{"Encounter": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := Build(res, Options{Location: loc, AsOf: at(tt.asOf)})
			noProblems(t, set)
			if len(set.Patients) != 1 {
				t.Fatalf("got %d patients", len(set.Patients))
			}
			p := set.Patients[0]
			var encs, cls, comms []string
			var stay *Encounter
			for _, e := range p.Encounters {
				encs = append(encs, e.Ref)
				if e.Ref == "Encounter/stay" {
					stay = e
				}
			}
			for _, c := range p.Claims {
				s := c.Ref
				if c.Accepted {
					s += "+"
				}
				cls = append(cls, s)
			}
			for _, c := range p.Communications {
				comms = append(comms, c.Ref)
			}
			eq := func(what string, got, want []string) {
				if strings.Join(got, " ") != strings.Join(want, " ") {
					t.Errorf("%s: got %v, want %v", what, got, want)
				}
			}
			eq("encounters", encs, tt.encounters)
			eq("claims", cls, tt.claims)
			eq("communications", comms, tt.comms)
			if stay == nil {
				t.Fatal("no stay")
			}
			if stay.Status != tt.status || !stay.End.Equal(at(tt.end)) || stay.Class != tt.class {
				t.Errorf("stay: status %s end %v class %s, want %s %v %s", stay.Status, stay.End, stay.Class, tt.status, at(tt.end), tt.class)
			}
			if tt.end == "" && stay.EndPrecision != 0 {
				t.Errorf("stay in progress keeps an end precision")
			}
			var segs []string
			for _, g := range stay.Segments {
				s := g.Class + " " + g.Start.Format("2006-01-02T15:04")
				if !g.End.IsZero() {
					s += " " + g.End.Format("2006-01-02T15:04")
				}
				segs = append(segs, s)
			}
			eq("segments", segs, tt.segments)
			if got := len(stay.DischargeDisposition) > 0; got != tt.disposition {
				t.Errorf("discharge disposition known: %v, want %v", got, tt.disposition)
			}
			if stay.DRG != tt.drg || len(stay.Diagnoses) != tt.diagnoses || len(stay.Procedures) != tt.procedures {
				t.Errorf("stay: DRG %q, %d diagnoses, %d procedures; want %q, %d, %d", stay.DRG, len(stay.Diagnoses), len(stay.Procedures), tt.drg, tt.diagnoses, tt.procedures)
			}
			if len(stay.Claims) != len(tt.claims) { // every claim of this record is for the stay
				t.Errorf("stay claims %d, want %d", len(stay.Claims), len(tt.claims))
			}
			if p.Deceased != tt.deceased {
				t.Errorf("deceased %v, want %v", p.Deceased, tt.deceased)
			}
			if len(set.Later) != len(tt.later) {
				t.Errorf("left out as later: %v, want %v", set.Later, tt.later)
			}
			for k, v := range tt.later {
				if set.Later[k] != v {
					t.Errorf("left out as later: %v, want %v", set.Later, tt.later)
					break
				}
			}
		})
	}
}
