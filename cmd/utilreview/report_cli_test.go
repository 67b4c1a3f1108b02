package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/utilreview/utilreview/service/report"
)

// TestReportCommand: `utilreview report` over the shipped examples writes
// the same numbers as JSON, CSV and HTML, flags anywhere among the paths.
func TestReportCommand(t *testing.T) {
	dir := t.TempDir()
	outs := map[string]string{}
	for _, format := range []string{"json", "csv", "html"} {
		out := filepath.Join(dir, "report."+format)
		code, stdout, stderr := runCLI(t, nil, "report", examples, "--from", "2026-09-01", "--to", "2026-11-30", "--format", format, "--out", out)
		if code != 0 || stdout != "" {
			t.Fatalf("report --format %s: exit %d, stdout %q, stderr %s", format, code, stdout, stderr)
		}
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		outs[format] = string(data)
	}
	var rep report.Report
	if err := json.Unmarshal([]byte(outs["json"]), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.From != "2026-09-01" || rep.To != "2026-11-30" || rep.TimeZone != "America/New_York" {
		t.Errorf("period %s..%s %s", rep.From, rep.To, rep.TimeZone)
	}
	stays, ok := rep.Table("los-by-month").Value("inpatient-stays", "2026-11")
	if !ok || stays == 0 {
		t.Errorf("no inpatient stay in November in the examples: %v", stays)
	}
	recs, err := csv.NewReader(strings.NewReader(outs["csv"])).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range rep.Sections {
		for _, tb := range s.Tables {
			n += len(tb.Rows) * len(tb.Columns)
		}
	}
	if len(recs)-1 != n {
		t.Errorf("CSV has %d numbers, JSON %d", len(recs)-1, n)
	}
	if !strings.HasPrefix(outs["html"], "<!DOCTYPE html>") || strings.Contains(outs["html"], "https:") || !strings.Contains(outs["html"], "<svg") {
		t.Error("the HTML is not one self-contained page with charts")
	}
	// To standard output by default, HTML by default.
	code, stdout, _ := runCLI(t, nil, "report", "--from", "2026-11-01", "--to", "2026-11-30", examples)
	if code != 0 || !strings.HasPrefix(stdout, "<!DOCTYPE html>") {
		t.Errorf("report to stdout: exit %d, %.40q", code, stdout)
	}
}

func TestReportUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"report", examples},                         // no period
		{"report", "--from", "2026-11-01", examples}, // no --to
		{"report", "--from", "2026-11", "--to", "2026-11-30", examples},
		{"report", "--from", "2026-11-30", "--to", "2026-11-01", examples},
		{"report", "--from", "2026-11-01", "--to", "2026-11-30", "--format", "pdf", examples},
		{"report", "--from", "2026-11-01", "--to", "2026-11-30"}, // no PATH
		{"report", "--nope"},
		{"report", "--from", "2026-11-01", "--to", "2026-11-30", "--fhir-url", "http://127.0.0.1:1/fhir", examples}, // both
		{"report", "--from", "2026-11-01", "--to", "2026-11-30", "--fhir-url", "ftp://x/fhir"},
	} {
		if code, _, _ := runCLI(t, nil, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	code, stdout, _ := runCLI(t, nil, "report", "--help")
	if code != 0 || !strings.Contains(stdout, "--from") || !strings.Contains(stdout, "Exit status") {
		t.Errorf("report --help: exit %d, %q", code, stdout)
	}
}

// TestReportInputProblems: bad input is reported and the report over the rest is still written, exit 1.
func TestReportInputProblems(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bad.json"), []byte(`{"resourceType": "Encounter", "id": `), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "r.json")
	code, _, stderr := runCLI(t, nil, "report", "--from", "2026-11-01", "--to", "2026-11-30", "--format", "json", "--out", out, examples, dir)
	if code != 1 || !strings.Contains(stderr, "bad.json") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	if fi, err := os.Stat(out); err != nil || fi.Size() == 0 {
		t.Errorf("the report over the rest was not written: %v", err)
	}
}
