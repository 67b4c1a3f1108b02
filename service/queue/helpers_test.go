package queue

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/utilreview/utilreview/e2e/harness"
)

// testConfig is a configuration with small durations, so behaviour shows in
// milliseconds. ClaimIdle is long: tests that want claims set it.
func testConfig(prefix string) Config {
	return Config{
		Prefix:       prefix,
		Consumer:     "test",
		Workers:      2,
		MinBackoff:   10 * time.Millisecond,
		MaxBackoff:   40 * time.Millisecond,
		LeaseTTL:     600 * time.Millisecond,
		ClaimIdle:    time.Minute,
		Block:        50 * time.Millisecond,
		Poll:         10 * time.Millisecond,
		BusyDelay:    10 * time.Millisecond,
		DrainTimeout: 200 * time.Millisecond,
	}
}

// newQueue returns a queue on the shared Redis under a prefix unique to the
// test, configured by testConfig then edit.
func newQueue(t *testing.T, edit func(*Config)) (*Queue, *redis.Client) {
	t.Helper()
	rdb, prefix := harness.Redis(t)
	cfg := testConfig(prefix)
	if edit != nil {
		edit(&cfg)
	}
	q, err := New(rdb, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return q, rdb
}

// another returns a second queue on the same Redis keys (another replica).
func another(t *testing.T, q *Queue, consumer string, edit func(*Config)) *Queue {
	t.Helper()
	cfg := q.cfg
	cfg.Consumer = consumer
	cfg.Registerer = nil
	if edit != nil {
		edit(&cfg)
	}
	q2, err := New(q.rdb, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return q2
}

// run starts q.Run and returns a function that stops it and waits for it to
// return; the test's cleanup stops it too.
func run(t *testing.T, q *Queue, h Handler) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- q.Run(ctx, h) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Errorf("Run did not return 10 s after its context was cancelled")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// eventually fails the test unless cond becomes true within timeout.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// stats reads the queue's stats or fails the test.
func stats(t *testing.T, q *Queue) Stats {
	t.Helper()
	s, err := q.Stats(context.Background())
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	return s
}

// drained reports whether nothing is left to do: no entry in the stream and
// none delayed.
func drained(t *testing.T, q *Queue) bool {
	s := stats(t, q)
	return s.Depth == 0 && s.Delayed == 0
}

// clock is a settable clock for Config.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// recorder records the entries a handler saw.
type recorder struct {
	mu      sync.Mutex
	entries []Entry
}

func (r *recorder) add(e Entry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.entries = append(r.entries, e)
}

func (r *recorder) all() []Entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Entry(nil), r.entries...)
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.entries)
}
