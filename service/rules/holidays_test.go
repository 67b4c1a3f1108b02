package rules

import "testing"

// Federal holidays exist from their enactment, with the rule of their time
// (5 U.S.C. 6103 and the acts cited in FederalHoliday's comment): no
// Martin Luther King Jr. Day before 1986 (Pub. L. 98-144), no Juneteenth
// before 2021 (Pub. L. 117-17), Monday rules from 1971 (Uniform Monday
// Holiday Act, Pub. L. 90-363), Veterans Day in October 1971-1977 and back
// on 11 November from 1978 (Pub. L. 94-97).
func TestFederalHolidayHistory(t *testing.T) {
	t.Parallel()
	tests := []struct {
		date string
		want string // "" for no holiday
	}{
		{"1985-01-21", ""}, // third Monday of January, before the law
		{"1986-01-20", "Birthday of Martin Luther King, Jr."},
		{"2020-06-19", ""},
		{"2021-06-18", "Juneteenth National Independence Day (observed)"},
		{"2022-06-20", "Juneteenth National Independence Day (observed)"},
		{"1936-10-12", ""},
		{"1937-10-12", "Columbus Day"},
		{"1968-10-11", "Columbus Day (observed)"}, // 12 October 1968, a Saturday
		{"1968-10-14", ""},                        // second Monday, before 1971
		{"1971-10-11", "Columbus Day"},            // second Monday from 1971
		{"1971-10-12", ""},
		{"1971-10-25", "Veterans Day"}, // fourth Monday of October, 1971-1977
		{"1971-11-11", ""},
		{"1977-10-24", "Veterans Day"},
		{"1978-10-23", ""},
		{"1978-11-10", "Veterans Day (observed)"}, // 11 November 1978, a Saturday
		{"1937-11-11", ""},                        // Armistice Day a federal holiday from 1938
		{"1938-11-11", "Veterans Day"},
		{"1970-02-23", "Washington's Birthday (observed)"}, // 22 February 1970, a Sunday
		{"1970-02-16", ""},
		{"1971-02-15", "Washington's Birthday"},
		{"1971-02-22", ""},
		{"1970-05-29", "Memorial Day (observed)"}, // 30 May 1970, a Saturday
		{"1971-05-31", "Memorial Day"},
		{"1887-05-30", ""},
		{"1893-09-04", ""}, // Labor Day from 1894
		{"1894-09-03", "Labor Day"},
		{"1938-11-24", "Thanksgiving Day"}, // the last Thursday
		{"1939-11-23", "Thanksgiving Day"}, // the second-to-last, 1939-1941
		{"1939-11-30", ""},
		{"1941-11-20", "Thanksgiving Day"},
		{"1942-11-26", "Thanksgiving Day"}, // the fourth Thursday from 1942
		{"1869-12-24", ""},
		{"1869-07-05", ""},
		{"2026-11-26", "Thanksgiving Day"},
	}
	for _, tt := range tests {
		d, err := ParseDate(tt.date)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := FederalHoliday(d)
		if got != tt.want {
			t.Errorf("%s: %q, want %q", tt.date, got, tt.want)
		}
	}
}
