package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/utilreview/utilreview/e2e/harness"
	"github.com/utilreview/utilreview/fhir"
)

func TestLoopbackGuard(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"http://127.0.0.1:8080", true},
		{"http://127.1.2.3:8080/base", true},
		{"http://[::1]:8080", true},
		{"http://localhost:8080", true},
		{"http://LocalHost", true},
		{"http://10.0.0.1:8080", false},
		{"http://0.0.0.0:8080", false},
		{"http://[::]:8080", false},
		{"http://[::ffff:10.0.0.1]:8080", false},
		{"http://example.com", false},
		{"http://127.0.0.1.nip.io:8080", false},
		{"http://localhost.example.com", false},
		{"https://127.0.0.1:8443", false},
		{"127.0.0.1:8080", false},
		{"", false},
	} {
		_, err := checkLoopbackURL(tc.url)
		if got := err == nil; got != tc.ok {
			t.Errorf("checkLoopbackURL(%q): got ok=%v (%v), want %v", tc.url, got, err, tc.ok)
		}
	}
	for _, tc := range []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:6379", true},
		{"localhost:6379", true},
		{"[::1]:6379", true},
		{"10.1.2.3:6379", false},
		{"redis.example.com:6379", false},
		{"127.0.0.1", false},
	} {
		err := checkLoopbackAddr("-redis", tc.addr)
		if got := err == nil; got != tc.ok {
			t.Errorf("checkLoopbackAddr(%q): got ok=%v (%v), want %v", tc.addr, got, err, tc.ok)
		}
	}
}

// The dialer itself refuses a resolved address that is not loopback, so a
// name that passed the guard cannot take the load elsewhere.
func TestDialerRefusesOtherAddresses(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := dialLoopback(ctx, "tcp", "192.0.2.1:80") // TEST-NET-1: never reached
	if err == nil || !strings.Contains(err.Error(), "not a loopback address") {
		t.Fatalf("dial 192.0.2.1: got %v, want a refusal", err)
	}
}

func TestRunRefusesNonLoopbackURL(t *testing.T) {
	t.Parallel()
	err := run(context.Background(), []string{"accept", "-url", "http://192.0.2.1:8080", "-secret", "s", "-d", "100ms"},
		func(string) string { return "" }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("got %v, want a refusal of the address", err)
	}
}

func TestPercentile(t *testing.T) {
	t.Parallel()
	ms := func(v ...int) []time.Duration {
		d := make([]time.Duration, len(v))
		for i, x := range v {
			d[i] = time.Duration(x) * time.Millisecond
		}
		return d
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	for _, tc := range []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one", ms(7), 50, 7 * time.Millisecond},
		{"one max", ms(7), 100, 7 * time.Millisecond},
		{"median of four is the second", ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"median of five", ms(1, 2, 3, 4, 5), 50, 3 * time.Millisecond},
		{"p90 of 1..100", ms(hundred...), 90, 90 * time.Millisecond},
		{"p99 of 1..100", ms(hundred...), 99, 99 * time.Millisecond},
		{"p99 of ten is the max", ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 99, 10 * time.Millisecond},
		{"max", ms(hundred...), 100, 100 * time.Millisecond},
		{"tiny p is the min", ms(hundred...), 0.001, time.Millisecond},
	} {
		if got := percentile(tc.sorted, tc.p); got != tc.want {
			t.Errorf("%s: percentile(%v) got %v, want %v", tc.name, tc.p, got, tc.want)
		}
	}
}

func testNotifications(t *testing.T, mix string) []notification {
	t.Helper()
	notes, err := loadNotifications(filepath.Join("..", ".."), mix, 2)
	if err != nil {
		t.Fatal(err)
	}
	return notes
}

// Every body is an Encounter the webhook takes: its type and id are the
// path's and it names its patient, and the copies are distinct patients.
// The hl7 mix is the "~3 KB" Encounters.
func TestNotificationsAreWhatTheWebhookTakes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		mix                          string
		bodies, patients, minMeanLen int
	}{
		{"synthea", 2 * 55, 2 * 10, 900},
		{"hl7", 2 * 10, 2 * 4, 2500},
	} {
		notes := testNotifications(t, tc.mix)
		bodies, patients, mean := describe(notes)
		if bodies != tc.bodies || patients != tc.patients || mean < tc.minMeanLen {
			t.Errorf("%s: got %d bodies of %d patients, %d bytes on average; want %d of %d, at least %d bytes", tc.mix, bodies, patients, mean, tc.bodies, tc.patients, tc.minMeanLen)
		}
		ids := map[string]bool{}
		for _, n := range notes {
			sum, err := fhir.SummarizeResource(n.body)
			if err != nil {
				t.Fatalf("%s: %v", n.id, err)
			}
			if sum.Type != "Encounter" || sum.ID != n.id || sum.Patient != n.patient || sum.Version != "3" {
				t.Errorf("%s: summary %+v, want Encounter/%s of %s, version 3", n.id, sum, n.id, n.patient)
			}
			if ids[n.id] {
				t.Errorf("id %s twice", n.id)
			}
			ids[n.id] = true
			if strings.Contains(string(n.body), "urn:uuid:") {
				t.Errorf("%s: a urn:uuid reference is left", n.id)
			}
		}
	}
	if _, err := loadNotifications(filepath.Join("..", ".."), "nope", 1); err == nil {
		t.Error("an unknown mix was accepted")
	}
}

// A short run against a test server: every request is counted once, with
// its status; anything not 204 is an error.
func TestRunLoadCountsRequestsAndStatuses(t *testing.T) {
	t.Parallel()
	var served, refused, bad atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := served.Add(1)
		if r.Method != http.MethodPut || !strings.HasPrefix(r.URL.Path, "/fhir/notify/Encounter/") ||
			r.Header.Get("Authorization") != "Bearer s3cret" || r.Header.Get("Content-Type") != "application/fhir+json" {
			bad.Add(1)
		}
		if b, _ := io.ReadAll(r.Body); len(b) < 100 {
			bad.Add(1)
		}
		if n%10 == 0 {
			refused.Add(1)
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer ts.Close()
	res, err := runLoad(context.Background(), loadConfig{
		URL: ts.URL, Secret: "s3cret", Connections: 2, Duration: 200 * time.Millisecond,
		Notifications: testNotifications(t, "synthea"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if bad.Load() > 0 {
		t.Errorf("%d requests without the method, path, headers or body wanted", bad.Load())
	}
	if res.Requests == 0 || res.Requests > served.Load() {
		t.Fatalf("counted %d requests, server saw %d", res.Requests, served.Load())
	}
	if got := res.Status["204"] + res.Status["503"]; got != res.Requests {
		t.Errorf("statuses %v sum to %d, want %d", res.Status, got, res.Requests)
	}
	if res.Errors != res.Status["503"] || res.Errors == 0 {
		t.Errorf("errors %d, want the 503s (%d), at least one", res.Errors, res.Status["503"])
	}
	// The server refuses every tenth request; requests of the last moment
	// are served but not counted.
	if d := refused.Load() - res.Status["503"]; d < 0 || d > 2 {
		t.Errorf("server refused %d, counted %d", refused.Load(), res.Status["503"])
	}
	if want := float64(res.Requests) / 0.2; res.PerSecond != want {
		t.Errorf("rate %v, want %v", res.PerSecond, want)
	}
	l := res.Latency
	if !(0 < l.P50 && l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.Max) {
		t.Errorf("latencies not ordered: %+v", l)
	}
}

func TestRunLoadRefusesUnboundedRuns(t *testing.T) {
	t.Parallel()
	notes := []notification{{id: "e", body: []byte("{}")}}
	for _, cfg := range []loadConfig{
		{URL: "http://127.0.0.1:1", Connections: 0, Duration: time.Second, Notifications: notes},
		{URL: "http://127.0.0.1:1", Connections: maxConnections + 1, Duration: time.Second, Notifications: notes},
		{URL: "http://127.0.0.1:1", Connections: 1, Duration: 2 * maxDuration, Notifications: notes},
		{URL: "http://127.0.0.1:1", Connections: 1, Duration: time.Second, Warmup: 2 * maxWarmup, Notifications: notes},
		{URL: "http://192.0.2.1:1", Connections: 1, Duration: time.Second, Notifications: notes},
	} {
		if _, err := runLoad(context.Background(), cfg); err == nil {
			t.Errorf("%+v: no error", cfg)
		}
	}
}

// The real webhook on the harness Redis: accepted notifications are in the
// stream.
func TestWebhookModeEnqueues(t *testing.T) {
	t.Parallel()
	rdb, prefix := harness.Redis(t)
	tg, err := startWebhook(rdb, prefix, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tg.close(context.Background()) }()
	res, err := runLoad(context.Background(), loadConfig{
		URL: tg.url, Secret: webhookSecret, Connections: 2, Duration: 300 * time.Millisecond,
		Notifications: testNotifications(t, "synthea"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests == 0 || res.Errors != 0 {
		t.Fatalf("%d requests, %d errors (%v), want some and none", res.Requests, res.Errors, res.Status)
	}
	n, err := rdb.XLen(context.Background(), prefix+"stream").Result()
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("stream length 0: nothing enqueued")
	}
	counts, err := tg.counts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if counts.Queued != n {
		t.Errorf("webhook counted %d queued, stream holds %d", counts.Queued, n)
	}
	if n > 20 {
		t.Errorf("stream holds %d entries for 20 patients: coalescing did not apply", n)
	}
}
