package fhir

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
)

// The HTTP client's API (details on each declaration):
//
//	func NewClient(cfg ClientConfig) (*Client, error)
//	func (c *Client) Do(ctx, method, path string, body []byte, header http.Header) (*Response, error)
//	func (c *Client) Read / Create / Update / Delete
//	func (c *Client) Search(ctx, typ string, params url.Values, each func(Entry) error) error
//	func (c *Client) SearchPages(ctx, page []byte, each func(Entry) error) error
//	func (c *Client) Batch / Transaction(ctx, bundle []byte) ([]Entry, error)
//	errors: *Error (IsStatus), with the OperationOutcome's issues
//	auth: TokenSource, BearerTokenFile (auth.go), NewSMARTTokenSource (smart.go)
//
// Retries. A request is sent again after a network error, a timeout of the
// attempt, 429, 500, 502, 503 or 504, with exponential back-off and full
// jitter (Retry-After wins when the server sends one). That includes POST
// and PUT: utilreview's writes are conditional creates (If-None-Exist, or
// ifNoneExist inside a transaction) and If-Match updates, which a server
// applies at most once, so sending one twice cannot duplicate or overwrite.
// A caller of Do or Transaction with a write that is not conditional must
// set MaxAttempts to 1 or accept that risk. Create without ifNoneExist is
// the one exception the client knows of: it is retried only on 429.

// Defaults of ClientConfig.
const (
	DefaultTimeout        = 30 * time.Second
	DefaultMaxAttempts    = 5
	DefaultMinBackoff     = 250 * time.Millisecond
	DefaultMaxBackoff     = 10 * time.Second
	DefaultMaxConcurrency = 8
	DefaultUserAgent      = "utilreview"
	// MaxResponseBytes caps a response body: a larger one is an error, not
	// an out-of-memory.
	MaxResponseBytes = 64 << 20
)

const fhirJSON = "application/fhir+json"

// ClientConfig configures a Client. Zero values take the defaults.
type ClientConfig struct {
	BaseURL     string        // e.g. http://127.0.0.1:39501/fhir
	Auth        TokenSource   // nil: no Authorization header
	Timeout     time.Duration // per attempt; default 30s
	MaxAttempts int           // default 5 (1 = no retry)
	// MinBackoff and MaxBackoff bound the exponential back-off (defaults
	// 250ms, 10s); a Retry-After is honoured up to 3*MaxBackoff.
	MinBackoff, MaxBackoff time.Duration
	// MaxConcurrency bounds the requests in flight to the server at once,
	// across every goroutine using this Client (default 8).
	MaxConcurrency int
	// Transport default: otelhttp.NewTransport over http.DefaultTransport,
	// with the query string taken out of the span's url.full (it carries
	// identifiers).
	Transport http.RoundTripper
	UserAgent string // default "utilreview"
}

// Client is a FHIR R4 REST client for one server. It is safe for concurrent use.
type Client struct {
	base        string // no trailing slash
	baseURL     *url.URL
	http        *http.Client
	auth        TokenSource
	timeout     time.Duration
	maxAttempts int
	minBackoff  time.Duration
	maxBackoff  time.Duration
	sem         chan struct{}
	userAgent   string
	maxBody     int64
}

// NewClient checks cfg and returns a Client. BaseURL must be an absolute
// http or https URL without query, fragment or user info.
func NewClient(cfg ClientConfig) (*Client, error) {
	base := strings.TrimRight(strings.TrimSpace(cfg.BaseURL), "/")
	u, err := url.Parse(base)
	switch {
	case base == "":
		return nil, errors.New("fhir client: base URL is empty")
	case err != nil:
		return nil, errors.New("fhir client: base URL is not a URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("fhir client: base URL must be http or https, got scheme %q", u.Scheme)
	case u.Host == "":
		return nil, errors.New("fhir client: base URL has no host")
	case u.User != nil:
		return nil, errors.New("fhir client: base URL must not carry credentials; use Auth")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return nil, errors.New("fhir client: base URL must not have a query or fragment")
	}
	c := &Client{
		base:        base,
		baseURL:     u,
		auth:        cfg.Auth,
		timeout:     orDefault(cfg.Timeout, DefaultTimeout),
		maxAttempts: orDefault(cfg.MaxAttempts, DefaultMaxAttempts),
		minBackoff:  orDefault(cfg.MinBackoff, DefaultMinBackoff),
		maxBackoff:  orDefault(cfg.MaxBackoff, DefaultMaxBackoff),
		userAgent:   cfg.UserAgent,
		maxBody:     MaxResponseBytes,
	}
	if cfg.Timeout < 0 || cfg.MaxAttempts < 0 || cfg.MinBackoff < 0 || cfg.MaxBackoff < 0 || cfg.MaxConcurrency < 0 {
		return nil, errors.New("fhir client: timeout, attempts, back-off and concurrency must not be negative")
	}
	if c.maxBackoff < c.minBackoff {
		return nil, fmt.Errorf("fhir client: max back-off %s is less than min back-off %s", c.maxBackoff, c.minBackoff)
	}
	if c.userAgent == "" {
		c.userAgent = DefaultUserAgent
	}
	c.sem = make(chan struct{}, orDefault(cfg.MaxConcurrency, DefaultMaxConcurrency))
	rt := cfg.Transport
	if rt == nil {
		rt = NewTransport(http.DefaultTransport)
	}
	// No Client.Timeout: each attempt has its own deadline, which also
	// covers reading the body.
	c.http = &http.Client{Transport: rt, CheckRedirect: c.checkRedirect}
	return c, nil
}

// checkRedirect follows a redirect only under the base URL: the request
// carries the token and, in its query, identifiers.
func (c *Client) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return &permanentError{errors.New("more than 5 redirects")}
	}
	if !c.underBase(req.URL.String()) {
		return &permanentError{errors.New("redirect to a URL outside the base URL: refused")}
	}
	return nil
}

func orDefault[T int | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// Base is the base URL, without a trailing slash.
func (c *Client) Base() string { return c.base }

// Response is a 2xx answer, read in full.
type Response struct {
	Status   int
	Header   http.Header
	Body     []byte
	Location string // Location header (Content-Location when there is none)
	// VersionID is the resource version the server reports: from ETag W/"n",
	// else from a Location ending in _history/n.
	VersionID string
}

// Do sends one request and returns the answer when it is 2xx; any other
// status is an *Error (after retries, see the package comment on retries).
// path is relative to the base ("Encounter/1", "Task?identifier=..."; "" is
// the base itself), or an absolute URL under the base (a paging link);
// anything else is refused, so a token never goes to another server. The
// header is added to the request; Accept, Content-Type (when body is not
// nil) and Authorization are the client's.
func (c *Client) Do(ctx context.Context, method, path string, body []byte, header http.Header) (*Response, error) {
	return c.send(ctx, call{op: "do", method: method, path: path, body: body, header: header, idempotent: true})
}

// Read reads typ/id.
func (c *Client) Read(ctx context.Context, typ, id string) (*Response, error) {
	p, err := resourcePath("read", http.MethodGet, typ, id)
	if err != nil {
		return nil, err
	}
	return c.send(ctx, call{op: "read", method: http.MethodGet, path: p, idempotent: true})
}

// Create posts resource to typ. With ifNoneExist (a search query such as
// "identifier=sys|val", unescaped or escaped) the create is conditional: the
// server answers 200 with the resource that matches, 201 when it created
// one, and HAPI 409 when a concurrent create won the race.
func (c *Client) Create(ctx context.Context, typ string, resource []byte, ifNoneExist string) (*Response, error) {
	if !IsTypeName(typ) {
		return nil, &Error{Op: "create", Method: http.MethodPost, Err: errors.New("invalid resource type")}
	}
	var h http.Header
	if ifNoneExist != "" {
		q, err := escapeQuery(ifNoneExist)
		if err != nil {
			return nil, &Error{Op: "create", Method: http.MethodPost, Path: typ, Err: errors.New("If-None-Exist is not a query string")}
		}
		h = http.Header{"If-None-Exist": {q}}
	}
	return c.send(ctx, call{op: "create", method: http.MethodPost, path: typ, body: resource, header: h, idempotent: ifNoneExist != ""})
}

// Update puts resource at typ/id; with ifMatchVersion the server applies it
// only to that version (If-Match: W/"<v>"), and HAPI answers 409 when the
// resource has moved on.
func (c *Client) Update(ctx context.Context, typ, id string, resource []byte, ifMatchVersion string) (*Response, error) {
	p, err := resourcePath("update", http.MethodPut, typ, id)
	if err != nil {
		return nil, err
	}
	var h http.Header
	if ifMatchVersion != "" {
		if strings.ContainsAny(ifMatchVersion, "\"\\ \t\r\n") {
			return nil, &Error{Op: "update", Method: http.MethodPut, Path: p, Err: errors.New("invalid version id")}
		}
		h = http.Header{"If-Match": {`W/"` + ifMatchVersion + `"`}}
	}
	return c.send(ctx, call{op: "update", method: http.MethodPut, path: p, body: resource, header: h, idempotent: true})
}

// Delete deletes typ/id.
func (c *Client) Delete(ctx context.Context, typ, id string) (*Response, error) {
	p, err := resourcePath("delete", http.MethodDelete, typ, id)
	if err != nil {
		return nil, err
	}
	return c.send(ctx, call{op: "delete", method: http.MethodDelete, path: p, idempotent: true})
}

func resourcePath(op, method, typ, id string) (string, error) {
	if !IsTypeName(typ) || !IsID(id) {
		// The id is not shown: it failed validation, so it may be anything.
		return "", &Error{Op: op, Method: method, Path: safeType(typ), Err: errors.New("invalid resource type or id")}
	}
	return typ + "/" + id, nil
}

func safeType(typ string) string {
	if IsTypeName(typ) {
		return typ
	}
	return ""
}

// escapeQuery re-encodes a query string so that every value is escaped
// ("identifier=sys|val" -> "identifier=sys%7Cval"), keeping the order.
func escapeQuery(q string) (string, error) {
	var parts []string
	for _, kv := range strings.Split(q, "&") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		uk, err := url.QueryUnescape(k)
		if err != nil {
			return "", err
		}
		uv, err := url.QueryUnescape(v)
		if err != nil {
			return "", err
		}
		parts = append(parts, url.QueryEscape(uk)+"="+url.QueryEscape(uv))
	}
	if len(parts) == 0 {
		return "", errors.New("empty query")
	}
	return strings.Join(parts, "&"), nil
}

// call is one logical request, sent as one or more attempts.
type call struct {
	op, method, path string
	body             []byte
	header           http.Header
	// idempotent: sending it twice does no harm, so it is retried after
	// failures that leave open whether the server applied it.
	idempotent bool
	// shownPath, when set, is the Path of errors instead of the path's own.
	shownPath string
}

func (cl call) fail(attempts, status int, issues []Issue, err error) *Error {
	p := cl.shownPath
	if p == "" {
		p = pathWithoutQuery(cl.path)
	}
	return &Error{Op: cl.op, Method: cl.method, Path: p, Status: status, Issues: issues, Attempts: attempts, Err: err}
}

// pathWithoutQuery is what errors show of a path: no query, no fragment, and
// for an absolute URL only the part after the host.
func pathWithoutQuery(p string) string {
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	if strings.HasPrefix(p, "http://") || strings.HasPrefix(p, "https://") {
		if u, err := url.Parse(p); err == nil {
			return u.EscapedPath()
		}
		return ""
	}
	return p
}

// target resolves a call's path against the base.
func (c *Client) target(p string) (string, error) {
	if strings.HasPrefix(p, "http://") || strings.HasPrefix(p, "https://") {
		if !c.underBase(p) {
			return "", errors.New("URL is not under the base URL: refused")
		}
		return p, nil
	}
	p = strings.TrimLeft(p, "/")
	rel := p
	if i := strings.IndexAny(rel, "?#"); i >= 0 {
		rel = rel[:i]
	}
	for _, seg := range strings.Split(rel, "/") {
		if seg == ".." || seg == "." {
			return "", errors.New("path with dot segments: refused")
		}
	}
	if strings.Contains(rel, "://") || strings.ContainsAny(rel, " \t\r\n") {
		return "", errors.New("malformed path")
	}
	if p == "" {
		return c.base, nil
	}
	if p[0] == '?' {
		return c.base + p, nil
	}
	return c.base + "/" + p, nil
}

// underBase reports whether the absolute URL s is the base or below it: same
// scheme and host (default ports folded), path equal to the base's or under
// it, no user info.
func (c *Client) underBase(s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.User != nil || u.Opaque != "" {
		return false
	}
	b := c.baseURL
	if !strings.EqualFold(u.Scheme, b.Scheme) || hostPort(u) != hostPort(b) {
		return false
	}
	up, bp := u.EscapedPath(), strings.TrimRight(b.EscapedPath(), "/")
	if up != bp && up != bp+"/" && !strings.HasPrefix(up, bp+"/") {
		return false
	}
	for _, seg := range strings.Split(up, "/") {
		if seg == ".." || seg == "." {
			return false
		}
	}
	return true
}

func hostPort(u *url.URL) string {
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[strings.ToLower(u.Scheme)]
	}
	return host + ":" + port
}

// send runs the attempts of one call: a token for each, one fresh token
// after a 401, back-off between retryable failures, and stops at once when
// ctx ends.
func (c *Client) send(ctx context.Context, cl call) (*Response, error) {
	target, err := c.target(cl.path)
	if err != nil {
		return nil, cl.fail(0, 0, nil, err)
	}
	refreshed := false
	for attempt, sent := 1, 0; ; attempt++ {
		token := ""
		if c.auth != nil {
			if token, err = c.auth.Token(ctx); err != nil {
				return nil, cl.fail(sent, 0, nil, fmt.Errorf("access token: %w", err))
			}
		}
		sent++
		resp, err := c.attempt(ctx, cl, target, token)
		if err == nil && resp.Status >= 200 && resp.Status < 300 {
			return resp, nil
		}
		if ctx.Err() != nil {
			return nil, cl.fail(sent, 0, nil, ctx.Err())
		}
		var failure *Error
		if err != nil {
			failure = cl.fail(sent, 0, nil, err)
		} else {
			var issues []Issue
			if oo := parseOutcome(resp.Body); oo != nil {
				issues = oo.Issues
			}
			failure = cl.fail(sent, resp.Status, issues, nil)
		}
		if resp != nil && resp.Status == http.StatusUnauthorized && c.auth != nil && !refreshed {
			// The token may have been revoked or expired early: one more try
			// with a fresh one, not counted as an attempt.
			refreshed = true
			if inv, ok := c.auth.(TokenInvalidator); ok {
				inv.Invalidate(token)
			}
			attempt--
			continue
		}
		if attempt >= c.maxAttempts || !retryable(cl, resp, err) {
			return nil, failure
		}
		if err := sleep(ctx, c.backoff(attempt, resp)); err != nil {
			return nil, cl.fail(sent, 0, nil, err)
		}
	}
}

// attempt sends one request within the concurrency bound and the attempt's
// deadline, and reads the whole body. A non-2xx status is not an error here.
func (c *Client) attempt(ctx context.Context, cl call, target, token string) (*Response, error) {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-c.sem }()

	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var body io.Reader
	if cl.body != nil {
		body = bytes.NewReader(cl.body)
	}
	req, err := http.NewRequestWithContext(actx, cl.method, target, body)
	if err != nil {
		return nil, &permanentError{errors.New("cannot build the request")}
	}
	for k, vs := range cl.header {
		req.Header[http.CanonicalHeaderKey(k)] = append([]string(nil), vs...)
	}
	req.Header.Set("Accept", fhirJSON)
	req.Header.Set("User-Agent", c.userAgent)
	if cl.body != nil {
		req.Header.Set("Content-Type", fhirJSON)
	}
	req.Header.Del("Authorization")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return nil, c.transportError(ctx, actx, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, c.maxBody+1))
	if err != nil {
		return nil, c.transportError(ctx, actx, err)
	}
	if int64(len(data)) > c.maxBody {
		return nil, &permanentError{fmt.Errorf("response body larger than %d bytes", c.maxBody)}
	}
	r := &Response{Status: res.StatusCode, Header: res.Header, Body: data}
	r.Location = res.Header.Get("Location")
	if r.Location == "" {
		r.Location = res.Header.Get("Content-Location")
	}
	r.VersionID = versionFromETag(res.Header.Get("ETag"))
	if r.VersionID == "" && r.Location != "" {
		loc, _, _ := strings.Cut(r.Location, "?")
		if ref, ok := ParseReference(loc); ok {
			r.VersionID = ref.Version
		}
	}
	return r, nil
}

// transportError strips the URL (with its query) from a transport error and
// names an attempt's own timeout as such.
func (c *Client) transportError(ctx, actx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if errors.Is(actx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("attempt timed out after %s", c.timeout)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return err
}

// permanentError is a failure that sending again would repeat.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

func versionFromETag(etag string) string {
	etag = strings.TrimPrefix(strings.TrimSpace(etag), "W/")
	if len(etag) >= 2 && etag[0] == '"' && etag[len(etag)-1] == '"' {
		return etag[1 : len(etag)-1]
	}
	return ""
}

// NewTransport is the client's default transport over next: traced with
// otelhttp, the query (which carries PHI) left out of the spans. A caller
// that sets ClientConfig.Transport to add a layer of its own (metrics) wraps
// this one.
func NewTransport(next http.RoundTripper) http.RoundTripper {
	return otelhttp.NewTransport(redactQuery{next})
}
