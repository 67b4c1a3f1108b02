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
	// Progress, when set, is called after each file with the files done and the total.
	Progress func(done, total int)
}

// Result is what a review found.
type Result struct {
	Files    int
	Set      *facts.Set
	Findings []checks.Finding // open findings, by due time (so the overdue come first), see SortWorklist
	Closed   int              // findings already closed by a completed, cancelled or rejected Task
	Errors   []error          // input problems: each names its file and entry
	// CustomErrors counts, per custom check ("custom:<id>"), the evaluations
	// that failed (the check then did not fire).
	CustomErrors map[string]int
	Resources    int
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

// run is the pipeline: read every file (all of them first, since references
// cross files), build the facts, check each patient and plan the worklist.
func run(ctx context.Context, n int, errs []error, read func(i int, emit func(*fhir.Resource)) []error, opt Options) (*Result, error) {
	res := &Result{Files: n, Errors: errs}
	var resources []*fhir.Resource
	emit := func(r *fhir.Resource) { resources = append(resources, r) }
	for i := 0; i < n; i++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		res.Errors = append(res.Errors, read(i, emit)...)
		if opt.Progress != nil {
			opt.Progress(i+1, n)
		}
	}
	res.Resources = len(resources)
	set := facts.Build(resources, facts.Options{Location: opt.Location, NoPayer: rules.IsNoPayer})
	res.Set = set
	res.Errors = append(res.Errors, set.Problems...)

	cfg := opt.Checks
	if cfg.OnCustomError == nil {
		cfg.OnCustomError = func(check string, _ error) {
			if res.CustomErrors == nil {
				res.CustomErrors = map[string]int{}
			}
			res.CustomErrors[check]++
		}
	}
	if cfg.Closed == nil {
		cfg.Closed = func(p *facts.Patient, f *checks.Finding) bool { return opt.Writer.IsClosed(f, p.Tasks) }
	}
	engine := checks.NewEngine(cfg, opt.Rules)
	for _, p := range set.Patients {
		found := engine.Review(p, opt.AsOf)
		open, closed := opt.Writer.Plan(found, p.Tasks)
		res.Findings = append(res.Findings, open...)
		res.Closed += closed
	}
	SortWorklist(res.Findings)
	return res, nil
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
