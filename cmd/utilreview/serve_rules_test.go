package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
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

// rulesScenario is the proof of issue 8 point 6 that the in-process
// replicas (admin endpoints) and the OS processes (the rules commands) both
// run. The replicas start from v1 (UTILREVIEW_RULES_DIR, seeded into
// Redis), which gives Capital's heart-failure check a threshold of 10
// inpatient days, so a stay at day 7 raises no Task. v2 is the shipped
// threshold (5 days) under a new rule-set version; bad does not compile.
type rulesScenario struct {
	v1, v2, bad string // rule directories
	v1Hash      string
	// publish and rollback change the rules as the test's operator does;
	// publish returns whether the bundle was accepted and the reasons
	// given when it was not.
	publish  func(t *testing.T, dir string) (ok bool, reasons string)
	rollback func(t *testing.T, hash string)
}

const capitalRules = "commercial-capital.yaml"

func newRulesScenario(t *testing.T, l *liveEnv) *rulesScenario {
	t.Helper()
	sc := &rulesScenario{
		v1:  copyRules(t, [3]string{capitalRules, "los_days > 5", "los_days > 10"}, [3]string{capitalRules, `version: "2025.1"`, `version: "2026.1"`}),
		v2:  copyRules(t, [3]string{capitalRules, `version: "2025.1"`, `version: "2026.2"`}),
		bad: copyRules(t, [3]string{capitalRules, "los_days > 5", "los_days >"}, [3]string{capitalRules, `version: "2025.1"`, `version: "2026.3"`}),
	}
	v1, err := rulestore.ReadDir(sc.v1)
	if err != nil {
		t.Fatal(err)
	}
	sc.v1Hash = v1.Hash()
	l.env["UTILREVIEW_RULES_DIR"] = sc.v1
	l.env["UTILREVIEW_RULES_REREVIEW_RATE"] = "50"
	return sc
}

// run loads the examples, publishes v2 (both replicas switch within 10 s
// and the stay gets its Task: the worklist follows, open Tasks' patients
// are re-reviewed), publishes bad (refused with its reasons, both keep v2)
// and rolls back to v1 (both switch back, the Task is cancelled). It
// returns v2's hash.
func (sc *rulesScenario) run(t *testing.T, l *liveEnv, bases ...string) string {
	t.Helper()
	c := harness.NewFHIR(t)
	waitRulesVersion(t, 10*time.Second, sc.v1Hash, bases...)
	stored := c.PutBundle("../../testdata/examples/ur-scenarios.json", idSuffix(), l.tag)
	offline := func(dir string) (map[string]worklisttest.Item, map[string]worklisttest.Item) {
		l.env["UTILREVIEW_RULES_DIR"] = dir
		defer func() { l.env["UTILREVIEW_RULES_DIR"] = sc.v1 }()
		return l.offline(t, collectionFile(t, c.Base, stored.Resources))
	}
	heartFailure := func(tasks map[string]worklisttest.Item) int {
		n := 0
		for _, it := range tasks {
			if strings.Contains(it.Code, "heart-failure-extended-stay") && it.Status != "cancelled" {
				n++
			}
		}
		return n
	}
	tasksV1, requestsV1 := offline(sc.v1)
	if heartFailure(tasksV1) != 0 {
		t.Fatalf("the v1 rules raise the heart-failure Task already: the test would prove nothing")
	}
	l.converge(t, c, tasksV1, requestsV1, 3*time.Second)

	if ok, reasons := sc.publish(t, sc.v2); !ok {
		t.Fatalf("publishing v2 refused: %s", reasons)
	}
	v2, _ := rulestore.ReadDir(sc.v2)
	took := waitRulesVersion(t, 10*time.Second, v2.Hash(), bases...)
	t.Logf("every replica evaluates %s %s after the publish", rulestore.Short(v2.Hash()), took.Round(time.Millisecond))
	tasksV2, requestsV2 := offline(sc.v2)
	if heartFailure(tasksV2) != 1 {
		t.Fatalf("the v2 rules raise %d heart-failure Tasks, want 1", heartFailure(tasksV2))
	}
	l.converge(t, c, withCancelled(tasksV1, tasksV2), withRevoked(requestsV1, requestsV2), 3*time.Second)

	if ok, reasons := sc.publish(t, sc.bad); ok || !strings.Contains(reasons, capitalRules+":") {
		t.Errorf("invalid bundle: accepted %v, reasons %q; want refused naming %s", ok, reasons, capitalRules)
	}
	time.Sleep(time.Second)
	waitRulesVersion(t, time.Second, v2.Hash(), bases...)

	sc.rollback(t, sc.v1Hash)
	waitRulesVersion(t, 10*time.Second, sc.v1Hash, bases...)
	tasksBack, requestsBack := offline(sc.v1)
	l.converge(t, c, withCancelled(withCancelled(tasksV1, tasksV2), tasksBack), withRevoked(withRevoked(requestsV1, requestsV2), requestsBack), 3*time.Second)
	return v2.Hash()
}

// TestServeRulesPublished runs the scenario with two replicas in process
// against HAPI and Redis, changing the rules through their admin
// endpoints (a publish through one, the rest through the other). One
// replica queues the re-review of a version, not both; the refused publish
// is counted; GET /admin/rules lists both versions, the current first.
func TestServeRulesPublished(t *testing.T) {
	t.Parallel()
	l := newLiveEnv(t, "2026-11-20T12:00:00-05:00")
	token := "admin-" + harness.UniqueID("t")
	l.env["UTILREVIEW_ADMIN_TOKEN"] = token
	sc := newRulesScenario(t, l)
	a := l.run(t, "127.0.0.1:0", serveOptions{})
	b := l.runAt(t, "127.0.0.1:0", a.base, serveOptions{})
	published := 0
	sc.publish = func(t *testing.T, dir string) (bool, string) {
		base := a.base
		if published++; published > 1 {
			base = b.base
		}
		code, body := adminDo(t, http.MethodPut, base+"/admin/rules", token, tarGz(t, dir))
		switch code {
		case http.StatusCreated:
			return true, ""
		case http.StatusUnprocessableEntity:
			return false, string(body)
		}
		t.Fatalf("PUT /admin/rules: %d %s", code, body)
		return false, ""
	}
	sc.rollback = func(t *testing.T, hash string) {
		if code, body := adminDo(t, http.MethodPost, b.base+"/admin/rules/rollback", token, []byte(`{"version":"`+hash+`"}`)); code != http.StatusOK {
			t.Fatalf("rollback: %d %s", code, body)
		}
	}
	v2 := sc.run(t, l, a.base, b.base)

	rereviews := 0
	for _, p := range []*inProcess{a, b} {
		for line := range strings.Lines(p.log.String()) {
			if strings.Contains(line, "patients scheduled for re-review") && strings.Contains(line, rulestore.Short(v2)) {
				rereviews++
			}
		}
	}
	if rereviews != 1 {
		t.Errorf("%d replicas scheduled the re-review of %s, want 1", rereviews, rulestore.Short(v2))
	}
	if n := metricWith(t, b.base, "utilreview_rules_publishes_refused_total", `reason="invalid"`); n != 1 {
		t.Errorf("replica b counted %v refused publishes, want 1", n)
	}
	code, body := adminDo(t, http.MethodGet, a.base+"/admin/rules", token, nil)
	var list []rulestore.Version
	if code != http.StatusOK || json.Unmarshal(body, &list) != nil || len(list) != 2 || list[0].Hash != sc.v1Hash || !list[0].Current {
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

// TestServeWaitsForRedis starts a replica while its Redis is down. By
// default it is alive (healthz) and not ready, with nothing else served
// and no rules loaded; with UTILREVIEW_RULES_FALLBACK=embedded it starts
// on its own rules (its metrics name their version, the store down) and
// is still not ready, since the queue is Redis's. Once Redis starts either
// seeds Redis with its rules and becomes ready.
func TestServeWaitsForRedis(t *testing.T) {
	t.Parallel()
	for _, fallback := range []string{"", "embedded"} {
		t.Run("fallback="+fallback, func(t *testing.T) {
			t.Parallel()
			l := newLiveEnv(t, "2026-11-20T12:00:00-05:00")
			r := startPrivateRedis(t)
			r.kill(t)
			l.env["UTILREVIEW_REDIS_URL"] = "redis://" + r.addr + "/0"
			l.env["UTILREVIEW_SUBSCRIPTIONS"] = "off"
			l.env["UTILREVIEW_RULES_FALLBACK"] = fallback
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			ln.Close()
			get := func(path string) (int, string) {
				resp, err := http.Get("http://" + addr + path)
				if err != nil {
					return 0, ""
				}
				defer resp.Body.Close()
				var b strings.Builder
				_, _ = io.Copy(&b, resp.Body)
				return resp.StatusCode, b.String()
			}
			v1, _ := rulestore.Defaults()
			type seen struct {
				healthz, readyz int
				metrics         string
			}
			waited := make(chan seen, 1)
			go func() {
				// Until Redis starts.
				deadline := time.Now().Add(60 * time.Second)
				for code, _ := get("/healthz"); code != http.StatusOK && time.Now().Before(deadline); code, _ = get("/healthz") {
					time.Sleep(50 * time.Millisecond)
				}
				var s seen
				for time.Now().Before(deadline) {
					time.Sleep(500 * time.Millisecond) // a few of its attempts fail
					s.healthz, _ = get("/healthz")
					s.readyz, _ = get("/readyz")
					_, s.metrics = get("/metrics")
					if fallback == "" || strings.Contains(s.metrics, `utilreview_rules_version_info{version="`+v1.Hash()+`"} 1`) {
						break
					}
				}
				waited <- s
				r.start(t)
			}()
			p := l.run(t, addr, serveOptions{}) // returns once ready
			got := <-waited
			if got.healthz != http.StatusOK || got.readyz != http.StatusServiceUnavailable {
				t.Errorf("while Redis was down: healthz %d, readyz %d; want 200 and 503", got.healthz, got.readyz)
			}
			onOwnRules := strings.Contains(got.metrics, `utilreview_rules_version_info{version="`+v1.Hash()+`"} 1`) &&
				strings.Contains(got.metrics, "utilreview_rules_store_up 0")
			if onOwnRules != (fallback == "embedded") {
				t.Errorf("while Redis was down, fallback %q: evaluating its own rules %v, want %v; metrics:\n%s", fallback, onOwnRules, fallback == "embedded", tail(got.metrics, 2000))
			}
			waitRulesVersion(t, 10*time.Second, v1.Hash(), p.base)
			rdb := redis.NewClient(&redis.Options{Addr: r.addr})
			defer rdb.Close()
			store, err := rulestore.New(rdb, rulestore.Config{Prefix: l.env["UTILREVIEW_REDIS_PREFIX"]})
			if err != nil {
				t.Fatal(err)
			}
			harness.Eventually(t, 15*time.Second, 200*time.Millisecond, "Redis holds the replica's rules", func() (bool, error) {
				cur, err := store.Current(context.Background())
				return cur == v1.Hash(), fmt.Errorf("current %q (%v)", rulestore.Short(cur), err)
			})
		})
	}
}

// TestServeRulesTwoProcesses runs the scenario with the binary: two
// `utilreview serve` OS processes on one Redis (the catch-up, not
// Subscriptions, brings them the examples), and `utilreview rules
// publish|rollback|list` as an operator or a Kubernetes Job runs them.
func TestServeRulesTwoProcesses(t *testing.T) {
	t.Parallel()
	l := newLiveEnv(t, "2026-11-20T12:00:00-05:00")
	l.env["UTILREVIEW_SUBSCRIPTIONS"] = "off"
	l.env["UTILREVIEW_CATCHUP_INTERVAL"] = "2s"
	sc := newRulesScenario(t, l)
	bin := buildBinary(t)
	a := l.startProcess(t, bin, "127.0.0.1:0")
	b := l.startProcess(t, bin, "127.0.0.1:0")

	rulesCmd := func(args ...string) (int, string) {
		cmd := exec.Command(bin, append([]string{"rules"}, args...)...)
		cmd.Env = os.Environ()
		for k, v := range l.env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		cmd.Env = append(cmd.Env, "UTILREVIEW_PUBLISHER=job")
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, string(out)
	}
	sc.publish = func(t *testing.T, dir string) (bool, string) {
		code, out := rulesCmd("publish", dir)
		if code != 0 && code != 1 {
			t.Fatalf("rules publish: exit %d %s", code, out)
		}
		return code == 0, out
	}
	sc.rollback = func(t *testing.T, hash string) {
		if code, out := rulesCmd("rollback", hash[:12]); code != 0 {
			t.Fatalf("rules rollback: exit %d %s", code, out)
		}
	}
	sc.run(t, l, "http://"+a.addr, "http://"+b.addr)
	if code, out := rulesCmd("list"); code != 0 || !strings.Contains(out, "job") {
		t.Errorf("rules list: exit %d %s", code, out)
	}
	a.terminate(t)
	b.terminate(t)
}
