package report

import (
	"context"
	"sort"
	"time"

	"github.com/utilreview/utilreview/fhir"
	"github.com/utilreview/utilreview/service/checks"
	"github.com/utilreview/utilreview/service/facts"
	"github.com/utilreview/utilreview/service/review"
	"github.com/utilreview/utilreview/service/worklist"
)

// due is one finding the engine raises when nothing has been done about it
// (the patient's Communications left out, no Task counted as closing it):
// the work that was due. Done says the engine counts it satisfied: it is not
// raised over the record as it is (a completed Communication satisfied it),
// or its Task is completed.
type due struct {
	f        checks.Finding
	task     *task // the utilreview Task carrying the finding's identifier, nil when none
	done     bool
	onTime   bool // done by the deadline (the Communication's sent time or the Task's completion)
	doneTime time.Time
}

// stay is an encounter the stay measures read.
type stay struct {
	e        *facts.Encounter
	ipStart  time.Time // zero when never inpatient
	obsStart time.Time // first observation segment's start; zero when none
	obsHours float64
	month    string // discharge month, else (in progress) admission month; "" outside the period
}

type computer struct {
	opt       review.Options
	writer    *worklist.Writer
	loc       *time.Location
	from, end time.Time
	asOf      time.Time
	months    []string

	tasks []*task
	dues  []*due
	stays []*stay
	// unresolved counts claims (by month of creation) whose payer could not be resolved.
	unresolvedClaims map[string]int
	// encounters and claims by reference: a Task's focus.
	encounters map[string]*facts.Encounter
	claims     map[string]*facts.Claim
}

func newComputer(opt review.Options, from, end, asOf time.Time) *computer {
	c := &computer{opt: opt, writer: opt.Writer, loc: opt.Location, from: from, end: end, asOf: asOf, unresolvedClaims: map[string]int{},
		encounters: map[string]*facts.Encounter{}, claims: map[string]*facts.Claim{}}
	for m := time.Date(from.Year(), from.Month(), 1, 0, 0, 0, 0, c.loc); m.Before(end); m = m.AddDate(0, 1, 0) {
		c.months = append(c.months, m.Format("2006-01"))
	}
	return c
}

// in reports whether t falls in the period.
func (c *computer) in(t time.Time) bool {
	return !t.IsZero() && !t.Before(c.from) && t.Before(c.end)
}

func (c *computer) month(t time.Time) string { return t.In(c.loc).Format("2006-01") }

// collect builds the facts and runs the engine twice per patient: over the
// record without its Communications (what was due) and over the record as
// it is (what is still not satisfied). Neither run drops findings closed by
// a Task: the report reads the Tasks itself.
func (c *computer) collect(ctx context.Context, resources []*fhir.Resource) (*facts.Set, error) {
	opt := c.opt
	opt.Checks.Closed = func(*facts.Patient, *checks.Finding) bool { return false }
	pl := review.NewPipeline(opt, nil)
	set := pl.Facts(resources)
	idSystem := c.writer.IdentifierSystem()
	for _, p := range set.Patients {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		byID := map[string]*task{}
		for _, t := range p.Tasks {
			if t == nil || t.State() == facts.TaskAbsent || !t.HasIdentifier(idSystem) {
				continue
			}
			rt := readTask(t, c.writer.CheckSystem(), c.loc)
			c.tasks = append(c.tasks, rt)
			v := t.IdentifierValue(idSystem)
			if prev, ok := byID[v]; !ok || prev.State() != facts.TaskClosed {
				byID[v] = rt
			}
		}
		asIs := map[string]bool{}
		for _, f := range pl.Review(p) {
			asIs[c.writer.Identifier(&f).Value] = true
		}
		bare := *p
		bare.Communications = nil
		for _, f := range pl.Review(&bare) {
			f.Patient = p
			id := c.writer.Identifier(&f).Value
			d := &due{f: f, task: byID[id]}
			switch {
			case !asIs[id]:
				d.done = true
				d.doneTime = sentAbout(p, f.Encounter, f.Claim)
			case d.task != nil && d.task.Status == "completed":
				d.done = true
				d.doneTime = d.task.Completed
			}
			d.onTime = d.done && !d.doneTime.IsZero() && !d.doneTime.After(f.Due)
			c.dues = append(c.dues, d)
		}
		for _, e := range p.Encounters {
			c.encounters[e.Ref] = e
			if s := c.stayOf(e); s != nil {
				c.stays = append(c.stays, s)
			}
		}
		for _, cl := range p.Claims {
			c.claims[cl.Ref] = cl
			if cl.Payer == nil && !cl.Uninsured && c.in(cl.Created) && cl.Status != "entered-in-error" {
				c.unresolvedClaims[c.month(cl.Created)]++
			}
		}
	}
	return set, nil
}

// sentAbout is the earliest sent time of a completed Communication about the
// stay or claim; zero when none says when it was sent.
func sentAbout(p *facts.Patient, e *facts.Encounter, cl *facts.Claim) time.Time {
	var first time.Time
	for _, cm := range p.Communications {
		if cm == nil || cm.Status != "completed" || cm.Sent.IsZero() {
			continue
		}
		about := false
		for _, a := range cm.About {
			if (e != nil && a == e.Ref) || (cl != nil && a == cl.Ref) {
				about = true
			}
		}
		if about && (first.IsZero() || cm.Sent.Before(first)) {
			first = cm.Sent
		}
	}
	return first
}

// stayOf is the stay measures' view of an encounter with an inpatient or
// observation segment; nil for other encounters.
func (c *computer) stayOf(e *facts.Encounter) *stay {
	if e.Status == "cancelled" || e.Status == "entered-in-error" {
		return nil
	}
	s := &stay{e: e, ipStart: checks.InpatientStart(e)}
	for _, seg := range e.Segments {
		if !checks.IsObservationClass(seg.Class, nil) {
			continue
		}
		if s.obsStart.IsZero() {
			s.obsStart = seg.Start
		}
		end := seg.End
		if end.IsZero() {
			end = e.End
		}
		if end.IsZero() || end.After(c.asOf) {
			end = c.asOf
		}
		if end.After(seg.Start) {
			s.obsHours += end.Sub(seg.Start).Hours()
		}
	}
	if s.ipStart.IsZero() && s.obsStart.IsZero() {
		return nil
	}
	switch {
	case !e.End.IsZero() && c.in(e.End):
		s.month = c.month(e.End)
	case e.End.IsZero() && c.in(e.Start):
		s.month = c.month(e.Start)
	}
	return s
}

// counter accumulates numbers per key.
type counter struct {
	keys  [][]string
	index map[string]int
	vals  [][]float64
	lists [][][]float64 // per row, per list column: values for medians
	ncol  int
}

func newCounter(ncol int) *counter { return &counter{index: map[string]int{}, ncol: ncol} }

func (k *counter) row(keys ...string) int {
	id := ""
	for _, s := range keys {
		id += s + "\x00"
	}
	i, ok := k.index[id]
	if !ok {
		i = len(k.keys)
		k.index[id] = i
		k.keys = append(k.keys, keys)
		k.vals = append(k.vals, make([]float64, k.ncol))
		k.lists = append(k.lists, make([][]float64, k.ncol))
	}
	return i
}

func (k *counter) add(col int, v float64, keys ...string) { k.vals[k.row(keys...)][col] += v }

func (k *counter) list(col int, v float64, keys ...string) {
	i := k.row(keys...)
	k.lists[i][col] = append(k.lists[i][col], v)
}

// withMonths makes a row for every month of the period, in order, before any other.
func (c *computer) monthCounter(ncol int) *counter {
	k := newCounter(ncol)
	for _, m := range c.months {
		k.row(m)
	}
	return k
}

func median(xs []float64) (float64, bool) {
	if len(xs) == 0 {
		return 0, false
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2], true
	}
	return (s[n/2-1] + s[n/2]) / 2, true
}

// sortRows orders rows by keys (months ascending, names alphabetically),
// keeping the first nFixed rows (the months made up front) in place.
func sortByKeys(rows []Row) {
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i].Keys, rows[j].Keys
		for x := range a {
			if a[x] != b[x] {
				return a[x] < b[x]
			}
		}
		return false
	})
}

func (c *computer) report() *Report {
	return &Report{
		AsOf: c.asOf,
		Sections: []Section{
			{ID: "timeliness", Title: "Review timeliness", Tables: c.timeliness()},
			{ID: "los", Title: "Length of stay against the MS-DRG norm", Tables: c.lengthOfStay()},
			{ID: "observation", Title: "Observation", Tables: c.observation()},
			{ID: "two-midnight", Title: "Two-midnight and Condition Code 44", Tables: c.twoMidnight()},
			{ID: "readmissions", Title: "Readmissions within 30 days", Tables: c.readmissions()},
			{ID: "payer", Title: "Payer side", Tables: c.payer()},
			{ID: "avoidable", Title: "Avoidable days", Tables: c.avoidable()},
			{ID: "data-quality", Title: "Data quality", Tables: c.dataQuality()},
		},
	}
}
