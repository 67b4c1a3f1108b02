package queue

import (
	"context"
	"fmt"
	"regexp"
	"time"
)

// DeadLetter is an entry that failed its last attempt.
type DeadLetter struct {
	// ID is the dead letter's id, for Replay.
	ID    string
	Entry Entry
	// Error is the last attempt's error text.
	Error string
	At    time.Time
}

// DeadLetters lists up to limit dead letters, newest first.
func (q *Queue) DeadLetters(ctx context.Context, limit int) ([]DeadLetter, error) {
	if limit <= 0 {
		return nil, nil
	}
	msgs, err := q.rdb.XRevRangeN(ctx, q.keys.dead, "+", "-", int64(limit)).Result()
	if err != nil {
		return nil, fmt.Errorf("queue.DeadLetters: %w", err)
	}
	out := make([]DeadLetter, 0, len(msgs))
	for _, m := range msgs {
		d := DeadLetter{ID: m.ID}
		d.Error, _ = m.Values[fieldError].(string)
		if at, ok := m.Values[fieldAt].(string); ok {
			d.At, _ = time.Parse(time.RFC3339Nano, at)
		}
		// A malformed entry is listed with what could be read of it.
		d.Entry, _ = decodeEntry("", m.Values)
		d.Entry.ID, _ = m.Values[fieldSourceID].(string)
		out = append(out, d)
	}
	return out, nil
}

var streamID = regexp.MustCompile(`^[0-9]+-[0-9]+$`)

// Replay moves dead letter id back into the stream as a new entry with
// Attempt 0 and Reason "replay" (coalesced when its patient is already
// waiting). An unknown id gives an error matching ErrNotFound.
func (q *Queue) Replay(ctx context.Context, id string) error {
	if !streamID.MatchString(id) {
		return fmt.Errorf("queue.Replay: dead letter %q: %w", id, ErrNotFound)
	}
	msgs, err := q.rdb.XRange(ctx, q.keys.dead, id, id).Result()
	if err != nil {
		return fmt.Errorf("queue.Replay: %w", err)
	}
	if len(msgs) == 0 {
		return fmt.Errorf("queue.Replay: dead letter %q: %w", id, ErrNotFound)
	}
	e, err := decodeEntry("", msgs[0].Values)
	if err != nil {
		return fmt.Errorf("queue.Replay: dead letter %q cannot be replayed: %w", id, err)
	}
	e.Attempt, e.Reason, e.Enqueued = 0, "replay", q.cfg.Now()
	args := append([]any{id, e.Key()}, e.fields()...)
	n, err := replayScript.Run(ctx, q.rdb, []string{q.keys.dead, q.keys.stream, q.keys.waiting}, args...).Int()
	if err != nil {
		return fmt.Errorf("queue.Replay: %w", err)
	}
	if n < 0 {
		return fmt.Errorf("queue.Replay: dead letter %q: %w", id, ErrNotFound)
	}
	q.metrics.enqueued(e.Reason, n == 0)
	return nil
}
