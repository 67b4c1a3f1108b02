package worklist

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/utilreview/utilreview/service/checks"
	"github.com/utilreview/utilreview/service/facts"
)

// stored is a Task as the server would hold it after the writer's create:
// the written JSON with an id, a version, and what clinicians may have added.
func stored(t *testing.T, w *Writer, f *checks.Finding, id, version, status string, extra map[string]any) *facts.Task {
	t.Helper()
	m := decode(t, w.Task(f, asOf).AppendJSON(nil))
	m["id"] = id
	m["meta"] = map[string]any{"versionId": version, "lastUpdated": "2024-03-12T14:00:01Z"}
	m["status"] = status
	for k, v := range extra {
		m[k] = v
	}
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	v := w.Identifier(f)
	return &facts.Task{
		Ref: "Task/" + id, Version: version, Status: status, Focus: f.FocusRef, Raw: raw,
		Identifiers: []facts.Identifier{{System: v.System, Value: v.Value}},
		Codes:       []facts.Code{{System: w.CheckSystem(), Code: f.Check}},
	}
}

func actions(p *Plan) string {
	var out []string
	for _, c := range p.Changes {
		out = append(out, string(c.Action)+":"+c.Check)
	}
	return strings.Join(out, ",")
}

func TestReconcile(t *testing.T) {
	w := New(Config{})
	f := encounterFinding()
	moved := f
	moved.Due = f.Due.Add(24 * time.Hour)
	other := encounterFinding()
	other.Check = "two-midnight"
	other.Communication = nil
	all := func(string) bool { return true }
	none := func(string) bool { return false }

	tests := []struct {
		name     string
		findings []checks.Finding
		existing func() []*facts.Task
		requests []*Request
		inScope  func(string) bool
		want     string
	}{
		{"new finding creates", []checks.Finding{f}, func() []*facts.Task { return nil }, nil, all, "create:admission-notification"},
		{"same finding writes nothing", []checks.Finding{f},
			func() []*facts.Task { return []*facts.Task{stored(t, w, &f, "t1", "1", "requested", nil)} }, nil, all, ""},
		{"clinician's fields do not count as a change", []checks.Finding{f},
			func() []*facts.Task {
				return []*facts.Task{stored(t, w, &f, "t1", "2", "in-progress", map[string]any{
					"owner": map[string]any{"reference": "Practitioner/nurse-7"}, "note": []any{map[string]any{"text": "called the payer"}},
				})}
			}, nil, all, ""},
		{"moved deadline updates", []checks.Finding{moved},
			func() []*facts.Task { return []*facts.Task{stored(t, w, &f, "t1", "3", "requested", nil)} }, nil, all, "update:admission-notification"},
		{"completed Task is never reopened", []checks.Finding{moved},
			func() []*facts.Task { return []*facts.Task{stored(t, w, &f, "t1", "3", "completed", nil)} }, nil, all, ""},
		{"gone finding cancels an untouched Task and revokes its request", nil,
			func() []*facts.Task { return []*facts.Task{stored(t, w, &f, "t1", "1", "requested", nil)} },
			[]*Request{
				{Ref: "CommunicationRequest/cr1", Version: "1", Status: "active", BasedOnTask: w.Identifier(&f).Value, Raw: []byte(`{"resourceType":"CommunicationRequest","id":"cr1","status":"active"}`)},
				{Ref: "CommunicationRequest/cr2", Version: "1", Status: "completed", BasedOnTask: w.Identifier(&f).Value, Raw: []byte(`{"resourceType":"CommunicationRequest","id":"cr2","status":"completed"}`)},
			}, all, "cancel:admission-notification,revoke:admission-notification"},
		{"gone finding notes a started Task", nil,
			func() []*facts.Task { return []*facts.Task{stored(t, w, &f, "t1", "4", "in-progress", nil)} }, nil, all, "note:admission-notification"},
		{"the note is added once", nil,
			func() []*facts.Task {
				return []*facts.Task{stored(t, w, &f, "t1", "5", "in-progress", map[string]any{
					"note": []any{map[string]any{"text": NoteMarker + " (earlier)"}},
				})}
			}, nil, all, ""},
		{"focus outside the review is left alone", nil,
			func() []*facts.Task { return []*facts.Task{stored(t, w, &f, "t1", "1", "requested", nil)} }, nil, none, ""},
		// Issue 7 point 11: a prior authorization found after the date of
		// service that the payer cannot give (42 CFR 419.82) no longer asks
		// the payer; the request made while the service was ahead is revoked
		// and the Task rewritten for billing.
		{"a finding that no longer asks for a message revokes its request", []checks.Finding{noMessage(f)},
			func() []*facts.Task { return []*facts.Task{stored(t, w, &f, "t1", "1", "requested", nil)} },
			[]*Request{
				{Ref: "CommunicationRequest/cr1", Version: "1", Status: "active", BasedOnTask: w.Identifier(&f).Value, Raw: []byte(`{"resourceType":"CommunicationRequest","id":"cr1","status":"active"}`)},
				{Ref: "CommunicationRequest/cr3", Version: "1", Status: "revoked", BasedOnTask: w.Identifier(&f).Value, Raw: []byte(`{"resourceType":"CommunicationRequest","id":"cr3","status":"revoked"}`)},
			}, all, "revoke:admission-notification,update:admission-notification"},
		{"a finding still asking keeps its request", []checks.Finding{f},
			func() []*facts.Task { return []*facts.Task{stored(t, w, &f, "t1", "1", "requested", nil)} },
			[]*Request{{Ref: "CommunicationRequest/cr1", Version: "1", Status: "active", BasedOnTask: w.Identifier(&f).Value, Raw: []byte(`{"resourceType":"CommunicationRequest","id":"cr1","status":"active"}`)}},
			all, ""},
		{"one finding stays, another goes", []checks.Finding{other},
			func() []*facts.Task { return []*facts.Task{stored(t, w, &f, "t1", "1", "requested", nil)} }, nil, all,
			"create:two-midnight,cancel:admission-notification"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := w.Reconcile(tt.findings, tt.existing(), tt.requests, tt.inScope, asOf)
			if err != nil {
				t.Fatal(err)
			}
			if got := actions(plan); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// noMessage is f without its CommunicationRequest and with another
// description and owner, as a prior authorization turned to billing.
func noMessage(f checks.Finding) checks.Finding {
	f.Communication = nil
	f.Owner = checks.BillingTeam
	f.Description += " Do not bill this claim without review."
	return f
}

func TestReconcileBodies(t *testing.T) {
	w := New(Config{})
	f := encounterFinding()
	moved := f
	moved.Due = f.Due.Add(24 * time.Hour)
	owner := map[string]any{"reference": "Practitioner/nurse-7"}
	existing := stored(t, w, &f, "t1", "3", "in-progress", map[string]any{"owner": owner, "authoredOn": "2024-03-01T00:00:00Z"})

	plan, err := w.Reconcile([]checks.Finding{moved}, []*facts.Task{existing}, nil, nil, asOf)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Changes) != 1 {
		t.Fatalf("got %d changes, want 1", len(plan.Changes))
	}
	up := decode(t, plan.Changes[0].Body)
	if got := up["restriction"].(map[string]any)["period"].(map[string]any)["end"]; got != "2024-03-12T14:00:00+00:00" {
		t.Errorf("restriction end: got %v, want %v", got, moved.Due.Format(time.RFC3339))
	}
	if up["status"] != "in-progress" || up["authoredOn"] != "2024-03-01T00:00:00Z" || up["owner"].(map[string]any)["reference"] != "Practitioner/nurse-7" {
		t.Errorf("update touched what clinicians own: status %v authoredOn %v owner %v", up["status"], up["authoredOn"], up["owner"])
	}
	if meta, ok := up["meta"].(map[string]any); ok && meta["versionId"] != nil {
		t.Errorf("update carries the server's versionId: %v", meta)
	}

	// The Bundle makes the update version-aware and the create conditional.
	plan.Changes = append(plan.Changes, Change{Action: ActionCreate, Check: f.Check, Identifier: w.Identifier(&f), Body: w.Task(&f, asOf).AppendJSON(nil)})
	b := decode(t, w.PlanBundle(plan))
	entries := b["entry"].([]any)
	req0 := entries[0].(map[string]any)["request"].(map[string]any)
	if req0["method"] != "PUT" || req0["url"] != "Task/t1" || req0["ifMatch"] != `W/"3"` {
		t.Errorf("update request: got %v", req0)
	}
	req1 := entries[1].(map[string]any)["request"].(map[string]any)
	if req1["method"] != "POST" || !strings.HasPrefix(req1["ifNoneExist"].(string), "identifier=") {
		t.Errorf("create request: got %v", req1)
	}

	// Cancel keeps the clinician's owner and says why.
	untouched := stored(t, w, &f, "t2", "1", "requested", map[string]any{"owner": owner})
	plan, err = w.Reconcile(nil, []*facts.Task{untouched}, nil, nil, asOf)
	if err != nil {
		t.Fatal(err)
	}
	c := decode(t, plan.Changes[0].Body)
	if c["status"] != "cancelled" || c["statusReason"] == nil || c["owner"] == nil {
		t.Errorf("cancel: got status %v statusReason %v owner %v", c["status"], c["statusReason"], c["owner"])
	}
	if w.PlanBundle(&Plan{}) != nil {
		t.Error("an empty plan gives a Bundle")
	}
}

// TestReconcileMootKeepsTask: a Task already written for a finding that
// has since become moot (past its check's actionable horizon, e.g. a notice
// not delivered before discharge) is not cancelled: it stays as the
// clinician left it, its business status rewritten to missed, because a
// missed notice is a compliance event the team must document.
func TestReconcileMootKeepsTask(t *testing.T) {
	w := New(Config{})
	f := encounterFinding()
	moot := f
	moot.Moot, moot.Status, moot.Horizon = true, checks.StatusMissed, asOf.Add(-time.Hour)
	moot.Description += " Past its actionable horizon: record it as missed."
	for _, status := range []string{"requested", "in-progress"} {
		existing := stored(t, w, &f, "t1", "2", status, map[string]any{"note": []any{map[string]any{"text": "called the payer"}}})
		if !w.TaskIndex([]*facts.Task{existing})(&moot) {
			t.Fatalf("%s: TaskIndex does not find the finding's Task", status)
		}
		plan, err := w.Reconcile([]checks.Finding{moot}, []*facts.Task{existing}, nil, func(string) bool { return true }, asOf)
		if err != nil {
			t.Fatal(err)
		}
		if got := actions(plan); got != "update:admission-notification" {
			t.Fatalf("%s: got %q, want one update and no cancel", status, got)
		}
		up := decode(t, plan.Changes[0].Body)
		bs := up["businessStatus"].(map[string]any)["coding"].([]any)[0].(map[string]any)
		if bs["code"] != checks.StatusMissed || bs["system"] != w.StatusSystem() {
			t.Errorf("%s: businessStatus %v, want missed", status, bs)
		}
		if up["status"] != status || up["note"] == nil {
			t.Errorf("%s: the update touched the clinician's status or notes: %v %v", status, up["status"], up["note"])
		}
		if len(plan.Open) != 1 || !plan.Open[0].Moot {
			t.Errorf("%s: the moot finding is not in the plan's open findings", status)
		}
	}
	if w.TaskIndex(nil)(&moot) {
		t.Error("TaskIndex finds a Task in none")
	}
}
