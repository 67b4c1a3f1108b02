package review

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestIdentifiersGolden pins the literal identifier values of every finding
// in the example scenarios. They are the identity of a Task on every server
// utilreview has written to: a change here gives every open finding a second
// Task, so it must be deliberate (run with -update and say why in the
// commit). The focus key is "Type/id" (2026-11: business identifiers left
// the key, so a resource that gains or changes one keeps its Task).
func TestIdentifiersGolden(t *testing.T) {
	t.Parallel()
	// Moot findings included: a Task may exist for one (it is then kept,
	// marked missed), so their identifiers are as much an API as the others'.
	res := runPathsWith(t, time.Date(2026, 11, 20, 17, 0, 0, 0, time.UTC), true, "../../testdata/examples")
	if len(res.Findings) < 20 {
		t.Fatalf("got %d findings, want at least 20", len(res.Findings))
	}
	w := testOptions(t).Writer
	var b strings.Builder
	for i := range res.Findings {
		f := &res.Findings[i]
		fmt.Fprintf(&b, "%s\t%s\t%s\t%s", f.Check, f.FocusRef, f.Episode, w.Identifier(f).Value)
		if f.Communication != nil {
			fmt.Fprintf(&b, "\t%s", w.CommunicationIdentifier(f).Value)
		}
		b.WriteByte('\n')
	}
	const golden = "testdata/identifiers.golden"
	if *updateGolden {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != string(want) {
		t.Errorf("identifiers changed (check focus episode task [communication-request]):\ngot:\n%s\nwant:\n%s", got, want)
	}
}
