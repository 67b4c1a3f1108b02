package worklist_test

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/utilreview/utilreview/fhir/fhirtest"
	"github.com/utilreview/utilreview/service/checks"
	"github.com/utilreview/utilreview/service/facts"
	"github.com/utilreview/utilreview/service/review"
	"github.com/utilreview/utilreview/service/rules"
	"github.com/utilreview/utilreview/service/worklist"
)

// TestSharedDataOutputConforms reviews the shared Synthea, HL7 and Da Vinci
// data and checks that everything written passes the R4 JSON schema and the
// conformance checker, references no urn:uuid, and that the identifiers
// close the findings once their Tasks are completed (the next run raises
// nothing again).
func TestSharedDataOutputConforms(t *testing.T) {
	if testing.Short() {
		t.Skip("reviews all of testdata/shared/data")
	}
	reg, err := rules.LoadDefaults()
	if err != nil {
		t.Fatal(err)
	}
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	data := filepath.Join("..", "..", "testdata", "shared", "data") // the repository's copy (testdata/shared/PROVENANCE.md)
	paths := []string{
		filepath.Join(data, "synthea"),
		filepath.Join(data, "fhir-r4-examples"),
		filepath.Join(data, "davinci", "pas-2.2.1"),
	}
	for _, asOf := range []time.Time{
		time.Date(2021, 4, 1, 12, 0, 0, 0, loc),
		time.Date(2024, 6, 1, 0, 0, 0, 0, loc),
	} {
		t.Run(asOf.Format("2006-01-02"), func(t *testing.T) {
			w := worklist.New(worklist.Config{Location: loc})
			res, err := review.Run(context.Background(), paths, review.Options{
				AsOf: asOf, Location: loc, Rules: reg, Writer: w,
				Checks: checks.Config{Location: loc, IdentifierSystem: w.IdentifierSystem()},
				// Nearly every finding over this data is past its horizon: write
				// those too (business status missed), so that they are checked.
				IncludeMoot: true,
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Findings) == 0 {
				t.Fatal("no findings over the shared data: nothing was written to check")
			}
			b, err := w.TransactionBundle(res.Findings, asOf, true)
			if err != nil {
				t.Fatal(err)
			}
			fhirtest.Conform(t, b)
			if bytes.Contains(b, []byte(`"reference":"urn:`)) {
				t.Error("a urn: reference was written")
			}

			// Complete every Task written: Plan must then close every finding.
			var bundle struct {
				Entry []struct {
					Resource struct {
						ResourceType string `json:"resourceType"`
						Identifier   []struct{ System, Value string }
					} `json:"resource"`
				} `json:"entry"`
			}
			if err := json.Unmarshal(b, &bundle); err != nil {
				t.Fatal(err)
			}
			var done []*facts.Task
			for _, e := range bundle.Entry {
				if e.Resource.ResourceType != "Task" {
					continue
				}
				task := &facts.Task{Status: "completed"}
				for _, id := range e.Resource.Identifier {
					task.Identifiers = append(task.Identifiers, facts.Identifier{System: id.System, Value: id.Value})
				}
				done = append(done, task)
			}
			open, closed := w.Plan(res.Findings, done)
			if len(open) != 0 || closed != len(res.Findings) {
				t.Errorf("after completing every Task: got %d open, %d closed; want 0 and %d", len(open), closed, len(res.Findings))
			}
		})
	}
}
