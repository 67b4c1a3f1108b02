package checks

import (
	"time"

	"github.com/utilreview/utilreview/service/facts"
)

// Midnights counts the midnights (00:00 in loc) m with start < m <= end: a
// patient present at a midnight has that midnight counted, as CMS counts
// inpatient days. Calendar dates are compared, so DST days of 23 or 25
// hours count once each. It is 0 when end is not after start.
func Midnights(start, end time.Time, loc *time.Location) int {
	if !end.After(start) {
		return 0
	}
	s, e := start.In(loc), end.In(loc)
	sy, sm, sd := s.Date()
	ey, em, ed := e.Date()
	days := daysBetween(sy, sm, sd, ey, em, ed)
	// An end exactly at midnight is itself a midnight the patient was present for,
	// and the date difference already counts it.
	return days
}

// daysBetween is the number of calendar days from one date to another.
func daysBetween(y1 int, m1 time.Month, d1 int, y2 int, m2 time.Month, d2 int) int {
	a := time.Date(y1, m1, d1, 12, 0, 0, 0, time.UTC)
	b := time.Date(y2, m2, d2, 12, 0, 0, 0, time.UTC)
	return int(b.Sub(a).Hours() / 24)
}

// StartOfDay is 00:00 of t's calendar day in loc.
func StartOfDay(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}

// NthMidnight is the n-th midnight (n >= 1) after t in loc.
func NthMidnight(t time.Time, n int, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d+n, 0, 0, 0, 0, loc)
}

// Encounter classes (v3 ActCode) the checks recognise.
const (
	ClassInpatient   = "IMP"
	ClassAcute       = "ACUTE"
	ClassNonAcute    = "NONAC"
	ClassObservation = "OBSENC"
	ClassEmergency   = "EMER"
	ClassAmbulatory  = "AMB"
	ClassShortStay   = "SS"
)

// IsInpatientClass reports whether an Encounter.class code is an inpatient one.
func IsInpatientClass(c string) bool {
	return c == ClassInpatient || c == ClassAcute || c == ClassNonAcute
}

// IsObservationClass reports whether a class is observation: OBSENC, or one
// of the payer-configured extra codes.
func IsObservationClass(c string, extra []string) bool {
	if c == ClassObservation {
		return true
	}
	for _, x := range extra {
		if c == x {
			return true
		}
	}
	return false
}

// InpatientStart is the start of the first inpatient segment: the inpatient
// order. It is zero when the encounter was never inpatient.
func InpatientStart(e *facts.Encounter) time.Time {
	for _, s := range e.Segments {
		if IsInpatientClass(s.Class) {
			return s.Start
		}
	}
	return time.Time{}
}
