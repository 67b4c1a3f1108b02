package fhir_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/utilreview/utilreview/fhir"
)

func TestCheckConformance(t *testing.T) {
	tests := []struct {
		name string
		json string
		want []string // substrings of the errors, in order; none for a conforming resource
	}{
		{"minimal Task", `{"resourceType":"Task","status":"requested","intent":"order"}`, nil},
		{"Task without status and intent", `{"resourceType":"Task"}`,
			[]string{"Task.status: required element missing", "Task.intent: required element missing"}},
		{"Task bad status", `{"resourceType":"Task","status":"done","intent":"order"}`, []string{`Task.status: "done" is not one of`}},
		{"Task bad priority", `{"resourceType":"Task","status":"requested","intent":"order","priority":"high"}`, []string{`Task.priority: "high"`}},
		{"Task input without value", `{"resourceType":"Task","status":"requested","intent":"order","input":[{"type":{"text":"t"}}]}`,
			[]string{"Task.input[0]: value[x] missing"}},
		{"Task input without type", `{"resourceType":"Task","status":"requested","intent":"order","input":[{"valueInteger":1}]}`,
			[]string{"Task.input[0].type: required element missing"}},
		{"Task output two values", `{"resourceType":"Task","status":"completed","intent":"order","output":[{"type":{"text":"t"},"valueInteger":1,"valueDecimal":1.5}]}`,
			[]string{"Task.output[0]: 2 values for the choice element value[x] (valueDecimal, valueInteger)"}},
		{"Task reasonCode and reasonReference are separate elements", `{"resourceType":"Task","status":"requested","intent":"order","reasonCode":{"text":"a"},"reasonReference":{"reference":"Condition/1"}}`, nil},
		{"empty string", `{"resourceType":"Task","status":"requested","intent":"order","description":""}`, []string{"Task.description: empty string"}},
		{"empty object", `{"resourceType":"Task","status":"requested","intent":"order","focus":{}}`, []string{"Task.focus: empty object"}},
		{"empty array", `{"resourceType":"Task","status":"requested","intent":"order","input":[]}`, []string{"Task.input: empty array"}},
		{"null", `{"resourceType":"Task","status":"requested","intent":"order","description":null}`, []string{"Task.description: null value"}},
		{"null in a primitive array with extensions", `{"resourceType":"Patient","name":[{"given":["A",null],"_given":[null,{"extension":[{"url":"u","valueString":"x"}]}]}]}`, nil},
		{"null in an array without extensions", `{"resourceType":"Patient","name":[{"given":["A",null]}]}`, []string{"Patient.name[0].given[1]: null value"}},
		{"extension without url or value", `{"resourceType":"Patient","extension":[{"valueString":"x"},{"url":"u"}]}`,
			[]string{"Patient.extension[0]: extension without url", "Patient.extension[1]: extension has neither value[x] nor nested extensions"}},
		{"extension with value and nested", `{"resourceType":"Patient","extension":[{"url":"u","valueString":"x","extension":[{"url":"v","valueBoolean":true}]}]}`,
			[]string{"Patient.extension[0]: extension has both value[x] and nested extensions"}},
		{"missing resourceType", `{"status":"requested"}`, []string{"(resource): resourceType missing"}},
		{"CommunicationRequest conforming", `{"resourceType":"CommunicationRequest","status":"active","payload":[{"contentString":"x"}],"occurrenceDateTime":"2024-01-01T00:00:00Z"}`, nil},
		{"CommunicationRequest without status", `{"resourceType":"CommunicationRequest"}`, []string{"CommunicationRequest.status: required element missing"}},
		{"CommunicationRequest payload two contents", `{"resourceType":"CommunicationRequest","status":"active","payload":[{"contentString":"x","contentReference":{"reference":"Binary/1"}}]}`,
			[]string{"CommunicationRequest.payload[0]: 2 values for the choice element content[x]"}},
		{"CommunicationRequest payload without content", `{"resourceType":"CommunicationRequest","status":"active","payload":[{"id":"p"}]}`,
			[]string{"CommunicationRequest.payload[0]: content[x] missing"}},
		{"CommunicationRequest payload wrong content type", `{"resourceType":"CommunicationRequest","status":"active","payload":[{"contentBoolean":true}]}`,
			[]string{"CommunicationRequest.payload[0]: contentBoolean is not an allowed type of content[x]"}},
		{"CommunicationRequest two occurrences", `{"resourceType":"CommunicationRequest","status":"active","occurrenceDateTime":"2024","occurrencePeriod":{"start":"2024"}}`,
			[]string{"CommunicationRequest: 2 values for the choice element occurrence[x]"}},
		{"CodeSystem conforming", `{"resourceType":"CodeSystem","status":"active","content":"complete","concept":[{"code":"a","concept":[{"code":"b"}]}]}`, nil},
		{"CodeSystem without status and content", `{"resourceType":"CodeSystem"}`,
			[]string{"CodeSystem.status: required element missing", "CodeSystem.content: required element missing"}},
		{"CodeSystem duplicate nested code", `{"resourceType":"CodeSystem","status":"active","content":"complete","concept":[{"code":"a","concept":[{"code":"a"}]}]}`,
			[]string{`CodeSystem.concept[0].concept[0].code: duplicate code "a"`}},
		{"CodeSystem concept without code", `{"resourceType":"CodeSystem","status":"active","content":"complete","concept":[{"display":"A"}]}`,
			[]string{"CodeSystem.concept[0].code: required element missing"}},
		{"Bundle without type", `{"resourceType":"Bundle"}`, []string{"Bundle.type: required element missing"}},
		{"transaction entry without request", `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Task","status":"requested","intent":"order"}}]}`,
			[]string{"Bundle.entry[0].request: required in a transaction Bundle"}},
		{"transaction request without url, bad method", `{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"SEND"}}]}`,
			[]string{`Bundle.entry[0].request.method: "SEND"`, "Bundle.entry[0].request.url: required element missing"}},
		{"collection entry with request", `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Basic","code":{"text":"x"}},"request":{"method":"GET","url":"x"}}]}`,
			[]string{"Bundle.entry[0].request: not allowed in a collection Bundle"}},
		{"response Bundle without response", `{"resourceType":"Bundle","type":"batch-response","entry":[{"resource":{"resourceType":"Basic","code":{"text":"x"}}}]}`,
			[]string{"Bundle.entry[0].response: required in a batch-response Bundle"}},
		{"entry with nothing", `{"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"urn:uuid:1"}]}`, []string{"Bundle.entry[0]: entry without resource"}},
		{"duplicate fullUrl", `{"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"urn:a","resource":{"resourceType":"Basic","code":{"text":"x"}}},{"fullUrl":"urn:a","resource":{"resourceType":"Basic","code":{"text":"y"}}}]}`,
			[]string{"Bundle.entry[1].fullUrl: same fullUrl as entry 0"}},
		{"entry resource checked", `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Task","intent":"order"},"request":{"method":"POST","url":"Task"}}]}`,
			[]string{"Bundle.entry[0].resource.status: required element missing"}},
		{"contained resource checked", `{"resourceType":"Claim","contained":[{"resourceType":"Task","status":"requested","intent":"order","description":""}]}`,
			[]string{"Claim.contained[0].description: empty string"}},
		{"not an object", `[1]`, []string{"not an object"}},
		{"invalid JSON", `{"resourceType":`, []string{"invalid JSON"}},
		{"trailing data", `{"resourceType":"Basic","code":{"text":"x"}} {}`, []string{"data after"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := fhir.CheckConformance([]byte(tt.json))
			if len(errs) != len(tt.want) {
				t.Fatalf("got %d errors, want %d:\n%s", len(errs), len(tt.want), errorsText(errs))
			}
			for i, w := range tt.want {
				if !strings.Contains(errs[i].Error(), w) {
					t.Errorf("error %d: got %q, want it to contain %q", i, errs[i], w)
				}
			}
		})
	}
}

// TestConformanceExamples runs the checker over the HL7 R4, Da Vinci and
// Synthea examples: published, valid resources must give no error, or the
// checker would cry wolf (this is how reasonCode/reasonReference and the
// like were found to be separate elements, not a choice).
func TestConformanceExamples(t *testing.T) {
	const data = "../testdata/shared/data" // the repository's copy (testdata/shared/PROVENANCE.md)
	var files int
	for _, dir := range []string{"fhir-r4-examples", "davinci/pas-2.2.1", "davinci/crd-2.0.1", "synthea"} {
		root := filepath.Join(data, filepath.FromSlash(dir))
		err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || filepath.Ext(p) != ".json" {
				return nil
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			files++
			for _, e := range fhir.CheckConformance(b) {
				t.Errorf("%s: %v", p, e)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("walk %s: %v", root, err)
		}
	}
	if files < 50 {
		t.Fatalf("checked %d example files, want the shared data (%s)", files, data)
	}
}
