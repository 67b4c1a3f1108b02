package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/utilreview/utilreview/fhir"
	"github.com/utilreview/utilreview/service/checks"
	"github.com/utilreview/utilreview/service/determination"
	"github.com/utilreview/utilreview/service/review"
	"github.com/utilreview/utilreview/service/rules"
	"github.com/utilreview/utilreview/service/worklist"
)

// engineConfig is what `review` and `serve` share: the time zone, the rules,
// how findings are identified and written. Both read it from the same flags
// and UTILREVIEW_* variables (flags win), so the live service and the
// offline command are configured alike and never disagree.
type engineConfig struct {
	TZ               *time.Location
	RulesDir         string
	Base             string
	IdentifierSystem string
	StaleDays        int
	// Owners are the Task.owner references per role; roles not set keep
	// worklist.DefaultOwners.
	Owners map[checks.Owner]fhir.Reference
	// Sender is CommunicationRequest.sender; zero keeps the default.
	Sender fhir.Reference
	// IncludeMoot raises findings past their check's actionable horizon too
	// (business status missed); see review.Options.IncludeMoot.
	IncludeMoot bool
	// Reviewers are the clinical reviewers whose determinations count
	// (service/determination); empty: everyone's.
	Reviewers *determination.Reviewers
}

// engineFlags are the engine flags registered on a FlagSet, resolved after
// parsing.
type engineFlags struct {
	tz, rulesDir, base, idSystem, sender *string
	reviewers, reviewersFile             *string
	stale                                *int
	includeMoot                          *bool
	owners                               ownerFlag
	getenv                               func(string) string
}

// addEngineFlags registers the engine flags, with their environment defaults.
func addEngineFlags(fs *flag.FlagSet, getenv func(string) string) (*engineFlags, error) {
	e := &engineFlags{owners: ownerFlag{}, getenv: getenv}
	e.rulesDir = fs.String("rules", getenv("UTILREVIEW_RULES_DIR"), "directory of payer rule sets overriding the embedded ones")
	e.tz = fs.String("tz", envOr(getenv, "UTILREVIEW_TZ", "America/New_York"), "facility time zone (IANA name): it decides what a midnight is")
	e.base = fs.String("canonical-base", envOr(getenv, "UTILREVIEW_CANONICAL_BASE", worklist.DefaultBase), "canonical base URL of utilreview's CodeSystems and identifiers")
	e.idSystem = fs.String("identifier-system", getenv("UTILREVIEW_IDENTIFIER_SYSTEM"), "system of Task and CommunicationRequest identifiers (default <canonical-base>/identifier/finding)")
	staleDefault := checks.DefaultStaleAfterDays
	if v := getenv("UTILREVIEW_STALE_DAYS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("UTILREVIEW_STALE_DAYS %q: want a whole number of days, 1 or more", v)
		}
		staleDefault = n
	}
	e.stale = fs.Int("stale-days", staleDefault, "an encounter in progress for more days than this is reported as stale")
	fs.Var(e.owners, "owner", "ROLE=REFERENCE[|DISPLAY]: who owns the Tasks of a role ("+roleNames()+"), e.g. ur-team=PractitionerRole/ur-nurses|UR nurses (repeatable)")
	e.sender = fs.String("sender", getenv("UTILREVIEW_SENDER"), "REFERENCE[|DISPLAY]: CommunicationRequest.sender, e.g. Organization/ur-dept|Utilization Review")
	includeMoot := false
	if v := getenv("UTILREVIEW_INCLUDE_MOOT"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("UTILREVIEW_INCLUDE_MOOT %q: want true or false", v)
		}
		includeMoot = b
	}
	e.reviewers = fs.String("reviewers", getenv("UTILREVIEW_REVIEWERS"), "the clinical reviewers whose determinations are recorded, comma-separated: Practitioner/id, PractitionerRole/id, role:code or role:system|code; none: everyone's")
	e.reviewersFile = fs.String("reviewers-file", getenv("UTILREVIEW_REVIEWERS_FILE"), "file of reviewers, one a line ('#' comments), added to --reviewers")
	e.includeMoot = fs.Bool("include-moot", includeMoot, "also raise findings past their check's actionable horizon (moot: business status missed); otherwise they are only counted as missed")
	return e, nil
}

// resolve checks the parsed values.
func (e *engineFlags) resolve() (engineConfig, error) {
	cfg := engineConfig{
		RulesDir: *e.rulesDir, Base: strings.TrimRight(*e.base, "/"), IdentifierSystem: *e.idSystem, StaleDays: *e.stale,
		IncludeMoot: *e.includeMoot,
	}
	if cfg.StaleDays < 1 {
		return cfg, fmt.Errorf("--stale-days %d: want 1 or more", cfg.StaleDays)
	}
	var err error
	if cfg.Owners, err = resolveOwners(e.owners, e.getenv); err != nil {
		return cfg, err
	}
	if *e.sender != "" {
		if cfg.Sender, err = parseReference(*e.sender, senderTypes); err != nil {
			return cfg, fmt.Errorf("--sender: %v", err)
		}
	}
	entries := determination.SplitReviewers(*e.reviewers)
	if *e.reviewersFile != "" {
		more, err := determination.ReadReviewersFile(*e.reviewersFile)
		if err != nil {
			return cfg, fmt.Errorf("--reviewers-file: cannot read %s", *e.reviewersFile)
		}
		entries = append(entries, more...)
	}
	if cfg.Reviewers, err = determination.ParseReviewers(entries); err != nil {
		return cfg, fmt.Errorf("--reviewers: %v", err)
	}
	if cfg.TZ, err = time.LoadLocation(*e.tz); err != nil {
		return cfg, fmt.Errorf("--tz %q: not an IANA time zone name", *e.tz)
	}
	return cfg, nil
}

// options loads the rules and builds the writer and the pipeline's options.
func (c engineConfig) options() (review.Options, error) {
	reg, err := loadRules(c.RulesDir)
	if err != nil {
		return review.Options{}, err
	}
	return c.optionsFor(reg), nil
}

// optionsFor builds the writer and the pipeline's options for a loaded
// rules version (serve builds them again for each version it switches to:
// the writer knows the version's custom checks).
func (c engineConfig) optionsFor(reg *rules.Registry) review.Options {
	writer := worklist.New(worklist.Config{
		Base:             c.Base,
		IdentifierSystem: c.IdentifierSystem,
		Location:         c.TZ,
		CustomChecks:     worklist.CustomConcepts(reg.RuleSets()),
		Owners:           c.Owners,
		Sender:           c.Sender,
	})
	opt := review.Options{
		Location: c.TZ,
		Rules:    reg,
		Checks: checks.Config{
			Location:         c.TZ,
			StaleAfterDays:   c.StaleDays,
			IdentifierSystem: writer.IdentifierSystem(),
		},
		Writer:      writer,
		IncludeMoot: c.IncludeMoot,
	}
	if !c.Reviewers.Empty() {
		opt.Checks.Reviewer = c.Reviewers.Determines
	}
	return opt
}

// literalRefs are the configured owner and sender references that name a
// resource ("Type/id" or an absolute URL), which the FHIR server must hold.
func (c engineConfig) literalRefs() []string {
	var out []string
	for _, r := range ownerRoles {
		if ref, ok := c.Owners[r.role]; ok && ref.Reference != "" {
			out = append(out, ref.Reference)
		}
	}
	if c.Sender.Reference != "" {
		out = append(out, c.Sender.Reference)
	}
	return out
}
