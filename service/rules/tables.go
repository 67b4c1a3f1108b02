package rules

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/utilreview/utilreview/service/facts"
)

// Tables are the reference tables rule sets refer to by file name. A
// registry loads each file once; rule sets share the parsed tables.
type Tables struct {
	DRGs     map[string]map[string]DRG // table name -> MS-DRG code -> row
	Norms    map[string]*NormTable     // table name -> LOS norm table
	MUEs     map[string]map[string]MUEEntry
	Calendar map[string]*Calendar // calendar name -> holidays
	// Codes holds code-list tables (e.g. the CMS OPD prior-authorization
	// list): table name -> entries.
	Codes map[string][]CodeEntry
}

func newTables() *Tables {
	return &Tables{
		DRGs:     map[string]map[string]DRG{},
		Norms:    map[string]*NormTable{},
		MUEs:     map[string]map[string]MUEEntry{},
		Calendar: map[string]*Calendar{},
		Codes:    map[string][]CodeEntry{},
	}
}

// DRG is one row of the MS-DRG table.
type DRG struct {
	Code   string
	MDC    string
	Type   string // MED | SURG
	Title  string
	Weight float64
	GMLOS  float64 // geometric mean length of stay, days; 0 when not published (DRGs 998, 999)
	AMLOS  float64 // arithmetic mean, 0 when not published
}

// NormTable is a length-of-stay norm table (e.g. for Medicaid reviews).
type NormTable struct {
	Description string
	Rows        []NormRow

	exact  map[string]map[string]int // canonical system -> normalised key -> row
	prefix []int                     // ICD-10-CM rows, matched by prefix
}

// NormRow gives LOS percentiles for stays whose MS-DRG or principal
// diagnosis matches Key (an ICD-10-CM code matches by prefix, so a row for
// "I50" covers I50.9; other systems match exactly).
type NormRow struct {
	System string // SystemMSDRG, SystemICD10CM or another code system
	Key    string
	P50    float64
	P75    float64
	P90    float64

	norm string // normalised key
}

// Days is the LOS at the given percentile (50, 75 or 90).
func (r *NormRow) Days(percentile int) (float64, bool) {
	switch percentile {
	case 50:
		return r.P50, true
	case 75:
		return r.P75, true
	case 90:
		return r.P90, true
	}
	return 0, false
}

// Lookup finds the row for a stay: its MS-DRG first, then the longest
// ICD-10-CM prefix or exact code among the principal diagnosis codes.
func (t *NormTable) Lookup(drg string, principal []facts.Code) (*NormRow, bool) {
	if t == nil {
		return nil, false
	}
	var buf [maxCodeLen]byte
	if drg != "" {
		if i, ok := t.exact[SystemMSDRG][string(normaliseDRG(buf[:0], drg))]; ok {
			return &t.Rows[i], true
		}
	}
	for _, c := range principal {
		sys := lookupSystem(c.System)
		key := normaliseCode(buf[:0], sys, c.Code)
		if len(key) == 0 {
			continue
		}
		if sys == SystemICD10CM {
			best, bestLen := -1, 0
			for _, i := range t.prefix {
				p := t.Rows[i].norm
				if len(p) > bestLen && len(key) >= len(p) && string(key[:len(p)]) == p {
					best, bestLen = i, len(p)
				}
			}
			if best >= 0 {
				return &t.Rows[best], true
			}
			continue
		}
		if i, ok := t.exact[sys][string(key)]; ok {
			return &t.Rows[i], true
		}
	}
	return nil, false
}

func (t *NormTable) index() {
	t.exact = map[string]map[string]int{}
	t.prefix = nil
	for i := range t.Rows {
		r := &t.Rows[i]
		r.System = CanonicalSystem(r.System)
		sys := lookupSystem(r.System)
		if sys == SystemMSDRG {
			r.norm = string(normaliseDRG(nil, r.Key))
		} else {
			r.norm = string(normaliseCode(nil, sys, r.Key))
		}
		if sys == SystemICD10CM {
			t.prefix = append(t.prefix, i)
			continue
		}
		if t.exact[sys] == nil {
			t.exact[sys] = map[string]int{}
		}
		t.exact[sys][r.norm] = i
	}
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

// Calendar is a holiday calendar for business-day deadlines. For a year
// its table has no rows for, the US federal holidays are computed by rule
// (FederalHoliday): the shipped table covers a few years only, and data
// reaches back decades.
type Calendar struct {
	Name     string
	Holidays map[Date]string
	// years the table covers; nil: derived from Holidays.
	years map[int]bool
}

// Holiday reports whether d is a holiday, and its name: from the table for
// the years it covers, else by the federal rules.
// A nil Calendar (none configured) has no holidays: weekends only.
func (c *Calendar) Holiday(d Date) (string, bool) {
	if c == nil {
		return "", false
	}
	if c.covers(d.Y) {
		name, ok := c.Holidays[d]
		return name, ok
	}
	return FederalHoliday(d)
}

func (c *Calendar) covers(y int) bool {
	if c.years != nil {
		return c.years[y]
	}
	for d := range c.Holidays {
		if d.Y == y {
			return true
		}
	}
	return false
}

// IsBusinessDay reports whether the day of t (in t's location) is neither a
// weekend day nor a holiday.
func (c *Calendar) IsBusinessDay(t time.Time) bool {
	if wd := t.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return false
	}
	_, holiday := c.Holiday(DateOf(t))
	return !holiday
}

// NextBusinessDayEnd returns t when its day is a business day, else the end
// (23:59:59) of the next business day, in t's location. The end is built
// from the calendar date, not by adding 24 h, so DST days come out right.
func (c *Calendar) NextBusinessDayEnd(t time.Time) time.Time {
	if c.IsBusinessDay(t) {
		return t
	}
	y, m, d := t.Date()
	// A run of 31 closed days cannot happen with weekends and holidays;
	// the bound only protects against a malformed calendar.
	for i := 1; i <= 31; i++ {
		day := time.Date(y, m, d+i, 12, 0, 0, 0, t.Location())
		if c.IsBusinessDay(day) {
			dy, dm, dd := day.Date()
			return time.Date(dy, dm, dd, 23, 59, 59, 0, t.Location())
		}
	}
	return t
}

// Table parsing. Each parser returns what it could read and every problem
// with its line, so that an operator fixes a file in one pass.

type csvTable struct {
	name   string
	r      *csv.Reader
	header map[string]int
	errs   []*ValidationError
}

func newCSV(name string, r io.Reader) *csvTable {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	cr.TrimLeadingSpace = true
	return &csvTable{name: name, r: cr}
}

// next returns the next record and its line; io.EOF at the end. A record
// that cannot be parsed is reported and skipped.
func (t *csvTable) next() ([]string, int, error) {
	for {
		rec, err := t.r.Read()
		if err == io.EOF {
			return nil, 0, io.EOF
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				t.fail(pe.Line, "", "%v", pe.Err)
				if pe.Err == csv.ErrQuote || pe.Err == csv.ErrBareQuote {
					continue
				}
			} else {
				t.fail(0, "", "cannot read: %v", err)
			}
			return nil, 0, io.EOF
		}
		line, _ := t.r.FieldPos(0)
		if len(rec) > 0 {
			rec[0] = strings.TrimPrefix(rec[0], "\ufeff")
		}
		if blank(rec) {
			continue
		}
		return rec, line, nil
	}
}

func blank(rec []string) bool {
	for _, c := range rec {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

func (t *csvTable) fail(line int, column, format string, args ...any) {
	t.errs = append(t.errs, &ValidationError{File: t.name, Line: line, Field: column, Reason: fmt.Sprintf(format, args...)})
}

// readHeader reads the first record as the header and checks the required columns.
func (t *csvTable) readHeader(required ...string) bool {
	rec, line, err := t.next()
	if err != nil {
		if len(t.errs) == 0 {
			t.fail(0, "", "empty table: no header row")
		}
		return false
	}
	t.setHeader(rec)
	ok := true
	for _, c := range required {
		if _, found := t.header[c]; !found {
			t.fail(line, "", "missing column %q in header", c)
			ok = false
		}
	}
	return ok
}

func (t *csvTable) setHeader(rec []string) {
	t.header = make(map[string]int, len(rec))
	for i, c := range rec {
		t.header[strings.ToLower(strings.TrimSpace(c))] = i
	}
}

func (t *csvTable) cell(rec []string, column string) string {
	i, ok := t.header[column]
	if !ok || i >= len(rec) {
		return ""
	}
	return strings.TrimSpace(rec[i])
}

func (t *csvTable) float(rec []string, line int, column string, optional bool) (float64, bool) {
	s := t.cell(rec, column)
	if s == "" {
		if !optional {
			t.fail(line, column, "missing value")
		}
		return 0, optional
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f != f {
		t.fail(line, column, "%q is not a number >= 0", s)
		return 0, false
	}
	return f, true
}

func (t *csvTable) date(rec []string, line int, column string) Date {
	s := t.cell(rec, column)
	if s == "" {
		return Date{}
	}
	d, err := ParseDate(s)
	if err != nil {
		t.fail(line, column, "%v", err)
	}
	return d
}

// ParseDRGTable reads an MS-DRG table: columns ms_drg and gmlos, and
// optionally mdc, type, title, weight and amlos. An empty gmlos is allowed
// (CMS publishes none for DRGs 998 and 999).
func ParseDRGTable(name string, r io.Reader) (map[string]DRG, []*ValidationError) {
	t := newCSV(name, r)
	out := map[string]DRG{}
	if !t.readHeader("ms_drg", "gmlos") {
		return out, t.errs
	}
	seen := map[string]int{}
	for {
		rec, line, err := t.next()
		if err != nil {
			break
		}
		raw := t.cell(rec, "ms_drg")
		code := string(normaliseDRG(nil, raw))
		if !isDRG(code) {
			t.fail(line, "ms_drg", "%q is not an MS-DRG code (1 to 3 digits)", raw)
			continue
		}
		if prev, dup := seen[code]; dup {
			t.fail(line, "ms_drg", "MS-DRG %s repeats line %d", code, prev)
			continue
		}
		seen[code] = line
		gmlos, ok1 := t.float(rec, line, "gmlos", true)
		amlos, ok2 := t.float(rec, line, "amlos", true)
		weight, ok3 := t.float(rec, line, "weight", true)
		if !ok1 || !ok2 || !ok3 {
			continue
		}
		out[code] = DRG{Code: code, MDC: t.cell(rec, "mdc"), Type: t.cell(rec, "type"), Title: t.cell(rec, "title"),
			Weight: weight, GMLOS: gmlos, AMLOS: amlos}
	}
	return out, t.errs
}

func isDRG(code string) bool {
	if len(code) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if code[i] < '0' || code[i] > '9' {
			return false
		}
	}
	return true
}

// normaliseDRG appends the three-digit form of an MS-DRG code ("65" -> "065").
func normaliseDRG(dst []byte, code string) []byte {
	code = strings.TrimSpace(code)
	for i := len(code); i < 3; i++ {
		dst = append(dst, '0')
	}
	return append(dst, code...)
}

// ParseNormTable reads a LOS norm table: columns system (ms-drg, icd-10-cm
// or a code system URL), key, p50, p75, p90, and optionally description.
func ParseNormTable(name string, r io.Reader) (*NormTable, []*ValidationError) {
	t := newCSV(name, r)
	nt := &NormTable{}
	if !t.readHeader("system", "key", "p50", "p75", "p90") {
		return nt, t.errs
	}
	seen := map[string]int{}
	for {
		rec, line, err := t.next()
		if err != nil {
			break
		}
		sys, key := t.cell(rec, "system"), t.cell(rec, "key")
		if sys == "" {
			t.fail(line, "system", "missing value")
			continue
		}
		if key == "" {
			t.fail(line, "key", "missing value")
			continue
		}
		if CanonicalSystem(sys) == SystemMSDRG && !isDRG(string(normaliseDRG(nil, key))) {
			t.fail(line, "key", "%q is not an MS-DRG code (1 to 3 digits)", key)
			continue
		}
		k := CanonicalSystem(sys) + "|" + strings.ToUpper(key)
		if prev, dup := seen[k]; dup {
			t.fail(line, "key", "%s %s repeats line %d", sys, key, prev)
			continue
		}
		seen[k] = line
		p50, ok1 := t.float(rec, line, "p50", false)
		p75, ok2 := t.float(rec, line, "p75", false)
		p90, ok3 := t.float(rec, line, "p90", false)
		if !ok1 || !ok2 || !ok3 {
			continue
		}
		if p50 <= 0 || p75 < p50 || p90 < p75 {
			t.fail(line, "p50", "percentiles must satisfy 0 < p50 <= p75 <= p90, got %g, %g, %g", p50, p75, p90)
			continue
		}
		nt.Rows = append(nt.Rows, NormRow{System: sys, Key: key, P50: p50, P75: p75, P90: p90})
	}
	nt.index()
	return nt, t.errs
}

// ParseMUETable reads a CMS NCCI MUE table in CMS's CSV layout: any number
// of title, copyright and disclaimer rows, then a header row naming the
// HCPCS/CPT code, the MUE value, the MUE adjudication indicator and the
// rationale, then one row per code. The indicator is read from its leading
// digit, so both "2" and "2 Date of Service Edit: Policy" work.
func ParseMUETable(name string, r io.Reader) (map[string]MUEEntry, []*ValidationError) {
	t := newCSV(name, r)
	out := map[string]MUEEntry{}
	var codeCol, valueCol, indCol, ratCol = -1, -1, -1, -1
	for codeCol < 0 || valueCol < 0 || indCol < 0 {
		rec, _, err := t.next()
		if err != nil {
			t.fail(0, "", "no header row naming the HCPCS/CPT code, MUE value and MUE adjudication indicator columns")
			return out, t.errs
		}
		codeCol, valueCol, indCol, ratCol = -1, -1, -1, -1
		for i, c := range rec {
			c = strings.ToLower(strings.TrimSpace(c))
			switch {
			case strings.Contains(c, "indicator"):
				indCol = i
			case strings.Contains(c, "rationale"):
				ratCol = i
			case strings.Contains(c, "mue value"):
				valueCol = i
			case strings.Contains(c, "code") && (strings.Contains(c, "hcpcs") || strings.Contains(c, "cpt") || c == "code"):
				codeCol = i
			}
		}
	}
	seen := map[string]int{}
	get := func(rec []string, i int) string {
		if i < 0 || i >= len(rec) {
			return ""
		}
		return strings.TrimSpace(rec[i])
	}
	for {
		rec, line, err := t.next()
		if err != nil {
			break
		}
		code, value, ind := get(rec, codeCol), get(rec, valueCol), get(rec, indCol)
		if value == "" && ind == "" {
			// Trailing notes and footers carry text in one cell only.
			continue
		}
		if code == "" {
			t.fail(line, "code", "missing HCPCS/CPT code")
			continue
		}
		code = strings.ToUpper(code)
		v, err := strconv.Atoi(value)
		if err != nil || v < 0 {
			t.fail(line, "mue_value", "%q is not a whole number >= 0", value)
			continue
		}
		indicator := 0
		if ind != "" && ind[0] >= '1' && ind[0] <= '3' && (len(ind) == 1 || ind[1] == ' ' || ind[1] == '-' || ind[1] == ':') {
			indicator = int(ind[0] - '0')
		}
		if indicator == 0 {
			t.fail(line, "mue_adjudication_indicator", "%q is not an MUE adjudication indicator (1, 2 or 3)", ind)
			continue
		}
		if prev, dup := seen[code]; dup {
			t.fail(line, "code", "code %s repeats line %d", code, prev)
			continue
		}
		seen[code] = line
		out[code] = MUEEntry{Code: code, Value: v, Indicator: indicator, Rationale: get(rec, ratCol)}
	}
	return out, t.errs
}

// ParseCalendar reads a holiday calendar: columns date (YYYY-MM-DD) and name.
func ParseCalendar(name string, r io.Reader) (*Calendar, []*ValidationError) {
	t := newCSV(name, r)
	c := &Calendar{Name: name, Holidays: map[Date]string{}}
	if !t.readHeader("date", "name") {
		return c, t.errs
	}
	for {
		rec, line, err := t.next()
		if err != nil {
			break
		}
		if t.cell(rec, "date") == "" {
			t.fail(line, "date", "missing value")
			continue
		}
		d := t.date(rec, line, "date")
		if d.IsZero() {
			continue
		}
		if _, dup := c.Holidays[d]; dup {
			t.fail(line, "date", "%s is listed twice", d)
			continue
		}
		c.Holidays[d] = t.cell(rec, "name")
	}
	c.years = map[int]bool{}
	for d := range c.Holidays {
		c.years[d.Y] = true
	}
	return c, t.errs
}

// ParseCodeTable reads a code-list table: column code, and optionally
// system, display (or category), prefix, from, to and with_any (paired
// codes separated by spaces, ";" or "|"). Rows without a system take the
// list's system. Other columns (e.g. note) are kept in the file only.
func ParseCodeTable(name string, r io.Reader) ([]CodeEntry, []*ValidationError) {
	t := newCSV(name, r)
	var out []CodeEntry
	if !t.readHeader("code") {
		return out, t.errs
	}
	for {
		rec, line, err := t.next()
		if err != nil {
			break
		}
		e := CodeEntry{Code: t.cell(rec, "code"), System: t.cell(rec, "system"), Display: t.cell(rec, "display")}
		if e.Code == "" {
			t.fail(line, "code", "missing value")
			continue
		}
		if e.Display == "" {
			e.Display = t.cell(rec, "category")
		}
		switch p := strings.ToLower(t.cell(rec, "prefix")); p {
		case "", "false", "no", "0":
		case "true", "yes", "1":
			e.Prefix = true
		default:
			t.fail(line, "prefix", "%q must be true or false", p)
		}
		e.From, e.To = t.date(rec, line, "from"), t.date(rec, line, "to")
		if !e.To.IsZero() && e.To.Before(e.From) {
			t.fail(line, "to", "%s is before from %s", e.To, e.From)
		}
		e.WithAny = strings.FieldsFunc(t.cell(rec, "with_any"), func(r rune) bool { return r == ' ' || r == ';' || r == '|' || r == ',' })
		out = append(out, e)
	}
	return out, t.errs
}
