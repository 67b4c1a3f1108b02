package queue

import (
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Handler reviews the patient an entry names. A nil error acknowledges the
// entry; an error schedules a retry (its text is kept in the dead-letter
// stream after the last attempt, so it must carry no PHI).
type Handler func(ctx context.Context, e Entry) error

// Run handles entries with Config.Workers goroutines until ctx is done. It
// also moves due retries and wake-ups into the stream and claims entries
// left pending by a crashed consumer. When ctx is done, Run stops taking
// entries and returns once the handlers in flight have returned; their
// context is cancelled Config.DrainTimeout later, and an entry whose handler
// then fails is left pending for another replica to claim, never
// acknowledged. Run returns nil after a shutdown; Redis errors are logged
// and retried, not returned.
func (q *Queue) Run(ctx context.Context, handle Handler) error {
	if handle == nil {
		return errors.New("queue.Run: no handler")
	}
	// Handlers run on their own context: cancelled only after the drain
	// bound, so that a shutdown lets most finish their write-back.
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	finished := make(chan struct{})
	go func() {
		select {
		case <-finished:
		case <-ctx.Done():
			t := time.NewTimer(q.cfg.DrainTimeout)
			defer t.Stop()
			select {
			case <-finished:
			case <-t.C:
				cancelWork()
			}
		}
	}()

	claimed := make(chan redis.XMessage)
	var wg sync.WaitGroup
	wg.Go(func() { q.promoteLoop(ctx) })
	wg.Go(func() { q.claimLoop(ctx, claimed) })
	for range q.cfg.Workers {
		wg.Go(func() { q.worker(ctx, work, claimed, handle) })
	}
	wg.Wait()
	close(finished)
	return nil
}

// worker takes entries, claimed ones first, until ctx is done.
func (q *Queue) worker(ctx, work context.Context, claimed <-chan redis.XMessage, handle Handler) {
	var failures int
	for ctx.Err() == nil {
		var msgs []redis.XMessage
		select {
		case m := <-claimed:
			msgs = append(msgs, m)
		default:
			// The read is never interrupted half-way (go-redis would drop
			// the connection): Block bounds it, and what it returns after a
			// shutdown began goes back to the queue in process.
			res, err := q.rdb.XReadGroup(context.WithoutCancel(ctx), &redis.XReadGroupArgs{
				Group:    q.cfg.Group,
				Consumer: q.cfg.Consumer,
				Streams:  []string{q.keys.stream, ">"},
				Count:    1,
				Block:    q.cfg.Block,
			}).Result()
			if errors.Is(err, redis.Nil) {
				failures = 0
				continue
			}
			if err != nil {
				q.redisTrouble(ctx, "read", err, &failures)
				continue
			}
			failures = 0
			for _, s := range res {
				msgs = append(msgs, s.Messages...)
			}
		}
		for _, m := range msgs {
			q.process(ctx, work, m, handle)
		}
	}
}

// redisTrouble logs a failed Redis call, recreates the consumer group when
// Redis lost it (a restart without persistence), and waits a little longer
// after each consecutive failure.
func (q *Queue) redisTrouble(ctx context.Context, op string, err error, failures *int) {
	*failures++
	q.cfg.Logger.WarnContext(ctx, "queue: redis call failed", "op", op, "err", err, "failures", *failures)
	if strings.HasPrefix(err.Error(), "NOGROUP") {
		octx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opTimeout)
		if err := q.ensureGroup(octx); err != nil {
			q.cfg.Logger.WarnContext(ctx, "queue: recreating the consumer group failed", "err", err)
		}
		cancel()
	}
	sleep(ctx, min(time.Duration(*failures)*100*time.Millisecond, 5*time.Second))
}

// process handles one delivered entry: lease, handler, then exactly one
// outcome (acknowledged, retried, dead-lettered, put back, or left pending).
func (q *Queue) process(ctx, work context.Context, m redis.XMessage, handle Handler) {
	log := q.cfg.Logger.With("entry", m.ID)
	e, err := decodeEntry(m.ID, m.Values)
	if err != nil {
		log.ErrorContext(ctx, "queue: malformed entry, dead-lettered", "err", err)
		q.deadLetter(ctx, m.ID, entryValues(m.Values), "malformed entry: "+err.Error())
		return
	}
	log = log.With("patient", e.Key(), "reason", e.Reason, "attempt", e.Attempt)
	if ctx.Err() != nil {
		// Read just as the shutdown began: give it back at once rather than
		// leave it pending until another replica's ClaimIdle.
		q.putBack(ctx, e, 0, "shutdown")
		return
	}

	token := crand.Text()
	lease := q.keys.leasePfx + e.Key()
	took, err := q.script(ctx, takeScript, []string{lease, q.keys.waiting},
		token, q.cfg.LeaseTTL.Milliseconds(), e.Key(), e.ID).Int()
	if err != nil {
		// Left pending: claimed again after ClaimIdle.
		log.WarnContext(ctx, "queue: taking the lease failed", "err", err)
		return
	}
	if took == 0 {
		q.putBack(ctx, e, q.cfg.BusyDelay, "busy")
		return
	}

	hctx, cancel := context.WithCancel(work)
	var lost atomic.Bool
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		q.renew(hctx, lease, token, e.ID, func() { lost.Store(true); cancel() })
	}()
	start := time.Now()
	herr := callHandler(hctx, handle, e)
	q.metrics.latency.Observe(time.Since(start).Seconds())
	cancel()
	<-renewed

	switch {
	case herr == nil:
		if _, err := q.script(ctx, ackScript, []string{q.keys.stream}, q.cfg.Group, e.ID).Result(); err != nil {
			// Left pending: handled again after ClaimIdle (idempotent).
			log.WarnContext(ctx, "queue: acknowledging failed", "err", err)
		}
		q.metrics.processed.WithLabelValues("success").Inc()
	case work.Err() != nil:
		log.WarnContext(ctx, "queue: handler stopped by shutdown; entry left pending", "err", herr)
		q.metrics.processed.WithLabelValues("abandoned").Inc()
	case lost.Load():
		log.WarnContext(ctx, "queue: lease lost during the handler; entry put back", "err", herr)
		q.putBack(ctx, e, q.cfg.BusyDelay, "lease-lost")
	default:
		q.fail(ctx, e, herr)
	}
	if _, err := q.script(ctx, releaseScript, []string{lease}, token).Result(); err != nil {
		log.WarnContext(ctx, "queue: releasing the lease failed; it expires", "err", err)
	}
}

// callHandler runs handle, turning a panic into an error so that one bad
// entry cannot stop the worker pool. The panic value may quote data, so the
// error keeps only the function names of the stack.
func callHandler(ctx context.Context, handle Handler, e Entry) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler panicked: %s", firstFrames(debug.Stack()))
		}
	}()
	return handle(ctx, e)
}

// firstFrames keeps the function names of a panic's stack from where it
// panicked (no argument values), enough to find it.
func firstFrames(stack []byte) string {
	var names []string
	for _, line := range strings.Split(string(stack), "\n") {
		if line == "" || strings.HasPrefix(line, "\t") || strings.HasPrefix(line, "goroutine ") {
			continue
		}
		if i := strings.LastIndex(line, "("); i > 0 {
			line = line[:i]
		}
		if line == "panic" {
			names = names[:0] // the frames so far are the recovery's own
			continue
		}
		names = append(names, line)
	}
	return strings.Join(names[:min(len(names), 4)], " < ")
}

// renew extends the lease every LeaseTTL/3 until ctx is done, calling lost
// when the lease is no longer held with token.
func (q *Queue) renew(ctx context.Context, lease, token, id string, lost func()) {
	t := time.NewTicker(q.cfg.LeaseTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ok, err := q.script(ctx, renewScript, []string{lease, q.keys.stream},
			token, q.cfg.LeaseTTL.Milliseconds(), q.cfg.Group, q.cfg.Consumer, id).Int()
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			// Try again at the next tick; the lease outlives two misses.
			q.cfg.Logger.WarnContext(ctx, "queue: renewing the lease failed", "entry", id, "err", err)
		case ok == 0:
			lost()
			return
		}
	}
}

// fail schedules a retry after a backoff, or dead-letters the entry after
// its last attempt.
func (q *Queue) fail(ctx context.Context, e Entry, herr error) {
	next := e.Attempt + 1
	if next >= q.cfg.MaxAttempts {
		q.cfg.Logger.ErrorContext(ctx, "queue: entry failed its last attempt, dead-lettered",
			"entry", e.ID, "patient", e.Key(), "attempts", next, "err", herr)
		q.deadLetter(ctx, e.ID, e.fields(), herr.Error())
		return
	}
	delay := q.backoff(next)
	q.cfg.Logger.WarnContext(ctx, "queue: entry failed, retried later",
		"entry", e.ID, "patient", e.Key(), "attempt", e.Attempt, "retry_in", delay, "err", herr)
	retry := e
	retry.Attempt = next
	if q.reschedule(ctx, e.ID, retry, delay) {
		q.metrics.retries.Inc()
		q.metrics.processed.WithLabelValues("retry").Inc()
	}
}

// backoff is the delay before attempt number n (1 for the first retry):
// MinBackoff·2^(n-1) plus up to a quarter more, at most MaxBackoff.
func (q *Queue) backoff(n int) time.Duration {
	d := q.cfg.MinBackoff
	for i := 1; i < n && d < q.cfg.MaxBackoff; i++ {
		d *= 2
	}
	if d >= q.cfg.MaxBackoff {
		return q.cfg.MaxBackoff
	}
	if j := int64(d / 4); j > 0 {
		d += time.Duration(rand.Int64N(j + 1))
	}
	return min(d, q.cfg.MaxBackoff)
}

// putBack returns an entry to the queue after delay without counting an
// attempt (its patient was busy, or the shutdown came first).
func (q *Queue) putBack(ctx context.Context, e Entry, delay time.Duration, why string) {
	if q.reschedule(ctx, e.ID, e, delay) {
		q.metrics.processed.WithLabelValues("deferred").Inc()
		q.cfg.Logger.DebugContext(ctx, "queue: entry put back", "entry", e.ID, "patient", e.Key(), "why", why)
	}
}

// reschedule moves stream entry id to the delayed set as e, due after delay.
// It reports whether it moved it.
func (q *Queue) reschedule(ctx context.Context, id string, e Entry, delay time.Duration) bool {
	member, err := delayedMember(e, id)
	if err != nil {
		q.cfg.Logger.ErrorContext(ctx, "queue: encoding a delayed entry failed", "entry", id, "err", err)
		return false
	}
	due := q.cfg.Now().Add(delay).UnixMilli()
	n, err := q.script(ctx, rescheduleScript, []string{q.keys.stream, q.keys.delayed, q.keys.waiting},
		q.cfg.Group, id, e.Key(), due, member).Int()
	if err != nil {
		// Left pending: claimed again after ClaimIdle.
		q.cfg.Logger.WarnContext(ctx, "queue: rescheduling failed", "entry", id, "err", err)
		return false
	}
	return n == 1
}

// deadLetter moves stream entry id, with the fields given, to the
// dead-letter stream.
func (q *Queue) deadLetter(ctx context.Context, id string, fields []any, reason string) {
	args := []any{q.cfg.Group, id, maxDeadLetters}
	args = append(args, fields...)
	args = append(args, fieldError, reason, fieldAt, q.cfg.Now().UTC().Format(time.RFC3339Nano), fieldSourceID, id)
	n, err := q.script(ctx, deadLetterScript, []string{q.keys.stream, q.keys.dead}, args...).Int()
	if err != nil {
		q.cfg.Logger.WarnContext(ctx, "queue: dead-lettering failed", "entry", id, "err", err)
		return
	}
	if n == 1 {
		q.metrics.deadLetters.Inc()
		q.metrics.processed.WithLabelValues("dead_letter").Inc()
	}
}

// maxDeadLetters bounds the dead-letter stream (approximately, MAXLEN ~):
// far more than an operator can replay, so it only guards Redis' memory.
const maxDeadLetters = 100000

// entryValues turns a stream entry's values into field-value pairs.
func entryValues(values map[string]any) []any {
	var f []any
	for k, v := range values {
		f = append(f, k, fmt.Sprint(v))
	}
	return f
}

// script runs a bookkeeping script on a context that survives Run's
// cancellation, bounded by opTimeout.
func (q *Queue) script(ctx context.Context, s *redis.Script, keys []string, args ...any) *redis.Cmd {
	octx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opTimeout)
	defer cancel()
	return s.Run(octx, q.rdb, keys, args...)
}

// promoteLoop moves due retries and wake-ups into the stream every Poll.
func (q *Queue) promoteLoop(ctx context.Context) {
	t := time.NewTicker(q.cfg.Poll)
	defer t.Stop()
	for {
		if err := q.promote(ctx); err != nil && ctx.Err() == nil {
			q.cfg.Logger.WarnContext(ctx, "queue: moving due entries failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// promoteBatch is how many due members one script call moves.
const promoteBatch = 100

// promote moves every due delayed entry and wake-up into the stream.
func (q *Queue) promote(ctx context.Context) error {
	for ctx.Err() == nil {
		now := q.cfg.Now()
		added, merged, staggered, err := q.promoteOnce(ctx, promoteDelayedScript, q.keys.delayed, now.UnixMilli(), promoteBatch)
		if err != nil {
			return fmt.Errorf("delayed: %w", err)
		}
		for _, s := range staggered {
			q.metrics.enqueued(s.reason, !s.added)
		}
		wAdded, wMerged, _, err := q.promoteOnce(ctx, promoteWakeupsScript, q.keys.wakeups, now.UnixMilli(), promoteBatch,
			now.UTC().Format(time.RFC3339Nano))
		if err != nil {
			return fmt.Errorf("wake-ups: %w", err)
		}
		q.metrics.wakeups.Add(float64(wAdded + wMerged))
		if wAdded > 0 {
			q.metrics.enqueuedTotal.WithLabelValues("wake-up", "false").Add(float64(wAdded))
		}
		if wMerged > 0 {
			q.metrics.enqueuedTotal.WithLabelValues("wake-up", "true").Add(float64(wMerged))
		}
		if added+merged < promoteBatch && wAdded+wMerged < promoteBatch {
			return nil
		}
	}
	return nil
}

// promoted is a staggered entry a promotion offered to the stream.
type promoted struct {
	reason string
	added  bool // false: coalesced into one already waiting
}

func (q *Queue) promoteOnce(ctx context.Context, s *redis.Script, set string, args ...any) (added, merged int64, staggered []promoted, err error) {
	res, err := s.Run(ctx, q.rdb, []string{set, q.keys.stream, q.keys.waiting}, args...).Slice()
	if err != nil {
		return 0, 0, nil, err
	}
	bad := func() (int64, int64, []promoted, error) {
		return 0, 0, nil, fmt.Errorf("unexpected script answer %v", res)
	}
	if len(res) < 2 || len(res)%2 != 0 {
		return bad()
	}
	added, ok1 := res[0].(int64)
	merged, ok2 := res[1].(int64)
	if !ok1 || !ok2 {
		return bad()
	}
	for i := 2; i < len(res); i += 2 {
		reason, ok1 := res[i].(string)
		a, ok2 := res[i+1].(int64)
		if !ok1 || !ok2 {
			return bad()
		}
		staggered = append(staggered, promoted{reason: reason, added: a == 1})
	}
	return added, merged, staggered, nil
}

// claimLoop hands entries pending longer than ClaimIdle (a crashed
// consumer's) to the workers, and forgets long-gone consumers.
func (q *Queue) claimLoop(ctx context.Context, claimed chan<- redis.XMessage) {
	t := time.NewTicker(max(q.cfg.ClaimIdle/4, 10*time.Millisecond))
	defer t.Stop()
	var failures int
	lastSweep := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := q.claim(ctx, claimed); err != nil && ctx.Err() == nil {
			q.redisTrouble(ctx, "claim", err, &failures)
			continue
		}
		failures = 0
		if time.Since(lastSweep) > consumerSweep {
			lastSweep = time.Now()
			q.forgetConsumers(ctx)
		}
	}
}

// claim walks the pending entries list once, claiming idle entries a few at
// a time (no more than the workers can start soon).
func (q *Queue) claim(ctx context.Context, claimed chan<- redis.XMessage) error {
	start := "0-0"
	for {
		msgs, next, err := q.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{
			Stream:   q.keys.stream,
			Group:    q.cfg.Group,
			Consumer: q.cfg.Consumer,
			MinIdle:  q.cfg.ClaimIdle,
			Start:    start,
			Count:    int64(q.cfg.Workers),
		}).Result()
		if err != nil {
			return err
		}
		for _, m := range msgs {
			q.cfg.Logger.InfoContext(ctx, "queue: claimed an entry left pending", "entry", m.ID)
			select {
			case claimed <- m:
			case <-ctx.Done():
				// Ours now, and pending: another replica claims it after
				// ClaimIdle.
				return nil
			}
		}
		if next == "0-0" || next == "" {
			return nil
		}
		start = next
	}
}

// consumerSweep is how often, and consumerIdle after how long, consumers
// with nothing pending are removed from the group: each process has its own
// name, so without this the group would list every process that ever ran.
const (
	consumerSweep = 10 * time.Minute
	consumerIdle  = time.Hour
)

func (q *Queue) forgetConsumers(ctx context.Context) {
	cs, err := q.rdb.XInfoConsumers(ctx, q.keys.stream, q.cfg.Group).Result()
	if err != nil {
		return
	}
	for _, c := range cs {
		if c.Name != q.cfg.Consumer && c.Pending == 0 && c.Idle > consumerIdle {
			q.rdb.XGroupDelConsumer(ctx, q.keys.stream, q.cfg.Group, c.Name)
		}
	}
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
