package payerapi

import (
	"errors"
	"maps"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestParseSearch: the supported parameters are accepted as given; anything
// else (a parameter, a modifier, a repetition, a comma list, a bad value) is
// refused, never ignored (issue 9 §2).
func TestParseSearch(t *testing.T) {
	tests := []struct {
		query string
		ok    bool
		count int
	}{
		{"", true, DefaultCount},
		{"identifier=https://utilreview.dev/fhir/identifier/determination|abc", true, DefaultCount},
		{"identifier=abc", true, DefaultCount},
		{"patient.identifier=urn:oid:1.2|MRN1", true, DefaultCount},
		{"created=ge2026-11-01", true, DefaultCount},
		{"created=2026", true, DefaultCount},
		{"created=2026-11", true, DefaultCount},
		{"created=gt2026-11-01T10:00:00Z&created=lt2026-11-02T10:00:00-05:00", true, DefaultCount},
		{"_lastUpdated=gt2026-11-01T10:00:00.123Z", true, DefaultCount},
		{"_count=1", true, 1},
		{"_count=200", true, 200},
		{"_format=json", true, DefaultCount},
		{"_format=application/fhir%2Bjson", true, DefaultCount},
		{"_format=application/fhir+json", true, DefaultCount},
		// refused
		{"_count=0", false, 0},
		{"_count=201", false, 0},
		{"_count=-1", false, 0},
		{"_count=1&_count=2", false, 0},
		{"_format=xml", false, 0},
		{"status=active", false, 0},
		{"patient=Patient/1", false, 0},
		{"patient:identifier=x", false, 0},
		{"identifier:text=x", false, 0},
		{"identifier:not=x", false, 0},
		{"_sort=created", false, 0},
		{"_include=ClaimResponse:patient", false, 0},
		{"_summary=count", false, 0},
		{"_elements=id", false, 0},
		{"_total=accurate", false, 0},
		{"_id=1", false, 0},
		{"insurer.identifier=x|y", false, 0},
		{"identifier=", false, 0},
		{"identifier=sys|", false, 0},
		{"identifier=a,b", false, 0},
		{"identifier=a|b|c", false, 0},
		{"identifier=a&identifier=b", false, 0},
		{"identifier=" + strings.Repeat("x", 257), false, 0},
		{"identifier=a%00b", false, 0},
		{"created=", false, 0},
		{"created=ap2026-11-01", false, 0},
		{"created=ne2026-11-01", false, 0},
		{"created=2026-13-01", false, 0},
		{"created=2026-11-01T10:00:00", false, 0},   // a dateTime without a zone
		{"created=2026-11-01T10:00Z", false, 0},     // minutes only
		{"created=2026-11-01,2026-11-02", false, 0}, // a comma list
		{"created=ge2026-11-01&created=le2026-11-02&created=eq2026-11-01", false, 0},
		{"_page=AAAAAAAAAAAAAAAAAAAAAA", false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			v, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			q, err := ParseSearch(v)
			if tt.ok != (err == nil) {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
			if err != nil {
				var pe *ParamError
				if !errors.As(err, &pe) {
					t.Fatalf("error %T is not a *ParamError", err)
				}
				return
			}
			if q.Count() != tt.count {
				t.Errorf("count %d, want %d", q.Count(), tt.count)
			}
		})
	}
}

// TestParamErrorShowsNoValue: a refusal names the parameter and the
// problem, never the value (a patient identifier is PHI).
func TestParamErrorShowsNoValue(t *testing.T) {
	for _, q := range []string{"patient.identifier=sys|SECRET,MRN", "identifier=SECRET|a|b", "created=SECRET", "SECRET%20NAME=1"} {
		v, _ := url.ParseQuery(q)
		_, err := ParseSearch(v)
		if err == nil || strings.Contains(err.Error(), "SECRET") {
			t.Errorf("%s: %v", q, err)
		}
	}
}

func TestParseSince(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2026-11-01T10:00:00Z", time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC), true},
		{"2026-11-01T10:00:00.5+02:00", time.Date(2026, 11, 1, 8, 0, 0, 5e8, time.UTC), true},
		{"2026-11-01T10:00:00-05:00", time.Date(2026, 11, 1, 15, 0, 0, 0, time.UTC), true},
		{"2026-11-01", time.Time{}, false},
		{"2026-11-01T10:00:00", time.Time{}, false},
		{"2026-11-01T10:00Z", time.Time{}, false},
		{"2026-02-30T10:00:00Z", time.Time{}, false},
		{"yesterday", time.Time{}, false},
		{"", time.Time{}, false},
	}
	for _, tt := range tests {
		got, err := ParseSince(tt.in)
		if tt.ok != (err == nil) || !got.Equal(tt.want) {
			t.Errorf("ParseSince(%q) = %v, %v; want %v ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestParseExport(t *testing.T) {
	for q, ok := range map[string]bool{
		"":                    true,
		"_type=ClaimResponse": true,
		"_since=2026-11-01T00:00:00Z&_outputFormat=application/fhir%2Bndjson": true,
		"_type=ClaimResponse,Patient":                                         false,
		"_type=Patient":                                                       false,
		"_since=2026-11-01":                                                   false,
		"_typeFilter=ClaimResponse%3Fstatus%3Dactive":                         false,
		"_elements=id":                                                        false,
		"_outputFormat=text/csv":                                              false,
		"_type=ClaimResponse&_type=ClaimResponse":                             false,
		"patient=Patient/1":                                                   false,
		"includeAssociatedData=LatestProvenanceResources":                     false,
	} {
		v, _ := url.ParseQuery(q)
		if _, err := ParseExport(v); ok != (err == nil) {
			t.Errorf("%q: err = %v, want ok=%v", q, err, ok)
		}
	}
}

func TestParsePageToken(t *testing.T) {
	tests := []struct {
		query       string
		token       string
		isPage, err bool
	}{
		{"", "", false, false},
		{"identifier=x", "", false, false},
		{"_page=AAAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAAAA", true, false},
		{"_page=AAAAAAAAAAAAAAAAAAAAAA&_format=json", "AAAAAAAAAAAAAAAAAAAAAA", true, false},
		{"_page=AAAAAAAAAAAAAAAAAAAAAA&identifier=x", "", true, true},
		{"_page=short", "", true, true},
		{"_page=AAAAAAAAAAAAAAAAAAAAAA&_page=AAAAAAAAAAAAAAAAAAAAAB", "", true, true},
	}
	for _, tt := range tests {
		v, _ := url.ParseQuery(tt.query)
		token, isPage, err := ParsePageToken(v)
		if token != tt.token || isPage != tt.isPage || (err != nil) != tt.err {
			t.Errorf("%q: %q %v %v", tt.query, token, isPage, err)
		}
	}
}

// FuzzParseSearch: whatever the query, ParseSearch answers a Query or a
// *ParamError without panicking, its error never quotes a value, and an
// accepted query holds only supported parameters with values that pass the
// checks again (the self link re-parses).
func FuzzParseSearch(f *testing.F) {
	for _, s := range []string{"", "identifier=a|b", "created=ge2026-11-01&created=lt2026-11-02T00:00:00Z", "_count=5",
		"patient.identifier=urn:x|1", "_lastUpdated=gt2026-01-01T00:00:00.1+01:00", "identifier=a,b", "x=1", "_page=AAAAAAAAAAAAAAAAAAAAAA"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := ParseSearch(v)
		if err != nil {
			var pe *ParamError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T", err)
			}
			// The error without the parameter names (which it may show)
			// must hold no value.
			text := strings.ReplaceAll(err.Error(), supportedList(), "")
			names := slices.Collect(maps.Keys(v))
			slices.SortFunc(names, func(a, b string) int { return len(b) - len(a) }) // the longest first
			for _, name := range names {
				text = strings.ReplaceAll(text, name, "")
			}
			for _, vals := range v {
				for _, val := range vals {
					if len(val) >= 8 && strings.Contains(text, val) {
						t.Fatalf("error %q quotes the value %q", err, val)
					}
				}
			}
			return
		}
		again, err := url.ParseQuery(q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		q2, err := ParseSearch(again)
		if err != nil || q2.Encode() != q.Encode() {
			t.Fatalf("the accepted query %q does not re-parse: %v", q.Encode(), err)
		}
	})
}

// FuzzParseSince: ParseSince accepts only instants (seconds and a zone) and
// never panics; what it accepts round-trips.
func FuzzParseSince(f *testing.F) {
	for _, s := range []string{"2026-11-01T10:00:00Z", "2026-11-01T10:00:00.123456789-05:00", "2026-11-01", "2026-11-01T10:00:00", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseSince(s)
		if err != nil {
			return
		}
		if got.Location() != time.UTC || !hasZone(s) || !strings.Contains(s, "T") {
			t.Fatalf("ParseSince(%q) accepted %v", s, got)
		}
		back, err := ParseSince(got.Format(time.RFC3339Nano))
		if err != nil || !back.Equal(got) {
			t.Fatalf("ParseSince(%q) = %v does not round-trip: %v %v", s, got, back, err)
		}
	})
}
