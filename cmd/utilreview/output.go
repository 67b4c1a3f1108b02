package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/utilreview/utilreview/service/checks"
	"github.com/utilreview/utilreview/service/review"
	"github.com/utilreview/utilreview/service/worklist"
)

// record is one finding in --format json and ndjson; its fields are
// documented in the README and are part of the command's interface.
type record struct {
	Due         string           `json:"due"`
	Overdue     bool             `json:"overdue"`
	Priority    string           `json:"priority"`
	Check       string           `json:"check"`
	Status      string           `json:"status"`
	Owner       string           `json:"owner"`
	Patient     string           `json:"patient"`
	Focus       string           `json:"focus"`
	Encounter   string           `json:"encounter,omitempty"`
	Episode     string           `json:"episode"`
	Identifier  string           `json:"identifier"`
	Description string           `json:"description"`
	RuleSet     string           `json:"rule_set,omitempty"`
	Communicate string           `json:"communication,omitempty"`
	Evidence    []evidenceRecord `json:"evidence"`
	// ActionableUntil is the finding's horizon; Moot, that the review time
	// is past it (the finding was missed).
	ActionableUntil string `json:"actionable_until,omitempty"`
	Moot            bool   `json:"moot,omitempty"`
}

type evidenceRecord struct {
	Type  string `json:"type"`
	Value any    `json:"value"`
}

func toRecord(f *checks.Finding, w *worklist.Writer, asOf time.Time, loc *time.Location) record {
	r := record{
		Due:         f.Due.In(loc).Format(time.RFC3339),
		Overdue:     f.Due.Before(asOf),
		Priority:    string(f.Priority),
		Check:       f.Check,
		Status:      f.Status,
		Owner:       string(f.Owner),
		Focus:       f.FocusRef,
		Episode:     f.Episode,
		Identifier:  w.Identifier(f).Value,
		Description: f.Description,
		Evidence:    make([]evidenceRecord, 0, len(f.Evidence)),
	}
	if f.Patient != nil {
		r.Patient = f.Patient.Ref
	}
	if f.Encounter != nil {
		r.Encounter = f.Encounter.Ref
	}
	if f.RuleSet != nil {
		r.RuleSet = f.RuleSet.ID + "@" + f.RuleSet.Version
	}
	if f.Communication != nil {
		r.Communicate = f.Communication.Category
	}
	if !f.Horizon.IsZero() {
		r.ActionableUntil = f.Horizon.In(loc).Format(time.RFC3339)
	}
	r.Moot = f.Moot
	for _, e := range f.Evidence {
		r.Evidence = append(r.Evidence, evidenceRecord{Type: e.Type, Value: evidenceValue(e, loc)})
	}
	return r
}

func evidenceValue(e checks.Evidence, loc *time.Location) any {
	switch {
	case e.Int != nil:
		return *e.Int
	case e.Decimal != nil:
		return *e.Decimal
	case e.String != nil:
		return *e.String
	case e.Bool != nil:
		return *e.Bool
	case e.DateTime != nil:
		return e.DateTime.In(loc).Format(time.RFC3339)
	case e.Date != nil:
		return e.Date.In(loc).Format(time.DateOnly)
	case e.Code != nil:
		return e.Code.System + "|" + e.Code.Code
	case e.Ref != nil:
		return *e.Ref
	}
	return nil
}

// streams reports whether a format is written as the findings come
// (review.Options.Emit): NDJSON and the FHIR Bundle. The table and json
// sort the whole worklist (overdue first) and are written at the end.
func streams(format string) bool { return format == "ndjson" || format == "fhir" }

// streamWriter writes the NDJSON or FHIR output batch by batch.
type streamWriter struct {
	bw  *bufio.Writer
	cfg *reviewConfig
	w   *worklist.Writer
	enc *json.Encoder         // ndjson
	tx  *worklist.Transaction // fhir
	n   int                   // findings written
}

func newStreamWriter(out io.Writer, cfg *reviewConfig, w *worklist.Writer) *streamWriter {
	s := &streamWriter{bw: bufio.NewWriterSize(out, 64<<10), cfg: cfg, w: w}
	switch cfg.Format {
	case "ndjson":
		s.enc = json.NewEncoder(s.bw)
	case "fhir":
		s.tx = w.NewTransaction(nil, cfg.AsOf)
		if cfg.IncludeCodeSystems {
			s.tx.AddCodeSystems()
		}
	}
	return s
}

// write writes findings: NDJSON lines, or Bundle entries (the Bundle's
// bytes so far leave at once, so it is never held whole).
func (s *streamWriter) write(findings []checks.Finding) error {
	for i := range findings {
		if s.enc != nil {
			if err := s.enc.Encode(toRecord(&findings[i], s.w, s.cfg.AsOf, s.cfg.TZ)); err != nil {
				return err
			}
		} else {
			if err := s.tx.Add(&findings[i]); err != nil {
				return fmt.Errorf("transaction bundle: finding %d: %w", s.n, err)
			}
			if _, err := s.bw.Write(s.tx.Take()); err != nil {
				return err
			}
		}
		s.n++
	}
	return nil
}

// finish ends the output (the Bundle's closing brackets) and flushes it.
func (s *streamWriter) finish() error {
	if s.tx != nil {
		if _, err := s.bw.Write(append(s.tx.Finish(), '\n')); err != nil {
			return err
		}
	}
	return s.bw.Flush()
}

// writeOutput writes the formats that are not streamed: the table and json.
func writeOutput(out io.Writer, cfg *reviewConfig, w *worklist.Writer, res *review.Result, t *tally) error {
	bw := bufio.NewWriterSize(out, 64<<10)
	var err error
	switch cfg.Format {
	case "table":
		err = writeTable(bw, cfg, w, res)
	case "json":
		// With --include-moot the moot findings are under their own key,
		// apart from the work that can still be done.
		recs := make([]record, 0, len(res.Findings))
		var moot []record
		for i := range res.Findings {
			rec := toRecord(&res.Findings[i], w, cfg.AsOf, cfg.TZ)
			if cfg.IncludeMoot && rec.Moot {
				moot = append(moot, rec)
				continue
			}
			recs = append(recs, rec)
		}
		if cfg.IncludeMoot && moot == nil {
			moot = []record{}
		}
		enc := json.NewEncoder(bw)
		enc.SetIndent("", "  ")
		err = enc.Encode(struct {
			AsOf     string   `json:"as_of"`
			Findings []record `json:"findings"`
			Moot     []record `json:"moot,omitempty"`
			Summary  summary  `json:"summary"`
		}{cfg.AsOf.Format(time.RFC3339), recs, moot, summarize(res, t)})
	default:
		err = fmt.Errorf("format %q is streamed", cfg.Format)
	}
	if err != nil {
		return err
	}
	return bw.Flush()
}

// The table is the UR coordinator's own screen: who (name, MRN), which stay,
// what to do, who owns it and by when. It shows PHI (names, MRNs) on
// purpose; nothing of it is logged. Each finding is three or more lines that
// fit a 120-column terminal:
//
//	DUE               STATUS          OWNER    PATIENT      MRN      DATES
//	2026-11-16 23:59  OVERDUE urgent  ur-team  Jane Q Doe   1234567  2026-11-13 – now
//	  the description, in plain words, wrapped at 120 columns
//	  check-id: evidence; evidence; … (shortened to the line unless --wide)
//
// Rule-set ids and rule sources stay in the json and fhir outputs.
const (
	tableWidth   = 120
	tableIndent  = "  "
	minNameWidth = 16
	minMRNWidth  = 12
)

// tableHidden are evidence types the table leaves to json and fhir: the rule
// set's own ids and sources are for audits, not for the coordinator.
var tableHidden = map[string]bool{checks.EvRuleSet: true, checks.EvRuleSource: true, checks.EvCodeList: true}

func writeTable(out io.Writer, cfg *reviewConfig, w *worklist.Writer, res *review.Result) error {
	if len(res.Findings) == 0 {
		if res.Resources == 0 && len(res.Errors) > 0 {
			// Nothing could be read: an empty worklist would be a false
			// all-clear. Standard error says why.
			_, err := fmt.Fprintln(out, "Nothing was reviewed: no input could be read (the problems are on standard error).")
			return err
		}
		_, err := fmt.Fprintln(out, "No findings.")
		return err
	}
	// The first line of each finding is aligned on all the others (the
	// lines under it do not count), so columns are measured first.
	const namePatient, nameMRN = 3, 4
	rows := make([][]string, 0, len(res.Findings)+1)
	rows = append(rows, []string{"DUE", "STATUS", "OWNER", "PATIENT", "MRN", "DATES"})
	for i := range res.Findings {
		f := &res.Findings[i]
		status := string(f.Priority)
		switch {
		case f.Moot:
			status = "MISSED " + status
		case f.Due.Before(cfg.AsOf):
			status = "OVERDUE " + status
		}
		name, mrn := "-", "-"
		if f.Patient != nil {
			if n := cleanText(f.Patient.Name); n != "" {
				name = n
			}
			if m := cleanText(f.Patient.MRN); m != "" {
				mrn = m
			}
		}
		rows = append(rows, []string{f.Due.In(cfg.TZ).Format("2006-01-02 15:04"), status, string(f.Owner), name, mrn, findingDates(f, cfg.TZ)})
	}
	widths := make([]int, len(rows[0]))
	for _, r := range rows {
		for j, c := range r {
			widths[j] = max(widths[j], utf8.RuneCountInString(c))
		}
	}
	if !cfg.Wide {
		// Over 120 columns, the longer of the name and MRN columns gives
		// way first, down to a floor; the cut cells end in "…".
		total := 2 * (len(widths) - 1)
		for _, w := range widths {
			total += w
		}
	shrink:
		for ; total > tableWidth; total-- {
			switch {
			case widths[namePatient] >= widths[nameMRN] && widths[namePatient] > minNameWidth:
				widths[namePatient]--
			case widths[nameMRN] > minMRNWidth:
				widths[nameMRN]--
			case widths[namePatient] > minNameWidth:
				widths[namePatient]--
			default:
				break shrink // nothing more to give: the line stays long
			}
		}
		for _, r := range rows[1:] {
			r[namePatient] = shorten(r[namePatient], widths[namePatient])
			r[nameMRN] = shorten(r[nameMRN], widths[nameMRN])
		}
	}
	fit := func(s string, n int) string {
		if cfg.Wide {
			return s
		}
		return shorten(s, n)
	}
	bw := bufio.NewWriter(out)
	writeRow := func(r []string) {
		var b strings.Builder
		for j, c := range r {
			b.WriteString(c)
			if j < len(r)-1 {
				b.WriteString(strings.Repeat(" ", widths[j]-utf8.RuneCountInString(c)+2))
			}
		}
		fmt.Fprintln(bw, strings.TrimRight(b.String(), " "))
	}
	writeRow(rows[0])
	for i := range res.Findings {
		f := &res.Findings[i]
		writeRow(rows[i+1])
		for _, l := range wrap(cleanText(f.Description), tableWidth-len(tableIndent)) {
			fmt.Fprintln(bw, tableIndent+l)
		}
		line := f.Check
		if ev := evidenceText(f.Evidence, cfg.TZ); ev != "" {
			line += ": " + ev
		}
		fmt.Fprintln(bw, tableIndent+fit(line, tableWidth-len(tableIndent)))
	}
	return bw.Flush()
}

// findingDates are the dates of the finding's stay (to "now" while it is in
// progress), else the claim's service dates.
func findingDates(f *checks.Finding, loc *time.Location) string {
	day := func(t time.Time) string { return t.In(loc).Format(time.DateOnly) }
	span := func(a, b time.Time) string {
		switch {
		case a.IsZero():
			return "-"
		case b.IsZero():
			return day(a) + " – now"
		case day(a) == day(b):
			return day(a)
		}
		return day(a) + " – " + day(b)
	}
	switch {
	case f.Encounter != nil:
		return span(f.Encounter.Start, f.Encounter.End)
	case f.Claim != nil && !f.Claim.BillableStart.IsZero():
		end := f.Claim.BillableEnd
		if end.IsZero() {
			end = f.Claim.BillableStart
		}
		return span(f.Claim.BillableStart, end)
	}
	return "-"
}

// evidenceText is the evidence in one line: type=value pairs, "; " between
// them, each value on one line (no control characters, no escapes).
func evidenceText(ev []checks.Evidence, loc *time.Location) string {
	parts := make([]string, 0, len(ev))
	for _, e := range ev {
		if tableHidden[e.Type] {
			continue
		}
		var v string
		switch {
		case e.Int != nil:
			v = strconv.Itoa(*e.Int)
		case e.Decimal != nil:
			v = strconv.FormatFloat(*e.Decimal, 'f', -1, 64)
		case e.String != nil:
			v = cleanText(*e.String)
		case e.Bool != nil:
			v = strconv.FormatBool(*e.Bool)
		case e.DateTime != nil:
			v = e.DateTime.In(loc).Format("2006-01-02 15:04")
		case e.Date != nil:
			v = e.Date.In(loc).Format(time.DateOnly)
		case e.Code != nil:
			v = e.Code.Code
		case e.Ref != nil:
			v = *e.Ref
		}
		parts = append(parts, e.Type+"="+v)
	}
	return strings.Join(parts, "; ")
}

// cleanText puts text from the input on one line: control characters
// (newlines, tabs, terminal escapes) become spaces and runs of spaces one.
func cleanText(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// shorten cuts s to n runes, ending in "…" when cut.
func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimRight(string(r[:n-1]), " ;,") + "…"
}

// wrap breaks text into lines of at most width runes at spaces; a word
// longer than a line is cut.
func wrap(s string, width int) []string {
	var lines []string
	var cur []rune
	for _, w := range strings.Fields(s) {
		rw := []rune(w)
		for len(rw) > width {
			if len(cur) > 0 {
				lines = append(lines, string(cur))
				cur = nil
			}
			lines = append(lines, string(rw[:width]))
			rw = rw[width:]
		}
		switch {
		case len(cur) == 0:
			cur = rw
		case len(cur)+1+len(rw) <= width:
			cur = append(append(cur, ' '), rw...)
		default:
			lines = append(lines, string(cur))
			cur = rw
		}
	}
	if len(cur) > 0 {
		lines = append(lines, string(cur))
	}
	return lines
}

// summary is the end-of-run account printed on stderr (and included in --format json).
type summary struct {
	Files      int            `json:"files"`
	Resources  int            `json:"resources"`
	Patients   int            `json:"patients"`
	Encounters int            `json:"encounters"`
	Claims     int            `json:"claims"`
	Findings   int            `json:"findings"`
	PerCheck   map[string]int `json:"findings_per_check"`
	// Missed counts the findings past their check's actionable horizon
	// (moot), raised or not; NotRaised those left out of the worklist
	// (without --include-moot, and no Task for them).
	Missed         int            `json:"missed"`
	MissedPerCheck map[string]int `json:"missed_per_check,omitempty"`
	NotRaised      int            `json:"missed_not_raised"`
	// Later counts, per type, the resources left out because they did not
	// exist yet at --as-of (by their clinical and billing dates).
	Later   map[string]int `json:"not_yet_at_as_of,omitempty"`
	Closed  int            `json:"closed_by_existing_tasks"`
	Skipped map[string]int `json:"skipped_resources"`
	Errors  int            `json:"errors"`
	// CustomErrors counts failed evaluations of payer CEL checks.
	CustomErrors map[string]int `json:"custom_check_errors,omitempty"`
	// UnmatchedPayers counts the stays and claims per payer (as the input
	// names it) that matched no rule set and got the default rules.
	UnmatchedPayers map[string]int `json:"unmatched_payers,omitempty"`
}

// tally counts the findings as they are written (all of them, when the
// output streams, are never held at once): the role filter's account and
// the summary's counts per check.
type tally struct {
	roles          map[checks.Owner]bool
	all, shown     int
	perCheck       map[string]int
	missed         int
	missedPerCheck map[string]int
	notRaised      int
}

func newTally(roles map[checks.Owner]bool) *tally {
	return &tally{roles: roles, perCheck: map[string]int{}}
}

// add counts open and moot findings and returns the open ones the role
// filter keeps (open is filtered in place).
func (t *tally) add(open, moot []checks.Finding) []checks.Finding {
	t.all += len(open)
	if len(t.roles) > 0 {
		open = slices.DeleteFunc(open, func(f checks.Finding) bool { return !t.roles[f.Owner] })
	}
	t.shown += len(open)
	missed := func(f *checks.Finding) {
		if t.missedPerCheck == nil {
			t.missedPerCheck = map[string]int{}
		}
		t.missed++
		t.missedPerCheck[f.Check]++
	}
	for i := range open {
		t.perCheck[open[i].Check]++
		if open[i].Moot {
			missed(&open[i])
		}
	}
	for i := range moot {
		missed(&moot[i])
	}
	t.notRaised += len(moot)
	return open
}

func summarize(res *review.Result, t *tally) summary {
	s := summary{
		Files: res.Files, Resources: res.Resources, Findings: t.shown,
		PerCheck: maps.Clone(t.perCheck), Closed: res.Closed, Skipped: map[string]int{}, Errors: len(res.Errors),
		Missed: t.missed, MissedPerCheck: maps.Clone(t.missedPerCheck), NotRaised: t.notRaised,
	}
	s.Patients, s.Encounters, s.Claims = res.Patients, res.Encounters, res.Claims
	for k, v := range res.Skipped {
		s.Skipped[k] = v
	}
	s.Later = res.Later
	s.CustomErrors = res.CustomErrors
	if len(res.UnmatchedPayers) > 0 {
		s.UnmatchedPayers = res.UnmatchedPayers
	}
	return s
}

func writeSummary(w io.Writer, res *review.Result, t *tally) {
	s := summarize(res, t)
	fmt.Fprintf(w, "\nReviewed %d file(s), %d resource(s): %d patient(s), %d encounter(s), %d claim(s).\n",
		s.Files, s.Resources, s.Patients, s.Encounters, s.Claims)
	fmt.Fprintf(w, "Findings: %d open", s.Findings)
	if s.Closed > 0 {
		fmt.Fprintf(w, ", %d already closed by existing Tasks", s.Closed)
	}
	fmt.Fprintln(w)
	// One column for the checks raised and the checks missed.
	width := 0
	for _, m := range []map[string]int{s.PerCheck, s.MissedPerCheck} {
		for k := range m {
			width = max(width, utf8.RuneCountInString(k))
		}
	}
	for _, k := range sortedKeys(s.PerCheck) {
		fmt.Fprintf(w, "  %-*s  %d\n", width, k, s.PerCheck[k])
	}
	if s.Missed > 0 {
		fmt.Fprintf(w, "Missed: %d past their check's actionable horizon (moot)", s.Missed)
		if s.NotRaised > 0 {
			fmt.Fprintf(w, ", %d of them not raised (--include-moot lists them)", s.NotRaised)
		}
		fmt.Fprintln(w)
		for _, k := range sortedKeys(s.MissedPerCheck) {
			fmt.Fprintf(w, "  %-*s  %d\n", width, k, s.MissedPerCheck[k])
		}
	}
	if len(s.Later) > 0 {
		parts := make([]string, 0, len(s.Later))
		for _, k := range sortedKeys(s.Later) {
			parts = append(parts, fmt.Sprintf("%s %d", k, s.Later[k]))
		}
		fmt.Fprintf(w, "Not yet in existence at --as-of (left out): %s\n", strings.Join(parts, ", "))
	}
	if len(s.Skipped) > 0 {
		parts := make([]string, 0, len(s.Skipped))
		for _, k := range sortedKeys(s.Skipped) {
			parts = append(parts, fmt.Sprintf("%s %d", k, s.Skipped[k]))
		}
		fmt.Fprintf(w, "Skipped (types the checks do not read): %s\n", strings.Join(parts, ", "))
	}
	if len(s.UnmatchedPayers) > 0 {
		parts := make([]string, 0, len(s.UnmatchedPayers))
		for _, k := range sortedKeys(s.UnmatchedPayers) {
			parts = append(parts, fmt.Sprintf("%q %d", k, s.UnmatchedPayers[k]))
		}
		fmt.Fprintf(w, "Payers matching no rule set (default rules applied; stays and claims): %s\n", strings.Join(parts, ", "))
	}
	for _, k := range sortedKeys(s.CustomErrors) {
		fmt.Fprintf(w, "Custom check %s could not be evaluated %d time(s) and did not fire there: check its expression against the fact model (docs/rules.md).\n", k, s.CustomErrors[k])
	}
	fmt.Fprintf(w, "Errors: %d\n", s.Errors)
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
