package rules

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/utilreview/utilreview/service/facts"
)

func errStrings(errs []*ValidationError) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Error())
	}
	return out
}

func TestParseMUETable(t *testing.T) {
	t.Parallel()
	// Synthetic rows in CMS's layout: title and disclaimer rows, a blank
	// line, the header, rows with text indicators, a trailing note.
	const good = `"Outpatient Hospital Services MUE Table, synthetic test rows"
"CPT codes, descriptions and other data only are copyright 2024 American Medical Association. All rights reserved."

HCPCS/CPT Code,Outpatient Hospital Services MUE Values,MUE Adjudication Indicator,MUE Rationale
70553,1,2 Date of Service Edit: Policy,Nature of Service/Procedure
97110,6,3 Date of Service Edit: Clinical,Clinical: Data
99213,1,1 Line Edit,Nature of Service/Procedure
j1100,30,2,Prescribing Information
"End of table"
`
	got, errs := ParseMUETable("mue.csv", strings.NewReader(good))
	if errs != nil {
		t.Fatalf("got errors %v", errStrings(errs))
	}
	want := map[string]MUEEntry{
		"70553": {Code: "70553", Value: 1, Indicator: 2, Rationale: "Nature of Service/Procedure"},
		"97110": {Code: "97110", Value: 6, Indicator: 3, Rationale: "Clinical: Data"},
		"99213": {Code: "99213", Value: 1, Indicator: 1, Rationale: "Nature of Service/Procedure"},
		"J1100": {Code: "J1100", Value: 30, Indicator: 2, Rationale: "Prescribing Information"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	for code, perDay := range map[string]bool{"70553": true, "97110": true, "99213": false} {
		if got[code].PerDay() != perDay {
			t.Errorf("%s PerDay: got %v, want %v", code, got[code].PerDay(), perDay)
		}
	}

	const bad = `disclaimer
HCPCS/CPT Code,Practitioner Services MUE Values,MUE Adjudication Indicator,MUE Rationale
70553,one,2 Date of Service Edit: Policy,x
97110,6,Date of Service Edit,x
,3,1 Line Edit,x
70553,1,1 Line Edit,x
70553,2,1 Line Edit,x
`
	_, errs = ParseMUETable("mue.csv", strings.NewReader(bad))
	wantErrs := []string{
		`mue.csv:3: mue_value: "one" is not a whole number >= 0`,
		`mue.csv:4: mue_adjudication_indicator: "Date of Service Edit" is not an MUE adjudication indicator (1, 2 or 3)`,
		"mue.csv:5: code: missing HCPCS/CPT code",
		"mue.csv:7: code: code 70553 repeats line 6",
	}
	if g := errStrings(errs); !reflect.DeepEqual(g, wantErrs) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(g, "\n"), strings.Join(wantErrs, "\n"))
	}

	_, errs = ParseMUETable("mue.csv", strings.NewReader("just,some\ntext,here\n"))
	if g := errStrings(errs); len(g) != 1 || !strings.Contains(g[0], "no header row") {
		t.Errorf("no header: got %v", g)
	}
}

func TestParseTablesErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		parse func(string) []*ValidationError
		in    string
		want  []string
	}{
		{"drg missing column", func(s string) []*ValidationError { _, e := ParseDRGTable("d.csv", strings.NewReader(s)); return e },
			"ms_drg,title\n001,x\n", []string{`d.csv:1: missing column "gmlos" in header`}},
		{"drg bad rows", func(s string) []*ValidationError { _, e := ParseDRGTable("d.csv", strings.NewReader(s)); return e },
			"ms_drg,gmlos,weight\n1,2.5,1\nABC,1,1\n001,3,1\n002,-1,1\n003,1,x\n", []string{
				`d.csv:3: ms_drg: "ABC" is not an MS-DRG code (1 to 3 digits)`,
				"d.csv:4: ms_drg: MS-DRG 001 repeats line 2",
				`d.csv:5: gmlos: "-1" is not a number >= 0`,
				`d.csv:6: weight: "x" is not a number >= 0`,
			}},
		{"empty table", func(s string) []*ValidationError { _, e := ParseDRGTable("d.csv", strings.NewReader(s)); return e },
			"", []string{"d.csv: empty table: no header row"}},
		{"norm percentiles out of order", func(s string) []*ValidationError { _, e := ParseNormTable("n.csv", strings.NewReader(s)); return e },
			"system,key,p50,p75,p90\nms-drg,291,5,4,8\nicd-10-cm,,1,2,3\nms-drg,29x,1,2,3\n", []string{
				"n.csv:2: p50: percentiles must satisfy 0 < p50 <= p75 <= p90, got 5, 4, 8",
				"n.csv:3: key: missing value",
				`n.csv:4: key: "29x" is not an MS-DRG code (1 to 3 digits)`,
			}},
		{"calendar", func(s string) []*ValidationError { _, e := ParseCalendar("h.csv", strings.NewReader(s)); return e },
			"date,name\n2025-07-04,Independence Day\n2025-02-30,Nope\n2025-07-04,Again\n", []string{
				`h.csv:3: date: date "2025-02-30" is not a valid YYYY-MM-DD date`,
				"h.csv:4: date: 2025-07-04 is listed twice",
			}},
		{"code table", func(s string) []*ValidationError { _, e := ParseCodeTable("c.csv", strings.NewReader(s)); return e },
			"code,prefix,from,to\nI21,maybe,,\n,false,,\nJ0585,,2025-02-01,2025-01-01\n", []string{
				`c.csv:2: prefix: "maybe" must be true or false`,
				"c.csv:3: code: missing value",
				"c.csv:4: to: 2025-01-01 is before from 2025-02-01",
			}},
		{"bad quoting", func(s string) []*ValidationError { _, e := ParseCalendar("h.csv", strings.NewReader(s)); return e },
			"date,name\n\"2025-07-04\"x,y\n", []string{`h.csv:2: date: date "2025-07-04\"x,y" is not a valid YYYY-MM-DD date`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := errStrings(tt.parse(tt.in)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestParseCodeTable(t *testing.T) {
	t.Parallel()
	in := "\ufeffcode,system,category,prefix,from,to,with_any,note\n" +
		"J0585,hcpcs,botox,,2020-07-01,,64612;64615,paired\n" +
		"I21,icd-10-cm,,true,,,,\n" +
		"27447,,,,,2017-12-31,,\n"
	got, errs := ParseCodeTable("c.csv", strings.NewReader(in))
	if errs != nil {
		t.Fatalf("got errors %v", errStrings(errs))
	}
	want := []CodeEntry{
		{System: "hcpcs", Code: "J0585", Display: "botox", From: Date{2020, 7, 1}, WithAny: []string{"64612", "64615"}},
		{System: "icd-10-cm", Code: "I21", Prefix: true, WithAny: []string{}},
		{Code: "27447", To: Date{2017, 12, 31}, WithAny: []string{}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestNextBusinessDayEnd(t *testing.T) {
	t.Parallel()
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skipf("no tz data: %v", err)
	}
	cal, errs := ParseCalendar("h.csv", strings.NewReader("date,name\n2025-01-20,MLK\n2025-07-04,Independence Day\n2025-11-27,Thanksgiving\n2025-12-25,Christmas\n"))
	if errs != nil {
		t.Fatal(errStrings(errs))
	}
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, ny)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name string
		cal  *Calendar
		in   string
		want string
	}{
		{"business day is unchanged", cal, "2025-07-03 10:15", "2025-07-03 10:15:00 -0400"},
		{"Saturday to Monday", cal, "2025-06-28 09:00", "2025-06-30 23:59:59 -0400"},
		{"Sunday to Monday", cal, "2025-06-29 23:30", "2025-06-30 23:59:59 -0400"},
		{"Friday holiday to Monday", cal, "2025-07-04 08:00", "2025-07-07 23:59:59 -0400"},
		{"weekend before a Monday holiday to Tuesday", cal, "2025-01-18 12:00", "2025-01-21 23:59:59 -0500"},
		{"Thanksgiving to Friday", cal, "2025-11-27 02:00", "2025-11-28 23:59:59 -0500"},
		{"across the spring DST change", cal, "2025-03-08 12:00", "2025-03-10 23:59:59 -0400"},
		{"across the autumn DST change", cal, "2025-11-01 12:00", "2025-11-03 23:59:59 -0500"},
		{"nil calendar knows weekends only", nil, "2025-07-04 08:00", "2025-07-04 08:00:00 -0400"},
		{"nil calendar Saturday", nil, "2025-07-05 08:00", "2025-07-07 23:59:59 -0400"},
	}
	for _, tt := range tests {
		if got := tt.cal.NextBusinessDayEnd(at(tt.in)).Format("2006-01-02 15:04:05 -0700"); got != tt.want {
			t.Errorf("%s: got %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestShippedHolidays(t *testing.T) {
	t.Parallel()
	r, err := LoadDefaults()
	if err != nil {
		t.Fatal(err)
	}
	cal := r.Default(day("2025-01-01")).Calendar()
	for _, d := range []string{"2023-01-02", "2023-11-10", "2024-06-19", "2026-07-03", "2027-12-31", "2028-11-23"} {
		if cal.IsBusinessDay(day(d)) {
			t.Errorf("%s: got business day, want a federal holiday (observed)", d)
		}
	}
	if !cal.IsBusinessDay(day("2026-07-06")) {
		t.Errorf("2026-07-06: got holiday, want business day")
	}
}

func TestCodeListMatch(t *testing.T) {
	l := NewCodeList(
		CodeEntry{System: "icd-10-cm", Code: "I21", Prefix: true, Display: "category"},
		CodeEntry{System: "icd-10-cm", Code: "I21.4", Display: "exact"},
		CodeEntry{System: "icd-10-cm", Code: "I21.0", Prefix: true, Display: "longer prefix"},
		CodeEntry{System: "cpt", Code: "64490", From: Date{2023, 7, 1}, To: Date{2024, 6, 30}, Display: "old"},
		CodeEntry{System: "cpt", Code: "64490", From: Date{2024, 7, 1}, Display: "new"},
		CodeEntry{System: "hcpcs", Code: "J0585", WithAny: []string{"64612", "64615"}, Display: "paired"},
	)
	tests := []struct {
		code facts.Code
		on   string
		want string // display of the entry, "" for no match
	}{
		{facts.Code{System: SystemICD10CM, Code: "I21.9"}, "2025-01-01", "category"},
		{facts.Code{System: SystemICD10CM, Code: "I214"}, "2025-01-01", "exact"},
		{facts.Code{System: SystemICD10CM, Code: "i21.4"}, "2025-01-01", "exact"},
		{facts.Code{System: SystemICD10CM, Code: "I21.01"}, "2025-01-01", "longer prefix"},
		{facts.Code{System: SystemICD10CM, Code: "I2"}, "2025-01-01", ""},
		{facts.Code{System: SystemSNOMED, Code: "I21.9"}, "2025-01-01", ""},
		{facts.Code{System: SystemHCPCS, Code: "64490"}, "2023-06-30", ""},
		{facts.Code{System: SystemHCPCS, Code: "64490"}, "2023-07-01", "old"},
		{facts.Code{System: "urn:oid:2.16.840.1.113883.6.12", Code: "64490"}, "2024-06-30", "old"},
		{facts.Code{System: SystemCPT, Code: " 64490 "}, "2024-07-01", "new"},
		{facts.Code{System: SystemCPT, Code: ""}, "2024-07-01", ""},
	}
	for _, tt := range tests {
		e, ok := l.Match(tt.code, day(tt.on))
		got := ""
		if ok {
			got = e.Display
		}
		if got != tt.want {
			t.Errorf("Match(%v, %s): got %q, want %q", tt.code, tt.on, got, tt.want)
		}
	}

	j := facts.Code{System: SystemHCPCS, Code: "J0585"}
	pairTests := []struct {
		lines []facts.Line
		want  bool
	}{
		{nil, false},
		{[]facts.Line{{Codes: []facts.Code{j}}}, false},
		{[]facts.Line{{Codes: []facts.Code{j}}, {Codes: []facts.Code{{System: SystemCPT, Code: "64612"}}}}, true},
		{[]facts.Line{{Codes: []facts.Code{j}}, {Codes: []facts.Code{{System: SystemCPT, Code: "64611"}}}}, false},
	}
	for i, tt := range pairTests {
		if _, got := l.MatchOnClaim(j, day("2025-01-01"), tt.lines); got != tt.want {
			t.Errorf("pair case %d: got %v, want %v", i, got, tt.want)
		}
	}
	if _, ok := l.MatchAny([]facts.Code{{System: SystemSNOMED, Code: "1"}, {System: SystemICD10CM, Code: "I21.3"}}, day("2025-01-01")); !ok {
		t.Errorf("MatchAny: got no match, want I21.3")
	}
	var nilList *CodeList
	if _, ok := nilList.Match(j, day("2025-01-01")); ok {
		t.Errorf("nil list matched")
	}
	if n := testing.AllocsPerRun(100, func() { l.Match(facts.Code{System: SystemICD10CM, Code: "I21.09"}, day("2025-01-01")) }); n != 0 {
		t.Errorf("Match: got %v allocations, want 0", n)
	}
}

func TestDateEncoding(t *testing.T) {
	t.Parallel()
	type doc struct {
		D Date `json:"d" yaml:"d"`
	}
	yamlTests := []struct {
		in      string
		want    Date
		wantErr string
	}{
		{"d: 2025-02-03", Date{2025, 2, 3}, ""},
		{`d: "2025-02-03"`, Date{2025, 2, 3}, ""},
		{"d: ", Date{}, ""},
		{"d: 2025-02-30", Date{}, `date "2025-02-30" is not a valid YYYY-MM-DD date`},
		{"d: 2025-02-03T10:00:00Z", Date{}, `date "2025-02-03T10:00:00Z" is not a valid YYYY-MM-DD date`},
		{"d: [1]", Date{}, "a date must be a YYYY-MM-DD string"},
	}
	for _, tt := range yamlTests {
		var d doc
		err := yaml.Unmarshal([]byte(tt.in), &d)
		if gotErr := fmt.Sprint(err); (tt.wantErr == "" && err != nil) || (tt.wantErr != "" && !strings.Contains(gotErr, tt.wantErr)) {
			t.Errorf("yaml %q: got error %v, want %q", tt.in, err, tt.wantErr)
		}
		if err == nil && d.D != tt.want {
			t.Errorf("yaml %q: got %v, want %v", tt.in, d.D, tt.want)
		}
	}
	jsonTests := []struct {
		in      string
		want    Date
		wantErr bool
	}{
		{`{"d":"2025-02-03"}`, Date{2025, 2, 3}, false},
		{`{"d":null}`, Date{}, false},
		{`{"d":""}`, Date{}, false},
		{`{"d":20250203}`, Date{}, true},
		{`{"d":"03/02/2025"}`, Date{}, true},
	}
	for _, tt := range jsonTests {
		var d doc
		err := json.Unmarshal([]byte(tt.in), &d)
		if (err != nil) != tt.wantErr || d.D != tt.want {
			t.Errorf("json %s: got %v, %v; want %v, error %v", tt.in, d.D, err, tt.want, tt.wantErr)
		}
	}
	out, err := json.Marshal(doc{D: Date{2025, 2, 3}})
	if err != nil || string(out) != `{"d":"2025-02-03"}` {
		t.Errorf("marshal: got %s %v", out, err)
	}
	out, _ = json.Marshal(doc{})
	if string(out) != `{"d":null}` {
		t.Errorf("marshal zero: got %s", out)
	}
	y, _ := yaml.Marshal(doc{D: Date{2025, 2, 3}})
	if string(y) != "d: \"2025-02-03\"\n" {
		t.Errorf("yaml marshal: got %q", y)
	}
	if s := (Date{2025, 2, 3}).String(); s != "2025-02-03" {
		t.Errorf("String: got %q", s)
	}
}

func TestTimelyFilingLastDay(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		tf      TimelyFiling
		through Date
		want    Date
	}{
		{TimelyFiling{LimitMonths: 12}, Date{2024, 2, 28}, Date{2025, 2, 28}},
		{TimelyFiling{LimitMonths: 12}, Date{2024, 2, 29}, Date{2025, 2, 28}},
		{TimelyFiling{LimitMonths: 1}, Date{2025, 1, 31}, Date{2025, 2, 28}},
		{TimelyFiling{LimitMonths: 14}, Date{2025, 11, 30}, Date{2027, 1, 30}},
		{TimelyFiling{LimitDays: 365}, Date{2024, 2, 28}, Date{2025, 2, 27}},
		{TimelyFiling{LimitDays: 90}, Date{2025, 12, 15}, Date{2026, 3, 15}},
	} {
		if got := tt.tf.LastDay(tt.through); got != tt.want {
			t.Errorf("%+v from %v: got %v, want %v", tt.tf, tt.through, got, tt.want)
		}
	}
}

// The federal holidays computed by rule agree with the shipped table in
// every year it covers, and give the right days outside it.
func TestFederalHolidayByRule(t *testing.T) {
	t.Parallel()
	r, err := LoadDefaults()
	if err != nil {
		t.Fatal(err)
	}
	cal := r.Default(day("2025-01-01")).Calendar()
	byYear := map[int][]string{}
	for d := range cal.Holidays {
		byYear[d.Y] = append(byYear[d.Y], d.String())
	}
	if len(byYear) < 6 {
		t.Fatalf("shipped table covers %d years, want 2023-2028", len(byYear))
	}
	computed := func(y int) []string {
		var out []string
		for d := time.Date(y, 1, 1, 12, 0, 0, 0, time.UTC); d.Year() == y; d = d.AddDate(0, 0, 1) {
			if _, ok := FederalHoliday(DateOf(d)); ok {
				out = append(out, DateOf(d).String())
			}
		}
		return out
	}
	for y, want := range byYear {
		sort.Strings(want)
		if got := computed(y); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%d: computed %v, table %v", y, got, want)
		}
	}
	for y, want := range map[int]string{
		// No Juneteenth before 2021; Christmas 2016 (Sunday) observed Monday.
		2016: "2016-01-01 2016-01-18 2016-02-15 2016-05-30 2016-07-04 2016-09-05 2016-10-10 2016-11-11 2016-11-24 2016-12-26",
		// Juneteenth 2021 (Saturday) observed Friday; New Year's Day 2022 (Saturday) on 2021-12-31.
		2021: "2021-01-01 2021-01-18 2021-02-15 2021-05-31 2021-06-18 2021-07-05 2021-09-06 2021-10-11 2021-11-11 2021-11-25 2021-12-24 2021-12-31",
		2030: "2030-01-01 2030-01-21 2030-02-18 2030-05-27 2030-06-19 2030-07-04 2030-09-02 2030-10-14 2030-11-11 2030-11-28 2030-12-25",
	} {
		if got := strings.Join(computed(y), " "); got != want {
			t.Errorf("%d:\n got %s\nwant %s", y, got, want)
		}
	}
	// Outside the table the calendar falls back to the rules.
	if cal.IsBusinessDay(day("2030-11-28")) || cal.IsBusinessDay(day("2016-12-26")) {
		t.Error("Thanksgiving 2030 / Christmas 2016 (observed) taken for business days")
	}
	if name, ok := cal.Holiday(DateOf(day("2016-12-26"))); !ok || name != "Christmas Day (observed)" {
		t.Errorf("2016-12-26: %q %v, want Christmas Day (observed)", name, ok)
	}
	// Inside it the table rules: a year with rows is not completed by rule.
	own := &Calendar{Name: "own", Holidays: map[Date]string{{2025, 3, 3}: "Hospital day"}}
	if own.IsBusinessDay(day("2025-03-03")) || !own.IsBusinessDay(day("2025-07-04")) || own.IsBusinessDay(day("2024-07-04")) {
		t.Error("a calendar's own rows decide the years they cover; other years follow the federal rules")
	}
}
