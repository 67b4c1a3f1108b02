package review

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/utilreview/utilreview/service/checks"
)

// TestIndexedStreamed: with Options.Emit the indexed review hands over its
// findings batch by batch (issue 12: the NDJSON and FHIR outputs stream)
// and keeps none. Over every test input, what it emits is what it returns
// without Emit (the same findings, moot ones and counts), in one order
// whatever the number of workers and the batch size (each group of
// resources its own batch, batches of 1 KB, all in one batch), with each
// patient's findings together and, within a patient, in SortWorklist's
// order.
func TestIndexedStreamed(t *testing.T) {
	eachIndexedInput(t, func(t *testing.T, dir string, opt Options) {
		held, err := RunIndexed(context.Background(), []string{dir}, opt)
		if err != nil {
			t.Fatal(err)
		}
		key := func(f *checks.Finding) string {
			return fmt.Sprintf("%s %s %s %s %v %s", f.Check, f.Patient.Ref, f.FocusRef, f.Due.Format(time.RFC3339), f.Moot, opt.Writer.Identifier(f).Value)
		}
		keys := func(fs []checks.Finding) []string {
			var out []string
			for i := range fs {
				out = append(out, key(&fs[i]))
			}
			return out
		}
		wantOpen, wantMoot := keys(held.Findings), keys(held.Moot)
		slices.Sort(wantOpen)
		slices.Sort(wantMoot)
		counts := func(r *Result) string {
			return fmt.Sprintf("files=%d resources=%d closed=%d errors=%d %s", r.Files, r.Resources, r.Closed, len(r.Errors), summaryPrint(r))
		}

		var first string
		for _, c := range []struct {
			workers int
			batch   int64
		}{{1, 1}, {4, 1}, {4, 1 << 10}, {1, 0}, {4, 0}} {
			var open, mootF []checks.Finding
			var emits int
			o := opt
			o.Workers, o.BatchBytes = c.workers, c.batch
			o.Emit = func(op, mo []checks.Finding) error {
				emits++
				open = append(open, op...)
				mootF = append(mootF, mo...)
				return nil
			}
			got, err := RunIndexed(context.Background(), []string{dir}, o)
			if err != nil {
				t.Fatal(err)
			}
			name := fmt.Sprintf("workers %d, batch %d", c.workers, c.batch)
			if len(got.Findings) != 0 || len(got.Moot) != 0 {
				t.Errorf("%s: streamed review kept %d findings and %d moot", name, len(got.Findings), len(got.Moot))
			}
			if counts(got) != counts(held) {
				t.Errorf("%s: counts %s, want %s", name, counts(got), counts(held))
			}
			gotOpen, gotMoot := keys(open), keys(mootF)
			order := strings.Join(gotOpen, "\n") + "\n--\n" + strings.Join(gotMoot, "\n")
			if first == "" {
				first = order
			} else if order != first {
				t.Errorf("%s: emitted in another order than workers 1, batch 1:\n%s", name, firstLineDiff(first, order))
			}
			slices.Sort(gotOpen)
			slices.Sort(gotMoot)
			if !slices.Equal(gotOpen, wantOpen) || !slices.Equal(gotMoot, wantMoot) {
				t.Errorf("%s: emitted %d open and %d moot findings, want the %d and %d RunIndexed returns without Emit",
					name, len(gotOpen), len(gotMoot), len(wantOpen), len(wantMoot))
			}
			if len(held.Findings) > 0 && emits == 0 {
				t.Errorf("%s: Emit never called", name)
			}
			for _, fs := range [][]checks.Finding{open, mootF} {
				checkPatientRuns(t, name, fs)
			}
		}
	})
}

// checkPatientRuns: each patient's findings come together, in
// SortWorklist's order.
func checkPatientRuns(t *testing.T, name string, fs []checks.Finding) {
	t.Helper()
	done := map[string]bool{}
	for i := 0; i < len(fs); {
		p := fs[i].Patient.Key
		if done[p] {
			t.Errorf("%s: patient %s's findings are not together", name, p)
			return
		}
		done[p] = true
		j := i + 1
		for j < len(fs) && fs[j].Patient.Key == p {
			j++
		}
		run := slices.Clone(fs[i:j])
		SortWorklist(run)
		for k := range run {
			if run[k].Check != fs[i+k].Check || run[k].FocusRef != fs[i+k].FocusRef {
				t.Errorf("%s: patient %s's findings are not in SortWorklist's order", name, p)
				return
			}
		}
		i = j
	}
}
