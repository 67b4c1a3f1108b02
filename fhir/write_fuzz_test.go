package fhir_test

import (
	"encoding/json"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/utilreview/utilreview/fhir"
)

// FuzzAppendString: any Go string gives valid JSON, and valid UTF-8 reads
// back unchanged.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a\"b\\c", "\x00\x1f\x7f", "\xff\xfe", "é✓\u2028\u2029", "<script>&"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := fhir.AppendString(nil, s)
		var back string
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("AppendString(%q) = %s: invalid JSON: %v", s, b, err)
		}
		if utf8.ValidString(s) && back != s {
			t.Fatalf("AppendString(%q) read back as %q", s, back)
		}
	})
}

// FuzzWriteTask: whatever text and numbers go into a Task, the JSON is valid
// and passes the conformance checker.
func FuzzWriteTask(f *testing.F) {
	f.Add("desc", "Encounter/1", "code", 1.5, int64(3), int64(0))
	f.Add("", "", "", 0.0, int64(-1), int64(253402300800))
	f.Fuzz(func(t *testing.T, text, ref, code string, dec float64, n int64, unix int64) {
		at := time.Unix(unix, 0).UTC()
		task := &fhir.Task{
			Status: "requested", Intent: "order", Description: text,
			Code:        fhir.Concept("urn:s", code, text),
			Focus:       fhir.Reference{Reference: ref},
			AuthoredOn:  at,
			Restriction: fhir.Period{End: at},
			Input: []fhir.TaskInput{
				{Type: fhir.Concept("urn:e", code, ""), Value: fhir.StringValue(text)},
				{Type: fhir.Concept("urn:e", "d", ""), Value: fhir.DecimalValue(dec)},
				{Type: fhir.Concept("urn:e", "i", ""), Value: fhir.IntegerValue(int(n))},
				{Type: fhir.Concept("urn:e", "t", ""), Value: fhir.DateTimeValue(at)},
			},
		}
		b := task.AppendJSON(nil)
		if !json.Valid(b) {
			t.Fatalf("invalid JSON: %s", b)
		}
		if errs := fhir.CheckConformance(b); len(errs) > 0 {
			t.Fatalf("conformance: %v\n%s", errs, b)
		}
	})
}

// FuzzCheckConformance: the checker never panics, whatever the input.
func FuzzCheckConformance(f *testing.F) {
	for _, s := range []string{`{}`, `[]`, `null`, `{"resourceType":"Bundle","type":"transaction","entry":[{"request":1}]}`,
		`{"resourceType":"Task","input":[1,{"valueString":""}],"extension":[null]}`,
		`{"resourceType":"CodeSystem","concept":[{"concept":"x"}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = fhir.CheckConformance(b)
	})
}
