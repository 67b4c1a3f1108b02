package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/utilreview/utilreview/e2e/harness"
	"github.com/utilreview/utilreview/fhir/fhirtest"
)

// TestServeRecordsDetermination: the whole loop through `serve`. A UR nurse
// (one of UTILREVIEW_REVIEWERS) completes the admission review Task of a
// stay in progress on HAPI; the Task subscription has the patient reviewed
// and the determination appears as a ClaimResponse (with the
// preauthorization Claim the stay lacked), counted as recorded. The same
// notification delivered again (HAPI's retries, replays) writes nothing
// more, and the clinician's note never reaches the log.
func TestServeRecordsDetermination(t *testing.T) {
	t.Parallel()
	l := newLiveEnv(t, "2026-11-20T12:00:00-05:00")
	c := harness.NewFHIR(t)
	nurse := "Practitioner/" + c.Create(map[string]any{"resourceType": "Practitioner", "name": []any{map[string]any{"family": "Reviewer"}}})
	l.env["UTILREVIEW_REVIEWERS"] = nurse
	base, log := l.start(t, "")
	suffix := harness.UniqueID("")
	st := c.PutBundle("../../testdata/examples/ur-scenarios.json", suffix[len(suffix)-8:], l.tag)
	id0 := st.Resources[0]["id"].(string)
	sfx := id0[strings.LastIndex(id0, "-")+1:]
	stay := "Encounter/e6-" + sfx

	var task map[string]any
	harness.Eventually(t, 120*time.Second, time.Second, "the stay's admission-review Task", func() (bool, error) {
		raws, _ := c.SearchAll(harness.Query("Task", "identifier", l.system+"|", "focus", stay), 5)
		for _, raw := range raws {
			var m map[string]any
			if err := json.Unmarshal(raw, &m); err != nil {
				return false, err
			}
			if codeOf(m) == "admission-review" {
				task = m
				return true, nil
			}
		}
		return false, fmt.Errorf("%d Tasks on the stay", len(raws))
	})
	const note = "Meets inpatient criteria: telemetry"
	evidence := func(code string) map[string]any {
		return map[string]any{"coding": []any{map[string]any{"system": "https://utilreview.dev/fhir/CodeSystem/evidence-type", "code": code}}}
	}
	task["status"] = "completed"
	task["owner"] = map[string]any{"reference": nurse}
	task["executionPeriod"] = map[string]any{"end": "2026-11-20T11:45:00-05:00"}
	task["output"] = []any{
		map[string]any{"type": evidence("determination"), "valueCodeableConcept": map[string]any{"coding": []any{
			map[string]any{"system": "https://codesystem.x12.org/005010/306", "code": "A1", "display": "Certified in total"}}}},
		map[string]any{"type": evidence("determination-note"), "valueString": note},
	}
	done := c.Put("Task/"+task["id"].(string), task).MustStatus(t, http.StatusOK).Resource(t)
	value := idValue(task, l.system)

	responses := func() []json.RawMessage {
		raws, _ := c.SearchAll(harness.Query("ClaimResponse", "identifier", "https://utilreview.dev/fhir/identifier/determination|"+value), 5)
		return raws
	}
	harness.Eventually(t, 120*time.Second, time.Second, "the determination's ClaimResponse", func() (bool, error) {
		n := len(responses())
		return n == 1, fmt.Errorf("%d ClaimResponses", n)
	})
	raw := responses()[0]
	fhirtest.ValidateSchema(t, raw)
	var cr map[string]any
	if err := json.Unmarshal(raw, &cr); err != nil {
		t.Fatal(err)
	}
	if ins, _ := cr["insurer"].(map[string]any); ins["reference"] != "Organization/acme-"+sfx {
		t.Errorf("insurer %v, want the stay's payer Organization/acme-%s", cr["insurer"], sfx)
	}
	req, _ := cr["request"].(map[string]any)
	claim := c.Get(req["reference"].(string)).MustStatus(t, http.StatusOK).Resource(t)
	if claim["use"] != "preauthorization" {
		t.Errorf("request %v is not the preauthorization Claim", req)
	}
	if n := metricWith(t, base, "utilreview_determinations_total", `outcome="recorded"`); n != 1 {
		t.Errorf("utilreview_determinations_total{outcome=\"recorded\"} = %v, want 1", n)
	}

	// The completion's notification again, three times: nothing more.
	body, _ := json.Marshal(done)
	for i := 0; i < 3; i++ {
		notify(t, base, l.env["UTILREVIEW_WEBHOOK_SECRET"], body)
	}
	time.Sleep(5 * time.Second)
	if raws := responses(); len(raws) != 1 || !strings.Contains(string(raws[0]), `"versionId":"1"`) {
		t.Errorf("after replays: %d ClaimResponses (%.200s); want 1 at version 1", len(raws), raws)
	}
	if n := metricWith(t, base, "utilreview_determinations_total", ""); n != 1 {
		t.Errorf("utilreview_determinations_total = %v after replays, want 1", n)
	}
	if strings.Contains(log.String(), note) {
		t.Error("the clinician's note is in the service log")
	}
}
