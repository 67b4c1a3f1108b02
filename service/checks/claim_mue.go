package checks

import (
	"strconv"
	"strings"
	"time"

	"github.com/utilreview/utilreview/service/facts"
	"github.com/utilreview/utilreview/service/rules"
)

// mueGroup gathers the lines of one code on one date of service, for the
// per-day edits (indicators 2 and 3).
type mueGroup struct {
	code  facts.Code
	day   rules.Date
	dos   time.Time
	entry rules.MUEEntry
	units float64
	lines []int // sequences
}

type mueKey struct {
	code string
	day  rules.Date
}

// mueExceeded raises a finding per line (indicator 1) or per code and date
// of service (indicators 2 and 3) whose units exceed the code's MUE.
func (r *run) mueExceeded(p *facts.Patient, c *facts.Claim, rs *rules.RuleSet, out []Finding) []Finding {
	if !rs.Checks.MUE.Enabled || !hospitalClaim(c) {
		return out
	}
	var (
		groups []*mueGroup
		byKey  map[mueKey]*mueGroup
	)
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
				g := &mueGroup{code: code, day: day, dos: dos, entry: entry, units: l.Units, lines: []int{l.Sequence}}
				out = append(out, r.mueFinding(p, c, rs, g, rs.Checks.MUE.Table))
			}
			continue
		}
		if byKey == nil {
			byKey = make(map[mueKey]*mueGroup)
		}
		k := mueKey{code.Code, day}
		g := byKey[k]
		if g == nil {
			g = &mueGroup{code: code, day: day, dos: dos, entry: entry}
			byKey[k] = g
			groups = append(groups, g) // keeps line order: findings are deterministic
		}
		g.units += l.Units
		g.lines = append(g.lines, l.Sequence)
	}
	for _, g := range groups {
		if g.units > float64(g.entry.Value) {
			out = append(out, r.mueFinding(p, c, rs, g, rs.Checks.MUE.Table))
		}
	}
	return out
}

func (r *run) mueFinding(p *facts.Patient, c *facts.Claim, rs *rules.RuleSet, g *mueGroup, table string) Finding {
	f := r.claimFinding(CheckMUEExceeded, Routine, BillingTeam, p, c, rs, r.editDue(c, rs))
	date := dateText(g.day)
	f.Episode = g.code.Code + "|" + date
	if !g.entry.PerDay() {
		f.Episode += "|line-" + strconv.Itoa(g.lines[0])
	}
	units := strconv.FormatFloat(g.units, 'f', -1, 64)
	var b strings.Builder
	if len(g.lines) == 1 {
		b.WriteString("Line " + strconv.Itoa(g.lines[0]) + " bills ")
	} else {
		b.WriteString("Lines " + joinInts(g.lines) + " bill together ")
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
	for _, seq := range g.lines {
		f.Evidence = append(f.Evidence, IntEvidence(EvClaimLine, seq))
	}
	f.Evidence = append(f.Evidence,
		CodeEvidence(EvServiceCode, g.code),
		TimeEvidence(EvDateOfService, StartOfDay(g.dos, r.loc)),
		DecimalEvidence(EvUnitsBilled, g.units),
		IntEvidence(EvMUEValue, g.entry.Value),
		IntEvidence(EvMUEIndicator, g.entry.Indicator),
	)
	if table != "" {
		f.Evidence = append(f.Evidence, StringEvidence(EvRuleSource, "CMS NCCI MUE table "+table))
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
