package queue

import (
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"
)

// The catch-up's coordination lives in Redis, not in a process, so every
// replica agrees: one request flag, one lock, one watermark per resource
// type, and the event numbers of topic subscriptions.

// RequestCatchUp asks for a catch-up (a ping, an event gap, a start). Many
// requests before the next TakeCatchUpRequest make one catch-up.
func (q *Queue) RequestCatchUp(ctx context.Context, reason string) error {
	if err := q.rdb.Set(ctx, q.keys.catchUpReq, reason, 0).Err(); err != nil {
		return fmt.Errorf("queue.RequestCatchUp: %w", err)
	}
	return nil
}

// TakeCatchUpRequest reports whether a catch-up was requested, and clears
// the request in the same step.
func (q *Queue) TakeCatchUpRequest(ctx context.Context) (bool, error) {
	err := q.rdb.GetDel(ctx, q.keys.catchUpReq).Err()
	switch {
	case errors.Is(err, redis.Nil):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("queue.TakeCatchUpRequest: %w", err)
	}
	return true, nil
}

// watermarkLayout is fixed-width (UTC, nanoseconds always written), so the
// script can compare watermarks as strings.
const watermarkLayout = "2006-01-02T15:04:05.000000000Z"

// Watermark returns the catch-up watermark of resource type typ, in the FHIR
// server's time; ok is false when there is none yet.
func (q *Queue) Watermark(ctx context.Context, typ string) (t time.Time, ok bool, err error) {
	s, err := q.rdb.HGet(ctx, q.keys.watermarks, typ).Result()
	switch {
	case errors.Is(err, redis.Nil):
		return time.Time{}, false, nil
	case err != nil:
		return time.Time{}, false, fmt.Errorf("queue.Watermark: %w", err)
	}
	t, err = time.Parse(watermarkLayout, s)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("queue.Watermark: %s: %w", typ, err)
	}
	return t, true, nil
}

// AdvanceWatermark moves typ's watermark to t if t is later; an earlier t
// (a slower replica finishing an older catch-up) leaves it.
func (q *Queue) AdvanceWatermark(ctx context.Context, typ string, t time.Time) error {
	if t.IsZero() || t.Year() > 9999 {
		return fmt.Errorf("queue.AdvanceWatermark: %s: invalid time", typ)
	}
	err := advanceScript.Run(ctx, q.rdb, []string{q.keys.watermarks}, typ, t.UTC().Format(watermarkLayout)).Err()
	if err != nil {
		return fmt.Errorf("queue.AdvanceWatermark: %w", err)
	}
	return nil
}

// CatchUpLock takes the catch-up lock for ttl, so one replica catches up at
// a time. ok is false when another holds it (release is then a no-op).
// release gives the lock back only if this caller still holds it, so a late
// or repeated call never frees another replica's lock.
func (q *Queue) CatchUpLock(ctx context.Context, ttl time.Duration) (release func(), ok bool, err error) {
	if ttl <= 0 {
		return nil, false, errors.New("queue.CatchUpLock: ttl must be positive")
	}
	token := crand.Text()
	ok, err = q.rdb.SetNX(ctx, q.keys.catchUpLck, token, ttl).Result()
	if err != nil {
		return nil, false, fmt.Errorf("queue.CatchUpLock: %w", err)
	}
	if !ok {
		return func() {}, false, nil
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opTimeout)
		defer cancel()
		if err := releaseScript.Run(ctx, q.rdb, []string{q.keys.catchUpLck}, token).Err(); err != nil {
			q.cfg.Logger.Warn("queue: releasing the catch-up lock failed; it expires", "err", err)
		}
	}, true, nil
}

// Seen returns what the previous catch-up of key (a resource type, or a
// type's deletes) found: "Type/id" -> version. The catch-up searches again
// from an overlap before its watermark, and without this would queue the
// newest resources of each type again at every run for as long as nothing
// newer arrives.
func (q *Queue) Seen(ctx context.Context, key string) (map[string]string, error) {
	m, err := q.rdb.HGetAll(ctx, q.keys.seenPfx+key).Result()
	if err != nil {
		return nil, fmt.Errorf("queue.Seen: %w", err)
	}
	return m, nil
}

// SetSeen replaces what the catch-up of key found (see Seen), in one step;
// it is kept for a day.
func (q *Queue) SetSeen(ctx context.Context, key string, seen map[string]string) error {
	k := q.keys.seenPfx + key
	_, err := q.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, k)
		if len(seen) > 0 {
			p.HSet(ctx, k, seen)
			p.Expire(ctx, k, 24*time.Hour)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("queue.SetSeen: %w", err)
	}
	return nil
}

// eventWindow bounds what is kept per subscription: holes are tracked only
// this far below the highest event number, and a jump or a drop wider than
// this is a catch-up at once.
const eventWindow = 10000

// earlyWindow bounds the numbers below the first one seen of a subscription
// that are awaited as possibly still on their way (see ObserveEvent).
const earlyWindow = 1000

// eventTTL forgets a subscription's numbers after this long without an
// event (a deleted subscription).
const eventTTL = 7 * 24 * time.Hour

// ObserveEvent records the event numbers of a topic subscription's
// notification (Backport IG events-since-subscription-start) and reports
// whether a catch-up is due at once: the count was reset (a number ≤ 1
// after a higher one: the server restarted) or jumped too far to track.
// A skipped number is not reported here: notifications arrive out of order
// (several replicas, the server's parallel deliveries), so the hole is
// recorded with the time it was seen, and Gaps reports those still open
// after a grace period.
//
// The first number seen of a subscription need not be its first event: HAPI
// delivers a new Subscription's first events in parallel (measured: 3, 1, 2,
// 4), and a service may start, or its Redis be flushed, mid-count. The
// numbers below the first one seen (at most earlyWindow of them) are awaited
// as "early" holes: one that arrives fills its hole, so a reordered 1 is not
// taken for a reset; one that never arrives is forgotten after the grace
// without a catch-up (a start catches up anyway).
func (q *Queue) ObserveEvent(ctx context.Context, subscription string, eventNumbers []int64) (catchUp bool, err error) {
	if subscription == "" {
		return false, errors.New("queue.ObserveEvent: no subscription")
	}
	if len(eventNumbers) == 0 {
		return false, nil
	}
	nums := slices.Sorted(slices.Values(eventNumbers))
	args := []any{q.cfg.Now().UnixMilli(), eventWindow, eventTTL.Milliseconds(), subscription, earlyWindow}
	for _, n := range nums {
		args = append(args, n)
	}
	state, holes := q.eventKeys(subscription)
	n, err := observeScript.Run(ctx, q.rdb, []string{state, holes, q.keys.eventSubs}, args...).Int()
	if err != nil {
		return false, fmt.Errorf("queue.ObserveEvent: %w", err)
	}
	return n == 1, nil
}

// Gaps returns the subscriptions with a hole in their event numbers first
// seen more than grace ago, and forgets those holes (the catch-up they
// trigger covers them). Early holes (below a subscription's first number
// seen) older than grace are forgotten without a catch-up.
func (q *Queue) Gaps(ctx context.Context, grace time.Duration) ([]string, error) {
	subs, err := q.rdb.SMembers(ctx, q.keys.eventSubs).Result()
	if err != nil {
		return nil, fmt.Errorf("queue.Gaps: %w", err)
	}
	slices.Sort(subs)
	cutoff := q.cfg.Now().Add(-grace).UnixMilli()
	var found []string
	for _, sub := range subs {
		state, holes := q.eventKeys(sub)
		n, err := gapsScript.Run(ctx, q.rdb, []string{holes, state, q.keys.eventSubs}, cutoff, sub).Int()
		if err != nil {
			return nil, fmt.Errorf("queue.Gaps: %w", err)
		}
		if n == 1 {
			found = append(found, sub)
		}
	}
	return found, nil
}

// eventKeys are a subscription's keys: a hash with the highest number seen,
// and the sorted set of holes.
func (q *Queue) eventKeys(subscription string) (state, holes string) {
	base := q.keys.eventsPfx + subscription
	return base + ":state", base + ":holes"
}
