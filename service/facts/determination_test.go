package facts

import (
	"testing"
	"time"

	"github.com/utilreview/utilreview/fhir"
)

// buildTasks builds a patient with one Task (and any Provenances) from JSON.
func buildTasks(t *testing.T, raws ...string) *Task {
	t.Helper()
	loc := newYork(t)
	var res []*fhir.Resource
	rd := fhir.NewReader()
	for i, raw := range append([]string{`{"resourceType":"Patient","id":"p1"}`}, raws...) {
		for _, err := range rd.ReadBytes("r"+string(rune('a'+i)), []byte(raw), func(r *fhir.Resource) { res = append(res, r) }) {
			t.Fatal(err)
		}
	}
	set := Build(res, Options{Location: loc})
	if len(set.Patients) != 1 || len(set.Patients[0].Tasks) != 1 {
		t.Fatalf("want one patient with one Task; problems %v", set.Problems)
	}
	return set.Patients[0].Tasks[0]
}

func taskJSON(extra string) string {
	return `{"resourceType":"Task","id":"t1","meta":{"versionId":"4","lastUpdated":"2026-11-25T20:00:00Z"},"status":"completed","intent":"order",
		"for":{"reference":"Patient/p1"}` + extra + `}`
}

func out(code, value string) string {
	return `{"type":{"coding":[{"code":"` + code + `"}]},` + value + `}`
}

// TestTaskDetermination: what a clinician writes on a completed Task.
func TestTaskDetermination(t *testing.T) {
	loc := newYork(t)
	x12 := out("determination", `"valueCodeableConcept":{"coding":[{"system":"urn:other","code":"Z"},{"system":"https://codesystem.x12.org/005010/306","code":"A2"}]}`)
	tk := buildTasks(t, taskJSON(`,"owner":{"reference":"https://ehr.example/fhir/Practitioner/n1","display":"Nurse"},"lastModified":"2026-11-25T10:00:00-05:00",
		"output":[`+x12+`,`+
		out("authorized-period", `"valuePeriod":{"start":"2026-11-20","end":"2026-11-23"}`)+`,`+
		out("authorized-days", `"valueUnsignedInt":3`)+`,`+
		out("determination-reason", `"valueCoding":{"system":"https://codesystem.x12.org/external/886","code":"X9"}`)+`,`+
		out("determination-note", `"valueAnnotation":{"text":"note"}`)+`,`+
		out("next-review", `"valueDate":"2026-11-27"`)+`,`+
		out("authorization-number", `"valueString":" N-1 "`)+`,`+
		out("avoidable-days", `"valueInteger":0`)+`]`))
	d := tk.Determination
	if d == nil {
		t.Fatal("no determination")
	}
	if d.Code != "A2" || d.Display != "Certified - partial" || d.PeriodStart != "2026-11-20" || d.PeriodEnd != "2026-11-23" || d.Days != 3 ||
		d.Reason == nil || d.Reason.Code != "X9" || d.Note != "note" || d.AuthorizationNumber != "N-1" || !d.HasAvoidableDays || d.AvoidableDays != 0 {
		t.Errorf("determination %+v", d)
	}
	if !d.NextReview.Equal(time.Date(2026, 11, 27, 0, 0, 0, 0, loc)) {
		t.Errorf("next review %s", d.NextReview)
	}
	if tk.Owner != "Practitioner/n1" || tk.OwnerDisplay != "Nurse" {
		t.Errorf("owner %q %q", tk.Owner, tk.OwnerDisplay)
	}
	// Completed: executionPeriod.end, else lastModified, else meta.lastUpdated.
	if !tk.Completed.Equal(time.Date(2026, 11, 25, 10, 0, 0, 0, loc)) {
		t.Errorf("completed %s, want lastModified", tk.Completed)
	}
	if c := buildTasks(t, taskJSON(`,"executionPeriod":{"end":"2026-11-25T09:00:00-05:00"},"lastModified":"2026-11-25T10:00:00-05:00"`)).Completed; !c.Equal(time.Date(2026, 11, 25, 9, 0, 0, 0, loc)) {
		t.Errorf("completed %s, want executionPeriod.end", c)
	}
	if c := buildTasks(t, taskJSON(``)).Completed; !c.Equal(time.Date(2026, 11, 25, 20, 0, 0, 0, time.UTC)) {
		t.Errorf("completed %s, want meta.lastUpdated", c)
	}
	// No determination: not completed, no X12 306 coding, a code outside A1-A6.
	for name, raw := range map[string]string{
		"in progress":  `{"resourceType":"Task","id":"t1","status":"in-progress","intent":"order","for":{"reference":"Patient/p1"},"output":[` + x12 + `]}`,
		"other system": taskJSON(`,"output":[` + out("determination", `"valueCodeableConcept":{"coding":[{"system":"urn:other","code":"A1"}]}`) + `]`),
		"A5":           taskJSON(`,"output":[` + out("determination", `"valueCodeableConcept":{"coding":[{"system":"https://codesystem.x12.org/005010/306","code":"A5"}]}`) + `]`),
	} {
		if d := buildTasks(t, raw).Determination; d != nil {
			t.Errorf("%s: determination %+v, want none", name, d)
		}
	}
}

// TestProvenanceAgents: the agents of Provenances that target the Task's
// current version or the Task unversioned; another version's are not.
func TestProvenanceAgents(t *testing.T) {
	prov := func(id, target, who string) string {
		return `{"resourceType":"Provenance","id":"` + id + `","target":[{"reference":"` + target + `"}],"recorded":"2026-11-25T10:00:00Z",
			"agent":[{"type":{"coding":[{"code":"author"}]},"role":[{"coding":[{"system":"urn:roles","code":"md"}]}],"who":{"reference":"` + who + `"}}]}`
	}
	tk := buildTasks(t, taskJSON(``), prov("a", "Task/t1/_history/4", "Practitioner/now"), prov("b", "Task/t1/_history/3", "Practitioner/before"),
		prov("c", "Task/t1", "PractitionerRole/any"), prov("d", "Task/other", "Practitioner/else"))
	got := map[string]bool{}
	for _, a := range tk.Agents {
		got[a.Who] = true
		if len(a.Roles) != 2 {
			t.Errorf("%s: roles %v, want agent.type and agent.role", a.Who, a.Roles)
		}
	}
	if len(got) != 2 || !got["Practitioner/now"] || !got["PractitionerRole/any"] {
		t.Errorf("agents %v, want Practitioner/now and PractitionerRole/any", got)
	}
}
