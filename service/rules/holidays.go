package rules

import "time"

// FederalHoliday reports whether d is a US federal holiday as observed by
// federal offices under 5 U.S.C. 6103 and Executive Order 11582: a holiday
// on a Saturday is observed the Friday before (so New Year's Day can fall on
// 31 December), one on a Sunday the Monday after. Inauguration Day, observed
// only in the Washington area, is not included.
//
// Each holiday exists from its enactment, with the rule of its time:
//   - New Year's Day, Independence Day, Christmas Day and Thanksgiving: 1870
//     (Act of June 28, 1870); Thanksgiving the last Thursday of November as
//     proclaimed, the second-to-last in 1939-1941, the fourth from 1942
//     (Pub. L. 77-379);
//   - Washington's Birthday: 22 February from 1879 (Act of January 31,
//     1879, in the District; all federal offices from 1885), the third Monday
//     of February from 1971 (Uniform Monday Holiday Act, Pub. L. 90-363);
//   - Memorial (Decoration) Day: 30 May from 1888, the last Monday of May
//     from 1971 (Pub. L. 90-363);
//   - Labor Day: the first Monday of September from 1894;
//   - Columbus Day: 12 October from 1937 (proclaimed under Pub. L. 73-296),
//     the second Monday of October from 1971 (Pub. L. 90-363);
//   - Veterans (Armistice) Day: 11 November from 1938 (Pub. L. 75-510); the
//     fourth Monday of October in 1971-1977 (Pub. L. 90-363), 11 November
//     again from 1978 (Pub. L. 94-97);
//   - Birthday of Martin Luther King, Jr.: the third Monday of January from
//     1986 (Pub. L. 98-144);
//   - Juneteenth National Independence Day: 19 June from 2021 (Pub. L.
//     117-17; 2021's was observed on Friday 18 June).
//
// A Calendar uses it for the years its table has no rows for, so that
// next-business-day deadlines stay right before and after the years shipped.
func FederalHoliday(d Date) (string, bool) {
	t := time.Date(d.Y, time.Month(d.M), d.D, 12, 0, 0, 0, time.UTC)
	// Holidays on a fixed date, on the day observed.
	fixed := []struct {
		month    time.Month
		day      int
		from, to int // years in force; 0: open
		name     string
	}{
		{time.January, 1, 1870, 0, "New Year's Day"},
		{time.February, 22, 1879, 1970, "Washington's Birthday"},
		{time.May, 30, 1888, 1970, "Memorial Day"},
		{time.June, 19, 2021, 0, "Juneteenth National Independence Day"},
		{time.July, 4, 1870, 0, "Independence Day"},
		{time.October, 12, 1937, 1970, "Columbus Day"},
		{time.November, 11, 1938, 1970, "Veterans Day"},
		{time.November, 11, 1978, 0, "Veterans Day"},
		{time.December, 25, 1870, 0, "Christmas Day"},
	}
	for _, f := range fixed {
		// The holiday of this year and, for New Year's Day, of next year.
		for _, y := range []int{d.Y, d.Y + 1} {
			if y < f.from || f.to != 0 && y > f.to {
				continue
			}
			if o := observed(y, f.month, f.day); o == t {
				if o.Day() != f.day {
					return f.name + " (observed)", true
				}
				return f.name, true
			}
		}
	}
	// Holidays on the nth weekday of a month.
	nth := []struct {
		month    time.Month
		weekday  time.Weekday
		n        int // -1: the last; -2: the second-to-last
		from, to int
		name     string
	}{
		{time.January, time.Monday, 3, 1986, 0, "Birthday of Martin Luther King, Jr."},
		{time.February, time.Monday, 3, 1971, 0, "Washington's Birthday"},
		{time.May, time.Monday, -1, 1971, 0, "Memorial Day"},
		{time.September, time.Monday, 1, 1894, 0, "Labor Day"},
		{time.October, time.Monday, 2, 1971, 0, "Columbus Day"},
		{time.October, time.Monday, 4, 1971, 1977, "Veterans Day"},
		{time.November, time.Thursday, -1, 1870, 1938, "Thanksgiving Day"},
		{time.November, time.Thursday, -2, 1939, 1941, "Thanksgiving Day"},
		{time.November, time.Thursday, 4, 1942, 0, "Thanksgiving Day"},
	}
	for _, h := range nth {
		if d.Y < h.from || h.to != 0 && d.Y > h.to || h.month != time.Month(d.M) || h.weekday != t.Weekday() {
			continue
		}
		left := (daysIn(d.Y, h.month) - d.D) / 7 // same weekdays after d in the month
		if h.n < 0 && left == -h.n-1 || h.n > 0 && (d.D-1)/7+1 == h.n {
			return h.name, true
		}
	}
	return "", false
}

// observed is the day a fixed-date holiday is observed (at noon UTC, as
// FederalHoliday compares).
func observed(y int, m time.Month, d int) time.Time {
	t := time.Date(y, m, d, 12, 0, 0, 0, time.UTC)
	switch t.Weekday() {
	case time.Saturday:
		return t.AddDate(0, 0, -1)
	case time.Sunday:
		return t.AddDate(0, 0, 1)
	}
	return t
}

func daysIn(y int, m time.Month) int { return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day() }
