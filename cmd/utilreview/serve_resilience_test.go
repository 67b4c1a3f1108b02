package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/utilreview/utilreview/e2e/harness"
	"github.com/utilreview/utilreview/e2e/worklisttest"
)

// The resilience proofs of the live service (issue 6, proof items 2 and 3):
// a crash in the middle of a load, the service down past HAPI's retry
// minute, the FHIR server unreachable while notifications arrive, Redis
// restarted without persistence. Each ends with every identifier on exactly
// one Task and the server's worklist equal to the offline review's.

// TestServeCrash kills the service with SIGKILL while it is writing a load's
// Tasks (notified by HAPI and by the test itself, so the load starts
// whatever HAPI's delivery latency), then starts a second process with the same instance and Redis: the
// entries the first left pending (and its leases) expire or are claimed,
// the start's catch-up finds the rest, and the worklist converges to
// exactly the offline review's, with no identifier on two Tasks.
func TestServeCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped under -short: builds the binary and needs HAPI and Redis")
	}
	t.Parallel()
	l := newLiveEnv(t, "2026-11-20T12:00:00-05:00")
	l.redisOf(t)
	bin := buildBinary(t)
	c := harness.NewFHIR(t)

	first := l.startProcess(t, bin, "127.0.0.1:0")
	// Two copies of the examples: sixteen patients, so the kill falls in the
	// middle of the load.
	a := c.PutBundle("../../testdata/examples/ur-scenarios.json", idSuffix(), l.tag)
	b := c.PutBundle("../../testdata/examples/ur-scenarios.json", idSuffix(), l.tag)
	secret := l.env["UTILREVIEW_WEBHOOK_SECRET"]
	notifyAll(t, "http://"+first.addr, secret, append(append([]map[string]any(nil), a.Resources...), b.Resources...))
	var seen int
	harness.Eventually(t, 120*time.Second, 50*time.Millisecond, "the first Tasks appear", func() (bool, error) {
		seen = l.countItems(t, c, "Task")
		return seen > 0, fmt.Errorf("no Task yet")
	})
	first.kill(t)
	wantTasks, wantRequests := l.offline(t, a.File, b.File)
	t.Logf("killed the first process (SIGKILL) with %d of %d Tasks written", seen, len(wantTasks))
	if seen >= len(wantTasks) {
		t.Logf("the load was already complete when the kill came; the restart still has to change nothing")
	}

	// The second process on the same address, instance and Redis prefix:
	// the Subscriptions' endpoint reaches it.
	second := l.startProcess(t, bin, first.addr)
	l.converge(t, c, wantTasks, wantRequests, 10*time.Second)
	second.terminate(t)
}

// buildBinary builds utilreview into a temporary directory.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "utilreview")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// process is `utilreview serve` as a child process.
type process struct {
	cmd  *exec.Cmd
	addr string
	log  *harness.LogBuffer
	done chan error
}

// startProcess runs the binary's serve with the test's environment,
// listening on addr, and waits until it is ready.
func (l *liveEnv) startProcess(t *testing.T, bin, addr string) *process {
	t.Helper()
	if strings.HasSuffix(addr, ":0") {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		addr = ln.Addr().String()
		ln.Close()
	}
	p := &process{addr: addr, log: &harness.LogBuffer{}, done: make(chan error, 1)}
	p.cmd = exec.Command(bin, "serve")
	p.cmd.Env = os.Environ()
	for k, v := range l.env {
		p.cmd.Env = append(p.cmd.Env, k+"="+v)
	}
	p.cmd.Env = append(p.cmd.Env, "UTILREVIEW_LISTEN="+addr, "UTILREVIEW_PUBLIC_URL=http://"+addr)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("process %s log (last 4000 bytes):\n%s", addr, tail(p.log.String(), 4000))
		}
	})
	waitReady(t, "http://"+addr)
	return p
}

// kill ends the process with SIGKILL: no shutdown, leases and pending
// entries left in Redis.
func (p *process) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-p.done
}

// terminate ends the process with SIGTERM and requires a clean exit.
func (p *process) terminate(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("serve after SIGTERM: %v, want a clean exit", err)
		}
	case <-time.After(30 * time.Second):
		t.Error("serve did not stop within 30 s of SIGTERM")
	}
}

// TestServeDownPastRetries stops the service for longer than HAPI's retry
// minute while resources change, with its notifications lost (the
// Subscriptions switched off, see below), then starts it again: the catch-up
// from the watermark kept in Redis finds everything, the Subscriptions are
// repaired, and the worklist converges. The start window (used only where
// there is no watermark) is 30 s, far shorter than the outage, so only the
// watermarks can find what changed.
func TestServeDownPastRetries(t *testing.T) {
	t.Parallel()
	l := newLiveEnv(t, "2026-11-20T12:00:00-05:00")
	l.env["UTILREVIEW_CATCHUP_INTERVAL"] = "3s"
	l.env["UTILREVIEW_CATCHUP_WINDOW"] = "30s"
	rdb, prefix := l.redisOf(t)
	c := harness.NewFHIR(t)

	// Before the outage: one copy of the examples, reviewed, and a catch-up
	// that has set the watermarks past it.
	svc := l.run(t, "127.0.0.1:0", serveOptions{})
	a := c.PutBundle("../../testdata/examples/ur-scenarios.json", idSuffix(), l.tag)
	tasksA, requestsA := l.offline(t, a.File)
	l.converge(t, c, tasksA, requestsA, 3*time.Second)
	harness.Eventually(t, 30*time.Second, 500*time.Millisecond, "the catch-up watermarks cover the stored types", func() (bool, error) {
		wm, err := rdb.HGetAll(context.Background(), prefix+"catchup:watermarks").Result()
		if err != nil {
			return false, err
		}
		for _, typ := range []string{"Encounter", "Coverage", "Claim"} {
			if wm[typ] == "" {
				return false, fmt.Errorf("no watermark for %s: %v", typ, wm)
			}
		}
		return true, nil
	})
	// HAPI retries a notification to a closed port for a minute on the
	// delivery threads every Subscription of the server shares: an outage
	// with the Subscriptions on would stall every other test's notifications
	// for many minutes (docs/fhir-server-behaviour.md). So the outage is
	// the notifications lost: the Subscriptions switched off while the
	// service is down; at its start it repairs them (off -> requested).
	l.subscriptionsOff(t, c)
	svc.stop()

	// The outage: a second copy of the examples and a change to the first.
	b := c.PutBundle("../../testdata/examples/ur-scenarios.json", idSuffix(), l.tag)
	convertObservation(t, c, a)
	down := time.Now()
	wantTasks, wantRequests := l.offline(t, collectionFile(t, c.Base, a.Resources), b.File)
	wantTasks, wantRequests = withCancelled(tasksA, wantTasks), withRevoked(requestsA, wantRequests)
	time.Sleep(80*time.Second - time.Since(down)) // longer than HAPI's retry minute
	if n := l.countItems(t, c, "Task"); n != len(tasksA) {
		t.Fatalf("%d Tasks while the service was down, want the %d from before", n, len(tasksA))
	}

	again := l.run(t, svc.addr, serveOptions{})
	l.converge(t, c, wantTasks, wantRequests, 5*time.Second)
	if !strings.Contains(again.log.String(), `"trigger":"start"`) {
		t.Errorf("no catch-up at start in the log")
	}
}

// convertObservation makes the first observation stay of st inpatient from
// its start (as an admitting physician's order does) and writes it: its
// observation Tasks no longer hold, inpatient ones do.
func convertObservation(t *testing.T, c *harness.FHIR, st *harness.Stored) {
	t.Helper()
	for _, r := range st.Resources {
		if r["resourceType"] != "Encounter" {
			continue
		}
		if cl, _ := r["class"].(map[string]any); cl["code"] != "OBSENC" {
			continue
		}
		r["class"] = map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"}
		delete(r, "classHistory")
		c.Put("Encounter/"+r["id"].(string), r).MustStatus(t, http.StatusOK)
		return
	}
	t.Fatal("no observation stay to convert")
}

// withCancelled is want plus, for each Task of before whose finding no
// longer holds, that Task cancelled (it stays on the server).
func withCancelled(before, want map[string]worklisttest.Item) map[string]worklisttest.Item {
	return withClosed(before, want, "cancelled")
}

// withRevoked is withCancelled for CommunicationRequests.
func withRevoked(before, want map[string]worklisttest.Item) map[string]worklisttest.Item {
	return withClosed(before, want, "revoked")
}

func withClosed(before, want map[string]worklisttest.Item, status string) map[string]worklisttest.Item {
	out := map[string]worklisttest.Item{}
	for id, it := range before {
		if _, ok := want[id]; !ok {
			it.Status = status
			out[id] = it
		}
	}
	for id, it := range want {
		out[id] = it
	}
	return out
}

// switchProxy is a TCP proxy to target that the test switches off (every
// connection closed, new ones refused) and on again.
type switchProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	on     bool
	conns  map[net.Conn]struct{}
}

func newSwitchProxy(t *testing.T, target string) *switchProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &switchProxy{ln: ln, target: target, on: true, conns: map[net.Conn]struct{}{}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(conn)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		p.set(false)
	})
	return p
}

func (p *switchProxy) serve(in net.Conn) {
	p.mu.Lock()
	on := p.on
	p.mu.Unlock()
	if !on {
		in.Close()
		return
	}
	out, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		in.Close()
		return
	}
	p.mu.Lock()
	if !p.on { // switched off while dialling
		p.mu.Unlock()
		in.Close()
		out.Close()
		return
	}
	p.conns[in], p.conns[out] = struct{}{}, struct{}{}
	p.mu.Unlock()
	var wg sync.WaitGroup
	pipe := func(dst, src net.Conn) {
		defer wg.Done()
		_, _ = io.Copy(dst, src)
		dst.Close()
		src.Close()
	}
	wg.Add(2)
	go pipe(out, in)
	go pipe(in, out)
	wg.Wait()
	p.mu.Lock()
	delete(p.conns, in)
	delete(p.conns, out)
	p.mu.Unlock()
}

// set switches the proxy; off closes every open connection, so the
// service's kept-alive connections die too.
func (p *switchProxy) set(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.on = on
	if !on {
		for c := range p.conns {
			c.Close()
		}
	}
}

// TestServeFHIRUnreachable cuts the service off from the FHIR server (a
// proxy between them, switched off) while notifications keep arriving
// (HAPI's, and the test's own, so the test does not wait on HAPI's delivery):
// the entries wait in the queue and are retried, nothing is written, and
// when the server is reachable again the worklist converges.
func TestServeFHIRUnreachable(t *testing.T) {
	t.Parallel()
	l := newLiveEnv(t, "2026-11-20T12:00:00-05:00")
	rdb, prefix := l.redisOf(t)
	c := harness.NewFHIR(t)
	u := strings.TrimPrefix(strings.TrimPrefix(c.Base, "http://"), "https://")
	hostport, path, _ := strings.Cut(u, "/")
	proxy := newSwitchProxy(t, hostport)
	l.env["UTILREVIEW_FHIR_URL"] = "http://" + proxy.ln.Addr().String() + "/" + path

	svc := l.run(t, "127.0.0.1:0", serveOptions{})
	proxy.set(false)
	st := c.PutBundle("../../testdata/examples/ur-scenarios.json", idSuffix(), l.tag)
	notifyAll(t, svc.base, l.env["UTILREVIEW_WEBHOOK_SECRET"], st.Resources)
	wantTasks, wantRequests := l.offline(t, st.File)
	off := time.Now()
	harness.Eventually(t, 150*time.Second, time.Second, "reviews fail and are retried", func() (bool, error) {
		n := metric(t, svc.base, "utilreview_queue_retries_total")
		return n > 0 && time.Since(off) >= 15*time.Second, fmt.Errorf("%v retries after %s (notifications %v, processed %v, xlen %v)", n, time.Since(off).Round(time.Second),
			metric(t, svc.base, "utilreview_notifications_received_total"), metric(t, svc.base, "utilreview_queue_processed_total"), rdb.XLen(context.Background(), prefix+"stream").Val())
	})
	ctx := context.Background()
	depth, err := rdb.XLen(ctx, prefix+"stream").Result()
	if err != nil {
		t.Fatal(err)
	}
	delayed, err := rdb.ZCard(ctx, prefix+"delayed").Result()
	if err != nil {
		t.Fatal(err)
	}
	if depth+delayed == 0 {
		t.Errorf("the queue is empty while the FHIR server is unreachable, want the patients waiting")
	}
	if n := l.countItems(t, c, "Task"); n != 0 {
		t.Errorf("%d Tasks written while the FHIR server was unreachable, want none", n)
	}
	t.Logf("after %s off: %d entries in the stream, %d waiting for a retry, %v retries", time.Since(off).Round(time.Second),
		depth, delayed, metric(t, svc.base, "utilreview_queue_retries_total"))

	proxy.set(true)
	l.converge(t, c, wantTasks, wantRequests, 5*time.Second)
	if n := metric(t, svc.base, "utilreview_queue_dead_letters_total"); n != 0 {
		t.Errorf("%v dead letters, want none", n)
	}
}

// privateRedis is a redis-server of the test's own, without persistence,
// which the test restarts (empty) on the same port.
type privateRedis struct {
	addr string
	dir  string
	cmd  *exec.Cmd
}

func startPrivateRedis(t *testing.T) *privateRedis {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server not found (apt-get install -y redis-server)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &privateRedis{addr: ln.Addr().String(), dir: t.TempDir()}
	ln.Close()
	r.start(t)
	t.Cleanup(func() { r.kill(t) })
	return r
}

func (r *privateRedis) start(t *testing.T) {
	t.Helper()
	_, port, _ := net.SplitHostPort(r.addr)
	r.cmd = exec.Command("redis-server", "--bind", "127.0.0.1", "--port", port, "--dir", r.dir,
		"--save", "", "--appendonly", "no", "--protected-mode", "yes")
	r.cmd.Stdout, r.cmd.Stderr = io.Discard, io.Discard
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: r.addr})
	defer rdb.Close()
	harness.Eventually(t, 10*time.Second, 50*time.Millisecond, "the private redis-server answers", func() (bool, error) {
		err := rdb.Ping(context.Background()).Err()
		return err == nil, err
	})
}

func (r *privateRedis) kill(t *testing.T) {
	t.Helper()
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
}

// TestServeRedisRestarted runs the service on a private Redis, converges,
// then restarts that Redis empty (no persistence: the stream, its consumer
// group, the watermarks and wake-ups are gone). The queue recreates its
// group (NOGROUP), a stay converted to inpatient and new patients written
// afterwards are reviewed, the catch-up from an empty Redis reviews
// everything again: nothing already written is duplicated, nothing changed
// is missed.
func TestServeRedisRestarted(t *testing.T) {
	t.Parallel()
	l := newLiveEnv(t, "2026-11-20T12:00:00-05:00")
	r := startPrivateRedis(t)
	l.env["UTILREVIEW_REDIS_URL"] = "redis://" + r.addr + "/0"
	l.env["UTILREVIEW_CATCHUP_INTERVAL"] = "5s"
	c := harness.NewFHIR(t)

	svc := l.run(t, "127.0.0.1:0", serveOptions{})
	a := c.PutBundle("../../testdata/examples/ur-scenarios.json", idSuffix(), l.tag)
	tasksA, requestsA := l.offline(t, a.File)
	l.converge(t, c, tasksA, requestsA, 3*time.Second)

	r.kill(t)
	r.start(t)
	restarted := time.Now()
	convertObservation(t, c, a)
	b := c.PutBundle("../../testdata/examples/ur-scenarios.json", idSuffix(), l.tag)
	wantTasks, wantRequests := l.offline(t, collectionFile(t, c.Base, a.Resources), b.File)
	wantTasks, wantRequests = withCancelled(tasksA, wantTasks), withRevoked(requestsA, wantRequests)
	l.converge(t, c, wantTasks, wantRequests, 5*time.Second)

	// The queue lost its group and made it again; a catch-up with no
	// watermark (the start window) ran over everything and wrote nothing
	// new (the convergence above waited for quiet).
	log := svc.log.String()
	if !strings.Contains(log, "NOGROUP") {
		t.Errorf("the log never mentions NOGROUP: the restart was not noticed by the queue")
	}
	rdb := redis.NewClient(&redis.Options{Addr: r.addr})
	defer rdb.Close()
	harness.Eventually(t, 30*time.Second, 500*time.Millisecond, "a catch-up after the restart set the watermarks again", func() (bool, error) {
		wm, err := rdb.HGetAll(context.Background(), l.env["UTILREVIEW_REDIS_PREFIX"]+"catchup:watermarks").Result()
		return err == nil && wm["Encounter"] != "" && wm["Claim"] != "", fmt.Errorf("watermarks %v (%v)", wm, err)
	})
	t.Logf("converged %s after the Redis restart", time.Since(restarted).Round(time.Second))
}

// subscriptionsOff switches the instance's Subscriptions off on the server.
func (l *liveEnv) subscriptionsOff(t *testing.T, c *harness.FHIR) {
	t.Helper()
	q := harness.Query("Subscription", "_tag", "https://utilreview.dev/fhir/CodeSystem/instance|"+l.env["UTILREVIEW_INSTANCE"], "_count", "100")
	raws, _ := c.SearchAll(q, 5)
	if len(raws) == 0 {
		t.Fatal("the instance has no Subscriptions to switch off")
	}
	for _, raw := range raws {
		var sub map[string]any
		if err := json.Unmarshal(raw, &sub); err != nil {
			t.Fatal(err)
		}
		sub["status"] = "off"
		c.Put("Subscription/"+sub["id"].(string), sub).MustStatus(t, http.StatusOK)
	}
}
