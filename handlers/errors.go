package handlers

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/utilreview/utilreview/fhir"
)

// httpError is a request the service refuses or cannot serve. msg is
// answered and logged: it names the problem, never a value of the request.
// cause is logged only (a queue error, say), never answered.
type httpError struct {
	status int
	code   string // OperationOutcome issue code
	msg    string
	cause  error
}

func (e *httpError) Error() string {
	if e.cause != nil {
		return e.msg + ": " + e.cause.Error()
	}
	return e.msg
}

func (e *httpError) Unwrap() error { return e.cause }

func badRequest(msg string) error {
	return &httpError{status: http.StatusBadRequest, code: "structure", msg: msg}
}

// notificationRefused answers a body the fhir parser refused; its text is
// free of input values by the parser's contract.
func notificationRefused(err error) error {
	var ne *fhir.NotificationError
	if errors.As(err, &ne) {
		return &httpError{status: http.StatusBadRequest, code: "structure", msg: ne.Error()}
	}
	return &httpError{status: http.StatusBadRequest, code: "structure", msg: "the body is not a FHIR resource"}
}

func unavailable(msg string, cause error) error {
	return &httpError{status: http.StatusServiceUnavailable, code: "transient", msg: msg, cause: cause}
}

var (
	errNoCredentials = &httpError{status: http.StatusUnauthorized, code: "login", msg: "no bearer credentials"}
	errBadSecret     = &httpError{status: http.StatusUnauthorized, code: "security", msg: "credentials not accepted"}
	errBadToken      = &httpError{status: http.StatusForbidden, code: "forbidden", msg: "credentials not accepted"}
	errTooLarge      = &httpError{status: http.StatusRequestEntityTooLarge, code: "too-long", msg: "the body is larger than the service accepts"}
	errMediaType     = &httpError{status: http.StatusUnsupportedMediaType, code: "not-supported", msg: "the body is not FHIR JSON"}
	errNotFound      = &httpError{status: http.StatusNotFound, code: "not-found", msg: "not found"}
)

// operationOutcome is the answer to every error.
type operationOutcome struct {
	ResourceType string  `json:"resourceType"`
	Issue        []issue `json:"issue"`
}

type issue struct {
	Severity    string `json:"severity"`
	Code        string `json:"code"`
	Diagnostics string `json:"diagnostics,omitempty"`
}

// handleError is Echo's one error handler: every refused or failed request
// is answered here, as an OperationOutcome, and recorded on the span.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	he := asHTTPError(err)
	ctx := c.Request().Context()
	if span := trace.SpanFromContext(ctx); he.status >= 500 {
		span.RecordError(err)
		span.SetStatus(codes.Error, he.msg)
	}
	if he.status == http.StatusInternalServerError {
		s.log.LogAttrs(ctx, slog.LevelError, "request failed", slog.String("route", c.Path()),
			slog.String("error", err.Error()), slog.String("trace_id", traceID(ctx)))
	}
	if he.status == http.StatusUnauthorized {
		c.Response().Header().Set("WWW-Authenticate", "Bearer")
	}
	writeOutcome(c, he.status, issue{Severity: "error", Code: he.code, Diagnostics: he.msg})
}

// asHTTPError classifies any error: httpError as it is, Echo's own (no
// route, method not allowed) by their status with the status text, anything
// else an internal error whose text is logged, not answered.
func asHTTPError(err error) *httpError {
	var he *httpError
	if errors.As(err, &he) {
		return he
	}
	var ee *echo.HTTPError
	if errors.As(err, &ee) {
		code := "processing"
		switch ee.Code {
		case http.StatusNotFound:
			code = "not-found"
		case http.StatusMethodNotAllowed:
			code = "not-supported"
		case http.StatusRequestEntityTooLarge:
			code = "too-long"
		}
		return &httpError{status: ee.Code, code: code, msg: http.StatusText(ee.Code)}
	}
	return &httpError{status: http.StatusInternalServerError, code: "exception", msg: "internal error", cause: err}
}

func writeOutcome(c echo.Context, status int, issues ...issue) {
	body, _ := json.Marshal(operationOutcome{ResourceType: "OperationOutcome", Issue: issues})
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	_ = c.Blob(status, "application/fhir+json", body)
}
