package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/utilreview/utilreview/e2e/harness"
	"github.com/utilreview/utilreview/e2e/worklisttest"
	"github.com/utilreview/utilreview/service/rulestore"
)

// tarGz packs a rule directory as `tar czf - -C DIR .` does.
func tarGz(t *testing.T, dir string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if err := tw.WriteHeader(&tar.Header{Name: "./" + filepath.ToSlash(rel), Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(data))}); err != nil {
			return err
		}
		_, err = tw.Write(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func adminDo(t *testing.T, method, url, token string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	_, _ = out.ReadFrom(resp.Body)
	return resp.StatusCode, out.Bytes()
}

// waitRulesVersion waits until every replica reports hash as the version it
// evaluates (utilreview_rules_version_info), and returns how long it took.
func waitRulesVersion(t *testing.T, within time.Duration, hash string, bases ...string) time.Duration {
	t.Helper()
	start := time.Now()
	harness.Eventually(t, within, 100*time.Millisecond, "every replica evaluates rules version "+rulestore.Short(hash), func() (bool, error) {
		for _, b := range bases {
			if metricWith(t, b, "utilreview_rules_version_info", `version="`+hash+`"`) != 1 {
				return false, fmt.Errorf("%s not yet on %s", b, rulestore.Short(hash))
			}
		}
		return true, nil
	})
	return time.Since(start)
}

// TestServeRulesPublished runs two replicas against HAPI and Redis. The
// rules they start from (UTILREVIEW_RULES_DIR, seeded into Redis) give
// Capital's heart-failure check a threshold of 10 inpatient days; a stay at
// day 7 raises no Task. Publishing the shipped threshold (5 days) through
// one replica's admin endpoint reaches both within 10 s, and the stay gets
// its Task (the worklist follows: open Tasks' patients are re-reviewed). An
// invalid bundle is refused with its reasons and both keep the version. A
// rollback brings the old version back to both, and the Task is cancelled.
func TestServeRulesPublished(t *testing.T) {
	t.Parallel()
	l := newLiveEnv(t, "2026-11-20T12:00:00-05:00")
	token := "admin-" + harness.UniqueID("t")
	const capital = "commercial-capital.yaml"
	v1Dir := copyRules(t, [3]string{capital, "los_days > 5", "los_days > 10"}, [3]string{capital, `version: "2025.1"`, `version: "2026.1"`})
	v2Dir := copyRules(t, [3]string{capital, `version: "2025.1"`, `version: "2026.2"`})
	badDir := copyRules(t, [3]string{capital, "los_days > 5", "los_days >"}, [3]string{capital, `version: "2025.1"`, `version: "2026.3"`})
	l.env["UTILREVIEW_RULES_DIR"] = v1Dir
	l.env["UTILREVIEW_ADMIN_TOKEN"] = token
	l.env["UTILREVIEW_RULES_REREVIEW_RATE"] = "50"
	c := harness.NewFHIR(t)

	a := l.run(t, "127.0.0.1:0", serveOptions{})
	b := l.runAt(t, "127.0.0.1:0", a.base, serveOptions{})
	v1Bundle, _ := rulestore.ReadDir(v1Dir)
	waitRulesVersion(t, 10*time.Second, v1Bundle.Hash(), a.base, b.base)

	stored := c.PutBundle("../../testdata/examples/ur-scenarios.json", idSuffix(), l.tag)
	tasksV1, requestsV1 := l.offline(t, stored.File)
	hf := func(tasks map[string]worklisttest.Item) int {
		n := 0
		for _, it := range tasks {
			if strings.Contains(it.Code, "heart-failure-extended-stay") && it.Status != "cancelled" {
				n++
			}
		}
		return n
	}
	if hf(tasksV1) != 0 {
		t.Fatalf("the v1 rules raise the heart-failure Task already: the test would prove nothing")
	}
	l.converge(t, c, tasksV1, requestsV1, 3*time.Second)

	// Publish v2 through replica a; both switch within 10 s.
	code, body := adminDo(t, http.MethodPut, a.base+"/admin/rules", token, tarGz(t, v2Dir))
	if code != http.StatusCreated {
		t.Fatalf("PUT /admin/rules: %d %s", code, body)
	}
	var v2 rulestore.Version
	if err := json.Unmarshal(body, &v2); err != nil {
		t.Fatal(err)
	}
	took := waitRulesVersion(t, 10*time.Second, v2.Hash, a.base, b.base)
	t.Logf("both replicas evaluate %s %s after the publish", v2.Short(), took.Round(time.Millisecond))

	l.env["UTILREVIEW_RULES_DIR"] = v2Dir // the offline review with the new rules
	tasksV2, requestsV2 := l.offline(t, collectionFile(t, c.Base, stored.Resources))
	if hf(tasksV2) != 1 {
		t.Fatalf("the v2 rules raise %d heart-failure Tasks, want 1", hf(tasksV2))
	}
	l.converge(t, c, withCancelled(tasksV1, tasksV2), withRevoked(requestsV1, requestsV2), 3*time.Second)
	// One replica queued the re-review of the version, not both.
	rereviews := 0
	for _, p := range []*inProcess{a, b} {
		for line := range strings.Lines(p.log.String()) {
			if strings.Contains(line, "patients queued for re-review") && strings.Contains(line, v2.Short()) {
				rereviews++
			}
		}
	}
	if rereviews != 1 {
		t.Errorf("%d replicas queued the re-review of %s, want 1", rereviews, v2.Short())
	}

	// An invalid bundle: refused with its reasons; both keep v2.
	code, body = adminDo(t, http.MethodPut, b.base+"/admin/rules", token, tarGz(t, badDir))
	if code != http.StatusUnprocessableEntity || !strings.Contains(string(body), capital+":") {
		t.Errorf("invalid bundle: %d %s; want 422 naming %s", code, body, capital)
	}
	time.Sleep(time.Second)
	waitRulesVersion(t, time.Second, v2.Hash, a.base, b.base)
	if n := metricWith(t, b.base, "utilreview_rules_publishes_refused_total", `reason="invalid"`); n != 1 {
		t.Errorf("replica b counted %v refused publishes, want 1", n)
	}

	// Rollback to v1 through b: both switch back, the Task is cancelled.
	code, body = adminDo(t, http.MethodPost, b.base+"/admin/rules/rollback", token, []byte(`{"version":"`+v1Bundle.Hash()+`"}`))
	if code != http.StatusOK {
		t.Fatalf("rollback: %d %s", code, body)
	}
	waitRulesVersion(t, 10*time.Second, v1Bundle.Hash(), a.base, b.base)
	l.env["UTILREVIEW_RULES_DIR"] = v1Dir
	tasksBack, requestsBack := l.offline(t, collectionFile(t, c.Base, stored.Resources))
	l.converge(t, c, withCancelled(withCancelled(tasksV1, tasksV2), tasksBack), withRevoked(withRevoked(requestsV1, requestsV2), requestsBack), 3*time.Second)

	code, body = adminDo(t, http.MethodGet, a.base+"/admin/rules", token, nil)
	var list []rulestore.Version
	if code != http.StatusOK || json.Unmarshal(body, &list) != nil || len(list) != 2 || list[0].Hash != v1Bundle.Hash() || !list[0].Current {
		t.Errorf("GET /admin/rules: %d %s; want v1 (current) and v2", code, body)
	}
}

// TestServeRulesMissedMessageAndRedisRestart runs two replicas on a private
// Redis with the periodic check every second. A current version set without
// an announcement (a missed pub/sub message) reaches both through the
// check; with Redis stopped both keep evaluating the version they hold and
// say so; Redis restarted empty gets that version back from them, and a
// publish after the restart (re-subscribed) reaches both.
func TestServeRulesMissedMessageAndRedisRestart(t *testing.T) {
	t.Parallel()
	l := newLiveEnv(t, "2026-11-20T12:00:00-05:00")
	r := startPrivateRedis(t)
	l.env["UTILREVIEW_REDIS_URL"] = "redis://" + r.addr + "/0"
	l.env["UTILREVIEW_SUBSCRIPTIONS"] = "off"
	l.env["UTILREVIEW_RULES_CHECK_INTERVAL"] = "1s"
	a := l.run(t, "127.0.0.1:0", serveOptions{})
	b := l.run(t, "127.0.0.1:0", serveOptions{})

	rdb := redis.NewClient(&redis.Options{Addr: r.addr})
	defer rdb.Close()
	prefix := l.env["UTILREVIEW_REDIS_PREFIX"]
	store, err := rulestore.New(rdb, rulestore.Config{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	v1, _ := rulestore.ReadDir(copyRules(t))
	waitRulesVersion(t, 10*time.Second, v1.Hash(), a.base, b.base) // the first replica seeded the defaults
	v2Dir := copyRules(t, [3]string{"commercial-capital.yaml", `version: "2025.1"`, `version: "2026.2"`})
	v2, _ := rulestore.ReadDir(v2Dir)
	if _, _, err := store.Publish(context.Background(), v2, v2Dir, "test"); err != nil {
		t.Fatal(err)
	}
	waitRulesVersion(t, 10*time.Second, v2.Hash(), a.base, b.base)

	// A missed message: the current key moves, nothing is announced.
	if err := rdb.Set(context.Background(), prefix+"rules:current", v1.Hash(), 0).Err(); err != nil {
		t.Fatal(err)
	}
	took := waitRulesVersion(t, 10*time.Second, v1.Hash(), a.base, b.base)
	t.Logf("the periodic check brought both back to %s in %s", rulestore.Short(v1.Hash()), took.Round(time.Millisecond))

	// Redis down: both keep v1 and say so.
	r.kill(t)
	harness.Eventually(t, 10*time.Second, 100*time.Millisecond, "both replicas see the rules store down", func() (bool, error) {
		return metric(t, a.base, "utilreview_rules_store_up") == 0 && metric(t, b.base, "utilreview_rules_store_up") == 0, nil
	})
	waitRulesVersion(t, time.Second, v1.Hash(), a.base, b.base)
	if resp, err := http.Get(a.base + "/readyz"); err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("readyz with Redis down: %v %v, want 503", resp, err)
	} else {
		resp.Body.Close()
	}

	// Restarted empty: the replicas store the version they hold again; a
	// publish then reaches both.
	r.start(t)
	harness.Eventually(t, 15*time.Second, 200*time.Millisecond, "Redis holds the replicas' version again", func() (bool, error) {
		cur, err := store.Current(context.Background())
		return cur == v1.Hash(), fmt.Errorf("current %q (%v)", rulestore.Short(cur), err)
	})
	if _, created, err := store.Publish(context.Background(), v2, v2Dir, "test"); err != nil || !created {
		t.Fatalf("publish after the restart: created %v, %v", created, err)
	}
	waitRulesVersion(t, 10*time.Second, v2.Hash(), a.base, b.base)
	waitReady(t, a.base)
	waitReady(t, b.base)
}

// TestServeWaitsForRedis starts a replica while its Redis is down: it is
// alive (healthz) and not ready, and once Redis starts it seeds the rules
// and becomes ready.
func TestServeWaitsForRedis(t *testing.T) {
	t.Parallel()
	l := newLiveEnv(t, "2026-11-20T12:00:00-05:00")
	r := startPrivateRedis(t)
	r.kill(t)
	l.env["UTILREVIEW_REDIS_URL"] = "redis://" + r.addr + "/0"
	l.env["UTILREVIEW_SUBSCRIPTIONS"] = "off"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	status := func(path string) int {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	waited := make(chan [2]int, 1)
	go func() {
		// Until Redis starts: alive, not ready.
		deadline := time.Now().Add(60 * time.Second)
		for status("/healthz") != http.StatusOK && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(1500 * time.Millisecond) // a few of its attempts fail
		waited <- [2]int{status("/healthz"), status("/readyz")}
		r.start(t)
	}()
	p := l.run(t, addr, serveOptions{}) // returns once ready
	got := <-waited
	if got != [2]int{http.StatusOK, http.StatusServiceUnavailable} {
		t.Errorf("while Redis was down: healthz %d, readyz %d; want 200 and 503", got[0], got[1])
	}
	v1, _ := rulestore.Defaults()
	waitRulesVersion(t, 10*time.Second, v1.Hash(), p.base)
}

// TestServeRulesTwoProcesses runs the binary: two `utilreview serve` OS
// processes on one Redis, and `utilreview rules publish|rollback` as an
// operator (or a Kubernetes Job) runs them. A publish reaches both within
// 10 s; an invalid directory is refused (exit 1, its reasons) and both keep
// the version; a rollback reaches both.
func TestServeRulesTwoProcesses(t *testing.T) {
	t.Parallel()
	l := newLiveEnv(t, "2026-11-20T12:00:00-05:00")
	l.env["UTILREVIEW_SUBSCRIPTIONS"] = "off"
	bin := filepath.Join(t.TempDir(), "utilreview")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	environ := func(extra ...string) []string {
		env := os.Environ()
		for k, v := range l.env {
			env = append(env, k+"="+v)
		}
		return append(env, extra...)
	}
	var bases []string
	for range 2 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		cmd := exec.Command(bin, "serve")
		cmd.Env = environ("UTILREVIEW_LISTEN=" + addr)
		logs := &harness.LogBuffer{}
		cmd.Stdout, cmd.Stderr = logs, logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = cmd.Process.Signal(os.Interrupt)
			done := make(chan struct{})
			go func() { _ = cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				_ = cmd.Process.Kill()
				<-done
			}
			if t.Failed() {
				t.Logf("serve %s log:\n%s", addr, tail(logs.String(), 4000))
			}
		})
		bases = append(bases, "http://"+addr)
	}
	for _, b := range bases {
		waitReady(t, b)
	}
	defaults, _ := rulestore.Defaults()
	waitRulesVersion(t, 10*time.Second, defaults.Hash(), bases...)

	rulesCmd := func(args ...string) (int, string) {
		cmd := exec.Command(bin, append([]string{"rules"}, args...)...)
		cmd.Env = environ("UTILREVIEW_PUBLISHER=job")
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, string(out)
	}
	v2Dir := copyRules(t, [3]string{"commercial-capital.yaml", "los_days > 5", "los_days > 7"}, [3]string{"commercial-capital.yaml", `version: "2025.1"`, `version: "2026.2"`})
	v2, _ := rulestore.ReadDir(v2Dir)
	if code, out := rulesCmd("publish", v2Dir); code != 0 {
		t.Fatalf("rules publish: exit %d %s", code, out)
	}
	took := waitRulesVersion(t, 10*time.Second, v2.Hash(), bases...)
	t.Logf("both processes evaluate %s %s after the publish", rulestore.Short(v2.Hash()), took.Round(time.Millisecond))

	badDir := copyRules(t, [3]string{"commercial-capital.yaml", "los_days > 5", "los_days >"}, [3]string{"commercial-capital.yaml", `version: "2025.1"`, `version: "2026.3"`})
	if code, out := rulesCmd("publish", badDir); code != 1 || !strings.Contains(out, "commercial-capital.yaml:") {
		t.Errorf("invalid publish: exit %d %s; want 1 naming the file", code, out)
	}
	time.Sleep(time.Second)
	waitRulesVersion(t, time.Second, v2.Hash(), bases...)

	if code, out := rulesCmd("rollback", defaults.Hash()[:12]); code != 0 {
		t.Fatalf("rules rollback: exit %d %s", code, out)
	}
	waitRulesVersion(t, 10*time.Second, defaults.Hash(), bases...)
	if code, out := rulesCmd("list"); code != 0 || !strings.Contains(out, "job") {
		t.Errorf("rules list: exit %d %s", code, out)
	}
}
