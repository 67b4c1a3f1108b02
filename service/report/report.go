// Package report computes the UR committee report: review timeliness,
// length of stay against the MS-DRG norm, observation, two-midnight,
// readmissions, the payer side, avoidable days and data quality, per month,
// payer and check, from the same inputs `review` reads (facts, the engine's
// findings, and the Tasks with their deadlines, completions and outputs).
// Every measure is a Table of named keys and numbers, so that the HTML page,
// the JSON and the CSV carry exactly the same numbers. Nothing here does I/O
// but the rendering to a writer.
package report

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/utilreview/utilreview/fhir"
	"github.com/utilreview/utilreview/service/checks"
	"github.com/utilreview/utilreview/service/facts"
	"github.com/utilreview/utilreview/service/review"
)

// Output codes of a completed utilreview Task that record a determination
// (the Task.output type codes, in utilreview's evidence-type CodeSystem,
// as service/facts reads them).
const (
	OutputDetermination       = facts.OutputDetermination
	OutputAvoidableDays       = facts.OutputAvoidableDays
	OutputAvoidableDaysReason = facts.OutputAvoidableDaysReason
	// X12ReviewActionSystem is the X12 306 (Action Code) code system of
	// review decisions, as Da Vinci PAS uses it.
	X12ReviewActionSystem = facts.X12ReviewActionSystem
)

// CheckDeterminationAppeal is the check of the Task utilreview raises after
// a not-certified (A3) determination: arrange the peer-to-peer review or the
// appeal.
const CheckDeterminationAppeal = checks.CheckDeterminationAppeal

// X12 306 review action codes.
const (
	Certified        = "A1" // certified in total
	CertifiedPartial = "A2" // certified partial: a partial denial
	NotCertified     = "A3" // not certified: a denial
	Pended           = "A4"
	Modified         = "A6" // modified: a partial denial
)

// Options configure one report.
type Options struct {
	// From and To are the first and the last day of the period (inclusive),
	// as calendar days in Review.Location.
	From, To time.Time
	// Now is the clock (the report is computed as of the end of the period,
	// or Now when that is earlier). Zero: time.Now().
	Now time.Time
	// Review are the pipeline's options (rules, writer, time zone), as
	// `review` builds them. AsOf is set by the report.
	Review review.Options
}

// Report is the committee report: tables of numbers, grouped in sections.
type Report struct {
	From     string    `json:"from"` // YYYY-MM-DD
	To       string    `json:"to"`
	AsOf     time.Time `json:"asOf"`
	TimeZone string    `json:"timeZone"`
	Sections []Section `json:"sections"`
}

// Section is one part of the report (a heading on the page).
type Section struct {
	ID     string   `json:"id"`
	Title  string   `json:"title"`
	Tables []*Table `json:"tables"`
}

// Table is one measure: rows of keys (month, payer, check...) and numbers.
type Table struct {
	ID      string   `json:"id"`
	Title   string   `json:"title"`
	Keys    []string `json:"keys"`    // key column names
	Columns []string `json:"columns"` // value column names
	Rows    []Row    `json:"rows"`
	// Chart says how the page draws the table; nil: a table only.
	Chart *Chart `json:"chart,omitempty"`
	// Note says what the numbers are, in one line for the page.
	Note string `json:"note,omitempty"`
}

// Row is one row of a table: Keys then Values, in the table's column order.
// A nil value is "not applicable" (a ratio with a zero denominator).
type Row struct {
	Keys   []string   `json:"keys"`
	Values []*float64 `json:"values"`
}

// Chart is how a table is drawn: a line (trend by month) or bars, with one
// point or bar per row and series.
type Chart struct {
	Kind   string   `json:"kind"`   // "line" or "bar"
	Series []string `json:"series"` // value columns drawn
}

// Points is the number of bars or points the chart draws: one per row and
// series.
func (t *Table) Points() int {
	if t.Chart == nil {
		return 0
	}
	return len(t.Rows) * len(t.Chart.Series)
}

// Table returns the table with the id, nil when none.
func (r *Report) Table(id string) *Table {
	for i := range r.Sections {
		for _, t := range r.Sections[i].Tables {
			if t.ID == id {
				return t
			}
		}
	}
	return nil
}

// Value is the value of column col in the row whose keys are keys; ok is
// false when there is no such row or column, or the value is nil.
func (t *Table) Value(col string, keys ...string) (float64, bool) {
	c := -1
	for i, name := range t.Columns {
		if name == col {
			c = i
		}
	}
	if c < 0 {
		return 0, false
	}
	for _, r := range t.Rows {
		if equalKeys(r.Keys, keys) {
			if r.Values[c] == nil {
				return 0, false
			}
			return *r.Values[c], true
		}
	}
	return 0, false
}

func equalKeys(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// FormatValue is how every output writes a number: at most two decimals,
// no exponent, "" for not applicable.
func FormatValue(v *float64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(*v, 'f', -1, 64)
}

// num rounds to two decimals, so that every output shows the same number.
func num(x float64) *float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	v := math.Round(x*100) / 100
	if v == 0 {
		v = 0 // no "-0"
	}
	return &v
}

// ratio is a/b, nil when b is 0.
func ratio(a, b float64) *float64 {
	if b == 0 {
		return nil
	}
	return num(a / b)
}

// Run reads the files and directories in paths with the reader `review`
// uses and computes the report.
func Run(ctx context.Context, paths []string, opt Options) (*Report, []error, error) {
	files, errs := fhir.ListFiles(paths)
	reader := fhir.NewReader()
	var resources []*fhir.Resource
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		errs = append(errs, reader.ReadFile(f, func(r *fhir.Resource) { resources = append(resources, r) })...)
	}
	rep, problems, err := Compute(ctx, resources, opt)
	return rep, append(errs, problems...), err
}

// Compute computes the report over resources already read. It returns the
// input problems the facts found too (they name file and entry, never PHI).
func Compute(ctx context.Context, resources []*fhir.Resource, opt Options) (*Report, []error, error) {
	if opt.Review.Writer == nil || opt.Review.Rules == nil {
		return nil, nil, fmt.Errorf("report.Compute: the review options need a writer and rules")
	}
	loc := opt.Review.Location
	if loc == nil {
		loc = time.UTC
		opt.Review.Location = loc
	}
	if opt.From.IsZero() || opt.To.IsZero() {
		return nil, nil, fmt.Errorf("report.Compute: a period (from and to) is required")
	}
	from := day(opt.From, loc)
	end := day(opt.To, loc).AddDate(0, 0, 1)
	if !end.After(from) {
		return nil, nil, fmt.Errorf("report.Compute: the period ends (%s) before it starts (%s)", opt.To.Format(time.DateOnly), opt.From.Format(time.DateOnly))
	}
	now := opt.Now
	if now.IsZero() {
		now = time.Now()
	}
	asOf := end
	if now.Before(asOf) {
		asOf = now
	}
	asOf = asOf.In(loc)
	opt.Review.AsOf = asOf
	c := newComputer(opt.Review, from, end, asOf)
	set, err := c.collect(ctx, resources)
	if err != nil {
		return nil, nil, err
	}
	rep := c.report()
	rep.From = from.Format(time.DateOnly)
	rep.To = end.AddDate(0, 0, -1).Format(time.DateOnly)
	rep.TimeZone = loc.String()
	return rep, set.Problems, nil
}

// day is the start of t's calendar day in loc.
func day(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}
