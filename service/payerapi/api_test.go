package payerapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/utilreview/utilreview/fhir"
	"github.com/utilreview/utilreview/fhir/fhirtest"
	"github.com/utilreview/utilreview/service/determination"
	"github.com/utilreview/utilreview/service/payerapi/payerapitest"
	"github.com/utilreview/utilreview/service/payerauth"
)

// careless is a FHIR server that ignores every search parameter: it
// answers all it holds. The payer API must still show a payer only its own.
type careless struct {
	resources []json.RawMessage
	paths     []string
}

func (c *careless) Base() string { return "http://fhir.example/fhir" }

func (c *careless) Do(_ context.Context, _, path string, _ []byte, _ http.Header) (*fhir.Response, error) {
	c.paths = append(c.paths, path)
	type entry struct {
		Resource json.RawMessage `json:"resource"`
	}
	b := struct {
		ResourceType string  `json:"resourceType"`
		Type         string  `json:"type"`
		Total        int     `json:"total"`
		Entry        []entry `json:"entry"`
	}{ResourceType: "Bundle", Type: "searchset", Total: len(c.resources)}
	for _, r := range c.resources {
		b.Entry = append(b.Entry, entry{r})
	}
	body, _ := json.Marshal(b)
	return &fhir.Response{Status: 200, Body: body}, nil
}

func carelessAPI(t *testing.T) (*API, *careless, payerauth.Identifier) {
	t.Helper()
	a := payerauth.Identifier{System: payerapitest.PayerSystem, Value: "A"}
	b := payerauth.Identifier{System: payerapitest.PayerSystem, Value: "B"}
	mk := func(id string, payer payerauth.Identifier, system string) json.RawMessage {
		raw, _ := json.Marshal(payerapitest.ClaimResponse(payerapitest.Determination{ID: id, Identifier: id},
			payerapitest.Spec{Payer: payer, System: system}, "Patient/p", "Organization/o"))
		return raw
	}
	noInsurerID, _ := json.Marshal(map[string]any{"resourceType": "ClaimResponse", "id": "a-no-insurer-identifier",
		"identifier": []any{map[string]any{"system": payerapitest.DeterminationSystem, "value": "x"}}, "insurer": map[string]any{"reference": "Organization/o"}})
	srv := &careless{resources: []json.RawMessage{
		mk("a-1", a, payerapitest.DeterminationSystem),
		mk("b-1", b, payerapitest.DeterminationSystem),
		mk("a-other-system", a, "urn:example:other"),
		noInsurerID,
		json.RawMessage(`{"resourceType":"Patient","id":"a-1"}`),
		mk("a-2", a, payerapitest.DeterminationSystem),
	}}
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // never reached: no paging links
	t.Cleanup(func() { _ = rdb.Close() })
	api, err := New(Config{PublicURL: "https://ur.example.org", DeterminationSystem: payerapitest.DeterminationSystem}, srv, rdb)
	if err != nil {
		t.Fatal(err)
	}
	return api, srv, a
}

// TestPayerCheckOnAnswers: a FHIR server that ignored the payer filter still
// shows a payer none of another payer's determinations, nor ClaimResponses
// that are not determinations, by search or by id (issue 9 §3: "a payer can
// never see another payer's determination").
func TestPayerCheckOnAnswers(t *testing.T) {
	api, srv, a := carelessAPI(t)
	ctx := context.Background()
	q, err := ParseSearch(url.Values{"identifier": {"x"}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := api.Search(ctx, a, q)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.IDs, []string{"a-1", "a-2"}) {
		t.Errorf("ids %v, want [a-1 a-2]", p.IDs)
	}
	var b struct {
		Total *int `json:"total"`
	}
	_ = json.Unmarshal(p.Bundle, &b)
	if b.Total != nil {
		t.Errorf("total %d passed through although entries were left out", *b.Total)
	}
	// The filter was asked for all the same.
	sent, _ := url.Parse(srv.paths[0])
	tagSystem, tagCode := determination.PayerTag(payerapitest.DeterminationSystem, a.System, a.Value)
	if got := sent.Query()["_tag"]; !slices.Equal(got, []string{tagSystem + "|" + tagCode}) ||
		!slices.Contains(sent.Query()["identifier"], payerapitest.DeterminationSystem+"|") || !slices.Contains(sent.Query()["identifier"], "x") {
		t.Errorf("upstream query %s", srv.paths[0])
	}
	for id, want := range map[string]bool{"a-1": true, "a-2": true, "b-1": false, "a-other-system": false, "a-no-insurer-identifier": false} {
		_, err := api.Read(ctx, a, id)
		if want != (err == nil) {
			t.Errorf("read %s: %v, want found=%v", id, err, want)
		}
	}
	if _, err := api.Read(ctx, payerauth.Identifier{}, "a-1"); err != ErrNotFound {
		t.Errorf("a principal without a payer read: %v", err)
	}
}

// TestPayerAPIResourcesConform: the CapabilityStatement and the searchset
// Bundle pass the R4 JSON schema and the conformance check.
func TestPayerAPIResourcesConform(t *testing.T) {
	api, _, a := carelessAPI(t)
	// The R4 JSON schema (of the 4.0.0 build) lists fhirVersion codes up to
	// 4.0.0; R4's published version is 4.0.1, what HAPI 8.8 answers too.
	cs := api.Capability()
	if !bytes.Contains(cs, []byte(`"fhirVersion":"4.0.1"`)) {
		t.Fatalf("fhirVersion is not 4.0.1: %s", cs)
	}
	fhirtest.Conform(t, bytes.Replace(cs, []byte(`"fhirVersion":"4.0.1"`), []byte(`"fhirVersion":"4.0.0"`), 1))
	q, _ := ParseSearch(url.Values{})
	p, err := api.Search(context.Background(), a, q)
	if err != nil {
		t.Fatal(err)
	}
	fhirtest.Conform(t, p.Bundle)
}
