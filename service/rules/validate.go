package rules

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"strings"
)

// validator checks the meaning of one decoded rule set and resolves its
// tables, code lists and custom checks.
type validator struct {
	l     *loader
	rs    *RuleSet
	file  string
	lines map[string]int
	// bad are the fields whose structure was wrong (already reported, and
	// left out of rs): a meaning error at one of them, inside one, or at a
	// field that contains one would only repeat it.
	bad map[string]bool
}

var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

func (v *validator) add(field, format string, args ...any) {
	if v.repeats(field) {
		return
	}
	v.l.errs = append(v.l.errs, &ValidationError{File: v.file, Line: fieldLine(v.lines, field), Field: field, Reason: fmt.Sprintf(format, args...)})
}

// repeats reports whether field is, is inside, or contains a field whose
// structure was wrong.
func (v *validator) repeats(field string) bool {
	for b := range v.bad {
		if b == field || within(field, b) || within(b, field) {
			return true
		}
	}
	return false
}

// within reports whether the field path p is inside the field path parent.
func within(p, parent string) bool {
	return parent == "" || strings.HasPrefix(p, parent) && len(p) > len(parent) && (p[len(parent)] == '.' || p[len(parent)] == '[')
}

// fieldLine is the line of the field, or of its nearest parent written in
// the file.
func fieldLine(lines map[string]int, field string) int {
	for p := field; ; {
		if n, ok := lines[p]; ok {
			return n
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			return lines[""]
		}
		p = p[:i]
	}
}

func (v *validator) positive(field string, x int) {
	if x <= 0 {
		v.add(field, "must be > 0")
	}
}

func (v *validator) ruleSet() {
	rs := v.rs
	switch {
	case rs.ID == "":
		v.add("id", "must be set")
	case !namePattern.MatchString(rs.ID):
		v.add("id", "%q must be lower-case letters, digits, '.', '_' or '-'", rs.ID)
	}
	if strings.TrimSpace(rs.Name) == "" {
		v.add("name", "must be set")
	}
	if strings.TrimSpace(rs.Version) == "" {
		v.add("version", "must be set")
	}
	if rs.Effective.From.IsZero() {
		v.add("effective.from", "must be set")
	} else if !rs.Effective.To.IsZero() && rs.Effective.To.Before(rs.Effective.From) {
		v.add("effective.to", "%s is before effective.from %s", rs.Effective.To, rs.Effective.From)
	}
	switch rs.Program {
	case MedicareFFS, MedicareAdvantage, Medicaid, Commercial:
	case "":
		v.add("program", "must be set (medicare-ffs, medicare-advantage, medicaid or commercial)")
	default:
		v.add("program", "unknown program %q (want medicare-ffs, medicare-advantage, medicaid or commercial)", string(rs.Program))
	}
	if rs.Illustrative && strings.TrimSpace(rs.Note) == "" {
		v.add("note", "must say what the illustrative rule set is an example of")
	}
	for i, s := range rs.Sources {
		if strings.TrimSpace(s.Title) == "" {
			v.add(fmt.Sprintf("sources[%d].title", i), "must be set")
		}
	}
	v.match()
	v.codeLists()
	v.checks()
	v.custom()
	name := rs.CalendarTable
	if name == "" {
		name = DefaultCalendar
	}
	rs.calendar = v.calendar("calendar", name)
}

func (v *validator) match() {
	m := v.rs.Match
	if !v.rs.Default && len(m.Identifiers) == 0 && len(m.Names) == 0 {
		v.add("match", "must list identifiers or names (only a default rule set may match nothing)")
	}
	for i, id := range m.Identifiers {
		if strings.TrimSpace(id.System) == "" {
			v.add(fmt.Sprintf("match.identifiers[%d].system", i), "must be set")
		}
		if strings.TrimSpace(id.Value) == "" {
			v.add(fmt.Sprintf("match.identifiers[%d].value", i), "must be set")
		}
	}
	for i, n := range m.Names {
		f := fmt.Sprintf("match.names[%d]", i)
		switch {
		case strings.TrimSpace(n) == "":
			v.add(f, "must not be empty")
		case IsNoPayer(n):
			v.add(f, "%q is reserved: it means the patient has no payer", n)
		}
	}
}

func (v *validator) codeLists() {
	for name, cl := range v.rs.CodeLists {
		f := "code_lists." + name
		if !namePattern.MatchString(name) {
			v.add(f, "list name %q must be lower-case letters, digits, '.', '_' or '-'", name)
		}
		if cl == nil {
			v.add(f, "must have codes or a table")
			v.rs.CodeLists[name] = NewCodeList()
			continue
		}
		if cl.Table == "" && len(cl.Codes) == 0 {
			v.add(f, "must have codes or a table")
		}
		for i := range cl.Codes {
			v.codeEntry(fmt.Sprintf("%s.codes[%d]", f, i), cl, &cl.Codes[i])
		}
		if cl.Table != "" {
			rows := v.codeTable(f+".table", cl.Table)
			for i := range rows {
				if rows[i].System == "" && cl.System == "" {
					v.add(f+".system", "must be set: rows of table %q name no system", cl.Table)
					break
				}
			}
			// Index joins the rows to the inline codes in a new slice, so
			// rule sets sharing the table never share entries.
			cl.tableRows = rows
		}
		cl.Index()
	}
}

func (v *validator) codeEntry(f string, cl *CodeList, e *CodeEntry) {
	if strings.TrimSpace(e.System) == "" && strings.TrimSpace(cl.System) == "" {
		v.add(f+".system", "must be set here or on the list")
	}
	if strings.TrimSpace(e.Code) == "" {
		v.add(f+".code", "must be set")
	}
	if !e.To.IsZero() && e.To.Before(e.From) {
		v.add(f+".to", "%s is before from %s", e.To, e.From)
	}
	for i, w := range e.WithAny {
		if strings.TrimSpace(w) == "" {
			v.add(fmt.Sprintf("%s.with_any[%d]", f, i), "must not be empty")
		}
	}
}

// listRef checks that a field names a code list of the rule set.
func (v *validator) listRef(field, name string) {
	if name == "" {
		v.add(field, "must name a code list")
		return
	}
	if _, ok := v.rs.CodeLists[name]; !ok {
		v.add(field, "code list %q not defined", name)
	}
}

func (v *validator) checks() {
	c := &v.rs.Checks
	if an := c.AdmissionNotification; an.Enabled {
		v.positive("checks.admission_notification.hours", an.Hours)
	}
	for i, ex := range c.AdmissionNotification.Exemptions {
		f := fmt.Sprintf("checks.admission_notification.exemptions[%d]", i)
		if strings.TrimSpace(ex.Name) == "" {
			v.add(f+".name", "must be set")
		}
		v.listRef(f+".code_list", ex.CodeList)
		v.positive(f+".hours", ex.Hours)
	}
	d := &c.Determination
	for _, f := range []struct {
		name string
		v    *int
	}{{"appeal_days", d.AppealDays}, {"peer_to_peer_days", d.PeerToPeerDays}} {
		if f.v != nil && *f.v < 0 {
			v.add("checks.determination."+f.name, "must be >= 0")
		}
	}
	for _, f := range []struct {
		name string
		v    *int
	}{{"pended_business_days", d.PendedBusinessDays}, {"redetermine_business_days", d.RedetermineBusinessDays}} {
		if f.v != nil && *f.v <= 0 {
			v.add("checks.determination."+f.name, "must be > 0")
		}
	}
	if an := d.AdverseNotice; an.Enabled {
		v.positive("checks.determination.adverse_notice.working_days", an.WorkingDays)
	}
	if ar := c.AdmissionReview; ar.Enabled {
		v.positive("checks.admission_review.business_days", ar.BusinessDays)
	}
	if c.TwoMidnight.Enabled {
		if _, ok := v.rs.CodeLists[ListInpatientOnly]; !ok {
			v.add("checks.two_midnight", "code list %q not defined: the rule needs the inpatient-only procedures", ListInpatientOnly)
		}
	}
	if o := c.Observation; o.Enabled {
		v.positive("checks.observation.max_hours", o.MaxHours)
		if o.SecondMidnightLeadHours < 0 {
			v.add("checks.observation.second_midnight_lead_hours", "must be >= 0")
		}
		if l := o.MaxHoursLeadHours; l != nil && (*l < 0 || o.MaxHours > 0 && *l >= o.MaxHours) {
			v.add("checks.observation.max_hours_lead_hours", "%d must be >= 0 and below max_hours %d", *l, o.MaxHours)
		}
		for i, cls := range o.Classes {
			if strings.TrimSpace(cls) == "" {
				v.add(fmt.Sprintf("checks.observation.classes[%d]", i), "must not be empty")
			}
		}
	}
	if im := c.ImportantMessage; im.Enabled {
		v.positive("checks.important_message.days_after_admission", im.DaysAfterAdmission)
		v.positive("checks.important_message.days_before_discharge", im.DaysBeforeDischarge)
	}
	if g := &c.GMLOS; g.Enabled || g.Table != "" {
		if g.Table == "" {
			g.Table = DefaultDRGTable
		}
		v.rs.drgs = v.drgTable("checks.gmlos.table", g.Table)
		if g.Enabled {
			switch {
			case g.Factor <= 0:
				v.add("checks.gmlos.factor", "must be > 0")
			case g.EscalationFactor <= 0:
				v.add("checks.gmlos.escalation_factor", "must be > 0")
			case g.EscalationFactor < g.Factor:
				v.add("checks.gmlos.escalation_factor", "escalation_factor %g is below factor %g", g.EscalationFactor, g.Factor)
			}
			v.positive("checks.gmlos.default_review_day", g.DefaultReviewDay)
		}
	}
	if cr := &c.ConcurrentReview; cr.Enabled || cr.NormTable != "" {
		if cr.Enabled {
			v.positive("checks.concurrent_review.every_days", cr.EveryDays)
		}
		if cr.NormTable != "" {
			if cr.Percentile == 0 {
				cr.Percentile = 50
			}
			if cr.Percentile != 50 && cr.Percentile != 75 && cr.Percentile != 90 {
				v.add("checks.concurrent_review.percentile", "%d is not 50, 75 or 90", cr.Percentile)
			}
			v.rs.norms = v.normTable("checks.concurrent_review.norm_table", cr.NormTable)
		} else if cr.Percentile != 0 {
			v.add("checks.concurrent_review.percentile", "needs a norm_table")
		}
	}
	if r := c.Readmission; r.Enabled {
		v.positive("checks.readmission.window_days", r.WindowDays)
	}
	if c.Readmission.PlannedCodeList != "" {
		v.listRef("checks.readmission.planned_code_list", c.Readmission.PlannedCodeList)
	}
	for cohort, list := range c.Readmission.HRRPCohorts {
		v.listRef("checks.readmission.hrrp_cohorts."+cohort, list)
	}
	if s := c.SNFThreeDay; s.Enabled {
		v.positive("checks.snf_three_day.min_midnights", s.MinMidnights)
	}
	if pa := c.PriorAuth; pa.Enabled || pa.CodeList != "" {
		v.listRef("checks.prior_auth.code_list", pa.CodeList)
	}
	if pa := c.PriorAuth; pa.Retroactive && v.rs.Program == MedicareFFS {
		v.add("checks.prior_auth.retroactive", "Medicare fee-for-service does not authorize retroactively (42 CFR 419.82)")
	}
	if pa := c.PriorAuth; pa.RetroactiveDays != 0 {
		if pa.RetroactiveDays < 0 {
			v.add("checks.prior_auth.retroactive_days", "must be >= 0")
		} else if !pa.Retroactive {
			v.add("checks.prior_auth.retroactive_days", "needs retroactive: true")
		}
	}
	for i, ct := range c.PriorAuth.ClaimTypes {
		switch ct {
		case "institutional", "professional", "oral", "pharmacy", "vision":
		default:
			v.add(fmt.Sprintf("checks.prior_auth.claim_types[%d]", i), "unknown claim type %q (want institutional, professional, oral, pharmacy or vision)", ct)
		}
	}
	if m := c.MUE; m.Enabled || m.Table != "" {
		if m.Table == "" {
			v.add("checks.mue.table", "must name the MUE table (CMS CSV layout) when the check is enabled")
		} else {
			v.rs.mues = v.mueTable("checks.mue.table", m.Table)
		}
	}
	for i, mod := range c.DuplicateLines.ExemptModifiers {
		if !isModifier(mod) {
			v.add(fmt.Sprintf("checks.duplicate_lines.exempt_modifiers[%d]", i), "modifier %q must be two letters or digits", mod)
		}
	}
	if tf := c.TimelyFiling; tf.Enabled {
		switch {
		case tf.LimitDays != 0 && tf.LimitMonths != 0:
			v.add("checks.timely_filing.limit_months", "set limit_days or limit_months, not both")
		case tf.LimitMonths != 0:
			v.positive("checks.timely_filing.limit_months", tf.LimitMonths)
		case tf.LimitDays != 0:
			v.positive("checks.timely_filing.limit_days", tf.LimitDays)
		default:
			v.add("checks.timely_filing.limit_days", "one of limit_days or limit_months is required")
		}
		switch {
		case tf.WarningDays < 0:
			v.add("checks.timely_filing.warning_days", "must be >= 0")
		case tf.LimitMonths > 0 && tf.WarningDays >= 28*tf.LimitMonths: // the shortest month
			v.add("checks.timely_filing.warning_days", "warning_days %d is not below limit_months %d (28 days a month)", tf.WarningDays, tf.LimitMonths)
		case tf.LimitMonths == 0 && tf.LimitDays > 0 && tf.WarningDays >= tf.LimitDays:
			v.add("checks.timely_filing.warning_days", "warning_days %d is not below limit_days %d", tf.WarningDays, tf.LimitDays)
		}
	}
	if pw := c.PaymentWindow; pw.Enabled {
		v.positive("checks.payment_window.days", pw.Days)
	}
	v.paymentWindowExclusions(&c.PaymentWindow)
}

func isModifier(m string) bool {
	if len(m) != 2 {
		return false
	}
	for i := 0; i < 2; i++ {
		b := m[i]
		if !('0' <= b && b <= '9' || 'A' <= b && b <= 'Z' || 'a' <= b && b <= 'z') {
			return false
		}
	}
	return true
}

func (v *validator) custom() {
	seen := map[string]int{}
	for i, c := range v.rs.Custom {
		f := fmt.Sprintf("custom[%d]", i)
		if c == nil {
			v.add(f, "must be a custom check")
			continue
		}
		switch {
		case c.ID == "":
			v.add(f+".id", "must be set")
		case !namePattern.MatchString(c.ID):
			v.add(f+".id", "%q must be lower-case letters, digits, '.', '_' or '-'", c.ID)
		}
		if j, dup := seen[c.ID]; dup && c.ID != "" {
			v.add(f+".id", "%q is also the id of custom[%d]", c.ID, j)
		}
		seen[c.ID] = i
		switch c.On {
		case OnEncounter, OnClaim:
		default:
			v.add(f+".on", "%q must be encounter or claim", c.On)
		}
		switch c.Priority {
		case "routine", "urgent", "asap", "stat":
		default:
			v.add(f+".priority", "%q must be routine, urgent, asap or stat", c.Priority)
		}
		switch c.Owner {
		case "", "ur-team", "physician-advisor":
		default:
			v.add(f+".owner", "%q must be ur-team or physician-advisor", c.Owner)
		}
		v.positive(f+".deadline_hours", c.DeadlineHours)
		switch c.DeadlineFrom {
		case "", DeadlineFromStart, DeadlineFromReview:
		case DeadlineFromInpatientOrder, DeadlineFromDischarge:
			if c.On == OnClaim {
				v.add(f+".deadline_from", "%q applies to encounter checks only", c.DeadlineFrom)
			}
		default:
			v.add(f+".deadline_from", "%q must be start, inpatient_order, discharge or review", c.DeadlineFrom)
		}
		if strings.TrimSpace(c.Message) == "" {
			v.add(f+".message", "must be set")
		}
		if strings.TrimSpace(c.When) == "" {
			v.add(f+".when", "must be set")
			continue
		}
		whenErr, msgErr := c.Compile(v.l.env)
		if whenErr != nil {
			v.add(f+".when", "%v", whenErr)
		}
		if msgErr != nil {
			v.add(f+".message", "%v", msgErr)
		}
	}
}

// Tables. Each file is read and parsed once per kind; a rule set that names
// a table that failed gets one error at its own field, the table's errors
// are reported once with the table's file and lines.

func (v *validator) tableName(field, name string) bool {
	clean := path.Clean(name)
	if name == "" || clean != name || path.IsAbs(name) || strings.HasPrefix(clean, "../") || clean == ".." || !fs.ValidPath(path.Join(tablesDir, name)) {
		v.add(field, "table %q must be a file name under tables/", name)
		return false
	}
	if v.rs.tableSums == nil {
		v.rs.tableSums = map[string]string{}
	}
	v.rs.tableSums[name] = "" // its sum once every table is read
	return true
}

// readTable returns the bytes of a table not yet parsed as kind; ok is false
// when it was parsed before (cached) or cannot be read.
func (v *validator) readTable(field, kind, name string) (data []byte, file string, fresh bool, ok bool) {
	if !v.tableName(field, name) {
		return nil, "", false, false
	}
	key := kind + "|" + name
	if good, seen := v.l.loaded[key]; seen {
		if !good {
			v.add(field, "table %q has errors", name)
		}
		return nil, "", false, good
	}
	data, file, err := v.l.openTable(name)
	if err != nil {
		v.l.loaded[key] = false
		v.add(field, "unknown table file %q: not found in tables/", name)
		return nil, "", false, false
	}
	return data, file, true, true
}

func (v *validator) record(field, kind, name string, errs []*ValidationError) bool {
	v.l.loaded[kind+"|"+name] = len(errs) == 0
	if len(errs) > 0 {
		v.l.errs = append(v.l.errs, errs...)
		v.add(field, "table %q has errors", name)
		return false
	}
	return true
}

// loadTable parses a table the first time a rule set names it and keeps it
// in store; a table that failed to parse, or is missing, gives the zero T.
func loadTable[T any](v *validator, field, kind, name string, parse func(string, io.Reader) (T, []*ValidationError), store map[string]T) T {
	data, file, fresh, ok := v.readTable(field, kind, name)
	if fresh {
		t, errs := parse(file, bytes.NewReader(data))
		if v.record(field, kind, name, errs) {
			store[name] = t
		}
	} else if !ok {
		var zero T
		return zero
	}
	return store[name]
}

func (v *validator) drgTable(field, name string) map[string]DRG {
	return loadTable(v, field, "drg", name, ParseDRGTable, v.l.tables.DRGs)
}

func (v *validator) normTable(field, name string) *NormTable {
	return loadTable(v, field, "norm", name, func(file string, r io.Reader) (*NormTable, []*ValidationError) {
		t, errs := ParseNormTable(file, r)
		t.Description = name
		return t, errs
	}, v.l.tables.Norms)
}

func (v *validator) mueTable(field, name string) map[string]MUEEntry {
	return loadTable(v, field, "mue", name, ParseMUETable, v.l.tables.MUEs)
}

func (v *validator) calendar(field, name string) *Calendar {
	return loadTable(v, field, "calendar", name, func(file string, r io.Reader) (*Calendar, []*ValidationError) {
		c, errs := ParseCalendar(file, r)
		c.Name = name
		return c, errs
	}, v.l.tables.Calendar)
}

func (v *validator) codeTable(field, name string) []CodeEntry {
	return loadTable(v, field, "codes", name, ParseCodeTable, v.l.tables.Codes)
}

// crossCheck finds conflicts between rule sets: versions of one payer whose
// dates overlap, identifiers or names claimed by two payers at once, and a
// missing or ambiguous default.
func (l *loader) crossCheck(sets []*RuleSet) {
	add := func(rs *RuleSet, field, format string, args ...any) {
		l.errs = append(l.errs, &ValidationError{File: rs.File, Line: fieldLine(l.lines[rs], field), Field: field, Reason: fmt.Sprintf(format, args...)})
	}
	hasDefault := false
	for j, b := range sets {
		hasDefault = hasDefault || b.Default
		for _, a := range sets[:j] {
			if !overlap(a.Effective, b.Effective) || b.Effective.From.IsZero() || a.Effective.From.IsZero() {
				continue
			}
			if a.ID == b.ID {
				if a.Version == b.Version {
					add(b, "version", "version %q of %q is also defined in %s", b.Version, b.ID, a.File)
				} else {
					add(b, "effective", "version %q of %q overlaps version %q in %s (%s)", b.Version, b.ID, a.Version, a.File, a.Effective)
				}
				continue
			}
			if a.Default && b.Default {
				add(b, "default", "another default rule set, %q in %s, is in effect in overlapping dates", a.ID, a.File)
			}
			for i, bi := range b.Match.Identifiers {
				for _, ai := range a.Match.Identifiers {
					if strings.TrimSpace(ai.System) == strings.TrimSpace(bi.System) && strings.TrimSpace(ai.Value) == strings.TrimSpace(bi.Value) {
						add(b, fmt.Sprintf("match.identifiers[%d]", i), "identifier %s|%s is also claimed by %q in %s in overlapping dates", bi.System, bi.Value, a.ID, a.File)
					}
				}
			}
			for i, bn := range b.Match.Names {
				for _, an := range a.Match.Names {
					if strings.EqualFold(strings.TrimSpace(an), strings.TrimSpace(bn)) {
						add(b, fmt.Sprintf("match.names[%d]", i), "name %q is also claimed by %q in %s in overlapping dates", bn, a.ID, a.File)
					}
				}
			}
		}
	}
	if len(sets) > 0 && !hasDefault && !l.maybeDefault {
		l.errs = append(l.errs, &ValidationError{File: l.display(""), Reason: "no rule set is marked default: true (it applies to payers no rule set matches)"})
	}
}

// overlap reports whether two periods share a day.
func overlap(a, b Period) bool {
	if !a.To.IsZero() && a.To.Before(b.From) {
		return false
	}
	if !b.To.IsZero() && b.To.Before(a.From) {
		return false
	}
	return true
}

// String is the period as "from to to" ("open" for an open end).
func (p Period) String() string {
	to := "open"
	if !p.To.IsZero() {
		to = p.To.String()
	}
	return p.From.String() + " to " + to
}
