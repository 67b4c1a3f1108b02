package report

import (
	"sort"

	"github.com/utilreview/utilreview/service/checks"
	"github.com/utilreview/utilreview/service/facts"
)

// table turns a counter into a Table; derive computes each row's values
// from its sums and lists.
func table(id, title, note string, keys, columns []string, k *counter, derive func(v []float64, lists [][]float64) []*float64) *Table {
	t := &Table{ID: id, Title: title, Note: note, Keys: keys, Columns: columns, Rows: []Row{}}
	for i := range k.keys {
		t.Rows = append(t.Rows, Row{Keys: k.keys[i], Values: derive(k.vals[i], k.lists[i])})
	}
	return t
}

func vals(xs ...float64) []*float64 {
	out := make([]*float64, len(xs))
	for i, x := range xs {
		out[i] = num(x)
	}
	return out
}

func medianOf(xs []float64) *float64 {
	if m, ok := median(xs); ok {
		return num(m)
	}
	return nil
}

// Timeliness columns (sums), then the derived ones.
const (
	tDue = iota
	tOnTime
	tLate
	tCompletedUnknown
	tCancelled
	tOpenOverdue
	tOpenNotDue
	tCols
)

var timelinessColumns = []string{"due", "completed-on-time", "completed-late", "completed-time-unknown", "cancelled-or-rejected",
	"open-overdue", "open-not-yet-due", "on-time-rate", "median-hours-to-complete"}

func (c *computer) timeliness() []*Table {
	byMonth, byCheck, byOwner, byPayer := c.monthCounter(tCols), newCounter(tCols), newCounter(tCols), newCounter(tCols)
	payers := c.taskPayers()
	for _, t := range c.tasks {
		if !c.in(t.Due) {
			continue
		}
		col := -1
		switch {
		case t.Status == "completed" && t.Completed.IsZero():
			col = tCompletedUnknown
		case t.Status == "completed" && !t.Completed.After(t.Due):
			col = tOnTime
		case t.Status == "completed":
			col = tLate
		case t.State() == facts.TaskClosed:
			col = tCancelled
		case t.Due.Before(c.asOf):
			col = tOpenOverdue
		default:
			col = tOpenNotDue
		}
		for _, k := range []struct {
			c   *counter
			key string
		}{{byMonth, c.month(t.Due)}, {byCheck, t.Check}, {byOwner, t.Owner}, {byPayer, payers[t]}} {
			k.c.add(tDue, 1, k.key)
			k.c.add(col, 1, k.key)
			if !t.Completed.IsZero() && !t.Authored.IsZero() && !t.Completed.Before(t.Authored) {
				k.c.list(0, t.Completed.Sub(t.Authored).Hours(), k.key)
			}
		}
	}
	derive := func(v []float64, l [][]float64) []*float64 {
		out := vals(v[:tCols]...)
		return append(out, ratio(v[tOnTime], v[tOnTime]+v[tLate]), medianOf(l[0]))
	}
	note := "utilreview Tasks whose deadline (restriction.period.end) falls in the period"
	m := table("timeliness-by-month", "Reviews due per month, by outcome", note, []string{"month"}, timelinessColumns, byMonth, derive)
	m.Chart = &Chart{Kind: "line", Series: []string{"completed-on-time", "completed-late", "open-overdue"}}
	ch := table("timeliness-by-check", "Reviews due by check", note, []string{"check"}, timelinessColumns, byCheck, derive)
	sortByKeys(ch.Rows)
	ch.Chart = &Chart{Kind: "bar", Series: []string{"completed-on-time", "completed-late", "open-overdue"}}
	ow := table("timeliness-by-owner", "Reviews due by owner", note, []string{"owner"}, timelinessColumns, byOwner, derive)
	sortByKeys(ow.Rows)
	ow.Chart = &Chart{Kind: "bar", Series: []string{"completed-on-time", "completed-late", "open-overdue"}}
	py := table("timeliness-by-payer", "Reviews due by payer", note+"; the payer of the Task's stay or claim", []string{"payer"}, timelinessColumns, byPayer, derive)
	sortByKeys(py.Rows)
	py.Chart = &Chart{Kind: "bar", Series: []string{"completed-on-time", "completed-late", "open-overdue"}}
	return []*Table{m, ch, ow, py}
}

// Length-of-stay columns.
const (
	lStays = iota
	lStaysDRG
	lObserved
	lExpected
	lExcess
	lCols
)

func (c *computer) lengthOfStay() []*Table {
	byMonth := c.monthCounter(lCols)
	byDRG := newCounter(lCols)
	for _, s := range c.stays {
		if s.ipStart.IsZero() || s.e.End.IsZero() || !c.in(s.e.End) {
			continue
		}
		m := c.month(s.e.End)
		byMonth.add(lStays, 1, m)
		days := float64(checks.Midnights(s.ipStart, s.e.End, c.loc))
		rs, _ := c.opt.Rules.For(s.e.Payer, s.ipStart)
		if rs == nil {
			rs = c.opt.Rules.Default(s.ipStart)
		}
		if s.e.DRG == "" || rs == nil {
			continue
		}
		row, ok := rs.DRG(s.e.DRG)
		if !ok || row.GMLOS <= 0 {
			continue
		}
		excess := max(0, days-row.GMLOS)
		byMonth.add(lStaysDRG, 1, m)
		byMonth.add(lObserved, days, m)
		byMonth.add(lExpected, row.GMLOS, m)
		byMonth.add(lExcess, excess, m)
		byDRG.add(lStays, 1, row.Code, row.Title)
		byDRG.add(lObserved, days, row.Code, row.Title)
		byDRG.add(lExpected, row.GMLOS, row.Code, row.Title)
		byDRG.add(lExcess, excess, row.Code, row.Title)
	}
	month := table("los-by-month", "Inpatient stays discharged per month: observed and expected days",
		"inpatient stays by discharge month; days = midnights from the inpatient order to discharge; expected = the MS-DRG's GMLOS",
		[]string{"month"}, []string{"inpatient-stays", "stays-with-drg", "observed-days", "expected-days", "oe-ratio", "excess-days"}, byMonth,
		func(v []float64, _ [][]float64) []*float64 {
			return []*float64{num(v[lStays]), num(v[lStaysDRG]), num(v[lObserved]), num(v[lExpected]), ratio(v[lObserved], v[lExpected]), num(v[lExcess])}
		})
	month.Chart = &Chart{Kind: "line", Series: []string{"observed-days", "expected-days"}}
	drgCols := []string{"stays", "observed-days", "gmlos", "expected-days", "oe-ratio", "excess-days"}
	drgDerive := func(v []float64, _ [][]float64) []*float64 {
		return []*float64{num(v[lStays]), num(v[lObserved]), ratio(v[lExpected], v[lStays]), num(v[lExpected]), ratio(v[lObserved], v[lExpected]), num(v[lExcess])}
	}
	all := table("los-by-drg", "Inpatient stays by MS-DRG", "stays with an MS-DRG the payer's table knows, most excess days first",
		[]string{"drg", "title"}, drgCols, byDRG, drgDerive)
	sort.SliceStable(all.Rows, func(i, j int) bool {
		a, b := *all.Rows[i].Values[5], *all.Rows[j].Values[5]
		if a != b {
			return a > b
		}
		return all.Rows[i].Keys[0] < all.Rows[j].Keys[0]
	})
	top := &Table{ID: "los-top-drgs", Title: "The ten MS-DRGs with the most excess days", Note: "excess days = observed days over the GMLOS, per stay, summed",
		Keys: all.Keys, Columns: all.Columns, Rows: all.Rows[:min(10, len(all.Rows))],
		Chart: &Chart{Kind: "bar", Series: []string{"excess-days"}}}
	return []*Table{month, top, all}
}

// Observation hour buckets.
var obsBuckets = []struct {
	name   string
	lo, hi float64
}{
	{"0-8 h", 0, 8}, {"8-16 h", 8, 16}, {"16-24 h", 16, 24}, {"24-36 h", 24, 36}, {"36-48 h", 36, 48}, {"48-72 h", 48, 72}, {"72 h and more", 72, 1e18},
}

const (
	oStays = iota
	oOver24
	oOver48
	oConverted
	oMoonDue
	oMoonDone
	oCols
)

func (c *computer) observation() []*Table {
	byMonth := c.monthCounter(oCols)
	hours := newCounter(1)
	for _, b := range obsBuckets {
		hours.row(b.name)
	}
	for _, s := range c.stays {
		if s.obsStart.IsZero() || s.month == "" {
			continue
		}
		byMonth.add(oStays, 1, s.month)
		if s.obsHours > 24 {
			byMonth.add(oOver24, 1, s.month)
		}
		if s.obsHours > 48 {
			byMonth.add(oOver48, 1, s.month)
		}
		if !s.ipStart.IsZero() && !s.ipStart.Before(s.obsStart) {
			byMonth.add(oConverted, 1, s.month)
		}
		for _, b := range obsBuckets {
			if s.obsHours >= b.lo && s.obsHours < b.hi {
				hours.add(0, 1, b.name)
			}
		}
	}
	for _, d := range c.dues {
		if d.f.Check != checks.CheckObservationMOON || !c.in(d.f.Due) {
			continue
		}
		m := c.month(d.f.Due)
		byMonth.add(oMoonDue, 1, m)
		if d.done {
			byMonth.add(oMoonDone, 1, m)
		}
	}
	month := table("observation-by-month", "Observation stays per month",
		"stays with an observation segment, by discharge month (admission month while in progress); MOON notices by deadline month",
		[]string{"month"}, []string{"observation-stays", "over-24h", "over-48h", "share-over-24h", "share-over-48h", "converted-to-inpatient", "conversion-rate", "moon-due", "moon-done"},
		byMonth, func(v []float64, _ [][]float64) []*float64 {
			return []*float64{num(v[oStays]), num(v[oOver24]), num(v[oOver48]), ratio(v[oOver24], v[oStays]), ratio(v[oOver48], v[oStays]),
				num(v[oConverted]), ratio(v[oConverted], v[oStays]), num(v[oMoonDue]), num(v[oMoonDone])}
		})
	month.Chart = &Chart{Kind: "line", Series: []string{"observation-stays", "over-24h", "over-48h"}}
	dist := table("observation-hours", "Observation hours: distribution", "observation stays of the period by hours in observation",
		[]string{"hours"}, []string{"stays"}, hours, func(v []float64, _ [][]float64) []*float64 { return vals(v...) })
	dist.Chart = &Chart{Kind: "bar", Series: []string{"stays"}}
	return []*Table{month, dist}
}

var twoMidnightColumns = []string{"short-stays", "reviewed", "A1", "A2", "A3", "A4", "A6", "completed-without-determination",
	"cancelled-or-rejected", "open", "no-task", "condition-code-44"}

func (c *computer) twoMidnight() []*Table {
	byMonth := c.monthCounter(len(twoMidnightColumns))
	col := func(name string) int {
		for i, n := range twoMidnightColumns {
			if n == name {
				return i
			}
		}
		return -1
	}
	reviews := map[*facts.Encounter]*due{}
	for _, d := range c.dues {
		switch d.f.Check {
		case checks.CheckTwoMidnight:
			if d.f.Encounter != nil {
				reviews[d.f.Encounter] = d
			}
		case checks.CheckConditionCode44:
			if c.in(d.f.Due) {
				byMonth.add(col("condition-code-44"), 1, c.month(d.f.Due))
			}
		}
	}
	for _, s := range c.stays {
		if s.ipStart.IsZero() || s.e.End.IsZero() || !c.in(s.e.End) || checks.Midnights(s.ipStart, s.e.End, c.loc) >= 2 {
			continue
		}
		m := c.month(s.e.End)
		byMonth.add(col("short-stays"), 1, m)
		d, ok := reviews[s.e]
		if !ok {
			continue
		}
		byMonth.add(col("reviewed"), 1, m)
		switch t := d.task; {
		case t == nil:
			byMonth.add(col("no-task"), 1, m)
		case t.Status == "completed" && col(t.Determination) >= 0 && t.Determination != "":
			byMonth.add(col(t.Determination), 1, m)
		case t.Status == "completed":
			byMonth.add(col("completed-without-determination"), 1, m)
		case t.State() == facts.TaskClosed:
			byMonth.add(col("cancelled-or-rejected"), 1, m)
		default:
			byMonth.add(col("open"), 1, m)
		}
	}
	t := table("two-midnight-by-month", "Short inpatient stays (under 2 midnights) and how their reviews ended",
		"inpatient stays discharged in the month with fewer than 2 midnights from the inpatient order; their two-midnight review's Task and its X12 306 determination; Condition Code 44 cases by deadline month",
		[]string{"month"}, twoMidnightColumns, byMonth, func(v []float64, _ [][]float64) []*float64 { return vals(v...) })
	t.Chart = &Chart{Kind: "line", Series: []string{"short-stays", "reviewed", "condition-code-44"}}
	return []*Table{t}
}

func (c *computer) readmissions() []*Table {
	byMonth := c.monthCounter(2)
	byCohort := newCounter(1)
	for _, s := range c.stays {
		if !s.ipStart.IsZero() && !s.e.End.IsZero() && c.in(s.e.End) {
			byMonth.add(0, 1, c.month(s.e.End))
		}
	}
	for _, d := range c.dues {
		if d.f.Check != checks.CheckReadmission30d {
			continue
		}
		var indexEnd *facts.Encounter
		cohort := "(no HRRP cohort)"
		for _, ev := range d.f.Evidence {
			switch {
			case ev.Type == "index-stay" && ev.Ref != nil:
				for _, e := range d.f.Patient.Encounters {
					if e.Ref == *ev.Ref {
						indexEnd = e
					}
				}
			case ev.Type == "hrrp-cohort" && ev.String != nil:
				cohort = *ev.String
			}
		}
		if indexEnd == nil || !c.in(indexEnd.End) {
			continue
		}
		byMonth.add(1, 1, c.month(indexEnd.End))
		byCohort.add(0, 1, cohort)
	}
	month := table("readmissions-by-month", "Readmissions within 30 days, by the index stay's discharge month",
		"readmissions = readmission-30d findings (planned readmissions and transfers excluded by the check) whose index stay was discharged in the month; rate over the inpatient discharges of the month",
		[]string{"month"}, []string{"inpatient-discharges", "readmissions", "readmission-rate"}, byMonth,
		func(v []float64, _ [][]float64) []*float64 {
			return []*float64{num(v[0]), num(v[1]), ratio(v[1], v[0])}
		})
	month.Chart = &Chart{Kind: "line", Series: []string{"readmission-rate"}}
	cohort := table("readmissions-by-cohort", "Readmissions within 30 days by HRRP cohort", "the cohort of the index stay (principal diagnosis or procedure)",
		[]string{"cohort"}, []string{"readmissions"}, byCohort, func(v []float64, _ [][]float64) []*float64 { return vals(v...) })
	sortByKeys(cohort.Rows)
	cohort.Chart = &Chart{Kind: "bar", Series: []string{"readmissions"}}
	return []*Table{month, cohort}
}

// payerOf names the payer of a finding's stay or claim, as the input names it.
func payerOf(e *facts.Encounter, cl *facts.Claim) string {
	var p *facts.Payer
	switch {
	case e != nil && e.Payer != nil:
		p = e.Payer
	case cl != nil && cl.Payer != nil:
		p = cl.Payer
	}
	if l := p.Label(); l != "" {
		return l
	}
	return "(no payer)"
}

// taskPayers are the payers of the Tasks' focus (a stay or a claim, else the Task's encounter).
func (c *computer) taskPayers() map[*task]string {
	out := map[*task]string{}
	for _, t := range c.tasks {
		e := c.encounters[t.Focus]
		if e == nil {
			e = c.encounters[t.Encounter]
		}
		out[t] = payerOf(e, c.claims[t.Focus])
	}
	return out
}

var determinationColumns = []string{"determinations", "A1", "A2", "A3", "A4", "A6", "denials", "partial-denials", "denial-rate", "partial-denial-rate", "median-turnaround-hours"}

func (c *computer) payer() []*Table {
	notices := newCounter(4)
	notif := newCounter(4)
	pa := c.monthCounter(1)
	paPayer := newCounter(1)
	for _, d := range c.dues {
		if !c.in(d.f.Due) {
			continue
		}
		switch d.f.Check {
		case checks.CheckAdmissionNotification, checks.CheckObservationMOON, checks.CheckImportantMessage:
			for _, k := range []struct {
				c   *counter
				key string
			}{{notices, d.f.Check}, {notif, payerOf(d.f.Encounter, d.f.Claim)}} {
				if k.c == notif && d.f.Check != checks.CheckAdmissionNotification {
					continue
				}
				k.c.add(0, 1, k.key)
				if d.done {
					k.c.add(1, 1, k.key)
				}
				if d.onTime {
					k.c.add(2, 1, k.key)
				}
			}
		case checks.CheckPriorAuthRequired:
			pa.add(0, 1, c.month(d.f.Due))
			paPayer.add(0, 1, payerOf(d.f.Encounter, d.f.Claim))
		}
	}
	noticeDerive := func(v []float64, _ [][]float64) []*float64 {
		return []*float64{num(v[0]), num(v[1]), num(v[2]), num(v[0] - v[1]), ratio(v[2], v[0])}
	}
	noticeCols := []string{"due", "done", "done-on-time", "not-done", "on-time-rate"}
	nt := table("notices-by-check", "Notices and notifications due and done", "due = the engine raises the finding over the record without its Communications; done = a completed Communication satisfies it, or its Task is completed; by deadline month in the period",
		[]string{"check"}, noticeCols, notices, noticeDerive)
	sortByKeys(nt.Rows)
	nt.Chart = &Chart{Kind: "bar", Series: []string{"due", "done-on-time"}}
	np := table("notifications-by-payer", "Admission notifications due and sent on time, by payer", "admission-notification findings due in the period",
		[]string{"payer"}, noticeCols, notif, noticeDerive)
	sortByKeys(np.Rows)
	np.Chart = &Chart{Kind: "bar", Series: []string{"due", "done-on-time"}}
	pam := table("prior-auth-missing-by-month", "Prior authorizations missing, per month", "prior-auth-required findings by deadline month",
		[]string{"month"}, []string{"prior-auth-missing"}, pa, func(v []float64, _ [][]float64) []*float64 { return vals(v...) })
	pam.Chart = &Chart{Kind: "line", Series: []string{"prior-auth-missing"}}
	pap := table("prior-auth-missing-by-payer", "Prior authorizations missing, by payer", "prior-auth-required findings due in the period",
		[]string{"payer"}, []string{"prior-auth-missing"}, paPayer, func(v []float64, _ [][]float64) []*float64 { return vals(v...) })
	sortByKeys(pap.Rows)
	pap.Chart = &Chart{Kind: "bar", Series: []string{"prior-auth-missing"}}

	// Determinations: completed utilreview Tasks with a determination output.
	codes := []string{Certified, CertifiedPartial, NotCertified, Pended, Modified}
	detMonth, detPayer := c.monthCounter(6), newCounter(6)
	payers := c.taskPayers()
	for _, t := range c.tasks {
		if t.Status != "completed" || t.Determination == "" || !c.in(t.Due) || t.Check == CheckDeterminationAppeal {
			continue // an appeal's outcome is counted with the appeals
		}
		ci := -1
		for i, code := range codes {
			if code == t.Determination {
				ci = i + 1
			}
		}
		if ci < 0 {
			continue // not an X12 306 code the report knows
		}
		for _, k := range []struct {
			c   *counter
			key string
		}{{detMonth, c.month(t.Due)}, {detPayer, payers[t]}} {
			k.c.add(0, 1, k.key)
			k.c.add(ci, 1, k.key)
			if !t.Completed.IsZero() && !t.Authored.IsZero() && !t.Completed.Before(t.Authored) {
				k.c.list(0, t.Completed.Sub(t.Authored).Hours(), k.key)
			}
		}
	}
	detDerive := func(v []float64, l [][]float64) []*float64 {
		decided := v[0] - v[4] // pended (A4) is not a decision
		partial := v[2] + v[5]
		return []*float64{num(v[0]), num(v[1]), num(v[2]), num(v[3]), num(v[4]), num(v[5]), num(v[3]), num(partial),
			ratio(v[3], decided), ratio(partial, decided), medianOf(l[0])}
	}
	detNote := "completed utilreview Tasks (appeals aside) whose output 'determination' carries an X12 306 code, by the Task's deadline month; denial = A3, partial denial = A2 or A6; rates over A1+A2+A3+A6; turnaround = authoredOn to completion"
	dm := table("determinations-by-month", "Determinations per month", detNote, []string{"month"}, determinationColumns, detMonth, detDerive)
	dm.Chart = &Chart{Kind: "line", Series: []string{"A1", "A3", "denials", "partial-denials"}}
	dp := table("determinations-by-payer", "Determinations by payer and X12 306 outcome", detNote, []string{"payer"}, determinationColumns, detPayer, detDerive)
	sortByKeys(dp.Rows)
	dp.Chart = &Chart{Kind: "bar", Series: []string{"A1", "A2", "A3", "A4", "A6"}}
	return []*Table{nt, np, pam, pap, dm, dp, c.appeals(payers)}
}

var appealColumns = []string{"appeals", "A1", "A2", "A3", "A4", "A6", "completed-without-determination", "cancelled-or-rejected", "open", "median-turnaround-hours"}

// appeals are the determination-appeal Tasks (peer-to-peer or appeal after
// an A3) due in the period, by payer, with the outcome their completion records.
func (c *computer) appeals(payers map[*task]string) *Table {
	k := newCounter(len(appealColumns))
	col := func(name string) int {
		for i, n := range appealColumns {
			if n == name {
				return i
			}
		}
		return -1
	}
	for _, t := range c.tasks {
		if t.Check != CheckDeterminationAppeal || !c.in(t.Due) {
			continue
		}
		p := payers[t]
		k.add(0, 1, p)
		switch {
		case t.Status == "completed" && t.Determination != "" && col(t.Determination) > 0:
			k.add(col(t.Determination), 1, p)
		case t.Status == "completed":
			k.add(col("completed-without-determination"), 1, p)
		case t.State() == facts.TaskClosed:
			k.add(col("cancelled-or-rejected"), 1, p)
		default:
			k.add(col("open"), 1, p)
		}
		if !t.Completed.IsZero() && !t.Authored.IsZero() && !t.Completed.Before(t.Authored) {
			k.list(0, t.Completed.Sub(t.Authored).Hours(), p)
		}
	}
	t := table("appeals-by-payer", "Appeals and peer-to-peer reviews after a denial, and their outcome",
		"determination-appeal Tasks due in the period (raised after an A3); the outcome is the X12 306 determination their completion records (A1: overturned, A3: upheld)",
		[]string{"payer"}, appealColumns, k, func(v []float64, l [][]float64) []*float64 {
			return append(vals(v[:len(appealColumns)-1]...), medianOf(l[0]))
		})
	sortByKeys(t.Rows)
	t.Chart = &Chart{Kind: "bar", Series: []string{"appeals", "A1", "A3"}}
	return t
}

func (c *computer) avoidable() []*Table {
	byReason, byMonth := newCounter(2), c.monthCounter(2)
	for _, t := range c.tasks {
		if t.Status != "completed" || !t.HasAvoidable || !c.in(t.Due) {
			continue
		}
		reason := t.AvoidableReason
		if reason == "" {
			reason = "(no reason)"
		}
		for _, k := range []struct {
			c   *counter
			key string
		}{{byReason, reason}, {byMonth, c.month(t.Due)}} {
			k.c.add(0, 1, k.key)
			k.c.add(1, float64(t.AvoidableDays), k.key)
		}
	}
	note := "completed utilreview Tasks with an avoidable-days output (valueInteger) and its avoidable-days-reason, by the Task's deadline month"
	m := table("avoidable-days-by-month", "Avoidable days recorded per month", note, []string{"month"}, []string{"tasks", "avoidable-days"}, byMonth,
		func(v []float64, _ [][]float64) []*float64 { return vals(v...) })
	m.Chart = &Chart{Kind: "line", Series: []string{"avoidable-days"}}
	r := table("avoidable-days-by-reason", "Avoidable days by reason", note, []string{"reason"}, []string{"tasks", "avoidable-days"}, byReason,
		func(v []float64, _ [][]float64) []*float64 { return vals(v...) })
	sortByKeys(r.Rows)
	r.Chart = &Chart{Kind: "bar", Series: []string{"avoidable-days"}}
	return []*Table{m, r}
}

func (c *computer) dataQuality() []*Table {
	const (
		qStale = iota
		qGap
		qMissingCoverage
		qNotConfigured
		qUnresolvedStays
		qUnresolvedClaims
		qCols
	)
	byMonth := c.monthCounter(qCols)
	for _, d := range c.dues {
		if !c.in(d.f.Due) {
			continue
		}
		m := c.month(d.f.Due)
		switch d.f.Check {
		case checks.CheckStaleEncounter:
			byMonth.add(qStale, 1, m)
		case checks.CheckMissingCoverage:
			byMonth.add(qMissingCoverage, 1, m)
		case checks.CheckPayerNotConfigured:
			byMonth.add(qNotConfigured, 1, m)
		}
		if d.f.Status == checks.StatusDataGap {
			byMonth.add(qGap, 1, m)
		}
	}
	for _, s := range c.stays {
		if s.month != "" && s.e.Payer == nil && !s.e.Uninsured {
			byMonth.add(qUnresolvedStays, 1, s.month)
		}
	}
	for m, n := range c.unresolvedClaims {
		byMonth.add(qUnresolvedClaims, float64(n), m)
	}
	t := table("data-quality-by-month", "Data quality per month",
		"findings by deadline month (stale-encounter, data-gap status, missing-coverage, payer-not-configured); stays (by discharge month) and claims (by creation month) whose payer could not be resolved",
		[]string{"month"}, []string{"stale-encounters", "data-gaps", "missing-coverage", "payer-not-configured", "unresolved-payer-stays", "unresolved-payer-claims"},
		byMonth, func(v []float64, _ [][]float64) []*float64 { return vals(v...) })
	t.Chart = &Chart{Kind: "line", Series: []string{"stale-encounters", "data-gaps", "unresolved-payer-stays"}}
	return []*Table{t}
}
