package rules

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/utilreview/utilreview/service/facts"
)

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t.Add(12 * time.Hour)
}

// registryFiles: payer "alpha" in two versions, payer "beta" known by a
// name, and the default.
var registryFiles = map[string]string{
	"default.yaml": baseRuleSet,
	"alpha-2024.yaml": edit(otherPayer, "id: other", "id: alpha", `version: "1"`, `version: "2024"`,
		"{from: 2025-01-01}", "{from: 2024-01-01, to: 2024-12-31}", "[other payer]", "[Alpha Health]"),
	"alpha-2025.yaml": edit(otherPayer, "id: other", "id: alpha", `version: "1"`, `version: "2025"`, "[other payer]", "[Alpha Health]"),
	"beta.yaml":       edit(otherPayer, "id: other", "id: beta", `value: "X1"`, `value: "B1"`, "[other payer]", "[Beta Plan, beta]"),
}

func TestRegistryFor(t *testing.T) {
	t.Parallel()
	r, errs := loadTest(t, registryFiles)
	if errs != nil {
		t.Fatalf("load: %v", errs)
	}
	tests := []struct {
		name        string
		payer       *facts.Payer
		on          string
		wantID      string
		wantVersion string
		wantOK      bool
	}{
		{"nil payer gets the default", nil, "2025-03-01", "test-payer", "1", false},
		{"identifier", &facts.Payer{Identifiers: []facts.Identifier{{System: "http://example.org/payer", Value: "X1"}}}, "2025-03-01", "alpha", "2025", true},
		{"identifier picks the version in effect", &facts.Payer{Identifiers: []facts.Identifier{{System: "http://example.org/payer", Value: "X1"}}}, "2024-12-31", "alpha", "2024", true},
		{"identifier before every version gets the first", &facts.Payer{Identifiers: []facts.Identifier{{System: "http://example.org/payer", Value: "X1"}}}, "2019-05-01", "alpha", "2024", true},
		{"identifier beats name", &facts.Payer{Identifiers: []facts.Identifier{{System: "http://example.org/payer", Value: "X1"}}, Name: "Beta Plan"}, "2025-03-01", "alpha", "2025", true},
		{"identifier with another system does not match", &facts.Payer{Identifiers: []facts.Identifier{{System: "http://other.example/payer", Value: "X1"}}}, "2025-03-01", "test-payer", "1", false},
		{"unknown identifier falls through to name", &facts.Payer{Identifiers: []facts.Identifier{{System: "http://example.org/payer", Value: "nope"}}, Name: "Beta Plan"}, "2025-03-01", "beta", "1", true},
		{"name is case-insensitive and trimmed", &facts.Payer{Name: "  ALPHA health "}, "2025-03-01", "alpha", "2025", true},
		{"name beats display", &facts.Payer{Name: "Alpha Health", Display: "beta"}, "2025-03-01", "alpha", "2025", true},
		{"display text", &facts.Payer{Display: "Beta"}, "2025-03-01", "beta", "1", true},
		{"unknown name gets the default", &facts.Payer{Name: "Gamma"}, "2025-03-01", "test-payer", "1", false},
		{"no-payer display gets the default, unmatched", &facts.Payer{Display: "no_insurance"}, "2025-03-01", "test-payer", "1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs, ok := r.For(tt.payer, day(tt.on))
			if rs == nil {
				t.Fatalf("got nil rule set")
			}
			if rs.ID != tt.wantID || rs.Version != tt.wantVersion || ok != tt.wantOK {
				t.Errorf("got %s@%s ok=%v, want %s@%s ok=%v", rs.ID, rs.Version, ok, tt.wantID, tt.wantVersion, tt.wantOK)
			}
		})
	}
}

func TestRegistryForDoesNotAllocate(t *testing.T) {
	r, errs := loadTest(t, registryFiles)
	if errs != nil {
		t.Fatalf("load: %v", errs)
	}
	if n := testing.AllocsPerRun(100, func() { IsNoPayer(" No_Insurance") }); n != 0 {
		t.Errorf("IsNoPayer: got %v allocations, want 0", n)
	}
	payers := []*facts.Payer{
		{Identifiers: []facts.Identifier{{System: "http://example.org/payer", Value: "X1"}}},
		{Name: " ALPHA Health"},
		{Display: "beta"},
		{Display: "Unknown Payer"},
	}
	on := day("2025-03-01")
	for _, p := range payers {
		if n := testing.AllocsPerRun(100, func() { r.For(p, on) }); n != 0 {
			t.Errorf("For(%+v): got %v allocations, want 0", p, n)
		}
	}
}

func TestIsNoPayer(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]bool{
		"no_insurance": true, " No_Insurance ": true, "uninsured": true, "self-pay": true,
		"private": false, "medicare": false, "": false, "nonexistent": false,
	} {
		if got := IsNoPayer(in); got != want {
			t.Errorf("IsNoPayer(%q): got %v, want %v", in, got, want)
		}
	}
}

func TestShippedRuleSets(t *testing.T) {
	t.Parallel()
	r, err := LoadDefaults()
	if err != nil {
		t.Fatalf("LoadDefaults: %v", err)
	}
	ids := map[string]*RuleSet{}
	for _, rs := range r.RuleSets() {
		ids[rs.ID] = rs
		if rs.Program != MedicareFFS && (!rs.Illustrative || rs.Note == "") {
			t.Errorf("%s: non-Medicare rule sets are fictional: got illustrative=%v note=%q", rs.ID, rs.Illustrative, rs.Note)
		}
		if rs.Calendar() == nil || len(rs.Calendar().Holidays) != 66 {
			t.Errorf("%s: got calendar %v, want the 66 US federal holidays 2023-2028", rs.ID, rs.Calendar())
		}
	}
	for _, want := range []string{"medicare-ffs", "example-medicare-advantage", "example-medicaid", "example-acme-health", "example-capital-insurance", "default-commercial"} {
		if ids[want] == nil {
			t.Errorf("missing shipped rule set %q", want)
		}
	}

	// Synthea's coverage.display values.
	on := day("2025-06-01")
	for display, want := range map[string]string{
		"medicare": "medicare-ffs", "dual_eligible": "medicare-ffs", "medicaid": "example-medicaid",
		"private": "default-commercial", "no_insurance": "default-commercial",
	} {
		rs, ok := r.For(&facts.Payer{Display: display}, on)
		if rs == nil || rs.ID != want {
			t.Errorf("display %q: got %v, want %s", display, rs, want)
		}
		if wantOK := display != "no_insurance"; ok != wantOK {
			t.Errorf("display %q: got ok=%v, want %v", display, ok, wantOK)
		}
	}
	// The Da Vinci PAS example insurer, by NPI.
	if rs, ok := r.For(&facts.Payer{Identifiers: []facts.Identifier{{System: "http://hl7.org/fhir/sid/us-npi", Value: "1234567893"}}}, on); !ok || rs.ID != "example-capital-insurance" {
		t.Errorf("PAS insurer NPI: got %v ok=%v, want example-capital-insurance", rs, ok)
	}

	ffs := ids["medicare-ffs"]
	c := ffs.Checks
	if c.AdmissionNotification.Enabled || !c.TwoMidnight.Enabled || !c.SNFThreeDay.Enabled || c.SNFThreeDay.MinMidnights != 3 ||
		c.PaymentWindow.Days != 3 || c.TimelyFiling.LimitMonths != 12 || c.TimelyFiling.LimitDays != 0 || !c.Observation.MOON || c.Observation.MaxHours != 48 ||
		!c.ImportantMessage.Enabled || !c.ConditionCode44.Enabled {
		t.Errorf("medicare-ffs checks: got %+v", c)
	}
	if ids["example-medicare-advantage"].Checks.SNFThreeDay.Enabled {
		t.Errorf("the Medicare Advantage example waives the SNF 3-day rule")
	}
	if d, ok := ffs.DRG("291"); !ok || d.GMLOS <= 0 || d.Title == "" {
		t.Errorf("DRG 291: got %+v %v, want a row with a GMLOS", d, ok)
	}
	if d, ok := ffs.DRG("1"); !ok || d.Code != "001" || d.GMLOS != 28.5 {
		t.Errorf(`DRG "1": got %+v %v, want 001 with GMLOS 28.5`, d, ok)
	}
	if _, ok := ffs.DRG("1000"); ok {
		t.Errorf("DRG 1000: got a row, want none")
	}
	for name, n := range map[string]int{"opd-prior-auth": 58, "inpatient-only": 16} {
		if got := ffs.CodeList(name).Len(); got != n {
			t.Errorf("medicare-ffs %s: got %d codes, want %d", name, got, n)
		}
	}
	for cohort, list := range c.Readmission.HRRPCohorts {
		if ffs.CodeList(list).Len() == 0 {
			t.Errorf("HRRP cohort %s: list %q is empty", cohort, list)
		}
	}

	mcd := ids["example-medicaid"]
	normTests := []struct {
		drg       string
		principal []facts.Code
		pct       int
		want      float64
		ok        bool
	}{
		{"291", nil, 0, 4, true},
		{"291", nil, 90, 8, true},
		{"291", nil, 60, 0, false},
		{"", []facts.Code{{System: SystemICD10CM, Code: "I50.23"}}, 50, 3, true},
		{"", []facts.Code{{System: SystemICD10CM, Code: "I5023"}}, 75, 5, true},
		{"999", []facts.Code{{System: SystemSNOMED, Code: "74400008"}}, 50, 2, true},
		{"", []facts.Code{{System: SystemSNOMED, Code: "I50"}}, 50, 0, false},
		{"", []facts.Code{{System: SystemICD10CM, Code: "Z00.0"}}, 50, 0, false},
	}
	for _, tt := range normTests {
		got, ok := mcd.NormDays(tt.drg, tt.principal, tt.pct)
		if got != tt.want || ok != tt.ok {
			t.Errorf("NormDays(%q, %v, %d): got %v %v, want %v %v", tt.drg, tt.principal, tt.pct, got, ok, tt.want, tt.ok)
		}
	}
	capital := ids["example-capital-insurance"]
	if m, ok := capital.MUE("70553"); !ok || m.Value != 1 || !m.PerDay() {
		t.Errorf("MUE 70553: got %+v %v", m, ok)
	}
	if m, ok := capital.MUE("j1100"); !ok || m.Value != 30 || m.PerDay() {
		t.Errorf("MUE j1100: got %+v %v", m, ok)
	}
	if _, ok := ffs.MUE("70553"); ok {
		t.Errorf("medicare-ffs ships no MUE table: got an MUE")
	}
}

func TestShippedCodeLists(t *testing.T) {
	t.Parallel()
	r, err := LoadDefaults()
	if err != nil {
		t.Fatalf("LoadDefaults: %v", err)
	}
	ffs, _ := r.ByID("medicare-ffs", day("2025-01-01"))
	botox := []facts.Line{{Codes: []facts.Code{{System: SystemHCPCS, Code: "J0585"}}}}
	withInjection := append(botox, facts.Line{Codes: []facts.Code{{System: SystemCPT, Code: "64615"}}})
	tests := []struct {
		list  string
		code  facts.Code
		on    string
		lines []facts.Line
		want  bool
	}{
		{"opd-prior-auth", facts.Code{System: SystemCPT, Code: "15823"}, "2024-05-01", nil, true},
		{"opd-prior-auth", facts.Code{System: SystemCPT, Code: "15823"}, "2020-06-30", nil, false},
		{"opd-prior-auth", facts.Code{System: SystemCPT, Code: "64490"}, "2023-06-30", nil, false},
		{"opd-prior-auth", facts.Code{System: SystemCPT, Code: "64490"}, "2023-07-01", nil, true},
		{"opd-prior-auth", facts.Code{System: SystemCPT, Code: "64492"}, "2024-07-01", nil, false},
		{"opd-prior-auth", facts.Code{System: SystemHCPCS, Code: "J0585"}, "2024-05-01", botox, false},
		{"opd-prior-auth", facts.Code{System: SystemHCPCS, Code: "J0585"}, "2024-05-01", withInjection, true},
		{"inpatient-only", facts.Code{System: SystemCPT, Code: "27447"}, "2017-06-01", nil, true},
		{"inpatient-only", facts.Code{System: SystemCPT, Code: "27447"}, "2018-01-01", nil, false},
		{"inpatient-only", facts.Code{System: "http://www.ama-assn.org/go/cpt", Code: "33533"}, "2025-01-01", nil, true},
		{"hrrp-ami", facts.Code{System: SystemICD10CM, Code: "I21.4"}, "2025-01-01", nil, true},
		{"hrrp-ami", facts.Code{System: SystemICD10CM, Code: "I25.10"}, "2025-01-01", nil, false},
		{"hrrp-ami", facts.Code{System: SystemSNOMED, Code: "22298006"}, "2025-01-01", nil, true},
		{"hrrp-hf", facts.Code{System: SystemICD10CM, Code: "I11.0"}, "2025-01-01", nil, true},
		{"hrrp-hf", facts.Code{System: SystemICD10CM, Code: "I11.9"}, "2025-01-01", nil, false},
		{"hrrp-cabg", facts.Code{System: SystemICD10PCS, Code: "021209W"}, "2025-01-01", nil, true},
		{"hrrp-tha-tka", facts.Code{System: SystemICD10PCS, Code: "0SRC0J9"}, "2025-01-01", nil, true},
		{"planned-readmission", facts.Code{System: SystemICD10CM, Code: "Z51.11"}, "2025-01-01", nil, true},
	}
	for _, tt := range tests {
		_, got := ffs.CodeList(tt.list).MatchOnClaim(tt.code, day(tt.on), tt.lines)
		if got != tt.want {
			t.Errorf("%s %s on %s: got %v, want %v", tt.list, tt.code.Code, tt.on, got, tt.want)
		}
	}
}

func TestLoadDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, body string) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The directory's own calendar overrides the embedded one; the GMLOS
	// table is not in the directory and comes from the embedded tables.
	write("payer.yaml", edit(baseRuleSet, "version: \"1\"", "version: \"local\"", "effective: {from: 2025-01-01}", "effective: {from: 2025-01-01}\ncalendar: local.csv"))
	write("tables/local.csv", "date,name\n2025-03-03,Local closure\n")
	write("README.txt", "not a rule file")
	r, err := LoadDir(dir)
	if err != nil {
		t.Fatalf("LoadDir: %v", err)
	}
	if n := len(r.RuleSets()); n != 1 {
		t.Fatalf("got %d rule sets, want only the directory's 1 (the embedded ones are replaced)", n)
	}
	rs := r.RuleSets()[0]
	if rs.File != filepath.Join(dir, "payer.yaml") {
		t.Errorf("File: got %q, want %q", rs.File, filepath.Join(dir, "payer.yaml"))
	}
	if _, ok := rs.DRG("291"); !ok {
		t.Errorf("DRG 291: not found, want the embedded GMLOS table")
	}
	if cal := rs.Calendar(); cal == nil || len(cal.Holidays) != 1 {
		t.Errorf("calendar: got %v, want the directory's one holiday", cal)
	}
	if errs := ValidateDir(dir); errs != nil {
		t.Errorf("ValidateDir: got %v, want none", errs)
	}
}

func TestValidateDirSorted(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	files := map[string]string{
		"b.yaml": edit(otherPayer, "program: medicaid", "program: medicar", "checks: {}", "checks: {snf_three_day: {enabled: true}}"),
		"a.yaml": edit(baseRuleSet, "factor: 1.5", "factor: -1"),
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	errs := ValidateDir(dir)
	var got []string
	for _, e := range errs {
		got = append(got, strings.TrimPrefix(e.Error(), dir+string(filepath.Separator)))
	}
	want := []string{
		"a.yaml:10: checks.gmlos.factor: must be > 0",
		`b.yaml:5: program: unknown program "medicar" (want medicare-ffs, medicare-advantage, medicaid or commercial)`,
		"b.yaml:9: checks.snf_three_day.min_midnights: must be > 0",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if errs := ValidateDir(filepath.Join(dir, "missing")); len(errs) != 1 {
		t.Errorf("missing directory: got %v, want one error", errs)
	}
}

func TestRuleSetMarshalsAsWritten(t *testing.T) {
	t.Parallel()
	r, err := LoadDefaults()
	if err != nil {
		t.Fatal(err)
	}
	ffs, _ := r.ByID("medicare-ffs", day("2025-01-01"))
	b, err := json.Marshal(ffs)
	if err != nil {
		t.Fatal(err)
	}
	// The table's 56 rows are looked up, not written back into the rule set.
	if strings.Contains(string(b), `"code":"J0585"`) || !strings.Contains(string(b), `"table":"cms_opd_prior_auth.csv"`) {
		t.Errorf("marshalled rule set: got table rows inline or no table name: %.300s", b)
	}
	if !strings.Contains(string(b), `"effective":{"from":"2024-10-01","to":null}`) {
		t.Errorf("marshalled effective dates: got %.400s", b)
	}
	// Loading the JSON gives the same rule set back.
	other, _ := r.ByID("default-commercial", day("2025-01-01"))
	ob, err := json.Marshal(other)
	if err != nil {
		t.Fatal(err)
	}
	_, errs := loadTest(t, map[string]string{"ffs.json": string(b), "default.json": string(ob)})
	if errs != nil {
		t.Errorf("reloading the marshalled rule sets: %v", errs)
	}
	if got := ffs.CodeList("opd-prior-auth").Len(); got != 58 {
		t.Errorf("opd-prior-auth: got %d entries, want 58 (56 from CMS's list as shipped in shared data, plus 64612 and 64615)", got)
	}
}

// A --rules directory that is missing or a file is named in the error with
// the reason in words, not as os.DirFS's "open .".
func TestLoadDirNotADirectory(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(file, []byte("id: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "nonexistent")
	for dir, want := range map[string]string{missing: "does not exist", file: "not a directory"} {
		_, err := LoadDir(dir)
		if err == nil || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "open .") {
			t.Errorf("LoadDir(%s): %v; want the directory and %q", dir, err, want)
		}
		errs := ValidateDir(dir)
		if len(errs) != 1 || !strings.Contains(errs[0].Error(), dir) || !strings.Contains(errs[0].Error(), want) {
			t.Errorf("ValidateDir(%s): %v; want one error naming the directory and %q", dir, errs, want)
		}
	}
}
