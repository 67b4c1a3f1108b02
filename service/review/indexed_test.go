package review

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// indexedInputs are every test input of the repository (as in
// cmd/utilreview's TestReviewGolden).
var indexedInputs = []string{
	"../../testdata/examples",
	"../../testdata/fhir-server",
	filepath.Join(sharedData, "synthea"),
	filepath.Join(sharedData, "fhir-r4-examples"),
	filepath.Join(sharedData, "davinci"),
	"../../e2e/testdata",
	"../../handlers/testdata",
	"testdata/davinci-derived",
	"../facts/testdata",
	"../checks/testdata",
	"../../fhir/testdata/read",
	"../../cmd/utilreview/testdata/bad-input",
}

// summaryPrint adds the counts RunIndexed keeps instead of a Set.
func summaryPrint(res *Result) string {
	return fmt.Sprintf("patients=%d encounters=%d claims=%d skipped=%v later=%v", res.Patients, res.Encounters, res.Claims, res.Skipped, res.Later)
}

// TestIndexedSameAsRun: the two-pass review (issue 12: memory bounded by
// the largest patient) finds what the whole-input review finds, with the
// same input problems in the same order, over every test input, whether
// each group of resources is its own batch or all are one batch.
func TestIndexedSameAsRun(t *testing.T) {
	for _, dir := range indexedInputs {
		for _, moot := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s-moot=%v", filepath.Base(dir), moot), func(t *testing.T) {
				opt := testOptions(t)
				opt.AsOf = time.Date(2026, 11, 20, 12, 0, 0, 0, opt.Location)
				opt.IncludeMoot = moot
				whole, err := Run(context.Background(), []string{dir}, opt)
				if err != nil {
					t.Fatal(err)
				}
				res := whole
				res.Set = nil
				want := fingerprintNoSet(t, res, opt) + summaryPrint(whole)
				for _, batch := range []int64{1, 0} {
					opt.BatchBytes = batch
					got, err := RunIndexed(context.Background(), []string{dir}, opt)
					if err != nil {
						t.Fatal(err)
					}
					if g := fingerprintNoSet(t, got, opt) + summaryPrint(got); g != want {
						t.Errorf("batch %d: indexed review differs from the whole one:\n%s", batch, firstLineDiff(want, g))
					}
				}
			})
		}
	}
}
