package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/utilreview/utilreview/fhir"
	"github.com/utilreview/utilreview/service/report"
)

const reportUsage = `usage: utilreview report --from DATE --to DATE [flags] PATH...
       utilreview report --from DATE --to DATE --fhir-url URL [flags]

Computes the UR committee report for the period (both days included, in the
facility time zone) from FHIR R4 files, Bundles, NDJSON (a Bulk Data export)
and directories of these, read as "utilreview review" reads them: review
timeliness, length of stay against the MS-DRG norm, observation,
two-midnight, readmissions, the payer side, avoidable days and data quality.
The measures are defined in the README ("UR committee report").
Flags may come before, between or after the paths; "--" ends the flags.

Flags:
`

const reportHelpTail = `
Exit status:
  0  the report was written
  1  some input could not be read (the report over the rest was written), or
     the report or its output failed
  2  usage error
`

type reportConfig struct {
	engineConfig
	From, To  time.Time
	Format    string
	Out       string
	FHIRURL   string
	TokenFile string
}

func parseReportFlags(args []string, getenv func(string) string, stdout, stderr io.Writer) (*reportConfig, []string, error) {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {}
	from := fs.String("from", "", "first day of the period, YYYY-MM-DD (required)")
	to := fs.String("to", "", "last day of the period, YYYY-MM-DD (required)")
	format := fs.String("format", "html", "output: html (one self-contained page) | json | csv")
	out := fs.String("out", "", "write the report to this file instead of standard output")
	fhirURL := fs.String("fhir-url", "", "read the period from this FHIR server instead of files (searches by date and _lastUpdated, paged)")
	tokenFile := fs.String("fhir-token-file", getenv("UTILREVIEW_FHIR_TOKEN_FILE"), "with --fhir-url: file holding a bearer token for the FHIR server")
	engine, err := addEngineFlags(fs, getenv)
	if err != nil {
		return nil, nil, &exitError{code: 2, msg: err.Error()}
	}
	paths, err := parseArgs(fs, args)
	if err != nil {
		return nil, nil, flagsExit(err, fs, reportUsage, reportHelpTail, `Run "utilreview report --help" for the flags.`, stdout, stderr)
	}
	cfg := &reportConfig{Format: *format, Out: *out, FHIRURL: *fhirURL, TokenFile: *tokenFile}
	if cfg.engineConfig, err = engine.resolve(); err != nil {
		return nil, nil, &exitError{code: 2, msg: err.Error()}
	}
	switch cfg.Format {
	case "html", "json", "csv":
	default:
		return nil, nil, &exitError{code: 2, msg: fmt.Sprintf("--format %q: want html, json or csv", cfg.Format)}
	}
	for _, d := range []struct {
		name string
		v    string
		t    *time.Time
	}{{"--from", *from, &cfg.From}, {"--to", *to, &cfg.To}} {
		if d.v == "" {
			return nil, nil, &exitError{code: 2, msg: "report: " + d.name + " DATE is required"}
		}
		t, p, err := fhir.ParseDateTime(d.v, cfg.TZ)
		if err != nil || p != fhir.Day {
			return nil, nil, &exitError{code: 2, msg: fmt.Sprintf("%s %q: want a date YYYY-MM-DD", d.name, d.v)}
		}
		*d.t = t
	}
	if cfg.To.Before(cfg.From) {
		return nil, nil, &exitError{code: 2, msg: "report: --to is before --from"}
	}
	switch {
	case len(paths) == 0 && cfg.FHIRURL == "":
		return nil, nil, &exitError{code: 2, msg: "report: no PATH given (or --fhir-url)"}
	case len(paths) > 0 && cfg.FHIRURL != "":
		return nil, nil, &exitError{code: 2, msg: "report: give PATHs or --fhir-url, not both"}
	}
	return cfg, paths, nil
}

func runReport(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, paths, err := parseReportFlags(args, getenv, stdout, stderr)
	if err != nil {
		return err
	}
	opt, err := cfg.options()
	if err != nil {
		return &exitError{code: 1, msg: err.Error()}
	}
	ropt := report.Options{From: cfg.From, To: cfg.To, Review: opt}
	var rep *report.Report
	var problems []error
	if cfg.FHIRURL != "" {
		cc := fhir.ClientConfig{BaseURL: cfg.FHIRURL, UserAgent: "utilreview/" + version}
		if cfg.TokenFile != "" {
			cc.Auth = fhir.BearerTokenFile(cfg.TokenFile)
		}
		client, err := fhir.NewClient(cc)
		if err != nil {
			return &exitError{code: 2, msg: "--fhir-url: " + err.Error()}
		}
		resources, err := report.FetchServer(ctx, client, report.ServerOptions{From: cfg.From, To: cfg.To, Location: cfg.TZ})
		if err != nil {
			return &exitError{code: 1, msg: err.Error()}
		}
		rep, problems, err = report.Compute(ctx, resources, ropt)
	} else {
		rep, problems, err = report.Run(ctx, paths, ropt)
	}
	if err != nil {
		return &exitError{code: 1, msg: err.Error()}
	}
	for _, e := range problems {
		fmt.Fprintln(stderr, "error:", e)
	}
	out := stdout
	var file *os.File
	if cfg.Out != "" {
		if file, err = os.Create(cfg.Out); err != nil {
			return &exitError{code: 1, msg: fmt.Sprintf("--out: %v", err)}
		}
		defer file.Close()
		out = file
	}
	switch cfg.Format {
	case "json":
		err = report.WriteJSON(out, rep)
	case "csv":
		err = report.WriteCSV(out, rep)
	default:
		err = report.WriteHTML(out, rep)
	}
	if err != nil {
		return &exitError{code: 1, msg: fmt.Sprintf("writing the report: %v", err)}
	}
	if file != nil {
		if err := file.Close(); err != nil {
			return &exitError{code: 1, msg: fmt.Sprintf("--out: %v", err)}
		}
	}
	if len(problems) > 0 {
		return &exitError{code: 1, msg: fmt.Sprintf("%d input problem(s); the report covers the other input", len(problems))}
	}
	return nil
}
