package rules

import (
	"fmt"
	"strings"
	"text/template"
	"time"

	"cel.dev/cel-go/cel"

	"github.com/utilreview/utilreview/service/facts"
)

// What a custom check's deadline counts from.
const (
	DeadlineFromStart          = "start"
	DeadlineFromInpatientOrder = "inpatient_order"
	DeadlineFromDischarge      = "discharge"
	DeadlineFromReview         = "review"
)

// CustomCheck is a payer-specific check written in CEL over the fact model
// documented in docs/rules.md. Its findings have the id "custom:<ID>".
type CustomCheck struct {
	ID string `json:"id" yaml:"id"`
	// On is what the check looks at: "encounter" or "claim".
	On       string `json:"on" yaml:"on"`
	Priority string `json:"priority" yaml:"priority"` // routine | urgent | asap | stat
	// When is the CEL expression; the check fires when it is true.
	When string `json:"when" yaml:"when"`
	// Message is the Task description, a template with {{.name}} fields of the fact model.
	Message string `json:"message" yaml:"message"`
	// DeadlineHours counts from DeadlineFrom.
	DeadlineHours int `json:"deadline_hours" yaml:"deadline_hours"`
	// DeadlineFrom is what the deadline counts from: "start" (the default:
	// the stay's start, or the claim's creation), "inpatient_order" and
	// "discharge" (encounter checks; a stay in progress counts from the
	// review time), or "review" (the time of the review that raised it, for
	// conditions such as "past day 5" that have no start of their own).
	DeadlineFrom string `json:"deadline_from,omitempty" yaml:"deadline_from,omitempty"`
	// Owner is "ur-team" (default) or "physician-advisor".
	Owner string `json:"owner,omitempty" yaml:"owner,omitempty"`

	prg  cel.Program        // compiled When, set by the loader
	tmpl *template.Template // parsed Message, set by the loader
}

// Custom check targets.
const (
	OnEncounter = "encounter"
	OnClaim     = "claim"
)

// NewCELEnv is the CEL environment custom checks are compiled in: the
// variables of the fact model, with their types.
func NewCELEnv() (*cel.Env, error) {
	env, err := cel.NewEnv(
		cel.Variable("encounter", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("claim", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("patient", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("payer", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("los_days", cel.IntType),
		cel.Variable("midnights", cel.IntType),
		cel.Variable("drg", cel.StringType),
		cel.Variable("codes", cel.ListType(cel.StringType)),
		cel.Variable("system_codes", cel.ListType(cel.StringType)),
	)
	if err != nil {
		return nil, fmt.Errorf("rules: cel environment: %w", err)
	}
	return env, nil
}

// Compile compiles When and parses Message. Errors carry CEL's message with
// the position in the expression.
func (c *CustomCheck) Compile(env *cel.Env) (whenErr, messageErr error) {
	ast, iss := env.Compile(c.When)
	if iss != nil && iss.Err() != nil {
		whenErr = fmt.Errorf("invalid CEL: %s", strings.ReplaceAll(iss.Err().Error(), "\n", " "))
	} else if t := ast.OutputType(); t != cel.BoolType && t != cel.DynType {
		whenErr = fmt.Errorf("must be a boolean expression, got %s", t)
	} else if prg, err := env.Program(ast); err != nil {
		whenErr = fmt.Errorf("invalid CEL: %v", err)
	} else {
		c.prg = prg
	}
	tmpl, err := template.New(c.ID).Option("missingkey=zero").Parse(c.Message)
	if err != nil {
		messageErr = fmt.Errorf("invalid template: %v", err)
	} else {
		c.tmpl = tmpl
	}
	return whenErr, messageErr
}

// Eval runs the check over the facts in vars (built by EncounterVars or
// ClaimVars). An error (e.g. a map key the facts lack) means the check
// could not decide; it does not fire.
func (c *CustomCheck) Eval(vars map[string]any) (fired bool, err error) {
	if c.prg == nil {
		return false, fmt.Errorf("custom check %q: not compiled", c.ID)
	}
	out, _, err := c.prg.Eval(vars)
	if err != nil {
		return false, fmt.Errorf("custom check %q: %w", c.ID, err)
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, fmt.Errorf("custom check %q: result is %s, not a boolean", c.ID, out.Type().TypeName())
	}
	return b, nil
}

// Render fills the message template with vars. When the template cannot be
// executed the raw message is returned, so a finding always has a text.
func (c *CustomCheck) Render(vars map[string]any) string {
	if c.tmpl == nil {
		return c.Message
	}
	var b strings.Builder
	if err := c.tmpl.Execute(&b, vars); err != nil {
		return c.Message
	}
	return b.String()
}

// Measures are the numbers the checks compute with the facility clock and
// pass to the fact model, so that CEL sees the same values as the built-in
// checks.
type Measures struct {
	// LOSDays is inpatient days: midnights from the inpatient order to the
	// discharge, or to the as-of time while in progress.
	LOSDays int
	// Midnights is all midnights in the hospital, ED and observation included.
	Midnights int
	// ObservationHours is the time spent in observation classes.
	ObservationHours float64
	// AgeYears is the patient's age at the start of the stay or claim; -1 when unknown.
	AgeYears int
	// InProgress: the stay was still going on at the review time (a
	// discharge recorded after it is not yet known), as the built-in checks
	// see it.
	InProgress bool
	// End is the discharge as known at the review time; zero while in
	// progress. encounter.end is absent when it is zero.
	End time.Time
}

// EncounterVars builds the fact model for a custom check on an encounter.
// claim is the first claim that reaches the encounter, or an empty map.
func EncounterVars(p *facts.Patient, e *facts.Encounter, rs *RuleSet, m Measures) map[string]any {
	enc := encounterMap(e, m)
	cl := map[string]any{}
	if e != nil && len(e.Claims) > 0 && e.Claims[0] != nil {
		cl = claimMap(e.Claims[0])
	}
	drg := ""
	if e != nil {
		drg = e.DRG
	}
	codes, sysCodes := encounterCodes(e)
	return factVars(enc, cl, p, rs, m, drg, codes, sysCodes)
}

// ClaimVars builds the fact model for a custom check on a claim. encounter
// is the first encounter the claim reaches (m measures it), or an empty map.
func ClaimVars(p *facts.Patient, c *facts.Claim, rs *RuleSet, m Measures) map[string]any {
	enc := map[string]any{}
	cl := map[string]any{}
	drg := ""
	var codes, sysCodes []string
	if c != nil {
		if len(c.Encounters) > 0 && c.Encounters[0] != nil {
			enc = encounterMap(c.Encounters[0], m)
		}
		cl = claimMap(c)
		drg = c.DRG
		for _, l := range c.Lines {
			codes, sysCodes = appendCodes(codes, sysCodes, l.Codes)
		}
		for _, d := range c.Diagnoses {
			codes, sysCodes = appendCodes(codes, sysCodes, d.Codes)
		}
		for _, pr := range c.Procedures {
			codes, sysCodes = appendCodes(codes, sysCodes, pr.Codes)
		}
	}
	return factVars(enc, cl, p, rs, m, drg, codes, sysCodes)
}

func factVars(enc, cl map[string]any, p *facts.Patient, rs *RuleSet, m Measures, drg string, codes, sysCodes []string) map[string]any {
	pat := map[string]any{"age_years": int64(m.AgeYears), "deceased": false}
	if p != nil {
		pat["deceased"] = p.Deceased
	}
	pay := map[string]any{"id": "", "program": "", "name": "", "version": ""}
	if rs != nil {
		pay = map[string]any{"id": rs.ID, "program": string(rs.Program), "name": rs.Name, "version": rs.Version}
	}
	if codes == nil {
		codes = []string{}
		sysCodes = []string{}
	}
	return map[string]any{
		"encounter":    enc,
		"claim":        cl,
		"patient":      pat,
		"payer":        pay,
		"los_days":     int64(m.LOSDays),
		"midnights":    int64(m.Midnights),
		"drg":          drg,
		"codes":        codes,
		"system_codes": sysCodes,
	}
}

func encounterMap(e *facts.Encounter, m Measures) map[string]any {
	if e == nil {
		return map[string]any{}
	}
	classes := make([]string, 0, len(e.Segments))
	for _, s := range e.Segments {
		classes = append(classes, s.Class)
	}
	var principal []string
	var diagnoses []string
	for _, d := range e.Diagnoses {
		diagnoses = appendValues(diagnoses, d.Codes)
		if d.Principal {
			principal = appendValues(principal, d.Codes)
		}
	}
	var procedures []string
	for _, pr := range e.Procedures {
		procedures = appendValues(procedures, pr.Codes)
	}
	out := map[string]any{
		"class":                 e.Class,
		"classes":               classes,
		"status":                e.Status,
		"in_progress":           m.InProgress,
		"los_days":              int64(m.LOSDays),
		"midnights":             int64(m.Midnights),
		"observation_hours":     m.ObservationHours,
		"types":                 appendValues(nil, e.Types),
		"reasons":               appendValues(nil, e.Reasons),
		"discharge_disposition": appendValues(nil, e.DischargeDisposition),
		"diagnoses":             orEmpty(diagnoses),
		"principal_diagnoses":   orEmpty(principal),
		"procedures":            orEmpty(procedures),
		"drg":                   e.DRG,
	}
	if !e.Start.IsZero() {
		out["start"] = e.Start
	}
	if !m.End.IsZero() {
		out["end"] = m.End
	}
	return out
}

func claimMap(c *facts.Claim) map[string]any {
	lines := make([]any, 0, len(c.Lines))
	var lineCodes []string
	var units float64
	for _, l := range c.Lines {
		lc := appendValues(nil, l.Codes)
		lineCodes = append(lineCodes, lc...)
		units += l.Units
		lm := map[string]any{
			"sequence":  int64(l.Sequence),
			"codes":     lc,
			"code":      "",
			"modifiers": orEmpty(append([]string(nil), l.Modifiers...)),
			"units":     l.Units,
			"revenue":   appendValues(nil, l.Revenue),
		}
		if len(lc) > 0 {
			lm["code"] = lc[0]
		}
		if !l.ServiceStart.IsZero() {
			lm["service_start"] = l.ServiceStart
		}
		lines = append(lines, lm)
	}
	var diagnoses, procedures []string
	for _, d := range c.Diagnoses {
		diagnoses = appendValues(diagnoses, d.Codes)
	}
	for _, pr := range c.Procedures {
		procedures = appendValues(procedures, pr.Codes)
	}
	out := map[string]any{
		"type":          c.Type,
		"use":           c.Use,
		"status":        c.Status,
		"lines":         lines,
		"line_codes":    orEmpty(lineCodes),
		"units":         units,
		"has_preauth":   len(c.PreAuthRefs) > 0,
		"accepted":      c.Accepted,
		"diagnoses":     orEmpty(diagnoses),
		"procedures":    orEmpty(procedures),
		"drg":           c.DRG,
		"subtypes":      appendValues(nil, c.SubType),
		"for_inpatient": false,
	}
	for _, e := range c.Encounters {
		if e != nil && isInpatientClass(e.Class) {
			out["for_inpatient"] = true
		}
	}
	if !c.Created.IsZero() {
		out["created"] = c.Created
	}
	return out
}

// isInpatientClass mirrors checks.IsInpatientClass; rules cannot import checks.
func isInpatientClass(c string) bool { return c == "IMP" || c == "ACUTE" || c == "NONAC" }

func encounterCodes(e *facts.Encounter) (codes, sysCodes []string) {
	if e == nil {
		return nil, nil
	}
	for _, d := range e.Diagnoses {
		codes, sysCodes = appendCodes(codes, sysCodes, d.Codes)
	}
	for _, pr := range e.Procedures {
		codes, sysCodes = appendCodes(codes, sysCodes, pr.Codes)
	}
	codes, sysCodes = appendCodes(codes, sysCodes, e.Types)
	codes, sysCodes = appendCodes(codes, sysCodes, e.Reasons)
	return codes, sysCodes
}

func appendCodes(codes, sysCodes []string, cs []facts.Code) ([]string, []string) {
	for _, c := range cs {
		codes = append(codes, c.Code)
		sysCodes = append(sysCodes, CanonicalSystem(c.System)+"|"+c.Code)
	}
	return codes, sysCodes
}

func appendValues(dst []string, cs []facts.Code) []string {
	for _, c := range cs {
		dst = append(dst, c.Code)
	}
	if dst == nil {
		return []string{}
	}
	return dst
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
