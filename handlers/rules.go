package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/utilreview/utilreview/service/rulestore"
)

// Rules is what the /admin/rules routes call (service/rulestore's Store).
type Rules interface {
	Publish(ctx context.Context, b rulestore.Bundle, label, publisher string) (rulestore.Version, bool, error)
	List(ctx context.Context) ([]rulestore.Version, error)
	Rollback(ctx context.Context, version string) (rulestore.Version, error)
}

// DefaultMaxRulesBody caps a PUT /admin/rules body: the shipped rules are
// about 150 KB as files and 30 KB as a tar.gz; the unpacked files are
// capped at rulestore.MaxBundleBytes.
const DefaultMaxRulesBody = 8 << 20

// publisherHeader names who publishes through the admin API (one token is
// shared by the operators, so the caller says who they are).
const publisherHeader = "X-Utilreview-Publisher"

// publishRules answers PUT /admin/rules: the body is a tar or tar.gz of a
// rule directory. 201 with the version when stored, 200 when the bundle is
// a stored version (made current again), 422 with an OperationOutcome
// listing every validation message when invalid, 409 when it changes a
// stored rule set under the same id@version; nothing changes then.
func (s *Server) publishRules(c echo.Context) error {
	if s.cfg.Rules == nil {
		return errNotFound
	}
	req := c.Request()
	body := http.MaxBytesReader(c.Response(), req.Body, s.cfg.MaxRulesBody)
	b, err := rulestore.ReadTar(body, rulestore.MaxBundleBytes)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errTooLarge
		}
		return &httpError{status: http.StatusBadRequest, code: "structure", msg: "the body is not a tar or tar.gz of a rule directory: " + err.Error()}
	}
	publisher := strings.TrimSpace(req.Header.Get(publisherHeader))
	if publisher == "" {
		publisher = "admin API"
	}
	v, created, err := s.cfg.Rules.Publish(req.Context(), b, "", publisher)
	var re *rulestore.RefusedError
	if errors.As(err, &re) {
		status, code := http.StatusUnprocessableEntity, "invalid"
		if re.Reason == rulestore.ReasonConflict {
			status, code = http.StatusConflict, "conflict"
		}
		s.log.LogAttrs(req.Context(), slog.LevelWarn, "rules publish refused", slog.String("reason", re.Reason),
			slog.Int("problems", len(re.Problems)), slog.String("trace_id", traceID(req.Context())))
		issues := make([]issue, 0, len(re.Problems))
		for _, p := range re.Problems {
			issues = append(issues, issue{Severity: "error", Code: code, Diagnostics: p})
		}
		writeOutcome(c, status, issues...)
		return nil
	}
	if err != nil {
		return unavailable("the rule store cannot publish now", err)
	}
	s.log.LogAttrs(req.Context(), slog.LevelInfo, "rules published", slog.String("version", v.Hash),
		slog.Bool("new", created), slog.String("trace_id", traceID(req.Context())))
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return c.JSON(status, v)
}

// listRules answers GET /admin/rules: the stored versions, current first.
func (s *Server) listRules(c echo.Context) error {
	if s.cfg.Rules == nil {
		return errNotFound
	}
	list, err := s.cfg.Rules.List(c.Request().Context())
	if err != nil {
		return unavailable("the rule store cannot list versions now", err)
	}
	if list == nil {
		list = []rulestore.Version{}
	}
	return c.JSON(http.StatusOK, list)
}

// rollbackRules answers POST /admin/rules/rollback {"version": "<hash>"}:
// 200 with the version made current, 404 for an unknown one.
func (s *Server) rollbackRules(c echo.Context) error {
	if s.cfg.Rules == nil {
		return errNotFound
	}
	var in struct {
		Version string `json:"version"`
	}
	dec := json.NewDecoder(io.LimitReader(c.Request().Body, 4096))
	if err := dec.Decode(&in); err != nil || in.Version == "" {
		return badRequest(`the body must be {"version": "<hash>"}`)
	}
	v, err := s.cfg.Rules.Rollback(c.Request().Context(), in.Version)
	switch {
	case errors.Is(err, rulestore.ErrNotFound):
		return &httpError{status: http.StatusNotFound, code: "not-found", msg: "no such rules version"}
	case errors.Is(err, rulestore.ErrAmbiguous):
		return badRequest("the version names more than one stored version: give more of the hash")
	case errors.Is(err, rulestore.ErrShortVersion):
		return badRequest("give at least 7 characters of the version hash")
	case err != nil:
		return unavailable("the rule store cannot roll back now", err)
	}
	s.log.LogAttrs(c.Request().Context(), slog.LevelInfo, "rules rolled back", slog.String("version", v.Hash),
		slog.String("trace_id", traceID(c.Request().Context())))
	return c.JSON(http.StatusOK, v)
}
