package handlers

import (
	"bytes"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/utilreview/utilreview/service/report"
)

// Reports is what GET /reports/committee calls (service/report's Cache): the
// report of a period, computed in the background; nil and no error while it
// is being computed.
type Reports interface {
	Committee(from, to time.Time) (*report.Report, time.Time, error)
}

// maxReportDays bounds a report's period: a committee looks at months, and a
// longer period is a heavier read of the FHIR server.
const maxReportDays = 3*366 + 1

// reportRetryAfter is the Retry-After of a report still being computed, in seconds.
const reportRetryAfter = 10

// committeeReport answers GET /reports/committee?from=YYYY-MM-DD&to=YYYY-MM-DD[&format=html|json|csv]:
// 200 with the report (HTML by default), 202 with Retry-After while it is
// being computed, 400 for a bad period, 503 when it could not be computed.
func (s *Server) committeeReport(c echo.Context) error {
	if s.cfg.Reports == nil {
		return errNotFound
	}
	q := c.Request().URL.Query()
	from, err1 := time.Parse(time.DateOnly, q.Get("from"))
	to, err2 := time.Parse(time.DateOnly, q.Get("to"))
	switch {
	case err1 != nil || err2 != nil:
		return badRequest("from and to are required, as YYYY-MM-DD")
	case to.Before(from):
		return badRequest("to is before from")
	case to.Sub(from) > maxReportDays*24*time.Hour:
		return badRequest("the period is longer than 3 years")
	}
	format := q.Get("format")
	if format == "" {
		format = "html"
	}
	if format != "html" && format != "json" && format != "csv" {
		return badRequest("format must be html, json or csv")
	}
	rep, at, err := s.cfg.Reports.Committee(from, to)
	if err != nil {
		return unavailable("the report could not be computed", err)
	}
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	if rep == nil {
		h.Set("Retry-After", strconv.Itoa(reportRetryAfter))
		return c.JSON(http.StatusAccepted, map[string]string{"status": "computing", "from": q.Get("from"), "to": q.Get("to")})
	}
	h.Set("Last-Modified", at.UTC().Format(http.TimeFormat))
	var buf bytes.Buffer
	var ctype string
	switch format {
	case "json":
		err, ctype = report.WriteJSON(&buf, rep), "application/json"
	case "csv":
		err, ctype = report.WriteCSV(&buf, rep), "text/csv; charset=utf-8"
		h.Set("Content-Disposition", `attachment; filename="committee-`+q.Get("from")+`-`+q.Get("to")+`.csv"`)
	default:
		err, ctype = report.WriteHTML(&buf, rep), "text/html; charset=utf-8"
	}
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	s.log.LogAttrs(ctx, slog.LevelDebug, "committee report served", slog.String("format", format), slog.String("trace_id", traceID(ctx)))
	return c.Blob(http.StatusOK, ctype, buf.Bytes())
}
