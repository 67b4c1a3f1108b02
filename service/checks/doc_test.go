package checks

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// -update rewrites generated files. Another test file of this package may
// define the flag as well, so it is defined here only when absent.
var _ = defineUpdateFlag()

func defineUpdateFlag() bool {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite generated files (docs/checks.md)")
	}
	return true
}

func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

const checksDocPath = "../../docs/checks.md"

// TestChecksDoc fails when docs/checks.md is not what the definitions
// generate; -update rewrites it.
func TestChecksDoc(t *testing.T) {
	got := DocMarkdown()
	if updating() {
		if err := os.MkdirAll(filepath.Dir(checksDocPath), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(checksDocPath, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(checksDocPath)
	if err != nil {
		t.Fatalf("read %s: %v (generate it: go test ./service/checks -run TestChecksDoc -update)", checksDocPath, err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := 0; i < len(gl) || i < len(wl); i++ {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("docs/checks.md is stale (run go test ./service/checks -run TestChecksDoc -update); first difference at line %d:\ngenerated: %q\nfile:      %q", i+1, g, w)
			}
		}
	}
}

// TestDocMarkdown checks the generator on definitions made for the test:
// every field appears, Markdown-breaking text is escaped, and checks are
// grouped by what they look at.
func TestDocMarkdown(t *testing.T) {
	defs := []Definition{
		{ID: "claim-x", Title: "Claim X", On: "claim", What: "looks at | pipes", Why: "because\nof lines",
			Source: "42 CFR 1.2", Thresholds: "checks.x.limit", Switch: "checks.x.enabled", Owner: BillingTeam, Priority: Routine},
		{ID: "enc-y", Title: "Encounter Y", On: "encounter", What: "what y", Why: "why y", Source: "src y",
			Switch: "checks.y.enabled", Owner: URTeam, Priority: Urgent, Communication: "payer-notification"},
		{ID: "dq-z", Title: "Data quality Z", On: "data", What: "what z"},
	}
	ev := []Concept{{Code: "inpatient-days", Display: "Inpatient days", Definition: "days | midnights"}}
	st := []Concept{{Code: StatusOverdue, Display: "Overdue", Definition: "late"}}
	doc := string(docMarkdown(defs, ev, st))

	tests := []struct {
		name string
		want string
	}{
		{"summary row with link", "| [`enc-y`](#enc-y) | encounter | Encounter Y | ur-team | urgent | payer-notification |"},
		{"anchor", `<a id="claim-x"></a>`},
		{"heading", "### `claim-x`: Claim X"},
		{"what", "- **What:** looks at | pipes"},
		{"newline folded", "- **Why:** because of lines"},
		{"source", "- **Source:** 42 CFR 1.2"},
		{"thresholds", "- **Thresholds:** checks.x.limit"},
		{"switch", "- **Switch:** `checks.x.enabled`"},
		{"owner", "- **Owner:** billing"},
		{"priority", "- **Priority:** urgent"},
		{"communication", "- **CommunicationRequest:** category `payer-notification`"},
		{"no communication", "- **CommunicationRequest:** none"},
		{"evidence pipe escaped", "| `inpatient-days` | Inpatient days | days \\| midnights |"},
		{"status", "| `overdue` | Overdue | late |"},
		{"other group", "## Other checks"},
	}
	for _, tt := range tests {
		if !strings.Contains(doc, tt.want) {
			t.Errorf("%s: doc lacks %q", tt.name, tt.want)
		}
	}
	// Sections follow the groups: encounter before claim before others,
	// whatever the definitions' order.
	enc, claim, other := strings.Index(doc, "## Encounter checks"), strings.Index(doc, "## Claim checks"), strings.Index(doc, "## Other checks")
	if !(enc >= 0 && enc < claim && claim < other) {
		t.Errorf("group order: got encounter %d, claim %d, other %d; want increasing", enc, claim, other)
	}
	if y, x := strings.Index(doc, "### `enc-y`"), strings.Index(doc, "### `claim-x`"); !(enc < y && y < claim && claim < x && x < other) {
		t.Errorf("checks not under their group: enc-y at %d, claim-x at %d", y, x)
	}
	if n := strings.Count(doc, "\n### "); n != len(defs) {
		t.Errorf("got %d check sections, want %d", n, len(defs))
	}
	// An empty field is left out rather than written empty.
	if strings.Contains(doc, "**Thresholds:** \n") || strings.Contains(doc, "**Source:** \n") {
		t.Error("empty field written")
	}
}

// TestDocMarkdownCurrent checks the real definitions each get a section.
func TestDocMarkdownCurrent(t *testing.T) {
	doc := string(DocMarkdown())
	for _, d := range Definitions() {
		if !strings.Contains(doc, "### `"+d.ID+"`") {
			t.Errorf("no section for %q", d.ID)
		}
	}
	for _, c := range EvidenceTypes() {
		if !strings.Contains(doc, "| `"+cell(c.Code)+"` |") {
			t.Errorf("no row for evidence type %q", c.Code)
		}
	}
}
