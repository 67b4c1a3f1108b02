package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/utilreview/utilreview/e2e/harness"
	"github.com/utilreview/utilreview/service/checks"
	"github.com/utilreview/utilreview/service/review"
	"github.com/utilreview/utilreview/service/rules"
	"github.com/utilreview/utilreview/service/worklist"
)

// The worklist Bundle `utilreview review --format fhir` writes is posted to a
// real FHIR server that holds the reviewed resources: HAPI's validator
// accepts every Task, CommunicationRequest and CodeSystem in it, the
// references resolve, and posting it again creates nothing new.
func TestWorklistBundlePostsToHAPI(t *testing.T) {
	c := harness.NewFHIR(t)
	const input = "../testdata/examples/ur-scenarios.json"

	// The example resources, stored under their own ids (PUT), as an EHR holds them.
	data, err := os.ReadFile(input)
	if err != nil {
		t.Fatal(err)
	}
	var collection struct {
		Entry []struct {
			Resource map[string]any `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(data, &collection); err != nil {
		t.Fatal(err)
	}
	tx := map[string]any{"resourceType": "Bundle", "type": "transaction"}
	var entries []any
	for _, e := range collection.Entry {
		ref := e.Resource["resourceType"].(string) + "/" + e.Resource["id"].(string)
		entries = append(entries, map[string]any{"fullUrl": c.Base + "/" + ref, "resource": e.Resource, "request": map[string]any{"method": "PUT", "url": ref}})
	}
	tx["entry"] = entries
	c.Transaction(tx)

	// Review them with a fresh identifier system, so that reruns against a
	// reused server start from no Tasks.
	reg, err := rules.LoadDefaults()
	if err != nil {
		t.Fatal(err)
	}
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	system := "https://utilreview.dev/fhir/identifier/" + harness.UniqueID("e2e")
	w := worklist.New(worklist.Config{IdentifierSystem: system, Location: loc})
	asOf := time.Date(2026, 11, 20, 12, 0, 0, 0, loc)
	res, err := review.Run(context.Background(), []string{input}, review.Options{
		AsOf: asOf, Location: loc, Rules: reg, Writer: w,
		Checks: checks.Config{Location: loc, IdentifierSystem: system},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) < 20 {
		t.Fatalf("got %d findings from the examples, want at least 20", len(res.Findings))
	}
	wantCR := 0
	for _, f := range res.Findings {
		if f.Communication != nil {
			wantCR++
		}
	}
	b, err := w.TransactionBundle(res.Findings, asOf, true)
	if err != nil {
		t.Fatal(err)
	}

	post := func() map[string]int {
		var resp harness.Bundle
		r := c.Post("", b, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("posting the worklist Bundle: status %d; body starts %.2000s", r.Status, r.Body)
		}
		r.Decode(t, &resp)
		statuses := map[string]int{}
		for _, e := range resp.Entry {
			if e.Response == nil {
				t.Fatal("transaction response entry without response")
			}
			statuses[strings.Fields(e.Response.Status)[0]]++
		}
		return statuses
	}
	first := post()
	if first["201"] < len(res.Findings)+wantCR {
		t.Errorf("first post: statuses %v, want at least %d created (Tasks and CommunicationRequests)", first, len(res.Findings)+wantCR)
	}
	second := post()
	if second["201"] != 0 {
		t.Errorf("second post created %d resources, want none (conditional creates on the identifier): %v", second["201"], second)
	}
	n := countBySystem(t, c, "Task", system)
	if n != len(res.Findings) {
		t.Errorf("server holds %d Tasks with the identifier system, want one per finding (%d)", n, len(res.Findings))
	}
	if m := countBySystem(t, c, "CommunicationRequest", system); m != wantCR {
		t.Errorf("server holds %d CommunicationRequests, want %d", m, wantCR)
	}
}

// countBySystem counts resources of a type whose identifier is in system,
// searching by each identifier the worklist wrote.
func countBySystem(t *testing.T, c *harness.FHIR, resourceType, system string) int {
	t.Helper()
	resources, _ := c.SearchAll(harness.Query(resourceType, "_count", "200", "_lastUpdated", "ge"+time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)), 50)
	n := 0
	for _, raw := range resources {
		var r struct {
			Identifier []struct{ System, Value string } `json:"identifier"`
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			t.Fatal(err)
		}
		for _, id := range r.Identifier {
			if id.System == system {
				n++
				break
			}
		}
	}
	return n
}
