package handlers

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"sync"

	"github.com/labstack/echo/v4"
)

// healthz answers GET /healthz: the process serves HTTP.
func (s *Server) healthz(c echo.Context) error {
	return c.String(http.StatusOK, "ok\n")
}

// readyz answers GET /readyz: 200 when every readiness check passes within
// readyTimeout, else 503 with an OperationOutcome naming the failing checks
// (names only: a check's error may carry an address; it is logged).
func (s *Server) readyz(c echo.Context) error {
	ctx := c.Request().Context()
	var (
		mu     sync.Mutex
		failed []string
		wg     sync.WaitGroup
	)
	for name, check := range s.cfg.Ready {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, readyTimeout)
			defer cancel()
			if err := check(cctx); err != nil {
				s.log.LogAttrs(ctx, slog.LevelWarn, "not ready", slog.String("check", name), slog.String("error", err.Error()))
				mu.Lock()
				failed = append(failed, name)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(failed) == 0 {
		return c.String(http.StatusOK, "ready\n")
	}
	slices.Sort(failed)
	issues := make([]issue, 0, len(failed))
	for _, name := range failed {
		issues = append(issues, issue{Severity: "error", Code: "transient", Diagnostics: "not ready: " + name})
	}
	writeOutcome(c, http.StatusServiceUnavailable, issues...)
	return nil
}
