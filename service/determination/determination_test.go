package determination

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/utilreview/utilreview/fhir"
	"github.com/utilreview/utilreview/fhir/fhirtest"
	"github.com/utilreview/utilreview/service/facts"
	"github.com/utilreview/utilreview/service/rules"
)

const (
	base    = "https://utilreview.dev/fhir"
	finding = base + "/identifier/finding"
)

// record is a patient's record as JSON resources: a Patient, the payer
// Organization (with its identifier), its Coverage, the hospital, an
// inpatient stay and the utilreview Task a clinician completed.
func record(taskOutputs string, edit func(m map[string]string)) map[string]string {
	m := map[string]string{
		"Patient":      `{"resourceType":"Patient","id":"p1"}`,
		"Organization": `{"resourceType":"Organization","id":"payer","identifier":[{"system":"http://example.org/fhir/sid/payer-id","value":"EXMCD01"}],"name":"Example State Medicaid"}`,
		"Hospital":     `{"resourceType":"Organization","id":"hosp","name":"General Hospital"}`,
		"Coverage":     `{"resourceType":"Coverage","id":"cov","status":"active","beneficiary":{"reference":"Patient/p1"},"payor":[{"reference":"Organization/payer"}]}`,
		"Encounter": `{"resourceType":"Encounter","id":"e1","status":"in-progress","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"IMP"},
			"subject":{"reference":"Patient/p1"},"period":{"start":"2026-11-20T10:00:00-05:00"},"serviceProvider":{"reference":"Organization/hosp"}}`,
		"Task": `{"resourceType":"Task","id":"t1","meta":{"versionId":"3","lastUpdated":"2026-11-25T15:00:05-05:00"},
			"identifier":[{"system":"` + finding + `","value":"admission-review-abc"}],
			"status":"completed","intent":"order",
			"code":{"coding":[{"system":"` + base + `/CodeSystem/check","code":"admission-review"}]},
			"focus":{"reference":"Encounter/e1"},"for":{"reference":"Patient/p1"},"encounter":{"reference":"Encounter/e1"},
			"executionPeriod":{"end":"2026-11-25T15:00:00-05:00"},
			"owner":{"reference":"Practitioner/nurse-1"},
			"output":[` + taskOutputs + `]}`,
	}
	if edit != nil {
		edit(m)
	}
	return m
}

func output(code, value string) string {
	return `{"type":{"coding":[{"system":"` + base + `/CodeSystem/evidence-type","code":"` + code + `"}]},` + value + `}`
}

func x12(code string) string {
	return output("determination", `"valueCodeableConcept":{"coding":[{"system":"https://codesystem.x12.org/005010/306","code":"`+code+`"}]}`)
}

// patientOf builds the facts of the record.
func patientOf(t *testing.T, m map[string]string, extra ...string) (*facts.Patient, []*fhir.Resource) {
	t.Helper()
	var res []*fhir.Resource
	rd := fhir.NewReader()
	add := func(name, raw string) {
		for _, err := range rd.ReadBytes(name, []byte(raw), func(r *fhir.Resource) { res = append(res, r) }) {
			t.Fatalf("%s: %v", name, err)
		}
	}
	for _, k := range []string{"Patient", "Organization", "Hospital", "Coverage", "Encounter", "Claim", "Task", "Provenance", "PractitionerRole"} {
		if raw, ok := m[k]; ok {
			add(k, raw)
		}
	}
	for i, raw := range extra {
		add(fmt.Sprint("extra", i), raw)
	}
	loc, _ := time.LoadLocation("America/New_York")
	set := facts.Build(res, facts.Options{Location: loc, NoPayer: rules.IsNoPayer})
	for _, p := range set.Patients {
		if p.Ref == "Patient/p1" {
			return p, res
		}
	}
	t.Fatalf("no patient; problems %v", set.Problems)
	return nil, nil
}

func recorder(t *testing.T, reviewers ...string) *Recorder {
	t.Helper()
	reg, err := rules.LoadDefaults()
	if err != nil {
		t.Fatal(err)
	}
	rv, err := ParseReviewers(reviewers)
	if err != nil {
		t.Fatal(err)
	}
	loc, _ := time.LoadLocation("America/New_York")
	return New(Config{Base: base, Location: loc, Rules: reg, Reviewers: rv})
}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// at walks a decoded JSON value by keys and indexes ("item.0.itemSequence").
func at(v any, path string) any {
	for _, k := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[k]
		case []any:
			var i int
			if _, err := fmt.Sscan(k, &i); err != nil || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

// extByURL finds an extension by url in a list.
func extByURL(v any, url string) map[string]any {
	list, _ := v.([]any)
	for _, e := range list {
		if m, ok := e.(map[string]any); ok && m["url"] == url {
			return m
		}
	}
	return nil
}

// writesOf plans the record and returns the writes by resource type.
func writesOf(t *testing.T, r *Recorder, p *facts.Patient, res []*fhir.Resource) (*Plan, map[string][]Write) {
	t.Helper()
	pl := r.Plan(p, r.Index(res))
	by := map[string][]Write{}
	for _, w := range pl.Writes {
		by[w.Type] = append(by[w.Type], w)
		fhirtest.ValidateSchema(t, w.Body)
		fhirtest.Conform(t, w.Body)
	}
	return pl, by
}

// TestClaimResponseEveryCode: each X12 306 code gives a ClaimResponse with
// the elements the PAS 2.2.1 example (ClaimResponse-PractitionerRequestor
// ResponseExample) has: use preauthorization, status active, type, patient,
// created, insurer, requestor, request, outcome, item.itemSequence, the
// adjudication category submitted and the reviewAction extension with its
// reviewActionCode and number. HAPI holds no PAS profile: this test checks
// those elements itself.
func TestClaimResponseEveryCode(t *testing.T) {
	for code, display := range facts.X12ReviewActionCodes {
		t.Run(code, func(t *testing.T) {
			p, res := patientOf(t, record(x12(code), nil))
			pl, by := writesOf(t, recorder(t), p, res)
			if pl.Outcomes[OutcomeCreate] != 1 || len(by["ClaimResponse"]) != 1 || len(by["Claim"]) != 1 {
				t.Fatalf("outcomes %v, writes %v: want one ClaimResponse created and its preauthorization Claim", pl.Outcomes, len(pl.Writes))
			}
			w := by["ClaimResponse"][0]
			if w.Method != http.MethodPost || w.IfNoneExist != "identifier="+url.QueryEscape(base+"/identifier/determination|admission-review-abc") {
				t.Errorf("write %s %s if-none-exist %q", w.Method, w.URL, w.IfNoneExist)
			}
			cr := decode(t, w.Body)
			for path, want := range map[string]any{
				"resourceType":              "ClaimResponse",
				"status":                    "active",
				"use":                       "preauthorization",
				"type.coding.0.system":      ClaimTypeSystem,
				"type.coding.0.code":        "institutional",
				"patient.reference":         "Patient/p1",
				"created":                   "2026-11-25T15:00:00-05:00",
				"insurer.reference":         "Organization/payer",
				"insurer.identifier.system": "http://example.org/fhir/sid/payer-id",
				"insurer.identifier.value":  "EXMCD01",
				"requestor.reference":       "Organization/hosp",
				"request.reference":         by["Claim"][0].FullURL,
				"outcome":                   "complete",
				"identifier.0.system":       base + "/identifier/determination",
				"identifier.0.value":        "admission-review-abc",
				"identifier.1.system":       finding,
				"identifier.1.value":        "admission-review-abc",
				"item.0.itemSequence":       float64(1),
				"item.0.adjudication.0.category.coding.0.system": AdjudicationSystem,
				"item.0.adjudication.0.category.coding.0.code":   "submitted",
			} {
				if got := at(cr, path); got != want {
					t.Errorf("%s = %v, want %v", path, got, want)
				}
			}
			if d, _ := cr["disposition"].(string); !strings.Contains(d, "hospital's utilization review team") || !strings.Contains(d, "delegated by the payer") {
				t.Errorf("disposition %q does not say whose determination it is", d)
			}
			ra := extByURL(at(cr, "item.0.adjudication.0.extension"), ExtReviewAction)
			if ra == nil {
				t.Fatalf("no reviewAction extension in %s", w.Body)
			}
			rac := extByURL(ra["extension"], ExtReviewActionCode)
			if at(rac, "valueCodeableConcept.coding.0.system") != facts.X12ReviewActionSystem || at(rac, "valueCodeableConcept.coding.0.code") != code ||
				at(rac, "valueCodeableConcept.coding.0.display") != display {
				t.Errorf("reviewActionCode %v, want %s %s", rac, code, display)
			}
			if n := extByURL(ra["extension"], "number"); n == nil || n["valueString"] != "admission-review-abc" {
				t.Errorf("number %v, want the determination's identifier value", n)
			}
			if authorizes(code) != (cr["preAuthRef"] != nil) {
				t.Errorf("preAuthRef %v for %s", cr["preAuthRef"], code)
			}
		})
	}
}

// TestPreauthorizationClaim: a stay reviewed before any claim gets a Claim
// with use preauthorization (PAS request; R4 requires status, type, use,
// patient, created, provider, priority, insurance and item.productOrService),
// one item for the stay.
func TestPreauthorizationClaim(t *testing.T) {
	p, res := patientOf(t, record(x12("A1"), nil))
	_, by := writesOf(t, recorder(t), p, res)
	w := by["Claim"][0]
	c := decode(t, w.Body)
	for path, want := range map[string]any{
		"use": "preauthorization", "status": "active", "type.coding.0.code": "institutional",
		"patient.reference": "Patient/p1", "insurer.reference": "Organization/payer",
		"provider.reference": "Organization/hosp", "priority.coding.0.code": "normal",
		"insurance.0.coverage.reference": "Coverage/cov", "insurance.0.focal": true,
		"item.0.sequence": float64(1), "item.0.encounter.0.reference": "Encounter/e1",
		"item.0.productOrService.coding.0.system": X12ServiceTypeSystem, "item.0.productOrService.coding.0.code": "48",
		"identifier.0.system": base + "/identifier/preauthorization",
	} {
		if got := at(c, path); got != want {
			t.Errorf("%s = %v, want %v", path, got, want)
		}
	}
	if !strings.HasPrefix(w.IfNoneExist, "identifier=") || w.Method != http.MethodPost {
		t.Errorf("Claim write %s if-none-exist %q: want a conditional create", w.Method, w.IfNoneExist)
	}
	// Written once, the Claim is answered by reference afterwards and is
	// not written again; and the engine never takes it for a claim: the
	// stay's facts are the same with it (payer, claims to check).
	c["id"] = "pa1"
	raw, _ := json.Marshal(c)
	p2, res2 := patientOf(t, record(x12("A1"), nil), string(raw))
	pl, by2 := writesOf(t, recorder(t), p2, res2)
	if len(by2["Claim"]) != 0 || pl.Outcomes[OutcomeCreate] != 1 {
		t.Fatalf("with the Claim on the server: writes %v outcomes %v", by2, pl.Outcomes)
	}
	if got := at(decode(t, by2["ClaimResponse"][0].Body), "request.reference"); got != "Claim/pa1" {
		t.Errorf("request %v, want Claim/pa1", got)
	}
	if e := p2.Encounters[0]; e.Payer == nil || e.Payer.OrganizationRef != "Organization/payer" || e.DRG != "" {
		t.Errorf("the stay's payer %+v changed with utilreview's preauthorization Claim", e.Payer)
	}
}

// TestOptionalOutputs: the authorized period and days, reason (X12 886),
// note, authorization number and avoidable days reach the ClaimResponse.
func TestOptionalOutputs(t *testing.T) {
	outs := strings.Join([]string{
		x12("A6"),
		output("authorized-period", `"valuePeriod":{"start":"2026-11-20","end":"2026-11-24"}`),
		output("authorized-days", `"valueInteger":4`),
		output("determination-reason", `"valueCodeableConcept":{"coding":[{"system":"https://codesystem.x12.org/external/886","code":"X1","display":"Example reason"}]}`),
		output("determination-note", `"valueString":"Observation level of care after day 4."`),
		output("authorization-number", `"valueString":"AUTH-77"`),
		output("avoidable-days", `"valueInteger":2`),
		output("avoidable-days-reason", `"valueCodeableConcept":{"coding":[{"system":"`+base+`/CodeSystem/avoidable-days-reason","code":"awaiting-post-acute-placement"}]}`),
	}, ",")
	p, res := patientOf(t, record(outs, nil))
	_, by := writesOf(t, recorder(t), p, res)
	cr := decode(t, by["ClaimResponse"][0].Body)
	item := at(cr, "item.0.extension")
	if pp := extByURL(item, ExtItemPreAuthPeriod); at(pp, "valuePeriod.start") != "2026-11-20" || at(pp, "valuePeriod.end") != "2026-11-24" {
		t.Errorf("itemPreAuthPeriod %v", pp)
	}
	if ad := extByURL(item, ExtItemAuthorizedDetail); at(extByURL(ad["extension"], "quantity"), "valueQuantity.value") != float64(4) {
		t.Errorf("itemAuthorizedDetail %v, want quantity 4 days", ad)
	}
	ra := extByURL(at(cr, "item.0.adjudication.0.extension"), ExtReviewAction)
	if rc := extByURL(ra["extension"], "reasonCode"); at(rc, "valueCodeableConcept.coding.0.code") != "X1" || at(rc, "valueCodeableConcept.coding.0.system") != X12ReasonSystem {
		t.Errorf("reasonCode %v", rc)
	}
	if n := extByURL(ra["extension"], "number"); n["valueString"] != "AUTH-77" || cr["preAuthRef"] != "AUTH-77" {
		t.Errorf("number %v preAuthRef %v, want AUTH-77", n, cr["preAuthRef"])
	}
	if at(cr, "processNote.0.text") != "Reason: Example reason" || at(cr, "processNote.1.text") != "Observation level of care after day 4." {
		t.Errorf("processNote %v", cr["processNote"])
	}
	av := extByURL(cr["extension"], base+"/StructureDefinition/avoidable-days")
	if at(extByURL(av["extension"], "days"), "valueInteger") != float64(2) || at(extByURL(av["extension"], "reason"), "valueCodeableConcept.coding.0.code") != "awaiting-post-acute-placement" {
		t.Errorf("avoidable days %v", av)
	}
	if at(cr, "preAuthPeriod.end") != "2026-11-24" {
		t.Errorf("preAuthPeriod %v", cr["preAuthPeriod"])
	}
}

// TestInsurerIdentifier: the ClaimResponse's insurer names the payer by its
// Organization reference when the record has one, and by identifier
// whenever one is known: the Organization's own that the payer's rule set
// matches on, else its first, else the rule set's (the payer API's
// contract).
func TestInsurerIdentifier(t *testing.T) {
	tests := []struct {
		name, org, coverage string
		ref, system, value  string
	}{
		{"the matched one of several", `{"resourceType":"Organization","id":"payer","identifier":[{"system":"urn:other","value":"9"},{"system":"http://example.org/fhir/sid/payer-id","value":"EXMCD01"}],"name":"Example State Medicaid"}`, "",
			"Organization/payer", "http://example.org/fhir/sid/payer-id", "EXMCD01"},
		{"the Organization's own, matched by name", `{"resourceType":"Organization","id":"payer","identifier":[{"system":"urn:other","value":"9"}],"name":"Example State Medicaid"}`, "",
			"Organization/payer", "urn:other", "9"},
		{"the rule set's, the Organization having none", `{"resourceType":"Organization","id":"payer","name":"Example State Medicaid"}`, "",
			"Organization/payer", "http://example.org/fhir/sid/payer-id", "EXMCD01"},
		{"no Organization, no identifier: the name", "", `{"resourceType":"Coverage","id":"cov","status":"active","beneficiary":{"reference":"Patient/p1"},"payor":[{"display":"medicare"}]}`,
			"", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := record(x12("A1"), func(m map[string]string) {
				if tt.org == "" {
					delete(m, "Organization")
				} else {
					m["Organization"] = tt.org
				}
				if tt.coverage != "" {
					m["Coverage"] = tt.coverage
				}
			})
			p, res := patientOf(t, m)
			_, by := writesOf(t, recorder(t), p, res)
			if len(by["ClaimResponse"]) != 1 {
				t.Fatalf("no ClaimResponse")
			}
			ins, _ := decode(t, by["ClaimResponse"][0].Body)["insurer"].(map[string]any)
			if ins["reference"] != nilIfEmpty(tt.ref) || at(ins, "identifier.system") != nilIfEmpty(tt.system) || at(ins, "identifier.value") != nilIfEmpty(tt.value) {
				t.Errorf("insurer %v, want reference %q identifier %s|%s", ins, tt.ref, tt.system, tt.value)
			}
			if ins["display"] == nil {
				t.Errorf("insurer %v names no payer", ins)
			}
		})
	}
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// TestReplayAndChange: the ClaimResponse on the server is not written
// again; a changed determination is a new version with If-Match.
func TestReplayAndChange(t *testing.T) {
	r := recorder(t)
	p, res := patientOf(t, record(x12("A3"), nil))
	_, by := writesOf(t, r, p, res)
	cr := decode(t, by["ClaimResponse"][0].Body)
	tag := at(cr, "meta.tag")
	if want := []any{map[string]any{"system": "https://utilreview.dev/fhir" + PayerTagPath, "code": PayerTagCode("http://example.org/fhir/sid/payer-id", "EXMCD01")}}; fmt.Sprint(tag) != fmt.Sprint(want) {
		t.Fatalf("meta.tag %v, want the payer's tag %v", tag, want)
	}
	cr["id"], cr["meta"] = "cr1", map[string]any{"versionId": "1", "lastUpdated": "2026-11-20T12:00:00Z", "tag": tag}
	cr["request"] = map[string]any{"reference": "Claim/pa1"}
	raw, _ := json.Marshal(cr)
	claim := decode(t, by["Claim"][0].Body)
	claim["id"] = "pa1"
	rawClaim, _ := json.Marshal(claim)

	p, res = patientOf(t, record(x12("A3"), nil), string(raw), string(rawClaim))
	if pl := r.Plan(p, r.Index(res)); !pl.Empty() || pl.Outcomes[OutcomeUnchanged] != 1 {
		t.Fatalf("replay: %d writes, outcomes %v; want none", len(pl.Writes), pl.Outcomes)
	}
	// A copy on the server without the payer's tag (written before it, or
	// stripped) is written again: the payer API finds determinations by it.
	untagged := decode(t, raw)
	untagged["meta"] = map[string]any{"versionId": "1"}
	rawUntagged, _ := json.Marshal(untagged)
	p, res = patientOf(t, record(x12("A3"), nil), string(rawUntagged), string(rawClaim))
	if pl := r.Plan(p, r.Index(res)); len(pl.Writes) != 1 || pl.Outcomes[OutcomeUpdate] != 1 {
		t.Fatalf("untagged on the server: writes %v outcomes %v; want one update", pl.Writes, pl.Outcomes)
	}
	p, res = patientOf(t, record(x12("A1"), nil), string(raw), string(rawClaim))
	pl := r.Plan(p, r.Index(res))
	if len(pl.Writes) != 1 || pl.Outcomes[OutcomeUpdate] != 1 {
		t.Fatalf("changed: writes %v outcomes %v", pl.Writes, pl.Outcomes)
	}
	w := pl.Writes[0]
	if w.Method != http.MethodPut || w.URL != "ClaimResponse/cr1" || w.IfMatch != "1" {
		t.Errorf("changed: %s %s If-Match %q, want PUT ClaimResponse/cr1 If-Match 1", w.Method, w.URL, w.IfMatch)
	}
	got := decode(t, w.Body)
	if got["id"] != "cr1" || at(got, "request.reference") != "Claim/pa1" {
		t.Errorf("changed body keeps id and request: %v %v", got["id"], got["request"])
	}
	fhirtest.ValidateSchema(t, w.Body)
}

// TestReviewers: only the configured clinical reviewers determine: the
// agent of a Provenance that targets the completed version, else the owner.
func TestReviewers(t *testing.T) {
	prov := func(target, who, role string) string {
		return `{"resourceType":"Provenance","id":"pv","target":[{"reference":"` + target + `"}],"recorded":"2026-11-25T15:00:00-05:00",
			"agent":[{"role":[{"coding":[{"system":"http://example.org/roles","code":"` + role + `"}]}],"who":{"reference":"` + who + `"}}]}`
	}
	// ur-1 is a PractitionerRole in the input: nurse-1 as a UR nurse.
	const role = `{"resourceType":"PractitionerRole","id":"ur-1","practitioner":{"reference":"Practitioner/nurse-1"},
		"code":[{"coding":[{"system":"http://example.org/roles","code":"ur-nurse"}]}]}`
	tests := []struct {
		name      string
		reviewers []string
		prov      string
		recorded  bool
		ownerRole bool // the Task's owner is PractitionerRole/ur-1, which the input holds
	}{
		{"none configured: everyone", nil, "", true, false},
		{"owner in the set", []string{"Practitioner/nurse-1"}, "", true, false},
		{"owner outside the set", []string{"Practitioner/md-9"}, "", false, false},
		{"provenance agent wins over the owner", []string{"Practitioner/md-9"}, prov("Task/t1/_history/3", "Practitioner/md-9", "x"), true, false},
		{"provenance agent outside the set", []string{"Practitioner/nurse-1"}, prov("Task/t1/_history/3", "Practitioner/clerk", "x"), false, false},
		{"provenance of another version is not about this one", []string{"Practitioner/md-9"}, prov("Task/t1/_history/2", "Practitioner/md-9", "x"), false, false},
		{"role code", []string{"role:http://example.org/roles|physician-advisor"}, prov("Task/t1", "Practitioner/md-1", "physician-advisor"), true, false},
		{"role code, any system", []string{"role:physician-advisor"}, prov("Task/t1", "Practitioner/md-1", "physician-advisor"), true, false},
		{"owner a PractitionerRole in the set", []string{"PractitionerRole/ur-1"}, "", true, true},
		{"owner's PractitionerRole names a reviewer", []string{"Practitioner/nurse-1"}, "", true, true},
		{"owner's PractitionerRole has a reviewer role", []string{"role:http://example.org/roles|ur-nurse"}, "", true, true},
		{"owner's PractitionerRole matches nothing", []string{"Practitioner/md-9", "role:physician-advisor"}, "", false, true},
		{"agent a PractitionerRole with a reviewer role", []string{"role:ur-nurse"}, prov("Task/t1", "PractitionerRole/ur-1", "x"), true, false},
		{"agent a PractitionerRole naming a reviewer", []string{"Practitioner/nurse-1"}, prov("Task/t1", "PractitionerRole/ur-1", "x"), true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := record(x12("A1"), nil)
			if tt.prov != "" {
				m["Provenance"] = tt.prov
			}
			m["PractitionerRole"] = role
			if tt.ownerRole {
				if !strings.Contains(m["Task"], `"Practitioner/nurse-1"`) {
					t.Fatal("the Task's owner is not Practitioner/nurse-1")
				}
				m["Task"] = strings.Replace(m["Task"], `"Practitioner/nurse-1"`, `"PractitionerRole/ur-1"`, 1)
			}
			p, res := patientOf(t, m)
			pl, by := writesOf(t, recorder(t, tt.reviewers...), p, res)
			if got := len(by["ClaimResponse"]) == 1; got != tt.recorded {
				t.Errorf("recorded %v, want %v (outcomes %v)", got, tt.recorded, pl.Outcomes)
			}
			if !tt.recorded && pl.Outcomes[OutcomeNotReviewer] != 1 {
				t.Errorf("outcomes %v, want not-reviewer", pl.Outcomes)
			}
		})
	}
	if _, err := ParseReviewers([]string{"Patient/p1", "role:"}); err == nil {
		t.Error("a Patient and an empty role were accepted as reviewers")
	}
}

// TestNotRecorded: what is not a determination writes nothing.
func TestNotRecorded(t *testing.T) {
	tests := []struct {
		name string
		outs string
		edit func(m map[string]string)
	}{
		{"no determination output", output("determination-note", `"valueString":"x"`), nil},
		{"not an X12 306 code", output("determination", `"valueCodeableConcept":{"coding":[{"system":"urn:other","code":"A1"}]}`), nil},
		{"an X12 306 code a determination cannot carry", x12("A5"), nil},
		{"Task not completed", x12("A1"), func(m map[string]string) {
			m["Task"] = strings.Replace(m["Task"], `"status":"completed"`, `"status":"in-progress"`, 1)
		}},
		{"not a utilreview Task", x12("A1"), func(m map[string]string) {
			m["Task"] = strings.Replace(m["Task"], finding, "urn:other", 1)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, res := patientOf(t, record(tt.outs, tt.edit))
			if pl := recorder(t).Plan(p, recorder(t).Index(res)); !pl.Empty() {
				t.Errorf("%d writes, want none", len(pl.Writes))
			}
		})
	}
}

// TestClaimFocus: a determination on a claim's review answers that Claim,
// echoing its items' sequences.
func TestClaimFocus(t *testing.T) {
	m := record(x12("A2"), func(m map[string]string) {
		m["Claim"] = `{"resourceType":"Claim","id":"c1","status":"active","use":"claim","type":{"coding":[{"system":"` + ClaimTypeSystem + `","code":"professional"}]},
			"patient":{"reference":"Patient/p1"},"created":"2026-11-24T10:00:00-05:00","provider":{"reference":"Organization/hosp"},
			"insurer":{"reference":"Organization/payer"},"priority":{"coding":[{"code":"normal"}]},
			"insurance":[{"sequence":1,"focal":true,"coverage":{"reference":"Coverage/cov"}}],
			"item":[{"sequence":2,"productOrService":{"coding":[{"system":"http://www.ama-assn.org/go/cpt","code":"99223"}]},"servicedDate":"2026-11-21"},
			        {"sequence":3,"productOrService":{"coding":[{"system":"http://www.ama-assn.org/go/cpt","code":"99232"}]},"servicedDate":"2026-11-22"}]}`
		m["Task"] = strings.Replace(m["Task"], `"focus":{"reference":"Encounter/e1"}`, `"focus":{"reference":"Claim/c1"}`, 1)
	})
	p, res := patientOf(t, m)
	_, by := writesOf(t, recorder(t), p, res)
	if len(by["Claim"]) != 0 {
		t.Fatalf("a Claim was written for a claim's determination")
	}
	cr := decode(t, by["ClaimResponse"][0].Body)
	if at(cr, "request.reference") != "Claim/c1" || at(cr, "item.0.itemSequence") != float64(2) || at(cr, "item.1.itemSequence") != float64(3) || at(cr, "type.coding.0.code") != "professional" {
		t.Errorf("request %v items %v type %v", cr["request"], cr["item"], cr["type"])
	}
}
