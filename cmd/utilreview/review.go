package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/utilreview/utilreview/fhir"
	"github.com/utilreview/utilreview/service/review"
	"github.com/utilreview/utilreview/service/rules"
)

// reviewConfig is everything `utilreview review` can be told, from flags
// first, then UTILREVIEW_* environment variables, then defaults.
type reviewConfig struct {
	engineConfig
	Format             string
	AsOf               time.Time
	Since              time.Time
	Out                string
	IncludeCodeSystems bool
	Progress           bool
}

const reviewUsage = `usage: utilreview review [flags] PATH...

Reviews FHIR R4 JSON files: single resources, Bundles (transaction, batch,
collection, searchset, history), NDJSON (one resource per line) and
directories of these. Prints a worklist, overdue first.

Flags:
`

func parseReviewFlags(args []string, getenv func(string) string, stderr io.Writer) (*reviewConfig, []string, error) {
	fs := flag.NewFlagSet("review", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, reviewUsage)
		fs.PrintDefaults()
	}
	format := fs.String("format", envOr(getenv, "UTILREVIEW_FORMAT", "table"), "output: table | json | ndjson | fhir (a transaction Bundle of Tasks and CommunicationRequests)")
	asOf := fs.String("as-of", getenv("UTILREVIEW_AS_OF"), "the review's clock, RFC 3339 or YYYY-MM-DD (default now)")
	since := fs.String("since", getenv("UTILREVIEW_SINCE"), "review only stays and claims that ended on or after this date (older ones still count as history)")
	engine, err := addEngineFlags(fs, getenv)
	if err != nil {
		return nil, nil, &exitError{code: 2, msg: err.Error()}
	}
	out := fs.String("out", "", "write the output to this file instead of standard output")
	withCS := fs.Bool("include-codesystems", false, "with --format fhir: also write utilreview's CodeSystems into the Bundle")
	noProgress := fs.Bool("no-progress", false, "never show the progress bar")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, nil, &exitError{code: 0}
		}
		return nil, nil, &exitError{code: 2}
	}
	cfg := &reviewConfig{Format: *format, Out: *out, IncludeCodeSystems: *withCS, Progress: !*noProgress}
	if cfg.engineConfig, err = engine.resolve(); err != nil {
		return nil, nil, &exitError{code: 2, msg: err.Error()}
	}
	loc := cfg.TZ
	switch cfg.Format {
	case "table", "json", "ndjson", "fhir":
	default:
		return nil, nil, &exitError{code: 2, msg: fmt.Sprintf("--format %q: want table, json, ndjson or fhir", cfg.Format)}
	}
	cfg.AsOf = time.Now().In(loc)
	if *asOf != "" {
		t, _, err := fhir.ParseDateTime(*asOf, loc)
		if err != nil {
			return nil, nil, &exitError{code: 2, msg: fmt.Sprintf("--as-of %q: %v", *asOf, err)}
		}
		cfg.AsOf = t
	}
	if *since != "" {
		t, _, err := fhir.ParseDateTime(*since, loc)
		if err != nil {
			return nil, nil, &exitError{code: 2, msg: fmt.Sprintf("--since %q: %v", *since, err)}
		}
		cfg.Since = t
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return nil, nil, &exitError{code: 2, msg: "review: no PATH given"}
	}
	return cfg, fs.Args(), nil
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

func runReview(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, paths, err := parseReviewFlags(args, getenv, stderr)
	if err != nil {
		return err
	}
	opt, err := cfg.options()
	if err != nil {
		return &exitError{code: 1, msg: err.Error()}
	}
	opt.AsOf = cfg.AsOf
	opt.Checks.Since = cfg.Since
	writer := opt.Writer
	var bar *progressBar
	if cfg.Progress && isTerminal(stderr) {
		bar = &progressBar{w: stderr, min: 20}
		opt.Progress = bar.update
	}
	res, err := review.Run(ctx, paths, opt)
	bar.finish()
	if err != nil {
		return &exitError{code: 1, msg: err.Error()}
	}
	for _, e := range res.Errors {
		fmt.Fprintln(stderr, "error:", e)
	}

	out := stdout
	if cfg.Out != "" {
		f, err := os.Create(cfg.Out)
		if err != nil {
			return &exitError{code: 1, msg: fmt.Sprintf("--out: %v", err)}
		}
		defer f.Close()
		out = f
	}
	if err := writeOutput(out, cfg, writer, res); err != nil {
		return &exitError{code: 1, msg: fmt.Sprintf("writing output: %v", err)}
	}
	if f, ok := out.(*os.File); ok && f != os.Stdout {
		if err := f.Close(); err != nil {
			return &exitError{code: 1, msg: fmt.Sprintf("--out: %v", err)}
		}
	}
	writeSummary(stderr, res)
	if len(res.Errors) > 0 {
		return &exitError{code: 1, msg: fmt.Sprintf("%d input problem(s); the other input was reviewed", len(res.Errors))}
	}
	return nil
}

func loadRules(dir string) (*rules.Registry, error) {
	if dir == "" {
		return rules.LoadDefaults()
	}
	reg, err := rules.LoadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("--rules: %w", err)
	}
	return reg, nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progressBar draws one line on a terminal; it stays silent for small inputs.
type progressBar struct {
	w     io.Writer
	min   int
	drawn bool
}

func (p *progressBar) update(done, total int) {
	if total < p.min {
		return
	}
	const width = 30
	n := done * width / total
	fmt.Fprintf(p.w, "\r[%s%s] %d/%d files", strings.Repeat("=", n), strings.Repeat(" ", width-n), done, total)
	p.drawn = true
}

func (p *progressBar) finish() {
	if p != nil && p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

func runRulesValidate(args []string, stdout, stderr io.Writer) error {
	if len(args) != 1 {
		fmt.Fprint(stderr, "usage: utilreview rules validate DIR\n")
		return &exitError{code: 2}
	}
	errs := rules.ValidateDir(args[0])
	for _, e := range errs {
		fmt.Fprintln(stderr, e)
	}
	if len(errs) > 0 {
		return &exitError{code: 1, msg: fmt.Sprintf("%s: %d problem(s)", args[0], len(errs))}
	}
	fmt.Fprintf(stdout, "%s: rule sets valid\n", args[0])
	return nil
}
