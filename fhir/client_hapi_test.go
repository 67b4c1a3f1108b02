package fhir_test

// Against the real HAPI FHIR server of the harness (skipped without one; see
// docs/dev-environment.md). An external test package, so that e2e/harness may
// import fhir some day without a cycle.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/utilreview/utilreview/e2e/harness"
	"github.com/utilreview/utilreview/fhir"
)

const identifierSystem = "https://utilreview.example/fhir/test-client"

// countingTransport counts the requests that go out.
type countingTransport struct{ n atomic.Int32 }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

func hapiClient(t *testing.T) (*fhir.Client, *countingTransport) {
	t.Helper()
	base := harness.FHIRURL(t)
	ct := &countingTransport{}
	c, err := fhir.NewClient(fhir.ClientConfig{BaseURL: base, Transport: ct, Timeout: 120 * time.Second, MaxAttempts: 3})
	if err != nil {
		t.Fatal(err)
	}
	return c, ct
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// basic is a Basic resource with the test's tag and one identifier.
func basic(tag harness.Tag, value string) map[string]any {
	return map[string]any{
		"resourceType": "Basic",
		"meta":         map[string]any{"tag": []harness.Tag{tag}},
		"identifier":   []map[string]any{{"system": identifierSystem, "value": value}},
		"code":         map[string]any{"coding": []map[string]any{{"system": "http://terminology.hl7.org/CodeSystem/basic-resource-type", "code": "adminact"}}},
	}
}

func resourceID(t *testing.T, body []byte) (id, version string) {
	t.Helper()
	var r struct {
		ID   string `json:"id"`
		Meta struct {
			VersionID string `json:"versionId"`
		} `json:"meta"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("decode resource: %v", err)
	}
	return r.ID, r.Meta.VersionID
}

func TestHAPICreateReadUpdateDelete(t *testing.T) {
	t.Parallel()
	c, _ := hapiClient(t)
	ctx := context.Background()
	tag := harness.UniqueTag(t)
	res := basic(tag, harness.UniqueID("crud"))

	created, err := c.Create(ctx, "Basic", mustJSON(t, res), "")
	if err != nil {
		t.Fatal(err)
	}
	id, _ := resourceID(t, created.Body)
	if created.Status != http.StatusCreated || created.VersionID != "1" || !strings.Contains(created.Location, "/Basic/"+id+"/_history/1") {
		t.Fatalf("create: status %d, version %q, location %q", created.Status, created.VersionID, created.Location)
	}
	read, err := c.Read(ctx, "Basic", id)
	if err != nil {
		t.Fatal(err)
	}
	if gotID, v := resourceID(t, read.Body); gotID != id || v != "1" || read.VersionID != "1" {
		t.Errorf("read: id %q version %q (ETag %q), want %q version 1", gotID, v, read.VersionID, id)
	}

	res["id"] = id
	res["code"].(map[string]any)["text"] = "changed"
	updated, err := c.Update(ctx, "Basic", id, mustJSON(t, res), "1")
	if err != nil {
		t.Fatal(err)
	}
	if updated.VersionID != "2" {
		t.Errorf("update: version %q, want 2", updated.VersionID)
	}
	// Version 1 is stale now: HAPI answers 409 (not 412).
	_, err = c.Update(ctx, "Basic", id, mustJSON(t, res), "1")
	if !fhir.IsStatus(err, http.StatusConflict) {
		t.Fatalf("update with a stale If-Match: got %v, want 409", err)
	}
	var fe *fhir.Error
	if errors.As(err, &fe); fe.Op != "update" || fe.Path != "Basic/"+id || len(fe.Issues) == 0 {
		t.Errorf("stale update error %+v", fe)
	}
	t.Logf("stale If-Match: %v", err)

	if _, err := c.Delete(ctx, "Basic", id); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(ctx, "Basic", id); !fhir.IsStatus(err, http.StatusGone) {
		t.Errorf("read after delete: got %v, want 410", err)
	}
}

func TestHAPIConditionalCreate(t *testing.T) {
	t.Parallel()
	c, _ := hapiClient(t)
	ctx := context.Background()
	tag := harness.UniqueTag(t)
	value := harness.UniqueID("cond")
	body := mustJSON(t, basic(tag, value))
	query := "identifier=" + identifierSystem + "|" + value // unescaped on purpose: the client escapes it

	first, err := c.Create(ctx, "Basic", body, query)
	if err != nil {
		t.Fatal(err)
	}
	second, err := c.Create(ctx, "Basic", body, query)
	if err != nil {
		t.Fatal(err)
	}
	id1, _ := resourceID(t, first.Body)
	id2, _ := resourceID(t, second.Body)
	if first.Status != http.StatusCreated || second.Status != http.StatusOK || id1 == "" || id1 != id2 {
		t.Errorf("conditional create twice: %d %q then %d %q; want 201 then 200 with the same id", first.Status, id1, second.Status, id2)
	}
	var ids []string
	err = c.Search(ctx, "Basic", url.Values{"identifier": {identifierSystem + "|" + value}}, func(e fhir.Entry) error {
		id, _ := resourceID(t, e.Resource)
		ids = append(ids, id)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 1 || ids[0] != id1 {
		t.Errorf("search by identifier found %v, want only %s", ids, id1)
	}
}

func TestHAPITransactionAndBatchWithInclude(t *testing.T) {
	t.Parallel()
	c, _ := hapiClient(t)
	ctx := context.Background()
	tag := harness.UniqueTag(t)
	meta := map[string]any{"tag": []harness.Tag{tag}}
	orgValue, patValue := harness.UniqueID("org"), harness.UniqueID("pat")
	entry := func(fullURL string, res map[string]any, ifNoneExist string) map[string]any {
		req := map[string]any{"method": "POST", "url": res["resourceType"]}
		if ifNoneExist != "" {
			req["ifNoneExist"] = ifNoneExist
		}
		return map[string]any{"fullUrl": fullURL, "resource": res, "request": req}
	}
	tx := map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": []any{
		entry("urn:uuid:7f000001-0000-4000-8000-000000000001", map[string]any{
			"resourceType": "Organization", "meta": meta, "name": "Test payer",
			"identifier": []map[string]any{{"system": identifierSystem, "value": orgValue}},
		}, "identifier="+url.QueryEscape(identifierSystem+"|"+orgValue)),
		entry("urn:uuid:7f000001-0000-4000-8000-000000000002", map[string]any{
			"resourceType": "Patient", "meta": meta,
			"identifier": []map[string]any{{"system": identifierSystem, "value": patValue}},
		}, "identifier="+url.QueryEscape(identifierSystem+"|"+patValue)),
		entry("urn:uuid:7f000001-0000-4000-8000-000000000003", map[string]any{
			"resourceType": "Coverage", "meta": meta, "status": "active",
			"beneficiary": map[string]any{"reference": "urn:uuid:7f000001-0000-4000-8000-000000000002"},
			"payor":       []map[string]any{{"reference": "urn:uuid:7f000001-0000-4000-8000-000000000001"}},
		}, ""),
	}}
	entries, err := c.Transaction(ctx, mustJSON(t, tx))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 3 {
		t.Fatalf("transaction: %d entries, want 3", len(entries))
	}
	refs := make([]fhir.Ref, 3)
	for i, e := range entries {
		ref, ok := fhir.ParseReference(e.Response.Location)
		if e.Response.Status != http.StatusCreated || !ok {
			t.Fatalf("transaction entry %d: status %d, location %q", i, e.Response.Status, e.Response.Location)
		}
		refs[i] = ref
	}
	patient := refs[1].Relative()

	batch := map[string]any{"resourceType": "Bundle", "type": "batch", "entry": []any{
		map[string]any{"request": map[string]any{"method": "GET", "url": "Coverage?" + url.Values{
			"beneficiary": {patient}, "_include": {"Coverage:payor"},
		}.Encode()}},
		map[string]any{"request": map[string]any{"method": "GET", "url": "Patient?" + url.Values{"_tag": {tag.Param()}}.Encode()}},
		map[string]any{"request": map[string]any{"method": "GET", "url": "Patient/does-not-exist-" + tag.Code}},
	}}
	results, err := c.Batch(ctx, mustJSON(t, batch))
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 3 {
		t.Fatalf("batch: %d entries, want 3", len(results))
	}
	var got []string
	for i, r := range results[:2] {
		if r.Response.Status != http.StatusOK {
			t.Fatalf("batch entry %d: status %d", i, r.Response.Status)
		}
		err := c.SearchPages(ctx, r.Resource, func(e fhir.Entry) error {
			got = append(got, fmt.Sprintf("%d %s %s", i, e.Mode, fhir.RelativeRef(e.FullURL)))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	want := fmt.Sprintf("[0 match %s 0 include %s 1 match %s]", refs[2].Relative(), refs[0].Relative(), patient)
	if fmt.Sprint(got) != want {
		t.Errorf("batch searches found %v, want %s", got, want)
	}
	if r := results[2].Response; r.Status != http.StatusNotFound || r.Outcome == nil || len(r.Outcome.Issues) == 0 {
		t.Errorf("batch read of a missing Patient: %+v, want 404 with an outcome", r)
	}

	// The same transaction again: the conditional creates match, the
	// Coverage (unconditional) is created again; nothing fails.
	again, err := c.Transaction(ctx, mustJSON(t, tx))
	if err != nil {
		t.Fatal(err)
	}
	if again[0].Response.Status != http.StatusOK || fhir.RelativeRef(again[0].Response.Location) != refs[0].Relative() {
		t.Errorf("repeated conditional create in a transaction: %+v, want 200 at %s", again[0].Response, refs[0].Relative())
	}
}

func TestHAPISearchPaging(t *testing.T) {
	t.Parallel()
	c, requests := hapiClient(t)
	ctx := context.Background()
	tag := harness.UniqueTag(t)
	var entries []any
	for i := range 5 {
		entries = append(entries, map[string]any{
			"resource": basic(tag, harness.UniqueID(fmt.Sprintf("page%d", i))),
			"request":  map[string]any{"method": "POST", "url": "Basic"},
		})
	}
	if _, err := c.Transaction(ctx, mustJSON(t, map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": entries})); err != nil {
		t.Fatal(err)
	}
	before := requests.n.Load()
	seen := map[string]bool{}
	err := c.Search(ctx, "Basic", url.Values{"_tag": {tag.Param()}, "_count": {"2"}}, func(e fhir.Entry) error {
		if e.Mode != "match" {
			t.Errorf("entry mode %q", e.Mode)
		}
		id, _ := resourceID(t, e.Resource)
		if seen[id] {
			t.Errorf("Basic/%s on two pages", id)
		}
		seen[id] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 5 {
		t.Errorf("found %d resources, want 5", len(seen))
	}
	if pages := requests.n.Load() - before; pages != 3 {
		t.Errorf("%d requests, want 3 pages of at most 2", pages)
	}
}

func TestHAPIValidationError(t *testing.T) {
	t.Parallel()
	c, requests := hapiClient(t)
	tag := harness.UniqueTag(t)
	// A Task without status and with a priority outside its value set: the
	// server quotes values in diagnostics; Error() must show none of them.
	task := map[string]any{"resourceType": "Task", "intent": "order", "meta": map[string]any{"tag": []harness.Tag{tag}},
		"description": "Zebulon-Quixote-7731", "priority": "Zebulon-Quixote-7731"}
	_, err := c.Create(context.Background(), "Task", mustJSON(t, task), "")
	var fe *fhir.Error
	if !errors.As(err, &fe) || fe.Status != http.StatusUnprocessableEntity {
		t.Fatalf("got %v, want a 422 *fhir.Error", err)
	}
	if n := requests.n.Load(); n != 1 {
		t.Errorf("%d requests, want 1 (422 is not retried)", n)
	}
	var errorIssues int
	var diagnostics []string
	for _, is := range fe.Issues {
		if is.Severity == "error" {
			errorIssues++
		}
		if is.Diagnostics != "" {
			diagnostics = append(diagnostics, is.Diagnostics)
		}
	}
	if errorIssues == 0 || len(diagnostics) == 0 {
		t.Fatalf("issues %+v: want error issues with diagnostics", fe.Issues)
	}
	text := err.Error()
	for _, d := range diagnostics {
		if strings.Contains(text, d) {
			t.Errorf("Error() = %q contains the diagnostics %q", text, d)
		}
	}
	if strings.Contains(text, "Zebulon") {
		t.Errorf("Error() = %q contains a resource value", text)
	}
	if !strings.Contains(text, "422") || !strings.Contains(text, "error ") {
		t.Errorf("Error() = %q lacks the status or the issues", text)
	}
	t.Logf("validation error: %v", err)
}
