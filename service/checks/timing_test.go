package checks

import (
	"testing"
	"time"
)

func TestMidnights(t *testing.T) {
	t.Parallel()
	loc := enLoc(t)
	tests := []struct {
		name       string
		start, end string
		want       int
	}{
		{"same day", "2026-03-02T08:00", "2026-03-02T23:59", 0},
		{"one midnight", "2026-03-02T23:00", "2026-03-03T01:00", 1},
		{"end exactly at midnight counts it", "2026-03-02T10:00", "2026-03-03T00:00", 1},
		{"start exactly at midnight does not count it", "2026-03-03T00:00", "2026-03-03T23:00", 0},
		{"two midnights just over 24 h", "2026-03-02T23:30", "2026-03-04T00:00", 2},
		{"exactly 24 h is one midnight", "2026-03-02T10:00", "2026-03-03T10:00", 1},
		{"spring forward: 23-hour day counts once", "2026-03-07T23:30", "2026-03-09T00:00", 2},
		{"spring forward: 47 h over it", "2026-03-07T12:00", "2026-03-09T12:00", 2},
		{"fall back: 25-hour day counts once", "2026-10-31T23:30", "2026-11-01T23:59", 1},
		{"fall back: across the repeated hour", "2026-11-01T00:30", "2026-11-02T00:00", 1},
		{"offset input: 04:30Z is 23:30 the day before in New York", "2026-03-03T04:30:00Z", "2026-03-03T06:00:00Z", 1},
		{"offset input: +01:00", "2026-03-03T03:00:00+01:00", "2026-03-03T07:00:00+01:00", 1},
		{"partial dates (midnight starts)", "2026-03-06", "2026-03-07", 1},
		{"end before start", "2026-03-05T10:00", "2026-03-04T10:00", 0},
		{"equal times", "2026-03-05T10:00", "2026-03-05T10:00", 0},
		{"a year", "2025-03-02T10:00", "2026-03-02T10:00", 365},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := Midnights(enAt(t, tc.start), enAt(t, tc.end), loc); got != tc.want {
				t.Errorf("Midnights(%s, %s) = %d, want %d", tc.start, tc.end, got, tc.want)
			}
		})
	}
}

func TestMidnightsZoneDecides(t *testing.T) {
	t.Parallel()
	// 22:00 to 02:00 New York time crosses a New York midnight, but in UTC
	// (03:00 to 07:00) it does not.
	start, end := enAt(t, "2026-03-02T22:00"), enAt(t, "2026-03-03T02:00")
	if got := Midnights(start, end, enLoc(t)); got != 1 {
		t.Errorf("New York: got %d, want 1", got)
	}
	if got := Midnights(start, end, time.UTC); got != 0 {
		t.Errorf("UTC: got %d, want 0", got)
	}
}

func TestNthMidnight(t *testing.T) {
	t.Parallel()
	loc := enLoc(t)
	tests := []struct {
		from string
		n    int
		want string
	}{
		{"2026-03-02T10:00", 1, "2026-03-03T00:00:00-05:00"},
		{"2026-03-02T10:00", 2, "2026-03-04T00:00:00-05:00"},
		{"2026-03-02T00:00", 1, "2026-03-03T00:00:00-05:00"}, // a start at midnight: the next one
		{"2026-03-07T20:00", 2, "2026-03-09T00:00:00-04:00"}, // over spring forward
		{"2026-10-31T20:00", 2, "2026-11-02T00:00:00-05:00"}, // over fall back
		{"2026-12-31T23:59", 1, "2027-01-01T00:00:00-05:00"}, // year end
		{"2026-03-03T04:30:00Z", 1, "2026-03-03T00:00:00-05:00"},
	}
	for _, tc := range tests {
		got := NthMidnight(enAt(t, tc.from), tc.n, loc)
		want, _ := time.Parse(time.RFC3339, tc.want)
		if !got.Equal(want) {
			t.Errorf("NthMidnight(%s, %d) = %s, want %s", tc.from, tc.n, got.Format(time.RFC3339), tc.want)
		}
		// Midnights and NthMidnight agree: the n-th midnight is the moment the count reaches n.
		from := enAt(t, tc.from)
		if m := Midnights(from, got, loc); m != tc.n {
			t.Errorf("Midnights(%s, NthMidnight(.., %d)) = %d", tc.from, tc.n, m)
		}
		if m := Midnights(from, got.Add(-time.Second), loc); m != tc.n-1 {
			t.Errorf("a second before the %d-th midnight: %d midnights, want %d", tc.n, m, tc.n-1)
		}
	}
}

func TestDayEnd(t *testing.T) {
	t.Parallel()
	loc := enLoc(t)
	got := dayEnd(enAt(t, "2026-03-07T10:00"), 1, loc) // the next day is the 23-hour one
	want := enAt(t, "2026-03-08T23:59:59")
	if !got.Equal(want) {
		t.Errorf("dayEnd = %s, want %s", got, want)
	}
}
