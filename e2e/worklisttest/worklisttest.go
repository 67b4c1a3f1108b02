// Package worklisttest compares the worklist on a FHIR server with the one
// the offline review finds over the same resources: the live service's
// central promise, checked by the tests of service/live and of `serve`.
package worklisttest

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/utilreview/utilreview/e2e/harness"
	"github.com/utilreview/utilreview/service/review"
)

// Item is what is compared of one Task or CommunicationRequest.
type Item struct {
	Status string
	Code   string // Task.code; a CommunicationRequest's reasonCode (the check)
	Focus  string // Task.focus; a CommunicationRequest's first about
	Due    time.Time
	// Version and LastUpdated are the server's (zero offline), for telling
	// whether anything was written.
	Version     string
	LastUpdated string
}

// Server is every resource of type (Task or CommunicationRequest) with an
// identifier in system, by identifier value. Two resources with one
// identifier fail the test.
func Server(t testing.TB, c *harness.FHIR, typ, system string) map[string]Item {
	t.Helper()
	raws, _ := c.SearchAll(harness.Query(typ, "identifier", system+"|", "_count", "200"), 50)
	out := map[string]Item{}
	for _, raw := range raws {
		var r struct {
			Meta struct {
				VersionID   string `json:"versionId"`
				LastUpdated string `json:"lastUpdated"`
			} `json:"meta"`
			Identifier  []struct{ System, Value string }
			Status      string
			Code        struct{ Coding []struct{ Code string } }
			ReasonCode  json.RawMessage // Task: one CodeableConcept; CommunicationRequest: a list
			Focus       struct{ Reference string }
			About       []struct{ Reference string }
			Restriction struct {
				Period struct{ End string }
			}
			OccurrenceDateTime string
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			t.Fatal(err)
		}
		var id string
		for _, x := range r.Identifier {
			if x.System == system {
				id = x.Value
			}
		}
		it := Item{Status: r.Status, Focus: r.Focus.Reference, Version: r.Meta.VersionID, LastUpdated: r.Meta.LastUpdated}
		due := r.Restriction.Period.End
		if typ == "CommunicationRequest" {
			due = r.OccurrenceDateTime
			if len(r.About) > 0 {
				it.Focus = r.About[0].Reference
			}
			var reasons []struct{ Coding []struct{ Code string } }
			if err := json.Unmarshal(r.ReasonCode, &reasons); err != nil {
				t.Fatal(err)
			}
			if len(reasons) > 0 && len(reasons[0].Coding) > 0 {
				it.Code = reasons[0].Coding[0].Code
			}
		} else if len(r.Code.Coding) > 0 {
			it.Code = r.Code.Coding[0].Code
		}
		if due != "" {
			d, err := time.Parse(time.RFC3339, due)
			if err != nil {
				t.Fatalf("%s %s: deadline %q: %v", typ, id, due, err)
			}
			it.Due = d
		}
		if _, dup := out[id]; dup {
			t.Errorf("%s identifier %s is on two resources", typ, id)
		}
		out[id] = it
	}
	return out
}

// Offline is what `utilreview review --as-of --since --format fhir` writes
// over files with opt: Tasks and CommunicationRequests by identifier.
func Offline(t testing.TB, opt review.Options, files ...string) (tasks, requests map[string]Item) {
	t.Helper()
	res, err := review.Run(context.Background(), files, opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) > 0 {
		t.Fatalf("offline review: input problems: %v", res.Errors)
	}
	tasks, requests = map[string]Item{}, map[string]Item{}
	w := opt.Writer
	for i := range res.Findings {
		f := &res.Findings[i]
		tasks[w.Identifier(f).Value] = Item{Status: "requested", Code: f.Check, Focus: f.FocusRef, Due: f.Due}
		if f.Communication != nil {
			requests[w.CommunicationIdentifier(f).Value] = Item{Status: "active", Code: f.Check, Focus: f.FocusRef, Due: f.Due}
		}
	}
	return tasks, requests
}

// Diff says how got differs from want (identifiers missing, extra, or with
// another code, focus, deadline instant or status); "" when they agree.
func Diff(got, want map[string]Item) string {
	var missing, extra, differ []string
	for id, w := range want {
		g, ok := got[id]
		switch {
		case !ok:
			missing = append(missing, id)
		case g.Code != w.Code || g.Focus != w.Focus || !g.Due.Equal(w.Due) || g.Status != w.Status:
			differ = append(differ, id+": got "+g.Code+" "+g.Focus+" "+g.Due.String()+" "+g.Status+
				", want "+w.Code+" "+w.Focus+" "+w.Due.String()+" "+w.Status)
		}
	}
	for id := range got {
		if _, ok := want[id]; !ok {
			extra = append(extra, id)
		}
	}
	if len(missing)+len(extra)+len(differ) == 0 {
		return ""
	}
	sort.Strings(missing)
	sort.Strings(extra)
	sort.Strings(differ)
	return "missing on the server: " + strings.Join(missing, ", ") + "\nonly on the server: " + strings.Join(extra, ", ") +
		"\ndiffering:\n" + strings.Join(differ, "\n")
}
