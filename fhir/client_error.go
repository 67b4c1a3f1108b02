package fhir

import (
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// Error is a failed call to a FHIR server: a non-2xx answer (Status, with the
// issues of the OperationOutcome the server sent) or a failure without an
// answer (Status 0, Err says why). Its text is safe to log: no query string,
// no body, no diagnostics.
type Error struct {
	Op     string // the client method: "read", "search", "create", "update", "delete", "batch", "transaction", "do"
	Method string
	Path   string // relative to the base, without the query string (queries carry identifiers)
	Status int    // the HTTP status, 0 when there was no answer
	Issues []Issue
	// Attempts is how many requests were sent before giving up.
	Attempts int
	Err      error
}

// Issue is one OperationOutcome.issue.
type Issue struct {
	Severity, Code       string
	Location, Expression []string
	// MessageID is the server's identifier of the message, when it gives one:
	// the validator's message id (details.coding of
	// http://hl7.org/fhir/java-core-messageId, e.g. Validation_VAL_Profile_Minimum)
	// or HAPI's "HAPI-0989" prefix of the diagnostics. A fixed key, never data.
	MessageID string
	// Diagnostics is the server's free text. HAPI quotes resource values here
	// (identifiers, names): it is kept for callers that need it, never put in
	// Error() and never to be logged.
	Diagnostics string
}

// OperationOutcome is the part of an OperationOutcome the client reads.
type OperationOutcome struct {
	Issues []Issue
}

// maxIssuesInText bounds Error(): a validator can answer hundreds of issues.
const maxIssuesInText = 5

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("fhir ")
	b.WriteString(e.Op)
	b.WriteString(": ")
	b.WriteString(e.Method)
	b.WriteByte(' ')
	if e.Path == "" {
		b.WriteString("[base]")
	} else {
		b.WriteString(e.Path)
	}
	if e.Status != 0 {
		b.WriteString(": ")
		b.WriteString(strconv.Itoa(e.Status))
		if text := http.StatusText(e.Status); text != "" {
			b.WriteByte(' ')
			b.WriteString(text)
		}
	}
	for i, is := range e.Issues {
		if i == maxIssuesInText {
			b.WriteString("; and ")
			b.WriteString(strconv.Itoa(len(e.Issues) - i))
			b.WriteString(" more issues")
			break
		}
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		is.appendText(&b)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	if e.Attempts > 1 {
		b.WriteString(" (after ")
		b.WriteString(strconv.Itoa(e.Attempts))
		b.WriteString(" attempts)")
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// appendText writes the issue without its diagnostics: "error processing
// [Validation_VAL_Profile_Minimum] at Task, Line[1] Col[41] (Task)".
func (is Issue) appendText(b *strings.Builder) {
	b.WriteString(orDash(is.Severity))
	b.WriteByte(' ')
	b.WriteString(orDash(is.Code))
	if is.MessageID != "" {
		b.WriteString(" [")
		b.WriteString(is.MessageID)
		b.WriteByte(']')
	}
	if len(is.Location) > 0 {
		b.WriteString(" at ")
		b.WriteString(strings.Join(is.Location, ", "))
	}
	if len(is.Expression) > 0 {
		b.WriteString(" (")
		b.WriteString(strings.Join(is.Expression, ", "))
		b.WriteByte(')')
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// IsStatus reports whether err is (or wraps) an *Error with the given HTTP
// status. HAPI answers a conditional create that lost a race, and an update
// with a stale If-Match, with 409.
func IsStatus(err error, status int) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == status
}

// Issues of an OperationOutcome as the wire has them.
type outcomeJSON struct {
	ResourceType string      `json:"resourceType"`
	Issue        []issueJSON `json:"issue"`
}

type issueJSON struct {
	Extension []struct {
		URL         string `json:"url"`
		ValueString string `json:"valueString"`
	} `json:"extension"`
	Severity string `json:"severity"`
	Code     string `json:"code"`
	Details  *struct {
		Coding []struct {
			System string `json:"system"`
			Code   string `json:"code"`
		} `json:"coding"`
	} `json:"details"`
	Diagnostics string   `json:"diagnostics"`
	Location    []string `json:"location"`
	Expression  []string `json:"expression"`
}

const (
	messageIDSystem    = "http://hl7.org/fhir/java-core-messageId"
	messageIDExtension = "http://hl7.org/fhir/StructureDefinition/operationoutcome-message-id"
)

var (
	hapiMessageID = regexp.MustCompile(`^HAPI-[0-9]{1,6}\b`)
	// A message id is a key (Validation_VAL_Profile_Minimum, a constraint's
	// canonical#key): anything else is not shown, whatever the server put there.
	safeMessageID = regexp.MustCompile(`^[A-Za-z0-9_.:/#-]{1,120}$`)
)

// parseOutcome reads an OperationOutcome body; nil when body is not one.
func parseOutcome(body []byte) *OperationOutcome {
	if len(body) == 0 {
		return nil
	}
	var oo outcomeJSON
	if err := json.Unmarshal(body, &oo); err != nil || oo.ResourceType != "OperationOutcome" {
		return nil
	}
	return oo.outcome()
}

func (oo *outcomeJSON) outcome() *OperationOutcome {
	out := &OperationOutcome{Issues: make([]Issue, 0, len(oo.Issue))}
	for _, ij := range oo.Issue {
		out.Issues = append(out.Issues, ij.issue())
	}
	return out
}

func (ij issueJSON) issue() Issue {
	is := Issue{
		Severity:    ij.Severity,
		Code:        ij.Code,
		Location:    ij.Location,
		Expression:  ij.Expression,
		Diagnostics: ij.Diagnostics,
	}
	if ij.Details != nil {
		for _, c := range ij.Details.Coding {
			if c.System == messageIDSystem && c.Code != "" {
				is.MessageID = c.Code
				break
			}
		}
	}
	if is.MessageID == "" {
		for _, ext := range ij.Extension {
			if ext.URL == messageIDExtension && ext.ValueString != "" {
				is.MessageID = ext.ValueString
				break
			}
		}
	}
	if is.MessageID == "" {
		is.MessageID = hapiMessageID.FindString(ij.Diagnostics)
	}
	if !safeMessageID.MatchString(is.MessageID) {
		is.MessageID = ""
	}
	return is
}
