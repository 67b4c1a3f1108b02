package harness

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// Received is one request a Receiver got.
type Received struct {
	At     time.Time
	Method string
	Path   string
	Header http.Header
	Body   []byte
}

// Receiver is a subscription endpoint for tests: an HTTP server on 127.0.0.1 (the FHIR server runs on the same
// machine) that records every request and answers with Respond.
type Receiver struct {
	URL string

	mu       sync.Mutex
	received []Received
	respond  func(Received) (status int, contentType string, body []byte)
	notify   chan struct{}
}

// NewReceiver starts a Receiver that answers 200 with an empty body until SetResponder changes it. It is
// closed when the test ends.
func NewReceiver(t testing.TB) *Receiver {
	t.Helper()
	r := &Receiver{notify: make(chan struct{}, 1)}
	r.respond = func(Received) (int, string, []byte) { return http.StatusOK, "", nil }
	srv := httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(srv.Close)
	r.URL = srv.URL
	return r
}

// SetResponder changes how the receiver answers.
func (r *Receiver) SetResponder(f func(Received) (status int, contentType string, body []byte)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.respond = f
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	got := Received{At: time.Now(), Method: req.Method, Path: req.URL.Path, Header: req.Header.Clone(), Body: body}
	r.mu.Lock()
	r.received = append(r.received, got)
	respond := r.respond
	r.mu.Unlock()
	select {
	case r.notify <- struct{}{}:
	default:
	}
	status, ctype, out := respond(got)
	if ctype != "" {
		w.Header().Set("Content-Type", ctype)
	}
	w.WriteHeader(status)
	_, _ = w.Write(out)
}

// Requests returns a copy of what was received so far, in arrival order.
func (r *Receiver) Requests() []Received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Received(nil), r.received...)
}

// WaitFor waits until match accepts at least n received requests, or fails the test after timeout. It returns
// the matching requests.
func (r *Receiver) WaitFor(t testing.TB, timeout time.Duration, n int, what string, match func(Received) bool) []Received {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		var hits []Received
		for _, got := range r.Requests() {
			if match(got) {
				hits = append(hits, got)
			}
		}
		if len(hits) >= n {
			return hits
		}
		select {
		case <-r.notify:
		case <-time.After(200 * time.Millisecond):
		case <-deadline.C:
			t.Fatalf("receiver: %s: got %d matching requests after %s, want %d (all received: %d)", what, len(hits), timeout, n, len(r.Requests()))
			return nil
		}
	}
}
