package rulestore

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/utilreview/utilreview/e2e/harness"
)

// runCache starts a cache on s (Start, then Run until the test ends) and
// records the versions OnChange reports.
func runCache(t *testing.T, s *Store, cfg CacheConfig) (*Cache, *changes) {
	t.Helper()
	ch := &changes{}
	if cfg.Registerer == nil {
		cfg.Registerer = prometheus.NewRegistry()
	}
	cfg.OnChange = ch.add
	if cfg.Seed == nil {
		cfg.Seed = defaults(t)
	}
	c, err := NewCache(s, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	sctx, scancel := context.WithTimeout(ctx, 20*time.Second)
	defer scancel()
	if err := c.Start(sctx); err != nil {
		cancel()
		t.Fatalf("Start: %v", err)
	}
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return c, ch
}

type changes struct {
	mu   sync.Mutex
	list []string
}

func (c *changes) add(_ context.Context, cp *Compiled) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.list = append(c.list, cp.Version.Hash)
}

func (c *changes) get() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.list...)
}

func waitVersion(t *testing.T, c *Cache, hash string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if cur := c.Current(); cur != nil && cur.Version.Hash == hash && !cur.Fallback {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	got := "none"
	if cur := c.Current(); cur != nil {
		got = cur.Version.Short()
	}
	t.Fatalf("cache holds %s after %s, want %s", got, within, Short(hash))
}

// The first replica seeds Redis; the compiled registry is the seed's.
func TestCacheStartSeeds(t *testing.T) {
	t.Parallel()
	s, _, _ := testStore(t)
	reg := prometheus.NewRegistry()
	c, _ := runCache(t, s, CacheConfig{CheckInterval: time.Hour, Registerer: reg, Publisher: "replica-1"})
	cur := c.Current()
	want := defaults(t).Hash()
	if cur.Version.Hash != want || cur.Registry == nil || len(cur.Registry.RuleSets()) == 0 {
		t.Fatalf("held %+v, want the defaults %s compiled", cur.Version, Short(want))
	}
	if got, _ := s.Current(context.Background()); got != want {
		t.Errorf("Redis current %s, want the seed", Short(got))
	}
	if err := c.Ready(context.Background()); err != nil {
		t.Errorf("Ready: %v", err)
	}
	m := harness.Gather(t, reg)
	if v := m["utilreview_rules_version_info,version="+want]; v != 1 {
		t.Errorf("utilreview_rules_version_info{version=%s} = %v, want 1 (%v)", Short(want), v, m)
	}
	if n := m["utilreview_rules_compile_seconds_count"]; n != 1 {
		t.Errorf("compile histogram count %v, want 1", n)
	}
	if age := m["utilreview_rules_version_age_seconds"]; age < 0 || age > 60 {
		t.Errorf("version age %v s, want a few seconds", age)
	}
}

// The pub/sub path alone: the periodic check is an hour away, so only the
// announcement can bring the new version.
func TestCacheFollowsPubSub(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _, _ := testStore(t)
	a, changesA := runCache(t, s, CacheConfig{CheckInterval: time.Hour})
	b, _ := runCache(t, s, CacheConfig{CheckInterval: time.Hour})
	time.Sleep(200 * time.Millisecond) // both subscribed
	v2, _, err := s.Publish(ctx, acmeV2(t, defaults(t)), "", "alice")
	if err != nil {
		t.Fatal(err)
	}
	waitVersion(t, a, v2.Hash, 5*time.Second)
	waitVersion(t, b, v2.Hash, 5*time.Second)
	// The new registry carries the changed rule set.
	rs, ok := a.Current().Registry.ByID("example-acme-health", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	if !ok || rs.Version != "2025.2" || rs.Checks.AdmissionNotification.Hours != 12 {
		t.Errorf("acme after the switch: %+v", rs)
	}
	if got := changesA.get(); len(got) != 1 || got[0] != v2.Hash {
		t.Errorf("OnChange got %v, want v2 once", got)
	}
	if v := harness.Gather(t, a.cfg.Registerer.(prometheus.Gatherer))["utilreview_rules_reloads_total,outcome=ok"]; v != 1 {
		t.Errorf("reloads ok %v, want 1", v)
	}
	// Rollback is announced too.
	if _, err := s.Rollback(ctx, defaults(t).Hash()); err != nil {
		t.Fatal(err)
	}
	waitVersion(t, a, defaults(t).Hash(), 5*time.Second)
	waitVersion(t, b, defaults(t).Hash(), 5*time.Second)
}

// The periodic check alone: the current key changes without an
// announcement (a missed message), and the check finds it.
func TestCacheFollowsPeriodicCheck(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, rdb, _ := testStore(t)
	c, _ := runCache(t, s, CacheConfig{CheckInterval: 100 * time.Millisecond})
	v1 := c.Current().Version.Hash
	// v2 arrives either way; then the key is moved back by hand, with no
	// announcement: only the check can see it.
	v2, _, err := s.Publish(ctx, acmeV2(t, defaults(t)), "", "alice")
	if err != nil {
		t.Fatal(err)
	}
	waitVersion(t, c, v2.Hash, 5*time.Second)
	if err := rdb.Set(ctx, s.keys.current, v1, 0).Err(); err != nil { // no PUBLISH
		t.Fatal(err)
	}
	waitVersion(t, c, v1, 5*time.Second)
}

// privateRedis runs a redis-server of the test's own on a free port (never
// the shared one: the test stops and restarts it).
type privateRedis struct {
	t    *testing.T
	port int
	cmd  *exec.Cmd
}

func startPrivateRedis(t *testing.T, port int) *privateRedis {
	t.Helper()
	if testing.Short() {
		t.Skip("skipped under -short: starts a redis-server")
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server not installed")
	}
	if port == 0 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port = ln.Addr().(*net.TCPAddr).Port
		ln.Close()
	}
	cmd := exec.Command("redis-server", "--bind", "127.0.0.1", "--port", fmt.Sprint(port), "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &privateRedis{t: t, port: port, cmd: cmd}
	t.Cleanup(p.stop)
	rdb := redis.NewClient(&redis.Options{Addr: p.addr()})
	defer rdb.Close()
	for i := 0; ; i++ {
		if rdb.Ping(context.Background()).Err() == nil {
			return p
		}
		if i > 100 {
			t.Fatalf("private redis-server on %d did not start", port)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *privateRedis) addr() string { return fmt.Sprintf("127.0.0.1:%d", p.port) }

func (p *privateRedis) stop() {
	if p.cmd.ProcessState != nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
}

// Redis goes away: the replica keeps evaluating the version it holds, and
// says so (Ready, utilreview_rules_store_up). Redis comes back empty (a
// restart without persistence): the replica stores its version again, and
// follows a new publish.
func TestCacheKeepsVersionWhileRedisIsDown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := startPrivateRedis(t, 0)
	rdb := redis.NewClient(&redis.Options{Addr: srv.addr(), MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer rdb.Close()
	s, err := New(rdb, Config{Prefix: "{ur}:"})
	if err != nil {
		t.Fatal(err)
	}
	v2, _, err := s.Publish(ctx, acmeV2(t, defaults(t)), "", "alice")
	if err != nil {
		t.Fatal(err)
	}
	c, _ := runCache(t, s, CacheConfig{CheckInterval: 100 * time.Millisecond})
	waitVersion(t, c, v2.Hash, time.Second)

	srv.stop()
	deadline := time.Now().Add(5 * time.Second)
	for c.Ready(ctx) == nil && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if err := c.Ready(ctx); err == nil || !strings.Contains(err.Error(), "Redis unreachable") || !strings.Contains(err.Error(), v2.Short()) {
		t.Errorf("Ready with Redis down: %v, want it to name the version held and Redis", err)
	}
	if up := harness.Gather(t, c.cfg.Registerer.(prometheus.Gatherer))["utilreview_rules_store_up"]; up != 0 {
		t.Errorf("utilreview_rules_store_up %v with Redis down, want 0", up)
	}
	if cur := c.Current(); cur.Version.Hash != v2.Hash || cur.Registry == nil {
		t.Fatalf("held %s with Redis down, want v2 still", cur.Version.Short())
	}

	srv = startPrivateRedis(t, srv.port) // empty: no persistence
	deadline = time.Now().Add(10 * time.Second)
	for c.Ready(ctx) != nil && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if err := c.Ready(ctx); err != nil {
		t.Fatalf("Ready after Redis came back: %v", err)
	}
	if got, _ := s.Current(ctx); got != v2.Hash {
		t.Errorf("Redis current %s after the restart, want the held version stored again", Short(got))
	}
	v1, _, err := s.Publish(ctx, defaults(t), "", "bob")
	if err != nil {
		t.Fatal(err)
	}
	waitVersion(t, c, v1.Hash, 5*time.Second)
}

// Start with Redis unreachable: it waits (not ready) by default; with
// Fallback it serves the seed and switches to Redis's version once Redis
// answers.
func TestCacheStartWithRedisDown(t *testing.T) {
	t.Parallel()
	srv := startPrivateRedis(t, 0)
	port := srv.port
	srv.stop()
	rdb := redis.NewClient(&redis.Options{Addr: srv.addr(), MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer rdb.Close()
	s, err := New(rdb, Config{Prefix: "{ur}:"})
	if err != nil {
		t.Fatal(err)
	}
	wait, err := NewCache(s, CacheConfig{Seed: defaults(t), RetryInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if err := wait.Start(ctx); err == nil || wait.Current() != nil || wait.Ready(ctx) == nil {
		t.Errorf("Start without Redis: %v, holds %v; want it to wait, not ready", err, wait.Current())
	}

	seed := acmeV2(t, defaults(t))
	fb, _ := runCache(t, s, CacheConfig{Seed: seed, Fallback: true, CheckInterval: 100 * time.Millisecond})
	if cur := fb.Current(); cur == nil || !cur.Fallback || cur.Version.Hash != seed.Hash() {
		t.Fatalf("fallback start holds %+v, want the seed as fallback", cur)
	}
	if err := fb.Ready(context.Background()); err == nil {
		t.Error("ready on the fallback rules, want not ready until a stored version is held")
	}
	srv = startPrivateRedis(t, port)
	other := redis.NewClient(&redis.Options{Addr: srv.addr()})
	defer other.Close()
	s2, _ := New(other, Config{Prefix: "{ur}:"})
	v, _, err := s2.Publish(context.Background(), defaults(t), "", "ops")
	if err != nil {
		t.Fatal(err)
	}
	waitVersion(t, fb, v.Hash, 10*time.Second)
}
