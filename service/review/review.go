// Package review runs the whole offline pipeline over FHIR files: read,
// resolve, build facts, check, and plan the worklist. The `utilreview
// review` command and the benchmarks use it; the live service takes the same
// way from facts on, with resources fetched from the FHIR server.
package review

import (
	"context"
	"sort"
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
	// Progress, when set, is called after each file with the files done and the total.
	Progress func(done, total int)
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

// run reads every file (all of them first, since references cross files)
// and reviews what was read.
func run(ctx context.Context, n int, errs []error, read func(i int, emit func(*fhir.Resource)) []error, opt Options) (*Result, error) {
	var resources []*fhir.Resource
	emit := func(r *fhir.Resource) { resources = append(resources, r) }
	for i := 0; i < n; i++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		errs = append(errs, read(i, emit)...)
		if opt.Progress != nil {
			opt.Progress(i+1, n)
		}
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
func RunResources(ctx context.Context, resources []*fhir.Resource, opt Options) (*Result, error) {
	res := &Result{Resources: len(resources)}
	pl := NewPipeline(opt, func(check string, _ error) {
		if res.CustomErrors == nil {
			res.CustomErrors = map[string]int{}
		}
		res.CustomErrors[check]++
	})
	set := pl.Facts(resources)
	res.Set = set
	res.Errors = append(res.Errors, set.Problems...)
	for _, p := range set.Patients {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if res.UnmatchedPayers == nil {
			res.UnmatchedPayers = map[string]int{}
		}
		pl.engine.UnmatchedPayers(p, res.UnmatchedPayers)
		raised, moot := pl.Raise(pl.Review(p), p.Tasks)
		open, closed := opt.Writer.Plan(raised, p.Tasks)
		res.Findings = append(res.Findings, open...)
		res.Closed += closed
		res.Moot = append(res.Moot, moot...)
	}
	SortWorklist(res.Findings)
	SortWorklist(res.Moot)
	return res, nil
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
