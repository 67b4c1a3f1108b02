package report

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (f *fakeClock) now() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.t }
func (f *fakeClock) add(d time.Duration) {
	f.mu.Lock()
	f.t = f.t.Add(d)
	f.mu.Unlock()
}

// waitFor asks the cache until it answers a report or an error.
func waitFor(t *testing.T, c *Cache, from, to time.Time) (*Report, error) {
	t.Helper()
	for i := 0; i < 500; i++ {
		rep, _, err := c.Committee(from, to)
		if rep != nil || err != nil {
			return rep, err
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatal("the report was never computed")
	return nil, nil
}

func TestCacheComputesOncePerTTL(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	var calls atomic.Int32
	release := make(chan struct{})
	c := NewCache(context.Background(), func(ctx context.Context, from, to time.Time) (*Report, error) {
		calls.Add(1)
		<-release
		return &Report{From: from.Format(time.DateOnly), To: to.Format(time.DateOnly)}, nil
	}, CacheConfig{TTL: 10 * time.Minute, Now: clock.now})
	from, to := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 4, 30, 0, 0, 0, 0, time.UTC)

	// A burst of views while the first computation runs: one computation, no report yet.
	for i := 0; i < 50; i++ {
		if rep, _, err := c.Committee(from, to); rep != nil || err != nil {
			t.Fatalf("view %d: %v %v, want nothing yet", i, rep, err)
		}
	}
	close(release)
	rep, err := waitFor(t, c, from, to)
	if err != nil || rep.From != "2026-03-01" || rep.To != "2026-04-30" {
		t.Fatalf("got %+v %v", rep, err)
	}
	for i := 0; i < 50; i++ {
		c.Committee(from, to)
	}
	c.Wait()
	if n := calls.Load(); n != 1 {
		t.Errorf("%d computations for 101 views within the TTL, want 1", n)
	}
	// Past the TTL: the old report is served while one new computation runs.
	clock.add(11 * time.Minute)
	if again, _, err := c.Committee(from, to); again != rep || err != nil {
		t.Errorf("past the TTL: %v %v, want the old report meanwhile", again, err)
	}
	c.Wait()
	if n := calls.Load(); n != 2 {
		t.Errorf("%d computations after the TTL, want 2", n)
	}
	// Another period is computed on its own.
	other := to.AddDate(0, 1, 0)
	if _, err := waitFor(t, c, from, other); err != nil {
		t.Fatal(err)
	}
	c.Wait()
	if n := calls.Load(); n != 3 {
		t.Errorf("%d computations with a second period, want 3", n)
	}
}

func TestCacheErrorsAndOneAtATime(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	var running, most, calls atomic.Int32
	fail := atomic.Bool{}
	fail.Store(true)
	c := NewCache(context.Background(), func(ctx context.Context, from, to time.Time) (*Report, error) {
		calls.Add(1)
		n := running.Add(1)
		defer running.Add(-1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(5 * time.Millisecond)
		if fail.Load() {
			return nil, errors.New("fhir server down")
		}
		return &Report{}, nil
	}, CacheConfig{TTL: 10 * time.Minute, ErrorTTL: time.Minute, Now: clock.now})
	day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 5; i++ { // five periods at once
		c.Committee(day, day.AddDate(0, 0, i))
	}
	c.Wait()
	if m := most.Load(); m != 1 {
		t.Errorf("%d computations ran at once, want 1", m)
	}
	if _, err := waitFor(t, c, day, day); err == nil {
		t.Fatal("a failed computation answered no error")
	}
	c.Wait()
	before := calls.Load()
	c.Committee(day, day) // within ErrorTTL: the error again, no new computation
	c.Wait()
	if calls.Load() != before {
		t.Error("a failure was retried within ErrorTTL")
	}
	fail.Store(false)
	clock.add(2 * time.Minute)
	if rep, err := waitFor(t, c, day, day); err != nil || rep == nil {
		t.Errorf("after ErrorTTL: %v %v, want a report", rep, err)
	}
}

func TestCacheStopsWithItsContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	c := NewCache(ctx, func(ctx context.Context, from, to time.Time) (*Report, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}, CacheConfig{})
	day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	c.Committee(day, day)
	cancel()
	done := make(chan struct{})
	go func() { c.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a computation outlived the cache's context")
	}
	if rep, _, _ := c.Committee(day, day.AddDate(0, 0, 1)); rep != nil {
		t.Error("a report after the context ended")
	}
}
