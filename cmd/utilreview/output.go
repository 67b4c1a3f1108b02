package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

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

func writeOutput(out io.Writer, cfg *reviewConfig, w *worklist.Writer, res *review.Result) error {
	bw := bufio.NewWriterSize(out, 64<<10)
	var err error
	switch cfg.Format {
	case "table":
		err = writeTable(bw, cfg, w, res)
	case "json":
		recs := make([]record, len(res.Findings))
		for i := range res.Findings {
			recs[i] = toRecord(&res.Findings[i], w, cfg.AsOf, cfg.TZ)
		}
		enc := json.NewEncoder(bw)
		enc.SetIndent("", "  ")
		err = enc.Encode(struct {
			AsOf     string   `json:"as_of"`
			Findings []record `json:"findings"`
			Summary  summary  `json:"summary"`
		}{cfg.AsOf.Format(time.RFC3339), recs, summarize(res)})
	case "ndjson":
		enc := json.NewEncoder(bw)
		for i := range res.Findings {
			if err = enc.Encode(toRecord(&res.Findings[i], w, cfg.AsOf, cfg.TZ)); err != nil {
				break
			}
		}
	case "fhir":
		var b []byte
		b, err = w.TransactionBundle(res.Findings, cfg.AsOf, cfg.IncludeCodeSystems)
		if err == nil {
			_, err = bw.Write(append(b, '\n'))
		}
	}
	if err != nil {
		return err
	}
	return bw.Flush()
}

func writeTable(out io.Writer, cfg *reviewConfig, w *worklist.Writer, res *review.Result) error {
	if len(res.Findings) == 0 {
		_, err := fmt.Fprintln(out, "No findings.")
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DUE\tPRIORITY\tCHECK\tPATIENT\tFOCUS\tEVIDENCE")
	for i := range res.Findings {
		f := &res.Findings[i]
		due := f.Due.In(cfg.TZ).Format("2006-01-02 15:04")
		if f.Due.Before(cfg.AsOf) {
			due += " OVERDUE"
		}
		// A patient known only from a contained resource or by identifier has
		// no Ref; the table does not print identifiers (they may be MRNs).
		patient := "-"
		if f.Patient != nil && f.Patient.Ref != "" {
			patient = f.Patient.Ref
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", due, f.Priority, f.Check, patient, f.FocusRef, evidenceText(f.Evidence, cfg.TZ))
	}
	return tw.Flush()
}

// evidenceText is the evidence in one short line: type=value pairs.
func evidenceText(ev []checks.Evidence, loc *time.Location) string {
	parts := make([]string, 0, len(ev))
	for _, e := range ev {
		var v string
		switch {
		case e.Int != nil:
			v = strconv.Itoa(*e.Int)
		case e.Decimal != nil:
			v = strconv.FormatFloat(*e.Decimal, 'f', -1, 64)
		case e.String != nil:
			v = *e.String
		case e.Bool != nil:
			v = strconv.FormatBool(*e.Bool)
		case e.DateTime != nil:
			v = e.DateTime.In(loc).Format("2006-01-02T15:04")
		case e.Date != nil:
			v = e.Date.In(loc).Format(time.DateOnly)
		case e.Code != nil:
			v = e.Code.Code
		case e.Ref != nil:
			v = *e.Ref
		}
		if strings.ContainsAny(v, " \t") {
			v = strconv.Quote(v)
		}
		parts = append(parts, e.Type+"="+v)
	}
	return strings.Join(parts, " ")
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
	Closed     int            `json:"closed_by_existing_tasks"`
	Skipped    map[string]int `json:"skipped_resources"`
	Errors     int            `json:"errors"`
	// CustomErrors counts failed evaluations of payer CEL checks.
	CustomErrors map[string]int `json:"custom_check_errors,omitempty"`
	// UnmatchedPayers counts the stays and claims per payer (as the input
	// names it) that matched no rule set and got the default rules.
	UnmatchedPayers map[string]int `json:"unmatched_payers,omitempty"`
}

func summarize(res *review.Result) summary {
	s := summary{
		Files: res.Files, Resources: res.Resources, Findings: len(res.Findings),
		PerCheck: map[string]int{}, Closed: res.Closed, Skipped: map[string]int{}, Errors: len(res.Errors),
	}
	if res.Set != nil {
		s.Patients = len(res.Set.Patients)
		for _, p := range res.Set.Patients {
			s.Encounters += len(p.Encounters)
			s.Claims += len(p.Claims)
		}
		for k, v := range res.Set.Skipped {
			s.Skipped[k] = v
		}
	}
	for i := range res.Findings {
		s.PerCheck[res.Findings[i].Check]++
	}
	s.CustomErrors = res.CustomErrors
	if len(res.UnmatchedPayers) > 0 {
		s.UnmatchedPayers = res.UnmatchedPayers
	}
	return s
}

func writeSummary(w io.Writer, res *review.Result) {
	s := summarize(res)
	fmt.Fprintf(w, "\nReviewed %d file(s), %d resource(s): %d patient(s), %d encounter(s), %d claim(s).\n",
		s.Files, s.Resources, s.Patients, s.Encounters, s.Claims)
	fmt.Fprintf(w, "Findings: %d open", s.Findings)
	if s.Closed > 0 {
		fmt.Fprintf(w, ", %d already closed by existing Tasks", s.Closed)
	}
	fmt.Fprintln(w)
	for _, k := range sortedKeys(s.PerCheck) {
		fmt.Fprintf(w, "  %-30s %d\n", k, s.PerCheck[k])
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
