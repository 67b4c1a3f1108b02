package live_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/utilreview/utilreview/e2e/harness"
	"github.com/utilreview/utilreview/fhir/fhirtest"
	"github.com/utilreview/utilreview/service/checks"
	"github.com/utilreview/utilreview/service/determination"
	"github.com/utilreview/utilreview/service/live"
	"github.com/utilreview/utilreview/service/payerapi"
	"github.com/utilreview/utilreview/service/payerauth"
)

// TestDeterminationRecordedOnHAPI is the recording loop on a real FHIR
// server: a UR nurse completes the admission review Task with a
// determination; processing writes a Da Vinci PAS-shaped ClaimResponse and,
// the stay having no claim yet, the preauthorization Claim it answers, both
// passing the R4 JSON schema, the conformance check and HAPI's $validate.
// Replaying the processing writes nothing; a changed determination is a
// second version (_history keeps the first); a completion by someone
// outside the reviewers is not recorded and opens a Task for a reviewer;
// payer A reads the recorded determination through the payer API by id and
// by search, payer B does not; and a not-certified determination (A3) under
// Medicaid opens the peer-to-peer/appeal Task and the written-notice Task.
func TestDeterminationRecordedOnHAPI(t *testing.T) {
	t.Parallel()
	s := newSetup(t)
	id := harness.UniqueID("det")
	ref := func(typ string) string { return typ + "/" + typ[:3] + "-" + id }
	resources := []map[string]any{
		{"resourceType": "Patient", "id": "Pat-" + id, "name": []any{map[string]any{"family": "Example"}}},
		{"resourceType": "Organization", "id": "Org-" + id, "name": "Example State Medicaid",
			"identifier": []any{map[string]any{"system": "http://example.org/fhir/sid/payer-id", "value": "EXMCD01"}}},
		{"resourceType": "Organization", "id": "Hos-" + id, "name": "General Hospital"},
		{"resourceType": "Practitioner", "id": "Pra-" + id, "name": []any{map[string]any{"family": "Nurse"}}},
		{"resourceType": "Practitioner", "id": "Cle-" + id, "name": []any{map[string]any{"family": "Clerk"}}},
		// The nurse in her UR role: a Task owned by it is the nurse's.
		{"resourceType": "PractitionerRole", "id": "Rol-" + id, "practitioner": map[string]any{"reference": "Practitioner/Pra-" + id},
			"code": []any{map[string]any{"coding": []any{map[string]any{"system": "http://example.org/roles", "code": "ur-nurse"}}}}},
		{"resourceType": "Coverage", "id": "Cov-" + id, "status": "active", "beneficiary": map[string]any{"reference": ref("Patient")},
			"payor": []any{map[string]any{"reference": "Organization/Org-" + id}}},
		{"resourceType": "Encounter", "id": "Enc-" + id, "status": "in-progress",
			"class":   map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
			"subject": map[string]any{"reference": ref("Patient")}, "period": map[string]any{"start": "2026-11-20T10:00:00-05:00"},
			"serviceProvider": map[string]any{"reference": "Organization/Hos-" + id}},
	}
	var entries []any
	for _, r := range resources {
		entries = append(entries, map[string]any{"resource": r, "fullUrl": s.c.Base + "/" + r["resourceType"].(string) + "/" + r["id"].(string),
			"request": map[string]any{"method": "PUT", "url": r["resourceType"].(string) + "/" + r["id"].(string)}})
	}
	s.c.Transaction(map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": entries})
	patient, encRef, nurse, clerk := ref("Patient"), ref("Encounter"), "Practitioner/Pra-"+id, "Practitioner/Cle-"+id

	reviewers, err := determination.ParseReviewers([]string{nurse})
	if err != nil {
		t.Fatal(err)
	}
	asOf := time.Date(2026, 11, 20, 16, 0, 0, 0, time.UTC)
	p, err := live.New(live.Config{Review: s.opt, Now: func() time.Time { return asOf }, Reviewers: reviewers}, s.client, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	review := func() {
		t.Helper()
		if _, err := p.ReviewPatient(ctx, patient); err != nil {
			t.Fatalf("review: %v", err)
		}
	}
	review()
	task := func(check string) map[string]any {
		t.Helper()
		for _, x := range s.tasksOn(encRef) {
			if taskCheck(x) == check {
				return x
			}
		}
		return nil
	}
	ar := task(checks.CheckAdmissionReview)
	if ar == nil {
		t.Fatal("no admission-review Task for the stay")
	}
	// The clinician completes it in the EHR.
	complete := func(tk map[string]any, owner string, outputs ...map[string]any) {
		t.Helper()
		tk["status"] = "completed"
		tk["owner"] = map[string]any{"reference": owner}
		tk["executionPeriod"] = map[string]any{"end": "2026-11-20T11:30:00-05:00"}
		var outs []any
		for _, o := range outputs {
			outs = append(outs, o)
		}
		tk["output"] = outs
		s.c.Put("Task/"+tk["id"].(string), tk).MustStatus(t, http.StatusOK)
	}
	out := func(code string, value map[string]any) map[string]any {
		o := map[string]any{"type": map[string]any{"coding": []any{map[string]any{
			"system": "https://utilreview.dev/fhir/CodeSystem/evidence-type", "code": code}}}}
		for k, v := range value {
			o[k] = v
		}
		return o
	}
	x12 := func(code string) map[string]any {
		return out("determination", map[string]any{"valueCodeableConcept": map[string]any{"coding": []any{map[string]any{
			"system": "https://codesystem.x12.org/005010/306", "code": code}}}})
	}
	complete(ar, nurse, x12("A1"), out("authorized-days", map[string]any{"valueInteger": 3}))
	review()

	taskValue := func(tk map[string]any) string {
		for _, x := range asSlice(tk["identifier"]) {
			if m := x.(map[string]any); m["system"] == s.system {
				return m["value"].(string)
			}
		}
		return ""
	}
	responses := func(tk map[string]any) []map[string]any {
		t.Helper()
		raws, _ := s.c.SearchAll(harness.Query("ClaimResponse", "identifier", "https://utilreview.dev/fhir/identifier/determination|"+taskValue(tk)), 5)
		var outp []map[string]any
		for _, raw := range raws {
			var m map[string]any
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatal(err)
			}
			outp = append(outp, m)
		}
		return outp
	}
	crs := responses(ar)
	if len(crs) != 1 {
		t.Fatalf("%d ClaimResponses for the completed Task, want 1", len(crs))
	}
	cr := crs[0]
	raw, _ := json.Marshal(cr)
	fhirtest.ValidateSchema(t, raw)
	fhirtest.Conform(t, raw)
	validate(t, s, "ClaimResponse", cr)
	if cr["use"] != "preauthorization" || cr["status"] != "active" || cr["created"] == nil ||
		asMap(cr["patient"])["reference"] != patient || asMap(cr["insurer"])["reference"] != "Organization/Org-"+id ||
		asMap(asMap(cr["insurer"])["identifier"])["value"] != "EXMCD01" {
		t.Errorf("ClaimResponse misses the contract's elements: %s", raw)
	}
	claimRef := asMap(cr["request"])["reference"].(string)
	claim := s.c.Get(claimRef).MustStatus(t, http.StatusOK).Resource(t)
	if claim["use"] != "preauthorization" {
		t.Errorf("the request %s has use %v, want the preauthorization Claim", claimRef, claim["use"])
	}
	rawClaim, _ := json.Marshal(claim)
	fhirtest.ValidateSchema(t, rawClaim)
	fhirtest.Conform(t, rawClaim)
	validate(t, s, "Claim", claim)
	if v := s.c.Get("Task/"+ar["id"].(string)).MustStatus(t, http.StatusOK).Resource(t); asMap(v["meta"])["versionId"] != "2" {
		t.Errorf("the completed Task is at version %v, want 2 (the clinician's; utilreview never writes it)", asMap(v["meta"])["versionId"])
	}

	// Replays write nothing.
	review()
	review()
	if crs := responses(ar); len(crs) != 1 || asMap(crs[0]["meta"])["versionId"] != "1" {
		t.Fatalf("after replays: %d ClaimResponses, version %v; want 1 at version 1", len(crs), asMap(crs[0]["meta"])["versionId"])
	}
	raws, _ := s.c.SearchAll(harness.Query("Claim", "patient", patient), 5)
	if len(raws) != 1 {
		t.Errorf("%d Claims for the patient after replays, want the one preauthorization Claim", len(raws))
	}

	// The clinician changes the determination: a new version, the first in _history.
	ar = s.c.Get("Task/"+ar["id"].(string)).MustStatus(t, http.StatusOK).Resource(t)
	complete(ar, nurse, x12("A6"), out("authorized-period", map[string]any{"valuePeriod": map[string]any{"start": "2026-11-20", "end": "2026-11-22"}}),
		out("avoidable-days", map[string]any{"valueInteger": 1}),
		out("avoidable-days-reason", map[string]any{"valueCodeableConcept": map[string]any{"coding": []any{map[string]any{
			"system": "https://utilreview.dev/fhir/CodeSystem/avoidable-days-reason", "code": "awaiting-consult"}}}}))
	review()
	crs = responses(ar)
	if len(crs) != 1 || asMap(crs[0]["meta"])["versionId"] != "2" {
		t.Fatalf("after the change: %d ClaimResponses, version %v; want 1 at version 2", len(crs), asMap(crs[0]["meta"])["versionId"])
	}
	var hist harness.Bundle
	s.c.Get("ClaimResponse/"+crs[0]["id"].(string)+"/_history").MustStatus(t, http.StatusOK).Decode(t, &hist)
	if len(hist.Entry) != 2 || !strings.Contains(string(hist.Entry[1].Resource), `"A1"`) || !strings.Contains(string(hist.Entry[0].Resource), `"A6"`) {
		t.Errorf("_history has %d versions; want the A6 over the earlier A1", len(hist.Entry))
	}
	raw, _ = json.Marshal(crs[0])
	fhirtest.ValidateSchema(t, raw)
	validate(t, s, "ClaimResponse", crs[0])

	// The recorded determination is the payer's through the payer API: read
	// by id and found by search for payer A (the Medicaid plan), absent for
	// another payer.
	payerReads(t, s, crs[0]["id"].(string), "https://utilreview.dev/fhir/identifier/determination|"+taskValue(ar))

	// Someone outside the reviewers completes another Task: not recorded;
	// a Task asks a clinical reviewer to determine.
	an := task(checks.CheckAdmissionNotification)
	if an == nil {
		t.Fatal("no admission-notification Task")
	}
	complete(an, clerk, x12("A1"))
	review()
	if n := len(responses(an)); n != 0 {
		t.Errorf("%d ClaimResponses for a non-reviewer's completion, want none", n)
	}
	rt := task(checks.CheckDeterminationReviewer)
	if rt == nil {
		t.Fatal("no determination-reviewer Task after a non-reviewer's completion")
	}
	if rt["status"] != "requested" && rt["status"] != "ready" {
		t.Errorf("the reviewer Task is %v", rt["status"])
	}
	if v := s.c.Get("Task/"+an["id"].(string)).MustStatus(t, http.StatusOK).Resource(t); v["status"] != "completed" {
		t.Errorf("the non-reviewer's Task is %v: completed is terminal, never reopened", v["status"])
	}

	// The reviewer, as the owner in her UR role (a PractitionerRole naming
	// her: the processing reads it with the Tasks), determines on that Task:
	// not certified (A3). Recorded,
	// and the peer-to-peer/appeal Task and Medicaid's written notice open.
	complete(rt, "PractitionerRole/Rol-"+id, x12("A3"), out("determination-reason", map[string]any{"valueCodeableConcept": map[string]any{"coding": []any{map[string]any{
		"system": "https://codesystem.x12.org/external/886", "code": "X1"}}}}))
	review()
	if n := len(responses(rt)); n != 1 {
		t.Errorf("%d ClaimResponses for the reviewer's A3, want 1", n)
	}
	appeal, notice := task(checks.CheckDeterminationAppeal), task(checks.CheckDeterminationNotice)
	if appeal == nil || notice == nil {
		t.Fatalf("after an A3: appeal Task %v, notice Task %v; want both", appeal != nil, notice != nil)
	}
	// 14 days of peer-to-peer window (the Medicaid example's rule data) from 2026-11-20.
	if due := asMap(asMap(appeal["restriction"])["period"])["end"]; !strings.HasPrefix(due.(string), "2026-12-04T23:59:59") {
		t.Errorf("appeal Task due %v, want the end of 2026-12-04", due)
	}
	// Two working days after Friday 2026-11-20: Monday and Tuesday.
	if due := asMap(asMap(notice["restriction"])["period"])["end"]; !strings.HasPrefix(due.(string), "2026-11-24T23:59:59") {
		t.Errorf("notice Task due %v, want the end of 2026-11-24", due)
	}
	// Converged: replays create nothing more, and the changed determination
	// stays at its second version through every later review.
	before := len(s.tasksOn(encRef))
	review()
	if after := len(s.tasksOn(encRef)); after != before {
		t.Errorf("a replay changed the Tasks from %d to %d", before, after)
	}
	if crs := responses(ar); len(crs) != 1 || asMap(crs[0]["meta"])["versionId"] != "2" {
		t.Errorf("the A6 ClaimResponse: %d, version %v after later reviews; want 1 at version 2", len(crs), asMap(crs[0]["meta"])["versionId"])
	}

	// The reviewer changes the A3 to A1 (after a peer-to-peer, say): the
	// ClaimResponse gets its second version and the appeal and notice
	// Tasks, untouched, no longer hold: cancelled.
	rt = s.c.Get("Task/"+rt["id"].(string)).MustStatus(t, http.StatusOK).Resource(t)
	complete(rt, nurse, x12("A1"))
	review()
	if crs := responses(rt); len(crs) != 1 || asMap(crs[0]["meta"])["versionId"] != "2" {
		t.Errorf("after A3 -> A1: %d ClaimResponses, version %v; want 1 at version 2", len(crs), asMap(crs[0]["meta"])["versionId"])
	}
	for _, tk := range []map[string]any{appeal, notice} {
		if v := s.c.Get("Task/"+tk["id"].(string)).MustStatus(t, http.StatusOK).Resource(t); v["status"] != "cancelled" {
			t.Errorf("%s Task is %v after the A3 became A1, want cancelled", taskCheck(v), v["status"])
		}
	}
}

// validate runs HAPI's $validate on a resource and fails on any error.
func validate(t *testing.T, s *setup, typ string, res map[string]any) {
	t.Helper()
	r := s.c.Post(typ+"/$validate", res, nil)
	var oo struct {
		Issue []struct {
			Severity    string `json:"severity"`
			Diagnostics string `json:"diagnostics"`
		} `json:"issue"`
	}
	r.Decode(t, &oo)
	for _, is := range oo.Issue {
		if is.Severity == "error" || is.Severity == "fatal" {
			t.Errorf("%s $validate: %s: %s", typ, is.Severity, is.Diagnostics)
		}
	}
	if r.Status != http.StatusOK {
		t.Errorf("%s $validate: status %d", typ, r.Status)
	}
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// payerReads checks that payer A (the test's Medicaid plan) reads the
// recorded ClaimResponse id through the payer API, by id and by a search on
// its identifier (system|value), at the version the FHIR server holds, and
// that payer B gets ErrNotFound by id and an empty search.
func payerReads(t *testing.T, s *setup, id, identifier string) {
	t.Helper()
	rdb, prefix := harness.Redis(t)
	api, err := payerapi.New(payerapi.Config{PublicURL: "https://utilreview.example", RedisPrefix: prefix,
		DeterminationSystem: "https://utilreview.dev/fhir/identifier/determination"}, s.client, rdb)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	payerA := payerauth.Identifier{System: "http://example.org/fhir/sid/payer-id", Value: "EXMCD01"}
	payerB := payerauth.Identifier{System: "http://example.org/fhir/sid/payer-id", Value: "OTHER01"}
	raw, err := api.Read(ctx, payerA, id)
	if err != nil || !strings.Contains(string(raw), `"id":"`+id+`"`) {
		t.Fatalf("payer A reading its determination %s: %v %s", id, err, raw)
	}
	if _, err := api.Read(ctx, payerB, id); !errors.Is(err, payerapi.ErrNotFound) {
		t.Errorf("payer B reading payer A's determination: %v, want ErrNotFound", err)
	}
	q, err := payerapi.ParseSearch(url.Values{"identifier": {identifier}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		payer payerauth.Identifier
		want  []string
	}{{payerA, []string{id}}, {payerB, nil}} {
		page, err := api.Search(ctx, c.payer, q)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(page.IDs, c.want) {
			t.Errorf("payer %s searching %s: %v, want %v", c.payer.Value, identifier, page.IDs, c.want)
		}
	}
}
