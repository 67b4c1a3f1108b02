package rules

import "time"

// FederalHoliday reports whether d is a US federal holiday as observed by
// federal offices under 5 U.S.C. 6103 and Executive Order 11582: a holiday
// on a Saturday is observed the Friday before (so New Year's Day can fall on
// 31 December), one on a Sunday the Monday after. Juneteenth counts from
// 2021, when it became a federal holiday. Inauguration Day, observed only
// in the Washington area, is not included.
//
// A Calendar uses it for the years its table has no rows for, so that
// next-business-day deadlines stay right before and after the years shipped.
func FederalHoliday(d Date) (string, bool) {
	t := time.Date(d.Y, time.Month(d.M), d.D, 12, 0, 0, 0, time.UTC)
	month, wd := time.Month(d.M), t.Weekday()
	// Holidays on a fixed date, on the day observed.
	fixed := []struct {
		month time.Month
		day   int
		from  int
		name  string
	}{
		{time.January, 1, 0, "New Year's Day"},
		{time.June, 19, 2021, "Juneteenth National Independence Day"},
		{time.July, 4, 0, "Independence Day"},
		{time.November, 11, 0, "Veterans Day"},
		{time.December, 25, 0, "Christmas Day"},
	}
	for _, f := range fixed {
		// The holiday of this year and, for New Year's Day, of next year.
		for _, y := range []int{d.Y, d.Y + 1} {
			if y < f.from {
				continue
			}
			if observed(y, f.month, f.day) == t {
				if observed(y, f.month, f.day).Day() != f.day {
					return f.name + " (observed)", true
				}
				return f.name, true
			}
		}
	}
	// Holidays on the nth weekday of a month.
	nth := []struct {
		month   time.Month
		weekday time.Weekday
		n       int // -1: the last
		name    string
	}{
		{time.January, time.Monday, 3, "Birthday of Martin Luther King, Jr."},
		{time.February, time.Monday, 3, "Washington's Birthday"},
		{time.May, time.Monday, -1, "Memorial Day"},
		{time.September, time.Monday, 1, "Labor Day"},
		{time.October, time.Monday, 2, "Columbus Day"},
		{time.November, time.Thursday, 4, "Thanksgiving Day"},
	}
	for _, h := range nth {
		if h.month != month || h.weekday != wd {
			continue
		}
		if h.n == -1 && d.D+7 > daysIn(d.Y, month) || h.n > 0 && (d.D-1)/7+1 == h.n {
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
