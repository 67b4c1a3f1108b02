package rules

import (
	"strings"
	"testing"
	"testing/fstest"
)

// baseRuleSet is a valid default rule set; cases edit it with replacements.
const baseRuleSet = `id: test-payer
name: Test payer
version: "1"
effective: {from: 2025-01-01}
program: commercial
default: true
match:
  names: [test payer]
checks:
  gmlos: {enabled: true, factor: 1.5, escalation_factor: 2.0, default_review_day: 3}
  prior_auth: {enabled: true, code_list: pa}
  timely_filing: {enabled: true, limit_days: 90, warning_days: 10}
code_lists:
  pa:
    system: cpt
    codes:
      - {code: "70553"}
custom:
  - id: long-stay
    on: encounter
    priority: routine
    when: los_days > 5
    message: "Stay at {{.los_days}} days"
    deadline_hours: 24
`

// otherPayer is a second, non-default payer; cases edit it too.
const otherPayer = `id: other
name: Other payer
version: "1"
effective: {from: 2025-01-01}
program: medicaid
match:
  identifiers: [{system: "http://example.org/payer", value: "X1"}]
  names: [other payer]
checks: {}
`

func edit(s string, pairs ...string) string {
	for i := 0; i+1 < len(pairs); i += 2 {
		if !strings.Contains(s, pairs[i]) {
			panic("test edit: " + pairs[i] + " not in rule set")
		}
		s = strings.Replace(s, pairs[i], pairs[i+1], 1)
	}
	return s
}

type wantErr struct{ File, Field, Reason string }

func loadTest(t *testing.T, files map[string]string) (*Registry, []wantErr) {
	t.Helper()
	fsys := fstest.MapFS{}
	for name, body := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(body)}
	}
	r, err := load(fsys, "", DefaultsFS())
	if err == nil {
		return r, nil
	}
	ve, ok := err.(ValidationErrors)
	if !ok {
		t.Fatalf("load: got error %T %v, want ValidationErrors", err, err)
	}
	var got []wantErr
	for _, e := range ve {
		got = append(got, wantErr{e.File, e.Field, e.Reason})
	}
	return nil, got
}

func TestValidationErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		files map[string]string
		want  []wantErr
	}{
		{
			name:  "factor must be positive",
			files: map[string]string{"a.yaml": edit(baseRuleSet, "factor: 1.5", "factor: 0")},
			want:  []wantErr{{"a.yaml", "checks.gmlos.factor", "must be > 0"}},
		},
		{
			name:  "escalation below factor",
			files: map[string]string{"a.yaml": edit(baseRuleSet, "escalation_factor: 2.0", "escalation_factor: 1.2")},
			want:  []wantErr{{"a.yaml", "checks.gmlos.escalation_factor", "escalation_factor 1.2 is below factor 1.5"}},
		},
		{
			name:  "unknown program",
			files: map[string]string{"a.yaml": edit(baseRuleSet, "program: commercial", "program: medicar")},
			want:  []wantErr{{"a.yaml", "program", `unknown program "medicar" (want medicare-ffs, medicare-advantage, medicaid or commercial)`}},
		},
		{
			name:  "code list not defined",
			files: map[string]string{"a.yaml": edit(baseRuleSet, "code_list: pa}", "code_list: prior-auth}")},
			want:  []wantErr{{"a.yaml", "checks.prior_auth.code_list", `code list "prior-auth" not defined`}},
		},
		{
			// 42 CFR 419.82: the OPD prior authorization program affirms
			// only before the service; a Medicare FFS rule set cannot say
			// otherwise.
			name:  "retroactive authorization under Medicare FFS",
			files: map[string]string{"a.yaml": edit(baseRuleSet, "program: commercial", "program: medicare-ffs", "code_list: pa}", "code_list: pa, retroactive: true}")},
			want:  []wantErr{{"a.yaml", "checks.prior_auth.retroactive", "Medicare fee-for-service does not authorize retroactively (42 CFR 419.82)"}},
		},
		{
			name:  "retroactive days without retroactive",
			files: map[string]string{"a.yaml": edit(baseRuleSet, "code_list: pa}", "code_list: pa, retroactive_days: 14}")},
			want:  []wantErr{{"a.yaml", "checks.prior_auth.retroactive_days", "needs retroactive: true"}},
		},
		{
			name:  "negative retroactive days",
			files: map[string]string{"a.yaml": edit(baseRuleSet, "code_list: pa}", "code_list: pa, retroactive: true, retroactive_days: -1}")},
			want:  []wantErr{{"a.yaml", "checks.prior_auth.retroactive_days", "must be >= 0"}},
		},
		{
			// Structure and meaning in one run: the misspelt key is unknown, and
			// the field it was meant to be is then missing.
			name:  "misspelt field",
			files: map[string]string{"a.yaml": edit(baseRuleSet, "factor: 1.5", "factr: 1.5")},
			want: []wantErr{
				{"a.yaml", "checks.gmlos.factor", "must be > 0"},
				{"a.yaml", "checks.gmlos.factr", `unknown field "factr"`},
			},
		},
		{
			name:  "wrong kinds reported together",
			files: map[string]string{"a.yaml": edit(baseRuleSet, "factor: 1.5", `factor: "abc"`, "limit_days: 90", "limit_days: 9.5", "default: true", "default: yes please")},
			want: []wantErr{
				{"a.yaml", "default", `must be true or false, got "yes please"`},
				{"a.yaml", "checks.gmlos.factor", `must be a number, got "abc"`},
				{"a.yaml", "checks.timely_filing.limit_days", `must be a whole number, got "9.5"`},
			},
		},
		{
			name:  "timely filing: days and months both",
			files: map[string]string{"a.yaml": edit(baseRuleSet, "limit_days: 90", "limit_days: 90, limit_months: 3")},
			want:  []wantErr{{"a.yaml", "checks.timely_filing.limit_months", "set limit_days or limit_months, not both"}},
		},
		{
			name:  "timely filing: no limit",
			files: map[string]string{"a.yaml": edit(baseRuleSet, "limit_days: 90, ", "")},
			want:  []wantErr{{"a.yaml", "checks.timely_filing.limit_days", "one of limit_days or limit_months is required"}},
		},
		{
			name:  "timely filing: warning not below a month limit",
			files: map[string]string{"a.yaml": edit(baseRuleSet, "limit_days: 90, warning_days: 10", "limit_months: 1, warning_days: 28")},
			want:  []wantErr{{"a.yaml", "checks.timely_filing.warning_days", "warning_days 28 is not below limit_months 1 (28 days a month)"}},
		},
		{
			name:  "timely filing: negative months",
			files: map[string]string{"a.yaml": edit(baseRuleSet, "limit_days: 90", "limit_months: -12")},
			want:  []wantErr{{"a.yaml", "checks.timely_filing.limit_months", "must be > 0"}},
		},
		{
			name:  "impossible date",
			files: map[string]string{"a.yaml": edit(baseRuleSet, "from: 2025-01-01", "from: 2025-13-01")},
			want:  []wantErr{{"a.yaml", "effective.from", `date "2025-13-01" is not a valid YYYY-MM-DD date`}},
		},
		{
			name:  "end before start",
			files: map[string]string{"a.yaml": edit(baseRuleSet, "{from: 2025-01-01}", "{from: 2025-01-01, to: 2024-12-31}")},
			want:  []wantErr{{"a.yaml", "effective.to", "2024-12-31 is before effective.from 2025-01-01"}},
		},
		{
			name: "several problems in one file are all reported",
			files: map[string]string{"a.yaml": edit(baseRuleSet, "version: \"1\"", "version: \"\"", "limit_days: 90, warning_days: 10", "limit_days: 90, warning_days: 90",
				`{code: "70553"}`, `{code: "70553", from: 2025-02-01, to: 2025-01-01}`)},
			want: []wantErr{
				{"a.yaml", "version", "must be set"},
				{"a.yaml", "checks.timely_filing.warning_days", "warning_days 90 is not below limit_days 90"},
				{"a.yaml", "code_lists.pa.codes[0].to", "2025-01-01 is before from 2025-02-01"},
			},
		},
		{
			name:  "invalid CEL names the position",
			files: map[string]string{"a.yaml": edit(baseRuleSet, "when: los_days > 5", "when: los_days > ")},
			want:  []wantErr{{"a.yaml", "custom[0].when", "invalid CEL: ERROR: <input>:1:11: Syntax error: mismatched input '<EOF>' expecting {'[', '{', '(', '.', '-', '!', 'true', 'false', 'null', NUM_FLOAT, NUM_INT, NUM_UINT, STRING, BYTES, IDENTIFIER}  | los_days >  | ..........^"}},
		},
		{
			name:  "CEL type error",
			files: map[string]string{"a.yaml": edit(baseRuleSet, "when: los_days > 5", `when: los_days > "5"`)},
			want:  []wantErr{{"a.yaml", "custom[0].when", "invalid CEL: ERROR: <input>:1:10: found no matching overload for '_>_' applied to '(int, string)'  | los_days > \"5\"  | .........^"}},
		},
		{
			name:  "CEL must be boolean",
			files: map[string]string{"a.yaml": edit(baseRuleSet, "when: los_days > 5", "when: los_days + 1")},
			want:  []wantErr{{"a.yaml", "custom[0].when", "must be a boolean expression, got int"}},
		},
		{
			name:  "message template",
			files: map[string]string{"a.yaml": edit(baseRuleSet, `"Stay at {{.los_days}} days"`, `"Stay at {{.los_days days"`)},
			want:  []wantErr{{"a.yaml", "custom[0].message", `invalid template: template: long-stay:1: function "days" not defined`}},
		},
		{
			name:  "custom check fields",
			files: map[string]string{"a.yaml": edit(baseRuleSet, "on: encounter", "on: patient", "priority: routine", "priority: high", "deadline_hours: 24", "deadline_hours: 0")},
			want: []wantErr{
				{"a.yaml", "custom[0].on", `"patient" must be encounter or claim`},
				{"a.yaml", "custom[0].priority", `"high" must be routine, urgent, asap or stat`},
				{"a.yaml", "custom[0].deadline_hours", "must be > 0"},
			},
		},
		{
			name:  "custom check deadline_from",
			files: map[string]string{"a.yaml": edit(baseRuleSet, "deadline_hours: 24", "deadline_hours: 24\n    deadline_from: admission")},
			want:  []wantErr{{"a.yaml", "custom[0].deadline_from", `"admission" must be start, inpatient_order, discharge or review`}},
		},
		{
			name:  "unknown table file",
			files: map[string]string{"a.yaml": edit(baseRuleSet, "factor: 1.5,", "table: no_such.csv, factor: 1.5,")},
			want:  []wantErr{{"a.yaml", "checks.gmlos.table", `unknown table file "no_such.csv": not found in tables/`}},
		},
		{
			name:  "table outside tables/",
			files: map[string]string{"a.yaml": edit(baseRuleSet, "factor: 1.5,", "table: ../secret.csv, factor: 1.5,")},
			want:  []wantErr{{"a.yaml", "checks.gmlos.table", `table "../secret.csv" must be a file name under tables/`}},
		},
		{
			name: "table errors carry the table's file and line",
			files: map[string]string{
				"a.yaml":         edit(baseRuleSet, "factor: 1.5,", "table: drg.csv, factor: 1.5,"),
				"tables/drg.csv": "ms_drg,gmlos\n001,2.5\n002,many\n",
			},
			want: []wantErr{
				{"a.yaml", "checks.gmlos.table", `table "drg.csv" has errors`},
				{"tables/drg.csv", "gmlos", `"many" is not a number >= 0`},
			},
		},
		{
			name: "overlapping versions of one payer",
			files: map[string]string{
				"a.yaml": baseRuleSet,
				"b.yaml": edit(otherPayer, "{from: 2025-01-01}", "{from: 2024-01-01, to: 2025-06-30}"),
				"c.yaml": edit(otherPayer, `version: "1"`, `version: "2"`),
			},
			want: []wantErr{{"c.yaml", "effective", `version "2" of "other" overlaps version "1" in b.yaml (2024-01-01 to 2025-06-30)`}},
		},
		{
			name: "same version twice",
			files: map[string]string{
				"a.yaml": baseRuleSet,
				"b.yaml": otherPayer,
				"c.yaml": otherPayer,
			},
			want: []wantErr{{"c.yaml", "version", `version "1" of "other" is also defined in b.yaml`}},
		},
		{
			name: "identifier and name claimed by two payers",
			files: map[string]string{
				"a.yaml": baseRuleSet,
				"b.yaml": otherPayer,
				"c.yaml": edit(otherPayer, "id: other", "id: third", "[other payer]", "[Other Payer]"),
			},
			want: []wantErr{
				{"c.yaml", "match.identifiers[0]", `identifier http://example.org/payer|X1 is also claimed by "other" in b.yaml in overlapping dates`},
				{"c.yaml", "match.names[0]", `name "Other Payer" is also claimed by "other" in b.yaml in overlapping dates`},
			},
		},
		{
			name: "same alias in dates that do not overlap is fine",
			files: map[string]string{
				"a.yaml": baseRuleSet,
				"b.yaml": edit(otherPayer, "{from: 2025-01-01}", "{from: 2024-01-01, to: 2024-12-31}"),
				"c.yaml": edit(otherPayer, "id: other", "id: third"),
			},
		},
		{
			name:  "two-midnight needs the inpatient-only list",
			files: map[string]string{"a.yaml": edit(baseRuleSet, "checks:\n", "checks:\n  two_midnight: {enabled: true}\n")},
			want:  []wantErr{{"a.yaml", "checks.two_midnight", `code list "inpatient-only" not defined: the rule needs the inpatient-only procedures`}},
		},
		{
			name:  "admission review needs its business days",
			files: map[string]string{"a.yaml": edit(baseRuleSet, "checks:\n", "checks:\n  admission_review: {enabled: true, business_days: 0}\n")},
			want:  []wantErr{{"a.yaml", "checks.admission_review.business_days", "must be > 0"}},
		},
		{
			name:  "admission review: unknown field",
			files: map[string]string{"a.yaml": edit(baseRuleSet, "checks:\n", "checks:\n  admission_review: {enabled: true, business_day: 1}\n")},
			// Structure and meaning in one run (issue 7 point 17): the misspelt field leaves
			// business_days unset, which the enabled check needs.
			want: []wantErr{
				{"a.yaml", "checks.admission_review.business_day", `unknown field "business_day"`},
				{"a.yaml", "checks.admission_review.business_days", "must be > 0"},
			},
		},
		{
			name:  "no default",
			files: map[string]string{"b.yaml": otherPayer},
			want:  []wantErr{{".", "", "no rule set is marked default: true (it applies to payers no rule set matches)"}},
		},
		{
			name:  "no-payer alias is reserved",
			files: map[string]string{"a.yaml": edit(baseRuleSet, "[test payer]", "[test payer, no_insurance]")},
			want:  []wantErr{{"a.yaml", "match.names[1]", `"no_insurance" is reserved: it means the patient has no payer`}},
		},
		{
			name:  "non-default payer must match something",
			files: map[string]string{"a.yaml": baseRuleSet, "b.yaml": edit(otherPayer, "  identifiers: [{system: \"http://example.org/payer\", value: \"X1\"}]\n  names: [other payer]\n", "")},
			want:  []wantErr{{"b.yaml", "match", "must list identifiers or names (only a default rule set may match nothing)"}},
		},
		{
			name:  "JSON rule file is checked the same way",
			files: map[string]string{"a.yaml": baseRuleSet, "b.json": `{"id": "other", "name": "O", "version": "1", "effective": {"from": "2025-01-01"}, "program": "medicaid", "match": {"names": ["o"]}, "checks": {"snf_three_day": {"enabled": true, "min_midnights": 0, "minimum": 3}}}`},
			// The unknown field and the meaning error of its sibling, together.
			want: []wantErr{
				{"b.json", "checks.snf_three_day.min_midnights", "must be > 0"},
				{"b.json", "checks.snf_three_day.minimum", `unknown field "minimum"`},
			},
		},
		{
			name:  "JSON syntax error",
			files: map[string]string{"a.yaml": baseRuleSet, "b.json": "{\"id\": \"other\",\n \"name\": }"},
			want:  []wantErr{{"b.json", "", "invalid JSON: invalid character '}' looking for beginning of value"}},
		},
		{
			name:  "threshold of an enabled check",
			files: map[string]string{"a.yaml": baseRuleSet, "b.json": `{"id": "other", "name": "O", "version": "1", "effective": {"from": "2025-01-01"}, "program": "medicaid", "match": {"names": ["o"]}, "checks": {"snf_three_day": {"enabled": true, "min_midnights": 0}, "duplicate_lines": {"enabled": true, "exempt_modifiers": ["59", "5"]}}}`},
			want: []wantErr{
				{"b.json", "checks.duplicate_lines.exempt_modifiers[1]", `modifier "5" must be two letters or digits`},
				{"b.json", "checks.snf_three_day.min_midnights", "must be > 0"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, got := loadTest(t, tt.files)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d errors %q, want %d %q", len(got), got, len(tt.want), tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("error %d:\n got %+v\nwant %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestValidationErrorLines(t *testing.T) {
	t.Parallel()
	fsys := fstest.MapFS{"a.yaml": {Data: []byte(edit(baseRuleSet, "factor: 1.5", "factor: 0"))}}
	_, err := load(fsys, "rules", DefaultsFS())
	ve, ok := err.(ValidationErrors)
	if !ok || len(ve) != 1 {
		t.Fatalf("got %v, want one validation error", err)
	}
	if got, want := ve[0].Error(), "rules/a.yaml:10: checks.gmlos.factor: must be > 0"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestPriorAuthAcceptsRequest: a request before or on the date of service
// is always accepted; after it only by a payer that authorizes
// retroactively, within its days (42 CFR 419.82: Medicare FFS never does).
func TestPriorAuthAcceptsRequest(t *testing.T) {
	dos := Date{2025, 3, 10}
	tests := []struct {
		name string
		pa   PriorAuth
		on   Date
		want bool
	}{
		{"before the service", PriorAuth{}, Date{2025, 3, 9}, true},
		{"on the day of service", PriorAuth{}, dos, true},
		{"the day after, not retroactive (Medicare FFS)", PriorAuth{}, Date{2025, 3, 11}, false},
		{"retroactive, no limit", PriorAuth{Retroactive: true}, Date{2026, 3, 11}, true},
		{"retroactive, last day of 14", PriorAuth{Retroactive: true, RetroactiveDays: 14}, Date{2025, 3, 24}, true},
		{"retroactive, past 14 days", PriorAuth{Retroactive: true, RetroactiveDays: 14}, Date{2025, 3, 25}, false},
	}
	for _, tt := range tests {
		if got := tt.pa.AcceptsRequest(dos, tt.on); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}
