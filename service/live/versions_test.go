package live_test

import (
	"context"
	"io/fs"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/utilreview/utilreview/service/checks"
	"github.com/utilreview/utilreview/service/live"
	"github.com/utilreview/utilreview/service/review"
	"github.com/utilreview/utilreview/service/rules"
	"github.com/utilreview/utilreview/service/worklist"
)

// disabledRules is the shipped rule directory with every check turned off.
func disabledRules(t *testing.T) *rules.Registry {
	t.Helper()
	m := fstest.MapFS{}
	err := fs.WalkDir(rules.DefaultsFS(), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(rules.DefaultsFS(), name)
		if strings.HasSuffix(name, ".yaml") {
			b = []byte(strings.ReplaceAll(string(b), "enabled: true", "enabled: false"))
		}
		m[name] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := rules.LoadBundle(m, "")
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// With Versions set, each review reads the current version once and runs
// wholly on it; the next review sees a switch.
func TestReviewTakesTheCurrentVersion(t *testing.T) {
	t.Parallel()
	mem, patients := newMemoryFHIR(t, "../../testdata/examples/ur-scenarios.json")
	loc, _ := time.LoadLocation("America/New_York")
	optionsFor := func(reg *rules.Registry) review.Options {
		w := worklist.New(worklist.Config{Location: loc, CustomChecks: worklist.CustomConcepts(reg.RuleSets())})
		return review.Options{Location: loc, Rules: reg, Writer: w, Checks: checks.Config{Location: loc}}
	}
	on, err := rules.LoadDefaults()
	if err != nil {
		t.Fatal(err)
	}
	versions := []review.Options{optionsFor(on), optionsFor(disabledRules(t))}
	var current, calls atomic.Int32
	p, err := live.New(live.Config{
		Review:   versions[0],
		Versions: func() review.Options { calls.Add(1); return versions[current.Load()] },
		Now:      func() time.Time { return time.Date(2026, 11, 20, 17, 0, 0, 0, time.UTC) }, WindowDays: 20000,
	}, mem, nil)
	if err != nil {
		t.Fatal(err)
	}
	count := func() int {
		n := 0
		for _, pt := range patients {
			out, err := p.ReviewPatient(context.Background(), pt)
			if err != nil {
				t.Fatal(err)
			}
			n += out.Findings
		}
		return n
	}
	before := count()
	if got := int(calls.Load()); got != len(patients) {
		t.Errorf("Versions read %d times for %d reviews, want once each", got, len(patients))
	}
	current.Store(1)
	after := count()
	if before == 0 || after >= before {
		t.Errorf("findings %d with the shipped rules, %d with every check off: the switch was not taken", before, after)
	}
}
