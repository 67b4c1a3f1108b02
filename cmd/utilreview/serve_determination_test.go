package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/utilreview/utilreview/e2e/harness"
	"github.com/utilreview/utilreview/fhir/fhirtest"
)

// TestServeRecordsDetermination: the whole loop through `serve`, from the
// clinician to the payer (issue 9's proof). A UR nurse (one of
// UTILREVIEW_REVIEWERS) completes the admission review Task of a stay in
// progress on HAPI; the Task subscription has the patient reviewed and the
// determination appears as a ClaimResponse (with the preauthorization
// Claim the stay lacked), counted as recorded. The same notification
// delivered again (HAPI's retries, replays) writes nothing more, and the
// clinician's note never reaches the log. Then the stay's payer (Acme)
// reads it through the payer API by id, by search and through $export with
// a SMART Backend Services token, and another payer (Capital) sees none of
// it: 404 by id, an empty search, 404 on Acme's export status and file.
func TestServeRecordsDetermination(t *testing.T) {
	t.Parallel()
	l := newLiveEnv(t, "2026-11-20T12:00:00-05:00")
	c := harness.NewFHIR(t)
	nurse := "Practitioner/" + c.Create(map[string]any{"resourceType": "Practitioner", "name": []any{map[string]any{"family": "Reviewer"}}})
	l.env["UTILREVIEW_REVIEWERS"] = nurse
	// Acme's identifier as its rule set matches it (commercial-acme.yaml);
	// Capital's likewise (commercial-capital.yaml).
	acme := newPayerClient(t, "acme-portal", "http://example.org/fhir/sid/payer-id", "ACME01")
	capital := newPayerClient(t, "capital-portal", "http://hl7.org/fhir/sid/us-npi", "1234567893")
	l.env["UTILREVIEW_PAYER_CLIENTS_FILE"] = writePayerClients(t, []string{"system/ClaimResponse.rs"}, acme, capital)
	started := time.Now().UTC().Add(-time.Second)
	base, log := l.start(t, "")
	task, sfx := admissionReviewTask(t, c, l)
	const note = "Meets inpatient criteria: telemetry"
	done := completeCertified(t, c, task, nurse, note)
	value := idValue(task, l.system)
	responses := func() []json.RawMessage { return determinationsOf(c, value) }
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

	// The payers.
	if ins, _ := cr["insurer"].(map[string]any); fmt.Sprint(ins["identifier"]) != fmt.Sprint(map[string]any{"system": acme.payer[0], "value": acme.payer[1]}) {
		t.Fatalf("insurer %v: not Acme's identifier %v, the payer API could not find it", cr["insurer"], acme.payer)
	}
	crID := cr["id"].(string)
	tokA := acme.token(t, base, base, "system/ClaimResponse.rs")
	tokB := capital.token(t, base, base, "system/ClaimResponse.rs")
	api := base + "/payer/fhir"
	if code, _, body := payerGet(t, http.MethodGet, api+"/ClaimResponse/"+crID, tokA, nil); code != http.StatusOK || !strings.Contains(string(body), value) {
		t.Errorf("Acme reads its determination: %d %.300s", code, body)
	}
	if code, _, body := payerGet(t, http.MethodGet, api+"/ClaimResponse/"+crID, tokB, nil); code != http.StatusNotFound {
		t.Errorf("Capital reads Acme's determination: %d %.300s, want 404", code, body)
	}
	if code, _, _ := payerGet(t, http.MethodGet, api+"/ClaimResponse/"+crID, "", nil); code != http.StatusUnauthorized {
		t.Errorf("no token: %d, want 401", code)
	}
	search := api + "/ClaimResponse?identifier=" + url.QueryEscape("https://utilreview.dev/fhir/identifier/determination|"+value)
	entries := func(token string) int {
		code, _, body := payerGet(t, http.MethodGet, search, token, nil)
		var b struct {
			Type  string
			Entry []any
		}
		if code != http.StatusOK || json.Unmarshal(body, &b) != nil || b.Type != "searchset" {
			t.Fatalf("search: %d %.300s", code, body)
		}
		return len(b.Entry)
	}
	if a, b := entries(tokA), entries(tokB); a != 1 || b != 0 {
		t.Errorf("search by the determination's identifier: Acme %d, Capital %d; want 1 and 0", a, b)
	}
	if code, _, _ := payerGet(t, http.MethodGet, search, acme.token(t, base, base, "system/ClaimResponse.r"), nil); code != http.StatusForbidden {
		t.Errorf("search with a read-only token: %d, want 403", code)
	}

	// $export since the test began: Acme's file holds the determination;
	// Capital gets 404 on Acme's status and file URLs.
	code, hdr, body := payerGet(t, http.MethodGet, api+"/$export?_type=ClaimResponse&_since="+url.QueryEscape(started.Format(time.RFC3339)), tokA,
		map[string]string{"Prefer": "respond-async", "Accept": "application/fhir+json"})
	status := hdr.Get("Content-Location")
	if code != http.StatusAccepted || status == "" {
		t.Fatalf("$export kick-off: %d %v %s", code, hdr, body)
	}
	var m struct {
		RequiresAccessToken bool `json:"requiresAccessToken"`
		Output              []struct{ URL string }
	}
	harness.Eventually(t, 60*time.Second, 250*time.Millisecond, "Acme's export complete", func() (bool, error) {
		code, _, body := payerGet(t, http.MethodGet, status, tokA, nil)
		if code == http.StatusOK {
			return true, json.Unmarshal(body, &m)
		}
		return false, fmt.Errorf("status %d %.200s", code, body)
	})
	if !m.RequiresAccessToken || len(m.Output) == 0 {
		t.Fatalf("manifest %+v", m)
	}
	found := false
	for _, o := range m.Output {
		code, _, body := payerGet(t, http.MethodGet, o.URL, tokA, nil)
		if code != http.StatusOK {
			t.Fatalf("Acme's export file %s: %d", o.URL, code)
		}
		found = found || strings.Contains(string(body), `"id":"`+crID+`"`)
		if code, _, _ := payerGet(t, http.MethodGet, o.URL, tokB, nil); code != http.StatusNotFound {
			t.Errorf("Capital reads Acme's export file: %d, want 404", code)
		}
	}
	if !found {
		t.Error("Acme's export does not hold the determination")
	}
	if code, _, _ := payerGet(t, http.MethodGet, status, tokB, nil); code != http.StatusNotFound {
		t.Errorf("Capital polls Acme's export: %d, want 404", code)
	}

	// One audit line per access, naming what was answered: Acme's read
	// lists the determination, Capital's lists nothing.
	reads := map[string]string{}
	for line := range strings.Lines(log.String()) {
		if strings.Contains(line, `"msg":"payer access"`) {
			t.Errorf("a second audit line for one access: %s", line)
		}
		if strings.Contains(line, `"msg":"payer audit"`) && strings.Contains(line, `"operation":"read"`) {
			for _, client := range []string{"acme-portal", "capital-portal"} {
				if strings.Contains(line, `"client_id":"`+client+`"`) {
					reads[client] = line
				}
			}
		}
	}
	if !strings.Contains(reads["acme-portal"], `"resources":["ClaimResponse/`+crID+`"]`) || !strings.Contains(reads["capital-portal"], `"resources":null`) {
		t.Errorf("the reads' audit lines:\n%s\n%s", reads["acme-portal"], reads["capital-portal"])
	}
}

// admissionReviewTask writes the UR scenarios under the test's tag and
// returns the admission-review Task the service writes for stay e6 (in
// progress) and the scenarios' id suffix.
func admissionReviewTask(t *testing.T, c *harness.FHIR, l *liveEnv) (task map[string]any, sfx string) {
	t.Helper()
	suffix := harness.UniqueID("")
	st := c.PutBundle("../../testdata/examples/ur-scenarios.json", suffix[len(suffix)-8:], l.tag)
	id0 := st.Resources[0]["id"].(string)
	sfx = id0[strings.LastIndex(id0, "-")+1:]
	stay := "Encounter/e6-" + sfx
	harness.Eventually(t, 120*time.Second, time.Second, "the stay's admission-review Task", func() (bool, error) {
		var err error
		task, err = findTask(c, l.system, "admission-review", "focus", stay)
		return task != nil, err
	})
	return task, sfx
}

// completeCertified completes the Task as owner would in the EHR: status
// completed, determination A1 (certified in total) and a note. It returns
// the completed version as the server holds it.
func completeCertified(t *testing.T, c *harness.FHIR, task map[string]any, owner, note string) map[string]any {
	t.Helper()
	evidence := func(code string) map[string]any {
		return map[string]any{"coding": []any{map[string]any{"system": "https://utilreview.dev/fhir/CodeSystem/evidence-type", "code": code}}}
	}
	task["status"] = "completed"
	task["owner"] = map[string]any{"reference": owner}
	task["executionPeriod"] = map[string]any{"end": "2026-11-20T11:45:00-05:00"}
	task["output"] = []any{
		map[string]any{"type": evidence("determination"), "valueCodeableConcept": map[string]any{"coding": []any{
			map[string]any{"system": "https://codesystem.x12.org/005010/306", "code": "A1", "display": "Certified in total"}}}},
		map[string]any{"type": evidence("determination-note"), "valueString": note},
	}
	return c.Put("Task/"+task["id"].(string), task).MustStatus(t, http.StatusOK).Resource(t)
}

// determinationsOf are the ClaimResponses recording the determination on
// the Task whose utilreview identifier value is value.
func determinationsOf(c *harness.FHIR, value string) []json.RawMessage {
	raws, _ := c.SearchAll(harness.Query("ClaimResponse", "identifier", "https://utilreview.dev/fhir/identifier/determination|"+value), 5)
	return raws
}

// TestServeLateProvenanceRecordsDetermination: the determining clinician
// can be named after the completion. A clerk (outside UTILREVIEW_REVIEWERS)
// completes the admission review as its owner: nothing is recorded and a
// clinical reviewer is asked (determination-reviewer). Then the EHR writes
// a Provenance with the UR nurse as its agent: one that targets the Task's
// version before the completion changes nothing; one that targets the
// completed version does: no Task changes, yet the patient is reviewed
// again, the determination is recorded and the reviewer's Task is
// cancelled, since its finding is gone. Through the Provenance subscription alone (the catch-up
// an hour away), in rest-hook and in topic mode, and through the catch-up
// alone (subscriptions off), so each path is proven on its own.
func TestServeLateProvenanceRecordsDetermination(t *testing.T) {
	t.Parallel()
	for _, path := range []struct{ name, subscriptions, catchUp string }{
		{"subscription", "rest-hook", "1h"},
		{"topic", "topic", "1h"},
		{"catch-up", "off", "5s"},
	} {
		t.Run(path.name, func(t *testing.T) {
			t.Parallel()
			l := newLiveEnv(t, "2026-11-20T12:00:00-05:00")
			l.env["UTILREVIEW_SUBSCRIPTIONS"] = path.subscriptions
			l.env["UTILREVIEW_CATCHUP_INTERVAL"] = path.catchUp
			lateProvenance(t, l)
		})
	}
}

func lateProvenance(t *testing.T, l *liveEnv) {
	c := harness.NewFHIR(t)
	practitioner := func(family string) string {
		return "Practitioner/" + c.Create(map[string]any{"resourceType": "Practitioner", "name": []any{map[string]any{"family": family}}})
	}
	nurse, clerk := practitioner("Reviewer"), practitioner("Clerk")
	l.env["UTILREVIEW_REVIEWERS"] = nurse
	base, log := l.start(t, "")
	task, _ := admissionReviewTask(t, c, l)
	before := "Task/" + task["id"].(string) + "/_history/" + task["meta"].(map[string]any)["versionId"].(string)
	done := completeCertified(t, c, task, clerk, "entered by the unit clerk")
	value := idValue(task, l.system)
	patient := task["for"].(map[string]any)["reference"].(string)

	reviewerTask := func() (map[string]any, error) {
		return findTask(c, l.system, "determination-reviewer", "patient", patient)
	}
	harness.Eventually(t, 120*time.Second, time.Second, "a clinical reviewer asked to determine", func() (bool, error) {
		m, err := reviewerTask()
		return m != nil && m["status"] != "cancelled", err
	})
	if n := len(determinationsOf(c, value)); n != 0 {
		t.Fatalf("the clerk's completion was recorded: %d ClaimResponses", n)
	}
	if n := metricWith(t, base, "utilreview_determinations_total", `outcome="not-reviewer"`); n != 1 {
		t.Errorf("utilreview_determinations_total{outcome=\"not-reviewer\"} = %v, want 1", n)
	}

	// The start's re-review under the rules version this replica stored
	// (every patient with open work, paced) must be over first, or it
	// would be what finds the Provenance.
	harness.Eventually(t, 120*time.Second, time.Second, "the start's re-review of the patient", func() (bool, error) {
		s := log.String()
		at := strings.Index(s, `"msg":"rules: patients scheduled for re-review"`)
		return at >= 0 && strings.Contains(s[at:], `"patient":"`+patient+`"`), errors.New("not yet")
	})

	attest := func(target string) {
		c.Create(map[string]any{
			"resourceType": "Provenance",
			"target":       []any{map[string]any{"reference": target}},
			"recorded":     "2026-11-20T11:50:00-05:00",
			"agent": []any{map[string]any{
				"type": map[string]any{"coding": []any{map[string]any{"system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type", "code": "verifier"}}},
				"who":  map[string]any{"reference": nurse},
			}},
		})
	}

	// The nurse attests the Task's version before the completion: the
	// patient is reviewed again, and the clerk's completion still does not
	// count (the test server keeps a Provenance target's version, as a
	// hospital's should: see docs/fhir-server-behaviour.md).
	mark := len(log.String())
	attest(before)
	harness.Eventually(t, 120*time.Second, time.Second, "the patient reviewed after the earlier version's Provenance", func() (bool, error) {
		return strings.Contains(log.String()[mark:], `"msg":"patient reviewed","patient":"`+patient+`"`), errors.New("not yet")
	})
	if n := len(determinationsOf(c, value)); n != 0 {
		t.Fatalf("a Provenance of the version before the completion recorded the clerk's: %d ClaimResponses", n)
	}

	attest("Task/" + done["id"].(string) + "/_history/" + done["meta"].(map[string]any)["versionId"].(string))
	harness.Eventually(t, 120*time.Second, time.Second, "the determination recorded after the Provenance", func() (bool, error) {
		n := len(determinationsOf(c, value))
		return n == 1, fmt.Errorf("%d ClaimResponses", n)
	})
	harness.Eventually(t, 60*time.Second, time.Second, "the reviewer's Task cancelled", func() (bool, error) {
		m, err := reviewerTask()
		return m != nil && m["status"] == "cancelled", fmt.Errorf("status %v (%v)", m["status"], err)
	})
	if n := metricWith(t, base, "utilreview_determinations_total", `outcome="recorded"`); n != 1 {
		t.Errorf("utilreview_determinations_total{outcome=\"recorded\"} = %v, want 1", n)
	}
	if after, _ := c.Get("Task/"+done["id"].(string)).MustStatus(t, http.StatusOK).Resource(t)["meta"].(map[string]any); after["versionId"] != done["meta"].(map[string]any)["versionId"] {
		t.Errorf("the completed Task was written to: version %v, completed as %v", after["versionId"], done["meta"])
	}
}
