package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/utilreview/utilreview/fhir"
	"github.com/utilreview/utilreview/service/checks"
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
	// Roles, when not empty, keeps only the findings these roles own (--role).
	Roles map[checks.Owner]bool
	// Wide prints the table's long cells in full (--wide).
	Wide bool
	// Workers is how many files are read and patients reviewed at once
	// (--workers; 0: GOMAXPROCS).
	Workers int
	// BatchMB is how much JSON content (the input's bytes less its
	// whitespace) is reviewed at once (--batch-mb).
	BatchMB int
}

const reviewUsage = `usage: utilreview review [flags] PATH...

Reviews FHIR R4 JSON files: single resources, Bundles (transaction, batch,
collection, searchset, history), NDJSON (one resource per line) and
directories of these. Prints a worklist, overdue first; the account of the
run (files, findings per check, input problems) goes to standard error.
Flags may come before, between or after the paths; "--" ends the flags.

Flags:
`

// reviewHelpTail follows the flags in "review --help": every UTILREVIEW_*
// variable review reads, and the exit statuses. TestReviewHelp keeps it
// complete.
const reviewHelpTail = `
Environment (a flag given on the command line wins over its variable):
  UTILREVIEW_FORMAT                   --format
  UTILREVIEW_AS_OF                    --as-of
  UTILREVIEW_SINCE                    --since
  UTILREVIEW_ROLE                     --role
  UTILREVIEW_RULES_DIR                --rules
  UTILREVIEW_TZ                       --tz
  UTILREVIEW_CANONICAL_BASE           --canonical-base
  UTILREVIEW_IDENTIFIER_SYSTEM        --identifier-system
  UTILREVIEW_STALE_DAYS               --stale-days
  UTILREVIEW_INCLUDE_MOOT             --include-moot
  UTILREVIEW_REVIEWERS                --reviewers
  UTILREVIEW_REVIEWERS_FILE           --reviewers-file
  UTILREVIEW_SENDER                   --sender
  UTILREVIEW_OWNER_UR_TEAM            --owner ur-team=...
  UTILREVIEW_OWNER_PHYSICIAN_ADVISOR  --owner physician-advisor=...
  UTILREVIEW_OWNER_BILLING            --owner billing=...
  UTILREVIEW_OWNER_PATIENT_ACCESS     --owner patient-access=...

Exit status:
  0  the input was reviewed (with or without findings)
  1  some input could not be read (the rest was reviewed and written), or
     the review or its output failed
  2  usage error: an unknown flag, a bad flag value, no PATH
`

const reviewHint = `Run "utilreview review --help" for the flags, the environment and the exit statuses.`

func parseReviewFlags(args []string, getenv func(string) string, stdout, stderr io.Writer) (*reviewConfig, []string, error) {
	fs := flag.NewFlagSet("review", flag.ContinueOnError)
	fs.SetOutput(stderr)
	// The flag package calls Usage for -h and after printing an error;
	// the help goes to standard output and an error gets a pointer to it,
	// both below.
	fs.Usage = func() {}
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
	roles := roleFlag{}
	if v := getenv("UTILREVIEW_ROLE"); v != "" {
		if err := roles.Set(v); err != nil {
			return nil, nil, &exitError{code: 2, msg: "UTILREVIEW_ROLE: " + err.Error()}
		}
		roles.fromEnv = true
	}
	fs.Var(&roles, "role", "ROLE[,ROLE]: show only the findings owned by these roles ("+roleNames()+"); repeatable")
	wide := fs.Bool("wide", false, "with --format table: print names, MRNs and the evidence in full, however long the lines")
	batchMB := fs.Int("batch-mb", int(review.DefaultBatchBytes>>20), "how many MB of JSON content (the resources' bytes less their whitespace) to review at once: the review's memory is about 8 to 10 times this, plus its index, the largest patient's resources and the table's or json's findings")
	workers := fs.Int("workers", 0, "how many files to read and patients to review at once (default GOMAXPROCS, the cores Go may use); the output is the same whatever the number")
	paths, err := parseArgs(fs, args)
	if err != nil {
		return nil, nil, flagsExit(err, fs, reviewUsage, reviewHelpTail, reviewHint, stdout, stderr)
	}
	cfg := &reviewConfig{Format: *format, Out: *out, IncludeCodeSystems: *withCS, Progress: !*noProgress, Roles: roles.set, Wide: *wide, Workers: *workers, BatchMB: *batchMB}
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
	if cfg.BatchMB < 1 {
		return nil, nil, &exitError{code: 2, msg: fmt.Sprintf("--batch-mb %d: want 1 or more", cfg.BatchMB)}
	}
	if cfg.Workers < 0 {
		return nil, nil, &exitError{code: 2, msg: fmt.Sprintf("--workers %d: want 1 or more (0: GOMAXPROCS)", cfg.Workers)}
	}
	if len(paths) == 0 {
		fmt.Fprint(stderr, "usage: utilreview review [flags] PATH...\n"+reviewHint+"\n")
		return nil, nil, &exitError{code: 2, msg: "review: no PATH given"}
	}
	return cfg, paths, nil
}

// roleFlag collects --role values: owner roles, repeated or comma-separated.
// The first --role replaces UTILREVIEW_ROLE rather than adding to it.
type roleFlag struct {
	set     map[checks.Owner]bool
	fromEnv bool
}

func (r *roleFlag) String() string { return "" }

func (r *roleFlag) Set(v string) error {
	if r.set == nil || r.fromEnv {
		r.set, r.fromEnv = map[checks.Owner]bool{}, false
	}
	for _, name := range strings.Split(v, ",") {
		role := checks.Owner(strings.TrimSpace(name))
		if !slices.ContainsFunc(ownerRoles, func(x ownerRole) bool { return x.role == role }) {
			return fmt.Errorf("role %q: want one of %s", name, roleNames())
		}
		r.set[role] = true
	}
	return nil
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

func runReview(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, paths, err := parseReviewFlags(args, getenv, stdout, stderr)
	if err != nil {
		return err
	}
	opt, err := cfg.options()
	if err != nil {
		return &exitError{code: 1, msg: err.Error()}
	}
	opt.AsOf = cfg.AsOf
	opt.Checks.Since = cfg.Since
	opt.Workers = cfg.Workers
	opt.BatchBytes = int64(cfg.BatchMB) << 20
	writer := opt.Writer
	var bar *progressBar
	if cfg.Progress && isTerminal(stderr) {
		bar = &progressBar{w: stderr, min: 20}
		opt.Progress = bar.update
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
	t := newTally(cfg.Roles)
	var stream *streamWriter
	if streams(cfg.Format) {
		stream = newStreamWriter(out, cfg, writer)
		opt.Emit = func(open, moot []checks.Finding) error {
			if err := stream.write(t.add(open, moot)); err != nil {
				return fmt.Errorf("writing output: %w", err)
			}
			return nil
		}
	}
	res, err := review.RunIndexed(ctx, paths, opt)
	bar.finish()
	if err != nil {
		return &exitError{code: 1, msg: err.Error()}
	}
	for _, e := range res.Errors {
		fmt.Fprintln(stderr, "error:", e)
	}
	if stream != nil {
		err = stream.finish()
	} else {
		res.Findings = t.add(res.Findings, res.Moot)
		err = writeOutput(out, cfg, writer, res, t)
	}
	if err != nil {
		return &exitError{code: 1, msg: fmt.Sprintf("writing output: %v", err)}
	}
	if f, ok := out.(*os.File); ok && f != os.Stdout {
		if err := f.Close(); err != nil {
			return &exitError{code: 1, msg: fmt.Sprintf("--out: %v", err)}
		}
	}
	writeSummary(stderr, res, t)
	if len(cfg.Roles) > 0 {
		fmt.Fprintf(stderr, "Shown: the %d finding(s) of role %s; %d of other roles left out (--role).\n",
			t.shown, strings.Join(sortedRoles(cfg.Roles), ", "), t.all-t.shown)
	}
	if len(res.Errors) > 0 {
		return &exitError{code: 1, msg: inputProblems(res)}
	}
	return nil
}

// inputProblems is the closing message of a run with input problems: it
// says the other input was reviewed only when some was.
func inputProblems(res *review.Result) string {
	if res.Resources == 0 {
		return fmt.Sprintf("%d input problem(s); nothing was reviewed", len(res.Errors))
	}
	return fmt.Sprintf("%d input problem(s); the other input was reviewed", len(res.Errors))
}

func sortedRoles(set map[checks.Owner]bool) []string {
	out := make([]string, 0, len(set))
	for r := range set {
		out = append(out, string(r))
	}
	slices.Sort(out)
	return out
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

const rulesUsage = `usage: utilreview rules validate DIR
       utilreview rules publish|list|rollback (see "utilreview rules publish -h")

Checks every rule set file of DIR (*.yaml, *.yml, *.json) and the tables
they name, and reports every problem found, one a line, as
FILE:LINE: FIELD: REASON. Exit status 0 when the rule sets are valid, 1 when
there are problems, 2 on a usage error.
`

func runRulesValidate(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rules validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {}
	dirs, err := parseArgs(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, rulesUsage)
		return nil
	}
	if err != nil || len(dirs) != 1 {
		fmt.Fprint(stderr, rulesUsage)
		return &exitError{code: 2}
	}
	errs := rules.ValidateDir(dirs[0])
	for _, e := range errs {
		fmt.Fprintln(stderr, e)
	}
	if len(errs) > 0 {
		return &exitError{code: 1, msg: fmt.Sprintf("%s: %d problem(s)", dirs[0], len(errs))}
	}
	fmt.Fprintf(stdout, "%s: rule sets valid\n", dirs[0])
	return nil
}
