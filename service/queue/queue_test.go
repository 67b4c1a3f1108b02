package queue

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/utilreview/utilreview/e2e/harness"
)

func TestEnqueueCoalescesWaitingPatient(t *testing.T) {
	t.Parallel()
	q, rdb := newQueue(t, nil)
	ctx := context.Background()

	queued := 0
	for i := range 50 {
		ok, err := q.Enqueue(ctx, Entry{Patient: "Patient/p1", Resource: "Encounter/e1", Version: fmt.Sprint(i + 1), Reason: "notification"})
		if err != nil {
			t.Fatalf("Enqueue %d: %v", i, err)
		}
		if ok {
			queued++
		}
	}
	if queued != 1 {
		t.Errorf("50 enqueues of one waiting patient queued %d entries, want 1", queued)
	}
	if ok, err := q.Enqueue(ctx, Entry{Patient: "Patient/p2", Reason: "notification"}); err != nil || !ok {
		t.Errorf("another patient: queued %v, %v; want true, nil", ok, err)
	}
	if n := rdb.XLen(ctx, q.keys.stream).Val(); n != 2 {
		t.Errorf("stream length %d, want 2", n)
	}
}

func TestEnqueueKeyAndValidation(t *testing.T) {
	t.Parallel()
	q, _ := newQueue(t, nil)
	ctx := context.Background()
	tests := []struct {
		name    string
		entries []Entry
		queued  []bool
		wantErr bool
	}{
		{"resource without patient coalesces on the resource",
			[]Entry{{Resource: "Encounter/x", Reason: "delete"}, {Resource: "Encounter/x", Reason: "delete"}, {Resource: "Encounter/y", Reason: "delete"}},
			[]bool{true, false, true}, false},
		{"patient and resource coalesce on the patient",
			[]Entry{{Patient: "Patient/k", Resource: "Encounter/1"}, {Patient: "Patient/k", Resource: "Claim/2"}},
			[]bool{true, false}, false},
		{"an entry naming nothing is refused", []Entry{{Reason: "notification"}}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i, e := range tt.entries {
				ok, err := q.Enqueue(ctx, e)
				if tt.wantErr {
					if err == nil {
						t.Fatalf("Enqueue(%+v): no error", e)
					}
					return
				}
				if err != nil {
					t.Fatalf("Enqueue: %v", err)
				}
				if ok != tt.queued[i] {
					t.Errorf("entry %d: queued %v, want %v", i, ok, tt.queued[i])
				}
			}
		})
	}
}

func TestEntryFieldsRoundTrip(t *testing.T) {
	t.Parallel()
	q, _ := newQueue(t, nil)
	ctx := context.Background()
	at := time.Date(2026, 3, 1, 10, 0, 0, 123456789, time.UTC)
	want := Entry{
		Patient: "Patient/a", Resource: "Encounter/b", Version: "7", Reason: "notification",
		Trace:    map[string]string{"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "tracestate": "x=1"},
		Enqueued: at,
	}
	if _, err := q.Enqueue(ctx, want); err != nil {
		t.Fatal(err)
	}
	var rec recorder
	run(t, q, func(ctx context.Context, e Entry) error { rec.add(e); return nil })
	eventually(t, 5*time.Second, "the entry is handled", func() bool { return rec.count() == 1 })
	got := rec.all()[0]
	if got.ID == "" {
		t.Error("ID not set on delivery")
	}
	got.ID = ""
	if !got.Enqueued.Equal(at) {
		t.Errorf("Enqueued %v, want %v", got.Enqueued, at)
	}
	got.Enqueued = at
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestChangeDuringProcessingIsReviewedAgain(t *testing.T) {
	t.Parallel()
	q, _ := newQueue(t, nil)
	ctx := context.Background()
	var rec recorder
	inFirst, release := make(chan struct{}), make(chan struct{})
	run(t, q, func(ctx context.Context, e Entry) error {
		rec.add(e)
		if rec.count() == 1 {
			close(inFirst)
			<-release
		}
		return nil
	})
	if _, err := q.Enqueue(ctx, Entry{Patient: "Patient/p", Version: "1", Reason: "notification"}); err != nil {
		t.Fatal(err)
	}
	<-inFirst
	// The patient is being processed: a change now must be queued, not
	// coalesced into the entry in flight.
	ok, err := q.Enqueue(ctx, Entry{Patient: "Patient/p", Version: "2", Reason: "notification"})
	if err != nil || !ok {
		t.Fatalf("Enqueue during processing: queued %v, %v; want true", ok, err)
	}
	close(release)
	eventually(t, 5*time.Second, "the patient is reviewed a second time", func() bool { return rec.count() == 2 })
	if v := rec.all()[1].Version; v != "2" {
		t.Errorf("second review's version %q, want 2", v)
	}
	eventually(t, 5*time.Second, "the queue drains", func() bool { return drained(t, q) })
}

func TestOnePatientNeverProcessedTwiceAtOnce(t *testing.T) {
	t.Parallel()
	q1, _ := newQueue(t, func(c *Config) { c.Workers = 4; c.Consumer = "replica-1" })
	q2 := another(t, q1, "replica-2", nil)
	ctx := context.Background()

	var (
		mu       sync.Mutex
		active   = map[string]int{}
		overlaps []string
		handled  = map[string]int{}
	)
	handler := func(ctx context.Context, e Entry) error {
		mu.Lock()
		active[e.Patient]++
		if active[e.Patient] > 1 {
			overlaps = append(overlaps, e.Patient)
		}
		handled[e.Patient]++
		mu.Unlock()
		time.Sleep(15 * time.Millisecond)
		mu.Lock()
		active[e.Patient]--
		mu.Unlock()
		return nil
	}
	run(t, q1, handler)
	run(t, q2, handler)

	patients := []string{"Patient/a", "Patient/b", "Patient/c"}
	for round := range 30 {
		for _, p := range patients {
			if _, err := q1.Enqueue(ctx, Entry{Patient: p, Version: fmt.Sprint(round), Reason: "notification"}); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(3 * time.Millisecond)
	}
	eventually(t, 15*time.Second, "the queue drains", func() bool { return drained(t, q1) })
	mu.Lock()
	defer mu.Unlock()
	if len(overlaps) > 0 {
		t.Errorf("patients processed by two workers at once: %v", overlaps)
	}
	for _, p := range patients {
		if handled[p] == 0 {
			t.Errorf("%s never handled", p)
		}
	}
	t.Logf("handled per patient (90 enqueues in all): %v", handled)
}

func TestAckOnlyAfterSuccessRetryWithBackoff(t *testing.T) {
	t.Parallel()
	q, rdb := newQueue(t, nil)
	ctx := context.Background()
	var rec recorder
	var pendingDuringHandler []int64
	run(t, q, func(ctx context.Context, e Entry) error {
		// Appended before rec.add, whose lock publishes it to the test.
		pendingDuringHandler = append(pendingDuringHandler, rdb.XPending(ctx, q.keys.stream, q.cfg.Group).Val().Count)
		rec.add(e)
		if e.Attempt < 2 {
			return errors.New("fhir server unavailable")
		}
		return nil
	})
	if _, err := q.Enqueue(ctx, Entry{Patient: "Patient/r", Reason: "notification"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "three attempts", func() bool { return rec.count() == 3 })
	eventually(t, 5*time.Second, "the queue drains", func() bool { return drained(t, q) })
	for i, e := range rec.all() {
		if e.Attempt != i {
			t.Errorf("attempt %d has Attempt %d", i, e.Attempt)
		}
		if pendingDuringHandler[i] != 1 {
			t.Errorf("attempt %d: %d entries pending while the handler ran, want 1 (not acknowledged before)", i, pendingDuringHandler[i])
		}
	}
	if s := stats(t, q); s != (Stats{}) {
		t.Errorf("after success: %+v, want all zero", s)
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	cfg, err := Config{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	q := &Queue{cfg: cfg}
	var total time.Duration
	for n := 1; n < cfg.MaxAttempts; n++ {
		d := q.backoff(n)
		base := min(cfg.MinBackoff<<(n-1), cfg.MaxBackoff)
		if d < base || d > min(base+base/4, cfg.MaxBackoff) {
			t.Errorf("backoff(%d) = %s, want within [%s, %s]", n, d, base, min(base+base/4, cfg.MaxBackoff))
		}
		total += d
	}
	if total < 10*time.Minute {
		t.Errorf("default retries span %s before the dead letter, want at least 10m", total)
	}
}

func TestDeadLetterListAndReplay(t *testing.T) {
	t.Parallel()
	q, _ := newQueue(t, func(c *Config) { c.MaxAttempts = 3 })
	ctx := context.Background()
	var failing atomic.Bool
	failing.Store(true)
	var rec recorder
	run(t, q, func(ctx context.Context, e Entry) error {
		rec.add(e)
		if failing.Load() {
			return errors.New("write-back refused: HAPI-0989")
		}
		return nil
	})
	if _, err := q.Enqueue(ctx, Entry{Patient: "Patient/d", Resource: "Claim/c", Reason: "notification"}); err != nil {
		t.Fatal(err)
	}
	var dls []DeadLetter
	eventually(t, 5*time.Second, "a dead letter", func() bool {
		var err error
		dls, err = q.DeadLetters(ctx, 10)
		return err == nil && len(dls) == 1
	})
	if n := rec.count(); n != 3 {
		t.Errorf("handled %d times before the dead letter, want MaxAttempts = 3", n)
	}
	d := dls[0]
	if d.Error != "write-back refused: HAPI-0989" || d.Entry.Patient != "Patient/d" || d.Entry.Resource != "Claim/c" ||
		d.Entry.Attempt != 2 || d.At.IsZero() || d.Entry.ID == "" {
		t.Errorf("dead letter %+v", d)
	}
	if s := stats(t, q); s.DeadLetters != 1 || s.Depth != 0 || s.Delayed != 0 {
		t.Errorf("stats %+v, want one dead letter and nothing else", s)
	}

	// Replay once the cause is fixed.
	failing.Store(false)
	if err := q.Replay(ctx, d.ID); err != nil {
		t.Fatalf("Replay: %v", err)
	}
	eventually(t, 5*time.Second, "the replayed entry is handled", func() bool { return rec.count() == 4 })
	last := rec.all()[3]
	if last.Reason != "replay" || last.Attempt != 0 || last.Patient != "Patient/d" {
		t.Errorf("replayed entry %+v, want reason replay, attempt 0", last)
	}
	eventually(t, 5*time.Second, "the queue drains", func() bool { return drained(t, q) })
	if s := stats(t, q); s.DeadLetters != 0 {
		t.Errorf("dead letters after replay: %d", s.DeadLetters)
	}
	for _, id := range []string{d.ID, "1-1", "not-an-id", ""} {
		if err := q.Replay(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("Replay(%q) = %v, want ErrNotFound", id, err)
		}
	}
}

func TestMalformedEntryIsDeadLettered(t *testing.T) {
	t.Parallel()
	q, rdb := newQueue(t, nil)
	ctx := context.Background()
	rdb.XAdd(ctx, &redis.XAddArgs{Stream: q.keys.stream, Values: []any{"attempt", "many"}})
	run(t, q, func(ctx context.Context, e Entry) error {
		t.Errorf("handler called with %+v", e)
		return nil
	})
	eventually(t, 5*time.Second, "a dead letter", func() bool { return stats(t, q).DeadLetters == 1 })
	dls, err := q.DeadLetters(ctx, 5)
	if err != nil || len(dls) != 1 || !strings.HasPrefix(dls[0].Error, "malformed entry") {
		t.Errorf("dead letters %+v, %v", dls, err)
	}
}

func TestCrashedConsumersEntryIsClaimed(t *testing.T) {
	t.Parallel()
	q, rdb := newQueue(t, func(c *Config) { c.ClaimIdle = 200 * time.Millisecond })
	ctx := context.Background()
	if _, err := q.Enqueue(ctx, Entry{Patient: "Patient/c", Reason: "notification"}); err != nil {
		t.Fatal(err)
	}
	// Consumer "crashed" reads the entry and dies without acknowledging it.
	res, err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: q.cfg.Group, Consumer: "crashed", Streams: []string{q.keys.stream, ">"}, Count: 1}).Result()
	if err != nil || len(res) != 1 || len(res[0].Messages) != 1 {
		t.Fatalf("read as the crashing consumer: %v, %v", res, err)
	}
	crashedID := res[0].Messages[0].ID

	var rec recorder
	run(t, q, func(ctx context.Context, e Entry) error { rec.add(e); return nil })
	eventually(t, 5*time.Second, "the pending entry is claimed and handled", func() bool { return rec.count() >= 1 })
	if got := rec.all()[0]; got.ID != crashedID || got.Patient != "Patient/c" {
		t.Errorf("handled %+v, want the crashed consumer's entry %s", got, crashedID)
	}
	eventually(t, 5*time.Second, "the queue drains", func() bool { return drained(t, q) })
	if s := stats(t, q); s.Pending != 0 {
		t.Errorf("%d pending after the claim", s.Pending)
	}
}

func TestLeaseOfDeadHolderExpires(t *testing.T) {
	t.Parallel()
	q, rdb := newQueue(t, nil)
	ctx := context.Background()
	lease := q.keys.leasePfx + "Patient/l"
	// A holder that died mid-handler: its lease is left to expire.
	if err := rdb.Set(ctx, lease, "dead-holder", 300*time.Millisecond).Err(); err != nil {
		t.Fatal(err)
	}
	var sawDeadHolder bool
	var rec recorder
	run(t, q, func(ctx context.Context, e Entry) error {
		if rdb.Get(ctx, lease).Val() == "dead-holder" {
			sawDeadHolder = true
		}
		rec.add(e)
		return nil
	})
	if _, err := q.Enqueue(ctx, Entry{Patient: "Patient/l", Reason: "notification"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the patient is handled once the dead holder's lease expired", func() bool { return rec.count() == 1 })
	if sawDeadHolder {
		t.Error("handled while the dead holder's lease was still there")
	}
	if rec.all()[0].Attempt != 0 {
		t.Error("waiting for a lease counted as an attempt")
	}
	eventually(t, 5*time.Second, "the lease is released", func() bool { return rdb.Exists(ctx, lease).Val() == 0 })
}

func TestLeaseIsRenewedWhileHandlerRuns(t *testing.T) {
	t.Parallel()
	q, _ := newQueue(t, func(c *Config) { c.LeaseTTL = 150 * time.Millisecond; c.ClaimIdle = 100 * time.Millisecond })
	q2 := another(t, q, "other", nil)
	ctx := context.Background()
	var rec, rec2 recorder
	run(t, q, func(ctx context.Context, e Entry) error {
		rec.add(e)
		time.Sleep(600 * time.Millisecond) // four TTLs, six ClaimIdles
		return ctx.Err()
	})
	if _, err := q.Enqueue(ctx, Entry{Patient: "Patient/slow", Reason: "notification"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the handler starts", func() bool { return rec.count() == 1 })
	run(t, q2, func(ctx context.Context, e Entry) error { rec2.add(e); return nil })
	eventually(t, 5*time.Second, "the queue drains", func() bool { return drained(t, q) })
	if n := rec2.count(); n != 0 {
		t.Errorf("another replica handled the entry %d times while its lease was renewed", n)
	}
	if n := rec.count(); n != 1 {
		t.Errorf("handled %d times, want 1", n)
	}
}

func TestRunReturnsOnCancel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		handlerTime time.Duration // how long the handler runs unless cancelled
		wantPending int64
	}{
		{"a handler finishing within the drain bound is acknowledged", 50 * time.Millisecond, 0},
		{"a handler cut by the drain bound leaves its entry pending", time.Hour, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q, _ := newQueue(t, nil)
			started := make(chan struct{})
			stop := run(t, q, func(ctx context.Context, e Entry) error {
				close(started)
				select {
				case <-time.After(tt.handlerTime):
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			})
			if _, err := q.Enqueue(context.Background(), Entry{Patient: "Patient/s", Reason: "notification"}); err != nil {
				t.Fatal(err)
			}
			<-started
			stop()
			s := stats(t, q)
			if s.Pending != tt.wantPending || s.Depth != tt.wantPending || s.Delayed != 0 || s.DeadLetters != 0 {
				t.Errorf("after Run returned: %+v, want %d pending and nothing else", s, tt.wantPending)
			}
		})
	}
}

func TestPromoteDelayedMovesDueEntriesOnce(t *testing.T) {
	t.Parallel()
	clk := newClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	q, rdb := newQueue(t, func(c *Config) { c.Now = clk.Now })
	ctx := context.Background()
	add := func(e Entry, tag string, due time.Time) {
		m, err := delayedMember(e, tag)
		if err != nil {
			t.Fatal(err)
		}
		rdb.ZAdd(ctx, q.keys.delayed, redis.Z{Score: float64(due.UnixMilli()), Member: m})
	}
	now := clk.Now()
	add(Entry{Patient: "Patient/1", Reason: "notification", Attempt: 2}, "t1", now.Add(-time.Second))
	add(Entry{Patient: "Patient/2", Reason: "notification", Attempt: 1}, "t2", now)
	add(Entry{Patient: "Patient/3", Reason: "notification", Attempt: 1}, "t3", now.Add(time.Minute))
	// Patient 4 is already waiting: its due retry coalesces into that entry.
	if _, err := q.Enqueue(ctx, Entry{Patient: "Patient/4", Reason: "notification"}); err != nil {
		t.Fatal(err)
	}
	add(Entry{Patient: "Patient/4", Reason: "notification", Attempt: 1}, "t4", now)

	if err := q.promote(ctx); err != nil {
		t.Fatalf("promote: %v", err)
	}
	if err := q.promote(ctx); err != nil { // nothing more is due: a no-op
		t.Fatalf("promote: %v", err)
	}
	msgs := rdb.XRange(ctx, q.keys.stream, "-", "+").Val()
	var got []string
	for _, m := range msgs {
		e, err := decodeEntry(m.ID, m.Values)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s#%d", e.Patient, e.Attempt))
	}
	want := "[Patient/4#0 Patient/1#2 Patient/2#1]"
	if fmt.Sprint(got) != want {
		t.Errorf("stream %v, want %s", got, want)
	}
	if n := rdb.ZCard(ctx, q.keys.delayed).Val(); n != 1 {
		t.Errorf("%d delayed left, want 1 (the one not yet due)", n)
	}
	// The promoted entries are waiting: a new notification coalesces.
	if ok, _ := q.Enqueue(ctx, Entry{Patient: "Patient/1", Reason: "notification"}); ok {
		t.Error("a promoted entry does not coalesce new notifications")
	}
}

// Stagger spaces entries by the interval on the queue's clock; each
// becomes a stream entry (with its reason) only when due, coalescing with a
// patient already waiting, and is counted as offered then (enqueued_total
// by its reason); the same schedule written twice is one.
func TestStaggerPacesThroughTheDelayedSet(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)
	clk := newClock(t0)
	reg := prometheus.NewRegistry()
	q, rdb := newQueue(t, func(c *Config) { c.Now = clk.Now; c.Registerer = reg })
	ctx := context.Background()
	var entries []Entry
	for _, p := range []string{"Patient/s1", "Patient/s2", "Patient/s3"} {
		entries = append(entries, Entry{Patient: p, Reason: "rules"})
	}
	if _, err := q.Enqueue(ctx, Entry{Patient: "Patient/s2", Reason: "notification"}); err != nil {
		t.Fatal(err)
	}
	for range 2 { // a schedule written again adds nothing
		_, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			return q.Stagger(ctx, p, entries, time.Second, "rules:v1")
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := rdb.ZCard(ctx, q.keys.delayed).Val(); n != 3 {
		t.Fatalf("%d delayed, want 3", n)
	}
	stream := func() []string {
		var got []string
		for _, m := range rdb.XRange(ctx, q.keys.stream, "-", "+").Val() {
			e, err := decodeEntry(m.ID, m.Values)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, e.Patient+":"+e.Reason)
		}
		return got
	}
	for i, want := range []string{
		"[Patient/s2:notification Patient/s1:rules]",                  // s1 due at once
		"[Patient/s2:notification Patient/s1:rules]",                  // s2 due, coalesced
		"[Patient/s2:notification Patient/s1:rules Patient/s3:rules]", // s3
	} {
		clk.Set(t0.Add(time.Duration(i)*time.Second + 500*time.Millisecond))
		if err := q.promote(ctx); err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(stream()); got != want {
			t.Errorf("after %d.5 s: stream %s, want %s", i, got, want)
		}
	}
	if n := rdb.ZCard(ctx, q.keys.delayed).Val(); n != 0 {
		t.Errorf("%d delayed left, want 0", n)
	}
	values := harness.Gather(t, reg)
	for name, want := range map[string]float64{
		"utilreview_queue_enqueued_total,coalesced=false,reason=notification": 1,
		"utilreview_queue_enqueued_total,coalesced=false,reason=rules":        2, // s1, s3
		"utilreview_queue_enqueued_total,coalesced=true,reason=rules":         1, // s2
	} {
		if got := values[name]; got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if err := q.Stagger(ctx, rdb.Pipeline(), entries, time.Second, ""); err == nil {
		t.Error("Stagger without a tag: no error")
	}
}

func TestWakeUpFires(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)
	clk := newClock(t0)
	q, rdb := newQueue(t, func(c *Config) { c.Now = clk.Now })
	ctx := context.Background()
	for _, at := range []time.Duration{10 * time.Minute, 5 * time.Minute, 20 * time.Minute} {
		if err := q.Schedule(ctx, "Patient/w", t0.Add(at)); err != nil {
			t.Fatal(err)
		}
	}
	if got := rdb.ZScore(ctx, q.keys.wakeups, "Patient/w").Val(); got != float64(t0.Add(5*time.Minute).UnixMilli()) {
		t.Errorf("kept wake-up at %v, want the earliest (+5m)", time.UnixMilli(int64(got)).UTC())
	}
	if s := stats(t, q); s.Scheduled != 1 {
		t.Errorf("Scheduled %d, want 1", s.Scheduled)
	}

	var rec recorder
	run(t, q, func(ctx context.Context, e Entry) error { rec.add(e); return nil })
	clk.Set(t0.Add(4 * time.Minute))
	if err := q.promote(ctx); err != nil {
		t.Fatal(err)
	}
	if n := stats(t, q).Scheduled; n != 1 || rec.count() != 0 {
		t.Fatalf("before it is due: %d scheduled, %d handled", n, rec.count())
	}
	clk.Set(t0.Add(5 * time.Minute))
	eventually(t, 5*time.Second, "the wake-up fires", func() bool { return rec.count() == 1 })
	if e := rec.all()[0]; e.Patient != "Patient/w" || e.Reason != "wake-up" || e.Attempt != 0 {
		t.Errorf("wake-up entry %+v", e)
	}
	if s := stats(t, q); s.Scheduled != 0 {
		t.Errorf("Scheduled %d after firing, want 0", s.Scheduled)
	}
}

func TestStatsAndMetrics(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	q, _ := newQueue(t, func(c *Config) { c.Registerer = reg })
	ctx := context.Background()
	for range 3 {
		if _, err := q.Enqueue(ctx, Entry{Patient: "Patient/m", Reason: "notification"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.Schedule(ctx, "Patient/m", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	s := stats(t, q)
	if s.Depth != 1 || s.Pending != 0 || s.Scheduled != 1 || s.OldestAge <= 0 {
		t.Errorf("stats %+v, want depth 1, scheduled 1, an age", s)
	}
	if err := q.Ping(ctx); err != nil {
		t.Errorf("Ping: %v", err)
	}

	values := harness.Gather(t, reg)
	for name, want := range map[string]float64{
		"utilreview_queue_enqueued_total,coalesced=false,reason=notification": 1,
		"utilreview_queue_enqueued_total,coalesced=true,reason=notification":  2,
		"utilreview_queue_depth":             1,
		"utilreview_queue_scheduled_wakeups": 1,
		"utilreview_queue_dead_letters":      0,
	} {
		if got, ok := values[name]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", name, got, ok, want)
		}
	}
	// A second queue on the same registry is refused, not silently merged.
	cfg := q.cfg
	cfg.Registerer = reg
	if _, err := New(q.rdb, cfg); err == nil {
		t.Error("registering the collectors twice: no error")
	}
}

func TestHandlerPanicIsAFailedAttempt(t *testing.T) {
	t.Parallel()
	q, _ := newQueue(t, func(c *Config) { c.MaxAttempts = 1 })
	ctx := context.Background()
	run(t, q, func(ctx context.Context, e Entry) error { panic("a bug, quoting Jane Doe") })
	if _, err := q.Enqueue(ctx, Entry{Patient: "Patient/x", Reason: "notification"}); err != nil {
		t.Fatal(err)
	}
	var dls []DeadLetter
	eventually(t, 5*time.Second, "the panicking entry is dead-lettered", func() bool {
		dls, _ = q.DeadLetters(ctx, 1)
		return len(dls) == 1
	})
	if msg := dls[0].Error; !strings.HasPrefix(msg, "handler panicked") || strings.Contains(msg, "Jane") {
		t.Errorf("error %q: want the panic named, its value (which may quote data) left out", msg)
	}
}

func TestRecoversWhenRedisLosesTheQueue(t *testing.T) {
	t.Parallel()
	q, rdb := newQueue(t, nil)
	ctx := context.Background()
	var rec recorder
	run(t, q, func(ctx context.Context, e Entry) error { rec.add(e); return nil })
	if _, err := q.Enqueue(ctx, Entry{Patient: "Patient/before", Reason: "notification"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the first entry is handled", func() bool { return rec.count() == 1 })
	// Redis restarted without persistence: the stream and its group are gone.
	if err := rdb.Del(ctx, q.keys.stream, q.keys.waiting).Err(); err != nil {
		t.Fatal(err)
	}
	if ok, err := q.Enqueue(ctx, Entry{Patient: "Patient/after", Reason: "catch-up"}); err != nil || !ok {
		t.Fatalf("Enqueue after the loss: %v, %v", ok, err)
	}
	eventually(t, 10*time.Second, "the entry added after the loss is handled", func() bool { return rec.count() == 2 })
	if p := rec.all()[1].Patient; p != "Patient/after" {
		t.Errorf("handled %s, want Patient/after", p)
	}
}
