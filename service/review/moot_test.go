package review

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/utilreview/utilreview/fhir"
	"github.com/utilreview/utilreview/service/checks"
	"github.com/utilreview/utilreview/service/facts"
	"github.com/utilreview/utilreview/service/worklist"
)

// TestMootInThePipeline: the live service's way (Pipeline.ReviewPatient)
// over asOfRecord's patient a, whose Important Message fell due by
// discharge (2026-03-03 15:00, 42 CFR 405.1205(b)). Reviewed during the
// stay, the finding gets a Task. Reviewed after discharge: with that Task
// on the server the Task stays, rewritten to business status missed (never
// cancelled); with no Task nothing is created and the finding is returned
// as moot; with IncludeMoot it is created, marked missed.
func TestMootInThePipeline(t *testing.T) {
	t.Parallel()
	loc := mustLoc(t, "America/New_York")
	resources := readRecord(t, asOfRecord)
	review := func(asOf time.Time, includeMoot bool, tasks ...*facts.Task) *Patient {
		t.Helper()
		opt := testOptions(t)
		opt.AsOf, opt.IncludeMoot = asOf, includeMoot
		pl := NewPipeline(opt, nil)
		var p *facts.Patient
		for _, x := range pl.Facts(resources).Patients {
			if x.Ref == "Patient/a" {
				p = x
			}
		}
		if p == nil {
			t.Fatal("no patient a")
		}
		p.Tasks = tasks
		res, err := pl.ReviewPatient(p, nil, asOf)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	im := func(fs []checks.Finding) *checks.Finding {
		for i := range fs {
			if fs[i].Check == checks.CheckImportantMessage {
				return &fs[i]
			}
		}
		return nil
	}
	during := time.Date(2026, 3, 3, 12, 0, 0, 0, loc)
	after := time.Date(2026, 3, 3, 16, 0, 0, 0, loc)

	first := review(during, false)
	f := im(first.Findings)
	if f == nil || f.Moot {
		t.Fatalf("during the stay: Important Message finding %+v, want one to work", f)
	}
	var created []byte
	for _, c := range first.Plan.Changes {
		if c.Action == worklist.ActionCreate && c.Check == checks.CheckImportantMessage {
			created = c.Body
		}
	}
	if created == nil {
		t.Fatal("during the stay: no Task created for the Important Message")
	}
	// The Task as the server holds it, read back.
	opt := testOptions(t)
	id := opt.Writer.Identifier(f)
	task := &facts.Task{Ref: "Task/im", Version: "1", Status: "requested", Focus: f.FocusRef, Raw: withID(t, created, "im"),
		Identifiers: []facts.Identifier{{System: id.System, Value: id.Value}},
		Codes:       []facts.Code{{System: opt.Writer.CheckSystem(), Code: f.Check}}}

	kept := review(after, false, task)
	if got := im(kept.Findings); got == nil || !got.Moot || got.Status != checks.StatusMissed {
		t.Fatalf("after discharge, with its Task: finding %+v, want it raised, moot, missed", got)
	}
	var acts []string
	for _, c := range kept.Plan.Changes {
		if c.Check == checks.CheckImportantMessage {
			acts = append(acts, string(c.Action))
			if c.Action == worklist.ActionUpdate && !strings.Contains(string(c.Body), `"code":"missed"`) {
				t.Errorf("the update does not set business status missed: %s", c.Body)
			}
		}
	}
	if strings.Join(acts, ",") != "update" {
		t.Errorf("after discharge, with its Task: changes %v, want one update (no cancel)", acts)
	}

	fresh := review(after, false)
	if im(fresh.Findings) != nil || im(fresh.Moot) == nil {
		t.Errorf("after discharge, no Task: raised %v, moot %v; want it moot only", im(fresh.Findings), im(fresh.Moot))
	}
	for _, c := range fresh.Plan.Changes {
		if c.Check == checks.CheckImportantMessage {
			t.Errorf("after discharge, no Task: %s planned for a moot finding", c.Action)
		}
	}

	all := review(after, true)
	if g := im(all.Findings); g == nil || g.Status != checks.StatusMissed {
		t.Errorf("--include-moot: finding %+v, want it raised as missed", g)
	}
	n := 0
	for _, c := range all.Plan.Changes {
		if c.Check == checks.CheckImportantMessage && c.Action == worklist.ActionCreate {
			n++
		}
	}
	if n != 1 {
		t.Errorf("--include-moot: %d creates for the Important Message, want 1", n)
	}
}

func readRecord(t *testing.T, record string) []*fhir.Resource {
	t.Helper()
	var res []*fhir.Resource
	if errs := fhir.NewReader().ReadBytes("record.json", []byte(record), func(r *fhir.Resource) { res = append(res, r) }); len(errs) > 0 {
		t.Fatalf("reading: %v", errs)
	}
	return res
}

func withID(t *testing.T, body []byte, id string) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	m["id"] = id
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
