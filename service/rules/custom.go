package rules

// CustomCheck is a payer-specific check written in CEL over the fact model
// documented in docs/rules.md. Its findings have the id "custom:<ID>".
type CustomCheck struct {
	ID string `json:"id" yaml:"id"`
	// On is what the check looks at: "encounter" or "claim".
	On       string `json:"on" yaml:"on"`
	Priority string `json:"priority" yaml:"priority"` // routine | urgent | asap | stat
	// When is the CEL expression; the check fires when it is true.
	When string `json:"when" yaml:"when"`
	// Message is the Task description, a template with {{.name}} fields of the fact model.
	Message string `json:"message" yaml:"message"`
	// DeadlineHours from the stay's start (encounter) or the claim's creation.
	DeadlineHours int `json:"deadline_hours" yaml:"deadline_hours"`
	// Owner is "ur-team" (default) or "physician-advisor".
	Owner string `json:"owner,omitempty" yaml:"owner,omitempty"`

	compiled any // the compiled CEL program, set by Compile
}
