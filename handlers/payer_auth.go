package handlers

import (
	"errors"
	"io"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/utilreview/utilreview/service/payerauth"
)

// maxTokenRequestBody caps a token request: four parameters, one of them
// a JWT of a few KB.
const maxTokenRequestBody = 64 << 10

// payerRealm names the protection space in WWW-Authenticate.
const payerRealm = "utilreview payer API"

// RegisterPayerAuth adds the payer API's token endpoint (POST
// /payer/auth/token, SMART Backend Services) to e and returns the
// middleware that guards /payer/fhir: it authenticates the bearer token
// (an access token of the token endpoint, or a JWT of a configured
// external issuer), applies the client's rate limit, puts the Principal in
// the request's context (payerauth.FromContext), and writes one audit line
// per request. log gets the audit lines; nil discards.
func RegisterPayerAuth(e *echo.Echo, auth *payerauth.Service, log *slog.Logger) echo.MiddlewareFunc {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	pa := &payerAuth{auth: auth, log: log}
	e.POST(payerauth.TokenPath, pa.token)
	return pa.middleware
}

type payerAuth struct {
	auth *payerauth.Service
	log  *slog.Logger
}

// oauthError is the token endpoint's error body (RFC 6749 section 5.2).
type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// token answers POST /payer/auth/token.
func (pa *payerAuth) token(c echo.Context) error {
	r := c.Request()
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	start := time.Now()
	answer := func(status int, body any, client, payer, outcome, reason, scope string) error {
		pa.audit(c, slog.String("event", "token"), slog.String("client_id", client), slog.String("payer", payer),
			slog.String("outcome", outcome), slog.String("reason", reason), slog.String("scope", scope), slog.Int("status", status),
			slog.Duration("duration", time.Since(start)))
		return c.JSON(status, body)
	}
	refuse := func(status int, code, desc, reason string) error {
		return answer(status, oauthError{Error: code, Description: desc}, "", "", "refused", reason, "")
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/x-www-form-urlencoded" {
		return refuse(http.StatusBadRequest, payerauth.ErrCodeInvalidRequest, "the body must be application/x-www-form-urlencoded", "content-type")
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), r.Body, maxTokenRequestBody))
	if err != nil {
		return refuse(http.StatusBadRequest, payerauth.ErrCodeInvalidRequest, "the body is too large or unreadable", "body")
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return refuse(http.StatusBadRequest, payerauth.ErrCodeInvalidRequest, "the body is not form-encoded", "body")
	}
	// RFC 6749 section 3.2: request parameters must not be repeated.
	for _, k := range []string{"grant_type", "client_assertion_type", "client_assertion", "scope", "client_id"} {
		if len(form[k]) > 1 {
			return refuse(http.StatusBadRequest, payerauth.ErrCodeInvalidRequest, k+" is given more than once", "repeated-parameter")
		}
	}
	resp, err := pa.auth.IssueToken(r.Context(), payerauth.TokenRequest{
		ClientID: form.Get("client_id"), GrantType: form.Get("grant_type"), ClientAssertionType: form.Get("client_assertion_type"),
		ClientAssertion: form.Get("client_assertion"), Scope: form.Get("scope"),
	})
	var pe *payerauth.Error
	var rl *payerauth.RateLimitError
	switch {
	case errors.As(err, &pe):
		return answer(pe.Status(), oauthError{Error: pe.Code, Description: pe.Description}, pe.Client, "", "refused", pe.Reason, "")
	case errors.As(err, &rl):
		h.Set("Retry-After", retryAfter(rl.RetryAfter))
		return answer(http.StatusTooManyRequests, oauthError{Error: "slow_down", Description: "too many token requests; retry after the Retry-After seconds"},
			rl.Client, "", "rate-limited", "rate-limit", "")
	case err != nil:
		pa.log.LogAttrs(r.Context(), slog.LevelError, "payer token request failed", slog.String("error", err.Error()),
			slog.String("trace_id", traceID(r.Context())))
		h.Set("Retry-After", "5")
		return answer(http.StatusServiceUnavailable, oauthError{Error: "temporarily_unavailable", Description: "the service cannot issue tokens now"},
			"", "", "unavailable", "store", "")
	}
	return answer(http.StatusOK, resp, resp.Principal.ClientID, resp.Principal.Payer.String(), "granted", "", resp.Scope)
}

// middleware guards the payer API's routes.
func (pa *payerAuth) middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		ctx := r.Context()
		token, ok := bearer(r)
		if !ok {
			pa.audit(c, slog.String("event", "access"), slog.String("outcome", "refused"), slog.String("reason", "no-token"),
				slog.Int("status", http.StatusUnauthorized))
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="`+payerRealm+`"`)
			writeOutcome(c, http.StatusUnauthorized, issue{Severity: "error", Code: "login", Diagnostics: "an access token is required (Authorization: Bearer)"})
			return nil
		}
		p, err := pa.auth.Authenticate(ctx, token)
		var pe *payerauth.Error
		if errors.As(err, &pe) {
			pa.audit(c, slog.String("event", "access"), slog.String("client_id", pe.Client), slog.String("issuer", pe.Issuer),
				slog.String("outcome", "refused"), slog.String("reason", pe.Reason), slog.Int("status", http.StatusUnauthorized))
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="`+payerRealm+`", error="invalid_token", error_description="`+
				strings.ReplaceAll(pe.Description, `"`, "'")+`"`)
			writeOutcome(c, http.StatusUnauthorized, issue{Severity: "error", Code: "security", Diagnostics: pe.Description})
			return nil
		}
		if err != nil {
			return pa.unavailable(c, "authentication", err)
		}
		d, err := pa.auth.Allow(ctx, p)
		if err != nil {
			return pa.unavailable(c, "rate limit", err)
		}
		if !d.Allowed {
			pa.audit(c, slog.String("event", "access"), slog.String("client_id", p.ClientID), slog.String("issuer", p.Issuer),
				slog.String("payer", p.Payer.String()), slog.String("outcome", "rate-limited"), slog.Int("status", http.StatusTooManyRequests))
			c.Response().Header().Set("Retry-After", retryAfter(d.RetryAfter))
			writeOutcome(c, http.StatusTooManyRequests, issue{Severity: "error", Code: "throttled",
				Diagnostics: "the client's rate limit of " + strconv.Itoa(d.Limit) + " requests is reached; retry after the Retry-After seconds"})
			return nil
		}
		ctx, audit := payerauth.WithAudit(payerauth.WithPrincipal(ctx, p))
		c.SetRequest(r.WithContext(ctx))
		err = next(c)
		status := c.Response().Status
		if err != nil {
			status = asHTTPError(err).status
		}
		refs, more := audit.Resources()
		op, requested := audit.Operation()
		pa.audit(c, slog.String("event", "access"), slog.String("client_id", p.ClientID), slog.String("issuer", p.Issuer),
			slog.String("payer", p.Payer.String()), slog.String("outcome", "granted"), slog.Int("status", status),
			slog.String("operation", op), slog.String("requested", requested),
			slog.Any("resources", refs), slog.Int("resources_more", more))
		return err
	}
}

// unavailable answers 503 when Redis cannot say whether a token is good:
// never let a request through unauthenticated.
func (pa *payerAuth) unavailable(c echo.Context, what string, err error) error {
	ctx := c.Request().Context()
	pa.log.LogAttrs(ctx, slog.LevelError, "payer "+what+" failed", slog.String("error", err.Error()), slog.String("trace_id", traceID(ctx)))
	pa.audit(c, slog.String("event", "access"), slog.String("outcome", "unavailable"), slog.Int("status", http.StatusServiceUnavailable))
	c.Response().Header().Set("Retry-After", "5")
	writeOutcome(c, http.StatusServiceUnavailable, issue{Severity: "error", Code: "transient", Diagnostics: "the service cannot check credentials now"})
	return nil
}

// audit writes one audit line: who, what, the decision, when (the log
// record's time). Never a token, never PHI.
func (pa *payerAuth) audit(c echo.Context, attrs ...slog.Attr) {
	r := c.Request()
	ctx := r.Context()
	attrs = append(attrs, slog.String("method", r.Method), slog.String("route", c.Path()), slog.String("trace_id", traceID(ctx)))
	pa.log.LogAttrs(ctx, slog.LevelInfo, "payer audit", attrs...)
}

// retryAfter is a Retry-After value: whole seconds, at least 1.
func retryAfter(d time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(d.Seconds()))))
}

// RequirePayerScope is the check every payer API route makes before it
// answers (the FHIR routes' guard): the request's Principal must allow the interaction ('r' read,
// 's' search) on the resource type. It answers 401 without a Principal
// (the route is not behind the middleware) and 403 without the scope.
func RequirePayerScope(c echo.Context, resourceType string, interaction byte) (payerauth.Principal, error) {
	p, ok := payerauth.FromContext(c.Request().Context())
	if !ok {
		c.Response().Header().Set("WWW-Authenticate", `Bearer realm="`+payerRealm+`"`)
		return p, errNoCredentials
	}
	if !p.Allows(resourceType, interaction) {
		c.Response().Header().Set("WWW-Authenticate", `Bearer realm="`+payerRealm+`", error="insufficient_scope", scope="system/`+
			resourceType+"."+string(interaction)+`"`)
		return p, &httpError{status: http.StatusForbidden, code: "forbidden",
			msg: "the access token's scopes do not allow this interaction on " + resourceType}
	}
	return p, nil
}
