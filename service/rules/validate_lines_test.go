package rules

import (
	"strings"
	"testing"
	"testing/fstest"
)

// validateFiles loads a rule directory and returns every problem as the
// operator reads it: FILE:LINE: FIELD: REASON.
func validateFiles(t *testing.T, files map[string]string) []string {
	t.Helper()
	fsys := fstest.MapFS{}
	for name, body := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(body)}
	}
	_, err := load(fsys, "rules", DefaultsFS())
	if err == nil {
		return nil
	}
	ve, ok := err.(ValidationErrors)
	if !ok {
		t.Fatalf("load: %T %v, want ValidationErrors", err, err)
	}
	out := make([]string, len(ve))
	for i, e := range ve {
		out[i] = e.Error()
	}
	return out
}

// A YAML syntax error is reported at its line, in the same FILE:LINE: form
// as every other problem (issue 7, point 17). yaml.v3 counts some lines from
// 0 and leaves others out; the line is found again from the file.
func TestYAMLSyntaxErrorLines(t *testing.T) {
	t.Parallel()
	head := "id: test-payer\nname: Test payer\nversion: \"1\"\n"
	tests := []struct {
		name, body, want string
	}{
		{"unclosed { on line 4", head + "effective: {from: 2025-01-01\nprogram: commercial\ndefault: true\n",
			`rules/a.yaml:4: invalid YAML: did not find expected ',' or '}'`},
		{"unclosed { on line 1", "effective: {from: 2025-01-01\nprogram: commercial\n",
			`rules/a.yaml:1: invalid YAML: did not find expected ',' or '}'`},
		{"unclosed [ on line 5", head + "program: commercial\nmatch: {names: [a, b}\ndefault: true\n",
			`rules/a.yaml:5: invalid YAML: did not find expected ',' or ']'`},
		{"unclosed quote on line 2", "id: test-payer\nname: \"Test payer\nversion: \"1\"\n",
			`rules/a.yaml:3: invalid YAML: did not find expected key`},
		{"unclosed single quote on the last line", head + "program: 'commercial\n",
			`rules/a.yaml:4: invalid YAML: found unexpected end of stream`},
		{"stray list item on line 4", head + "- commercial\n",
			`rules/a.yaml:4: invalid YAML: did not find expected key`},
		{"an extra ] on line 4", head + "match: {names: [a]]}\n",
			`rules/a.yaml:4: invalid YAML: did not find expected ',' or '}'`},
		{"bad indentation on line 3", "id: test-payer\nname: Test payer\n  version: \"1\"\n",
			`rules/a.yaml:3: invalid YAML: mapping values are not allowed in this context`},
		{"two values on line 1", "id: a: b\n",
			`rules/a.yaml:1: invalid YAML: mapping values are not allowed in this context`},
		{"tab indentation on line 2", "id: test-payer\n\tname: Test payer\n",
			`rules/a.yaml:2: invalid YAML: found a tab character that violates indentation`},
		{"unknown anchor on line 4", head + "program: *prog\n",
			`rules/a.yaml:4: invalid YAML: unknown anchor 'prog' referenced`},
		{"control character on line 3", "id: test-payer\nname: Test payer\nversion: \"1\x01\"\n",
			`rules/a.yaml:3: invalid YAML: control characters are not allowed`},
		{"no newline at the end", head + "program: [commercial",
			`rules/a.yaml:4: invalid YAML: did not find expected ',' or ']'`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := validateFiles(t, map[string]string{"a.yaml": tt.body})
			if len(got) != 1 || got[0] != tt.want {
				t.Errorf("got %q\nwant [%q]", got, tt.want)
			}
		})
	}
}

func TestJSONSyntaxErrorLine(t *testing.T) {
	t.Parallel()
	got := validateFiles(t, map[string]string{"a.yaml": baseRuleSet, "b.json": "{\"id\": \"other\",\n \"name\": \"O\",\n \"version\": }\n"})
	want := `rules/b.json:3: invalid JSON: invalid character '}' looking for beginning of value`
	if len(got) != 1 || got[0] != want {
		t.Errorf("got %q, want [%q]", got, want)
	}
}

// Every problem of a file in one run: structure (unknown fields, wrong
// kinds, fields given twice) and meaning (values, references, CEL) together,
// each at its line; a field whose structure is wrong is not reported again
// for its meaning.
func TestStructureAndMeaningInOneRun(t *testing.T) {
	t.Parallel()
	body := `id: test-payer
name: Test payer
version: "1"
effective: {from: 2025-01-01}
program: medicar
default: true
sponsor: nobody
match:
  names: [test payer]
checks:
  gmlos: {enabled: true, factor: "abc", escalation_factor: 2.0, default_review_day: 0}
  prior_auth: {enabled: true, code_list: prior-auth}
  timely_filing: {enabled: true, limit_days: 90, warning_days: 10, warning_days: 5}
  snf_three_day: {enabled: yes, min_midnights: 3}
code_lists:
  pa:
    codes:
      - {code: "70553", from: 2025-02-30}
custom:
  - id: long-stay
    on: encounter
    priority: routine
    when: los_days >
    message: "Stay at {{.los_days}} days"
    deadline_hours: 24
`
	got := validateFiles(t, map[string]string{"a.yaml": body})
	want := []string{
		`rules/a.yaml:5: program: unknown program "medicar" (want medicare-ffs, medicare-advantage, medicaid or commercial)`,
		`rules/a.yaml:7: sponsor: unknown field "sponsor"`,
		`rules/a.yaml:11: checks.gmlos.default_review_day: must be > 0`,
		`rules/a.yaml:11: checks.gmlos.factor: must be a number, got "abc"`,
		`rules/a.yaml:12: checks.prior_auth.code_list: code list "prior-auth" not defined`,
		`rules/a.yaml:13: checks.timely_filing.warning_days: field given twice`,
		`rules/a.yaml:14: checks.snf_three_day.enabled: must be true or false, got "yes"`,
		`rules/a.yaml:18: code_lists.pa.codes[0].from: date "2025-02-30" is not a valid YYYY-MM-DD date`,
		`rules/a.yaml:18: code_lists.pa.codes[0].system: must be set here or on the list`,
		`rules/a.yaml:23: custom[0].when: invalid CEL: ERROR: <input>:1:11: Syntax error: mismatched input '<EOF>' expecting {'[', '{', '(', '.', '-', '!', 'true', 'false', 'null', NUM_FLOAT, NUM_INT, NUM_UINT, STRING, BYTES, IDENTIFIER}  | los_days >  | ..........^`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A value of the wrong kind is reported once: not again as missing by the
// meaning checks, nor at the field that holds it.
func TestStructureErrorsAreNotRepeated(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		edit []string
		want []string
	}{
		{"a list that is not one", []string{"names: [test payer]", "names: 5", "default: true\n", ""},
			// not also "match: must list identifiers or names" (the names are
			// there, only unreadable)
			[]string{`rules/a.yaml:7: match.names: must be a list`}},
		{"a mapping that is not one", []string{"  gmlos: {enabled: true, factor: 1.5, escalation_factor: 2.0, default_review_day: 3}", "  gmlos: on"},
			[]string{`rules/a.yaml:10: checks.gmlos: must be a mapping of fields`}},
		{"a whole custom check", []string{"  - id: long-stay\n    on: encounter\n    priority: routine\n    when: los_days > 5\n    message: \"Stay at {{.los_days}} days\"\n    deadline_hours: 24\n", "  - [long-stay]\n"},
			[]string{`rules/a.yaml:19: custom[0]: must be a mapping of fields`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := validateFiles(t, map[string]string{"a.yaml": edit(baseRuleSet, tt.edit...)})
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// Conflicts between files name the line of the field in conflict.
func TestCrossFileErrorLines(t *testing.T) {
	t.Parallel()
	got := validateFiles(t, map[string]string{
		"a.yaml": baseRuleSet,
		"b.yaml": otherPayer,
		"c.yaml": edit(otherPayer, "id: other", "id: third", "[other payer]", "[Other Payer]"),
	})
	want := []string{
		`rules/c.yaml:7: match.identifiers[0]: identifier http://example.org/payer|X1 is also claimed by "other" in rules/b.yaml in overlapping dates`,
		`rules/c.yaml:8: match.names[0]: name "Other Payer" is also claimed by "other" in rules/b.yaml in overlapping dates`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Each broken file of a directory is reported, not only the first.
func TestEveryFileReported(t *testing.T) {
	t.Parallel()
	got := validateFiles(t, map[string]string{
		"a.yaml": edit(baseRuleSet, "factor: 1.5", "factor: 0"),
		"b.yaml": "id: other\nname: [x\n",
		"c.json": "{",
	})
	want := []string{
		`rules/a.yaml:10: checks.gmlos.factor: must be > 0`,
		`rules/b.yaml:2: invalid YAML: did not find expected ',' or ']'`,
		`rules/c.json:1: invalid JSON: unexpected end of JSON input`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A file that may be the default rule set but whose structure is wrong does
// not make the directory "lack a default": that would be a second, false
// report of the same problem.
func TestBrokenDefaultIsNotAMissingDefault(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ name, from, to, want string }{
		{"default unreadable", "default: true", "default: [true]", `rules/a.yaml:6: default: must be true or false, got a list`},
		{"default true, another field wrong", "program: commercial", "program: [commercial]", `rules/a.yaml:5: program: must be a string`},
	} {
		got := validateFiles(t, map[string]string{"a.yaml": edit(baseRuleSet, tt.from, tt.to), "b.yaml": otherPayer})
		if strings.Join(got, "\n") != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
	// A directory with no default at all still says so.
	got := validateFiles(t, map[string]string{"a.yaml": edit(baseRuleSet, "default: true", "default: false"), "b.yaml": otherPayer})
	if want := "rules: no rule set is marked default: true (it applies to payers no rule set matches)"; strings.Join(got, "\n") != want {
		t.Errorf("no default: got %q, want %q", got, want)
	}
}
