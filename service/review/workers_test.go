package review

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// fingerprint is everything a review's output is made of, as text: the
// findings in order (with their identifiers), the moot ones, the counts and
// the input problems in order.
func fingerprint(t *testing.T, res *Result, opt Options) string { return fingerprintNoSet(t, res, opt) }

func fingerprintNoSet(t *testing.T, res *Result, opt Options) string {
	t.Helper()
	var b bytes.Buffer
	for _, f := range res.Findings {
		fmt.Fprintf(&b, "F %s %s %s %s %v %s\n", f.Check, f.Patient.Ref, f.FocusRef, f.Due.Format(time.RFC3339), f.Moot, opt.Writer.Identifier(&f).Value)
	}
	for _, f := range res.Moot {
		fmt.Fprintf(&b, "M %s %s %s\n", f.Check, f.FocusRef, opt.Writer.Identifier(&f).Value)
	}
	fmt.Fprintf(&b, "files=%d resources=%d patients=%d closed=%d custom=%v unmatched=%v\n",
		res.Files, res.Resources, res.Patients, res.Closed, res.CustomErrors, res.UnmatchedPayers)
	for _, e := range res.Errors {
		fmt.Fprintf(&b, "E %v\n", e)
	}
	bundle, err := opt.Writer.TransactionBundle(res.Findings, opt.AsOf, false)
	if err != nil {
		t.Fatal(err)
	}
	b.Write(bundle)
	return b.String()
}

// TestWorkersSameResult: issue 12 ("both cores") reads files and reviews
// patients on a pool of workers; the result, and so every output, must be the
// same with 1 worker as with 4 (run with -race too).
func TestWorkersSameResult(t *testing.T) {
	inputs := [][]string{
		{filepath.Join(sharedData, "synthea"), "../../testdata/examples", filepath.Join(sharedData, "fhir-r4-examples")},
		{"../../cmd/utilreview/testdata/bad-input", "../../testdata/examples"},
	}
	for _, moot := range []bool{false, true} {
		for i, paths := range inputs {
			t.Run(fmt.Sprintf("input%d-moot=%v", i, moot), func(t *testing.T) {
				var prints []string
				for _, w := range []int{1, 4} {
					opt := testOptions(t)
					opt.AsOf = time.Date(2026, 11, 20, 12, 0, 0, 0, opt.Location)
					opt.IncludeMoot = moot
					opt.Workers = w
					res, err := Run(context.Background(), paths, opt)
					if err != nil {
						t.Fatal(err)
					}
					if len(res.Findings) == 0 {
						t.Fatal("no findings: the comparison would prove nothing")
					}
					prints = append(prints, fingerprint(t, res, opt))
				}
				if prints[0] != prints[1] {
					t.Errorf("1 worker and 4 workers differ:\n%s", firstLineDiff(prints[0], prints[1]))
				}
			})
		}
	}
}

// TestParallelOrder: parallel calls every index once, whatever the number of
// workers, and stops when the context is cancelled.
func TestParallelOrder(t *testing.T) {
	for _, w := range []int{0, 1, 2, 4, 100} {
		got := make([]int, 50)
		if err := parallel(context.Background(), w, len(got), func(i int) { got[i]++ }); err != nil {
			t.Fatal(err)
		}
		for i, n := range got {
			if n != 1 {
				t.Fatalf("workers %d: index %d done %d times", w, i, n)
			}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := parallel(ctx, 4, 10, func(int) {}); err == nil {
		t.Error("a cancelled context gave no error")
	}
}

func firstLineDiff(a, b string) string {
	al, bl := bytes.Split([]byte(a), []byte("\n")), bytes.Split([]byte(b), []byte("\n"))
	for i := 0; i < len(al) && i < len(bl); i++ {
		if !bytes.Equal(al[i], bl[i]) {
			return fmt.Sprintf("line %d:\n 1: %.300s\n 4: %.300s", i+1, al[i], bl[i])
		}
	}
	return fmt.Sprintf("lengths %d and %d lines", len(al), len(bl))
}
