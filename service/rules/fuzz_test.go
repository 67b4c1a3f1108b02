package rules

import (
	"bytes"
	"io/fs"
	"testing"
	"testing/fstest"
)

// Rule files and tables come from operators; whatever they hold, loading
// reports errors and never panics.

func FuzzLoadRuleFile(f *testing.F) {
	entries, err := fs.ReadDir(DefaultsFS(), ".")
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		if isRuleFile(e.Name()) {
			data, err := fs.ReadFile(DefaultsFS(), e.Name())
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data, false)
		}
	}
	f.Add([]byte(baseRuleSet), false)
	f.Add([]byte(`{"id": "x", "checks": {"gmlos": {"factor": "1"}}, "custom": [{"when": "1 +"}]}`), true)
	f.Add([]byte("a: &a [*a]\n"), false)
	f.Fuzz(func(t *testing.T, data []byte, asJSON bool) {
		name := "f.yaml"
		if asJSON {
			name = "f.json"
		}
		fsys := fstest.MapFS{name: {Data: data}}
		r, err := load(fsys, "", DefaultsFS())
		if (r == nil) == (err == nil) {
			t.Fatalf("got registry %v and error %v: want exactly one", r != nil, err)
		}
	})
}

func FuzzParseTables(f *testing.F) {
	for _, name := range []string{"mue_synthetic_example.csv", "cms_opd_prior_auth.csv", "medicaid_los_norms_illustrative.csv", "us_federal_holidays.csv", "hrrp_ami.csv"} {
		data, err := fs.ReadFile(DefaultsFS(), "tables/"+name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("ms_drg,gmlos\n1,2\n\"x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ParseMUETable("t.csv", bytes.NewReader(data))
		ParseDRGTable("t.csv", bytes.NewReader(data))
		ParseCodeTable("t.csv", bytes.NewReader(data))
		ParseCalendar("t.csv", bytes.NewReader(data))
		nt, _ := ParseNormTable("t.csv", bytes.NewReader(data))
		nt.Lookup("291", nil)
	})
}
