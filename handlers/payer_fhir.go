package handlers

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/utilreview/utilreview/service/payerapi"
	"github.com/utilreview/utilreview/service/payerauth"
)

// The payer portal's FHIR API, /payer/fhir (service/payerapi does the work).
// metadata and .well-known/smart-configuration are public; every other
// route needs the payerauth.Principal the authentication middleware puts in
// the request's context (401 without one, 403 without a ClaimResponse
// scope) and serves only that payer's determinations: anything of another
// payer is answered 404, exactly as what does not exist.
//
// Every access to a protected route is audit-logged in one line: the
// authentication middleware's "payer audit" line, to which the handler adds
// its operation and what it answered (payerauth.NoteOperation and
// NoteResources); behind no such middleware (tests), the handler's own, at
// info level with msg "payer access" and audit=payer-api: the client, its issuer, the
// payer (its Organization identifier), the operation, the determination ids
// answered (or the export job), the status and outcome, the time. Never a
// query's values (a patient identifier is PHI) nor anything of a resource
// but its id.

// PayerFHIRPrefix is where the payer API's routes live.
const PayerFHIRPrefix = "/payer/fhir"

// RegisterPayerFHIR adds the payer API's routes: public's and protected's
// prefix must be PayerFHIRPrefix (they may be the same Echo's two groups),
// protected already guarded by the authentication middleware that puts the
// Principal in the request context. log gets the audit lines (nil discards).
func RegisterPayerFHIR(public, protected *echo.Group, api *payerapi.API, log *slog.Logger) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &payerFHIR{api: api, log: log, now: time.Now}
	public.GET("/metadata", h.metadata)
	public.GET("/.well-known/smart-configuration", h.smartConfiguration)

	protected.GET("/ClaimResponse/:id", h.guard("read", 'r', h.read))
	protected.GET("/ClaimResponse", h.guard("search", 's', h.search))
	protected.GET("/$export", h.guard("export-kickoff", 'r', h.exportKickoff))
	protected.GET("/$export-status/:job", h.guard("export-status", 'r', h.exportStatus))
	protected.DELETE("/$export-status/:job", h.guard("export-cancel", 'r', h.exportCancel))
	protected.GET("/$export-file/:job/:n", h.guard("export-file", 'r', h.exportFile))
}

type payerFHIR struct {
	api *payerapi.API
	log *slog.Logger
	now func() time.Time
}

const (
	fhirJSON   = "application/fhir+json"
	fhirNDJSON = "application/fhir+ndjson"
)

func (h *payerFHIR) metadata(c echo.Context) error {
	return c.Blob(http.StatusOK, fhirJSON, h.api.Capability())
}

func (h *payerFHIR) smartConfiguration(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "max-age=3600")
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, h.api.SMARTConfiguration())
}

// access is one request's audit record, filled in by the handler.
type access struct {
	ids []string
	job string
	// requested is the id or job the request named, answered or not (an
	// attempt at another payer's is recorded too).
	requested string
}

type payerHandler func(c echo.Context, p payerauth.Principal, a *access) error

// guard checks the Principal and its scope, runs the handler, and writes
// the audit line.
func (h *payerFHIR) guard(op string, interaction byte, next payerHandler) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := h.now()
		var a access
		p, err := RequirePayerScope(c, "ClaimResponse", interaction)
		if err == nil {
			err = next(c, p, &a)
		}
		if err != nil {
			err = h.answerError(c, op, err)
		}
		// One audit line per access: the authentication middleware's, when
		// it runs (it has the line of a refused token too), with what this
		// handler answered; else this handler's own.
		ctx := c.Request().Context()
		requested := a.requested
		if a.job != "" && requested == "" {
			requested = a.job
		}
		if len(requested) > 64 {
			requested = ""
		}
		if payerauth.NoteOperation(ctx, op, requested) {
			for _, id := range a.ids {
				payerauth.NoteResources(ctx, "ClaimResponse/"+id)
			}
		} else {
			h.audit(ctx, p, op, &a, c.Response().Status, start)
		}
		return err
	}
}

func (h *payerFHIR) audit(ctx context.Context, p payerauth.Principal, op string, a *access, status int, at time.Time) {
	attrs := []slog.Attr{
		slog.String("audit", "payer-api"),
		slog.String("client_id", p.ClientID),
		slog.String("issuer", p.Issuer),
		slog.String("payer", p.Payer.String()),
		slog.String("operation", op),
		slog.Any("ids", a.ids),
		slog.Int("status", status),
		slog.String("outcome", outcomeOf(status)),
		slog.Time("time", at.UTC()),
		slog.String("trace_id", traceID(ctx)),
	}
	if a.job != "" {
		attrs = append(attrs, slog.String("job", a.job))
	}
	if a.requested != "" && len(a.requested) <= 64 {
		attrs = append(attrs, slog.String("requested", a.requested))
	}
	if p.ClientID == "" && p.Payer.Value == "" {
		attrs[3] = slog.String("payer", "")
	}
	h.log.LogAttrs(ctx, slog.LevelInfo, "payer access", attrs...)
}

func outcomeOf(status int) string {
	switch {
	case status == http.StatusUnauthorized:
		return "unauthenticated"
	case status == http.StatusForbidden:
		return "forbidden"
	case status == http.StatusNotFound:
		return "not-found"
	case status == http.StatusTooManyRequests:
		return "throttled"
	case status >= 500:
		return "error"
	case status >= 400:
		return "refused"
	}
	return "success"
}

// answerError answers an error of the API as an OperationOutcome.
func (h *payerFHIR) answerError(c echo.Context, op string, err error) error {
	var pe *payerapi.ParamError
	switch {
	case errors.As(err, &pe):
		code := "invalid"
		if strings.HasPrefix(pe.Why, "not supported") || strings.HasPrefix(pe.Why, "not allowed") {
			code = "not-supported"
		}
		return payerOutcome(c, http.StatusBadRequest, code, pe.Error())
	case errors.Is(err, payerapi.ErrNotFound):
		return payerOutcome(c, http.StatusNotFound, "not-found", "not found")
	case errors.Is(err, payerapi.ErrTooManyExports):
		c.Response().Header().Set("Retry-After", "60")
		return payerOutcome(c, http.StatusTooManyRequests, "throttled", err.Error())
	}
	var he *httpError
	if errors.As(err, &he) {
		return payerOutcome(c, he.status, he.code, he.msg)
	}
	ctx := c.Request().Context()
	h.log.LogAttrs(ctx, slog.LevelError, "payer api: request failed", slog.String("operation", op),
		slog.String("error", err.Error()), slog.String("trace_id", traceID(ctx)))
	return payerOutcome(c, http.StatusServiceUnavailable, "transient", "the determinations cannot be read now; try again later")
}

func payerOutcome(c echo.Context, status int, code, msg string) error {
	severity := "error"
	if status < 400 {
		severity = "information"
	}
	writeOutcome(c, status, issue{Severity: severity, Code: code, Diagnostics: msg})
	return nil
}

func (h *payerFHIR) read(c echo.Context, p payerauth.Principal, a *access) error {
	for name, vals := range c.QueryParams() {
		if name != payerapi.ParamFormat {
			return &payerapi.ParamError{Param: "", Why: "a read takes no parameter but _format"}
		}
		if _, err := payerapi.ParseSearch(map[string][]string{name: vals}); err != nil {
			return err
		}
	}
	a.requested = c.Param("id")
	res, err := h.api.Read(c.Request().Context(), p.Payer, c.Param("id"))
	if err != nil {
		return err
	}
	a.ids = []string{c.Param("id")}
	version, lastUpdated := payerapi.Version(res)
	if version != "" && !strings.ContainsAny(version, `"\`) {
		c.Response().Header().Set("ETag", `W/"`+version+`"`)
	}
	if t, err := time.Parse(time.RFC3339Nano, lastUpdated); err == nil {
		c.Response().Header().Set("Last-Modified", t.UTC().Format(http.TimeFormat))
	}
	return c.Blob(http.StatusOK, fhirJSON, res)
}

func (h *payerFHIR) search(c echo.Context, p payerauth.Principal, a *access) error {
	ctx := c.Request().Context()
	v := c.QueryParams()
	var page *payerapi.Page
	token, isPage, err := payerapi.ParsePageToken(v)
	switch {
	case err != nil:
		return err
	case isPage:
		page, err = h.api.NextPage(ctx, p.Payer, token)
	default:
		var q payerapi.Query
		if q, err = payerapi.ParseSearch(v); err != nil {
			return err
		}
		page, err = h.api.Search(ctx, p.Payer, q)
	}
	if err != nil {
		return err
	}
	a.ids = page.IDs
	return c.Blob(http.StatusOK, fhirJSON, page.Bundle)
}

func (h *payerFHIR) exportKickoff(c echo.Context, p payerauth.Principal, a *access) error {
	req := c.Request()
	if !strings.Contains(strings.ToLower(req.Header.Get("Prefer")), "respond-async") {
		return &httpError{status: http.StatusBadRequest, code: "invalid", msg: "a Bulk Data kick-off needs the header Prefer: respond-async"}
	}
	if acc := req.Header.Get("Accept"); acc != "" && !acceptsFHIRJSON(acc) {
		return &httpError{status: http.StatusBadRequest, code: "not-supported", msg: "Accept must allow application/fhir+json"}
	}
	r, err := payerapi.ParseExport(c.QueryParams())
	if err != nil {
		return err
	}
	r.Request = h.api.Base() + "/$export"
	if req.URL.RawQuery != "" {
		r.Request += "?" + req.URL.RawQuery
	}
	id, err := h.api.Kickoff(req.Context(), p, r)
	if err != nil {
		return err
	}
	a.job = id
	c.Response().Header().Set("Content-Location", h.api.StatusURL(id))
	return payerOutcome(c, http.StatusAccepted, "informational", "export queued; poll the Content-Location")
}

func acceptsFHIRJSON(accept string) bool {
	for part := range strings.SplitSeq(accept, ",") {
		mt, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		switch strings.TrimSpace(mt) {
		case fhirJSON, echo.MIMEApplicationJSON, "*/*", "application/*":
			return true
		}
	}
	return false
}

func (h *payerFHIR) exportStatus(c echo.Context, p payerauth.Principal, a *access) error {
	id := c.Param("job")
	a.requested = id
	st, err := h.api.Status(c.Request().Context(), p, id)
	if err != nil {
		return err
	}
	a.job = id
	hdr := c.Response().Header()
	switch st.State {
	case payerapi.StateComplete:
		hdr.Set("Expires", st.Expires.UTC().Format(http.TimeFormat))
		return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, st.Manifest)
	case payerapi.StateFailed:
		hdr.Set("Expires", st.Expires.UTC().Format(http.TimeFormat))
		return payerOutcome(c, http.StatusInternalServerError, "exception", st.Error)
	}
	hdr.Set("X-Progress", st.State+": "+strconv.Itoa(st.Written)+" determinations written")
	hdr.Set("Retry-After", strconv.Itoa(max(1, int(st.RetryAfter.Round(time.Second)/time.Second))))
	return c.NoContent(http.StatusAccepted)
}

func (h *payerFHIR) exportCancel(c echo.Context, p payerauth.Principal, a *access) error {
	id := c.Param("job")
	a.requested = id
	if err := h.api.Cancel(c.Request().Context(), p, id); err != nil {
		return err
	}
	a.job = id
	return payerOutcome(c, http.StatusAccepted, "informational", "export cancelled and its files deleted")
}

func (h *payerFHIR) exportFile(c echo.Context, p payerauth.Principal, a *access) error {
	id := c.Param("job")
	a.requested = id
	n, err := strconv.Atoi(c.Param("n"))
	if err != nil {
		return payerapi.ErrNotFound
	}
	f, err := h.api.ExportFile(c.Request().Context(), p, id, n)
	if err != nil {
		return err
	}
	a.job, a.ids = id, f.IDs
	c.Response().Header().Set("Expires", f.Expires.UTC().Format(http.TimeFormat))
	return c.Blob(http.StatusOK, fhirNDJSON, f.Body)
}
