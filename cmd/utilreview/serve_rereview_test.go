package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/utilreview/utilreview/e2e/harness"
	"github.com/utilreview/utilreview/e2e/worklisttest"
	"github.com/utilreview/utilreview/service/live"
	"github.com/utilreview/utilreview/service/rulestore"
)

// logLines are the JSON lines of a service log whose msg is msg.
func logLines(log, msg string) []map[string]any {
	var out []map[string]any
	for line := range strings.Lines(log) {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// rereviewMember reports whether a member of the queue's delayed set (a
// JSON array: key, tag, then the entry's fields and values) is a re-review
// after a rules change (reason "rules"), and its key.
func rereviewMember(m string) (key string, ok bool) {
	var arr []string
	if json.Unmarshal([]byte(m), &arr) != nil || len(arr) < 2 {
		return "", false
	}
	for i := 2; i+1 < len(arr); i += 2 {
		if arr[i] == "reason" && arr[i+1] == live.ReasonRules {
			return arr[0], true
		}
	}
	return "", false
}

// TestServeRulesRereviewOutlivesItsReplica runs two `utilreview serve` OS
// processes with a slow re-review (one patient every 2 s) and kills the
// replica that scheduled the re-review of a new version (SIGKILL) right
// after it did: the schedule is Redis's, so the other replica reviews
// every patient still waiting for its turn, and the worklist reaches what
// the new rules give (the stay that now crosses the threshold gets its
// Task). Nothing is left scheduled.
func TestServeRulesRereviewOutlivesItsReplica(t *testing.T) {
	t.Parallel()
	l := newLiveEnv(t, "2026-11-20T12:00:00-05:00")
	l.env["UTILREVIEW_SUBSCRIPTIONS"] = "off"
	l.env["UTILREVIEW_CATCHUP_INTERVAL"] = "2s"
	sc := newRulesScenario(t, l)
	l.env["UTILREVIEW_RULES_REREVIEW_RATE"] = "0.5"
	rdb, prefix := l.redisOf(t)
	bin := buildBinary(t)
	procs := []*process{l.startProcess(t, bin, "127.0.0.1:0"), l.startProcess(t, bin, "127.0.0.1:0")}
	c := harness.NewFHIR(t)
	stored := c.PutBundle("../../testdata/examples/ur-scenarios.json", idSuffix(), l.tag)
	file := collectionFile(t, c.Base, stored.Resources)
	offline := func(dir string) (map[string]worklisttest.Item, map[string]worklisttest.Item) {
		l.env["UTILREVIEW_RULES_DIR"] = dir
		defer func() { l.env["UTILREVIEW_RULES_DIR"] = sc.v1 }()
		return l.offline(t, file)
	}
	tasksV1, requestsV1 := offline(sc.v1)
	l.converge(t, c, tasksV1, requestsV1, 3*time.Second)
	tasksV2, requestsV2 := offline(sc.v2)

	store, err := rulestore.New(rdb, rulestore.Config{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	v2, err := rulestore.ReadDir(sc.v2)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, _, err := store.Publish(ctx, v2, sc.v2, "test"); err != nil {
		t.Fatal(err)
	}

	// The replica that scheduled the re-review, killed once it has.
	var sched, survivor *process
	harness.Eventually(t, 30*time.Second, 50*time.Millisecond, "a replica schedules the re-review", func() (bool, error) {
		for i, p := range procs {
			if len(logLines(p.log.String(), "rules: patients scheduled for re-review")) > 0 {
				sched, survivor = p, procs[1-i]
				return true, nil
			}
		}
		return false, fmt.Errorf("no schedule logged")
	})
	sched.kill(t)
	mark := len(survivor.log.String())
	waiting := map[string]bool{}
	members, err := rdb.ZRange(ctx, prefix+"delayed", 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range members {
		if key, ok := rereviewMember(m); ok {
			waiting[key] = true
		}
	}
	scheduled := logLines(sched.log.String(), "rules: patients scheduled for re-review")[0]["patients"]
	t.Logf("killed the scheduling replica with %d of %v patients still waiting for their turn", len(waiting), scheduled)
	if len(waiting) == 0 {
		t.Fatalf("no patient waited in Redis when the scheduling replica died: the test proves nothing (raise the pacing)")
	}

	// The survivor reviews each of them, and the worklist follows v2.
	harness.Eventually(t, 3*time.Minute, time.Second, "the survivor reviews every patient the dead replica scheduled", func() (bool, error) {
		reviewed := map[string]bool{}
		for _, m := range logLines(survivor.log.String()[mark:], "patient reviewed") {
			reviewed[fmt.Sprint(m["patient"])] = true
		}
		var missing []string
		for p := range waiting {
			if !reviewed[p] {
				missing = append(missing, p)
			}
		}
		slices.Sort(missing)
		return len(missing) == 0, fmt.Errorf("not reviewed yet: %v", missing)
	})
	l.converge(t, c, withCancelled(tasksV1, tasksV2), withRevoked(requestsV1, requestsV2), 3*time.Second)
	for _, m := range rdb.ZRange(ctx, prefix+"delayed", 0, -1).Val() {
		if _, ok := rereviewMember(m); ok {
			t.Errorf("left in the delayed set: %s", m)
		}
	}
	survivor.terminate(t)
}
