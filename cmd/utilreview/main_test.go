package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/utilreview/utilreview/fhir/fhirtest"
)

const examples = "../../testdata/examples"

// runCLI runs the program as a user would and returns its exit status and output.
func runCLI(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	getenv := func(k string) string { return env[k] }
	err := run(context.Background(), args, getenv, &out, &errb)
	code = 0
	if err != nil {
		var ee *exitError
		if !errors.As(err, &ee) {
			t.Fatalf("run returned %T %v, want *exitError", err, err)
		}
		code = ee.code
		errb.WriteString(ee.msg)
	}
	return code, out.String(), errb.String()
}

func TestReviewTable(t *testing.T) {
	t.Parallel()
	code, out, errOut := runCLI(t, nil, "review", "--as-of", "2026-11-20T12:00:00-05:00", examples)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if !strings.HasPrefix(lines[0], "DUE") {
		t.Fatalf("first line %q, want the table header", lines[0])
	}
	// Overdue first: once a finding is not overdue, no later one may be.
	// A finding's first line starts in column 1; the lines under it
	// (description, check and evidence) are indented.
	seenOnTime := false
	for _, l := range lines[1:] {
		if strings.HasPrefix(l, " ") {
			continue
		}
		overdue := strings.Contains(l, "OVERDUE")
		if overdue && seenOnTime {
			t.Errorf("overdue line after one on time: %q", l)
		}
		seenOnTime = seenOnTime || !overdue
	}
	for _, want := range []string{"Reviewed 1 file(s)", "8 patient(s)", "Errors: 0", "two-midnight"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("summary lacks %q:\n%s", want, errOut)
		}
	}
}

func TestReviewJSONAndNDJSONAgree(t *testing.T) {
	t.Parallel()
	args := []string{"review", "--as-of", "2026-11-20", "--tz", "America/Chicago", examples}
	code, out, errOut := runCLI(t, nil, append([]string{args[0], "--format", "json"}, args[1:]...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var doc struct {
		AsOf     string           `json:"as_of"`
		Findings []map[string]any `json:"findings"`
		Summary  struct {
			Patients int            `json:"patients"`
			Findings int            `json:"findings"`
			PerCheck map[string]int `json:"findings_per_check"`
		} `json:"summary"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("json output: %v", err)
	}
	if doc.AsOf != "2026-11-20T00:00:00-06:00" {
		t.Errorf("as_of %q, want the start of the day in --tz", doc.AsOf)
	}
	if doc.Summary.Findings != len(doc.Findings) || len(doc.Findings) == 0 {
		t.Errorf("summary says %d findings, got %d records", doc.Summary.Findings, len(doc.Findings))
	}
	dates := 0
	for _, f := range doc.Findings {
		// Calendar dates in the evidence are written as dates, not midnights.
		ev, _ := f["evidence"].([]any)
		for _, e := range ev {
			if m, _ := e.(map[string]any); m["type"] == "date-of-service" {
				dates++
				if v, _ := m["value"].(string); len(v) != len("2006-01-02") || v[4] != '-' {
					t.Errorf("date-of-service %q, want YYYY-MM-DD", m["value"])
				}
			}
		}
		for _, k := range []string{"due", "priority", "check", "status", "patient", "focus", "identifier", "description", "evidence"} {
			if _, ok := f[k]; !ok {
				t.Errorf("record lacks %q: %v", k, f)
			}
		}
	}
	if dates == 0 {
		t.Error("no date-of-service evidence in the examples' findings")
	}
	code, out, errOut = runCLI(t, nil, append([]string{args[0], "--format", "ndjson"}, args[1:]...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(doc.Findings) {
		t.Fatalf("ndjson has %d lines, json %d findings", len(lines), len(doc.Findings))
	}
	// NDJSON streams patient by patient; json sorts by due time: the same
	// records, in another order.
	byID := map[any]map[string]any{}
	for i, l := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		byID[rec["identifier"]] = rec
	}
	for _, f := range doc.Findings {
		if rec, ok := byID[f["identifier"]]; !ok {
			t.Errorf("json finding %v is not in the NDJSON", f["identifier"])
		} else if !reflect.DeepEqual(rec, f) {
			t.Errorf("finding %v: NDJSON %v, json %v", f["identifier"], rec, f)
		}
	}
}

func TestReviewFHIRBundleToFile(t *testing.T) {
	t.Parallel()
	outFile := filepath.Join(t.TempDir(), "worklist.json")
	code, out, errOut := runCLI(t, nil, "review", "--format", "fhir", "--include-codesystems",
		"--as-of", "2026-11-20T12:00:00-05:00", "--out", outFile, examples)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if out != "" {
		t.Errorf("stdout should be empty with --out, got %d bytes", len(out))
	}
	b, err := os.ReadFile(outFile)
	if err != nil {
		t.Fatal(err)
	}
	fhirtest.Conform(t, b)
	var bundle struct {
		Type  string `json:"type"`
		Entry []struct {
			Request struct {
				Method      string `json:"method"`
				IfNoneExist string `json:"ifNoneExist"`
			} `json:"request"`
			Resource struct {
				ResourceType string `json:"resourceType"`
			} `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(b, &bundle); err != nil {
		t.Fatal(err)
	}
	if bundle.Type != "transaction" {
		t.Errorf("Bundle.type %q, want transaction", bundle.Type)
	}
	kinds := map[string]int{}
	for _, e := range bundle.Entry {
		kinds[e.Resource.ResourceType]++
		if e.Resource.ResourceType != "CodeSystem" && (e.Request.Method != "POST" || !strings.HasPrefix(e.Request.IfNoneExist, "identifier=")) {
			t.Errorf("%s entry: request %+v, want a conditional POST on the identifier", e.Resource.ResourceType, e.Request)
		}
	}
	if kinds["Task"] == 0 || kinds["CommunicationRequest"] == 0 || kinds["CodeSystem"] != 5 {
		// 5: check, evidence-type, business-status, communication-category
		// and (with determinations, issue 9) avoidable-days-reason.
		t.Errorf("entries per type %v, want Tasks, CommunicationRequests and the 5 CodeSystems", kinds)
	}
}

// Bad input is reported with the file and the problem; the rest is still
// reviewed and the exit status says something went wrong.
func TestReviewBadInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "broken.json")
	if err := os.WriteFile(bad, []byte(`{"resourceType": "Encounter", "status": `), 0o600); err != nil {
		t.Fatal(err)
	}
	wrong := filepath.Join(dir, "wrong.ndjson")
	if err := os.WriteFile(wrong, []byte("{\"resourceType\":\"Patient\",\"id\":\"a\"}\n{\"id\":\"x\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, nil, "review", "--format", "ndjson", "--as-of", "2026-11-20T12:00:00-05:00", examples, bad, wrong, filepath.Join(dir, "missing.json"))
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr:\n%s", code, errOut)
	}
	for _, want := range []string{"broken.json", "wrong.ndjson:2", "missing.json", "Errors: 3"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if strings.Count(out, "\n") < 20 {
		t.Errorf("the good input should still be reviewed; got %d findings", strings.Count(out, "\n"))
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		args []string
		want string
	}{
		{[]string{}, "Usage"},
		{[]string{"frobnicate"}, "unknown command"},
		{[]string{"review"}, "no PATH"},
		{[]string{"review", "--format", "xml", examples}, "--format"},
		{[]string{"review", "--tz", "Mars/Olympus", examples}, "--tz"},
		{[]string{"review", "--as-of", "yesterday", examples}, "--as-of"},
		{[]string{"rules", "validate"}, "usage"},
		{[]string{"review", "--stale-days", "0", examples}, "--stale-days"},
	}
	for _, c := range cases {
		code, _, errOut := runCLI(t, nil, c.args...)
		if code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, code, errOut, c.want)
		}
	}
}

func TestEnvironmentSetsDefaults(t *testing.T) {
	t.Parallel()
	env := map[string]string{"UTILREVIEW_FORMAT": "ndjson", "UTILREVIEW_AS_OF": "2026-11-20T12:00:00-05:00"}
	code, out, errOut := runCLI(t, env, "review", examples)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.HasPrefix(out, "{") {
		t.Errorf("UTILREVIEW_FORMAT=ndjson ignored: %.80q", out)
	}
}

func TestRulesValidate(t *testing.T) {
	t.Parallel()
	code, out, errOut := runCLI(t, nil, "rules", "validate", "../../service/rules/defaults")
	if code != 0 || !strings.Contains(out, "valid") {
		t.Fatalf("shipped rules: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "payer.yaml"), []byte("id: x\nname: X\nversion: \"1\"\neffective: {from: 2025-01-01}\nprogram: medicar\nmatch: {names: [x]}\nchecks:\n  gmlos: {enabled: true, factor: -1}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = runCLI(t, nil, "rules", "validate", dir)
	if code != 1 {
		t.Fatalf("bad rules: exit %d, want 1", code)
	}
	for _, want := range []string{"payer.yaml", "program", "checks.gmlos.factor"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	code, _, errOut = runCLI(t, nil, "review", "--rules", dir, examples)
	if code != 1 || !strings.Contains(errOut, "--rules") {
		t.Errorf("review with bad --rules: exit %d, stderr %q", code, errOut)
	}
}

// Every Task.code in the Bundle must be a concept of the check CodeSystem
// written with it, custom checks included: a server validating the Tasks
// rejects a code missing from a complete CodeSystem.
func TestReviewCheckCodeSystemListsEveryTaskCode(t *testing.T) {
	t.Parallel()
	code, out, errOut := runCLI(t, nil, "review", "--format", "fhir", "--include-codesystems",
		"--as-of", "2026-11-20T12:00:00-05:00", examples)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var bundle struct {
		Entry []struct {
			Resource struct {
				ResourceType string `json:"resourceType"`
				URL          string `json:"url"`
				Concept      []struct {
					Code string `json:"code"`
				} `json:"concept"`
				Code struct {
					Coding []struct {
						System string `json:"system"`
						Code   string `json:"code"`
					} `json:"coding"`
				} `json:"code"`
			} `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal([]byte(out), &bundle); err != nil {
		t.Fatal(err)
	}
	concepts := map[string]map[string]bool{}
	for _, e := range bundle.Entry {
		if e.Resource.ResourceType == "CodeSystem" {
			m := map[string]bool{}
			for _, c := range e.Resource.Concept {
				m[c.Code] = true
			}
			concepts[e.Resource.URL] = m
		}
	}
	tasks, custom := 0, 0
	for _, e := range bundle.Entry {
		if e.Resource.ResourceType != "Task" {
			continue
		}
		tasks++
		for _, c := range e.Resource.Code.Coding {
			cs, ok := concepts[c.System]
			if !ok {
				t.Errorf("Task.code system %q: no such CodeSystem in the Bundle", c.System)
				continue
			}
			if !cs[c.Code] {
				t.Errorf("Task.code %q is not a concept of %s", c.Code, c.System)
			}
			if strings.HasPrefix(c.Code, "custom:") {
				custom++
			}
		}
	}
	if tasks == 0 || custom == 0 {
		t.Errorf("%d Tasks, %d with a custom check code; the examples should give both", tasks, custom)
	}
}

// Task.owner and CommunicationRequest.sender come from --owner/--sender and
// UTILREVIEW_OWNER_*/UTILREVIEW_SENDER; flags win over the environment.
func TestReviewOwnerAndSender(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"UTILREVIEW_OWNER_UR_TEAM":           "PractitionerRole/env-team",
		"UTILREVIEW_OWNER_PHYSICIAN_ADVISOR": "Practitioner/pa-1|Dr. Advisor",
		"UTILREVIEW_SENDER":                  "Organization/env-sender",
	}
	code, out, errOut := runCLI(t, env, "review", "--format", "fhir", "--as-of", "2026-11-20T12:00:00-05:00",
		"--owner", "ur-team=PractitionerRole/ur-nurses|UR nurses",
		"--owner", "billing=https://ehr.example.org/fhir/Organization/pfs",
		"--sender", "Organization/ur-dept|Utilization Review", examples)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		`"owner":{"reference":"PractitionerRole/ur-nurses","type":"PractitionerRole","display":"UR nurses"}`,
		`"owner":{"reference":"Practitioner/pa-1","type":"Practitioner","display":"Dr. Advisor"}`,
		`"sender":{"reference":"Organization/ur-dept","type":"Organization","display":"Utilization Review"}`,
		`"owner":{"reference":"https://ehr.example.org/fhir/Organization/pfs","type":"Organization"}`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("Bundle lacks %s", want)
		}
	}
	if strings.Contains(out, "env-team") || strings.Contains(out, "env-sender") {
		t.Error("the environment won over a flag")
	}
}

func TestOwnerUsageErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--owner", "nurses=PractitionerRole/x"}, nil, `role "nurses"`},
		{[]string{"--owner", "ur-team"}, nil, "ROLE=REFERENCE"},
		{[]string{"--owner", "ur-team=|UR nurses"}, nil, "no reference"},
		{[]string{"--owner", "ur-team=ur nurses"}, nil, "want Type/id"},
		{[]string{"--owner", "ur-team=Encounter/e1"}, nil, "type Encounter not allowed"},
		{[]string{"--owner", "ur-team=ftp://x/PractitionerRole/a"}, nil, "http(s)"},
		{[]string{"--sender", "CareTeam/ct"}, nil, "--sender"},
		{nil, map[string]string{"UTILREVIEW_OWNER_BILLING": "billing-team"}, "UTILREVIEW_OWNER_BILLING"},
		{nil, map[string]string{"UTILREVIEW_SENDER": "Organization/"}, "--sender"},
	}
	for _, c := range cases {
		args := append(append([]string{"review"}, c.args...), examples)
		code, _, errOut := runCLI(t, c.env, args...)
		if code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v %v: exit %d, stderr %q; want 2 and %q", c.args, c.env, code, errOut, c.want)
		}
	}
	for _, ok := range []string{"PractitionerRole/ur-nurses|UR nurses", "https://ehr.example.org/fhir/CareTeam/ur|UR"} {
		if _, err := parseReference(ok, ownerTypes); err != nil {
			t.Errorf("parseReference(%q): %v", ok, err)
		}
	}
}

func TestStaleDaysFromEnvironment(t *testing.T) {
	t.Parallel()
	env := map[string]string{"UTILREVIEW_STALE_DAYS": "x"}
	if code, _, errOut := runCLI(t, env, "review", examples); code != 2 || !strings.Contains(errOut, "UTILREVIEW_STALE_DAYS") {
		t.Errorf("bad UTILREVIEW_STALE_DAYS: exit %d, stderr %q; want 2", code, errOut)
	}
	cfg, _, err := parseReviewFlags([]string{examples}, func(k string) string { return map[string]string{"UTILREVIEW_STALE_DAYS": "30"}[k] }, io.Discard, io.Discard)
	if err != nil || cfg.StaleDays != 30 {
		t.Errorf("UTILREVIEW_STALE_DAYS=30: StaleDays %v, err %v; want 30", cfg, err)
	}
	cfg, _, err = parseReviewFlags([]string{"--stale-days", "40", examples}, func(k string) string { return map[string]string{"UTILREVIEW_STALE_DAYS": "30"}[k] }, io.Discard, io.Discard)
	if err != nil || cfg.StaleDays != 40 {
		t.Errorf("--stale-days 40 over UTILREVIEW_STALE_DAYS=30: %v, err %v; want 40", cfg, err)
	}
}

func TestRulesDirMissing(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "nonexistent")
	code, _, errOut := runCLI(t, nil, "review", "--rules", dir, examples)
	if code != 1 || !strings.Contains(errOut, dir) || !strings.Contains(errOut, "does not exist") || strings.Contains(errOut, "open .") {
		t.Errorf("--rules %s: exit %d, stderr %q; want 1, the directory and the reason", dir, code, errOut)
	}
	code, _, errOut = runCLI(t, nil, "rules", "validate", dir)
	if code != 1 || !strings.Contains(errOut, dir) || !strings.Contains(errOut, "does not exist") {
		t.Errorf("rules validate %s: exit %d, stderr %q", dir, code, errOut)
	}
}

// A payer's CEL check that cannot be evaluated on the data is named in the
// summary rather than silently never firing.
func TestReviewReportsCustomCheckErrors(t *testing.T) {
	t.Parallel()
	base, err := os.ReadFile("../../service/rules/defaults/default-commercial.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	rule := string(base) + "\ncustom:\n  - id: needs-end\n    on: encounter\n    priority: routine\n    when: encounter.end > encounter.start\n    message: \"x\"\n    deadline_hours: 1\n"
	if strings.Contains(string(base), "\ncustom:") {
		t.Fatal("the default rule set now has custom checks: append this one to its list instead")
	}
	if err := os.WriteFile(filepath.Join(dir, "default.yaml"), []byte(rule), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCLI(t, nil, "review", "--rules", dir, "--as-of", "2026-11-20T12:00:00-05:00", examples)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(errOut, "Custom check custom:needs-end could not be evaluated") {
		t.Errorf("summary does not name the failing custom check:\n%s", errOut)
	}
}

// The progress bar draws only for many files, and clears its line at the end.
func TestProgressBar(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	few := &progressBar{w: &b, min: 20}
	few.update(1, 3)
	few.finish()
	if b.Len() != 0 {
		t.Errorf("drew %q for 3 files, want nothing", b.String())
	}
	many := &progressBar{w: &b, min: 20}
	many.update(10, 40)
	if !strings.Contains(b.String(), "10/40 files") || !strings.Contains(b.String(), "[=======") {
		t.Errorf("got %q, want a bar at 10/40", b.String())
	}
	many.finish()
	if !strings.HasSuffix(b.String(), "\r\033[K") {
		t.Errorf("finish left %q, want the line cleared", b.String())
	}
	var none *progressBar
	none.finish() // no bar (not a terminal): finishing is a no-op
}

// Payers that match no rule set get the default rules, one
// payer-not-configured finding per stay, and a line in the summary with
// their names and counts, in the text summary and in --format json (issue 7
// point 9). A rule directory with only the default commercial rule set
// leaves the examples' Medicare, Acme and Capital payers unmatched.
func TestReviewSummaryListsUnmatchedPayers(t *testing.T) {
	t.Parallel()
	base, err := os.ReadFile("../../service/rules/defaults/default-commercial.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "default.yaml"), base, 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCLI(t, nil, "review", "--rules", dir, "--as-of", "2026-11-20T12:00:00-05:00", examples)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(errOut, `Payers matching no rule set (default rules applied; stays and claims): "Acme Health Plan" 1, "Capital Insurance Company" 2, "Medicare" 11`) {
		t.Errorf("summary does not list the unmatched payers:\n%s", errOut)
	}
	code, out, errOut := runCLI(t, nil, "review", "--rules", dir, "--format", "json", "--as-of", "2026-11-20T12:00:00-05:00", examples)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var doc struct {
		Summary struct {
			PerCheck        map[string]int `json:"findings_per_check"`
			UnmatchedPayers map[string]int `json:"unmatched_payers"`
		} `json:"summary"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if u := doc.Summary.UnmatchedPayers; len(u) != 3 || u["Medicare"] != 11 || u["Capital Insurance Company"] != 2 || u["Acme Health Plan"] != 1 {
		t.Errorf("json unmatched_payers %v", u)
	}
	if n := doc.Summary.PerCheck["payer-not-configured"]; n != 7 {
		t.Errorf("payer-not-configured %d, want 7 (one per inpatient or observation stay with a payer)", n)
	}
	// With the shipped rule sets every example payer is configured.
	code, out, _ = runCLI(t, nil, "review", "--format", "json", "--as-of", "2026-11-20T12:00:00-05:00", examples)
	if code != 0 || strings.Contains(out, "unmatched_payers") {
		t.Errorf("shipped rules: exit %d, unmatched payers listed: %v", code, strings.Contains(out, "unmatched_payers"))
	}
}
