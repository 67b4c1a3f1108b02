package report

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/utilreview/utilreview/fhir"
	"github.com/utilreview/utilreview/service/checks"
	"github.com/utilreview/utilreview/service/review"
	"github.com/utilreview/utilreview/service/rules"
	"github.com/utilreview/utilreview/service/worklist"
)

// The committee fixture: a period of two months (March and April 2026, New
// York), five patients, seven stays, their claims, the payer notifications
// sent, and utilreview Tasks with deadlines, completions and determinations.
// Every number the golden test expects is worked out by hand from what is
// written here; the comments in golden_test.go say how.
const (
	actSystem = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
	drgSystem = "https://www.cms.gov/Medicare/Medicare-Fee-for-Service-Payment/AcuteInpatientPPS/MS-DRG-Classifications-and-Software"
	icdSystem = "http://hl7.org/fhir/sid/icd-10-cm"
	cptSystem = "http://www.ama-assn.org/go/cpt"
	base      = worklist.DefaultBase
)

type obj = map[string]any

func organization(id, name string) obj {
	return obj{"resourceType": "Organization", "id": id, "name": name}
}

func patient(id string) obj {
	return obj{"resourceType": "Patient", "id": id, "birthDate": "1950-01-01"}
}

func coverage(id, pat, payer string) obj {
	return obj{"resourceType": "Coverage", "id": id, "status": "active", "beneficiary": obj{"reference": "Patient/" + pat},
		"period": obj{"start": "2026-01-01"}, "payor": []any{obj{"reference": "Organization/" + payer}}}
}

// segment is one class of a stay: class, start, end ("" while open).
type segment struct{ class, start, end string }

func encounter(id, pat string, segs ...segment) obj {
	last := segs[len(segs)-1]
	e := obj{"resourceType": "Encounter", "id": id, "status": "finished",
		"class":   obj{"system": actSystem, "code": last.class},
		"subject": obj{"reference": "Patient/" + pat},
		"period":  obj{"start": segs[0].start, "end": last.end}}
	if last.end == "" {
		e["status"] = "in-progress"
		e["period"] = obj{"start": segs[0].start}
	}
	var hist []any
	for _, s := range segs {
		p := obj{"start": s.start}
		if s.end != "" {
			p["end"] = s.end
		}
		hist = append(hist, obj{"class": obj{"system": actSystem, "code": s.class}, "period": p})
	}
	e["classHistory"] = hist
	return e
}

func claim(id, pat, enc, cov, drg, dx, from, to string) obj {
	c := obj{"resourceType": "Claim", "id": id, "status": "active", "use": "claim",
		"type":           obj{"coding": []any{obj{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "institutional"}}},
		"patient":        obj{"reference": "Patient/" + pat},
		"created":        to,
		"provider":       obj{"reference": "Organization/hosp"},
		"priority":       obj{"coding": []any{obj{"code": "normal"}}},
		"insurance":      []any{obj{"sequence": 1, "focal": true, "coverage": obj{"reference": "Coverage/" + cov}}},
		"billablePeriod": obj{"start": from, "end": to},
		"item": []any{obj{"sequence": 1, "productOrService": obj{"coding": []any{obj{"system": cptSystem, "code": "99223"}}},
			"servicedDate": from, "encounter": []any{obj{"reference": "Encounter/" + enc}}}},
	}
	if strings.HasPrefix(enc, "cpt:") { // an outpatient claim: the code, no stay
		c["item"] = []any{obj{"sequence": 1, "productOrService": obj{"coding": []any{obj{"system": cptSystem, "code": enc[4:]}}}, "servicedDate": from}}
	}
	if drg != "" {
		c["supportingInfo"] = []any{obj{"sequence": 1, "category": obj{"coding": []any{obj{"code": "info"}}},
			"code": obj{"coding": []any{obj{"system": drgSystem, "code": drg}}}}}
	}
	if dx != "" {
		c["diagnosis"] = []any{obj{"sequence": 1, "diagnosisCodeableConcept": obj{"coding": []any{obj{"system": icdSystem, "code": dx}}},
			"type": []any{obj{"coding": []any{obj{"system": "http://terminology.hl7.org/CodeSystem/ex-diagnosistype", "code": "principal"}}}}}}
	}
	return c
}

func notification(id, pat, enc, payer, sent string) obj {
	return obj{"resourceType": "Communication", "id": id, "status": "completed",
		"subject":   obj{"reference": "Patient/" + pat},
		"about":     []any{obj{"reference": "Encounter/" + enc}},
		"recipient": []any{obj{"reference": "Organization/" + payer}},
		"sent":      sent}
}

// taskSpec is a Task as a clinician left it.
type taskSpec struct {
	id, pat, enc, check, owner, due, authored, status string
	executionEnd, lastUpdated                         string
	determination                                     string
	avoidableDays                                     int
	avoidableReason                                   string
	foreign                                           bool // not written by utilreview (no identifier in its system)
}

func (s taskSpec) resource() obj {
	t := obj{"resourceType": "Task", "id": s.id, "status": s.status, "intent": "order",
		"code":        obj{"coding": []any{obj{"system": base + "/CodeSystem/check", "code": s.check}}},
		"focus":       obj{"reference": "Encounter/" + s.enc},
		"for":         obj{"reference": "Patient/" + s.pat},
		"encounter":   obj{"reference": "Encounter/" + s.enc},
		"authoredOn":  s.authored,
		"owner":       obj{"display": s.owner},
		"restriction": obj{"period": obj{"end": s.due}},
	}
	if !s.foreign {
		t["identifier"] = []any{obj{"system": base + "/identifier/finding", "value": "fixture-" + s.id}}
	}
	if s.lastUpdated != "" {
		t["meta"] = obj{"lastUpdated": s.lastUpdated}
	}
	if s.executionEnd != "" {
		t["executionPeriod"] = obj{"end": s.executionEnd}
	}
	outType := func(code string) obj {
		return obj{"coding": []any{obj{"system": base + "/CodeSystem/evidence-type", "code": code}}}
	}
	var out []any
	if s.determination != "" {
		out = append(out, obj{"type": outType(OutputDetermination),
			"valueCodeableConcept": obj{"coding": []any{obj{"system": X12ReviewActionSystem, "code": s.determination}}}})
	}
	if s.avoidableDays > 0 {
		out = append(out, obj{"type": outType(OutputAvoidableDays), "valueInteger": s.avoidableDays})
		out = append(out, obj{"type": outType(OutputAvoidableDaysReason),
			"valueCodeableConcept": obj{"coding": []any{obj{"system": base + "/CodeSystem/avoidable-days-reason", "code": s.avoidableReason}}}})
	}
	if out != nil {
		t["output"] = out
	}
	return t
}

// fixtureTasks are the Tasks of the fixture (see golden_test.go for what each proves).
var fixtureTasks = []taskSpec{
	{id: "t1", pat: "p1", enc: "e1", check: "admission-review", owner: "UR nurses", due: "2026-03-03T17:00:00-05:00",
		authored: "2026-03-02T11:00:00-05:00", status: "completed", executionEnd: "2026-03-03T09:00:00-05:00", determination: "A1"},
	{id: "t2", pat: "p2", enc: "e2", check: "admission-review", owner: "UR nurses", due: "2026-03-11T17:00:00-04:00",
		authored: "2026-03-10T09:00:00-04:00", status: "completed", lastUpdated: "2026-03-12T09:00:00-04:00", determination: "A3",
		avoidableDays: 2, avoidableReason: "level-of-care"},
	{id: "t3", pat: "p1", enc: "e6", check: "los-exceeds-gmlos", owner: "Physician advisor", due: "2026-04-08T17:00:00-04:00",
		authored: "2026-04-07T08:00:00-04:00", status: "in-progress"},
	{id: "t4", pat: "p4", enc: "e4", check: "two-midnight", owner: "Physician advisor", due: "2026-04-20T17:00:00-04:00",
		authored: "2026-04-12T13:00:00-04:00", status: "cancelled"},
	{id: "t5", pat: "p3", enc: "e3", check: "admission-review", owner: "UR nurses", due: "2026-05-10T17:00:00-04:00",
		authored: "2026-04-06T09:00:00-04:00", status: "requested"},
	{id: "t6", pat: "p4", enc: "e4", check: "continued-stay-review", owner: "Physician advisor", due: "2026-04-14T17:00:00-04:00",
		authored: "2026-04-13T12:00:00-04:00", status: "completed", executionEnd: "2026-04-14T12:00:00-04:00", determination: "A2",
		avoidableDays: 1, avoidableReason: "level-of-care"},
	{id: "t9", pat: "p2", enc: "e2", check: "determination-appeal", owner: "Physician advisor", due: "2026-03-26T23:59:00-04:00",
		authored: "2026-03-12T10:00:00-04:00", status: "completed", executionEnd: "2026-03-20T10:00:00-04:00", determination: "A1"},
	{id: "t7", pat: "p1", enc: "e1", check: "admission-review", owner: "UR nurses", due: "2026-03-05T17:00:00-05:00",
		authored: "2026-03-02T11:00:00-05:00", status: "entered-in-error"},
	{id: "t8", pat: "p2", enc: "e2", check: "admission-review", owner: "UR nurses", due: "2026-03-05T17:00:00-05:00",
		authored: "2026-03-02T11:00:00-05:00", status: "completed", executionEnd: "2026-03-04T09:00:00-05:00", foreign: true},
}

func fixtureResources() []obj {
	res := []obj{
		organization("hosp", "Example General Hospital (synthetic)"),
		organization("acme", "Acme Health Plan"),
		organization("medicare", "Medicare"),
		patient("p1"), coverage("c1", "p1", "acme"),
		patient("p2"), coverage("c2", "p2", "acme"),
		patient("p3"), coverage("c3", "p3", "acme"),
		patient("p4"), coverage("c4", "p4", "medicare"),
		patient("p5"), coverage("c5", "p5", "acme"),
		// e1: inpatient 6 midnights, MS-DRG 291 (heart failure), notified 5 hours after the order.
		encounter("e1", "p1", segment{"IMP", "2026-03-02T10:00:00-05:00", "2026-03-08T10:00:00-04:00"}),
		claim("cl1", "p1", "e1", "c1", "291", "I50.23", "2026-03-02", "2026-03-08"),
		notification("n1", "p1", "e1", "acme", "2026-03-02T15:00:00-05:00"),
		// e6: the same patient back 12 days after e1's discharge: a readmission, 5 midnights, MS-DRG 291.
		encounter("e6", "p1", segment{"IMP", "2026-03-20T08:00:00-04:00", "2026-03-25T08:00:00-04:00"}),
		claim("cl6", "p1", "e6", "c1", "291", "I50.23", "2026-03-20", "2026-03-25"),
		notification("n6", "p1", "e6", "acme", "2026-03-20T12:00:00-04:00"),
		// e2: inpatient 2 midnights, MS-DRG 292, notified after discharge (late).
		encounter("e2", "p2", segment{"IMP", "2026-03-10T08:00:00-04:00", "2026-03-12T09:00:00-04:00"}),
		claim("cl2", "p2", "e2", "c2", "292", "", "2026-03-10", "2026-03-12"),
		notification("n2", "p2", "e2", "acme", "2026-03-13T09:00:00-04:00"),
		// e3: inpatient 1 midnight (a short stay), no MS-DRG, never notified.
		encounter("e3", "p3", segment{"IMP", "2026-04-06T08:00:00-04:00", "2026-04-07T09:00:00-04:00"}),
		// e4: Medicare, observation 54 hours, then inpatient 1 midnight (converted; a short stay).
		encounter("e4", "p4", segment{"OBSENC", "2026-04-10T06:00:00-04:00", "2026-04-12T12:00:00-04:00"},
			segment{"IMP", "2026-04-12T12:00:00-04:00", "2026-04-13T10:00:00-04:00"}),
		// e8: Medicare, inpatient 7 midnights, MS-DRG 194 (pneumonia, principal J15.9): e4's index stay 9 days
		// before e4's inpatient order, in the HRRP pneumonia cohort (Medicare's rule set has the cohorts).
		encounter("e8", "p4", segment{"IMP", "2026-03-27T08:00:00-04:00", "2026-04-03T08:00:00-04:00"}),
		claim("cl8", "p4", "e8", "c4", "194", "J15.9", "2026-03-27", "2026-04-03"),
		// cl9: Medicare, an outpatient blepharoplasty (CPT 15823, on CMS's hospital outpatient prior
		// authorization list, 42 CFR 419.83) without a prior authorization.
		claim("cl9", "p4", "cpt:15823", "c4", "", "", "2026-04-20", "2026-04-20"),
		// e9: 10 hours of observation for a patient with no coverage at all: the payer is unresolved.
		patient("p6"),
		encounter("e9", "p6", segment{"OBSENC", "2026-03-15T08:00:00-04:00", "2026-03-15T18:00:00-04:00"}),
		// e5: observation 36 hours, discharged from observation.
		encounter("e5", "p5", segment{"OBSENC", "2026-04-01T08:00:00-04:00", "2026-04-02T20:00:00-04:00"}),
		// e7: discharged in February: outside the period, counted nowhere.
		encounter("e7", "p5", segment{"IMP", "2026-02-10T08:00:00-05:00", "2026-02-15T08:00:00-05:00"}),
		claim("cl7", "p5", "e7", "c5", "291", "", "2026-02-10", "2026-02-15"),
	}
	for _, t := range fixtureTasks {
		res = append(res, t.resource())
	}
	return res
}

// fixtureBundle is the fixture as one collection Bundle.
func fixtureBundle(t testing.TB) []byte {
	t.Helper()
	var entries []any
	for _, r := range fixtureResources() {
		entries = append(entries, obj{"fullUrl": "urn:x:" + r["resourceType"].(string) + "/" + r["id"].(string), "resource": r})
	}
	b, err := json.Marshal(obj{"resourceType": "Bundle", "type": "collection", "entry": entries})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newYork(t testing.TB) *time.Location {
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// reviewOptions are the options `utilreview report` builds with the
// embedded rules and the default writer.
func reviewOptions(t testing.TB, loc *time.Location) review.Options {
	t.Helper()
	reg, err := rules.LoadDefaults()
	if err != nil {
		t.Fatal(err)
	}
	w := worklist.New(worklist.Config{Location: loc, CustomChecks: worklist.CustomConcepts(reg.RuleSets())})
	return review.Options{Location: loc, Rules: reg, Writer: w,
		Checks: checks.Config{Location: loc, IdentifierSystem: w.IdentifierSystem()}}
}

// fixtureReport computes the report over the fixture for March and April 2026, as of 1 June 2026.
func fixtureReport(t testing.TB) *Report {
	t.Helper()
	loc := newYork(t)
	var resources []*fhir.Resource
	if errs := fhir.NewReader().ReadBytes("fixture.json", fixtureBundle(t), func(r *fhir.Resource) { resources = append(resources, r) }); len(errs) > 0 {
		t.Fatalf("fixture: %v", errs)
	}
	rep, problems, err := Compute(context.Background(), resources, Options{
		From: time.Date(2026, 3, 1, 0, 0, 0, 0, loc), To: time.Date(2026, 4, 30, 0, 0, 0, 0, loc),
		Now: time.Date(2026, 6, 1, 12, 0, 0, 0, loc), Review: reviewOptions(t, loc),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) > 0 {
		t.Fatalf("fixture problems: %v", problems)
	}
	return rep
}
