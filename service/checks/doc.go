package checks

import (
	"strings"
)

// DocMarkdown is docs/checks.md: every check's definition, the evidence
// types and the business statuses, generated from the same definitions the
// code uses (Definitions, EvidenceTypes, BusinessStatuses). doc_test.go
// keeps the file in step: `go test ./service/checks -run TestChecksDoc -update`.
func DocMarkdown() []byte {
	return docMarkdown(Definitions(), EvidenceTypes(), BusinessStatuses())
}

func docMarkdown(defs []Definition, evidence, statuses []Concept) []byte {
	var b strings.Builder
	b.Grow(1024 + 1200*len(defs) + 150*(len(evidence)+len(statuses)))
	b.WriteString("# utilreview checks\n\n")
	b.WriteString("<!-- Generated from checks.Definitions(), checks.EvidenceTypes() and checks.BusinessStatuses() by\n" +
		"     `go test ./service/checks -run TestChecksDoc -update`. Do not edit by hand. -->\n\n")
	b.WriteString("Each finding utilreview raises comes from one of these checks. The check id is stable: it is the code of the\n" +
		"finding's Task (`Task.code`, in utilreview's check CodeSystem `<base>/CodeSystem/check`) and part of the Task's\n" +
		"identifier. utilreview never decides anything: a check finds what a clinician or coordinator must look at, explains\n" +
		"why with evidence (`Task.input`), sets the deadline (`Task.restriction.period.end`) and routes the Task to its owner.\n" +
		"Payer rule sets switch each check on or off and set its thresholds (the rule-set fields are named below).\n\n" +
		"`Task.reasonCode` carries the clinical or billing code that triggered a finding when there is one: the MS-DRG\n" +
		"(`los-exceeds-gmlos`), the discharge disposition (`snf-three-day`), the HRRP cohort's diagnosis or procedure\n" +
		"(`readmission-30d`), the service code (`prior-auth-required`, `mue-exceeded`, `duplicate-claim-line`,\n" +
		"`payment-window-3day`). It is absent otherwise: the check itself is `Task.code`, and the rule, its source and the\n" +
		"measured values are in `Task.input`. Further triggering codes beyond the first are `reason` inputs.\n\n")

	b.WriteString("| check | on | title | owner | priority | message |\n|---|---|---|---|---|---|\n")
	for _, d := range defs {
		b.WriteString("| [`")
		b.WriteString(cell(d.ID))
		b.WriteString("`](#")
		b.WriteString(anchor(d.ID))
		b.WriteString(") | ")
		b.WriteString(cell(d.On))
		b.WriteString(" | ")
		b.WriteString(cell(d.Title))
		b.WriteString(" | ")
		b.WriteString(cell(string(d.Owner)))
		b.WriteString(" | ")
		b.WriteString(cell(string(d.Priority)))
		b.WriteString(" | ")
		if d.Communication == "" {
			b.WriteString("none")
		} else {
			b.WriteString(cell(d.Communication))
		}
		b.WriteString(" |\n")
	}
	b.WriteString("\nThe message column names the CommunicationRequest category when the check also asks for a message.\n")

	// Sections by Definition.On; anything else goes under "Other checks".
	groups := [...]struct{ on, title string }{{"encounter", "Encounter checks"}, {"claim", "Claim checks"}}
	written := make([]bool, len(defs))
	for _, g := range groups {
		writeGroup(&b, g.title, defs, written, func(d Definition) bool { return d.On == g.on })
	}
	writeGroup(&b, "Other checks", defs, written, func(Definition) bool { return true })

	b.WriteString("\n## Custom checks\n\n")
	b.WriteString("A payer rule set can add checks written in CEL (`custom:` in the rule file). Their findings carry the check id\n" +
		"`custom:<id>`, the rule set's priority, message and deadline; they are listed in the check CodeSystem when the rule\n" +
		"sets are loaded. Their actionable horizon is the generic one of their focus. " + genericHorizonDoc + "\n")

	writeConcepts(&b, "Evidence types", "Codes of `Task.input.type` (CodeSystem `<base>/CodeSystem/evidence-type`); each input has exactly one value[x]. "+
		"The writer (service/worklist) adds two of its own: `reason`, for reason codes beyond the first (which is `Task.reasonCode`), "+
		"and `rule-set` (id@version of the payer rule set applied) when a check did not name it.", evidence)
	writeConcepts(&b, "Business statuses", "Codes of `Task.businessStatus` (CodeSystem `<base>/CodeSystem/business-status`).", statuses)
	return []byte(b.String())
}

// writeGroup writes the sections of the definitions in and not yet written.
func writeGroup(b *strings.Builder, title string, defs []Definition, written []bool, in func(Definition) bool) {
	header := false
	for i, d := range defs {
		if written[i] || !in(d) {
			continue
		}
		written[i] = true
		if !header {
			b.WriteString("\n## ")
			b.WriteString(title)
			b.WriteString("\n")
			header = true
		}
		writeDefinition(b, d)
	}
}

func writeDefinition(b *strings.Builder, d Definition) {
	b.WriteString("\n<a id=\"")
	b.WriteString(anchor(d.ID))
	b.WriteString("\"></a>\n### `")
	b.WriteString(d.ID)
	b.WriteString("`")
	if d.Title != "" {
		b.WriteString(": ")
		b.WriteString(line(d.Title))
	}
	b.WriteString("\n\n")
	field(b, "What", d.What)
	field(b, "Why", d.Why)
	field(b, "Source", d.Source)
	field(b, "Thresholds", d.Thresholds)
	field(b, "Actionable until", d.Horizon)
	if d.Switch != "" {
		field(b, "Switch", "`"+line(d.Switch)+"`")
	}
	field(b, "Owner", string(d.Owner))
	field(b, "Priority", string(d.Priority))
	if d.Communication != "" {
		field(b, "CommunicationRequest", "category `"+line(d.Communication)+"`")
	} else {
		field(b, "CommunicationRequest", "none")
	}
}

func field(b *strings.Builder, name, text string) {
	if text == "" {
		return
	}
	b.WriteString("- **")
	b.WriteString(name)
	b.WriteString(":** ")
	b.WriteString(line(text))
	b.WriteString("\n")
}

func writeConcepts(b *strings.Builder, title, intro string, cs []Concept) {
	b.WriteString("\n## ")
	b.WriteString(title)
	b.WriteString("\n\n")
	b.WriteString(intro)
	b.WriteString("\n\n| code | display | definition |\n|---|---|---|\n")
	for _, c := range cs {
		b.WriteString("| `")
		b.WriteString(cell(c.Code))
		b.WriteString("` | ")
		b.WriteString(cell(c.Display))
		b.WriteString(" | ")
		b.WriteString(cell(c.Definition))
		b.WriteString(" |\n")
	}
}

// line keeps a text on one Markdown line.
func line(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return strings.TrimSpace(s)
	}
	return strings.Join(strings.Fields(s), " ")
}

// cell is line, with the table's column separator escaped.
func cell(s string) string { return strings.ReplaceAll(line(s), "|", `\|`) }

// anchor is a stable HTML id for a check: lowercase letters, digits and '-'.
func anchor(id string) string {
	var b strings.Builder
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-':
			b.WriteByte(c)
		case c >= 'A' && c <= 'Z':
			b.WriteByte(c + 'a' - 'A')
		default:
			b.WriteByte('-')
		}
	}
	return b.String()
}
