// Package review runs the whole offline pipeline over FHIR files: read,
// resolve, build facts, check, and plan the worklist. The `utilreview
// review` command and the benchmarks use it; the live service takes the same
// way from facts on, with resources fetched from the FHIR server.
package review

import (
	"context"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/utilreview/utilreview/fhir"
	"github.com/utilreview/utilreview/service/checks"
	"github.com/utilreview/utilreview/service/facts"
	"github.com/utilreview/utilreview/service/rules"
	"github.com/utilreview/utilreview/service/worklist"
)

// Options configure one review.
type Options struct {
	AsOf     time.Time
	Location *time.Location
	Rules    *rules.Registry
	Checks   checks.Config
	Writer   *worklist.Writer
	// IncludeMoot raises findings past their check's actionable horizon
	// (checks.Finding.Moot) like the others, with business status missed.
	// Without it a moot finding is raised only when a Task already exists
	// for it (kept open, marked missed: a missed notice is a compliance event
	// to document); the others are in Result.Moot.
	IncludeMoot bool
	// Progress, when set, is called after each file with the files done and
	// the total (from one goroutine at a time, done increasing).
	Progress func(done, total int)
	// Workers is how many files are read, and how many patients reviewed,
	// at once; 0 means runtime.GOMAXPROCS(0). The result is the same
	// whatever the number: files are taken in input order and patients in
	// the facts' order, whichever worker finishes first.
	Workers int
	// BatchBytes is how much input RunIndexed reviews at once, counted as
	// JSON content (the resources' bytes less their whitespace): its memory
	// bound, with the largest group of resources that refer to each other;
	// 0 means DefaultBatchBytes. Run ignores it.
	BatchBytes int64
	// Emit, when set, makes RunIndexed stream: it is called once per batch,
	// from one goroutine, with the batch's open findings and moot ones
	// (Result.Findings and Result.Moot's), which RunIndexed then forgets.
	// The order is the same whatever the workers and the batch size: the
	// patients in input order (the first resource of the resources that
	// refer to each other, then the facts' order), each patient's findings
	// as SortWorklist orders them. An error stops the review and is
	// returned. Result.Findings and Result.Moot stay empty; their counts
	// are the caller's to keep. Run ignores it.
	Emit func(open, moot []checks.Finding) error
}

// workers is the number of goroutines of opt.
func (opt Options) workers() int {
	if opt.Workers > 0 {
		return opt.Workers
	}
	return runtime.GOMAXPROCS(0)
}

// parallel calls do(i) for every i in [0, n) on up to workers goroutines,
// in increasing i per goroutine, and returns when all calls have returned
// or ctx is cancelled (then with ctx's error). Each do(i) writes only its
// own slot of the caller's results, which the caller reads in index order:
// so the outcome never depends on the number of workers.
func parallel(ctx context.Context, workers, n int, do func(i int)) error {
	if workers > n {
		workers = n
	}
	if workers <= 1 {
		for i := 0; i < n; i++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			do(i)
		}
		return nil
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				do(i)
			}
		}()
	}
	wg.Wait()
	return ctx.Err()
}

// Result is what a review found.
type Result struct {
	Files    int
	Set      *facts.Set
	Findings []checks.Finding // open findings, by due time (so the overdue come first), see SortWorklist
	Closed   int              // findings already closed by a completed, cancelled or rejected Task
	// Moot are the findings past their check's actionable horizon that were
	// not raised (no Task exists for them, and Options.IncludeMoot is off):
	// missed, kept for the committee report, by due time. With IncludeMoot
	// they are in Findings instead, each flagged Moot.
	Moot   []checks.Finding
	Errors []error // input problems: each names its file and entry
	// CustomErrors counts, per custom check ("custom:<id>"), the evaluations
	// that failed (the check then did not fire).
	CustomErrors map[string]int
	Resources    int
	// UnmatchedPayers counts, per payer as the input names it, the stays
	// and claims in the review whose payer matches no configured rule set
	// (the default rules were applied; stays get payer-not-configured).
	UnmatchedPayers map[string]int
	// Patients, Encounters and Claims count the patients reviewed and their
	// stays and claims; Skipped counts the resources of types the engine
	// does not read, Later those left out as later than Options.AsOf (nil
	// when none was), per resourceType. Run fills them from Set; RunIndexed,
	// which holds no Set, as it goes.
	Patients, Encounters, Claims int
	Skipped                      map[string]int
	Later                        map[string]int
}

// Run reviews the files and directories in paths.
// It stops early only when ctx is cancelled.
func Run(ctx context.Context, paths []string, opt Options) (*Result, error) {
	files, errs := fhir.ListFiles(paths)
	reader := fhir.NewReader()
	return run(ctx, len(files), errs, func(i int, emit func(*fhir.Resource)) []error {
		return reader.ReadFile(files[i], emit)
	}, opt)
}

// File is one input file held in memory.
type File struct {
	Name string
	Data []byte
}

// RunFiles reviews files already in memory, as Run does files on disk.
func RunFiles(ctx context.Context, files []File, opt Options) (*Result, error) {
	reader := fhir.NewReader()
	return run(ctx, len(files), nil, func(i int, emit func(*fhir.Resource)) []error {
		return reader.ReadBytes(files[i].Name, files[i].Data, emit)
	}, opt)
}

// run reads every file (all of them first, since references cross files),
// Options.Workers at once, and reviews what was read. The resources and
// problems are gathered in file order, as one reader would emit them.
func run(ctx context.Context, n int, errs []error, read func(i int, emit func(*fhir.Resource)) []error, opt Options) (*Result, error) {
	type fileOut struct {
		resources []*fhir.Resource
		errs      []error
	}
	outs := make([]fileOut, n)
	var mu sync.Mutex
	done := 0
	err := parallel(ctx, opt.workers(), n, func(i int) {
		o := &outs[i]
		o.errs = read(i, func(r *fhir.Resource) { o.resources = append(o.resources, r) })
		if opt.Progress != nil {
			mu.Lock()
			done++
			opt.Progress(done, n)
			mu.Unlock()
		}
	})
	if err != nil {
		return nil, err
	}
	total := 0
	for i := range outs {
		total += len(outs[i].resources)
	}
	resources := make([]*fhir.Resource, 0, total)
	for i := range outs {
		resources = append(resources, outs[i].resources...)
		errs = append(errs, outs[i].errs...)
		outs[i] = fileOut{}
	}
	res, err := RunResources(ctx, resources, opt)
	if err != nil {
		return nil, err
	}
	res.Files = n
	res.Errors = append(errs, res.Errors...)
	return res, nil
}

// RunResources reviews resources already read (from files, or fetched from
// a FHIR server): build the facts, check each patient and plan the
// worklist. It is the one pipeline `review` and `serve` share.
//
// Patients are reviewed Options.Workers at once (they are independent once
// the facts are built) and their results gathered in the facts' order.
func RunResources(ctx context.Context, resources []*fhir.Resource, opt Options) (*Result, error) {
	res := &Result{Resources: len(resources)}
	var mu sync.Mutex
	pl := NewPipeline(opt, func(check string, _ error) {
		mu.Lock()
		defer mu.Unlock()
		if res.CustomErrors == nil {
			res.CustomErrors = map[string]int{}
		}
		res.CustomErrors[check]++
	})
	set := pl.Facts(resources)
	res.Set = set
	res.Errors = append(res.Errors, set.Problems...)
	res.Patients, res.Skipped, res.Later = len(set.Patients), set.Skipped, set.Later
	for _, p := range set.Patients {
		res.Encounters += len(p.Encounters)
		res.Claims += len(p.Claims)
	}
	res.UnmatchedPayers = map[string]int{}
	if err := pl.reviewAll(ctx, set.Patients, opt.workers(), res); err != nil {
		return nil, err
	}
	SortWorklist(res.Findings)
	SortWorklist(res.Moot)
	return res, nil
}

// reviewAll reviews patients on workers goroutines, each patient by
// reviewOne, and adds their results to res in the order of patients.
func (pl *Pipeline) reviewAll(ctx context.Context, patients []*facts.Patient, workers int, res *Result) error {
	outs := make([]reviewed, len(patients))
	err := parallel(ctx, workers, len(patients), func(i int) { outs[i] = pl.reviewOne(patients[i]) })
	if err != nil {
		return err
	}
	for i := range outs {
		o := &outs[i]
		res.Findings = append(res.Findings, o.open...)
		res.Closed += o.closed
		res.Moot = append(res.Moot, o.moot...)
		for k, v := range o.unmatched {
			res.UnmatchedPayers[k] += v
		}
	}
	return nil
}

// reviewed is what reviewOne found for one patient.
type reviewed struct {
	open, moot []checks.Finding
	closed     int
	unmatched  map[string]int
}

// reviewOne is the offline review of one patient: the checks, the moot
// findings set apart, and the plan against the patient's Tasks in the input.
func (pl *Pipeline) reviewOne(p *facts.Patient) reviewed {
	var o reviewed
	o.unmatched = map[string]int{}
	pl.engine.UnmatchedPayers(p, o.unmatched)
	raised, moot := pl.Raise(pl.Review(p), p.Tasks)
	o.open, o.closed = pl.opt.Writer.Plan(raised, p.Tasks)
	o.moot = moot
	return o
}

// Pipeline is the way from resources to planned work, step by step, for
// callers that review one patient at a time (the live service): facts,
// findings, and the plan against the Tasks that exist. It is safe for
// concurrent use when its Options' OnCustomError is.
type Pipeline struct {
	opt    Options
	engine *checks.Engine
}

// NewPipeline returns the pipeline of opt. onCustomError, when not nil,
// hears of each custom check that could not be evaluated (unless
// opt.Checks.OnCustomError is set, which wins).
func NewPipeline(opt Options, onCustomError func(check string, err error)) *Pipeline {
	cfg := opt.Checks
	if cfg.OnCustomError == nil {
		cfg.OnCustomError = onCustomError
	}
	if cfg.Closed == nil {
		cfg.Closed = func(p *facts.Patient, f *checks.Finding) bool { return opt.Writer.IsClosed(f, p.Tasks) }
	}
	if cfg.TaskOf == nil {
		cfg.TaskOf = func(p *facts.Patient, f *checks.Finding) *facts.Task { return opt.Writer.TaskOf(f, p.Tasks) }
	}
	return &Pipeline{opt: opt, engine: checks.NewEngine(cfg, opt.Rules)}
}

// Facts builds the per-patient facts of resources as they stood at the
// pipeline's clock (Options.AsOf): what began, was created or was sent
// later is left out, by clinical and billing dates, and a stay in progress
// then is seen in progress (facts.Options.AsOf).
func (pl *Pipeline) Facts(resources []*fhir.Resource) *facts.Set {
	return facts.Build(resources, facts.Options{Location: pl.opt.Location, NoPayer: rules.IsNoPayer, AsOf: pl.opt.AsOf})
}

// Review runs the checks over one patient as of the pipeline's clock.
func (pl *Pipeline) Review(p *facts.Patient) []checks.Finding {
	return pl.engine.Review(p, pl.opt.AsOf)
}

// Patient is one patient reviewed: its findings, the writes that bring its
// Tasks in line with them, and when its findings can next change by time
// alone (zero: never). Moot are the findings past their horizon not raised.
type Patient struct {
	Findings   []checks.Finding
	Moot       []checks.Finding
	Plan       *worklist.Plan
	NextChange time.Time
}

// Raise splits a patient's findings into those raised as work and the moot
// ones left out: a finding past its check's horizon (checks.Finding.Moot)
// is raised only with Options.IncludeMoot or when a Task already exists for
// it, which then stays, marked missed, instead of being cancelled. With
// nothing moot it returns found itself.
func (pl *Pipeline) Raise(found []checks.Finding, tasks []*facts.Task) (raised, moot []checks.Finding) {
	if pl.opt.IncludeMoot {
		return found, nil
	}
	has := pl.opt.Writer.TaskIndex(tasks)
	for i := range found {
		if found[i].Moot && !has(&found[i]) {
			if raised == nil {
				raised = append(make([]checks.Finding, 0, len(found)-1), found[:i]...)
			}
			moot = append(moot, found[i])
			continue
		}
		if raised != nil {
			raised = append(raised, found[i])
		}
	}
	if moot == nil {
		return found, nil
	}
	return raised, moot
}

// ReviewPatient reviews one patient at asOf (the pipeline's clock when
// zero) and reconciles the findings with its Tasks and the
// CommunicationRequests given.
func (pl *Pipeline) ReviewPatient(p *facts.Patient, requests []*worklist.Request, asOf time.Time) (*Patient, error) {
	if asOf.IsZero() {
		asOf = pl.opt.AsOf
	}
	found := pl.engine.Review(p, asOf)
	raised, moot := pl.Raise(found, p.Tasks)
	inScope := func(ref string) bool { return pl.engine.Covers(p, ref) }
	plan, err := pl.opt.Writer.Reconcile(raised, p.Tasks, requests, inScope, asOf)
	if err != nil {
		return nil, err
	}
	return &Patient{Findings: raised, Moot: moot, Plan: plan, NextChange: pl.engine.NextChange(p, found, asOf)}, nil
}

// SortWorklist orders findings as a coordinator reads them: by due time, so
// the overdue come first, then by priority, check and focus so that equal
// deadlines keep a stable order.
func SortWorklist(fs []checks.Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if !a.Due.Equal(b.Due) {
			return a.Due.Before(b.Due)
		}
		if pa, pb := priorityRank(a.Priority), priorityRank(b.Priority); pa != pb {
			return pa < pb
		}
		if a.Check != b.Check {
			return a.Check < b.Check
		}
		return a.FocusRef < b.FocusRef
	})
}

func priorityRank(p checks.Priority) int {
	switch p {
	case checks.Stat:
		return 0
	case checks.ASAP:
		return 1
	case checks.Urgent:
		return 2
	}
	return 3
}
