package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/utilreview/utilreview/service/checks"
)

// Flags may come anywhere among the paths (issue 7, point 16): before, between
// and after them; "--" ends the flags.
func TestReviewFlagsAnywhere(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		args   []string
		format string
		out    string
		paths  []string
		noProg bool
	}{
		{"flags first", []string{"--format", "fhir", "--out", "x.json", "/data"}, "fhir", "x.json", []string{"/data"}, false},
		{"flags after the path", []string{"/data", "--format", "fhir", "--out", "x.json"}, "fhir", "x.json", []string{"/data"}, false},
		{"flags between paths", []string{"/a", "--format=json", "/b", "-out", "o", "/c"}, "json", "o", []string{"/a", "/b", "/c"}, false},
		{"a bool flag takes no value", []string{"/a", "--no-progress", "/b"}, "table", "", []string{"/a", "/b"}, true},
		{"a bool flag with =", []string{"/a", "--no-progress=true"}, "table", "", []string{"/a"}, true},
		{"-- ends the flags", []string{"--format", "ndjson", "--", "--format", "-odd"}, "ndjson", "", []string{"--format", "-odd"}, false},
		{"a lone - is a path", []string{"-", "--format", "json"}, "json", "", []string{"-"}, false},
		{"a value may start with -", []string{"/a", "--out", "-x.json"}, "table", "-x.json", []string{"/a"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, paths, err := parseReviewFlags(c.args, func(string) string { return "" }, io.Discard, io.Discard)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if cfg.Format != c.format || cfg.Out != c.out || !reflect.DeepEqual(paths, c.paths) || cfg.Progress == c.noProg {
				t.Errorf("format %q out %q paths %q progress %v; want %q %q %q %v", cfg.Format, cfg.Out, paths, cfg.Progress, c.format, c.out, c.paths, !c.noProg)
			}
		})
	}
}

func TestParseArgsErrors(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"/a", "--bogus"},
		{"/a", "--format"}, // no value
		{"/a", "--no-progress=maybe"},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		fs.String("format", "", "")
		fs.Bool("no-progress", false, "")
		if _, err := parseArgs(fs, args); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
}

// The command in the issue: flags after the path write the Bundle to the file
// and review nothing but the path.
func TestReviewFlagsAfterPathEndToEnd(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "x.json")
	code, stdout, errOut := runCLI(t, nil, "review", examples, "--format", "fhir", "--out", out, "--as-of", "2026-11-20")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if stdout != "" || !strings.Contains(errOut, "Reviewed 1 file(s)") {
		t.Errorf("stdout %q; stderr %q", stdout, errOut)
	}
	var b struct{ ResourceType, Type string }
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &b); err != nil || b.ResourceType != "Bundle" || b.Type != "transaction" {
		t.Errorf("--out file: %v %+v", err, b)
	}
}

func TestOtherSubcommandsTakeFlagsAnywhere(t *testing.T) {
	t.Parallel()
	// serve: a positional argument is still refused, wherever it is.
	getenv := func(k string) string {
		return map[string]string{"UTILREVIEW_FHIR_URL": "http://127.0.0.1:1/fhir", "UTILREVIEW_REDIS_URL": "redis://127.0.0.1:1", "UTILREVIEW_WEBHOOK_SECRET": "s3cret-s3cret-s3cret-s3cret"}[k]
	}
	if _, err := parseServeFlags([]string{"extra", "--listen", ":0"}, getenv, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), `unexpected argument "extra"`) {
		t.Errorf("serve extra --listen: %v", err)
	}
	cfg, err := parseServeFlags([]string{"--subscriptions", "off", "--listen", ":0"}, getenv, io.Discard, io.Discard)
	if err != nil || cfg.Listen != ":0" {
		t.Errorf("serve flags: %v %+v", err, cfg)
	}
	// rules validate: the directory then -h; --help on stdout.
	code, out, errOut := runCLI(t, nil, "rules", "validate", "../../service/rules/defaults", "--help")
	if code != 0 || !strings.HasPrefix(out, "usage: utilreview rules validate") || errOut != "" {
		t.Errorf("rules validate DIR --help: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, _, errOut = runCLI(t, nil, "rules", "validate", "a", "b")
	if code != 2 || !strings.Contains(errOut, "usage") {
		t.Errorf("rules validate a b: exit %d, stderr %q", code, errOut)
	}
	code, _, _ = runCLI(t, nil, "subscriptions", "remove", "extra", "--fhir-url", "http://127.0.0.1:1/fhir")
	if code != 2 {
		t.Errorf("subscriptions remove extra: exit %d, want 2", code)
	}
}

// review --help goes to standard output (so "| less" works) and names every
// UTILREVIEW_* variable review reads, and the exit statuses.
func TestReviewHelp(t *testing.T) {
	t.Parallel()
	code, out, errOut := runCLI(t, nil, "review", "--help")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	for _, want := range []string{"usage: utilreview review", "-format", "-role", "-wide", "Exit status:", "  0  ", "  1  ", "  2  "} {
		if !strings.Contains(out, want) {
			t.Errorf("help lacks %q", want)
		}
	}
	// Every variable parsing reads, whatever the flags, is listed.
	var read []string
	getenv := func(k string) string { read = append(read, k); return "" }
	if _, _, err := parseReviewFlags([]string{examples}, getenv, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	if len(read) < 10 {
		t.Fatalf("only %d variables read: %q", len(read), read)
	}
	for _, k := range read {
		if !strings.Contains(out, k+" ") {
			t.Errorf("help does not list %s", k)
		}
	}
	// -h is the same.
	if code, out2, _ := runCLI(t, nil, "review", examples, "-h"); code != 0 || out2 != out {
		t.Errorf("review PATH -h: exit %d, different text", code)
	}
}

// "the other input was reviewed" only when some was.
func TestInputProblemsMessage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "broken.json")
	if err := os.WriteFile(bad, []byte(`{"resourceType": "Encounter", "status": `), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		paths      []string
		want, lack string
	}{
		{[]string{bad}, "nothing was reviewed", "the other input was reviewed"},
		{[]string{filepath.Join(dir, "missing.json")}, "nothing was reviewed", "the other input was reviewed"},
		{[]string{bad, examples}, "the other input was reviewed", "nothing was reviewed"},
	}
	for _, c := range cases {
		code, out, errOut := runCLI(t, nil, append([]string{"review", "--as-of", "2026-11-20"}, c.paths...)...)
		if code != 1 || !strings.Contains(errOut, c.want) || strings.Contains(errOut, c.lack) {
			t.Errorf("%q: exit %d, stderr %q; want 1 and %q", c.paths, code, errOut, c.want)
		}
		// The table never shows an empty worklist for input it could not read.
		if strings.Contains(out, "No findings.") {
			t.Errorf("%q: the table says %q", c.paths, out)
		}
	}
}

// craftedInput is the example scenarios with patient p8 (Capital Insurance,
// an inpatient stay in progress) given an official and an old name, an MRN
// typed MR, and a payer name written over two lines.
func craftedInput(t *testing.T, family, mrn string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(examples, "ur-scenarios.json"))
	if err != nil {
		t.Fatal(err)
	}
	var b map[string]any
	if err := json.Unmarshal(data, &b); err != nil {
		t.Fatal(err)
	}
	for _, e := range b["entry"].([]any) {
		r := e.(map[string]any)["resource"].(map[string]any)
		switch r["resourceType"].(string) + "/" + r["id"].(string) {
		case "Patient/p8":
			r["name"] = []any{
				map[string]any{"use": "old", "family": "Maiden", "given": []any{"Ann"}},
				map[string]any{"use": "official", "family": family, "given": []any{"Maria", "Luisa"}},
			}
			// An account number first, then the MRN (typed MR) that the table shows.
			r["identifier"] = []any{
				map[string]any{"system": "urn:example:account", "value": "ACCT-1"},
				map[string]any{
					"type":   map[string]any{"coding": []any{map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}}},
					"system": "urn:example:mrn", "value": mrn,
				},
			}
		case "Organization/capital":
			r["name"] = "Capital Insurance\nCompany"
		}
	}
	out, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "crafted.json")
	if err := os.WriteFile(p, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// The table is the coordinator's screen (issue 7, point 15): name, MRN,
// the stay's dates, what to do, owner, deadline; 120 columns; no rule-set ids
// or sources; no literal "\n" (point 16).
func TestReviewTableForTheCoordinator(t *testing.T) {
	t.Parallel()
	in := craftedInput(t, "Quintana-Delacroix", "MR-00042")
	code, out, errOut := runCLI(t, nil, "review", in, "--as-of", "2026-11-16T12:00:00-05:00")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if got := strings.Fields(lines[0]); !reflect.DeepEqual(got, []string{"DUE", "STATUS", "OWNER", "PATIENT", "MRN", "DATES"}) {
		t.Errorf("header %q", lines[0])
	}
	for _, l := range lines {
		if n := utf8.RuneCountInString(l); n > 120 {
			t.Errorf("line of %d columns: %q", n, l)
		}
	}
	for _, bad := range []string{`\n`, "rule-set=", "rule-source=", "medicare-ffs@", "Maiden"} {
		if strings.Contains(out, bad) {
			t.Errorf("table shows %q", bad)
		}
	}
	// The admission notification of p8's stay (in progress since 2026-11-13;
	// Capital requires notification within 24 hours, moved past the weekend).
	i := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "  admission-notification:") })
	if i < 0 {
		t.Fatalf("no admission-notification:\n%s", out)
	}
	first := i
	for strings.HasPrefix(lines[first], " ") {
		first--
	}
	head := lines[first]
	for _, want := range []string{"2026-11-16 23:59", "urgent", "ur-team", "Maria Luisa Quintana-Delacroix", "MR-00042", "2026-11-13 – now"} {
		if !strings.Contains(head, want) {
			t.Errorf("first line lacks %q: %q", want, head)
		}
	}
	todo := strings.Join(strings.Fields(strings.Join(lines[first+1:i], " ")), " ")
	if !strings.Contains(todo, "Notify the payer and record the notification.") || !strings.Contains(todo, "Capital Insurance Company requires") {
		t.Errorf("what to do: %q", todo)
	}
	if !strings.Contains(lines[i], "payer=Capital Insurance Company") {
		t.Errorf("evidence line: %q", lines[i])
	}
	// Columns are aligned: every first line has DATES where the header has it.
	col := strings.Index(lines[0], "DATES")
	for _, l := range lines[1:] {
		if !strings.HasPrefix(l, " ") {
			r := []rune(l)
			if len(r) <= col || r[col-1] != ' ' || r[col] == ' ' {
				t.Errorf("DATES not at column %d: %q", col, l)
			}
		}
	}
}

// Without --wide, long evidence is shortened to the line; with it, nothing is
// cut.
func TestReviewTableWide(t *testing.T) {
	t.Parallel()
	args := []string{"review", examples, "--as-of", "2026-11-20T12:00:00-05:00"}
	_, narrow, _ := runCLI(t, nil, args...)
	_, wide, _ := runCLI(t, nil, append(args, "--wide")...)
	if !strings.Contains(narrow, "…") {
		t.Fatalf("no shortened line in the narrow table")
	}
	if strings.Contains(wide, "…") {
		t.Errorf("--wide still shortens")
	}
	longest := 0
	for _, l := range strings.Split(wide, "\n") {
		longest = max(longest, utf8.RuneCountInString(l))
	}
	if longest <= 120 {
		t.Errorf("--wide: longest line %d columns, want the evidence in full beyond 120", longest)
	}
	// The evidence the narrow table cut is whole in the wide one.
	if !strings.Contains(wide, "window-days=30; inpatient-order=2026-11-10 23:00; hrrp-cohort=PN; hrrp-code=J18.9") {
		t.Errorf("--wide lacks the full readmission evidence")
	}
}

// --role keeps the findings a role owns; --owner keeps its meaning (who the
// Tasks are assigned to), so the two combine.
func TestReviewRole(t *testing.T) {
	t.Parallel()
	base := []string{"review", examples, "--as-of", "2026-11-20T12:00:00-05:00", "--format", "json"}
	owners := func(args []string, env map[string]string) (map[string]int, string) {
		t.Helper()
		code, out, errOut := runCLI(t, env, args...)
		if code != 0 {
			t.Fatalf("%q: exit %d: %s", args, code, errOut)
		}
		var doc struct {
			Findings []struct{ Owner string } `json:"findings"`
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatal(err)
		}
		m := map[string]int{}
		for _, f := range doc.Findings {
			m[f.Owner]++
		}
		return m, errOut
	}
	all, _ := owners(base, nil)
	if all["billing"] == 0 || all["ur-team"] == 0 {
		t.Fatalf("the examples should have billing and ur-team findings: %v", all)
	}
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want map[string]int
	}{
		{"one role", []string{"--role", "billing"}, nil, map[string]int{"billing": all["billing"]}},
		{"two roles, comma", []string{"--role", "billing,physician-advisor"}, nil, map[string]int{"billing": all["billing"], "physician-advisor": all["physician-advisor"]}},
		{"repeated", []string{"--role", "ur-team", "--role", "billing"}, nil, map[string]int{"billing": all["billing"], "ur-team": all["ur-team"]}},
		{"from the environment", nil, map[string]string{"UTILREVIEW_ROLE": "ur-team"}, map[string]int{"ur-team": all["ur-team"]}},
		{"the flag replaces the environment", []string{"--role", "billing"}, map[string]string{"UTILREVIEW_ROLE": "ur-team"}, map[string]int{"billing": all["billing"]}},
		{"with --owner", []string{"--role", "billing", "--owner", "billing=Organization/billing-office"}, nil, map[string]int{"billing": all["billing"]}},
	}
	for _, c := range cases {
		got, errOut := owners(append(slices.Clone(base), c.args...), c.env)
		for k, v := range c.want {
			if v == 0 {
				delete(c.want, k)
			}
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: owners %v, want %v", c.name, got, c.want)
		}
		if !strings.Contains(errOut, "left out (--role)") {
			t.Errorf("%s: the summary does not say findings were left out: %s", c.name, errOut)
		}
	}
	code, _, errOut := runCLI(t, nil, "review", examples, "--role", "nurses")
	if code != 2 || !strings.Contains(errOut, "ur-team, physician-advisor, billing, patient-access") {
		t.Errorf("--role nurses: exit %d, %q", code, errOut)
	}
}

func TestEvidenceTextOneLine(t *testing.T) {
	t.Parallel()
	loc := time.UTC
	at := time.Date(2026, 11, 13, 14, 0, 0, 0, loc)
	cases := []struct {
		ev   []checks.Evidence
		want string
	}{
		{[]checks.Evidence{checks.StringEvidence("payer", "Capital\nInsurance\t Co\r\n")}, "payer=Capital Insurance Co"},
		{[]checks.Evidence{checks.StringEvidence("payer", "a\x1b[31mred")}, "payer=a [31mred"},
		{[]checks.Evidence{checks.StringEvidence(checks.EvRuleSet, "medicare-ffs@2025.1"), checks.StringEvidence(checks.EvRuleSource, "42 CFR 412.3"), checks.IntEvidence("inpatient-days", 3)}, "inpatient-days=3"},
		{[]checks.Evidence{checks.TimeEvidence("inpatient-order", at), checks.BoolEvidence("im-copy", true), checks.DecimalEvidence("gmlos", 4.5)}, "inpatient-order=2026-11-13 14:00; im-copy=true; gmlos=4.5"},
	}
	for _, c := range cases {
		if got := evidenceText(c.ev, loc); got != c.want {
			t.Errorf("evidenceText = %q, want %q", got, c.want)
		}
	}
}

func TestWrapAndShorten(t *testing.T) {
	t.Parallel()
	if got := wrap("aaa bbb ccc dddddddddd", 7); !reflect.DeepEqual(got, []string{"aaa bbb", "ccc", "ddddddd", "ddd"}) {
		t.Errorf("wrap = %q", got)
	}
	if got := wrap("", 7); got != nil {
		t.Errorf("wrap empty = %q", got)
	}
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"abcdef", 6, "abcdef"},
		{"abcdefg", 6, "abcde…"},
		{"ab; cdefg", 4, "ab…"},
		{"Émilie Zoë", 6, "Émili…"},
	} {
		if got := shorten(c.in, c.n); got != c.want {
			t.Errorf("shorten(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}

// The summary's check column is as wide as the longest check id.
func TestSummaryColumns(t *testing.T) {
	t.Parallel()
	_, _, errOut := runCLI(t, nil, "review", examples, "--as-of", "2026-11-20T12:00:00-05:00")
	var rows []string
	for _, l := range strings.Split(errOut, "\n") {
		if strings.HasPrefix(l, "  ") {
			rows = append(rows, l)
		}
	}
	if len(rows) < 3 {
		t.Fatalf("summary rows: %q", rows)
	}
	longest := 0
	for _, r := range rows {
		longest = max(longest, len(strings.Fields(r)[0]))
	}
	for _, r := range rows {
		f := strings.Fields(r)
		// The count starts two spaces after the longest id, in every row.
		if strings.LastIndex(r, f[1]) != 2+longest+2 {
			t.Errorf("row %q: count at %d, want %d", r, strings.LastIndex(r, f[1]), 2+longest+2)
		}
	}
}

// A long name and a long MRN give way (with "…") so that lines still fit 120
// columns; --wide shows them whole.
func TestReviewTableLongNameAndMRN(t *testing.T) {
	t.Parallel()
	family := "Wolfeschlegelsteinhausenbergerdorff-Featherstonehaugh"
	mrn := "urn-uuid-028250cc-cfc0-4dee-a771-78fde1234567"
	in := craftedInput(t, family, mrn)
	args := []string{"review", in, "--as-of", "2026-11-16T12:00:00-05:00", "--role", "ur-team"}
	_, narrow, _ := runCLI(t, nil, args...)
	_, wide, _ := runCLI(t, nil, append(args, "--wide")...)
	for _, l := range strings.Split(narrow, "\n") {
		if n := utf8.RuneCountInString(l); n > 120 {
			t.Errorf("line of %d columns: %q", n, l)
		}
	}
	if strings.Contains(narrow, family) || strings.Contains(narrow, mrn) || !strings.Contains(narrow, "Maria Luisa Wolfe") || !strings.Contains(narrow, "urn-uuid-028") {
		t.Errorf("narrow table: the name and MRN should be cut, not dropped:\n%s", narrow)
	}
	if !strings.Contains(wide, "Maria Luisa "+family) || !strings.Contains(wide, mrn) {
		t.Errorf("--wide: name or MRN not whole")
	}
}

// rules validate reports every problem of every file in one run, one a line,
// as FILE:LINE: FIELD: REASON; a YAML syntax error at its own line (issue 7,
// point 17: an unclosed "{" on line 4 was reported on line 3).
func TestRulesValidateEveryProblem(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	files := map[string]string{
		"a.yaml": "id: x\nname: X\nversion: \"1\"\neffective: {from: 2025-01-01\nprogram: commercial\n",
		"b.yaml": "id: y\nname: Y\nversion: \"1\"\neffective: {from: 2025-01-01}\nprogram: medicar\ndefault: true\nmatch: {names: [y]}\nchecks:\n  gmlos: {enabled: true, factr: 2}\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	code, out, errOut := runCLI(t, nil, "rules", "validate", dir)
	if code != 1 || out != "" {
		t.Fatalf("exit %d, stdout %q", code, out)
	}
	want := []string{
		dir + `/a.yaml:4: invalid YAML: did not find expected ',' or '}'`,
		dir + `/b.yaml:5: program: unknown program "medicar" (want medicare-ffs, medicare-advantage, medicaid or commercial)`,
		dir + `/b.yaml:9: checks.gmlos.default_review_day: must be > 0`,
		dir + `/b.yaml:9: checks.gmlos.factor: must be > 0`,
		dir + `/b.yaml:9: checks.gmlos.factr: unknown field "factr"`,
	}
	got := strings.Split(strings.TrimSpace(errOut), "\n")
	if len(got) < len(want) || strings.Join(got[:len(want)], "\n") != strings.Join(want, "\n") {
		t.Errorf("stderr:\n%s\nwant first:\n%s", errOut, strings.Join(want, "\n"))
	}
	if last := got[len(got)-1]; last != dir+": "+strconv.Itoa(len(got)-1)+" problem(s)" {
		t.Errorf("last line %q", last)
	}
}

// serve --help goes to standard output like review's (so `| less` works);
// a wrong flag says so on standard error, with a pointer to --help.
func TestServeHelp(t *testing.T) {
	t.Parallel()
	code, out, errOut := runCLI(t, nil, "serve", "--help")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	for _, want := range []string{"usage: utilreview serve", "-fhir-url", "-listen", "UTILREVIEW_WEBHOOK_SECRET"} {
		if !strings.Contains(out, want) {
			t.Errorf("help lacks %q", want)
		}
	}
	code, out, errOut = runCLI(t, nil, "serve", "--no-such-flag")
	if code != 2 || out != "" || !strings.Contains(errOut, "no-such-flag") || !strings.Contains(errOut, `utilreview serve --help`) {
		t.Errorf("wrong flag: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// The README's sample table is what the command at the top of the README
// prints first.
func TestReadmeSampleTable(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	const intro = "The first findings of the command at the top of this page:\n\n```\n"
	_, rest, ok := strings.Cut(string(readme), intro)
	if !ok {
		t.Fatal("README: no sample table")
	}
	sample, _, _ := strings.Cut(rest, "```\n")
	if !strings.Contains(string(readme), "go run ./cmd/utilreview review --as-of 2026-11-20T12:00:00-05:00 testdata/examples\n") {
		t.Fatal("README: the main command is not the one this test runs")
	}
	code, out, errOut := runCLI(t, nil, "review", "--as-of", "2026-11-20T12:00:00-05:00", examples)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.HasPrefix(out, sample) {
		t.Errorf("the README's sample is not how the output starts:\n%s\nwant it to start with:\n%s", out[:min(len(out), len(sample)+200)], sample)
	}
}

// The transaction the README loads a FHIR server with holds exactly the
// examples' resources, each as PUT Type/id (so the server keeps the ids).
func TestServerTransactionMatchesExamples(t *testing.T) {
	t.Parallel()
	type entry struct {
		FullURL  string         `json:"fullUrl"`
		Resource map[string]any `json:"resource"`
		Request  *struct {
			Method string `json:"method"`
			URL    string `json:"url"`
		} `json:"request"`
	}
	read := func(path, wantType string) map[string]entry {
		t.Helper()
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var b struct {
			Type  string  `json:"type"`
			Entry []entry `json:"entry"`
		}
		if err := json.Unmarshal(data, &b); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if b.Type != wantType {
			t.Fatalf("%s: Bundle.type %q, want %q", path, b.Type, wantType)
		}
		out := map[string]entry{}
		for _, e := range b.Entry {
			out[e.Resource["resourceType"].(string)+"/"+e.Resource["id"].(string)] = e
		}
		return out
	}
	coll := read(filepath.Join(examples, "ur-scenarios.json"), "collection")
	tx := read("../../testdata/fhir-server/ur-scenarios.transaction.json", "transaction")
	if len(coll) != len(tx) || len(coll) < 30 {
		t.Fatalf("%d resources in the examples, %d in the transaction", len(coll), len(tx))
	}
	for ref, c := range coll {
		e, ok := tx[ref]
		switch {
		case !ok:
			t.Errorf("%s: not in the transaction", ref)
		case e.Request == nil || e.Request.Method != "PUT" || e.Request.URL != ref || !strings.HasSuffix(e.FullURL, "/"+ref):
			t.Errorf("%s: request %+v, fullUrl %q; want PUT %s", ref, e.Request, e.FullURL, ref)
		case !reflect.DeepEqual(e.Resource, c.Resource):
			t.Errorf("%s: differs from the examples' copy", ref)
		}
	}
}

// serve's start log names its configuration readably: durations as "1m0s",
// never as nanoseconds, and secrets only as set or unset.
func TestServeConfigLog(t *testing.T) {
	t.Parallel()
	getenv := func(k string) string {
		return map[string]string{"UTILREVIEW_FHIR_URL": "http://127.0.0.1:1/fhir", "UTILREVIEW_REDIS_URL": "redis://127.0.0.1:1",
			"UTILREVIEW_WEBHOOK_SECRET": "s3cret-s3cret-s3cret-s3cret", "UTILREVIEW_CATCHUP_INTERVAL": "90s", "UTILREVIEW_EVENT_GAP_GRACE": "2m"}[k]
	}
	cfg, err := parseServeFlags([]string{"--listen", ":0", "--subscriptions", "off"}, getenv, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("configuration", cfg.logAttrs()...)
	line := buf.String()
	for _, want := range []string{`"catchup_interval":"1m30s"`, `"event_gap_grace":"2m0s"`, `"webhook_secret":"set"`} {
		if !strings.Contains(line, want) {
			t.Errorf("start log lacks %s: %s", want, line)
		}
	}
	if strings.Contains(line, "s3cret") {
		t.Errorf("the secret is in the log: %s", line)
	}
}
