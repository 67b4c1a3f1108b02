package fhir

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// retryable says whether a failed attempt is worth sending again: network
// errors and attempt timeouts, 429, 500, 502, 503, 504. A call that is not
// idempotent is sent again only after 429, when the server said it did not
// take the request.
func retryable(cl call, resp *Response, err error) bool {
	if err != nil {
		var perm *permanentError
		return cl.idempotent && !errors.As(err, &perm)
	}
	switch resp.Status {
	case http.StatusTooManyRequests:
		return true
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return cl.idempotent
	}
	return false
}

// backoff is the wait before the attempt after attempt n (1-based): the
// server's Retry-After when it sent one (at most 3*MaxBackoff), else full
// jitter over MinBackoff*2^(n-1) capped at MaxBackoff.
func (c *Client) backoff(n int, resp *Response) time.Duration {
	if resp != nil {
		if d, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			return min(d, 3*c.maxBackoff)
		}
	}
	ceiling := c.maxBackoff
	if n-1 < 30 {
		ceiling = min(c.minBackoff<<(n-1), c.maxBackoff)
	}
	if ceiling <= 0 {
		return 0
	}
	return rand.N(ceiling + 1)
}

// retryAfter reads a Retry-After header: delay-seconds or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		if secs > int64(24*time.Hour/time.Second) {
			secs = int64(24 * time.Hour / time.Second)
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// redactQuery sits under otelhttp's transport: otelhttp records the full URL
// as the span's url.full, and a FHIR query carries identifiers and other
// PHI. It overwrites the attribute with the URL without its query before the
// request goes out.
type redactQuery struct{ next http.RoundTripper }

func (r redactQuery) RoundTrip(req *http.Request) (*http.Response, error) {
	if span := trace.SpanFromContext(req.Context()); span.IsRecording() && req.URL != nil {
		u := *req.URL
		u.User = nil
		if u.RawQuery != "" {
			u.RawQuery = "REDACTED"
		}
		u.Fragment = ""
		span.SetAttributes(attribute.String("url.full", u.String()))
	}
	return r.next.RoundTrip(req)
}
