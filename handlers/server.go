// Package handlers is the service's HTTP interface on Echo: the webhook the
// FHIR server notifies, the admin routes, health and metrics. Handlers are
// thin: they check, decode, hand over to the queue and answer; every error
// goes to one handler that answers a FHIR OperationOutcome.
package handlers

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/utilreview/utilreview/service/payerapi"
	"github.com/utilreview/utilreview/service/payerauth"
	"github.com/utilreview/utilreview/service/queue"
)

// Intake is what the webhook hands notifications to (service/queue's Queue).
// Admit queues an entry, or reports it coalesced into one waiting, or
// skipped as a notification of the service's own write.
type Intake interface {
	Admit(ctx context.Context, e queue.Entry) (queue.Admission, error)
	RequestCatchUp(ctx context.Context, reason string) error
	ObserveEvent(ctx context.Context, subscription string, eventNumbers []int64) (catchUp bool, err error)
}

// DeadLetters is what the admin routes list and replay (service/queue's
// Queue). Replay's error matches queue.ErrNotFound for an unknown id.
type DeadLetters interface {
	DeadLetters(ctx context.Context, limit int) ([]queue.DeadLetter, error)
	Replay(ctx context.Context, id string) error
}

// Checker is one readiness check; it returns nil when ready.
type Checker func(ctx context.Context) error

// DefaultMaxBody caps a request body: a notification Bundle with a full
// resource is tens of KB, a Synthea Encounter 1 to 3 KB; 4 MiB leaves room
// for an unusually large Claim without letting a client hold much memory.
const DefaultMaxBody = 4 << 20

// readyTimeout bounds each readiness check: a probe must answer quickly.
const readyTimeout = 2 * time.Second

// Config is the HTTP interface's configuration.
type Config struct {
	// WebhookSecret is the bearer credential the FHIR server sends on every
	// notification (the Subscription's channel header); required.
	WebhookSecret string
	// AdminToken is the bearer credential of /admin/; empty disables those
	// routes (404).
	AdminToken string
	// MaxBody caps request bodies (default DefaultMaxBody).
	MaxBody int64
	// Logger gets one line per refused or failed request (debug for
	// accepted ones); nil discards.
	Logger *slog.Logger
	// Registerer gets the webhook's metrics; nil keeps them unregistered.
	Registerer prometheus.Registerer
	// Gatherer is what GET /metrics serves; when nil, Registerer if it is
	// also a Gatherer; else the route is absent.
	Gatherer prometheus.Gatherer
	// Ready are the readiness checks of GET /readyz, by name.
	Ready map[string]Checker
	// Rules, when set, is the rule store the /admin/rules routes publish
	// to, list and roll back (service/rulestore's Store); else they answer 404.
	Rules Rules
	// MaxRulesBody caps a PUT /admin/rules body (default DefaultMaxRulesBody).
	MaxRulesBody int64
	// PayerAuth, when set, authenticates the payer API: POST
	// /payer/auth/token and the middleware of /payer/fhir
	// (RegisterPayerAuth); nil: the payer API is off.
	PayerAuth *payerauth.Service
	// PayerFHIR, when set, serves the payer portal API at /payer/fhir
	// (RegisterPayerFHIR) behind PayerFHIRAuth, by default PayerAuth's
	// middleware; with neither, its protected routes answer 401.
	PayerFHIR     *payerapi.API
	PayerFHIRAuth echo.MiddlewareFunc
	// Reports, when set, serves GET /reports/committee behind the admin
	// token (service/report's Cache); else the route answers 404.
	Reports Reports
}

// Server holds the routes and what they call.
type Server struct {
	cfg     Config
	in      Intake
	dl      DeadLetters
	log     *slog.Logger
	metrics *metrics
	echo    *echo.Echo
	handler http.Handler
	now     func() time.Time

	secretSum [sha256.Size]byte
	adminSum  [sha256.Size]byte
	// buffers keeps request body buffers between requests: nothing keeps a
	// body after its request (entries carry references, not content).
	buffers sync.Pool
	// payerAuth guards the /payer/fhir group; nil when the payer API is off.
	payerAuth echo.MiddlewareFunc
}

// New builds the routes. in is required; dl may be nil (the dead-letter
// routes then answer 404, as when AdminToken is empty).
func New(cfg Config, in Intake, dl DeadLetters) (*Server, error) {
	switch {
	case cfg.WebhookSecret == "":
		return nil, errors.New("handlers.New: a webhook secret is required")
	case in == nil:
		return nil, errors.New("handlers.New: no intake")
	case cfg.MaxBody < 0:
		return nil, errors.New("handlers.New: MaxBody is negative")
	}
	if cfg.MaxBody == 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.MaxRulesBody <= 0 {
		cfg.MaxRulesBody = DefaultMaxRulesBody
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Gatherer == nil {
		cfg.Gatherer, _ = cfg.Registerer.(prometheus.Gatherer)
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("handlers.New: %w", err)
	}
	s := &Server{
		cfg: cfg, in: in, dl: dl, log: cfg.Logger, metrics: m, now: time.Now,
		secretSum: sha256.Sum256([]byte(cfg.WebhookSecret)),
		adminSum:  sha256.Sum256([]byte(cfg.AdminToken)),
	}
	s.routes()
	return s, nil
}

// Handler is the HTTP handler of every route, traced with OpenTelemetry
// (the global tracer provider and propagator) except health and metrics.
func (s *Server) Handler() http.Handler { return s.handler }

func (s *Server) routes() {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	e.Use(recoverPanic, nameSpan)

	e.PUT("/fhir/notify/:type/:id", s.webhook("put", s.notifyPut))
	e.DELETE("/fhir/notify/:type/:id", s.webhook("delete", s.notifyDelete))
	e.POST("/fhir/notify", s.webhook("post", s.notifyPost))

	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	if s.cfg.Gatherer != nil {
		e.GET("/metrics", s.metricsHandler())
	}

	if s.cfg.PayerAuth != nil {
		s.payerAuth = RegisterPayerAuth(e, s.cfg.PayerAuth, s.log)
	}

	admin := e.Group("/admin", s.adminAuth)
	admin.GET("/deadletters", s.listDeadLetters)
	admin.POST("/deadletters/:id/replay", s.replayDeadLetter)
	admin.PUT("/rules", s.publishRules)
	admin.GET("/rules", s.listRules)
	admin.POST("/rules/rollback", s.rollbackRules)
	e.GET("/reports/committee", s.committeeReport, s.adminAuth)

	if s.cfg.PayerFHIR != nil {
		auth := s.cfg.PayerFHIRAuth
		if auth == nil {
			auth = s.payerAuth
		}
		var mw []echo.MiddlewareFunc
		if auth != nil {
			mw = append(mw, auth)
		}
		RegisterPayerFHIR(e.Group(PayerFHIRPrefix), e.Group(PayerFHIRPrefix, mw...), s.cfg.PayerFHIR, s.log)
	}

	s.echo = e
	s.handler = traced(e)
}

// traced starts a server span for each request (the global tracer provider
// and propagator: W3C trace context from the caller), except for health and
// metrics. It does what the webhook needs of otelhttp at a fraction of its
// cost per request (otelhttp also records HTTP metrics and attribute sets,
// 16 µs a request even untraced; the service's metrics are Prometheus).
func traced(next http.Handler) http.Handler {
	tracer := otel.GetTracerProvider().Tracer("github.com/utilreview/utilreview/handlers")
	prop := otel.GetTextMapPropagator()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz", "/readyz", "/metrics":
			next.ServeHTTP(w, r)
			return
		}
		ctx := prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer))
		defer span.End()
		if !span.IsRecording() {
			next.ServeHTTP(w, r.WithContext(ctx))
			return
		}
		span.SetAttributes(attribute.String("http.request.method", r.Method))
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r.WithContext(ctx))
		span.SetAttributes(attribute.Int("http.response.status_code", sw.status))
		if sw.status >= 500 {
			span.SetStatus(codes.Error, http.StatusText(sw.status))
		}
	})
}

// statusWriter remembers the status code written, for the span.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// nameSpan names the request's span by its route once Echo has routed it:
// "PUT /fhir/notify/:type/:id", never the ids of the path.
func nameSpan(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if span := trace.SpanFromContext(c.Request().Context()); span.IsRecording() {
			route := c.Path()
			span.SetName(c.Request().Method + " " + route)
			span.SetAttributes(attribute.String("http.route", route))
		}
		return next(c)
	}
}

// recoverPanic turns a handler's panic into an internal error, answered
// 500 and logged by handleError, instead of a dropped connection.
func recoverPanic(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				err = fmt.Errorf("panic: %v", p)
			}
		}()
		return next(c)
	}
}

// traceID is the request's trace id for logs, "" when it has none.
func traceID(ctx context.Context) string {
	if sc := trace.SpanContextFromContext(ctx); sc.HasTraceID() {
		return sc.TraceID().String()
	}
	return ""
}
