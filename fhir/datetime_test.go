package fhir

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func mustLoad(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Skipf("time zone %s not available: %v", name, err)
	}
	return loc
}

func TestParseDateTime(t *testing.T) {
	t.Parallel()
	ny := mustLoad(t, "America/New_York")
	tests := []struct {
		in       string
		loc      *time.Location
		wantUTC  string // RFC 3339 in UTC
		wantPrec Precision
	}{
		{"2025", ny, "2025-01-01T05:00:00Z", Year},
		{"2025-07", ny, "2025-07-01T04:00:00Z", Month},
		{"2025-07-04", ny, "2025-07-04T04:00:00Z", Day},
		{"2024-02-29", time.UTC, "2024-02-29T00:00:00Z", Day},
		{"2025-07-04", nil, "2025-07-04T00:00:00Z", Day}, // nil location is UTC
		{"2025-07-04T10:30:00Z", ny, "2025-07-04T10:30:00Z", Second},
		{"2025-07-04T10:30:00+02:00", ny, "2025-07-04T08:30:00Z", Second},
		{"2025-07-04T10:30:00-05:30", ny, "2025-07-04T16:00:00Z", Second},
		{"2025-07-04T23:30:00-14:00", time.UTC, "2025-07-05T13:30:00Z", Second},
		{"2025-07-04T10:30:00.5Z", ny, "2025-07-04T10:30:00.5Z", Subsecond},
		{"2025-07-04T10:30:00.123456789123Z", ny, "2025-07-04T10:30:00.123456789Z", Subsecond},
		{"2025-07-04T10:30:00", ny, "2025-07-04T14:30:00Z", Second}, // EDT
		{"2025-01-04T10:30:00", ny, "2025-01-04T15:30:00Z", Second}, // EST
		{"2025-07-04T10:30", ny, "2025-07-04T14:30:00Z", Minute},
		{"2025-07-04T10:30+01:00", ny, "2025-07-04T09:30:00Z", Minute},
		// Clocks go back at 02:00 EDT on 2025-11-02: 01:30 happens twice; the earlier (EDT) one.
		{"2025-11-02T01:30:00", ny, "2025-11-02T05:30:00Z", Second},
		{"2025-11-02T01:30:00-05:00", ny, "2025-11-02T06:30:00Z", Second}, // the later one, by offset
		{"2025-11-02T00:59:59", ny, "2025-11-02T04:59:59Z", Second},
		{"2025-11-02T02:00:00", ny, "2025-11-02T07:00:00Z", Second},
		// Clocks go forward at 02:00 EST on 2025-03-09: 02:30 does not exist; read as EST (= 03:30 EDT).
		{"2025-03-09T02:30:00", ny, "2025-03-09T07:30:00Z", Second},
		{"2025-03-09T03:00:00", ny, "2025-03-09T07:00:00Z", Second},
		{"2025-03-09T01:59:59", ny, "2025-03-09T06:59:59Z", Second},
		{"2025-03-09", ny, "2025-03-09T05:00:00Z", Day},
		{"2016-12-31T23:59:60Z", time.UTC, "2017-01-01T00:00:00Z", Second}, // leap second
		{"0001-01-01", time.UTC, "0001-01-01T00:00:00Z", Day},
	}
	for _, tc := range tests {
		got, prec, err := ParseDateTime(tc.in, tc.loc)
		if err != nil {
			t.Errorf("ParseDateTime(%q): %v", tc.in, err)
			continue
		}
		if s := got.UTC().Format(time.RFC3339Nano); s != tc.wantUTC || prec != tc.wantPrec {
			t.Errorf("ParseDateTime(%q): got %s %v, want %s %v", tc.in, s, prec, tc.wantUTC, tc.wantPrec)
		}
		wantLoc := tc.loc
		if wantLoc == nil {
			wantLoc = time.UTC
		}
		if got.Location() != wantLoc {
			t.Errorf("ParseDateTime(%q): location %v, want %v", tc.in, got.Location(), wantLoc)
		}
	}
}

func TestParseDateTimeErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", "expected a digit at position 1"},
		{"garbage", "expected a digit at position 1"},
		{"202", "expected a digit at position 4"},
		{"0000", "year zero does not exist"},
		{"2025-", "expected a digit at position 6"},
		{"2025-13", "month out of range 01-12"},
		{"2025-00-01", "month out of range 01-12"},
		{"2025-7-04", "expected a digit at position 7"},
		{"2025-02-29", "day out of range for the month"},
		{"2025-04-31", "day out of range for the month"},
		{"2025-07-04 10:30:00", `expected 'T' at position 11`},
		{"2025-07-04T", "expected a digit at position 12"},
		{"2025-07-04T24:00:00Z", "time of day out of range"},
		{"2025-07-04T10:60:00Z", "time of day out of range"},
		{"2025-07-04T10:30:61Z", "time of day out of range"},
		{"2025-07-04T10:30:00.Z", "expected a digit at position 21"},
		{"2025-07-04T10:30:00+0200", `expected ':' at position 23`},
		{"2025-07-04T10:30:00+14:30", "offset out of range -14:00 to +14:00"},
		{"2025-07-04T10:30:00+15:00", "offset out of range -14:00 to +14:00"},
		{"2025-07-04T10:30:00 Z", "expected Z, + or - at position 20"},
		{"2025-07-04T10:30:00ZZ", "unexpected character at position 21"},
		{" 2025", "expected a digit at position 1"},
		{"2025-07-04x", `expected 'T' at position 11`},
	}
	for _, tc := range tests {
		got, prec, err := ParseDateTime(tc.in, time.UTC)
		if err == nil {
			t.Errorf("ParseDateTime(%q): got %v %v, want error %q", tc.in, got, prec, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) || !errors.Is(err, errDateTimeForm) {
			t.Errorf("ParseDateTime(%q): got error %q, want it to say %q and wrap the accepted forms", tc.in, err, tc.want)
		}
		if len(tc.in) > 3 && strings.Contains(err.Error(), tc.in) {
			t.Errorf("ParseDateTime(%q): error %q quotes the value (may be PHI)", tc.in, err)
		}
		if !got.IsZero() || prec != 0 {
			t.Errorf("ParseDateTime(%q): got %v %v with an error, want zero values", tc.in, got, prec)
		}
	}
}

func TestPrecisionString(t *testing.T) {
	t.Parallel()
	for p, want := range map[Precision]string{Year: "year", Day: "day", Subsecond: "subsecond", 0: "Precision(0)"} {
		if got := p.String(); got != want {
			t.Errorf("Precision(%d).String(): got %q, want %q", int(p), got, want)
		}
	}
}
