package queue

import (
	"context"
	"slices"
	"testing"
	"time"
)

func TestCatchUpRequestsCoalesce(t *testing.T) {
	t.Parallel()
	q, _ := newQueue(t, nil)
	q2 := another(t, q, "other", nil)
	ctx := context.Background()
	take := func(q *Queue) bool {
		ok, err := q.TakeCatchUpRequest(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if take(q) {
		t.Error("a request taken before any was made")
	}
	for range 20 {
		if err := q.RequestCatchUp(ctx, "ping"); err != nil {
			t.Fatal(err)
		}
	}
	if err := q2.RequestCatchUp(ctx, "event-gap"); err != nil {
		t.Fatal(err)
	}
	if !take(q2) {
		t.Error("21 requests: none taken")
	}
	if take(q) || take(q2) {
		t.Error("21 requests gave more than one catch-up")
	}
}

func TestCatchUpLock(t *testing.T) {
	t.Parallel()
	q, _ := newQueue(t, nil)
	q2 := another(t, q, "other", nil)
	ctx := context.Background()
	release, ok, err := q.CatchUpLock(ctx, time.Minute)
	if err != nil || !ok {
		t.Fatalf("first lock: %v, %v", ok, err)
	}
	if _, ok, err := q2.CatchUpLock(ctx, time.Minute); err != nil || ok {
		t.Fatalf("second replica got the lock held by the first: %v, %v", ok, err)
	}
	release()
	release2, ok, err := q2.CatchUpLock(ctx, 100*time.Millisecond)
	if err != nil || !ok {
		t.Fatalf("lock after release: %v, %v", ok, err)
	}
	release() // a late second release must not free another holder's lock
	if _, ok, _ := q.CatchUpLock(ctx, time.Minute); ok {
		t.Error("a stale release freed another replica's lock")
	}
	time.Sleep(150 * time.Millisecond)
	if _, ok, err := q.CatchUpLock(ctx, time.Minute); err != nil || !ok {
		t.Errorf("lock after the holder's TTL: %v, %v", ok, err)
	}
	release2()
}

func TestWatermarkOnlyMovesForward(t *testing.T) {
	t.Parallel()
	q, _ := newQueue(t, nil)
	ctx := context.Background()
	if _, ok, err := q.Watermark(ctx, "Encounter"); err != nil || ok {
		t.Fatalf("watermark before any: ok %v, %v", ok, err)
	}
	base := time.Date(2026, 5, 1, 12, 0, 0, 0, time.FixedZone("EST", -5*3600))
	steps := []struct {
		set  time.Time
		want time.Time
	}{
		{base, base},
		{base.Add(time.Millisecond), base.Add(time.Millisecond)},
		{base.Add(-time.Hour), base.Add(time.Millisecond)},                     // backwards: ignored
		{base.Add(time.Millisecond), base.Add(time.Millisecond)},               // equal: unchanged
		{base.Add(2 * time.Millisecond).UTC(), base.Add(2 * time.Millisecond)}, // another zone, same order
		{base.Add(10 * 365 * 24 * time.Hour), base.Add(10 * 365 * 24 * time.Hour)},
	}
	for i, s := range steps {
		if err := q.AdvanceWatermark(ctx, "Encounter", s.set); err != nil {
			t.Fatal(err)
		}
		got, ok, err := q.Watermark(ctx, "Encounter")
		if err != nil || !ok || !got.Equal(s.want) {
			t.Errorf("step %d: watermark %v (%v, %v), want %v", i, got, ok, err, s.want)
		}
	}
	if _, ok, _ := q.Watermark(ctx, "Claim"); ok {
		t.Error("watermarks are not per type")
	}
}

func TestObserveEvent(t *testing.T) {
	t.Parallel()
	type step struct {
		advance     time.Duration // the clock moves first
		events      []int64       // nil: call Gaps instead
		wantCatchUp bool
	}
	grace := 30 * time.Second
	tests := []struct {
		name  string
		steps []step
	}{
		{"in order: no catch-up", []step{
			{0, []int64{1}, false}, {0, []int64{2}, false}, {0, []int64{3, 4}, false},
			{time.Minute, nil, false},
		}},
		{"first event seen mid-count: no gap", []step{
			{0, []int64{41}, false}, {0, []int64{42}, false}, {time.Minute, nil, false},
			{0, []int64{1}, true}, // the early numbers forgotten: now a 1 is a reset
		}},
		// HAPI 8.8 delivers a new Subscription's first events in parallel:
		// measured 3, 1, 2, 4 for four Encounters of one transaction
		// (docs/fhir-server-behaviour.md). The late 1 is not a reset, and
		// nothing is missing.
		{"reordered at a subscription's start: no catch-up", []step{
			{0, []int64{3}, false}, {0, []int64{1}, false}, {0, []int64{2}, false}, {0, []int64{4}, false},
			{time.Minute, nil, false},
		}},
		{"an early number still awaited is not a reset", []step{
			{0, []int64{5}, false}, {time.Second, []int64{1}, false}, {time.Second, []int64{6}, false},
			{0, []int64{1}, true}, // 1 again, after its hole was filled: a reset
		}},
		{"reordered within the grace: no catch-up", []step{
			{0, []int64{1}, false}, {0, []int64{2}, false}, {0, []int64{5}, false},
			{time.Second, []int64{4}, false}, {time.Second, []int64{3}, false},
			{time.Minute, nil, false},
		}},
		{"duplicates: no catch-up", []step{
			{0, []int64{7}, false}, {0, []int64{8}, false}, {0, []int64{7, 8}, false}, {0, []int64{8}, false},
			{time.Minute, nil, false},
		}},
		{"a real gap is reported by Gaps after the grace, once", []step{
			{0, []int64{1}, false}, {0, []int64{2}, false}, {0, []int64{4}, false},
			{10 * time.Second, nil, false}, // within the grace
			{0, []int64{5}, false},
			{time.Minute, nil, true},
			{0, nil, false},        // cleared
			{0, []int64{3}, false}, // the late event changes nothing
		}},
		{"a reset is reported at once", []step{
			{0, []int64{1}, false}, {0, []int64{2}, false}, {0, []int64{3}, false},
			{0, []int64{1}, true},
			{0, []int64{2}, false}, {0, []int64{3}, false},
			{time.Minute, nil, false},
		}},
		{"a reset to 1 within one batch is reported", []step{
			{0, []int64{1}, false}, {0, []int64{9}, false}, {0, []int64{1, 10}, true},
		}},
		{"a jump wider than the window is reported at once", []step{
			{0, []int64{1}, false}, {0, []int64{eventWindow + 10}, true}, {time.Minute, nil, false},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clk := newClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
			q, _ := newQueue(t, func(c *Config) { c.Now = clk.Now })
			q2 := another(t, q, "replica-2", nil) // steps alternate between replicas
			ctx := context.Background()
			for i, s := range tt.steps {
				clk.Set(clk.Now().Add(s.advance))
				r := q
				if i%2 == 1 {
					r = q2
				}
				var got bool
				var err error
				if s.events == nil {
					var subs []string
					subs, err = r.Gaps(ctx, grace)
					if got = len(subs) > 0; got && !slices.Equal(subs, []string{"Subscription/s1"}) {
						t.Errorf("step %d: gaps in %v, want Subscription/s1", i, subs)
					}
				} else {
					got, err = r.ObserveEvent(ctx, "Subscription/s1", s.events)
				}
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				if got != s.wantCatchUp {
					t.Errorf("step %d (%+v): catch-up %v, want %v", i, s, got, s.wantCatchUp)
				}
			}
		})
	}
}

func TestObserveEventPerSubscription(t *testing.T) {
	t.Parallel()
	clk := newClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	q, _ := newQueue(t, func(c *Config) { c.Now = clk.Now })
	ctx := context.Background()
	for _, step := range []struct {
		sub string
		n   int64
	}{{"Subscription/a", 5}, {"Subscription/b", 1}, {"Subscription/a", 6}, {"Subscription/b", 2}} {
		if catchUp, err := q.ObserveEvent(ctx, step.sub, []int64{step.n}); err != nil || catchUp {
			t.Errorf("%s event %d: catch-up %v, %v", step.sub, step.n, catchUp, err)
		}
	}
	clk.Set(clk.Now().Add(time.Hour))
	if gaps, err := q.Gaps(ctx, time.Minute); err != nil || len(gaps) > 0 {
		t.Errorf("two interleaved subscriptions in order: gaps in %v, %v", gaps, err)
	}
}
