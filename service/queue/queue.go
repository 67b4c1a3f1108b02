package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrNotFound is returned (wrapped) when a dead letter does not exist.
var ErrNotFound = errors.New("not found")

// Queue is the durable intake on Redis. Its methods are safe for concurrent
// use; several processes may share one queue (same Prefix and Group).
type Queue struct {
	rdb     redis.UniversalClient
	cfg     Config
	keys    keys
	metrics *metrics
}

// keys are the Redis keys, all under Config.Prefix (one hash tag, one
// Cluster slot). A finished entry is deleted from the stream, so the stream
// holds only work to do, and a patient's waiting marker is cleared when a
// worker takes its entry.
type keys struct {
	stream     string // entries waiting or in flight (XLEN is the depth)
	waiting    string // hash: coalescing key → id of its entry not yet taken
	delayed    string // sorted set: retries and lease waits, by due time (ms)
	wakeups    string // sorted set: patient key → when to review it again (ms)
	dead       string // stream of dead letters
	leasePfx   string // + key: a patient's lease (a token, with a TTL)
	catchUpReq string // a pending catch-up request (its reason)
	catchUpLck string // the catch-up lock (a token, with a TTL)
	watermarks string // hash: resource type → watermark
	eventSubs  string // set: subscriptions with recorded event numbers
	eventsPfx  string // + subscription + ":state" (hash {max}) and ":holes" (sorted set)
	ownPfx     string // + "Type/id": the last version the service itself wrote (with a TTL)
	seenPfx    string // + type: hash "Type/id" -> version the last catch-up of the type found
}

func newKeys(prefix string) keys {
	return keys{
		stream:     prefix + "stream",
		waiting:    prefix + "waiting",
		delayed:    prefix + "delayed",
		wakeups:    prefix + "wakeups",
		dead:       prefix + "dead",
		leasePfx:   prefix + "lease:",
		catchUpReq: prefix + "catchup:request",
		catchUpLck: prefix + "catchup:lock",
		watermarks: prefix + "catchup:watermarks",
		eventSubs:  prefix + "events:subscriptions",
		eventsPfx:  prefix + "events:",
		ownPfx:     prefix + "own:",
		seenPfx:    prefix + "catchup:seen:",
	}
}

// New returns a queue on rdb, creating the stream and the consumer group if
// they do not exist yet (several replicas may do so at once).
func New(rdb redis.UniversalClient, cfg Config) (*Queue, error) {
	if rdb == nil {
		return nil, errors.New("queue.New: no Redis client")
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("queue.New: %w", err)
	}
	q := &Queue{rdb: rdb, cfg: cfg, keys: newKeys(cfg.Prefix)}
	q.metrics = newMetrics(q)
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	if err := q.ensureGroup(ctx); err != nil {
		return nil, fmt.Errorf("queue.New: %w", err)
	}
	if cfg.Registerer != nil {
		if err := q.metrics.register(cfg.Registerer); err != nil {
			return nil, fmt.Errorf("queue.New: %w", err)
		}
	}
	return q, nil
}

// opTimeout bounds the queue's own bookkeeping calls, which run on a context
// that outlives Run's (an entry's outcome must be recorded during shutdown).
const opTimeout = 5 * time.Second

// ensureGroup creates the stream and group. The group starts at "0", so
// entries added before it existed (after a Redis restart, say) are delivered.
func (q *Queue) ensureGroup(ctx context.Context) error {
	err := q.rdb.XGroupCreateMkStream(ctx, q.keys.stream, q.cfg.Group, "0").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return fmt.Errorf("create consumer group: %w", err)
	}
	return nil
}

// Ping checks that Redis answers, for readiness.
func (q *Queue) Ping(ctx context.Context) error {
	if err := q.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("queue.Ping: %w", err)
	}
	return nil
}

// Admission is what Admit did with an entry.
type Admission int

const (
	// Queued: a new entry was added.
	Queued Admission = iota
	// Coalesced: the patient was already waiting; that entry covers this
	// change, since the processor reads the server's current state.
	Coalesced
	// OwnWrite: the entry's resource version is one the service itself
	// wrote (RecordOwnWrites): its review would read what the write's own
	// review already planned, so nothing is queued.
	OwnWrite
)

// Enqueue is Admit reporting only whether a new entry was added.
func (q *Queue) Enqueue(ctx context.Context, e Entry) (queued bool, err error) {
	a, err := q.Admit(ctx, e)
	return a == Queued, err
}

// Admit adds e unless its patient (e.Key()) is already waiting, not yet
// taken by a worker (Coalesced), or e names a resource version the service
// wrote itself (OwnWrite, see RecordOwnWrites). Once a worker has taken the
// patient, Admit adds a new entry, so a change made during processing is
// reviewed after it. Enqueued defaults to now. It is one Redis round trip.
func (q *Queue) Admit(ctx context.Context, e Entry) (Admission, error) {
	key := e.Key()
	if key == "" {
		return Queued, errors.New("queue.Admit: entry names neither patient nor resource")
	}
	if e.Enqueued.IsZero() {
		e.Enqueued = q.cfg.Now()
	}
	own, version := q.keys.ownPfx, ""
	if e.Resource != "" && e.Version != "" {
		own, version = q.keys.ownPfx+e.Resource, e.Version
	}
	args := append([]any{key, version}, e.fields()...)
	id, err := enqueueScript.Run(ctx, q.rdb, []string{q.keys.stream, q.keys.waiting, own}, args...).Text()
	if err != nil {
		return Queued, fmt.Errorf("queue.Admit: %w", err)
	}
	switch id {
	case ownWriteReply:
		q.metrics.ownWrite(e.Reason)
		return OwnWrite, nil
	case "":
		q.metrics.enqueued(e.Reason, true)
		return Coalesced, nil
	}
	q.metrics.enqueued(e.Reason, false)
	return Queued, nil
}

// RecordOwnWrites records resource versions the service itself wrote
// ("Type/id" -> versionId, from a transaction's response) for ttl, so that
// Admit recognises the notifications and catch-up hits they cause. A version
// recorded only after its notification arrived costs one review, never a
// missed change.
func (q *Queue) RecordOwnWrites(ctx context.Context, versions map[string]string) error {
	if len(versions) == 0 {
		return nil
	}
	ttl := q.cfg.OwnWriteTTL
	_, err := q.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, ref := range slices.Sorted(maps.Keys(versions)) {
			p.Set(ctx, q.keys.ownPfx+ref, versions[ref], ttl)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("queue.RecordOwnWrites: %w", err)
	}
	return nil
}

// Schedule asks for patient to be reviewed again at at (an Entry with
// Reason "wake-up"). One wake-up is kept per patient, the earliest.
func (q *Queue) Schedule(ctx context.Context, patient string, at time.Time) error {
	if patient == "" || at.IsZero() {
		return errors.New("queue.Schedule: patient and time are required")
	}
	err := q.rdb.ZAddLT(ctx, q.keys.wakeups, redis.Z{Score: float64(at.UnixMilli()), Member: patient}).Err()
	if err != nil {
		return fmt.Errorf("queue.Schedule: %w", err)
	}
	return nil
}

// Stagger queues entries later, entry i at now + i×interval on the
// queue's clock, through the delayed set that retries wait in: whichever
// replica promotes due entries queues each when it is due (coalescing
// applies), so the pace holds whatever replica scheduled them and whether
// it still runs. The commands are added to p, so that the caller writes
// the schedule in its own transaction (MULTI) together with what marks
// the work scheduled. tag names the schedule: the same entry under the
// same tag makes one member, and two schedules never merge.
func (q *Queue) Stagger(ctx context.Context, p redis.Pipeliner, entries []Entry, interval time.Duration, tag string) error {
	if tag == "" || interval < 0 {
		return errors.New("queue.Stagger: a tag and an interval of zero or more are required")
	}
	now := q.cfg.Now()
	members := make([]redis.Z, 0, len(entries))
	for i, e := range entries {
		if e.Key() == "" {
			return errors.New("queue.Stagger: entry names neither patient nor resource")
		}
		if e.Enqueued.IsZero() {
			e.Enqueued = now
		}
		m, err := delayedMember(e, staggerTag+tag)
		if err != nil {
			return fmt.Errorf("queue.Stagger: %w", err)
		}
		due := now.Add(time.Duration(i) * interval)
		members = append(members, redis.Z{Score: float64(due.UnixMilli()), Member: m})
	}
	// ZADD in slices of 500 members, so that no one command (a request
	// buffer) grows with the worklist.
	for chunk := range slices.Chunk(members, 500) {
		p.ZAdd(ctx, q.keys.delayed, chunk...)
	}
	return nil
}

// Stream entry fields. The trace context's keys are stored as
// "trace.<key>" fields.
const (
	fieldPatient  = "patient"
	fieldResource = "resource"
	fieldVersion  = "version"
	fieldReason   = "reason"
	fieldAttempt  = "attempt"
	fieldEnqueued = "enqueued"
	fieldTrace    = "trace."
	fieldError    = "error"
	fieldAt       = "at"
	fieldSourceID = "source-id"
)

// fields encodes e as a stream entry's field-value pairs (ID excluded).
func (e Entry) fields() []any {
	f := []any{
		fieldPatient, e.Patient,
		fieldResource, e.Resource,
		fieldVersion, e.Version,
		fieldReason, e.Reason,
		fieldAttempt, strconv.Itoa(e.Attempt),
		fieldEnqueued, e.Enqueued.UTC().Format(time.RFC3339Nano),
	}
	for _, k := range slices.Sorted(maps.Keys(e.Trace)) {
		f = append(f, fieldTrace+k, e.Trace[k])
	}
	return f
}

// decodeEntry reads an entry from a stream entry's values.
func decodeEntry(id string, values map[string]any) (Entry, error) {
	e := Entry{ID: id}
	for k, v := range values {
		s, ok := v.(string)
		if !ok {
			return Entry{}, fmt.Errorf("field %q is not a string", k)
		}
		switch {
		case k == fieldPatient:
			e.Patient = s
		case k == fieldResource:
			e.Resource = s
		case k == fieldVersion:
			e.Version = s
		case k == fieldReason:
			e.Reason = s
		case k == fieldAttempt:
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 {
				return Entry{}, fmt.Errorf("field %q: not a count", k)
			}
			e.Attempt = n
		case k == fieldEnqueued:
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return Entry{}, fmt.Errorf("field %q: not a time", k)
			}
			e.Enqueued = t
		case strings.HasPrefix(k, fieldTrace):
			if e.Trace == nil {
				e.Trace = map[string]string{}
			}
			e.Trace[strings.TrimPrefix(k, fieldTrace)] = s
		}
	}
	if e.Key() == "" {
		return Entry{}, errors.New("entry names neither patient nor resource")
	}
	return e, nil
}

// delayedMember encodes e for the delayed set: a JSON array of the
// coalescing key, a unique tag (so two delayed copies never merge in the
// set), then the fields.
func delayedMember(e Entry, tag string) (string, error) {
	arr := []string{e.Key(), tag}
	for _, f := range e.fields() {
		arr = append(arr, f.(string))
	}
	b, err := json.Marshal(arr)
	return string(b), err
}

// streamTime is the time encoded in a stream id ("ms-seq").
func streamTime(id string) (time.Time, bool) {
	ms, _, ok := strings.Cut(id, "-")
	if !ok {
		return time.Time{}, false
	}
	n, err := strconv.ParseInt(ms, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.UnixMilli(n), true
}
