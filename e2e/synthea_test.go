package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/utilreview/utilreview/e2e/harness"
)

// A Synthea patient bundle loads as one transaction, and every resource is found again by a _lastUpdated
// search that pages through several pages: the catch-up search utilreview runs for notifications it missed.
func TestSyntheaBundleLoadsAndPagesByLastUpdated(t *testing.T) {
	t.Parallel()
	c := harness.NewFHIR(t)

	raw, err := os.ReadFile("testdata/synthea-buster-hoeger.json")
	if err != nil {
		t.Fatal(err)
	}
	var bundle map[string]any
	if err := json.Unmarshal(raw, &bundle); err != nil {
		t.Fatal(err)
	}
	// Tag every resource so the searches count this test's resources only; the server is shared.
	tag := harness.UniqueTag(t)
	perType := map[string]int{}
	entries := bundle["entry"].([]any)
	for _, e := range entries {
		res := e.(map[string]any)["resource"].(map[string]any)
		meta, _ := res["meta"].(map[string]any)
		if meta == nil {
			meta = map[string]any{}
			res["meta"] = meta
		}
		tags, _ := meta["tag"].([]any)
		meta["tag"] = append(tags, tag)
		perType[res["resourceType"].(string)]++
	}

	// The server stamps lastUpdated with its own clock, which is this machine's; a second of slack covers
	// truncation to milliseconds.
	since := time.Now().UTC().Add(-time.Second).Format("2006-01-02T15:04:05.000Z")
	start := time.Now()
	resp := c.Transaction(bundle)
	t.Logf("transaction of %d entries (with request validation) took %s", len(entries), time.Since(start).Round(time.Millisecond))

	var out harness.Bundle
	resp.Decode(t, &out)
	if out.Type != "transaction-response" || len(out.Entry) != len(entries) {
		t.Fatalf("got %s with %d entries, want transaction-response with %d", out.Type, len(out.Entry), len(entries))
	}
	for i, e := range out.Entry {
		if e.Response == nil || !strings.HasPrefix(e.Response.Status, "201") {
			t.Fatalf("entry %d: got response %+v, want 201 Created", i, e.Response)
		}
	}

	// HAPI has no system-wide search ("[base]?_lastUpdated=" answers 400), so a catch-up searches type by
	// type. Every resource of the bundle is found, 10 a page, the Observations over 4 pages.
	total, maxPages := 0, 0
	for rt, want := range perType {
		got, pages := c.SearchAll(harness.Query(rt, "_lastUpdated", "ge"+since, "_tag", tag.Param(), "_count", "10"), 50)
		if len(got) != want {
			t.Errorf("%s search by _lastUpdated: got %d, want %d", rt, len(got), want)
		}
		if wantPages := (want + 9) / 10; pages != wantPages {
			t.Errorf("%s search: got %d pages, want %d", rt, pages, wantPages)
		}
		ids := map[string]bool{}
		for _, r := range got {
			var res struct {
				ResourceType string `json:"resourceType"`
				ID           string `json:"id"`
			}
			if err := json.Unmarshal(r, &res); err != nil || res.ResourceType != rt {
				t.Fatalf("%s search: entry %.200s", rt, r)
			}
			if ids[res.ID] {
				t.Errorf("%s search: %s on two pages", rt, res.ID)
			}
			ids[res.ID] = true
		}
		total += len(got)
		maxPages = max(maxPages, pages)
	}
	if total != len(entries) {
		t.Errorf("all types: got %d resources, want %d", total, len(entries))
	}
	if maxPages < 3 {
		t.Errorf("got at most %d pages, want a search over at least 3", maxPages)
	}
	t.Logf("_lastUpdated=ge%s: %d resources of %d types found, up to %d pages of 10", since, total, len(perType), maxPages)

	if r := c.Get(harness.Query("", "_lastUpdated", "ge"+since)); r.Status != http.StatusBadRequest {
		t.Errorf("system-wide search: got status %d, want 400 (HAPI has none)", r.Status)
	}

	// The lower bound really bounds: nothing of this test's was updated before the load.
	before := c.Get(harness.Query("Encounter", "_lastUpdated", "lt"+since, "_tag", tag.Param(), "_summary", "count"))
	var count harness.Bundle
	before.MustStatus(t, http.StatusOK).Decode(t, &count)
	if count.Total == nil || *count.Total != 0 {
		t.Errorf("Encounter _lastUpdated=lt%s: got total %v, want 0", since, count.Total)
	}

	// Without the tag, the same search is what a catch-up really sends: it returns at least this test's
	// Encounters (other tests share the server).
	got, _ := c.SearchAll(harness.Query("Encounter", "_lastUpdated", "ge"+since, "_count", "50"), 200)
	if len(got) < perType["Encounter"] {
		t.Errorf("untagged Encounter search: got %d, want at least %d", len(got), perType["Encounter"])
	}
}
