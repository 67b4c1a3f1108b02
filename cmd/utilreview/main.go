// Command utilreview runs utilization review over FHIR R4.
//
//	utilreview review [flags] PATH...   review FHIR files offline and print a worklist
//	utilreview serve [flags]            the live service: FHIR notifications in, Tasks out
//	utilreview subscriptions remove     take the instance's Subscriptions off the FHIR server
//	utilreview rules validate DIR       validate a directory of payer rule sets
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
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
  utilreview serve [flags]            the live service: FHIR notifications in, Tasks and
                                      CommunicationRequests written back to the FHIR server
  utilreview subscriptions remove     take this instance's Subscriptions off the FHIR server
  utilreview rules validate DIR       validate payer rule sets and their tables
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
	case "serve":
		return runServe(ctx, args[1:], getenv, stderr)
	case "subscriptions":
		return runSubscriptions(ctx, args[1:], getenv, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "utilreview", version)
		return nil
	case "rules":
		if len(args) >= 2 && args[1] == "validate" {
			return runRulesValidate(args[2:], stdout, stderr)
		}
		fmt.Fprint(stderr, "usage: utilreview rules validate DIR\n")
		return &exitError{code: 2}
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprintf(stderr, "utilreview: unknown command %q\n\n%s", args[0], usage)
		return &exitError{code: 2}
	}
}
