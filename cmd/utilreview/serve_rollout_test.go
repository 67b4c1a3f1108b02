package main

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/utilreview/utilreview/e2e/harness"
	"github.com/utilreview/utilreview/service/live"
	"github.com/utilreview/utilreview/service/queue"
	"github.com/utilreview/utilreview/service/rulestore"
)

// countingRereview counts its runs and schedules one patient per run;
// block makes a run wait for its context (a long search of the worklist),
// fail makes it fail.
type countingRereview struct {
	runs, done atomic.Int32
	block      bool
	fail       atomic.Bool
}

func (r *countingRereview) Run(ctx context.Context, version string, schedule live.Schedule) (int, error) {
	r.runs.Add(1)
	if r.block {
		<-ctx.Done()
		return 0, ctx.Err()
	}
	if r.fail.Load() {
		return 0, errors.New("the FHIR server is unreachable")
	}
	ok, err := schedule(ctx, []queue.Entry{{Patient: "Patient/p-" + version, Reason: live.ReasonRules}}, time.Second)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, live.ErrClaimLost
	}
	r.done.Add(1)
	return 1, nil
}

// The re-review that follows a version is one replica's lease: a replica
// that dies (stops renewing) or stops (releases it) before it scheduled
// the re-review hands it to another replica's next check; a failed one is
// retried; a done one is never run again, and a renewed one is never run
// twice. Each time a version is made current, its re-review is written to
// the queue's delayed set once.
func TestRolloutTakeover(t *testing.T) {
	t.Parallel()
	rdb, prefix := harness.Redis(t)
	store, err := rulestore.New(rdb, rulestore.Config{Prefix: prefix + "{ur}:"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	v1, err := rulestore.Defaults()
	if err != nil {
		t.Fatal(err)
	}
	ver, _, err := store.Publish(ctx, v1, "", "test")
	if err != nil {
		t.Fatal(err)
	}
	current := &rulestore.Compiled{Version: ver}
	q, err := queue.New(rdb, queue.Config{Prefix: prefix + "{ur}:"})
	if err != nil {
		t.Fatal(err)
	}
	const lease = 600 * time.Millisecond
	replica := func(name string, r rereviewer) *servedRules {
		s := &servedRules{store: store, rolloutLease: lease}
		s.followWith(r, q, name, slog.New(slog.DiscardHandler))
		return s
	}

	// Replica a dies while it re-reviews: its claim, taken directly from
	// the store, is never renewed. b's checks take it over once the lease
	// ran out, and mark it done.
	if dead, err := store.ClaimRollout(ctx, ver.Hash, "a", lease); err != nil || dead == nil {
		t.Fatalf("a's claim: %v %v", dead, err)
	}
	bRuns := &countingRereview{}
	b := replica("b", bRuns)
	b.changed(ctx, current)
	if bRuns.runs.Load() != 0 {
		t.Fatal("b ran the re-review a holds")
	}
	harness.Eventually(t, 10*time.Second, 100*time.Millisecond, "b takes the dead replica's re-review over", func() (bool, error) {
		b.changed(ctx, current) // watchRollouts' check
		b.rereviews.Wait()
		return bRuns.done.Load() == 1, nil
	})
	for range 3 {
		b.changed(ctx, current)
	}
	b.rereviews.Wait()
	if n := bRuns.runs.Load(); n != 1 {
		t.Errorf("the done re-review ran %d times, want 1", n)
	}

	// A rollback to the version is a new re-review. Replica c holds it for
	// several leases (renewing) while d checks; then c stops (shutdown):
	// its release hands the re-review to d's next check at once.
	if _, err := store.Rollback(ctx, ver.Hash); err != nil {
		t.Fatal(err)
	}
	cRuns, dRuns := &countingRereview{block: true}, &countingRereview{}
	cctx, stopC := context.WithCancel(ctx)
	c, d := replica("c", cRuns), replica("d", dRuns)
	c.changed(cctx, current)
	for range 6 {
		time.Sleep(lease / 2)
		d.changed(ctx, current)
	}
	d.rereviews.Wait()
	if dRuns.runs.Load() != 0 {
		t.Fatal("d ran the re-review c holds and renews")
	}
	stopC()
	c.rereviews.Wait()
	d.changed(ctx, current)
	d.rereviews.Wait()
	if dRuns.done.Load() != 1 {
		t.Errorf("d ran the released re-review %d times, want 1", dRuns.done.Load())
	}

	// A failed re-review is released and retried at the next check.
	if _, err := store.Rollback(ctx, ver.Hash); err != nil {
		t.Fatal(err)
	}
	eRuns := &countingRereview{}
	eRuns.fail.Store(true)
	e := replica("e", eRuns)
	e.changed(ctx, current)
	e.rereviews.Wait()
	eRuns.fail.Store(false)
	e.changed(ctx, current)
	e.rereviews.Wait()
	if eRuns.runs.Load() != 2 || eRuns.done.Load() != 1 {
		t.Errorf("failed then retried: %d runs, %d done; want 2 and 1", eRuns.runs.Load(), eRuns.done.Load())
	}

	// Three times made current, three schedules: one each, none doubled by
	// a takeover or a retry.
	st, err := q.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Delayed != 3 {
		t.Errorf("%d re-review entries scheduled, want 3 (one per time the version was made current)", st.Delayed)
	}
}
