package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/utilreview/utilreview/fhir"
	"github.com/utilreview/utilreview/service/checks"
	"github.com/utilreview/utilreview/service/review"
	"github.com/utilreview/utilreview/service/rules"
	"github.com/utilreview/utilreview/service/worklist"
)

// reviewConfig is everything `utilreview review` can be told, from flags
// first, then UTILREVIEW_* environment variables, then defaults.
type reviewConfig struct {
	Format             string
	AsOf               time.Time
	Since              time.Time
	RulesDir           string
	TZ                 *time.Location
	Out                string
	Base               string
	IdentifierSystem   string
	StaleDays          int
	IncludeCodeSystems bool
	Progress           bool
	// Owners are the Task.owner references per role; roles not set keep
	// worklist.DefaultOwners.
	Owners map[checks.Owner]fhir.Reference
	// Sender is CommunicationRequest.sender; zero keeps the default.
	Sender fhir.Reference
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
	rulesDir := fs.String("rules", getenv("UTILREVIEW_RULES_DIR"), "directory of payer rule sets overriding the embedded ones")
	tz := fs.String("tz", envOr(getenv, "UTILREVIEW_TZ", "America/New_York"), "facility time zone (IANA name): it decides what a midnight is")
	out := fs.String("out", "", "write the output to this file instead of standard output")
	base := fs.String("canonical-base", envOr(getenv, "UTILREVIEW_CANONICAL_BASE", worklist.DefaultBase), "canonical base URL of utilreview's CodeSystems and identifiers")
	idSystem := fs.String("identifier-system", getenv("UTILREVIEW_IDENTIFIER_SYSTEM"), "system of Task and CommunicationRequest identifiers (default <canonical-base>/identifier/finding)")
	staleDefault := checks.DefaultStaleAfterDays
	if v := getenv("UTILREVIEW_STALE_DAYS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, nil, &exitError{code: 2, msg: fmt.Sprintf("UTILREVIEW_STALE_DAYS %q: want a whole number of days, 1 or more", v)}
		}
		staleDefault = n
	}
	stale := fs.Int("stale-days", staleDefault, "an encounter in progress for more days than this is reported as stale")
	withCS := fs.Bool("include-codesystems", false, "with --format fhir: also write utilreview's CodeSystems into the Bundle")
	noProgress := fs.Bool("no-progress", false, "never show the progress bar")
	ownerVals := ownerFlag{}
	fs.Var(ownerVals, "owner", "ROLE=REFERENCE[|DISPLAY]: who owns the Tasks of a role ("+roleNames()+"), e.g. ur-team=PractitionerRole/ur-nurses|UR nurses (repeatable)")
	sender := fs.String("sender", getenv("UTILREVIEW_SENDER"), "REFERENCE[|DISPLAY]: CommunicationRequest.sender, e.g. Organization/ur-dept|Utilization Review")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, nil, &exitError{code: 0}
		}
		return nil, nil, &exitError{code: 2}
	}
	var err error
	if *stale < 1 {
		return nil, nil, &exitError{code: 2, msg: fmt.Sprintf("--stale-days %d: want 1 or more", *stale)}
	}
	cfg := &reviewConfig{
		Format: *format, RulesDir: *rulesDir, Out: *out, Base: strings.TrimRight(*base, "/"),
		IdentifierSystem: *idSystem, StaleDays: *stale, IncludeCodeSystems: *withCS, Progress: !*noProgress,
	}
	if cfg.Owners, err = resolveOwners(ownerVals, getenv); err != nil {
		return nil, nil, &exitError{code: 2, msg: err.Error()}
	}
	if *sender != "" {
		if cfg.Sender, err = parseReference(*sender, senderTypes); err != nil {
			return nil, nil, &exitError{code: 2, msg: fmt.Sprintf("--sender: %v", err)}
		}
	}
	switch cfg.Format {
	case "table", "json", "ndjson", "fhir":
	default:
		return nil, nil, &exitError{code: 2, msg: fmt.Sprintf("--format %q: want table, json, ndjson or fhir", cfg.Format)}
	}
	loc, err := time.LoadLocation(*tz)
	if err != nil {
		return nil, nil, &exitError{code: 2, msg: fmt.Sprintf("--tz %q: not an IANA time zone name", *tz)}
	}
	cfg.TZ = loc
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
	reg, err := loadRules(cfg.RulesDir)
	if err != nil {
		return &exitError{code: 1, msg: err.Error()}
	}
	writer := worklist.New(worklist.Config{
		Base:             cfg.Base,
		IdentifierSystem: cfg.IdentifierSystem,
		Location:         cfg.TZ,
		CustomChecks:     worklist.CustomConcepts(reg.RuleSets()),
		Owners:           cfg.Owners,
		Sender:           cfg.Sender,
	})
	opt := review.Options{
		AsOf:     cfg.AsOf,
		Location: cfg.TZ,
		Rules:    reg,
		Checks: checks.Config{
			Location:         cfg.TZ,
			StaleAfterDays:   cfg.StaleDays,
			Since:            cfg.Since,
			IdentifierSystem: writer.IdentifierSystem(),
		},
		Writer: writer,
	}
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
