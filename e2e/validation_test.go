package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/utilreview/utilreview/e2e/harness"
)

// The server validates every write with HAPI's validator against the R4 base definitions and rejects errors
// with 422 and an OperationOutcome, storing nothing: what the JSON schema lets through is caught here.
func TestValidatorRejectsInvalidResources(t *testing.T) {
	t.Parallel()
	c := harness.NewFHIR(t)

	input := func(values map[string]any) []any {
		in := map[string]any{"type": map[string]any{"text": "evidence"}}
		for k, v := range values {
			in[k] = v
		}
		return []any{in}
	}
	tests := []struct {
		name      string
		change    func(task map[string]any)
		wantError string // "" = accepted
	}{
		{"valid Task is accepted", func(map[string]any) {}, ""},
		{"Task without status", func(task map[string]any) { delete(task, "status") }, "Task.status"},
		{"Task input with two value[x]", func(task map[string]any) {
			task["input"] = input(map[string]any{"valueString": "a", "valueBoolean": true})
		}, "Unrecognized property 'value"},
		{"Task input as the samply models marshal it (every value[x], empty)", func(task map[string]any) {
			task["input"] = input(map[string]any{"valueBase64Binary": "", "valueBoolean": false, "valueString": "a"})
		}, "value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tag := harness.UniqueTag(t)
			task := taggedTask(tag, harness.UniqueID("validation"))
			tt.change(task)

			r := c.Post("Task", task, nil)
			if tt.wantError == "" {
				r.MustStatus(t, http.StatusCreated)
				return
			}
			r.MustStatus(t, http.StatusUnprocessableEntity)
			assertErrorOutcome(t, r, tt.wantError)
			var b harness.Bundle
			c.Get(harness.Query("Task", "_tag", tag.Param(), "_summary", "count")).Decode(t, &b)
			if b.Total == nil || *b.Total != 0 {
				t.Errorf("rejected Task stored anyway: total %v", b.Total)
			}

			// Inside a transaction the whole Bundle is rejected.
			tx := map[string]any{
				"resourceType": "Bundle",
				"type":         "transaction",
				"entry": []any{
					map[string]any{"resource": encounter(tag, "planned"), "request": map[string]any{"method": "POST", "url": "Encounter"}},
					map[string]any{"resource": task, "request": map[string]any{"method": "POST", "url": "Task"}},
				},
			}
			r = c.Post("", tx, nil).MustStatus(t, http.StatusUnprocessableEntity)
			assertErrorOutcome(t, r, tt.wantError)
			c.Get(harness.Query("Encounter", "_tag", tag.Param(), "_summary", "count")).Decode(t, &b)
			if b.Total == nil || *b.Total != 0 {
				t.Errorf("rejected transaction stored its Encounter anyway: total %v", b.Total)
			}
		})
	}
}

func assertErrorOutcome(t *testing.T, r *harness.Response, mention string) {
	t.Helper()
	var oo struct {
		ResourceType string `json:"resourceType"`
		Issue        []struct {
			Severity    string `json:"severity"`
			Diagnostics string `json:"diagnostics"`
		} `json:"issue"`
	}
	r.Decode(t, &oo)
	if oo.ResourceType != "OperationOutcome" {
		t.Fatalf("got %s, want OperationOutcome", oo.ResourceType)
	}
	var errs []string
	for _, is := range oo.Issue {
		if is.Severity == "error" || is.Severity == "fatal" {
			errs = append(errs, is.Diagnostics)
		}
	}
	if len(errs) == 0 || !strings.Contains(strings.Join(errs, "\n"), mention) {
		t.Errorf("got error issues %q, want one mentioning %q", errs, mention)
	}
	t.Logf("rejected: %s", strings.Join(errs, " | "))
}
