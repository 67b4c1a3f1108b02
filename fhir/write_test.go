package fhir_test

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/utilreview/utilreview/fhir"
	"github.com/utilreview/utilreview/fhir/fhirtest"
)

func mustDecode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("invalid JSON %s: %v", b, err)
	}
	return m
}

// valueMembers returns the members of an object whose name starts with prefix.
func valueMembers(m map[string]any, prefix string) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		if strings.HasPrefix(k, prefix) {
			out[k] = v
		}
	}
	return out
}

func TestValueWritesExactlyOne(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		v      fhir.Value
		member string // "" when nothing may be written
		want   any    // decoded JSON value
	}{
		{"integer", fhir.IntegerValue(3), "valueInteger", float64(3)},
		{"negative integer", fhir.IntegerValue(-7), "valueInteger", float64(-7)},
		{"integer beyond 32 bits", fhir.IntegerValue(1 << 40), "valueDecimal", float64(1 << 40)},
		{"decimal", fhir.DecimalValue(1.5), "valueDecimal", 1.5},
		{"decimal NaN", fhir.DecimalValue(math.NaN()), "", nil},
		{"decimal Inf", fhir.DecimalValue(math.Inf(1)), "", nil},
		{"string", fhir.StringValue("42 CFR 412.3"), "valueString", "42 CFR 412.3"},
		{"empty string", fhir.StringValue(""), "", nil},
		{"boolean false", fhir.BooleanValue(false), "valueBoolean", false},
		{"dateTime with offset", fhir.DateTimeValue(time.Date(2024, 3, 10, 1, 30, 15, 999, ny)), "valueDateTime", "2024-03-10T01:30:15-05:00"},
		{"dateTime after DST", fhir.DateTimeValue(time.Date(2024, 3, 10, 3, 30, 0, 0, ny)), "valueDateTime", "2024-03-10T03:30:00-04:00"},
		{"dateTime UTC", fhir.DateTimeValue(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)), "valueDateTime", "2024-01-02T03:04:05+00:00"},
		{"zero dateTime", fhir.DateTimeValue(time.Time{}), "", nil},
		{"date is the day in t's zone", fhir.DateValue(time.Date(2024, 3, 10, 23, 30, 0, 0, ny)), "valueDate", "2024-03-10"},
		{"date at midnight", fhir.DateValue(time.Date(2024, 3, 10, 0, 0, 0, 0, ny)), "valueDate", "2024-03-10"},
		{"zero date", fhir.DateValue(time.Time{}), "", nil},
		{"date year 10000", fhir.DateValue(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)), "", nil},
		{"year 10000", fhir.DateTimeValue(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)), "", nil},
		{"coding", fhir.CodingValue(fhir.Coding{System: "http://snomed.info/sct", Code: "1"}), "valueCoding",
			map[string]any{"system": "http://snomed.info/sct", "code": "1"}},
		{"empty coding", fhir.CodingValue(fhir.Coding{}), "", nil},
		{"concept", fhir.ConceptValue(fhir.Concept("s", "c", "d")), "valueCodeableConcept",
			map[string]any{"coding": []any{map[string]any{"system": "s", "code": "c", "display": "d"}}}},
		{"empty concept", fhir.ConceptValue(fhir.CodeableConcept{Coding: []fhir.Coding{{}}}), "", nil},
		{"reference", fhir.ReferenceValue(fhir.Reference{Reference: "Encounter/1"}), "valueReference",
			map[string]any{"reference": "Encounter/1"}},
		{"empty reference", fhir.ReferenceValue(fhir.Reference{}), "", nil},
		{"zero Value", fhir.Value{}, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			task := &fhir.Task{Status: "requested", Intent: "order",
				Input: []fhir.TaskInput{{Type: fhir.Concept("urn:x", "t", ""), Value: tt.v}}}
			m := mustDecode(t, task.AppendJSON(nil))
			inputs, _ := m["input"].([]any)
			if tt.member == "" {
				if len(inputs) != 0 || tt.v.Valid() {
					t.Fatalf("got inputs %v (valid %v), want the input left out", inputs, tt.v.Valid())
				}
				return
			}
			if len(inputs) != 1 {
				t.Fatalf("got %d inputs, want 1", len(inputs))
			}
			vs := valueMembers(inputs[0].(map[string]any), "value")
			if len(vs) != 1 {
				t.Fatalf("got value members %v, want exactly one", vs)
			}
			got, ok := vs[tt.member]
			if !ok {
				t.Fatalf("got %v, want member %s", vs, tt.member)
			}
			gb, _ := json.Marshal(got)
			wb, _ := json.Marshal(tt.want)
			if string(gb) != string(wb) {
				t.Errorf("%s: got %s, want %s", tt.member, gb, wb)
			}
		})
	}
}

func TestAppendString(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"plain", `"plain"`},
		{`quote " and \ backslash`, `"quote \" and \\ backslash"`},
		{"tab\tnl\ncr\r", `"tab\tnl\ncr\r"`},
		{"ctl\x01\x1f", `"ctl\u0001\u001f"`},
		{"<b>&amp;</b>", `"<b>&amp;</b>"`},
		{"héllo ✓", `"héllo ✓"`},
		{"bad\xffutf8", "\"bad\ufffdutf8\""},
		{"line\u2028sep", `"line\u2028sep"`},
	}
	for _, tt := range tests {
		got := string(fhir.AppendString(nil, tt.in))
		if got != tt.want {
			t.Errorf("AppendString(%q): got %s, want %s", tt.in, got, tt.want)
		}
		var back string
		if err := json.Unmarshal([]byte(got), &back); err != nil {
			t.Errorf("AppendString(%q) = %s: not valid JSON: %v", tt.in, got, err)
		}
	}
}

func sampleTask() *fhir.Task {
	loc := time.FixedZone("EST", -5*3600)
	return &fhir.Task{
		Identifier:     []fhir.Identifier{{System: "https://utilreview.dev/fhir/identifier/finding", Value: "two-midnight-0123"}},
		Status:         "requested",
		BusinessStatus: fhir.Concept("https://utilreview.dev/fhir/CodeSystem/business-status", "overdue", "Overdue"),
		Intent:         "order",
		Priority:       "urgent",
		Code:           fhir.Concept("https://utilreview.dev/fhir/CodeSystem/check", "two-midnight", "Two-midnight"),
		Description:    "Stay \"short\": review the documented expectation",
		Focus:          fhir.Reference{Reference: "Encounter/e1", Type: "Encounter"},
		For:            fhir.Reference{Reference: "Patient/p1"},
		Encounter:      fhir.Reference{Reference: "Encounter/e1"},
		AuthoredOn:     time.Date(2024, 5, 1, 8, 0, 0, 0, loc),
		Owner:          fhir.Reference{Display: "Utilization Review team"},
		ReasonCode:     fhir.Concept("http://snomed.info/sct", "22298006", ""),
		Restriction:    fhir.Period{End: time.Date(2024, 5, 2, 8, 0, 0, 0, loc)},
		Input: []fhir.TaskInput{
			{Type: fhir.Concept("urn:e", "midnights", ""), Value: fhir.IntegerValue(1)},
			{Type: fhir.Concept("urn:e", "factor", ""), Value: fhir.DecimalValue(1.25)},
			{Type: fhir.Concept("urn:e", "rule", ""), Value: fhir.StringValue("42 CFR 412.3")},
			{Type: fhir.Concept("urn:e", "exception", ""), Value: fhir.BooleanValue(false)},
			{Type: fhir.Concept("urn:e", "admitted", ""), Value: fhir.DateTimeValue(time.Date(2024, 4, 30, 22, 0, 0, 0, loc))},
			{Type: fhir.Concept("urn:e", "drg", ""), Value: fhir.ConceptValue(fhir.Concept("urn:drg", "470", ""))},
			{Type: fhir.Concept("urn:e", "claim", ""), Value: fhir.ReferenceValue(fhir.Reference{Reference: "Claim/c1"})},
			{Type: fhir.Concept("urn:e", "served", ""), Value: fhir.DateValue(time.Date(2024, 4, 29, 0, 0, 0, 0, loc))},
			{Type: fhir.Concept("urn:e", "dropped", ""), Value: fhir.StringValue("")},
		},
	}
}

// TestTaskRoundTrip writes a Task and decodes it with samply: what utilreview
// writes is readable by the same structs the reader uses.
func TestTaskRoundTrip(t *testing.T) {
	b := sampleTask().AppendJSON(nil)
	fhirtest.Conform(t, b)
	got, err := fm.UnmarshalTask(b)
	if err != nil {
		t.Fatalf("samply decode: %v", err)
	}
	if got.Status != fm.TaskStatusRequested || got.Intent != "order" {
		t.Errorf("status/intent: got %v/%q", got.Status, got.Intent)
	}
	if got.Focus == nil || got.Focus.Reference == nil || *got.Focus.Reference != "Encounter/e1" {
		t.Errorf("focus: got %+v, want Encounter/e1", got.Focus)
	}
	if got.Restriction == nil || got.Restriction.Period == nil || got.Restriction.Period.End == nil ||
		*got.Restriction.Period.End != "2024-05-02T08:00:00-05:00" {
		t.Errorf("restriction.period.end: got %+v", got.Restriction)
	}
	if len(got.Input) != 8 {
		t.Fatalf("got %d inputs, want 8 (the empty string left out)", len(got.Input))
	}
	if got.Input[0].ValueInteger != 1 || got.Input[1].ValueDecimal.String() != "1.25" || got.Input[2].ValueString != "42 CFR 412.3" ||
		got.Input[4].ValueDateTime != "2024-04-30T22:00:00-05:00" || got.Input[6].ValueReference.Reference == nil ||
		got.Input[7].ValueDate != "2024-04-29" {
		t.Errorf("inputs decoded wrong: %+v", got.Input)
	}
	if got.Description == nil || *got.Description != `Stay "short": review the documented expectation` {
		t.Errorf("description: got %v", got.Description)
	}
}

func TestResourcesConform(t *testing.T) {
	loc := time.FixedZone("", 2*3600)
	cr := &fhir.CommunicationRequest{
		Identifier:         []fhir.Identifier{{System: "urn:s", Value: "v"}},
		BasedOn:            []fhir.Reference{{Type: "Task", Identifier: fhir.Identifier{System: "urn:s", Value: "t"}}},
		Status:             "active",
		Category:           []fhir.CodeableConcept{fhir.Concept("urn:c", "payer-notification", ""), {}},
		Priority:           "urgent",
		Subject:            fhir.Reference{Reference: "Patient/p"},
		About:              []fhir.Reference{{Reference: "Encounter/e"}, {}},
		Payload:            []fhir.Value{fhir.StringValue("notify"), fhir.IntegerValue(3), fhir.StringValue("")},
		OccurrenceDateTime: time.Date(2024, 1, 1, 0, 0, 0, 0, loc),
		Recipient:          []fhir.Reference{{Display: "medicare"}},
		Sender:             fhir.Reference{Display: "UR"},
	}
	crJSON := cr.AppendJSON(nil)
	cs := &fhir.CodeSystem{ID: "x", URL: "https://utilreview.dev/fhir/CodeSystem/x", Name: "X", Status: "active",
		Content: "complete", CaseSensitive: true,
		Concept: []fhir.CodeSystemConcept{{Code: "a", Display: "A"}, {Code: ""}, {Code: "b", Definition: "B"}}}
	csJSON := cs.AppendJSON(nil)
	bw := fhir.NewBundleWriter(nil, "transaction")
	bw.Add(fhir.BundleEntry{FullURL: "urn:uuid:0b7d6a1e-4c1b-5d7e-8f00-000000000001", Resource: sampleTask(),
		Request: fhir.BundleRequest{Method: "POST", URL: "Task", IfNoneExist: "identifier=urn:s|v"}})
	bw.Add(fhir.BundleEntry{FullURL: "urn:uuid:0b7d6a1e-4c1b-5d7e-8f00-000000000002", Resource: cr,
		Request: fhir.BundleRequest{Method: "POST", URL: "CommunicationRequest"}})
	bw.Add(fhir.BundleEntry{FullURL: "urn:uuid:0b7d6a1e-4c1b-5d7e-8f00-000000000003", Resource: cs,
		Request: fhir.BundleRequest{Method: "PUT", URL: "CodeSystem/x"}})
	bundle := bw.Finish()
	empty := fhir.NewBundleWriter(nil, "transaction").Finish()
	// Taken entry by entry (review --format fhir streams it), the same bytes.
	sw := fhir.NewBundleWriter(nil, "transaction")
	var taken []byte
	sw.Add(fhir.BundleEntry{FullURL: "urn:uuid:0b7d6a1e-4c1b-5d7e-8f00-000000000001", Resource: sampleTask(),
		Request: fhir.BundleRequest{Method: "POST", URL: "Task", IfNoneExist: "identifier=urn:s|v"}})
	taken = append(taken, sw.Take()...)
	sw.Add(fhir.BundleEntry{FullURL: "urn:uuid:0b7d6a1e-4c1b-5d7e-8f00-000000000002", Resource: cr,
		Request: fhir.BundleRequest{Method: "POST", URL: "CommunicationRequest"}})
	taken = append(taken, sw.Take()...)
	taken = append(taken, sw.Take()...) // nothing new
	sw.Add(fhir.BundleEntry{FullURL: "urn:uuid:0b7d6a1e-4c1b-5d7e-8f00-000000000003", Resource: cs,
		Request: fhir.BundleRequest{Method: "PUT", URL: "CodeSystem/x"}})
	taken = append(taken, sw.Finish()...)
	if !bytes.Equal(taken, bundle) {
		t.Errorf("the Bundle taken entry by entry differs:\n got %s\nwant %s", taken, bundle)
	}

	for name, b := range map[string][]byte{"CommunicationRequest": crJSON, "CodeSystem": csJSON, "Bundle": bundle, "empty Bundle": empty} {
		t.Run(name, func(t *testing.T) { fhirtest.Conform(t, b) })
	}

	m := mustDecode(t, crJSON)
	if p := m["payload"].([]any); len(p) != 1 {
		t.Errorf("payload: got %v, want only the string content", p)
	}
	if c := m["category"].([]any); len(c) != 1 {
		t.Errorf("category: got %v, want the empty concept left out", c)
	}
	if a := m["about"].([]any); len(a) != 1 {
		t.Errorf("about: got %v, want the empty reference left out", a)
	}
	cm := mustDecode(t, csJSON)
	if cm["count"] != float64(2) || len(cm["concept"].([]any)) != 2 {
		t.Errorf("CodeSystem: got count %v, concepts %v; want 2 and 2", cm["count"], cm["concept"])
	}
	bm := mustDecode(t, bundle)
	if n := len(bm["entry"].([]any)); n != 3 {
		t.Errorf("bundle: got %d entries, want 3", n)
	}
	if string(empty) != `{"resourceType":"Bundle","type":"transaction"}` {
		t.Errorf("empty bundle: got %s", empty)
	}
}

// TestSamplyPitfall proves the checks catch what samply's TaskInput writes:
// every value[x] at once, most of them empty.
func TestSamplyPitfall(t *testing.T) {
	status := fm.TaskStatusRequested
	code := "x"
	task := fm.Task{Status: status, Intent: "order", Input: []fm.TaskInput{{
		Type:        fm.CodeableConcept{Coding: []fm.Coding{{Code: &code}}},
		ValueString: "hello",
	}}}
	b, err := json.Marshal(task)
	if err != nil {
		t.Fatal(err)
	}
	schemaErrs := fhirtest.Schema(b)
	confErrs := fhir.CheckConformance(b)
	if len(schemaErrs) == 0 {
		t.Errorf("schema accepted samply's TaskInput: %s", b)
	}
	if len(confErrs) == 0 {
		t.Errorf("conformance accepted samply's TaskInput: %s", b)
	}
	joined := errorsText(confErrs)
	for _, want := range []string{"Task.input[0]: ", "values for the choice element value[x]", "empty string"} {
		if !strings.Contains(joined, want) {
			t.Errorf("conformance errors lack %q:\n%s", want, joined)
		}
	}
}

// TestTwoValuesPassSchema shows why the conformance check exists: two
// non-empty value[x] pass the R4 JSON schema, and the checker rejects them.
func TestTwoValuesPassSchema(t *testing.T) {
	b := []byte(`{"resourceType":"Task","status":"requested","intent":"order",
		"input":[{"type":{"text":"x"},"valueString":"a","valueBoolean":true}]}`)
	if errs := fhirtest.Schema(b); len(errs) != 0 {
		t.Fatalf("schema: got %v, want it to pass (it cannot see two value[x])", errs)
	}
	errs := fhir.CheckConformance(b)
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "2 values for the choice element value[x] (valueBoolean, valueString)") {
		t.Errorf("got %v, want one two-values error", errs)
	}
	missing := []byte(`{"resourceType":"Task","input":[{"type":{"text":"x"},"valueString":"a"}]}`)
	if errs := fhirtest.Schema(missing); len(errs) != 0 {
		t.Fatalf("schema: got %v, want it to pass (it does not require status)", errs)
	}
	if got := errorsText(fhir.CheckConformance(missing)); !strings.Contains(got, "Task.status: required element missing") ||
		!strings.Contains(got, "Task.intent: required element missing") {
		t.Errorf("got %s, want status and intent missing", got)
	}
}

func errorsText(errs []error) string {
	var b strings.Builder
	for _, e := range errs {
		b.WriteString(e.Error())
		b.WriteByte('\n')
	}
	return b.String()
}
