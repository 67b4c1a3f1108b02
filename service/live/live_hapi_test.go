package live_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/utilreview/utilreview/e2e/harness"
	"github.com/utilreview/utilreview/e2e/worklisttest"
	"github.com/utilreview/utilreview/fhir"
	"github.com/utilreview/utilreview/service/checks"
	"github.com/utilreview/utilreview/service/live"
	"github.com/utilreview/utilreview/service/review"
	"github.com/utilreview/utilreview/service/rules"
	"github.com/utilreview/utilreview/service/worklist"
)

// setup is one test's view of the shared HAPI: a client, the review options
// with an identifier system no other test or run uses (so each starts with
// no Tasks of its own), and a processor with a fixed clock.
type setup struct {
	t      *testing.T
	c      *harness.FHIR
	client *fhir.Client
	opt    review.Options
	system string
}

func newSetup(t *testing.T) *setup {
	t.Helper()
	c := harness.NewFHIR(t)
	client, err := fhir.NewClient(fhir.ClientConfig{BaseURL: c.Base})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := rules.LoadDefaults()
	if err != nil {
		t.Fatal(err)
	}
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	system := "https://utilreview.dev/fhir/identifier/" + harness.UniqueID("live")
	w := worklist.New(worklist.Config{IdentifierSystem: system, Location: loc, CustomChecks: worklist.CustomConcepts(reg.RuleSets())})
	opt := review.Options{
		Location: loc, Rules: reg, Writer: w,
		Checks: checks.Config{Location: loc, IdentifierSystem: system},
	}
	return &setup{t: t, c: c, client: client, opt: opt, system: system}
}

func (s *setup) processor(asOf time.Time, windowDays int) *live.Processor {
	s.t.Helper()
	p, err := live.New(live.Config{Review: s.opt, Now: func() time.Time { return asOf }, WindowDays: windowDays}, s.client, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	return p
}

// TestLiveEqualsReview is the central promise: the Tasks and
// CommunicationRequests the live processor writes to the FHIR server for
// each patient are exactly those `review` finds over the same resources, at
// the same clock, window, rules and identifier system; and a second pass
// over unchanged data writes nothing.
func TestLiveEqualsReview(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		files      []string
		asOf       time.Time
		windowDays int
		minTasks   int
		// includeMoot: every Synthea stay is history as of 2021-04-01, so
		// its findings are moot (issue 7): raised, marked missed, only with
		// IncludeMoot, which both sides then apply.
		includeMoot bool
	}{
		{"examples", []string{"../../testdata/examples/ur-scenarios.json"}, time.Date(2026, 11, 20, 17, 0, 0, 0, time.UTC), 400, 20, false},
		{"synthea", []string{"../../e2e/testdata/synthea-lemuel-hodkiewicz.json", "../../e2e/testdata/synthea-trenton-turner.json", "../../e2e/testdata/synthea-buster-hoeger.json"},
			time.Date(2021, 4, 1, 16, 0, 0, 0, time.UTC), 20000, 7, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newSetup(t)
			s.opt.IncludeMoot = tt.includeMoot
			suffix := harness.UniqueID("")
			var files, patients []string
			for _, f := range tt.files {
				st := s.c.PutBundle(f, suffix[len(suffix)-8:], harness.Tag{})
				files = append(files, st.File)
				patients = append(patients, st.Refs("Patient")...)
			}
			p := s.processor(tt.asOf, tt.windowDays)
			opt := s.opt
			opt.AsOf, opt.Checks.Since = tt.asOf, p.Since(tt.asOf)
			wantTasks, wantRequests := worklisttest.Offline(t, opt, files...)
			if len(wantTasks) < tt.minTasks {
				t.Fatalf("offline review found %d findings, want at least %d", len(wantTasks), tt.minTasks)
			}
			ctx := context.Background()
			for _, patient := range patients {
				if _, err := p.ReviewPatient(ctx, patient); err != nil {
					t.Fatalf("%s: %v", patient, err)
				}
			}
			if d := worklisttest.Diff(worklisttest.Server(t, s.c, "Task", s.system), wantTasks); d != "" {
				t.Errorf("Tasks: live and offline disagree:\n%s", d)
			}
			if d := worklisttest.Diff(worklisttest.Server(t, s.c, "CommunicationRequest", s.system), wantRequests); d != "" {
				t.Errorf("CommunicationRequests: live and offline disagree:\n%s", d)
			}

			// Converged: reviewing again (a duplicate notification, a
			// replay, the service's own writes coming back) creates and
			// cancels nothing; the one update a second pass may make is the
			// claim-before-determination evidence naming the review Tasks
			// the first pass created. A third pass writes nothing at all.
			for pass := 2; pass <= 3; pass++ {
				for _, patient := range patients {
					out, err := p.ReviewPatient(ctx, patient)
					if err != nil {
						t.Fatal(err)
					}
					for a, n := range out.Changes {
						if n > 0 && (pass == 3 || a != worklist.ActionUpdate) {
							t.Errorf("%s: pass %d planned %d %s, want no write", patient, pass, n, a)
						}
					}
				}
			}
			if d := worklisttest.Diff(worklisttest.Server(t, s.c, "Task", s.system), wantTasks); d != "" {
				t.Errorf("Tasks after three passes: live and offline disagree:\n%s", d)
			}
		})
	}
}

// TestLiveReconcile: an observation stay converted to inpatient cancels its
// observation Tasks that no one started (and revokes their requests),
// notes a started one once, never reopens a completed one; a moved
// deadline updates the open Task in place.
func TestLiveReconcile(t *testing.T) {
	t.Parallel()
	s := newSetup(t)
	suffix := harness.UniqueID("")
	st := s.c.PutBundle("../../testdata/examples/ur-scenarios.json", suffix[len(suffix)-8:], harness.Tag{})
	asOf := time.Date(2026, 11, 20, 17, 0, 0, 0, time.UTC)
	p := s.processor(asOf, 400)
	ctx := context.Background()

	// The observation stays of the examples, and their patients.
	var obs []map[string]any
	for _, r := range st.Resources {
		if r["resourceType"] == "Encounter" {
			if cl, _ := r["class"].(map[string]any); cl["code"] == "OBSENC" {
				obs = append(obs, r)
			}
		}
	}
	if len(obs) == 0 {
		t.Fatal("the examples have no observation stay")
	}
	enc := obs[0]
	encRef := "Encounter/" + enc["id"].(string)
	patient := enc["subject"].(map[string]any)["reference"].(string)
	if _, err := p.ReviewPatient(ctx, patient); err != nil {
		t.Fatal(err)
	}
	before := s.tasksOn(encRef)
	if len(before) < 2 {
		t.Fatalf("observation stay %s has %d Tasks, want at least 2 (to start one and leave one)", encRef, len(before))
	}
	// A clinician starts one of them.
	started := before[0]
	started["status"] = "in-progress"
	s.c.Put("Task/"+started["id"].(string), started).MustStatus(t, 200)

	// The stay is converted to inpatient: class IMP from the start.
	enc["class"] = map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"}
	delete(enc, "classHistory")
	s.c.Put(encRef, enc).MustStatus(t, 200)
	out, err := p.ReviewPatient(ctx, patient)
	if err != nil {
		t.Fatal(err)
	}
	after := map[string]string{}
	for _, task := range s.tasksOn(encRef) {
		after[task["id"].(string)] = task["status"].(string)
	}
	if after[started["id"].(string)] != "in-progress" {
		t.Errorf("the started Task is %q, want in-progress (a clinician's Task is noted, not cancelled)", after[started["id"].(string)])
	}
	cancelled := 0
	for _, b := range before[1:] {
		// The observation checks, and the admission review of the
		// observation placement (episode "<stay>+observation"; the
		// inpatient admission gets its own), no longer hold.
		if (obsCheck(b) || taskCheck(b) == "admission-review") && after[b["id"].(string)] == "cancelled" {
			cancelled++
		}
	}
	if cancelled == 0 || out.Changes[worklist.ActionCancel] != cancelled {
		t.Errorf("cancelled %d observation Tasks (plan said %d), want every untouched one", cancelled, out.Changes[worklist.ActionCancel])
	}
	notes := func() int {
		task := s.c.Get("Task/"+started["id"].(string)).MustStatus(t, 200).Resource(t)
		n := 0
		for _, x := range asSlice(task["note"]) {
			if strings.HasPrefix(x.(map[string]any)["text"].(string), worklist.NoteMarker) {
				n++
			}
		}
		return n
	}
	if obsCheck(started) && notes() != 1 {
		t.Errorf("the started Task has %d utilreview notes, want 1", notes())
	}
	// Replays change nothing: one note, however many reviews.
	for i := 0; i < 2; i++ {
		out, err := p.ReviewPatient(ctx, patient)
		if err != nil {
			t.Fatal(err)
		}
		if n := out.Changes[worklist.ActionNote] + out.Changes[worklist.ActionCancel] + out.Changes[worklist.ActionCreate]; n != 0 {
			t.Errorf("replay %d planned %v, want nothing", i, out.Changes)
		}
	}
	if obsCheck(started) && notes() != 1 {
		t.Errorf("after replays the started Task has %d utilreview notes, want 1", notes())
	}
}

func obsCheck(task map[string]any) bool {
	return strings.HasPrefix(taskCheck(task), "observation")
}

func taskCheck(task map[string]any) string {
	return task["code"].(map[string]any)["coding"].([]any)[0].(map[string]any)["code"].(string)
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

// tasksOn are the test's Tasks whose focus is ref, oldest first.
func (s *setup) tasksOn(ref string) []map[string]any {
	s.t.Helper()
	raws, _ := s.c.SearchAll(harness.Query("Task", "identifier", s.system+"|", "focus", ref, "_sort", "_id"), 10)
	var out []map[string]any
	for _, raw := range raws {
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			s.t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}
