package report

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/utilreview/utilreview/fhir"
	"github.com/utilreview/utilreview/service/facts"
)

// task is a utilreview Task as the report reads it: what facts.Task holds
// plus the elements only the report needs, from the Task's JSON.
type task struct {
	*facts.Task
	Check    string
	Owner    string    // Task.owner's display, else its reference; "(none)"
	Authored time.Time // authoredOn: when utilreview raised it
	// Completed is the completion instant: executionPeriod.end, else
	// meta.lastUpdated of the completed version read (see README: from
	// files the version read is the only one known). Zero when the Task is
	// not completed or neither is given.
	Completed time.Time
	// Determination is the X12 306 code of the determination output, "" when none.
	Determination string
	// AvoidableDays is the avoidable-days output; HasAvoidable says it was given.
	AvoidableDays   int
	HasAvoidable    bool
	AvoidableReason string // the avoidable-days-reason code, "" when none
}

type rawTask struct {
	Meta struct {
		LastUpdated string `json:"lastUpdated"`
	} `json:"meta"`
	AuthoredOn      string `json:"authoredOn"`
	ExecutionPeriod struct {
		End string `json:"end"`
	} `json:"executionPeriod"`
	Owner struct {
		Reference string `json:"reference"`
		Display   string `json:"display"`
	} `json:"owner"`
	Output []struct {
		Type                 concept  `json:"type"`
		ValueCodeableConcept *concept `json:"valueCodeableConcept"`
		ValueInteger         *int     `json:"valueInteger"`
		ValueUnsignedInt     *int     `json:"valueUnsignedInt"`
		ValuePositiveInt     *int     `json:"valuePositiveInt"`
	} `json:"output"`
}

type concept struct {
	Coding []struct {
		System string `json:"system"`
		Code   string `json:"code"`
	} `json:"coding"`
}

func (c *concept) has(code string) bool {
	if c == nil {
		return false
	}
	for _, cd := range c.Coding {
		if cd.Code == code {
			return true
		}
	}
	return false
}

// readTask reads the report's elements of a Task. A Task whose JSON cannot
// be read is still counted by its status and deadline.
func readTask(t *facts.Task, checkSystem string, loc *time.Location) *task {
	out := &task{Task: t, Owner: "(none)"}
	for _, c := range t.Codes {
		if c.System == checkSystem {
			out.Check = c.Code
			break
		}
	}
	if out.Check == "" {
		out.Check = "(none)"
	}
	var raw rawTask
	if len(t.Raw) == 0 || json.Unmarshal(t.Raw, &raw) != nil {
		return out
	}
	switch {
	case strings.TrimSpace(raw.Owner.Display) != "":
		out.Owner = strings.TrimSpace(raw.Owner.Display)
	case raw.Owner.Reference != "":
		out.Owner = raw.Owner.Reference
	}
	out.Authored = instant(raw.AuthoredOn, loc)
	if t.Status == "completed" {
		out.Completed = instant(raw.ExecutionPeriod.End, loc)
		if out.Completed.IsZero() {
			out.Completed = instant(raw.Meta.LastUpdated, loc)
		}
	}
	for _, o := range raw.Output {
		switch {
		case o.Type.has(OutputDetermination):
			if o.ValueCodeableConcept == nil {
				continue
			}
			for _, cd := range o.ValueCodeableConcept.Coding {
				if cd.System == X12ReviewActionSystem && cd.Code != "" {
					out.Determination = cd.Code
					break
				}
			}
		case o.Type.has(OutputAvoidableDays):
			for _, v := range []*int{o.ValueInteger, o.ValueUnsignedInt, o.ValuePositiveInt} {
				if v != nil && *v >= 0 {
					out.AvoidableDays, out.HasAvoidable = *v, true
					break
				}
			}
		case o.Type.has(OutputAvoidableDaysReason):
			if o.ValueCodeableConcept != nil && len(o.ValueCodeableConcept.Coding) > 0 {
				out.AvoidableReason = o.ValueCodeableConcept.Coding[0].Code
			}
		}
	}
	return out
}

// instant parses a FHIR dateTime (or instant); zero when absent or invalid.
func instant(s string, loc *time.Location) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, _, err := fhir.ParseDateTime(s, loc)
	if err != nil {
		return time.Time{}
	}
	return t
}
