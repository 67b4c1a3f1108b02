package fhir

import (
	"encoding/json"
	"strings"
	"testing"
)

// scanValid is what the reader's one pass decides: the whole of b (less
// whitespace around it) is one JSON value that valueEnd accepts.
func scanValid(b []byte) bool {
	s := skipWS(b, 0)
	e := valueEnd(b, s)
	return e > 0 && skipWS(b, e) == len(b)
}

var validityCases = []string{
	`{}`, `[]`, `""`, `0`, `-0`, `1.5e+3`, `-12.0E-1`, `true`, `false`, `null`,
	`{"a":[1,2,{"b":"c\"d\\e\/f\b\f\n\r\t\u00e9"}]}`,
	" \t\r\n{ \"a\" : [ 1 , 2 ] } \n",
	"\"\xff\xfe invalid UTF-8 is accepted\"",
	// invalid
	``, ` `, `{`, `}`, `[`, `]`, `[1,]`, `[,1]`, `[1 2]`, `{"a":1,}`, `{,"a":1}`, `{"a":1 "b":2}`, `{"a" 1}`,
	`{"a":}`, `{a:1}`, `{'a':1}`, `[1]]`, `[1}`, `{"a":1]`, `01`, `1.`, `.5`, `1e`, `1e+`, `-`, `+1`, `--1`,
	`tru`, `truex`, `nul`, `NaN`, `Infinity`, `"abc`, `"a\x"`, `"\u12G4"`, `"\u12"`, "\"a\tb\"", "\"a\nb\"",
	"\"\x00\"", `"\`, `[1,2`, `{"a":[}`, `[1]x`, `{} {}`, "\xef\xbb\xbf{}",
	strings.Repeat("[", 600) + strings.Repeat("]", 600), // too deep for the scanner: encoding/json decides
}

// TestValueEndMatchesValid: the reader no longer runs encoding/json.Valid
// over each file first (issue 12, "one pass"); its scanner validates as it
// reads. It must never accept what encoding/json rejects, and it rejects
// only what encoding/json rejects, or what is nested deeper than
// maxScanDepth (the reader then falls back to encoding/json).
func TestValueEndMatchesValid(t *testing.T) {
	t.Parallel()
	for _, c := range validityCases {
		got, want := scanValid([]byte(c)), json.Valid([]byte(c))
		deep := strings.Count(c, "[") > maxScanDepth
		if got != want && !(deep && !got) {
			t.Errorf("%.40q: scanner says valid=%v, encoding/json %v", c, got, want)
		}
	}
}

// Run: go test ./fhir -run '^$' -fuzz '^FuzzValueEnd$' -fuzztime 1m
func FuzzValueEnd(f *testing.F) {
	for _, c := range validityCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, want := scanValid(b), json.Valid(b)
		if got && !want {
			t.Fatalf("scanner accepts what encoding/json rejects: %q", b)
		}
		if !got && want && strings.Count(string(b), "[")+strings.Count(string(b), "{") <= maxScanDepth {
			t.Fatalf("scanner rejects valid JSON: %q", b)
		}
	})
}

// TestBundleEntriesInOnePass: the entries of a Bundle are read as the scan
// meets them when resourceType and type come first; whatever the order of
// the members, a repeated key keeps its last value (as encoding/json does)
// and a syntax error anywhere still reports the file invalid, with nothing
// read from it.
func TestBundleEntriesInOnePass(t *testing.T) {
	t.Parallel()
	p := func(id string) string { return `{"resource":{"resourceType":"Patient","id":"` + id + `"}}` }
	tests := []struct {
		name, data string
		ids        string
		errs       int
	}{
		{"type first", `{"resourceType":"Bundle","type":"collection","entry":[` + p("a") + `,` + p("b") + `]}`, "a,b", 0},
		{"entry first", `{"entry":[` + p("a") + `],"resourceType":"Bundle","type":"collection"}`, "a", 0},
		{"repeated entry: the last", `{"resourceType":"Bundle","type":"collection","entry":[` + p("a") + `],"entry":[` + p("b") + `]}`, "b", 0},
		{"type changed after the entries", `{"resourceType":"Bundle","type":"collection","entry":[` + p("a") + `],"type":"document"}`, "", 1},
		{"not a Bundle after all", `{"resourceType":"Bundle","type":"collection","entry":[` + p("a") + `],"resourceType":"Basic"}`, "", 0},
		{"entry not an array", `{"resourceType":"Bundle","type":"collection","entry":{}}`, "", 1},
		{"syntax error after the entries", `{"resourceType":"Bundle","type":"collection","entry":[` + p("a") + `],"x":tru}`, "", 1},
		{"syntax error in an entry", `{"resourceType":"Bundle","type":"collection","entry":[` + p("a") + `,{"resource":{"id":"b",}}]}`, "", 1},
	}
	r := NewReader()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ids []string
			errs := r.ReadBytes("b.json", []byte(tt.data), func(res *Resource) {
				if res.Type != "Basic" {
					ids = append(ids, res.ID)
				}
			})
			if got := strings.Join(ids, ","); got != tt.ids || len(errs) != tt.errs {
				t.Errorf("got ids %q and %v, want %q and %d error(s)", got, errs, tt.ids, tt.errs)
			}
		})
	}
}
