package queue

import (
	"context"
	"fmt"
	"time"
)

// Stats is the queue's state, shared by every replica.
type Stats struct {
	// Depth counts the entries in the stream: not yet delivered, plus
	// delivered and not yet acknowledged (finished entries are deleted).
	Depth int64
	// Pending counts entries delivered and not yet acknowledged.
	Pending int64
	// OldestAge is the age of the oldest entry in the stream, by Redis'
	// clock (0 when the stream is empty).
	OldestAge time.Duration
	// Delayed counts entries waiting for a retry, a busy patient or their
	// turn in a Stagger; Scheduled the patients with a wake-up;
	// DeadLetters the dead letters.
	Delayed, Scheduled, DeadLetters int64
}

// Stats reads the queue's state in one round trip.
func (q *Queue) Stats(ctx context.Context) (Stats, error) {
	p := q.rdb.Pipeline()
	depth := p.XLen(ctx, q.keys.stream)
	pending := p.XPending(ctx, q.keys.stream, q.cfg.Group)
	oldest := p.XRangeN(ctx, q.keys.stream, "-", "+", 1)
	now := p.Time(ctx)
	delayed := p.ZCard(ctx, q.keys.delayed)
	scheduled := p.ZCard(ctx, q.keys.wakeups)
	dead := p.XLen(ctx, q.keys.dead)
	if _, err := p.Exec(ctx); err != nil {
		return Stats{}, fmt.Errorf("queue.Stats: %w", err)
	}
	s := Stats{
		Depth:       depth.Val(),
		Pending:     pending.Val().Count,
		Delayed:     delayed.Val(),
		Scheduled:   scheduled.Val(),
		DeadLetters: dead.Val(),
	}
	if msgs := oldest.Val(); len(msgs) > 0 {
		if t, ok := streamTime(msgs[0].ID); ok {
			s.OldestAge = max(now.Val().Sub(t), 0)
		}
	}
	return s, nil
}
