package main

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"strings"
	"testing"
)

// mootDoc is the json output's shape for moot findings.
type mootDoc struct {
	Findings []map[string]any `json:"findings"`
	Moot     []map[string]any `json:"moot"`
	Summary  struct {
		Findings       int            `json:"findings"`
		Missed         int            `json:"missed"`
		MissedPerCheck map[string]int `json:"missed_per_check"`
		NotRaised      int            `json:"missed_not_raised"`
	} `json:"summary"`
}

// TestReviewMoot: over the examples as of 2026-11-20, p2's stays ended
// days before, so their Important Messages (42 CFR 405.1205(b)), their
// admission reviews (42 CFR 482.30(d)) and the SNF warning (42 CFR 409.30)
// are past their horizon, discharge. By default
// they are not raised, only counted as missed; --include-moot (or
// UTILREVIEW_INCLUDE_MOOT) raises them, marked missed, and the json output
// lists them under "moot", apart from the work that can still be done.
func TestReviewMoot(t *testing.T) {
	t.Parallel()
	args := []string{"review", "--format", "json", "--as-of", "2026-11-20T12:00:00-05:00"}
	decode := func(out string) mootDoc {
		t.Helper()
		var d mootDoc
		if err := json.Unmarshal([]byte(out), &d); err != nil {
			t.Fatalf("json output: %v", err)
		}
		return d
	}
	code, out, errOut := runCLI(t, nil, append(args, examples)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	def := decode(out)
	wantMissed := map[string]int{"admission-review": 2, "important-message": 2, "snf-three-day": 1}
	const nMoot = 5
	if def.Summary.Missed != nMoot || def.Summary.NotRaised != nMoot || !maps.Equal(def.Summary.MissedPerCheck, wantMissed) {
		t.Errorf("summary: missed %d, not raised %d, per check %v; want %d, %d, %v", def.Summary.Missed, def.Summary.NotRaised, def.Summary.MissedPerCheck, nMoot, nMoot, wantMissed)
	}
	if def.Moot != nil || strings.Contains(out, `"moot": [`) {
		t.Errorf("the moot key is there without --include-moot")
	}
	for _, f := range def.Findings {
		if f["moot"] == true || f["status"] == "missed" {
			t.Errorf("a moot finding raised by default: %v", f)
		}
	}
	if !strings.Contains(errOut, "Missed: 5 past their check's actionable horizon (moot), 5 of them not raised") {
		t.Errorf("summary on stderr does not count the missed findings:\n%s", errOut)
	}

	for _, run := range []struct {
		name string
		env  map[string]string
		args []string
	}{
		{"flag", nil, append(append([]string(nil), args...), "--include-moot", examples)},
		{"environment", map[string]string{"UTILREVIEW_INCLUDE_MOOT": "true"}, append(append([]string(nil), args...), examples)},
	} {
		code, out, errOut := runCLI(t, run.env, run.args...)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", run.name, code, errOut)
		}
		d := decode(out)
		if len(d.Findings) != len(def.Findings) || len(d.Moot) != nMoot {
			t.Errorf("%s: %d findings and %d moot, want %d and %d", run.name, len(d.Findings), len(d.Moot), len(def.Findings), nMoot)
		}
		for _, f := range d.Moot {
			if f["moot"] != true || f["status"] != "missed" || f["actionable_until"] == nil {
				t.Errorf("%s: moot record %v", run.name, f)
			}
		}
		if d.Summary.Missed != nMoot || d.Summary.NotRaised != 0 {
			t.Errorf("%s: summary missed %d, not raised %d; want %d, 0", run.name, d.Summary.Missed, d.Summary.NotRaised, nMoot)
		}
	}

	// The table marks them; the FHIR Bundle writes their Tasks as missed.
	code, out, errOut = runCLI(t, nil, "review", "--include-moot", "--as-of", "2026-11-20T12:00:00-05:00", examples)
	if code != 0 || strings.Count(out, " MISSED") != nMoot {
		t.Errorf("table with --include-moot: exit %d, %d MISSED lines, want %d:\n%s%s", code, strings.Count(out, " MISSED"), nMoot, out, errOut)
	}
	code, out, errOut = runCLI(t, nil, "review", "--include-moot", "--format", "fhir", "--as-of", "2026-11-20T12:00:00-05:00", examples)
	if code != 0 || strings.Count(out, `"code":"missed"`) != nMoot {
		t.Errorf("fhir with --include-moot: exit %d, %d Tasks missed, want %d (%s)", code, strings.Count(out, `"code":"missed"`), nMoot, errOut)
	}
}

// TestIncludeMootConfiguration: --include-moot and UTILREVIEW_INCLUDE_MOOT
// are engine settings, read alike by review and serve (flags win); a value
// that is not a boolean is a usage error.
func TestIncludeMootConfiguration(t *testing.T) {
	t.Parallel()
	env := func(v string) func(string) string {
		return func(k string) string {
			return map[string]string{"UTILREVIEW_INCLUDE_MOOT": v, "UTILREVIEW_FHIR_URL": "http://127.0.0.1:1/fhir",
				"UTILREVIEW_REDIS_URL": "redis://127.0.0.1:1/0", "UTILREVIEW_WEBHOOK_SECRET": "0123456789abcdef0123"}[k]
		}
	}
	for _, tt := range []struct {
		env  string
		args []string
		want bool
	}{
		{"", nil, false},
		{"true", nil, true},
		{"1", nil, true},
		{"true", []string{"--include-moot=false"}, false},
		{"", []string{"--include-moot"}, true},
	} {
		rc, _, err := parseReviewFlags(append(append([]string(nil), tt.args...), examples), env(tt.env), io.Discard, io.Discard)
		if err != nil || rc.IncludeMoot != tt.want {
			t.Errorf("review env %q args %v: include-moot %v, err %v; want %v", tt.env, tt.args, rc != nil && rc.IncludeMoot, err, tt.want)
		}
		sc, err := parseServeFlags(append([]string{"--public-url", "http://127.0.0.1:1"}, tt.args...), env(tt.env), io.Discard, &bytes.Buffer{})
		if err != nil || sc.IncludeMoot != tt.want {
			t.Errorf("serve env %q args %v: include-moot %v, err %v; want %v", tt.env, tt.args, sc != nil && sc.IncludeMoot, err, tt.want)
		}
		if err == nil {
			opt, err := sc.options()
			if err != nil || opt.IncludeMoot != tt.want {
				t.Errorf("serve env %q: the pipeline's IncludeMoot %v, err %v", tt.env, opt.IncludeMoot, err)
			}
		}
	}
	if code, _, errOut := runCLI(t, map[string]string{"UTILREVIEW_INCLUDE_MOOT": "sometimes"}, "review", examples); code != 2 || !strings.Contains(errOut, "UTILREVIEW_INCLUDE_MOOT") {
		t.Errorf("bad UTILREVIEW_INCLUDE_MOOT: exit %d, stderr %q; want 2", code, errOut)
	}
}
