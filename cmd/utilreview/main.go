// Command utilreview runs utilization review over FHIR R4.
//
//	utilreview review [flags] PATH...   review FHIR files offline and print a worklist
//	utilreview report [flags] PATH...   the UR committee report over FHIR files
//	utilreview serve [flags]            the live service: FHIR notifications in, Tasks out
//	utilreview subscriptions remove     take the instance's Subscriptions off the FHIR server
//	utilreview rules validate DIR       validate a directory of payer rule sets
//	utilreview rules publish DIR        publish it to Redis (every replica switches); list, rollback
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			if ee.msg != "" {
				fmt.Fprintln(os.Stderr, "utilreview:", ee.msg)
			}
			os.Exit(ee.code)
		}
		fmt.Fprintln(os.Stderr, "utilreview:", err)
		os.Exit(1)
	}
}

// exitError ends the program with a status after its output has been written.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

const usage = `utilreview: utilization review over FHIR R4

Usage:
  utilreview review [flags] PATH...   review FHIR files (resources, Bundles, NDJSON, directories)
  utilreview report --from DATE --to DATE [flags] PATH...
                                      the UR committee report (html, json or csv)
  utilreview serve [flags]            the live service: FHIR notifications in, Tasks and
                                      CommunicationRequests written back to the FHIR server
  utilreview subscriptions remove     take this instance's Subscriptions off the FHIR server
  utilreview rules validate DIR       validate payer rule sets and their tables
  utilreview rules publish DIR        publish them to Redis: every serve replica switches
  utilreview rules list               the published versions, the current one first
  utilreview rules rollback VERSION   make an earlier published version current
  utilreview version                  the version and commit this binary was built from
  utilreview help                     this text

Run "utilreview review -h" and "utilreview serve -h" for their flags.
`

// run is the whole program: main only wires the process to it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return &exitError{code: 2}
	}
	switch args[0] {
	case "review":
		return runReview(ctx, args[1:], getenv, stdout, stderr)
	case "report":
		return runReport(ctx, args[1:], getenv, stdout, stderr)
	case "serve":
		return runServe(ctx, args[1:], getenv, stdout, stderr)
	case "subscriptions":
		return runSubscriptions(ctx, args[1:], getenv, stdout, stderr)
	case "version":
		fmt.Fprintf(stdout, "utilreview %s (commit %s)\n", version, commit)
		return nil
	case "rules":
		if len(args) >= 2 && args[1] == "validate" {
			return runRulesValidate(args[2:], stdout, stderr)
		}
		if len(args) >= 2 && (args[1] == "publish" || args[1] == "list" || args[1] == "rollback") {
			return runRulesStore(ctx, args[1], args[2:], getenv, stdout, stderr)
		}
		if len(args) >= 2 && (args[1] == "-h" || args[1] == "--help" || args[1] == "help") {
			fmt.Fprint(stdout, rulesUsage)
			return nil
		}
		fmt.Fprint(stderr, rulesUsage)
		return &exitError{code: 2}
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprintf(stderr, "utilreview: unknown command %q\n\n%s", args[0], usage)
		return &exitError{code: 2}
	}
}

// parseArgs parses a subcommand's arguments with flags anywhere among the
// positional ones ("review /data --format fhir --out x.json"), as the flag
// package alone does not: it stops at the first non-flag. A lone "--" ends
// the flags (what follows is positional even if it starts with "-"), and a
// lone "-" is positional. It returns the positional arguments in order;
// errors (an unknown flag, a missing value, -h) are the flag package's.
// Every subcommand parses through it, so they all read flags alike.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var flags, positional []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			positional = append(positional, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			positional = append(positional, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue // --name=value
		}
		f := fs.Lookup(name)
		if f == nil || isBoolFlag(f) {
			continue // an unknown flag is reported by Parse; a bool takes no value
		}
		if i+1 < len(args) {
			i++
			flags = append(flags, args[i]) // the value, even if it starts with "-"
		}
	}
	if err := fs.Parse(flags); err != nil {
		return nil, err
	}
	return positional, nil
}

func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// flagsExit answers an error of fs.Parse: --help prints usage, the flags
// and tail on stdout (exit 0, so that `| less` works); a wrong flag (which
// fs has already named on stderr) prints hint on stderr (exit 2).
func flagsExit(err error, fs *flag.FlagSet, usage, tail, hint string, stdout, stderr io.Writer) *exitError {
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, usage)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		fmt.Fprint(stdout, tail)
		return &exitError{code: 0}
	}
	fmt.Fprintln(stderr, hint)
	return &exitError{code: 2}
}
