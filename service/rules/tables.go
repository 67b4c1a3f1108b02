package rules

import "time"

// Tables are the reference tables rule sets refer to by file name.
type Tables struct {
	DRGs     map[string]map[string]DRG // table name -> MS-DRG code -> row
	Norms    map[string]*NormTable     // table name -> LOS norm table
	MUEs     map[string]map[string]MUEEntry
	Calendar map[string]*Calendar // calendar name -> holidays
}

// DRG is one row of the MS-DRG table.
type DRG struct {
	Code   string
	MDC    string
	Type   string // MED | SURG
	Title  string
	Weight float64
	GMLOS  float64 // geometric mean length of stay, days
	AMLOS  float64 // arithmetic mean, 0 when not published
}

// NormTable is a length-of-stay norm table (e.g. for Medicaid reviews).
type NormTable struct {
	Description string
	Rows        []NormRow
}

// NormRow gives LOS percentiles for stays whose MS-DRG or principal
// diagnosis matches Key (an ICD-10-CM code matches by prefix, so a row for
// "I50" covers I50.9).
type NormRow struct {
	System string // SystemMSDRG or SystemICD10CM
	Key    string
	P50    float64
	P75    float64
	P90    float64
}

// MUEEntry is one row of a CMS MUE table.
type MUEEntry struct {
	Code  string
	Value int
	// Indicator is the MUE adjudication indicator: 1 per line (claim line
	// edit), 2 per date of service (policy), 3 per date of service (clinical).
	Indicator int
	Rationale string
}

// PerDay reports whether the edit applies per date of service.
func (m MUEEntry) PerDay() bool { return m.Indicator == 2 || m.Indicator == 3 }

// Calendar is a holiday calendar for business-day deadlines.
type Calendar struct {
	Name     string
	Holidays map[Date]string
}

// IsBusinessDay reports whether the day of t (in t's location) is neither a
// weekend day nor a holiday.
func (c *Calendar) IsBusinessDay(t time.Time) bool {
	if wd := t.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return false
	}
	if c == nil {
		return true
	}
	_, holiday := c.Holidays[DateOf(t)]
	return !holiday
}

// NextBusinessDayEnd returns t when its day is a business day, else the end
// (23:59:59) of the next business day, in t's location.
func (c *Calendar) NextBusinessDayEnd(t time.Time) time.Time {
	if c.IsBusinessDay(t) {
		return t
	}
	y, m, d := t.Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, t.Location())
	for i := 0; i < 31; i++ {
		day = day.AddDate(0, 0, 1)
		if c.IsBusinessDay(day) {
			return day.Add(24*time.Hour - time.Second)
		}
	}
	return t
}
