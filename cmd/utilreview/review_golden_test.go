package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var updateReviewGolden = flag.Bool("update", false, "rewrite testdata/review-golden")

// goldenInputs are every FHIR test input of the repository that `review`
// reads: each is reviewed on its own, as a coordinator would point review
// at it.
var goldenInputs = []string{
	"testdata/examples",
	"testdata/fhir-server",
	"testdata/shared/data/synthea",
	"testdata/shared/data/fhir-r4-examples",
	"testdata/shared/data/davinci",
	"e2e/testdata",
	"handlers/testdata",
	"service/review/testdata/davinci-derived",
	"service/facts/testdata",
	"service/checks/testdata",
	"fhir/testdata/read",
	"cmd/utilreview/testdata/bad-input", // invalid JSON, bad entries and lines: the input problems' messages
}

// goldenRuns are the configurations each input is reviewed with: the
// README's clock, and Synthea's (just after its newest encounter) with the
// moot findings raised so that the history's findings are in the output too.
var goldenRuns = []struct {
	name string
	args []string
}{
	{"2026", []string{"--as-of", "2026-11-20T12:00:00-05:00"}},
	{"2021-moot", []string{"--as-of", "2021-04-01T12:00:00-04:00", "--include-moot"}},
}

var goldenFormats = [][]string{
	{"--format", "table", "--wide"},
	{"--format", "json"},
	{"--format", "ndjson"},
	{"--format", "fhir"},
}

// reviewAll runs `review` over dir in every golden configuration and format
// and returns the concatenated output: each run's standard output, standard
// error (the account of the run: input problems and the summary) and exit
// status.
func reviewAll(t *testing.T, dir string, extra ...string) []byte {
	t.Helper()
	var all bytes.Buffer
	for _, r := range goldenRuns {
		for _, f := range goldenFormats {
			args := append([]string{"review", "--no-progress"}, r.args...)
			args = append(args, f...)
			args = append(args, extra...)
			args = append(args, filepath.Join("..", "..", filepath.FromSlash(dir)))
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), args, func(string) string { return "" }, &stdout, &stderr)
			status := "exit 0"
			if err != nil {
				status = "error " + err.Error()
				if ee, ok := err.(*exitError); ok {
					status = fmt.Sprintf("exit %d: %s", ee.code, ee.msg)
				}
			}
			fmt.Fprintf(&all, "=== %s %s (%s)\n--- stdout\n", r.name, strings.Join(f, " "), status)
			all.Write(stdout.Bytes())
			all.WriteString("--- stderr\n")
			all.Write(stderr.Bytes())
		}
	}
	return all.Bytes()
}

// TestReviewGolden pins `review`'s whole output (table, json, NDJSON and the
// FHIR Bundle, with the input problems and the summary) over every test
// input of the repository, byte for byte: issue 12 ("the same results")
// changes how the input is read and reviewed, never what comes out. A
// difference here is a change in behaviour: look at it; rewrite with
// `go test ./cmd/utilreview -run TestReviewGolden -update` only when it is
// meant.
func TestReviewGolden(t *testing.T) {
	for _, dir := range goldenInputs {
		t.Run(strings.ReplaceAll(dir, "/", "_"), func(t *testing.T) {
			got := reviewAll(t, dir)
			golden := filepath.Join("testdata", "review-golden", strings.ReplaceAll(dir, "/", "_")+".txt")
			if *updateReviewGolden {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if g, w := canonicalStreams(t, got), canonicalStreams(t, want); !bytes.Equal(g, w) {
				t.Errorf("review output of %s differs from %s:\n%s", dir, golden, firstDiff(g, w))
			}
			// Issue 12: byte-identical whatever the number of workers, and
			// with batches of 1 MB (Synthea's 14 MB in several batches).
			for _, extra := range [][]string{{"--workers", "1"}, {"--workers", "4"}, {"--workers", "4", "--batch-mb", "1"}} {
				if again := reviewAll(t, dir, extra...); !bytes.Equal(again, got) {
					t.Errorf("review %s of %s differs from the default run:\n%s", strings.Join(extra, " "), dir, firstDiff(again, got))
				}
			}
		})
	}
}

// canonicalStreams puts the streamed outputs of reviewAll's runs in one
// order: the NDJSON lines sorted, the FHIR Bundle's entries sorted by
// fullUrl. Issue 12 made these two formats stream (written patient by
// patient as the review goes, in input order) where they were sorted by
// due time: the golden files, written before, hold the sorted order, and
// what is pinned is that the same lines and entries come out. The table
// and json, still sorted, and every standard error stay byte for byte.
func canonicalStreams(t *testing.T, all []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	for _, run := range strings.SplitAfter(string(all), "\n=== ") {
		header, rest, _ := strings.Cut(run, "\n")
		stdout, stderr, ok := strings.Cut(rest, "--- stderr\n")
		if !ok {
			t.Fatalf("run %q: no standard error section", header)
		}
		body := strings.TrimPrefix(stdout, "--- stdout\n")
		switch {
		case strings.Contains(header, "--format ndjson"):
			lines := strings.SplitAfter(body, "\n")
			slices.Sort(lines)
			body = strings.Join(lines, "")
		case strings.Contains(header, "--format fhir") && strings.HasPrefix(body, "{"):
			var b map[string]any
			if err := json.Unmarshal([]byte(body), &b); err != nil {
				t.Fatalf("run %q: the Bundle: %v", header, err)
			}
			if entries, ok := b["entry"].([]any); ok {
				slices.SortStableFunc(entries, func(x, y any) int {
					return strings.Compare(x.(map[string]any)["fullUrl"].(string), y.(map[string]any)["fullUrl"].(string))
				})
			}
			j, err := json.Marshal(b)
			if err != nil {
				t.Fatal(err)
			}
			body = string(j) + "\n"
		}
		out.WriteString(header + "\n--- stdout\n" + body + "--- stderr\n" + stderr)
	}
	return out.Bytes()
}

// firstDiff shows the first line where got and want differ.
func firstDiff(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d\n got: %.300s\nwant: %.300s", i+1, gl, wl)
		}
	}
	return "(equal lines, different bytes)"
}
