package fhir

import (
	"errors"
	"fmt"
	"time"
)

// Precision is how much of a FHIR date/time was given.
type Precision int

// The precisions of FHIR date, dateTime and instant values.
const (
	Year      Precision = iota + 1 // YYYY
	Month                          // YYYY-MM
	Day                            // YYYY-MM-DD
	Minute                         // YYYY-MM-DDThh:mm (not valid FHIR, seen in the wild)
	Second                         // YYYY-MM-DDThh:mm:ss
	Subsecond                      // YYYY-MM-DDThh:mm:ss.fff...
)

func (p Precision) String() string {
	switch p {
	case Year:
		return "year"
	case Month:
		return "month"
	case Day:
		return "day"
	case Minute:
		return "minute"
	case Second:
		return "second"
	case Subsecond:
		return "subsecond"
	}
	return fmt.Sprintf("Precision(%d)", int(p))
}

// errDateTimeForm is wrapped in every error of ParseDateTime. The errors
// never quote the value, which may be a birth date.
var errDateTimeForm = errors.New("want YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss[.fff][Z|+hh:mm|-hh:mm]")

// ParseDateTime reads a FHIR date, dateTime or instant and returns the
// instant in loc (nil means UTC) with the precision given:
//   - with "Z" or an offset, that instant;
//   - without an offset, the wall time in loc. A wall time that occurs
//     twice (when clocks go back) is the earlier instant; one that does not
//     occur (when clocks go forward) is read with the offset in effect
//     before the change, so 02:30 on a spring-forward day in New York is
//     03:30 daylight time;
//   - a partial date YYYY, YYYY-MM or YYYY-MM-DD is the start of that
//     period in loc.
//
// Fractional seconds of any length are kept to the nanosecond; a leap second
// ":60" becomes the next minute. Anything else is an error.
func ParseDateTime(s string, loc *time.Location) (time.Time, Precision, error) {
	if loc == nil {
		loc = time.UTC
	}
	p := dtParser{s: s}
	year := p.digits(4)
	if p.err != nil {
		return time.Time{}, 0, p.err
	}
	if year == 0 {
		return time.Time{}, 0, dateTimeError("year zero does not exist")
	}
	month, day := 1, 1
	prec := Year
	hour, minute, sec, nsec := 0, 0, 0, 0
	hasOffset, offset := false, 0
	if p.more() {
		p.expect('-')
		month = p.digits(2)
		prec = Month
		if p.err == nil && (month < 1 || month > 12) {
			return time.Time{}, 0, dateTimeError("month out of range 01-12")
		}
	}
	if p.err == nil && p.more() {
		p.expect('-')
		day = p.digits(2)
		prec = Day
		if p.err == nil && (day < 1 || day > daysIn(year, time.Month(month))) {
			return time.Time{}, 0, dateTimeError("day out of range for the month")
		}
	}
	if p.err == nil && p.more() {
		p.expect('T')
		hour = p.digits(2)
		p.expect(':')
		minute = p.digits(2)
		prec = Minute
		if p.err == nil && p.more() && p.peek() == ':' {
			p.expect(':')
			sec = p.digits(2)
			prec = Second
			if p.err == nil && p.more() && p.peek() == '.' {
				p.expect('.')
				nsec = p.fraction()
				prec = Subsecond
			}
		}
		if p.err == nil && (hour > 23 || minute > 59 || sec > 60) {
			return time.Time{}, 0, dateTimeError("time of day out of range")
		}
		if p.err == nil && p.more() {
			hasOffset = true
			offset = p.offset()
		}
	}
	if p.err == nil && p.more() {
		p.err = dateTimeError(fmt.Sprintf("unexpected character at position %d", p.i+1))
	}
	if p.err != nil {
		return time.Time{}, 0, p.err
	}
	// The wall clock as if it were UTC; a leap second rolls into the next minute.
	wall := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	if hasOffset {
		return wall.Add(-time.Duration(offset) * time.Second).In(loc), prec, nil
	}
	return localInstant(wall, loc), prec, nil
}

// localInstant places a wall-clock time (carried in a UTC time) in loc,
// choosing deterministically around DST changes (see ParseDateTime).
func localInstant(wall time.Time, loc *time.Location) time.Time {
	if loc == time.UTC {
		return wall
	}
	// The offsets in effect a day either side cover any single transition.
	_, before := wall.Add(-24 * time.Hour).In(loc).Zone()
	_, after := wall.Add(24 * time.Hour).In(loc).Zone()
	first, second := before, after
	if wall.Add(-time.Duration(after) * time.Second).Before(wall.Add(-time.Duration(before) * time.Second)) {
		first, second = after, before
	}
	for _, off := range [2]int{first, second} {
		t := wall.Add(-time.Duration(off) * time.Second).In(loc)
		if sameWall(t, wall) {
			return t
		}
	}
	// In a gap: read with the offset before the change.
	return wall.Add(-time.Duration(before) * time.Second).In(loc)
}

func sameWall(t, wall time.Time) bool {
	y, m, d := t.Date()
	wy, wm, wd := wall.Date()
	return y == wy && m == wm && d == wd && t.Hour() == wall.Hour() && t.Minute() == wall.Minute() &&
		t.Second() == wall.Second()
}

func daysIn(year int, m time.Month) int {
	return time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func dateTimeError(why string) error {
	return fmt.Errorf("invalid FHIR date/time: %s (%w)", why, errDateTimeForm)
}

// dtParser reads a date/time left to right; the first problem sticks in err.
type dtParser struct {
	s   string
	i   int
	err error
}

func (p *dtParser) more() bool { return p.i < len(p.s) }

func (p *dtParser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *dtParser) expect(c byte) {
	if p.err != nil {
		return
	}
	if p.i >= len(p.s) || p.s[p.i] != c {
		p.err = dateTimeError(fmt.Sprintf("expected %q at position %d", c, p.i+1))
		return
	}
	p.i++
}

// digits reads exactly n decimal digits.
func (p *dtParser) digits(n int) int {
	if p.err != nil {
		return 0
	}
	v := 0
	for k := 0; k < n; k++ {
		if p.i >= len(p.s) || p.s[p.i] < '0' || p.s[p.i] > '9' {
			p.err = dateTimeError(fmt.Sprintf("expected a digit at position %d", p.i+1))
			return 0
		}
		v = v*10 + int(p.s[p.i]-'0')
		p.i++
	}
	return v
}

// fraction reads one or more digits after the decimal point as nanoseconds;
// digits beyond the ninth are dropped.
func (p *dtParser) fraction() int {
	if p.err != nil {
		return 0
	}
	start := p.i
	ns, scale := 0, 100_000_000
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		ns += int(p.s[p.i]-'0') * scale
		scale /= 10
		p.i++
	}
	if p.i == start {
		p.err = dateTimeError(fmt.Sprintf("expected a digit at position %d", p.i+1))
	}
	return ns
}

// offset reads "Z" or "+hh:mm"/"-hh:mm" and returns seconds east of UTC.
func (p *dtParser) offset() int {
	if p.err != nil {
		return 0
	}
	c := p.peek()
	if c == 'Z' {
		p.i++
		return 0
	}
	if c != '+' && c != '-' {
		p.err = dateTimeError(fmt.Sprintf("expected Z, + or - at position %d", p.i+1))
		return 0
	}
	p.i++
	h := p.digits(2)
	p.expect(':')
	m := p.digits(2)
	if p.err != nil {
		return 0
	}
	if h > 14 || m > 59 || (h == 14 && m > 0) {
		p.err = dateTimeError("offset out of range -14:00 to +14:00")
		return 0
	}
	off := h*3600 + m*60
	if c == '-' {
		off = -off
	}
	return off
}
