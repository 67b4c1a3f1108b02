package handlers

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/utilreview/utilreview/service/queue"
)

// Dead-letter listing bounds.
const (
	defaultDeadLetterLimit = 100
	maxDeadLetterLimit     = 1000
)

// adminAuth guards /admin/: 404 when no admin token is configured (the
// routes do not exist then), 401 without credentials, 403 with wrong ones.
func (s *Server) adminAuth(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.cfg.AdminToken == "" {
			return errNotFound
		}
		token, ok := bearer(c.Request())
		err := errNoCredentials
		if ok {
			err = errBadToken
			if sum := sha256.Sum256([]byte(token)); subtle.ConstantTimeCompare(sum[:], s.adminSum[:]) == 1 {
				return next(c)
			}
		}
		ctx := c.Request().Context()
		s.log.LogAttrs(ctx, slog.LevelWarn, "admin request refused", slog.String("route", c.Path()),
			slog.Int("status", err.status), slog.String("trace_id", traceID(ctx)))
		return err
	}
}

// deadLetter is one dead letter as GET /admin/deadletters lists it: what to
// review and why it failed; references and ids only.
type deadLetter struct {
	ID       string    `json:"id"`
	Patient  string    `json:"patient,omitempty"`
	Resource string    `json:"resource,omitempty"`
	Version  string    `json:"version,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	Attempts int       `json:"attempts"`
	Enqueued time.Time `json:"enqueued,omitzero"`
	Error    string    `json:"error"`
	At       time.Time `json:"at,omitzero"`
}

// listDeadLetters answers GET /admin/deadletters[?limit=n]: a JSON array,
// newest first.
func (s *Server) listDeadLetters(c echo.Context) error {
	if s.dl == nil {
		return errNotFound
	}
	limit := defaultDeadLetterLimit
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxDeadLetterLimit {
			return badRequest("limit must be an integer from 1 to " + strconv.Itoa(maxDeadLetterLimit))
		}
		limit = n
	}
	list, err := s.dl.DeadLetters(c.Request().Context(), limit)
	if err != nil {
		return unavailable("the queue cannot list dead letters now", err)
	}
	out := make([]deadLetter, 0, len(list))
	for _, d := range list {
		out = append(out, deadLetter{
			ID: d.ID, Patient: d.Entry.Patient, Resource: d.Entry.Resource, Version: d.Entry.Version,
			Reason: d.Entry.Reason, Attempts: d.Entry.Attempt, Enqueued: d.Entry.Enqueued, Error: d.Error, At: d.At,
		})
	}
	return c.JSON(http.StatusOK, out)
}

// replayDeadLetter answers POST /admin/deadletters/{id}/replay: 204 once
// the entry is back in the queue, 404 for an unknown id.
func (s *Server) replayDeadLetter(c echo.Context) error {
	if s.dl == nil {
		return errNotFound
	}
	err := s.dl.Replay(c.Request().Context(), c.Param("id"))
	switch {
	case errors.Is(err, queue.ErrNotFound):
		return errNotFound
	case err != nil:
		return unavailable("the queue cannot replay the dead letter now", err)
	}
	return c.NoContent(http.StatusNoContent)
}
