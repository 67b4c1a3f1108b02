package main

import (
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/utilreview/utilreview/e2e/harness"
	"github.com/utilreview/utilreview/service/rulestore"
)

// copyRules copies the shipped rule directory, applying edits
// (file → old → new) to it.
func copyRules(t *testing.T, edits ...[3]string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("cp", "-r", "../../service/rules/defaults/.", dir).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	for _, e := range edits {
		p := filepath.Join(dir, e[0])
		b, err := os.ReadFile(p)
		if err != nil || !strings.Contains(string(b), e[1]) {
			t.Fatalf("%s lacks %q (%v)", e[0], e[1], err)
		}
		if err := os.WriteFile(p, []byte(strings.Replace(string(b), e[1], e[2], 1)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestRulesStoreUsage(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"rules", "publish"}, map[string]string{"UTILREVIEW_REDIS_URL": "redis://127.0.0.1:1"}, "usage"},
		{[]string{"rules", "rollback"}, map[string]string{"UTILREVIEW_REDIS_URL": "redis://127.0.0.1:1"}, "usage"},
		{[]string{"rules", "list", "extra"}, map[string]string{"UTILREVIEW_REDIS_URL": "redis://127.0.0.1:1"}, "usage"},
		{[]string{"rules", "list"}, nil, "UTILREVIEW_REDIS_URL (--redis-url) is required"},
		{[]string{"rules", "list", "--redis-url", "http://x"}, nil, "UTILREVIEW_REDIS_URL: want redis://"},
		{[]string{"rules", "publish", "--frobnicate", "dir"}, nil, "usage"},
	} {
		code, _, errOut := runCLI(t, c.env, c.args...)
		if code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, code, errOut, c.want)
		}
	}
	// Problems before Redis: a missing directory, an unreachable Redis.
	env := map[string]string{"UTILREVIEW_REDIS_URL": "redis://127.0.0.1:1"}
	if code, _, errOut := runCLI(t, env, "rules", "publish", "/nonexistent/rules"); code != 1 || !strings.Contains(errOut, "/nonexistent/rules: does not exist") {
		t.Errorf("missing directory: exit %d, %q", code, errOut)
	}
	if code, _, errOut := runCLI(t, env, "rules", "list"); code != 1 || !strings.Contains(errOut, "cannot reach Redis at redis://127.0.0.1:1") {
		t.Errorf("unreachable Redis: exit %d, %q", code, errOut)
	}
	if code, out, _ := runCLI(t, nil, "rules", "publish", "-h"); code != 0 || !strings.Contains(out, "rollback VERSION") {
		t.Errorf("-h: exit %d, %q", code, out)
	}
}

func TestRulesPublishListRollback(t *testing.T) {
	t.Parallel()
	_, prefix := harness.Redis(t)
	env := map[string]string{
		"UTILREVIEW_REDIS_URL":    "redis://" + harness.RedisAddr(t),
		"UTILREVIEW_REDIS_PREFIX": prefix + "{ur}:",
		"UTILREVIEW_PUBLISHER":    "ops-job",
	}
	if code, out, _ := runCLI(t, env, "rules", "list"); code != 0 || !strings.Contains(out, "no rules version stored yet") {
		t.Errorf("empty list: exit %d %q", code, out)
	}

	dir1 := copyRules(t)
	code, out, errOut := runCLI(t, env, "rules", "publish", dir1)
	if code != 0 || !strings.Contains(out, "published "+dir1+" as version ") {
		t.Fatalf("publish: exit %d, %q %q", code, out, errOut)
	}
	b1, _ := rulestore.ReadDir(dir1)
	v1 := b1.Hash()

	// The flag wins over UTILREVIEW_PUBLISHER.
	dir2 := copyRules(t, [3]string{"commercial-acme.yaml", "hours: 24", "hours: 12"}, [3]string{"commercial-acme.yaml", `version: "2025.1"`, `version: "2025.2"`})
	if code, _, errOut := runCLI(t, env, "rules", "publish", dir2, "--publisher", "alice@laptop"); code != 0 {
		t.Fatalf("publish v2: exit %d %s", code, errOut)
	}
	b2, _ := rulestore.ReadDir(dir2)
	v2 := b2.Hash()

	// Refused: invalid (the messages of rules validate), and changed content
	// under a stored id@version. Exit 1, the current version stays.
	bad := copyRules(t, [3]string{"commercial-acme.yaml", "factor: 1.0", "factor: -1"}, [3]string{"commercial-acme.yaml", `version: "2025.1"`, `version: "2025.3"`})
	code, _, errOut = runCLI(t, env, "rules", "publish", bad)
	_, _, validateOut := runCLI(t, nil, "rules", "validate", bad)
	firstProblem := strings.SplitN(validateOut, "\n", 2)[0]
	if code != 1 || !strings.Contains(errOut, firstProblem) || !strings.Contains(errOut, "nothing published") {
		t.Errorf("invalid publish: exit %d, stderr %q; want 1 and %q", code, errOut, firstProblem)
	}
	conflict := copyRules(t, [3]string{"commercial-acme.yaml", "hours: 24", "hours: 6"})
	code, _, errOut = runCLI(t, env, "rules", "publish", conflict)
	if code != 1 || !strings.Contains(errOut, "example-acme-health@2025.1") || !strings.Contains(errOut, "conflicts with a stored version") {
		t.Errorf("conflicting publish: exit %d, stderr %q", code, errOut)
	}

	code, out, _ = runCLI(t, env, "rules", "list", "--json")
	var list []rulestore.Version
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil || len(list) != 2 {
		t.Fatalf("list --json: exit %d %q", code, out)
	}
	if list[0].Hash != v2 || !list[0].Current || list[0].Publisher != "alice@laptop" || list[1].Hash != v1 || list[1].Publisher != "ops-job" {
		t.Errorf("list: %+v; want v2 by alice@laptop (current), then v1 by ops-job", list)
	}

	code, out, errOut = runCLI(t, env, "rules", "rollback", v1[:12])
	if code != 0 || !strings.Contains(out, v1) {
		t.Fatalf("rollback: exit %d %q %q", code, out, errOut)
	}
	code, out, _ = runCLI(t, env, "rules", "list")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 3 || !strings.HasPrefix(lines[1], "*") || !strings.Contains(lines[1], v1[:12]) || !strings.Contains(lines[1], "ops-job") {
		t.Errorf("list after rollback: %q; want v1 first and current", out)
	}
	if code, _, errOut := runCLI(t, env, "rules", "rollback", "0000000000"); code != 1 || !strings.Contains(errOut, "no such rules version") {
		t.Errorf("rollback to an unknown version: exit %d %q", code, errOut)
	}
}

func TestServeRulesConfiguration(t *testing.T) {
	t.Parallel()
	base := map[string]string{"UTILREVIEW_FHIR_URL": "http://127.0.0.1:1/fhir", "UTILREVIEW_REDIS_URL": "redis://127.0.0.1:1", "UTILREVIEW_WEBHOOK_SECRET": "s3cret-s3cret-s3cret-s3cret", "UTILREVIEW_SUBSCRIPTIONS": "off"}
	tests := []struct {
		env     map[string]string
		problem string // "" when valid
		check   func(*serveConfig) bool
	}{
		{nil, "", func(c *serveConfig) bool {
			return c.RulesCheckInterval == 30*time.Second && c.RulesFallback == "" && c.RereviewRate == 5 && strings.Contains(c.Publisher, "@")
		}},
		{map[string]string{"UTILREVIEW_RULES_CHECK_INTERVAL": "5s", "UTILREVIEW_RULES_FALLBACK": "embedded", "UTILREVIEW_RULES_REREVIEW_RATE": "0.5", "UTILREVIEW_PUBLISHER": "ops"}, "", func(c *serveConfig) bool {
			return c.RulesCheckInterval == 5*time.Second && c.RulesFallback == "embedded" && c.RereviewRate == 0.5 && c.Publisher == "ops"
		}},
		{map[string]string{"UTILREVIEW_RULES_FALLBACK": "defaults"}, "UTILREVIEW_RULES_FALLBACK \"defaults\": want embedded", nil},
		{map[string]string{"UTILREVIEW_RULES_CHECK_INTERVAL": "0s"}, "UTILREVIEW_RULES_CHECK_INTERVAL 0s: want a positive duration", nil},
		{map[string]string{"UTILREVIEW_RULES_REREVIEW_RATE": "fast"}, "UTILREVIEW_RULES_REREVIEW_RATE \"fast\": want a number", nil},
		{map[string]string{"UTILREVIEW_RULES_REREVIEW_RATE": "0"}, "UTILREVIEW_RULES_REREVIEW_RATE 0: want a positive number", nil},
	}
	for _, tt := range tests {
		env := map[string]string{}
		for k, v := range base {
			env[k] = v
		}
		for k, v := range tt.env {
			env[k] = v
		}
		cfg, err := parseServeFlags(nil, func(k string) string { return env[k] }, io.Discard, io.Discard)
		if tt.problem != "" {
			if err == nil || !strings.Contains(err.Error(), tt.problem) {
				t.Errorf("%v: %v, want %q", tt.env, err, tt.problem)
			}
			continue
		}
		if err != nil || !tt.check(cfg) {
			t.Errorf("%v: %v %+v", tt.env, err, cfg)
		}
	}
}
