package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/utilreview/utilreview/e2e/harness"
)

// Helpers of the live service's tests beyond TestServeEqualsReview's: a
// service run in process that the test stops and starts again, readiness,
// metrics, the test's Redis keys, stored resources as a file.

// inProcess is one run of `serve` in this process, which the test may stop
// before it ends (stop is idempotent and also runs at cleanup).
type inProcess struct {
	base string
	addr string
	log  *harness.LogBuffer
	stop func()
}

// run starts `serve` in process listening on addr ("127.0.0.1:0": a free
// port), its own public URL, with so's clock, and waits until it is ready.
func (l *liveEnv) run(t *testing.T, addr string, so serveOptions) *inProcess {
	t.Helper()
	return l.runAt(t, addr, "", so)
}

// runAt is run with another public URL ("" its own), for a second replica
// behind the first one's address.
func (l *liveEnv) runAt(t *testing.T, addr, publicURL string, so serveOptions) *inProcess {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	p := &inProcess{addr: ln.Addr().String(), base: "http://" + ln.Addr().String(), log: &harness.LogBuffer{}}
	if publicURL == "" {
		publicURL = p.base
	}
	getenv := l.getenv(map[string]string{"UTILREVIEW_LISTEN": p.addr, "UTILREVIEW_PUBLIC_URL": publicURL})
	cfg, err := parseServeFlags(nil, getenv, io.Discard, p.log)
	if err != nil {
		t.Fatalf("configuration: %v", err)
	}
	so.listener = ln
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, getenv, p.log, so) }()
	var once sync.Once
	p.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("serve: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Error("serve did not stop within 30 s of its context's end")
			}
		})
	}
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("service log (last 6000 bytes):\n%s", tail(p.log.String(), 6000))
		}
	})
	waitReady(t, p.base)
	return p
}

// getenv is the test's environment with extra on top.
func (l *liveEnv) getenv(extra map[string]string) func(string) string {
	env := map[string]string{}
	for k, v := range l.env {
		env[k] = v
	}
	for k, v := range extra {
		env[k] = v
	}
	return func(k string) string { return env[k] }
}

// waitReady waits until the service at base says it is ready: Redis and the
// FHIR server reachable, its Subscriptions active.
func waitReady(t *testing.T, base string) {
	t.Helper()
	harness.Eventually(t, 180*time.Second, 250*time.Millisecond, "the service is ready (Redis, FHIR, Subscriptions active)", func() (bool, error) {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false, err
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusNoContent || resp.StatusCode == http.StatusOK, fmt.Errorf("readyz %d", resp.StatusCode)
	})
}

// metric is the sum of every series of a counter or gauge on base's
// /metrics (0 when it has none yet).
func metric(t *testing.T, base, name string) float64 {
	t.Helper()
	return metricWith(t, base, name, "")
}

// metricWith is the sum of the series of a metric whose labels contain
// label (e.g. `outcome="own-write"`; "" for all of them) on base's /metrics.
func metricWith(t *testing.T, base, name, label string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatalf("/metrics: %v", err)
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, name)
		if !ok || rest == "" || (rest[0] != ' ' && rest[0] != '{') {
			continue // another metric, or one whose name starts with this one
		}
		if !strings.Contains(rest, label) {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			t.Fatalf("/metrics: %q: %v", line, err)
		}
		sum += v
	}
	return sum
}

// countItems is the number of Tasks (or CommunicationRequests) with an
// identifier in the test's system, whatever their status.
func (l *liveEnv) countItems(t *testing.T, c *harness.FHIR, typ string) int {
	t.Helper()
	var b struct{ Total int }
	c.Get(harness.Query(typ, "identifier", l.system+"|", "_summary", "count")).MustStatus(t, http.StatusOK).Decode(t, &b)
	return b.Total
}

// redisOf is a client for the shared Redis; the service's keys (under the
// test's prefix) are deleted when the test ends, after the services stop.
func (l *liveEnv) redisOf(t *testing.T) (*redis.Client, string) {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: harness.RedisAddr(t)})
	prefix := l.env["UTILREVIEW_REDIS_PREFIX"]
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		iter := rdb.Scan(ctx, 0, prefix+"*", 500).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
		_ = rdb.Close()
	})
	return rdb, prefix
}

// collectionFile writes resources as a collection Bundle, for the offline
// review of what the server holds after the test changed some of them.
func collectionFile(t *testing.T, base string, resources []map[string]any) string {
	t.Helper()
	var entries []any
	for _, r := range resources {
		entries = append(entries, map[string]any{"fullUrl": base + "/" + r["resourceType"].(string) + "/" + r["id"].(string), "resource": r})
	}
	data, err := json.Marshal(map[string]any{"resourceType": "Bundle", "type": "collection", "entry": entries})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.CreateTemp(t.TempDir(), "stored-*.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	return f.Name()
}

// idSuffix is a short suffix for the example ids, unique to one PutBundle.
func idSuffix() string {
	s := harness.UniqueID("")
	return s[len(s)-8:]
}

// notify delivers a full-resource rest-hook notification to the service.
func notify(t *testing.T, base, secret string, resource []byte) {
	t.Helper()
	var r struct{ ResourceType, ID string }
	if err := json.Unmarshal(resource, &r); err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPut, base+"/fhir/notify/"+r.ResourceType+"/"+r.ID, bytes.NewReader(resource))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+secret)
	req.Header.Set("Content-Type", "application/fhir+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("notification: status %d, want 204", resp.StatusCode)
	}
}

// notifyAll delivers the notifications of stored resources (the followed
// types) to the service, as HAPI would: tests that prove what the service
// does with notifications do not wait on HAPI's delivery, which stalls when
// another Subscription on the shared server has a dead endpoint.
func notifyAll(t *testing.T, base, secret string, resources []map[string]any) {
	t.Helper()
	for _, r := range resources {
		if typ := r["resourceType"]; typ == "Organization" || typ == "Patient" {
			continue
		}
		body, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		notify(t, base, secret, body)
	}
}
