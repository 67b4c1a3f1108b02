package checks

import (
	"strconv"
	"strings"
	"time"

	"github.com/utilreview/utilreview/service/facts"
	"github.com/utilreview/utilreview/service/rules"
)

// mueGroup gathers the lines of one code on one date of service, for the
// per-day edits (indicators 2 and 3); a per-line edit is a group of one.
type mueGroup struct {
	code  facts.Code
	day   rules.Date
	dos   time.Time
	entry rules.MUEEntry
	units float64
	first int // index in Claim.Lines of the group's first line
}

// mueExceeded raises a finding per line (indicator 1) or per code and date
// of service (indicators 2 and 3) whose units exceed the code's MUE.
func (r *run) mueExceeded(p *facts.Patient, c *facts.Claim, rs *rules.RuleSet, out []Finding) []Finding {
	if !rs.Checks.MUE.Enabled || !hospitalClaim(c) {
		return out
	}
	// Per-day groups, searched linearly: a claim bills few distinct
	// per-day codes, and the stack buffer spares an allocation.
	var buf [8]mueGroup
	groups := buf[:0]
	for i := range c.Lines {
		l := &c.Lines[i]
		code, ok := billingCode(l)
		if !ok {
			continue
		}
		entry, ok := rs.MUE(code.Code)
		if !ok {
			continue
		}
		dos := lineDate(c, l)
		day := dayOf(dos, r.loc)
		if !entry.PerDay() {
			if l.Units > float64(entry.Value) {
				out = append(out, r.mueFinding(p, c, rs, mueGroup{code: code, day: day, dos: dos, entry: entry, units: l.Units, first: i}))
			}
			continue
		}
		g := -1
		for j := range groups {
			if groups[j].code.Code == code.Code && groups[j].day == day {
				g = j
				break
			}
		}
		if g < 0 {
			groups = append(groups, mueGroup{code: code, day: day, dos: dos, entry: entry, first: i})
			g = len(groups) - 1
		}
		groups[g].units += l.Units
	}
	for _, g := range groups {
		if g.units > float64(g.entry.Value) {
			out = append(out, r.mueFinding(p, c, rs, g))
		}
	}
	return out
}

// groupLines lists the sequences of the lines in g: the first line for a
// per-line edit, every line of the code on the day for a per-day edit.
func (r *run) groupLines(c *facts.Claim, g mueGroup) []int {
	if !g.entry.PerDay() {
		return []int{c.Lines[g.first].Sequence}
	}
	var seqs []int
	for i := g.first; i < len(c.Lines); i++ {
		l := &c.Lines[i]
		if code, ok := billingCode(l); ok && code.Code == g.code.Code && dayOf(lineDate(c, l), r.loc) == g.day {
			seqs = append(seqs, l.Sequence)
		}
	}
	return seqs
}

func (r *run) mueFinding(p *facts.Patient, c *facts.Claim, rs *rules.RuleSet, g mueGroup) Finding {
	lines := r.groupLines(c, g)
	f := r.claimFinding(CheckMUEExceeded, Routine, BillingTeam, p, c, rs, r.editDue(c, rs))
	date := dateText(g.day)
	f.Episode = g.code.Code + "|" + date
	if !g.entry.PerDay() {
		f.Episode += "|line-" + strconv.Itoa(lines[0])
	}
	units := strconv.FormatFloat(g.units, 'f', -1, 64)
	var b strings.Builder
	if len(lines) == 1 {
		b.WriteString("Line " + strconv.Itoa(lines[0]) + " bills ")
	} else {
		b.WriteString("Lines " + joinInts(lines) + " bill together ")
	}
	b.WriteString(units + " units of " + systemName(g.code.System) + " " + g.code.Code + " on " + date)
	b.WriteString("; the Medically Unlikely Edit allows " + strconv.Itoa(g.entry.Value))
	if g.entry.PerDay() {
		b.WriteString(" per date of service (adjudication indicator " + strconv.Itoa(g.entry.Indicator) + ")")
	} else {
		b.WriteString(" per claim line (adjudication indicator " + strconv.Itoa(g.entry.Indicator) + ")")
	}
	if g.entry.Rationale != "" {
		b.WriteString(", rationale: " + g.entry.Rationale)
	}
	b.WriteString(". Correct the units or document the medical necessity of the extra units.")
	f.Description = b.String()
	f.Reasons = []facts.Code{g.code}
	for _, seq := range lines {
		f.Evidence = append(f.Evidence, IntEvidence(EvClaimLine, seq))
	}
	f.Evidence = append(f.Evidence,
		CodeEvidence(EvServiceCode, g.code),
		DateEvidence(EvDateOfService, StartOfDay(g.dos, r.loc)),
		DecimalEvidence(EvUnitsBilled, g.units),
		IntEvidence(EvMUEValue, g.entry.Value),
		IntEvidence(EvMUEIndicator, g.entry.Indicator),
	)
	if t := rs.Checks.MUE.Table; t != "" {
		f.Evidence = append(f.Evidence, StringEvidence(EvRuleSource, "CMS NCCI MUE table "+t))
	}
	return f
}

// joinInts writes 2, 3 and 5.
func joinInts(xs []int) string {
	var b strings.Builder
	for i, x := range xs {
		switch {
		case i == 0:
		case i == len(xs)-1:
			b.WriteString(" and ")
		default:
			b.WriteString(", ")
		}
		b.WriteString(strconv.Itoa(x))
	}
	return b.String()
}
