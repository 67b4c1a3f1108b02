package fhir

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// newTestClient is a client of base without telemetry, with back-off waits
// of milliseconds unless cfg says otherwise.
func newTestClient(t *testing.T, base string, cfg ClientConfig) *Client {
	t.Helper()
	cfg.BaseURL = base
	if cfg.MinBackoff == 0 {
		cfg.MinBackoff = time.Millisecond
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = 5 * time.Millisecond
	}
	if cfg.Transport == nil {
		cfg.Transport = http.DefaultTransport
	}
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// recorder is a FHIR server stub: it answers each request with the next of
// its answers (the last one repeats) and records when each came.
type recorder struct {
	mu      sync.Mutex
	answers []func(w http.ResponseWriter, r *http.Request)
	times   []time.Time
	reqs    []*http.Request
	bodies  []string
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	n := len(rc.times)
	rc.times = append(rc.times, time.Now())
	rc.reqs = append(rc.reqs, r)
	rc.bodies = append(rc.bodies, string(body))
	answer := rc.answers[min(n, len(rc.answers)-1)]
	rc.mu.Unlock()
	answer(w, r)
}

func (rc *recorder) req(i int) *http.Request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.reqs[i]
}

func (rc *recorder) body(i int) string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.bodies[i]
}

func (rc *recorder) at(i int) time.Time {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.times[i]
}

func (rc *recorder) set(answers ...func(http.ResponseWriter, *http.Request)) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.answers = answers
}

func (rc *recorder) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.times)
}

func status(code int, header ...string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(code)
	}
}

func fhirBody(code int, body string, header ...string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.Header().Set("Content-Type", fhirJSON)
		w.WriteHeader(code)
		io.WriteString(w, body)
	}
}

func serve(t *testing.T, rc *recorder) string {
	t.Helper()
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	return srv.URL + "/fhir"
}

func TestNewClientValidatesBaseURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		base string
		ok   bool
	}{
		{"http://127.0.0.1:39501/fhir", true},
		{"https://ehr.example/fhir/R4/", true},
		{"", false},
		{"/fhir", false},
		{"ftp://ehr.example/fhir", false},
		{"https:///fhir", false},
		{"https://user:pw@ehr.example/fhir", false},
		{"https://ehr.example/fhir?x=1", false},
		{"https://ehr.example/fhir#f", false},
	}
	for _, tt := range tests {
		c, err := NewClient(ClientConfig{BaseURL: tt.base})
		if (err == nil) != tt.ok {
			t.Errorf("NewClient(%q): got error %v, want ok=%v", tt.base, err, tt.ok)
		}
		if err == nil && strings.HasSuffix(c.Base(), "/") {
			t.Errorf("Base() = %q, want no trailing slash", c.Base())
		}
	}
	if _, err := NewClient(ClientConfig{BaseURL: "http://x/fhir", MinBackoff: time.Second, MaxBackoff: time.Millisecond}); err == nil {
		t.Error("MaxBackoff < MinBackoff: got no error")
	}
}

func TestRetryOn503ThenSuccess(t *testing.T) {
	t.Parallel()
	rc := &recorder{answers: []func(http.ResponseWriter, *http.Request){
		status(503), status(502), fhirBody(200, `{"resourceType":"Encounter","id":"e1"}`, "ETag", `W/"7"`),
	}}
	c := newTestClient(t, serve(t, rc), ClientConfig{})
	resp, err := c.Read(context.Background(), "Encounter", "e1")
	if err != nil {
		t.Fatal(err)
	}
	if got := rc.count(); got != 3 {
		t.Errorf("server got %d requests, want 3", got)
	}
	if resp.Status != 200 || resp.VersionID != "7" || !strings.Contains(string(resp.Body), `"e1"`) {
		t.Errorf("got status %d, version %q, body %s", resp.Status, resp.VersionID, resp.Body)
	}
}

func TestRetryGivesUpAfterMaxAttempts(t *testing.T) {
	t.Parallel()
	rc := &recorder{answers: []func(http.ResponseWriter, *http.Request){status(500)}}
	c := newTestClient(t, serve(t, rc), ClientConfig{MaxAttempts: 3})
	_, err := c.Read(context.Background(), "Encounter", "e1")
	var fe *Error
	if !errors.As(err, &fe) || fe.Status != 500 || fe.Attempts != 3 {
		t.Fatalf("got %v, want an *Error with status 500 after 3 attempts", err)
	}
	if got := rc.count(); got != 3 {
		t.Errorf("server got %d requests, want 3", got)
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	t.Parallel()
	// A date has whole seconds: "now + 2s" written as a date is 1 to 2 s away.
	tests := []struct {
		name    string
		value   func() string
		minWait time.Duration
	}{
		{"seconds", func() string { return "1" }, time.Second},
		{"http date", func() string { return time.Now().Add(2 * time.Second).UTC().Format(http.TimeFormat) }, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rc := &recorder{answers: []func(http.ResponseWriter, *http.Request){
				func(w http.ResponseWriter, r *http.Request) { status(429, "Retry-After", tt.value())(w, r) },
				fhirBody(200, `{"resourceType":"Bundle","type":"searchset"}`),
			}}
			// MaxBackoff 1s: Retry-After may be honoured up to 3s; the jittered
			// back-off alone would wait at most 1ms.
			c := newTestClient(t, serve(t, rc), ClientConfig{MinBackoff: time.Millisecond, MaxBackoff: time.Second})
			if _, err := c.Do(context.Background(), http.MethodGet, "Encounter?_count=1", nil, nil); err != nil {
				t.Fatal(err)
			}
			if rc.count() != 2 {
				t.Fatalf("server got %d requests, want 2", rc.count())
			}
			const tolerance = 50 * time.Millisecond
			if gap := rc.at(1).Sub(rc.at(0)); gap < tt.minWait-tolerance {
				t.Errorf("second request %s after the first, want at least %s (Retry-After)", gap, tt.minWait)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	c := newTestClient(t, "http://x/fhir", ClientConfig{MinBackoff: 10 * time.Millisecond, MaxBackoff: 40 * time.Millisecond})
	for n := 1; n <= 8; n++ {
		ceiling := min(10*time.Millisecond<<(n-1), 40*time.Millisecond)
		for range 50 {
			if d := c.backoff(n, nil); d < 0 || d > ceiling {
				t.Fatalf("backoff(%d) = %s, want within [0, %s]", n, d, ceiling)
			}
		}
	}
	// Retry-After is capped at 3*MaxBackoff.
	resp := &Response{Header: http.Header{"Retry-After": {"3600"}}}
	if d := c.backoff(1, resp); d != 120*time.Millisecond {
		t.Errorf("backoff with Retry-After 3600 = %s, want the cap 120ms", d)
	}
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		v    string
		want time.Duration
		ok   bool
	}{
		{"5", 5 * time.Second, true},
		{"0", 0, true},
		{"-1", 0, false},
		{"soon", 0, false},
		{"Sun, 29 Nov 2026 12:00:07 GMT", 7 * time.Second, true},
		{"Sun, 29 Nov 2026 11:00:00 GMT", 0, true},
	} {
		if got, ok := retryAfter(tt.v, now); got != tt.want || ok != tt.ok {
			t.Errorf("retryAfter(%q) = %s, %v; want %s, %v", tt.v, got, ok, tt.want, tt.ok)
		}
	}
}

func TestNoRetryOnClientErrors(t *testing.T) {
	t.Parallel()
	for _, code := range []int{400, 401, 403, 404, 409, 410, 412, 422} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			t.Parallel()
			rc := &recorder{answers: []func(http.ResponseWriter, *http.Request){status(code)}}
			c := newTestClient(t, serve(t, rc), ClientConfig{})
			_, err := c.Update(context.Background(), "Task", "t1", []byte(`{}`), "2")
			if !IsStatus(err, code) {
				t.Fatalf("got %v, want an *Error with status %d", err, code)
			}
			if got := rc.count(); got != 1 {
				t.Errorf("server got %d requests, want 1", got)
			}
		})
	}
}

// An unconditional create may have been stored when the answer was a 5xx:
// it is not sent again.
func TestUnconditionalCreateNotRetriedOn5xx(t *testing.T) {
	t.Parallel()
	rc := &recorder{answers: []func(http.ResponseWriter, *http.Request){status(503), status(201)}}
	c := newTestClient(t, serve(t, rc), ClientConfig{})
	if _, err := c.Create(context.Background(), "Task", []byte(`{}`), ""); !IsStatus(err, 503) {
		t.Fatalf("got %v, want 503", err)
	}
	if got := rc.count(); got != 1 {
		t.Errorf("server got %d requests, want 1", got)
	}
	rc2 := &recorder{answers: []func(http.ResponseWriter, *http.Request){status(503), status(201)}}
	c2 := newTestClient(t, serve(t, rc2), ClientConfig{})
	if _, err := c2.Create(context.Background(), "Task", []byte(`{}`), "identifier=s|v"); err != nil {
		t.Fatalf("conditional create: %v", err)
	}
	if got := rc2.count(); got != 2 {
		t.Errorf("conditional create: server got %d requests, want 2", got)
	}
}

func TestCancelStopsRetries(t *testing.T) {
	t.Parallel()
	first := make(chan struct{})
	var once sync.Once
	rc := &recorder{answers: []func(http.ResponseWriter, *http.Request){func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { close(first) })
		status(503, "Retry-After", "30")(w, r)
	}}}
	c := newTestClient(t, serve(t, rc), ClientConfig{MaxBackoff: 20 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.Read(ctx, "Encounter", "e1")
		done <- err
	}()
	<-first
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Read still waiting 10s after cancel (Retry-After was 30s)")
	}
	if got := rc.count(); got != 1 {
		t.Errorf("server got %d requests, want 1", got)
	}
}

func TestCancelDuringRequest(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	arrived := make(chan struct{}, 1)
	rc := &recorder{answers: []func(http.ResponseWriter, *http.Request){func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}}}
	base := serve(t, rc)
	defer close(release)
	c := newTestClient(t, base, ClientConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-arrived; cancel() }()
	_, err := c.Read(ctx, "Encounter", "e1")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
	if got := rc.count(); got != 1 {
		t.Errorf("server got %d requests, want 1", got)
	}
}

func TestAttemptTimeoutIsRetried(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			<-r.Context().Done() // the client's attempt deadline ends it
			return
		}
		w.WriteHeader(200)
	}))
	t.Cleanup(srv.Close)
	// The attempt deadline is generous enough for the quick second answer on
	// a loaded machine; a late one may take a third attempt, never just one.
	c := newTestClient(t, srv.URL+"/fhir", ClientConfig{Timeout: time.Second})
	if _, err := c.Read(context.Background(), "Encounter", "e1"); err != nil {
		t.Fatal(err)
	}
	if got := n.Load(); got < 2 {
		t.Errorf("server got %d requests, want the timed-out one retried (2 or more)", got)
	}
}

const secretDiagnostics = "Patient name Zebulon-Quixote-7731 is not valid"

func TestOperationOutcomeInError(t *testing.T) {
	t.Parallel()
	outcome := `{"resourceType":"OperationOutcome","issue":[
	 {"severity":"error","code":"processing","details":{"coding":[{"system":"http://hl7.org/fhir/java-core-messageId","code":"Validation_VAL_Profile_Minimum"}]},
	  "diagnostics":"` + secretDiagnostics + `","location":["Task.status","Line[1] Col[41]"],"expression":["Task.status"]},
	 {"severity":"warning","code":"invariant","diagnostics":"HAPI-0989: MRN-998877 again ` + secretDiagnostics + `"}]}`
	rc := &recorder{answers: []func(http.ResponseWriter, *http.Request){fhirBody(422, outcome)}}
	c := newTestClient(t, serve(t, rc), ClientConfig{})
	_, err := c.Do(context.Background(), http.MethodPost, "Task?identifier=urn:mrn%7CMRN-998877", []byte(`{}`), nil)
	var fe *Error
	if !errors.As(err, &fe) {
		t.Fatalf("got %v, want *Error", err)
	}
	if fe.Status != 422 || fe.Op != "do" || fe.Method != "POST" || fe.Path != "Task" || len(fe.Issues) != 2 {
		t.Fatalf("got %+v", fe)
	}
	want := Issue{Severity: "error", Code: "processing", Location: []string{"Task.status", "Line[1] Col[41]"},
		Expression: []string{"Task.status"}, MessageID: "Validation_VAL_Profile_Minimum", Diagnostics: secretDiagnostics}
	if got := fe.Issues[0]; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("issue 0 = %+v, want %+v", got, want)
	}
	if fe.Issues[1].MessageID != "HAPI-0989" {
		t.Errorf("issue 1 message id %q, want HAPI-0989", fe.Issues[1].MessageID)
	}
	text := err.Error()
	for _, leak := range []string{"Zebulon", "MRN-998877", "identifier", "?"} {
		if strings.Contains(text, leak) {
			t.Errorf("Error() = %q contains %q", text, leak)
		}
	}
	for _, part := range []string{"fhir do: POST Task", "422", "error processing", "Validation_VAL_Profile_Minimum", "Task.status", "Line[1] Col[41]", "warning invariant", "HAPI-0989"} {
		if !strings.Contains(text, part) {
			t.Errorf("Error() = %q lacks %q", text, part)
		}
	}
}

func TestNetworkErrorHidesQuery(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL + "/fhir"
	srv.Close() // nothing listens there now
	c := newTestClient(t, base, ClientConfig{MaxAttempts: 2})
	err := c.Search(context.Background(), "Patient", url.Values{"identifier": {"urn:mrn|MRN-445566"}}, func(Entry) error { return nil })
	var fe *Error
	if !errors.As(err, &fe) || fe.Status != 0 || fe.Attempts != 2 || fe.Err == nil {
		t.Fatalf("got %#v, want a network *Error after 2 attempts", err)
	}
	if strings.Contains(err.Error(), "MRN-445566") || strings.Contains(err.Error(), "identifier") {
		t.Errorf("Error() = %q shows the query", err)
	}
}

func TestRequestHeadersAndEscaping(t *testing.T) {
	t.Parallel()
	rc := &recorder{answers: []func(http.ResponseWriter, *http.Request){
		fhirBody(201, `{}`, "Location", "http://x/fhir/Task/t9/_history/4"),
	}}
	c := newTestClient(t, serve(t, rc), ClientConfig{UserAgent: "ur-test"})
	ctx := context.Background()
	resp, err := c.Create(ctx, "Task", []byte(`{"resourceType":"Task"}`), "identifier=https://ur.example/id|a b")
	if err != nil {
		t.Fatal(err)
	}
	if resp.Location != "http://x/fhir/Task/t9/_history/4" || resp.VersionID != "4" {
		t.Errorf("got location %q version %q", resp.Location, resp.VersionID)
	}
	r := rc.req(0)
	checks := map[string]string{
		"Accept":        fhirJSON,
		"Content-Type":  fhirJSON,
		"User-Agent":    "ur-test",
		"If-None-Exist": "identifier=https%3A%2F%2Fur.example%2Fid%7Ca+b",
		"Authorization": "",
	}
	for h, want := range checks {
		if got := r.Header.Get(h); got != want {
			t.Errorf("header %s = %q, want %q", h, got, want)
		}
	}
	if r.Method != "POST" || r.URL.Path != "/fhir/Task" {
		t.Errorf("got %s %s", r.Method, r.URL.Path)
	}

	rc.set(fhirBody(200, `{"resourceType":"Bundle","type":"searchset"}`))
	params := url.Values{"identifier": {"urn:sys|v 1&x=2"}, "_count": {"2"}}
	if err := c.Search(ctx, "Task", params, func(Entry) error { return nil }); err != nil {
		t.Fatal(err)
	}
	sr := rc.req(1)
	if sr.URL.RawQuery != "_count=2&identifier=urn%3Asys%7Cv+1%26x%3D2" {
		t.Errorf("raw query %q", sr.URL.RawQuery)
	}
	if got := sr.URL.Query().Get("identifier"); got != "urn:sys|v 1&x=2" {
		t.Errorf("server read identifier %q", got)
	}
	if sr.Header.Get("Content-Type") != "" {
		t.Errorf("GET without body has Content-Type %q", sr.Header.Get("Content-Type"))
	}

	rc.set(fhirBody(200, `{}`, "ETag", `W/"5"`))
	resp, err = c.Update(ctx, "Task", "t9", []byte(`{}`), "4")
	if err != nil {
		t.Fatal(err)
	}
	if got := rc.req(2).Header.Get("If-Match"); got != `W/"4"` {
		t.Errorf("If-Match = %q", got)
	}
	if resp.VersionID != "5" || rc.req(2).Method != "PUT" || rc.req(2).URL.Path != "/fhir/Task/t9" {
		t.Errorf("update: version %q, %s %s", resp.VersionID, rc.req(2).Method, rc.req(2).URL.Path)
	}
}

func TestRefusesPathsOutsideTheBase(t *testing.T) {
	t.Parallel()
	rc := &recorder{answers: []func(http.ResponseWriter, *http.Request){status(200)}}
	base := serve(t, rc)
	c := newTestClient(t, base, ClientConfig{})
	ctx := context.Background()
	for _, p := range []string{
		"https://evil.example/fhir/Patient",
		strings.Replace(base, "/fhir", "/fhirx", 1) + "/Patient",
		strings.Replace(base, "/fhir", "", 1) + "/admin",
		"Patient/../../admin",
		base + "/../admin",
	} {
		if _, err := c.Do(ctx, http.MethodGet, p, nil, nil); err == nil {
			t.Errorf("Do(%q): got no error", p)
		}
	}
	if _, err := c.Read(ctx, "Patient", "a/b"); err == nil {
		t.Error("Read with an id holding a slash: got no error")
	}
	if got := rc.count(); got != 0 {
		t.Errorf("server got %d requests, want 0", got)
	}
	for _, p := range []string{base + "/Patient/1", base + "?_getpages=x", base, "Patient/1", "/Patient/1"} {
		if _, err := c.Do(ctx, http.MethodGet, p, nil, nil); err != nil {
			t.Errorf("Do(%q): %v", p, err)
		}
	}
}

func TestResponseBodyCapped(t *testing.T) {
	t.Parallel()
	rc := &recorder{answers: []func(http.ResponseWriter, *http.Request){fhirBody(200, strings.Repeat("x", 100))}}
	c := newTestClient(t, serve(t, rc), ClientConfig{})
	c.maxBody = 99
	if _, err := c.Read(context.Background(), "Encounter", "e1"); err == nil || !strings.Contains(err.Error(), "larger than 99 bytes") {
		t.Fatalf("got %v, want a body-too-large error", err)
	}
	if got := rc.count(); got != 1 {
		t.Errorf("server got %d requests, want 1 (a too-large body is not retried)", got)
	}
	c.maxBody = 100
	if _, err := c.Read(context.Background(), "Encounter", "e1"); err != nil {
		t.Errorf("body of exactly the cap: %v", err)
	}
}

func TestMaxConcurrency(t *testing.T) {
	t.Parallel()
	var inFlight, peak atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(30 * time.Millisecond)
		inFlight.Add(-1)
		w.WriteHeader(200)
	}))
	t.Cleanup(srv.Close)
	c := newTestClient(t, srv.URL+"/fhir", ClientConfig{MaxConcurrency: 3})
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if _, err := c.Read(context.Background(), "Encounter", "e1"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := peak.Load(); got > 3 || got < 2 {
		t.Errorf("peak of concurrent requests at the server %d, want 3 (at most 3, and more than 1)", got)
	}
}

// tokens is a TokenSource that hands out tok-1, tok-2, ... and moves on to
// the next only when the current one is invalidated.
type tokens struct {
	mu          sync.Mutex
	n           int
	calls       int
	invalidated []string
}

func (s *tokens) Token(context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	return fmt.Sprintf("tok-%d", s.n+1), nil
}

func (s *tokens) Invalidate(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.invalidated = append(s.invalidated, tok)
	if tok == fmt.Sprintf("tok-%d", s.n+1) {
		s.n++
	}
}

func TestUnauthorizedGetsOneFreshToken(t *testing.T) {
	t.Parallel()
	var auths []string
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auths = append(auths, r.Header.Get("Authorization"))
		mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer tok-2" {
			w.WriteHeader(401)
			return
		}
		w.WriteHeader(200)
	}))
	t.Cleanup(srv.Close)
	ts := &tokens{}
	c := newTestClient(t, srv.URL+"/fhir", ClientConfig{Auth: ts})
	if _, err := c.Read(context.Background(), "Encounter", "e1"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(auths) != "[Bearer tok-1 Bearer tok-2]" || fmt.Sprint(ts.invalidated) != "[tok-1]" {
		t.Errorf("server saw %v, invalidated %v; want tok-1 then tok-2, tok-1 invalidated", auths, ts.invalidated)
	}

	// A server that refuses every token: one fresh token, then the 401 is the answer.
	auths = nil
	mu.Unlock()
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auths = append(auths, r.Header.Get("Authorization"))
		mu.Unlock()
		w.WriteHeader(401)
	}))
	t.Cleanup(refusing.Close)
	c = newTestClient(t, refusing.URL+"/fhir", ClientConfig{Auth: &tokens{}})
	if _, err := c.Read(context.Background(), "Encounter", "e1"); !IsStatus(err, 401) {
		t.Fatalf("got %v, want 401", err)
	}
	mu.Lock()
	if len(auths) != 2 {
		t.Errorf("server got %d requests, want 2", len(auths))
	}
}

func TestTokenErrorStops(t *testing.T) {
	t.Parallel()
	rc := &recorder{answers: []func(http.ResponseWriter, *http.Request){status(200)}}
	c := newTestClient(t, serve(t, rc), ClientConfig{Auth: failingSource{}})
	_, err := c.Read(context.Background(), "Encounter", "e1")
	if err == nil || !strings.Contains(err.Error(), "access token: no token today") {
		t.Fatalf("got %v", err)
	}
	if rc.count() != 0 {
		t.Errorf("server got %d requests, want 0", rc.count())
	}
}

type failingSource struct{}

func (failingSource) Token(context.Context) (string, error) { return "", errors.New("no token today") }

// otelhttp records url.full on its span; the query must not be in it.
func TestSpanURLHasNoQuery(t *testing.T) {
	t.Parallel()
	rc := &recorder{answers: []func(http.ResponseWriter, *http.Request){fhirBody(200, `{"resourceType":"Bundle","type":"searchset"}`)}}
	base := serve(t, rc)
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	c := newTestClient(t, base, ClientConfig{Transport: otelhttp.NewTransport(redactQuery{http.DefaultTransport}, otelhttp.WithTracerProvider(tp))})
	err := c.Search(context.Background(), "Patient", url.Values{"identifier": {"urn:mrn|MRN-112233"}}, func(Entry) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	ended := spans.Ended()
	if len(ended) != 1 {
		t.Fatalf("got %d spans, want 1", len(ended))
	}
	var full string
	for _, a := range ended[0].Attributes() {
		if a.Key == "url.full" {
			full = a.Value.AsString()
		}
		if strings.Contains(a.Value.Emit(), "MRN-112233") {
			t.Errorf("span attribute %s = %q holds the identifier", a.Key, a.Value.Emit())
		}
	}
	if full != base+"/Patient?REDACTED" {
		t.Errorf("url.full = %q, want %q", full, base+"/Patient?REDACTED")
	}
	if got := rc.req(0).URL.Query().Get("identifier"); got != "urn:mrn|MRN-112233" {
		t.Errorf("the server got identifier %q: the redaction must not touch the request", got)
	}
}

func TestRedirectOutsideTheBaseRefused(t *testing.T) {
	t.Parallel()
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) }))
	t.Cleanup(other.Close)
	rc := &recorder{answers: []func(http.ResponseWriter, *http.Request){func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/moved") {
			w.WriteHeader(200)
			return
		}
		target := other.URL + "/fhir/Patient?identifier=x"
		if strings.HasSuffix(r.URL.Path, "/inside") {
			target = "/fhir/moved"
		}
		http.Redirect(w, r, target, http.StatusFound)
	}}}
	c := newTestClient(t, serve(t, rc), ClientConfig{Auth: &tokens{}})
	_, err := c.Read(context.Background(), "Patient", "p1")
	if err == nil || !strings.Contains(err.Error(), "outside the base URL") {
		t.Fatalf("got %v, want a refused redirect", err)
	}
	if n := elsewhere.Load(); n != 0 || rc.count() != 1 {
		t.Errorf("other server got %d requests, ours %d; want 0 and 1 (a refused redirect is not retried)", n, rc.count())
	}
	if _, err := c.Read(context.Background(), "Patient", "inside"); err != nil {
		t.Errorf("redirect under the base: %v", err)
	}
}
